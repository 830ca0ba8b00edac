"""Run pybm-stf over the conformance corpus (JSON compiled by the real p4c).

``python -m pybm.stf.conformance DIR`` runs every ``DIR/v1model/NAME.stf``
against ``NAME.json``, prints each failure with its reason and a final
``N passed, M failed`` line. The exit status is non-zero when a test that the
real BMv2 passes (``DIR/EXPECTED_PASS``) fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pybm.stf.stf import run_stf


def run_corpus(root: Path, names: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    vdir = root / "v1model"
    if names is None:
        names = sorted(p.stem for p in vdir.glob("*.stf"))
    passed: list[str] = []
    failed: dict[str, str] = {}
    for name in names:
        json_path, stf_path = vdir / f"{name}.json", vdir / f"{name}.stf"
        if not json_path.exists() or not stf_path.exists():
            failed[name] = "missing JSON or STF file"
            continue
        res = run_stf(json_path.read_bytes(), stf_path.read_text())
        if res.passed:
            passed.append(name)
        else:
            failed[name] = "\n".join(res.failures)
    return passed, failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default="../shared/conformance")
    ap.add_argument("names", nargs="*", help="only these tests")
    ap.add_argument("-q", "--quiet", action="store_true", help="only the summary line")
    args = ap.parse_args(argv)
    root = Path(args.root)
    expected = set()
    ep = root / "EXPECTED_PASS"
    if ep.exists():
        expected = {ln.strip() for ln in ep.read_text().splitlines() if ln.strip()}
    t0 = time.monotonic()
    passed, failed = run_corpus(root, args.names or None)
    for name, why in sorted(failed.items()):
        if not args.quiet:
            tag = "FAIL" if name in expected else "FAIL (real BMv2 fails it too)"
            print(f"{tag} {name}:\n  " + why.replace("\n", "\n  "))
    regressions = sorted(n for n in failed if n in expected)
    print(f"conformance: {len(passed)} passed, {len(failed)} failed "
          f"({len(regressions)} of the {len(expected)} that real BMv2 passes) "
          f"in {time.monotonic() - t0:.1f}s")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
