"""Fixtures of the end-to-end scenarios: the compiled NIC and a Mininet
topology from topo/ with the NIC running (pybm-switch; P4NIC_TARGET=bmv2 for
simple_switch_grpc from PATH, P4NIC_BUILD_DIR=DIR for another compiler's
output). Mininet that cannot run here fails the test with the reason."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import Build  # noqa: F401  (tests/conftest.py, on sys.path by pytest: re-exported)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOPO = os.path.join(REPO, "topo")
if TOPO not in sys.path:
    sys.path.append(TOPO)      # after site-packages: topo/ptf.py must not shadow ptf
TARGET = os.environ.get("P4NIC_TARGET", "pybm")


def need_mininet() -> None:
    """Fail (never skip) when Mininet cannot run: no root, no mnexec, no module."""
    try:
        import p4switch
    except ImportError as e:
        pytest.fail(f"Mininet cannot be used: {e}")
    try:
        p4switch.need_mininet()
    except p4switch.TopoError as e:
        pytest.fail(f"Mininet cannot run here: {e}")


def plot(out_dir: str, name: str, *args: str) -> dict:
    """``p4nic --json plot ARGS --out OUT_DIR/NAME.png`` (also into $P4NIC_FIGURES when
    set, e.g. docs/figures for the README): the PNG written, its summary returned."""
    import json
    import shutil as _shutil
    png = os.path.join(out_dir, f"{name}.png")
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "p4nic"), "--json",
                           "plot", *args, "--out", png], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(png) > 5000, "an empty figure"
    figures = os.environ.get("P4NIC_FIGURES")
    if figures:
        os.makedirs(figures, exist_ok=True)
        _shutil.copy(png, os.path.join(figures, f"{name}.png"))
    return json.loads(done.stdout)
