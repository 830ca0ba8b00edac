"""Compile time and peak memory of pybm-p4c on the largest program of the project.

The program is the largest p4src/*.p4 (by size including its includes), else the
largest tests/p4programs/*.p4. Each run happens in a fresh subprocess so the
numbers include start-up and grammar construction; memory is the peak RSS of
that subprocess (resource.getrusage) and the tracemalloc peak of a second compile
(timed runs do not trace allocations).
Run: .venv/bin/python bench/bench_compiler.py [--runs N] [PROGRAM.p4]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time, tracemalloc
t0 = time.perf_counter()
from pybm.p4c.main import compile_program
src, incs = sys.argv[1], sys.argv[2:]
t1 = time.perf_counter()
bmv2, info = compile_program(src, incs)
t2 = time.perf_counter()
# a second compile under tracemalloc gives the peak of Python allocations
tracemalloc.start()
compile_program(src, incs)
_, peak = tracemalloc.get_traced_memory()
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import_s": t1 - t0, "compile_s": t2 - t1, "tracemalloc_peak": peak,
                  "max_rss_kb": rss_kb, "actions": len(bmv2["actions"]),
                  "tables": sum(len(p["tables"]) for p in bmv2["pipelines"]),
                  "states": sum(len(p["parse_states"]) for p in bmv2["parsers"])}))
"""


def _size_with_includes(p: Path) -> int:
    total = p.stat().st_size
    inc = p.parent / "include"
    if inc.is_dir():
        total += sum(f.stat().st_size for f in inc.glob("*.p4"))
    return total


def pick_program() -> tuple[Path, list[str]]:
    src = sorted((ROOT / "p4src").glob("*.p4"), key=_size_with_includes, reverse=True)
    if src:
        return src[0], [str(ROOT / "p4src")]
    corpus = sorted((ROOT / "tests" / "p4programs").glob("*.p4"), key=lambda p: p.stat().st_size, reverse=True)
    if not corpus:
        raise SystemExit("no P4 program to benchmark")
    return corpus[0], [str(ROOT / "tests" / "p4programs")]


def run_once(prog: Path, incs: list[str]) -> dict:
    with tempfile.TemporaryDirectory():
        r = subprocess.run([sys.executable, "-c", _CHILD, str(prog), *incs], capture_output=True, text=True,
                           cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"compile failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("program", nargs="?")
    # called from bench/run_all.py without arguments: do not read that script's argv
    args = ap.parse_args(argv if argv is not None else [])
    if args.program:
        prog = Path(args.program)
        incs = [str(prog.parent)]
    else:
        prog, incs = pick_program()
    results = [run_once(prog, incs) for _ in range(max(1, args.runs))]
    comp = [r["compile_s"] for r in results]
    last = results[-1]
    print(f"pybm-p4c benchmark: {prog.relative_to(ROOT) if prog.is_relative_to(ROOT) else prog}")
    print(f"  output: {last['tables']} tables, {last['actions']} actions, {last['states']} parser states")
    print(f"  compile time: median {statistics.median(comp) * 1000:.0f} ms, min {min(comp) * 1000:.0f} ms "
          f"over {len(comp)} runs (import {statistics.median(r['import_s'] for r in results) * 1000:.0f} ms)")
    print(f"  peak memory: {last['tracemalloc_peak'] / 1e6:.1f} MB traced, "
          f"{last['max_rss_kb'] / 1024:.1f} MB max RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
