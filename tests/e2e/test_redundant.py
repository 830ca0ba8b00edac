"""End to end in Mininet (topo/redundant.py): ``p4nic merge-send`` on host snd,
two paths into the NIC's wire ports, ``p4nic start`` and ``p4nic merge-recv``
on the NIC's host (placement port 4).

300 frames of 20 slices as two redundant RTP streams; merge-send impairs each
path itself (5% loss, 10% reordering, 2% duplicates, seeded). Every frame
whose slices each made it on at least one path must be written byte for byte
as the sender generated it (``stream_schedule`` reproduces what the sender
sent on each path); every other frame must be reported with the right number
of missing slices (or, for the last few frames, which no later packet pushes
out of the window, as not completed) and never as complete. The same checks
as tests/controlplane/test_merge_e2e.py on bare veths.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest
from p4nic.mergetools import Impairment, SendPlan, check_received, pattern_frame

from .conftest import TARGET, Build, need_mininet, plot

P4NIC = os.path.join(os.path.dirname(sys.executable), "p4nic")
FRAMES, SLICES, SIZE, SEED = 300, 20, 1000, 3
SRCS = ("10.0.1.2", "10.0.2.2")
IMPAIR = Impairment(loss=0.05, dup=0.02, reorder=0.1, reorder_depth=4)
# packets/s per stream: what pybm-switch keeps up with on a busy 2-core machine with room
# to spare (a frame lost in a socket buffer would be a loss the sender did not plan)
RATE = 500.0
GROUP = 5


@pytest.fixture(scope="module")
def redundant_net(nic_build: Build) -> Iterator[tuple]:
    """The redundant topology running, with p4nic start on host ``host``."""
    need_mininet()
    import p4switch
    from redundant import HOST, RedundantTopo

    workdir = tempfile.mkdtemp(prefix="p4nic-e2e-")     # short path: Unix sockets
    try:
        with p4switch.running(RedundantTopo(target=TARGET, workdir=workdir)) as net:
            nic = net.get("nic")
            daemon = p4switch.start_daemon(
                net.get(HOST), nic, os.path.join(workdir, "state"), nic_build.p4info,
                nic_build.json, ["--clock-interval", "1"])
            try:
                yield net, nic, daemon
            finally:
                daemon.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_nic_is_a_mininet_switch_process(redundant_net) -> None:
    """The switch runs by its own PID in the NIC node's namespace, ports numbered by link."""
    net, nic, _daemon = redundant_net
    with open(f"/proc/{nic.proc.pid}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    exe = b"pybm-switch" if TARGET == "pybm" else b"simple_switch_grpc"
    assert any(exe in a for a in argv), argv
    assert os.readlink(f"/proc/{nic.proc.pid}/ns/net") == os.readlink(f"/proc/{nic.pid}/ns/net")
    assert os.readlink(f"/proc/{nic.proc.pid}/ns/net") != os.readlink("/proc/self/ns/net")
    assert nic.port_map() == {p: f"sw{p}" for p in range(7)}
    for port, host in ((0, "snd"), (1, "snd"), (4, "host")):
        node, name = nic.peer(port)
        assert (node.name, name) == (host, f"p4nic{port}")
    assert not os.path.exists("/sys/class/net/sw0")       # nothing in the root namespace
    assert all(f"{p}@sw{p}".encode() in argv for p in range(7)), argv


def test_merge_send_to_merge_recv_in_mininet(redundant_net, tmp_path) -> None:
    net, _nic, daemon = redundant_net
    snd, host = net.get("snd"), net.get("host")
    out = str(tmp_path / "frames")
    recv_log = str(tmp_path / "recv.log")
    with open(recv_log, "w") as f:
        recv = host.popen(
            [P4NIC, "--state-dir", daemon.state_dir, "merge-recv", "--iface", "p4nic4",
             "--out", out, "--group", str(GROUP), "--slice-size", str(SIZE),
             "--slices", str(SLICES), "--window", "64", "--dst", "10.0.0.1",
             "--dport", "5004", "--stream", f"src={SRCS[0]}", "--stream", f"src={SRCS[1]}",
             "--frames", str(FRAMES), "--ring", "16", "--timeout", "15",
             "--png-width", "200"], stdout=f, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:    # the group and its first work items must be there before we send
            assert recv.poll() is None, open(recv_log).read()
            groups = daemon.json("merge", "groups")
            if groups and len(groups[0]["posted"]) == 16:
                break
            assert time.monotonic() < deadline, "merge-recv did not set up its group"
            time.sleep(0.2)
        send = snd.popen(
            [P4NIC, "merge-send", "--iface", "p4nic0", "--iface", "p4nic1",
             "--src", SRCS[0], "--src", SRCS[1], "--dst", "10.0.0.1",
             "--frames", str(FRAMES), "--slices", str(SLICES), "--slice-size", str(SIZE),
             "--loss", "0.05", "--dup", "0.02", "--reorder", "0.1", "--seed", str(SEED),
             "--rate", str(RATE)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True)
        try:
            _out, err = send.communicate(timeout=300)
        finally:
            if send.poll() is None:
                send.kill()
                send.wait()
        assert send.returncode == 0, err
        assert recv.wait(timeout=120) == 0, open(recv_log).read()
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
    check_frames(out)
    # p4nic plot of the run: completions over NIC time and counters; frames tiled
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    (group,) = plot(str(tmp_path), "merge", "merge", out)["groups"]
    assert (group["complete"], group["errors"]) == (manifest["complete"],
                                                    manifest["error_completions"])
    assert group["counters"]["duplicates"] == manifest["nic_counters"]["duplicates"]
    assert plot(str(tmp_path), "frames", "frames", out, "--count", "8")["frames"] == 8


def check_frames(out: str) -> None:
    """merge-recv's manifest and frames against what the sender really sent."""
    plan = SendPlan(FRAMES, SLICES, SIZE, rate_pps=RATE)
    r = check_received(out, plan, [IMPAIR, IMPAIR], SEED,
                       lambda n: pattern_frame(n, SLICES * SIZE))
    assert r["problems"] == [], r["counters"]
    assert r["complete"] > 250 and r["errors"] > 0 and r["counters"]["duplicates"] > 0
    assert r["agent"]["refused_key"] == r["agent"]["refused_bounds"] == 0
    with open(os.path.join(out, "manifest.json")) as f:
        frames = json.load(f)["frames"]
    assert all(os.path.getsize(os.path.join(out, f"frame-{f['frame']:06d}.png")) > 0
               for f in frames if f["status"] == "complete")
