"""Redundant-stream merge through the whole path, and against a software merge (seed 000).

One run, the same two impaired RTP streams (``p4nic merge-send``: 20 slices
of 1200 bytes per frame, 5% loss on each path, seeded) both ways:

* with the NIC: merge-send -> pybm-switch running out/p4nic.json on veths ->
  placement agent -> the application, which polls the completion queue and
  reposts each buffer as a work item (P4Runtime, through NicDriver);
* without it: the same streams into a plain veth pair, read by an
  application that does the dedup, reordering and copy itself
  (``p4nic.softmerge.SoftMerge``, the Media Transport Library's 2022-7 way).

Printed: frames/s and packets/s through the NIC path; CPU per packet of the
switch; CPU per frame of the placement agent (the NIC's DMA engine on real
hardware, so not host CPU there); host CPU per completed frame of the
application with the NIC (polling only, and with its work-item reposts) and
without it (receive + merge), and their ratio.

Run: .venv/bin/python bench/bench_merge.py [--frames N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "controlplane"))

from benchutil import proc_cpu, veth_bench_build  # noqa: E402
from p4nic.driver import NicDriver, PortMap  # noqa: E402
from p4nic.hostmem import BufferRing, HostMemory  # noqa: E402
from p4nic.lab import NicLab  # noqa: E402
from p4nic.merge import FrameRing, MergeGroup, MergeStream  # noqa: E402
from p4nic.placement import PlacementAgent  # noqa: E402
from p4nic.rawsock import open_raw_in_netns, recv_frame  # noqa: E402
from p4nic.shmring import CompletionQueue  # noqa: E402
from p4nic.softmerge import MergeConfig, SoftMerge  # noqa: E402

P4NIC = str(Path(sys.executable).parent / "p4nic")
SLICES, SIZE, LOSS, RATE, SEED = 20, 1200, 0.05, 1500.0, 11
SRCS = ("10.0.1.2", "10.0.2.2")
NIC_MAC = "02:00:00:00:00:01"


def send_cmd(ifaces: list[str], frames: int) -> list[str]:
    cmd = [P4NIC, "merge-send", "--dst", "10.0.0.1", "--frames", str(frames), "--slices",
           str(SLICES), "--slice-size", str(SIZE), "--loss", str(LOSS), "--seed", str(SEED),
           "--rate", str(RATE)]
    for iface, src in zip(ifaces, SRCS):
        cmd += ["--iface", iface, "--src", src]
    return cmd


def bench_nic(frames: int, json_path: str, p4info: str) -> dict[str, float]:
    tag = os.getpid() % 10000
    work = tempfile.mkdtemp(prefix="p4nic-bench-")
    lab = NicLab(netns=f"p4nic-bm{tag}", prefix=f"bm{tag}p", workdir=work)
    memory = HostMemory()
    agent = None
    drv = None
    try:
        lab.create()
        lab.start_switch()
        drv = NicDriver(lab.grpc_addr)
        drv.connect()
        drv.load_pipeline(p4info, json_path)
        drv.setup(PortMap(), nic_macs=[NIC_MAC], clock=False)
        mm = drv.merge
        group = mm.create_group(MergeGroup(group=1, slice_size=SIZE, slices_per_frame=SLICES,
                                           window=64))
        for s, src in enumerate(SRCS):
            mm.add_stream(MergeStream(group=1, stream=s, dst="10.0.0.1", dport=5004, src=src))
        ring_n = 16
        region = memory.register(f"bench{os.getpid()}", group.frame_bytes * ring_n)
        cq = CompletionQueue.create(f"/dev/shm/p4nic-cq-bench{os.getpid()}", 1024)
        agent = PlacementAgent(lab.outside(4), memory, cq)
        agent.start()
        ring = FrameRing(mm, 1, region.mkey, BufferRing(region, group.frame_bytes, ring_n),
                         last_frame=frames - 1)
        ring.fill()
        sender = subprocess.Popen(send_cmd([lab.outside(0), lab.outside(1)], frames),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        sw_cpu0 = proc_cpu(lab.switch.pid)
        done = ok = 0
        poll_cpu = idle_cpu = repost_cpu = 0.0
        first = last = None
        idle_since = time.monotonic()
        while done < frames and time.monotonic() - idle_since < 15:
            c0 = time.thread_time()
            got = cq.poll(64)
            if not got:
                idle_cpu += time.thread_time() - c0
                time.sleep(0.002)      # an idle application sleeps; thread_time skips it
                continue
            idle_since = time.monotonic()
            first = first or time.monotonic()
            last = time.monotonic()
            done_now = []
            for e in got:
                n = e.completion.frame & 0xFFFFFF
                if ring.buffer_of(n) is not None:
                    ok += e.completion.ok
                    done_now.append(n)
            c1 = time.thread_time()
            poll_cpu += c1 - c0
            for n in done_now:       # the driver's part: retire and repost
                ring.recycle(n)
                done += 1
            repost_cpu += time.thread_time() - c1
        sender.wait(timeout=120)
        sw_cpu = proc_cpu(lab.switch.pid) - sw_cpu0
        counters = mm.counters(1)
        stats = agent.stats()
        packets = counters["placed"] + counters["duplicates"] + counters["no_buffer"]
        span = (last - first) if first and last and last > first else float("nan")
        cq.close()
        return {"frames": done, "ok": ok, "packets": packets, "fps": done / span,
                "pps": packets / span, "switch_us_pkt": sw_cpu / max(packets, 1) * 1e6,
                "agent_placed": stats["placed"], "poll_us_frame": poll_cpu / max(done, 1) * 1e6,
                "repost_us_frame": repost_cpu / max(done, 1) * 1e6,
                "idle_us_frame": idle_cpu / max(done, 1) * 1e6}
    finally:
        if agent is not None:
            agent.stop()
        if drv is not None:
            try:
                drv.clear_all()
            finally:
                drv.close()
        memory.close()
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)


def bench_software(frames: int) -> dict[str, float]:
    ns = f"p4nic-bms{os.getpid() % 10000}"
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(["ip", "-n", ns, "link", "add", "sendA", "type", "veth", "peer", "name",
                        "recvA"], check=True)
        for dev in ("sendA", "recvA"):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        sock = open_raw_in_netns("recvA", ns, rcvbuf=64 << 20)
        sock.settimeout(0.5)
        merge = SoftMerge(MergeConfig(first_psn=0, slices=SLICES, slice_size=SIZE, window=64))
        src_of = {bytes(map(int, s.split("."))): i for i, s in enumerate(SRCS)}
        result: dict[str, float] = {}

        def receive() -> None:
            c0 = time.thread_time()
            got = 0
            while True:
                try:
                    data, _ = recv_frame(sock)
                except TimeoutError:
                    if got:
                        break
                    continue
                stream = src_of.get(data[26:30])
                if stream is None:
                    continue
                got += 1
                merge.receive(stream, data)
            merge.flush()
            result["cpu"] = time.thread_time() - c0   # blocked in recv: no CPU counted
            result["packets"] = got

        t = threading.Thread(target=receive)
        t.start()
        subprocess.run(["ip", "netns", "exec", ns] + send_cmd(["sendA", "sendA"], frames),
                       check=True, capture_output=True, timeout=300)
        t.join(timeout=60)
        sock.close()
        s = merge.stats()
        complete = s["frames_ok"] + s["frames_incomplete"]
        return {"frames": complete, "ok": s["frames_ok"], "packets": result.get("packets", 0),
                "app_us_frame": result.get("cpu", 0.0) / max(complete, 1) * 1e6}
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="merge offload vs software merge")
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args(argv)
    build = veth_bench_build("merge")
    if isinstance(build, int):
        return build
    json_path, p4info = build
    print(f"redundant-stream merge: 2 streams, {args.frames} frames x {SLICES} x {SIZE} bytes, "
          f"{LOSS:.0%} loss per path, {RATE:.0f} packets/s per stream offered")
    nic = bench_nic(args.frames, json_path, p4info)
    soft = bench_software(args.frames)
    print(f"  NIC path (pybm-switch)   {nic['fps']:8.1f} frames/s  {nic['pps']:8.0f} packets/s  "
          f"({nic['ok']}/{nic['frames']} frames whole, {nic['packets']} packets)")
    print(f"  switch CPU               {nic['switch_us_pkt']:8.1f} us per packet")
    print(f"  application with NIC     {nic['poll_us_frame']:8.1f} us CPU per frame (taking its "
          f"completion from the queue); + {nic['idle_us_frame']:.1f} us of empty polls "
          f"every 2 ms while waiting")
    print(f"  driver work-item reposts {nic['repost_us_frame']:8.1f} us CPU per frame (retire + "
          f"post over P4Runtime; a doorbell write on a real NIC)")
    print(f"  application, software    {soft['app_us_frame']:8.1f} us CPU per frame "
          f"(receive + dedup + reorder + copy; {soft['ok']}/{soft['frames']} frames whole, "
          f"{soft['packets']} packets)")
    if nic["poll_us_frame"] > 0:
        with_idle = nic["poll_us_frame"] + nic["idle_us_frame"]
        print(f"  ratio software / NIC     {soft['app_us_frame'] / nic['poll_us_frame']:8.1f}x "
              f"less application CPU per frame with the offload "
              f"({soft['app_us_frame'] / with_idle:.1f}x counting the empty polls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
