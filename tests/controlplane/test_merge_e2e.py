"""End to end: ``p4nic merge-send`` -> NIC (pybm-switch on veths) -> placement agent ->
``p4nic merge-recv``, driven through a running ``p4nic start``.

300 frames of 20 slices as two redundant RTP streams, each path with 5% loss,
reordering and a few duplicates (seeded). Every frame whose slices each made
it on at least one path must be in the output directory byte for byte, as
the sender generated it; every other frame must be reported with the right
number of missing slices (or, for the last few frames, which no later packet
pushes out of the window, as not completed) and never as complete.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from p4nic.mergetools import Impairment, SendPlan, check_received, pattern_frame

from .test_daemon_cli import Daemon, daemon  # noqa: F401  (the daemon fixture)

P4NIC = os.path.join(os.path.dirname(sys.executable), "p4nic")
FRAMES, SLICES, SIZE, SEED = 300, 20, 1000, 3
SRCS = ("10.0.1.2", "10.0.2.2")
IMPAIR = Impairment(loss=0.05, dup=0.02, reorder=0.1, reorder_depth=4)
RATE = 800.0


def test_merge_send_to_merge_recv(daemon: Daemon, lab, tmp_path) -> None:  # noqa: F811
    out = str(tmp_path / "frames")
    recv_log = str(tmp_path / "recv.log")
    recv = subprocess.Popen(
        [P4NIC, "--state-dir", daemon.state, "merge-recv", "--iface", lab.outside(4),
         "--out", out, "--group", "5", "--slice-size", str(SIZE), "--slices", str(SLICES),
         "--window", "64", "--dst", "10.0.0.1", "--dport", "5004",
         "--stream", f"src={SRCS[0]}", "--stream", f"src={SRCS[1]}",
         "--frames", str(FRAMES), "--ring", "16", "--timeout", "15", "--png-width", "200"],
        stdout=open(recv_log, "w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:    # the group and its first work items must be there before we send
            assert recv.poll() is None, open(recv_log).read()
            groups = daemon.json("merge", "groups")
            if groups and len(groups[0]["posted"]) == 16:
                break
            assert time.monotonic() < deadline, "merge-recv did not set up its group"
            time.sleep(0.2)
        send = subprocess.run(
            [P4NIC, "merge-send", "--iface", lab.outside(0), "--iface", lab.outside(1),
             "--src", SRCS[0], "--src", SRCS[1], "--dst", "10.0.0.1", "--frames", str(FRAMES),
             "--slices", str(SLICES), "--slice-size", str(SIZE), "--loss", "0.05",
             "--dup", "0.02", "--reorder", "0.1", "--seed", str(SEED), "--rate", str(RATE)],
            capture_output=True, text=True, timeout=300)
        assert send.returncode == 0, send.stderr
        assert recv.wait(timeout=120) == 0, open(recv_log).read()
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()

    # what really went out on each path: the sender's own seeded schedule
    plan = SendPlan(FRAMES, SLICES, SIZE, rate_pps=RATE)
    r = check_received(out, plan, [IMPAIR, IMPAIR], SEED,
                       lambda n: pattern_frame(n, SLICES * SIZE))
    assert r["problems"] == []
    assert r["complete"] > 250 and r["errors"] > 0 and r["counters"]["duplicates"] > 0
    assert r["agent"]["refused_key"] == r["agent"]["refused_bounds"] == 0
    assert all(os.path.getsize(os.path.join(out, f"frame-{f['frame']:06d}.png")) > 0
               for f in json.load(open(os.path.join(out, "manifest.json")))["frames"]
               if f["status"] == "complete")
