"""`make bench`: every benchmark of the project, printed as figures."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

SUITES = ["bench_switch", "bench_compiler", "bench_nic", "bench_placement", "bench_merge",
          "bench_crypto", "bench_ipsec", "bench_reasm"]


def main() -> int:
    status = 0
    for name in SUITES:
        print(f"\n== {name} ==", flush=True)
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            print(f"{name}: not available ({e})")
            status = 1
            continue
        rc = mod.main([]) if mod.main.__code__.co_argcount else mod.main()
        status = status or (rc or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
