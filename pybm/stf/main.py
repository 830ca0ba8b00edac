"""pybm-stf: run one p4c STF test against a BMv2 JSON program on pybm-switch."""

from __future__ import annotations

import argparse
import logging
import sys

from pybm.stf.stf import run_stf


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="pybm-stf",
        description="Run a p4c STF test (as p4c's bmv2 harness does) on pybm-switch. "
                    "Exit status 0 only if every expectation holds.")
    ap.add_argument("json", help="BMv2 JSON program (as emitted by p4c-bm2-ss or pybm-p4c)")
    ap.add_argument("stf", help="STF test file")
    ap.add_argument("-v", "--verbose", action="store_true", help="trace packet processing")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="[pybm] %(message)s")
    try:
        with open(args.json, "rb") as f:
            json_text = f.read()
        with open(args.stf, encoding="utf-8") as f:
            stf_text = f.read()
    except OSError as e:
        print(f"pybm-stf: {e}", file=sys.stderr)
        return 2
    result = run_stf(json_text, stf_text, trace=args.verbose)
    print(f"{args.stf}: {result.summary()}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
