"""P4NicSwitch's failure path: a switch that cannot start is reported with its log,
and nothing it or Mininet started is left behind (processes, namespaces, links)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from .conftest import TARGET, need_mininet


def _children_of(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.add(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def test_a_switch_that_cannot_start_fails_with_its_log_and_leaves_nothing(tmp_path) -> None:
    need_mininet()
    import p4switch
    from redundant import RedundantTopo

    bad = tmp_path / "broken.json"
    bad.write_text("{ this is not BMv2 JSON")
    workdir = tempfile.mkdtemp(prefix="p4nic-bad-")
    before = _children_of(os.getpid())
    try:
        with pytest.raises(p4switch.TopoError) as err:
            with p4switch.running(RedundantTopo(target=TARGET, json_path=str(bad),
                                                workdir=workdir)):
                pass
        assert "switch.log" in str(err.value)           # the reason, from the log's tail
        assert not os.path.exists(os.path.join(workdir, "p4rt.sock"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # Mininet's shells and the switch are gone (reaped), no link reached the root namespace
    assert _children_of(os.getpid()) - before == set()
    for name in ("sw0", "p4nic0", "nic-eth0"):
        assert not os.path.exists(f"/sys/class/net/{name}")
