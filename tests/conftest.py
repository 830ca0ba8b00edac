"""Fixtures every test directory uses: the NIC program compiled once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


@dataclass(frozen=True)
class Build:
    json: str
    p4info: str


@pytest.fixture(scope="session")
def nic_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """p4src/p4nic.p4 compiled by the project's compiler (pybm-p4c, as `make build`).

    P4NIC_BUILD_DIR=DIR uses DIR/p4nic.json and DIR/p4nic.p4info.txtpb instead
    (e.g. the output of the real p4c-bm2-ss).
    """
    prebuilt = os.environ.get("P4NIC_BUILD_DIR")
    if prebuilt:
        return Build(os.path.join(prebuilt, "p4nic.json"),
                     os.path.join(prebuilt, "p4nic.p4info.txtpb"))
    out = tmp_path_factory.mktemp("p4nic-build")
    json_path, p4info = str(out / "p4nic.json"), str(out / "p4nic.p4info.txtpb")
    compiler = os.path.join(os.path.dirname(sys.executable), "pybm-p4c")
    done = subprocess.run([compiler, "--arch", "v1model", "-I", os.path.join(REPO, "p4src"),
                           "-o", json_path, "--p4runtime-files", p4info,
                           os.path.join(REPO, "p4src", "p4nic.p4")],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"p4nic.p4 does not compile:\n{done.stderr}"
    return Build(json_path, p4info)
