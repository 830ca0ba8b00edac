"""Programs in tests/p4programs/errors must fail with the located error given on line 1:
    // expect: LINE:COL: error: MESSAGE-SUBSTRING
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ERRORS = ROOT / "tests" / "p4programs" / "errors"
BIN = Path(sys.executable).parent
PROGRAMS = sorted(ERRORS.glob("*.p4"))
_EXPECT = re.compile(r"^//\s*expect:\s*(\d+):(\d+):\s*error:\s*(.+?)\s*$")


def test_enough_error_programs():
    assert len(PROGRAMS) >= 15


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_error_is_located(prog: Path, tmp_path: Path):
    first = prog.read_text().split("\n", 1)[0]
    m = _EXPECT.match(first)
    assert m, f"{prog.name}: line 1 must be '// expect: LINE:COL: error: MESSAGE'"
    line, col, msg = m.group(1), m.group(2), m.group(3)
    r = subprocess.run([str(BIN / "pybm-p4c"), "--arch", "v1model", "-I", str(ROOT / "tests" / "p4programs"),
                        "-o", str(tmp_path / "x.json"), str(prog)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    expected_prefix = f"{prog}:{line}:{col}: error: "
    lines = [ln for ln in r.stderr.splitlines() if ": error: " in ln]
    assert lines, r.stderr
    assert lines[0].startswith(expected_prefix), f"got {lines[0]!r}, want prefix {expected_prefix!r}"
    assert msg in lines[0], f"message {msg!r} not in {lines[0]!r}"
