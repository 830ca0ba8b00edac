"""Every program of tests/p4programs compiles and passes its STF test on pybm-stf."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "p4programs"
BIN = Path(sys.executable).parent
PROGRAMS = sorted(CORPUS.glob("*.p4"))


def test_corpus_is_large_enough():
    assert len(PROGRAMS) >= 30
    for p in PROGRAMS:
        assert p.with_suffix(".stf").is_file(), f"{p.name} has no STF test"


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_passes_stf(prog: Path, tmp_path: Path):
    out = tmp_path / (prog.stem + ".json")
    info = tmp_path / (prog.stem + ".p4info.txtpb")
    r = subprocess.run([str(BIN / "pybm-p4c"), "--arch", "v1model", "-I", str(CORPUS), "-o", str(out),
                        "--p4runtime-files", str(info), str(prog)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and info.is_file()
    stf = BIN / "pybm-stf"
    assert stf.exists(), "pybm-stf is not installed in the venv"
    r = subprocess.run([str(stf), str(out), str(prog.with_suffix(".stf"))], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
