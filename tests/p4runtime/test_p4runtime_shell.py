"""The real p4runtime-shell against pybm-switch's P4Runtime server.

p4runtime-shell keeps its client in module globals and calls sys.exit on
errors, so it runs in a subprocess (shell_client.py) while the switch and
server live in this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from p4rt_helpers import FIXTURES

SCRIPT = Path(__file__).with_name("shell_client.py")


def run_shell(port: int, phase: str) -> dict:
    args = [sys.executable, str(SCRIPT), str(port), phase]
    if phase == "write":
        args += [str(FIXTURES / "nic_mini.p4info.txtpb"), str(FIXTURES / "nic_mini.json")]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def frame(dst: int, size: int = 64) -> bytes:
    head = dst.to_bytes(6, "big") + (7).to_bytes(6, "big") + b"\x08\x00"
    return head + bytes(size - len(head))


def test_p4runtime_shell_session(rig):
    seen = run_shell(rig.port, "write")
    dst = {"hdr.ethernet.dstAddr": 'field_id: 1 exact { value: "\\252" }'}
    assert seen["after_insert"] == [{"match": dst, "action": "ingress.set_port",
                                     "params": {"port": "03"}}]
    assert seen["after_modify"] == [{"match": dst, "action": "ingress.set_port",
                                     "params": {"port": "05"}}]
    assert seen["acl"] == [[7, {
        "hdr.ethernet.etherType": 'field_id: 1 ternary { value: "\\010\\000" mask: "\\377\\000" }',
        "standard_metadata.ingress_port": 'field_id: 3 optional { value: "\\002" }'}]]
    # the pipeline p4runtime-shell pushed is running, with its entries
    assert [(e.match, e.action.name, e.data) for e in rig.switch.table_entries("ingress.fwd")] \
        == [((0xAA,), "ingress.set_port", (5,))]

    for _ in range(2):
        rig.switch.receive(1, frame(0xAA))
    assert [p for p, _ in rig.frames()] == [5, 5]

    seen = run_shell(rig.port, "read")
    assert seen["counter_1"] == [[2, 128]]
    assert seen["counters_all"] == 16
    assert seen["direct"] == [[2, 128]]
    assert seen["after_delete"] == []
    assert rig.switch.table_entries("ingress.fwd") == []
