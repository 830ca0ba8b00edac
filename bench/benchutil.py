"""Small helpers shared by the benchmarks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "out"


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def veth_bench_build(what: str) -> tuple[str, str] | int:
    """(json, p4info) of ``make build`` for a bench on veths; or, after saying
    why it cannot run, its exit status (0: skipped without root, 1: no build)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        print(f"{what} bench: skipped (needs root and iproute2 for veths)")
        return 0
    json_path, p4info = OUT / "p4nic.json", OUT / "p4nic.p4info.txtpb"
    if not json_path.exists():
        print(f"{what} bench: run `make build` first")
        return 1
    return str(json_path), str(p4info)
