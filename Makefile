# p4nic — top-level targets. `make help` lists them.
#
# TARGET=pybm (default) runs the embedded pybm-switch; TARGET=bmv2 runs
# simple_switch_grpc from PATH. P4C picks the compiler: p4c-bm2-ss when it is
# on PATH, pybm-p4c otherwise; set P4C=pybm-p4c or P4C=p4c-bm2-ss to force.

SHELL       := /bin/bash
VENV        ?= .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.setup-stamp
TARGET      ?= pybm
P4C         ?= $(if $(shell command -v p4c-bm2-ss 2>/dev/null),p4c-bm2-ss,pybm-p4c)
OUT         ?= out
CONFORMANCE ?= ../shared/conformance

P4_PROGRAMS := $(wildcard p4src/*.p4)
P4_JSON     := $(patsubst p4src/%.p4,$(OUT)/%.json,$(P4_PROGRAMS))
P4_SOURCES  := $(wildcard p4src/include/*.p4)

# The compiler command: pybm-p4c lives in the venv; p4c-bm2-ss on PATH.
P4C_CMD = $(if $(filter pybm-p4c,$(P4C)),$(VENV)/bin/pybm-p4c,$(P4C))

.PHONY: help setup build run test unit conformance ptf bench lint clean distclean

help:
	@echo "make setup        venv in $(VENV)/ with pybm + p4nic, system packages (as root)"
	@echo "make build        compile p4src/*.p4 with $(P4C) into $(OUT)/"
	@echo "make run          start the NIC on $(TARGET) with veth ports in a netns"
	@echo "make test         lint + unit tests + conformance + PTF (what CI runs)"
	@echo "make conformance  run pybm-stf on $(CONFORMANCE)"
	@echo "make ptf          PTF packet tests on TARGET=$(TARGET) (pybm|bmv2); MININET=1 in Mininet"
	@echo "make bench        print pybm-switch and pybm-p4c figures"
	@echo "make clean        remove $(OUT)/ and caches"

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)
	@touch $@

build: $(STAMP) $(P4_JSON)

$(OUT)/%.json: p4src/%.p4 $(P4_SOURCES) $(STAMP)
	@mkdir -p $(OUT)
	$(P4C_CMD) --arch v1model -I p4src -o $@ --p4runtime-files $(OUT)/$*.p4info.txtpb $<

run: build
	$(PY) topo/run_nic.py --target $(TARGET) --json $(OUT)/p4nic.json --p4info $(OUT)/p4nic.p4info.txtpb

lint: $(STAMP)
	$(VENV)/bin/ruff check pybm controlplane ptf-tests topo tests bench

unit: $(STAMP)
	$(VENV)/bin/pytest -q tests

conformance: $(STAMP)
	$(PY) -m pybm.stf.conformance $(CONFORMANCE)

# pybm-p4c's JSON of every tests/p4programs program, run on the real simple_switch
# by p4c's STF harness (`real-stf`: ../shared/referee, then `source /opt/p4/ENV.sh`).
# default_args changes a default action between packets, which that harness cannot order.
REAL_STF_SKIP ?= default_args
.PHONY: conformance-real
conformance-real: $(STAMP)
	@command -v real-stf >/dev/null || { echo "real-stf is not on PATH (install ../shared/referee, source /opt/p4/ENV.sh)"; exit 2; }
	@d=$$(mktemp -d); pass=0; fail=0; skip=0; failed=""; \
	for p in tests/p4programs/*.p4; do n=$$(basename $$p .p4); \
	  case " $(REAL_STF_SKIP) " in *" $$n "*) skip=$$((skip+1)); continue;; esac; \
	  if $(VENV)/bin/pybm-p4c --arch v1model -I tests/p4programs -o $$d/$$n.json $$p >$$d/$$n.log 2>&1 \
	     && real-stf $$d/$$n.json $${p%.p4}.stf >>$$d/$$n.log 2>&1; then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); failed="$$failed $$n"; fi; \
	done; \
	echo "conformance-real: $$pass passed, $$fail failed, $$skip skipped$${failed:+ (failed:$$failed; logs in $$d)}"; \
	if [ $$fail -eq 0 ]; then rm -rf $$d; else exit 1; fi

# The differential tests against the real p4c and BMv2 (tests/p4c/test_vs_real_p4c.py:
# P4Info and warnings equal to p4c-bm2-ss's, pybm-p4c's JSON on real-stf). `make unit`
# collects them only where the real tools are on PATH; this target requires them.
.PHONY: test-real
test-real: $(STAMP)
	@command -v p4c-bm2-ss >/dev/null && command -v real-stf >/dev/null || { echo "p4c-bm2-ss / real-stf are not on PATH (install ../shared/referee, source /opt/p4/ENV.sh)"; exit 2; }
	$(VENV)/bin/pytest -q tests/p4c/test_vs_real_p4c.py

# PTF_TESTS=test_flow (or test_flow.NicAckEveryTwoSegments ...) runs a subset.
# out/ is rebuilt first when another compiler than P4C produced it.
# MININET=1 (or make ptf-mininet): the same suite through the Mininet topology topo/ptf.py.
PTF_RUNNER = $(if $(filter 1 yes true,$(MININET)),topo/ptf.py --run,ptf-tests/run.py)
ptf: build
	@$(PY) ptf-tests/run.py --check-compiler --p4c $(P4C) --json $(OUT)/p4nic.json \
	    || { rm -f $(P4_JSON); $(MAKE) --no-print-directory build; }
	$(PY) $(PTF_RUNNER) --target $(TARGET) --p4c $(P4C) --json $(OUT)/p4nic.json --p4info $(OUT)/p4nic.p4info.txtpb $(PTF_TESTS)

.PHONY: ptf-mininet
ptf-mininet:
	@$(MAKE) --no-print-directory ptf MININET=1

test: lint unit conformance ptf

bench: $(STAMP) build
	$(PY) bench/run_all.py

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
