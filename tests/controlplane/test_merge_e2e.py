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

from p4nic.mergetools import Impairment, SendPlan, check_received, pattern_frame, stream_schedule

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


def test_cyclic_buffer_frames_of_varying_size(daemon: Daemon, lab, tmp_path) -> None:  # noqa: F811
    """merge-send frames of 20, 17, 25, 12 and 9 packets (the RTP marker on each last
    one) -> NIC in cyclic-buffer mode (no work items, chunks of 8 slices) ->
    merge-recv --cyclic cuts the frames out of the ring at the markers: every frame
    whose chunks all arrived is there byte for byte; none is complete but torn."""
    sizes, frames, chunk = (20, 17, 25, 12, 9), 100, 8
    out = str(tmp_path / "ring")
    recv_log = str(tmp_path / "recv.log")
    recv = subprocess.Popen(
        [P4NIC, "--state-dir", daemon.state, "merge-recv", "--iface", lab.outside(4),
         "--out", out, "--group", "6", "--slice-size", str(SIZE), "--slices", str(chunk),
         "--window", "64", "--dst", "10.0.0.1", "--dport", "5004", "--cyclic", "1024",
         "--stream", f"src={SRCS[0]}", "--stream", f"src={SRCS[1]}",
         "--frames", str(frames), "--timeout", "8"],
        stdout=open(recv_log, "w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not daemon.json("merge", "groups"):
            assert recv.poll() is None, open(recv_log).read()
            assert time.monotonic() < deadline, "merge-recv did not set up its group"
            time.sleep(0.2)
        send = subprocess.run(
            [P4NIC, "merge-send", "--iface", lab.outside(0), "--iface", lab.outside(1),
             "--src", SRCS[0], "--src", SRCS[1], "--dst", "10.0.0.1", "--frames", str(frames),
             "--frame-slices", ",".join(map(str, sizes)), "--slice-size", str(SIZE),
             "--loss", "0.05", "--dup", "0.02", "--reorder", "0.1", "--seed", "8",
             "--rate", str(RATE)],
            capture_output=True, text=True, timeout=300)
        assert send.returncode == 0, send.stderr
        assert recv.wait(timeout=120) == 0, open(recv_log).read()
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
    plan = SendPlan(frames, 0, SIZE, rate_pps=RATE, frame_slices=sizes)
    arrived = {i for _t, _s, i in stream_schedule(plan, [IMPAIR, IMPAIR], 8)}
    starts = plan.starts()
    total = starts[-1]

    def chunk_ok(c: int) -> bool:
        return (c + 1) * chunk <= total and all(i in arrived
                                                for i in range(c * chunk, (c + 1) * chunk))

    manifest = json.load(open(os.path.join(out, "manifest.json")))
    got = manifest["frames"]
    assert len(got) >= frames - 3
    complete = 0
    for rec in got:
        n = rec["frame"]
        assert (rec["first_psn"], rec["slices"]) == (starts[n], sizes[n % len(sizes)]), rec
        chunks_ok = all(chunk_ok(c) for c in range(starts[n] // chunk,
                                                   (starts[n + 1] - 1) // chunk + 1))
        assert (rec["status"] == "complete") == chunks_ok, (
            rec, [(c, chunk_ok(c)) for c in range(starts[n] // chunk,
                                                   (starts[n + 1] - 1) // chunk + 1)],
            manifest["nic_counters"])
        if chunks_ok:
            with open(os.path.join(out, rec["file"]), "rb") as f:
                assert f.read() == pattern_frame(n, sizes[n % len(sizes)] * SIZE), f"frame {n}"
            complete += 1
    assert complete > frames // 2
    assert manifest["agent"]["refused_key"] == manifest["agent"]["refused_bounds"] == 0


def test_merge_commands_through_the_daemon(daemon: Daemon, lab) -> None:  # noqa: F811
    d = daemon
    g = d.json("merge", "group-add", "--group", "9", "--slice-size", "1200", "--slices", "40",
               "--mode", "overwrite", "--window", "128")
    assert g["group"] == 9 and g["mode"] == "overwrite" and g["record_port"] == 4
    assert g["generation"] != 0
    again = d.cli("merge", "group-add", "--group", "9", "--slice-size", "1200", "--slices", "40")
    assert again.returncode == 1 and "merge group 9 already exists" in again.stderr
    bad = d.cli("merge", "group-add", "--group", "9", "--slice-size", "1200")
    assert bad.returncode == 2 and "--slices" in bad.stderr
    refused = d.cli("merge", "group-add", "--group", "70", "--slice-size", "1", "--slices", "500")
    assert refused.returncode == 1 and "group=70 is outside 0..63" in refused.stderr
    s = d.json("merge", "stream-add", "--group", "9", "--stream", "1", "--dst", "10.0.0.1",
               "--dport", "5004", "--in-port", "1", "--psn-offset", "100")
    assert s["in_port"] == 1 and s["psn_offset"] == 100
    p = d.json("merge", "post", "--group", "9", "--frame", "2", "--mkey", "0x100",
               "--buf-base", "0x10000")
    assert (p["first_psn"], p["last_psn"]) == (80, 119)
    shown = d.json("merge", "groups")
    assert shown[0]["streams"][0]["psn_offset"] == 100 and len(shown[0]["posted"]) == 1
    c = d.json("merge", "counters", "--group", "9")
    assert c["placed"] == 0 and c["streams"][0]["packets"] == 0
    assert d.json("merge", "retire", "--group", "9", "--frame", "2") == {"retired": 2}
    not_posted = d.cli("merge", "retire", "--group", "9", "--frame", "2")
    assert not_posted.returncode == 1 and "not posted" in not_posted.stderr
    assert d.json("merge", "group-del", "--group", "9") == {"removed": 9}
    assert d.json("merge", "groups") == []
