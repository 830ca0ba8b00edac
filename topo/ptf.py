#!/usr/bin/env python3
"""Mininet topology ``ptf``: the NIC with one link per port to a host ``ptf``.

    python3 topo/ptf.py                 # Mininet CLI: NIC running, p4nic start on host ptf
    python3 topo/ptf.py --run [TEST ...] --target pybm|bmv2 --p4c ... --json ... --p4info ...
                                        # the PTF suite of ptf-tests/ through it (make ptf MININET=1)

    +----------------------+            +-------------------------+
    | nic (P4NicSwitch)    | sw0 -- p4nic0 | ptf (Mininet host)    |
    | pybm-switch or       |  ...          | ptf runs here on      |
    | simple_switch_grpc   | sw6 -- p4nic6 | p4nic0..p4nic6,       |
    |                      | sw7 -- p4nic7 | the crypto engine on 7|
    |  sw8 --+             |               |                       |
    |  sw9 --+ loopback    |               |                       |
    +----------------------+            +-------------------------+
       P4Runtime: unix:WORKDIR/p4rt.sock (reached from the ptf host's namespace)

``--run`` does what ptf-tests/run.py does on bare veths, with Mininet making
the namespaces and links: the switch starts without a program (the tests load
it), the lookaside crypto engine serves the crypto port (``p4nic
crypto-engine`` on p4nic7, crypto-engine.log), PTF runs on the host's
interfaces 0..6 (MTU 9000, offloads off, IPv6 off) with the same options and
test parameters (ptf_command of run.py; port counts from there too; ports 8
and 9, run.py's LOOP_PORTS, are a link from the NIC to itself: the loopback
pair of fragment reassembly, as run.py's sw8/sw9 veth), and the exit
status is PTF's (skipped tests count as failures). Mininet, the switch (by
PID) and PTF are stopped whatever happens. The switch log and PTF's logs land
in --log-dir (default out/ptf/): switch-TARGET-mininet.log, ptf-logs/.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from types import ModuleType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from p4switch import (  # noqa: E402
    NicHost,
    P4NicSwitch,
    Topo,
    TopoError,
    interactive,
    interactive_args,
    nic_link,
    nic_loop,
    running,
    setLogLevel,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PTF_MTU = 9000


def _load_runner() -> ModuleType:
    """ptf-tests/run.py as a module (its options, port counts, PTF and crypto engine
    command lines, compiler check)."""
    spec = importlib.util.spec_from_file_location("p4nic_ptf_run",
                                                  os.path.join(ROOT, "ptf-tests", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


RUNNER = _load_runner()
NUM_PORTS = RUNNER.NUM_PORTS        # switch ports (the last ones may be engines')
PTF_PORTS = RUNNER.PTF_PORTS        # the ports PTF drives
CRYPTO_PORT = RUNNER.CRYPTO_PORT
LOOP_PORTS = RUNNER.LOOP_PORTS      # one link from the NIC to itself (reassembly)


class PtfTopo(Topo):
    """nic ports 0..N-1 <-> host ptf's p4nic0..p4nicN-1 (N: run.py's NUM_PORTS); nic
    ports 8 <-> 9 (run.py's LOOP_PORTS), the loopback pair."""

    def build(self, target: str = "pybm", json_path: str | None = None,
              workdir: str | None = None, log_file: str | None = None,
              mtu: int | None = PTF_MTU, log_console: bool = False,
              num_ports: int | None = None) -> None:
        self.addSwitch("nic", cls=P4NicSwitch, target=target, json_path=json_path,
                       workdir=workdir, log_file=log_file, mtu=mtu, log_console=log_console)
        self.addHost("ptf", cls=NicHost, ip=None)
        for port in range(num_ports or NUM_PORTS):
            nic_link(self, "nic", "ptf", port)
        nic_loop(self, "nic", LOOP_PORTS)


def log(msg: str) -> None:
    print(f"[ptf-mininet] {msg}", flush=True)


def run_suite(argv: list[str]) -> int:
    runner = RUNNER
    ap = argparse.ArgumentParser(description="the PTF suite through the Mininet topology ptf")
    ap.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    runner.add_run_arguments(ap)
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("topo/ptf.py --run needs root (Mininet)")
    args.json = os.path.abspath(args.json)
    args.p4info = os.path.abspath(args.p4info)
    for path in (args.json, args.p4info):
        if not os.path.exists(path):
            raise SystemExit(f"{path} does not exist: run `make build` first")
    if runner.built_by(args.json) != runner.compiler_name(args.p4c):
        raise SystemExit(f"{args.json} was compiled by {runner.built_by(args.json)}, not "
                         f"{runner.compiler_name(args.p4c)}: rebuild it (make ptf P4C=... does)")
    if args.target == "bmv2" and shutil.which("simple_switch_grpc") is None:
        raise SystemExit("TARGET=bmv2 needs simple_switch_grpc on PATH; use TARGET=pybm for "
                         "the embedded switch")
    os.makedirs(args.log_dir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    setLogLevel("warning")
    workdir = tempfile.mkdtemp(prefix="p4nic-ptf-mn-")   # short path for the Unix socket
    switch_log = os.path.join(os.path.abspath(args.log_dir), f"switch-{args.target}-mininet.log")
    topo = PtfTopo(target=args.target, workdir=workdir, log_file=switch_log)
    ptf_proc: subprocess.Popen | None = None
    engine: subprocess.Popen | None = None
    try:
        with running(topo) as net:
            nic, host = net.get("nic"), net.get("ptf")
            log(f"Mininet: {nic.name} ({args.target}, pid {nic.proc.pid}, log {switch_log}) "
                f"ports 0..{NUM_PORTS - 1} <-> {host.name}:p4nic0..p4nic{NUM_PORTS - 1}, "
                f"loopback {nic.loop[0]} <-> {nic.loop[1]}, P4Runtime {nic.grpc_addr}")
            try:
                with open(os.path.join(args.log_dir, "crypto-engine-mininet.log"), "w") as f:
                    engine = host.popen(runner.crypto_engine_command(f"p4nic{CRYPTO_PORT}"),
                                        stdout=f, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
                log(f"started the crypto engine on {host.name}:p4nic{CRYPTO_PORT} "
                    f"(pid {engine.pid})")
                cmd = runner.ptf_command(args, nic.grpc_addr,
                                         {p: f"p4nic{p}" for p in range(PTF_PORTS)},
                                         nic.priority_queues)
                log("running on host ptf: " + " ".join(cmd))
                ptf_proc = host.popen(cmd, stdout=None, stderr=None, stdin=subprocess.DEVNULL)
                rc = ptf_proc.wait()
            finally:
                runner.stop(ptf_proc, "ptf")
                runner.stop(engine, "crypto engine")
            if nic.proc is None or nic.proc.poll() is not None:
                log("the switch exited during the tests")
                rc = rc or 1
            log(f"ptf exit status {rc}")
            return rc
    except TopoError as e:
        log(f"error: {e}")
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        log("switch stopped, Mininet network removed")


def main() -> int:
    if "--run" in sys.argv[1:]:
        return run_suite(sys.argv[1:])
    args = interactive_args(__doc__.splitlines()[1])
    topo = PtfTopo(target=args.target, workdir=args.workdir, log_console=args.log_console)
    return interactive(topo, args, daemon_host="ptf", banner=(
        "\nThe NIC's ports are p4nic0..p4nic6 on host ptf, e.g.\n"
        "  ptf p4nic watch --iface p4nic3 --count 4 --timeout 30 &\n"
        "  ptf p4nic counters"))


if __name__ == "__main__":
    sys.exit(main())
