"""Host-memory placement agent and software merge benchmarks (seed 000).

What the host pays per frame of redundant video, with and without the offload:

* agent, in process: merge placement records of 1200-byte slices through
  ``PlacementAgent.process()`` (the agent stands in for the NIC's DMA engine,
  so on real hardware this cost is the NIC's, not the host CPU's);
* agent, over veth: the same records sent by another process into a veth
  pair in a private network namespace, read by the agent's reader thread;
* application with the offload: polling one completion per frame from the
  shared-memory completion queue;
* application without it: ``SoftMerge`` merging 2 streams of 1000 frames x 20
  slices x 1200 bytes with 5% independent loss per stream (MTL-style
  SMPTE 2022-7 receive done in Python).

Run: .venv/bin/python bench/bench_placement.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "controlplane"))

from p4nic import p4names as n  # noqa: E402
from p4nic.hostmem import HostMemory  # noqa: E402
from p4nic.placement import PlacementAgent  # noqa: E402
from p4nic.records import Completion, MergePlacement  # noqa: E402
from p4nic.shmring import CompletionQueue  # noqa: E402
from p4nic.softmerge import MergeConfig, SoftMerge, rtp_packet  # noqa: E402

SLICE = 1200
SLICES = 20
SKIP = 8


def make_records(iova: int, mkey: int, frames: int, completions: bool) -> list[bytes]:
    """One record frame per slice of ``frames`` frames; with ``completions`` the last
    slice of each frame carries the frame's completion (as merge.p4 sends it)."""
    out = []
    payload = bytes(SKIP) + bytes(range(256)) * 4 + bytes(SLICE - 1024)
    for f in range(frames):
        base = iova + f * SLICES * SLICE
        for s in range(SLICES):
            last = completions and s == SLICES - 1
            rec = MergePlacement(group=1, stream=s & 1, flags=n.MPF_COMPLETES if last else 0,
                                 mkey=mkey, addr=base + s * SLICE, psn=f * SLICES + s, frame=f,
                                 length=SLICE, skip=SKIP).to_bytes()
            if last:
                rec += Completion(group=1, status=n.CQE_OK, stream=0, frame=f,
                                  first_psn=f * SLICES, slices=SLICES, missing=0, mkey=mkey,
                                  addr=base, nic_ts=f).to_bytes()
            out.append(rec + payload)
    return out


def bench_process(n_records: int) -> tuple[dict[str, dict[str, float]], float]:
    """process() in a loop over records spread across 64 frame buffers, without and
    with completions; -> (figures per kind, application us per completion polled)."""
    tag = uuid.uuid4().hex[:8]
    with HostMemory(prefix=f"p4nic-bench-{tag}-") as mem:
        region = mem.register("frames", 64 * SLICES * SLICE)
        cq_path = f"/dev/shm/p4nic-bench-{tag}-cq"
        cq = CompletionQueue.create(cq_path, 4096)
        app = CompletionQueue.attach(cq_path)
        try:
            results: dict[str, dict[str, float]] = {}
            for label, with_cq in (("slices", False), ("slices+cq", True)):
                agent = PlacementAgent(None, mem, cq)
                records = make_records(region.iova, region.mkey, 64, with_cq)
                for r in records:                           # warm-up
                    agent.process(r)
                app.poll(100000)
                agent.reset_stats()
                reps = max(1, n_records // len(records))
                polled = 0
                t_cpu, t_wall = time.process_time(), time.perf_counter()
                for _ in range(reps):
                    for r in records:
                        agent.process(r)
                    polled += len(app.poll(100000))
                cpu, wall = time.process_time() - t_cpu, time.perf_counter() - t_wall
                done = agent.placed
                assert done == reps * len(records) and agent.cq_dropped == 0
                results[label] = {"rps": done / wall, "mbps": done * SLICE / wall / 1e6,
                                  "cpu_us": cpu / done * 1e6, "completions": polled}
            # the application's side of the offload: polling completions (batches of <= 64)
            for i in range(4096):
                cq.push(records[SLICES - 1][32:72], i)
            t0 = time.perf_counter()
            got = 0
            while got < 4096:
                got += len(app.poll(64))
            return results, (time.perf_counter() - t0) / got * 1e6
        finally:
            app.close()
            cq.close()


SENDER = r"""
import socket, sys, time
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
tx.bind((sys.argv[1], 0))
frames = [bytes.fromhex(line) for line in sys.stdin.read().split()]
count = int(sys.argv[2])
t0 = time.perf_counter()
for i in range(count):
    tx.send(frames[i % len(frames)])
print(count / (time.perf_counter() - t0))
"""


def _thread_cpu(tid: int) -> float:
    with open(f"/proc/self/task/{tid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_veth(n_records: int) -> dict[str, float] | None:
    """Records sent by a raw socket in another process into a veth pair, read by
    the agent's thread (socket buffer large enough to take the whole burst)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        return None
    tag = uuid.uuid4().hex[:8]
    ns = f"p4nic-bench-pl-{tag}"
    agent = None
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        ex = ["ip", "netns", "exec", ns]
        subprocess.run(ex + ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                             "net.ipv6.conf.default.disable_ipv6=1"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "add", "bpa", "type", "veth", "peer", "name",
                        "bpb"], check=True)
        for dev in ("bpa", "bpb"):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        with HostMemory(prefix=f"p4nic-bench-{tag}-") as mem:
            region = mem.register("veth", 64 * SLICES * SLICE)
            records = make_records(region.iova, region.mkey, 64, False)
            agent = PlacementAgent("bpb", mem, None, netns=ns, rcvbuf=1 << 30)
            agent.start()
            assert agent._thread is not None
            tid = agent._thread.native_id
            assert tid is not None
            cpu0 = _thread_cpu(tid)
            sender = subprocess.Popen(ex + [sys.executable, "-c", SENDER, "bpa", str(n_records)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert sender.stdin is not None
            sender.stdin.write("\n".join(r.hex() for r in records))
            sender.stdin.close()
            deadline = time.monotonic() + 60
            while agent.received == 0 and time.monotonic() < deadline:
                time.sleep(0.0002)
            t_first = time.perf_counter()                   # timed from the first record
            last, seen = t_first, agent.received
            while time.perf_counter() - last < 1.0:         # until it has been idle for 1 s
                time.sleep(0.002)
                if agent.received != seen:
                    seen, last = agent.received, time.perf_counter()
            wall = max(last - t_first, 1e-6)
            cpu = _thread_cpu(tid) - cpu0
            assert sender.stdout is not None
            out = sender.stdout.read()
            sender.wait(60)
            agent.stop()
            s = agent.stats()
            agent = None
            return {"sent": n_records, "placed": s["placed"], "drops": s["kernel_drops"],
                    "rps": s["placed"] / wall, "mbps": s["placed"] * SLICE / wall / 1e6,
                    "cpu_us": cpu / max(s["placed"], 1) * 1e6,
                    "sender_rps": float(out.strip() or 0)}
    finally:
        if agent is not None:
            agent.stop()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def bench_softmerge(frames: int, loss: float = 0.05, seed: int = 1) -> dict[str, float]:
    """2 streams x ``frames`` frames x 20 slices x 1200 bytes, ``loss`` per stream."""
    cfg = MergeConfig(first_psn=1000, slices=SLICES, slice_size=SLICE, skip=SKIP, window=256)
    rng = random.Random(seed)
    payload = bytes(SKIP) + bytes(range(200)) * 6
    packets = []
    for i in range(frames * SLICES):
        seq = (cfg.first_psn + i) & 0xFFFF
        for stream in (0, 1):
            if rng.random() >= loss:
                packets.append((stream, rtp_packet(seq, payload, sport=5000 + stream)))
    merge = SoftMerge(cfg)
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    for stream, pkt in packets:
        merge.receive(stream, pkt)
    merge.flush()
    cpu, wall = time.process_time() - t_cpu, time.perf_counter() - t_wall
    s = merge.stats()
    return {"packets": len(packets), "cpu_us_frame": cpu / frames * 1e6,
            "cpu_us_packet": cpu / len(packets) * 1e6, "wall_s": wall,
            "frames_ok": s["frames_ok"], "frames_incomplete": s["frames_incomplete"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="placement agent and software merge benchmarks")
    ap.add_argument("--quick", action="store_true", help="fewer records")
    args = ap.parse_args(argv)
    n_records = 40_000 if args.quick else 200_000
    print(f"placement agent (merge records of {SLICE}-byte slices) and software merge "
          f"(2 streams, 20 x {SLICE}-byte slices per frame)")
    r, poll_us = bench_process(n_records)
    for label in ("slices", "slices+cq"):
        x = r[label]
        print(f"  agent process(), {label:10}      {x['rps']:10.0f} records/s  "
              f"{x['mbps']:7.0f} MB/s  {x['cpu_us']:6.2f} us CPU/record"
              + (f"  ({x['completions']} completions polled)" if label == "slices+cq" else ""))
    v = bench_veth(n_records)
    if v is None:
        print("  agent over veth                 (skipped: needs root and iproute2)")
    else:
        print(f"  agent over veth                 {v['rps']:10.0f} records/s  "
              f"{v['mbps']:7.0f} MB/s  {v['cpu_us']:6.2f} us CPU/record (reader thread)  "
              f"({v['placed']}/{v['sent']} placed, {v['drops']} kernel drops, "
              f"sender {v['sender_rps']:.0f}/s)")
    print(f"  application poll, with offload  {poll_us:10.2f} us CPU per frame "
          f"(one completion from the shared-memory queue)")
    m = bench_softmerge(1000 if not args.quick else 300)
    print(f"  software merge, no offload      {m['cpu_us_frame']:10.1f} us CPU per frame  "
          f"({m['cpu_us_packet']:.2f} us/packet, {m['packets']} packets, "
          f"{m['frames_ok']} frames whole, {m['frames_incomplete']} incomplete)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
