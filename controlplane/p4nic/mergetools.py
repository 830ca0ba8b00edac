"""``p4nic merge-send`` and ``p4nic merge-recv``: try the merge offload with no camera.

merge-send cuts raw video frames (a file, or a generated test pattern) into
fixed-size slices and sends them as RTP over UDP/IPv4, as two or three
redundant streams out of chosen interfaces. Each stream has its own seeded
impairment (loss, duplication, reordering, delay): the user-space
impairment of DESIGN.md section 4, since the kernel here has no netem.
The last slice of a frame carries the RTP marker bit.

merge-recv is the application: it registers host memory (a ring of frame
buffers in /dev/shm), creates the merge group and its streams, posts a work
item per buffer, runs the placement agent on the NIC's placement port and
polls the completion queue. Each completed frame is written to the output
directory (``frame-NNNNNN.raw``, optionally ``.png``) and its buffer goes
back to the ring for a later frame; ``manifest.json`` lists every frame:
number, first PSN, complete or how many slices were missing, NIC time.

P4Runtime work goes through a running ``p4nic start`` (control socket) or,
without one, through merge-recv's own connection as primary.
"""

from __future__ import annotations

import bisect
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from p4nic.control import ControlClient, DaemonNotRunning

if TYPE_CHECKING:
    from p4nic.hostmem import HostMemory
    from p4nic.placement import PlacementAgent
    from p4nic.shmring import CompletionQueue

ETH_P_ALL = 0x0003


# ---- frames and packets (pure) ---------------------------------------------------------------
def pattern_frame(frame: int, size: int, width: int = 320) -> bytes:
    """A test-pattern frame: moving diagonal bands plus the frame number in the first
    bytes, so every frame differs and a torn frame shows."""
    head = struct.pack("!I", frame)
    row = bytes(((x + 3 * frame) * 4) & 0xFF for x in range(width + size // width + 1))
    out = bytearray(size)
    for y in range(0, size // width + 1):
        start = y * width
        if start >= size:
            break
        chunk = row[y:y + width]
        out[start:start + len(chunk)] = chunk[:size - start]
    out[:4] = head
    return bytes(out)


def frames_from_file(path: str, frame_bytes: int) -> Iterator[bytes]:
    """Consecutive ``frame_bytes`` chunks of a raw video file (a short last one padded)."""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(frame_bytes)
            if not chunk:
                return
            yield chunk.ljust(frame_bytes, b"\0")


def _csum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def rtp_over_udp(src_mac: bytes, dst_mac: bytes, src: str, dst: str, sport: int, dport: int,
                 seq: int, timestamp: int, marker: bool, payload: bytes,
                 ssrc: int = 0x70346E63, ident: int = 0) -> bytes:
    """Ethernet/IPv4/UDP/RTP (payload type 96) with a valid IPv4 header checksum."""
    rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 96, seq & 0xFFFF,
                      timestamp & 0xFFFFFFFF, ssrc) + payload
    udp = struct.pack("!HHHH", sport, dport, 8 + len(rtp), 0) + rtp
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0x4000,
                               64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst)))
    struct.pack_into("!H", ip, 10, _csum(bytes(ip)))
    return dst_mac + src_mac + b"\x08\x00" + bytes(ip) + udp


@dataclass(frozen=True)
class Impairment:
    """Per-path impairment: loss / duplication / reordering probabilities, how many
    packets a reordered one falls back (1..reorder_depth), and a fixed delay."""
    loss: float = 0.0
    dup: float = 0.0
    reorder: float = 0.0
    reorder_depth: int = 4
    delay_ms: float = 0.0

    def __post_init__(self) -> None:
        for name in ("loss", "dup", "reorder"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name}={v}: a probability is in 0..1")
        if self.reorder_depth < 1:
            raise ValueError("reorder_depth must be at least 1")
        if self.delay_ms < 0:
            raise ValueError("delay_ms must not be negative")


def impair(count: int, imp: Impairment, rng: random.Random) -> list[int]:
    """The order in which packets 0..count-1 of one path leave it: some lost, some
    twice, some later than they were sent. Pure and seeded."""
    keyed: list[tuple[float, int]] = []
    for i in range(count):
        if rng.random() < imp.loss:
            continue
        late = rng.randint(1, imp.reorder_depth) + 0.5 if rng.random() < imp.reorder else 0.0
        keyed.append((i + late, i))
        if rng.random() < imp.dup:
            keyed.append((i + rng.uniform(0.1, imp.reorder_depth), i))
    keyed.sort()
    return [i for _, i in keyed]


@dataclass(frozen=True)
class SendPlan:
    """What merge-send puts on the wire: ``frames`` frames of ``slices`` packets each,
    or, with ``frame_slices``, of those packet counts in turn (video frames whose
    size varies: the RTP marker on each frame's last packet says where it ends)."""
    frames: int
    slices: int
    slice_size: int
    first_seq: int = 0
    header_bytes: int = 0          # payload header after RTP (ST 2022-6: 8), sent as zeros
    rate_pps: float = 2000.0       # packets per second per stream before impairment
    frame_slices: tuple[int, ...] = ()

    def slices_of(self, frame: int) -> int:
        return self.frame_slices[frame % len(self.frame_slices)] if self.frame_slices \
            else self.slices

    def starts(self) -> list[int]:
        """Packet index of each frame's first slice, and the total at the end."""
        out = [0]
        for f in range(self.frames):
            out.append(out[-1] + self.slices_of(f))
        return out

    @property
    def total_slices(self) -> int:
        return self.starts()[-1]


def stream_schedule(plan: SendPlan, imps: list[Impairment], seed: int
                    ) -> list[tuple[float, int, int]]:
    """(send time s, stream, packet index) of every packet of every stream, in time order."""
    total = plan.total_slices
    out: list[tuple[float, int, int]] = []
    for s, imp in enumerate(imps):
        rng = random.Random(seed * 1000 + s)
        for pos, i in enumerate(impair(total, imp, rng)):
            out.append((pos / plan.rate_pps + imp.delay_ms / 1000.0, s, i))
    out.sort()
    return out


def _mac(text: str) -> bytes:
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError(f"'{text}' is not a MAC address")
    return bytes(int(p, 16) for p in parts)


def merge_send(ifaces: list[str], dst: str, dport: int, srcs: list[str], plan: SendPlan,
               imps: list[Impairment], seed: int, frame_source: Callable[[int], bytes],
               dst_mac: str, src_mac: str = "02:00:00:00:00:02",
               psn_offsets: list[int] | None = None,
               progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Send the plan; returns how many packets went out per stream."""
    if not 1 <= len(ifaces) <= 3:
        raise ValueError("one interface per stream: 1 to 3 streams")
    if len(srcs) != len(ifaces) or len(imps) != len(ifaces):
        raise ValueError("give a source address and an impairment for every stream")
    offsets = psn_offsets or [0] * len(ifaces)
    socks = []
    try:
        for iface in ifaces:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)   # send only: receives nothing
            s.bind((iface, 0))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            socks.append(s)
        cache: dict[int, bytes] = {}
        schedule = stream_schedule(plan, imps, seed)
        sent = [0] * len(ifaces)
        dmac, smac = _mac(dst_mac), _mac(src_mac)
        start = time.monotonic()
        starts = plan.starts()
        for n, (t, s, i) in enumerate(schedule):
            frame_no = bisect.bisect_right(starts, i) - 1
            slice_no = i - starts[frame_no]
            if frame_no not in cache:
                if len(cache) > 8:     # reordering crosses frame boundaries: keep a few
                    del cache[min(cache)]
                cache[frame_no] = frame_source(frame_no)
            data = cache[frame_no][slice_no * plan.slice_size:(slice_no + 1) * plan.slice_size]
            pkt = rtp_over_udp(smac, dmac, srcs[s], dst, 5000 + s, dport,
                               plan.first_seq + i - offsets[s], frame_no * 3000,
                               slice_no == plan.slices_of(frame_no) - 1,
                               bytes(plan.header_bytes) + data,
                               ident=i)
            wait = start + t - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            socks[s].send(pkt)
            sent[s] += 1
            if progress and n % 200 == 0:
                progress(n, len(schedule))
        return {"packets": sent, "frames": plan.frames, "seconds": time.monotonic() - start}
    finally:
        for s in socks:
            s.close()


# ---- PNG (grayscale, no dependencies) ----------------------------------------------------------
def png_gray(data: bytes, width: int) -> bytes:
    """An 8-bit grayscale PNG of ``data`` laid out ``width`` pixels per row."""
    height = len(data) // width
    if width <= 0 or height <= 0:
        raise ValueError(f"{len(data)} bytes do not make rows of {width} pixels")
    raw = b"".join(b"\0" + data[y * width:(y + 1) * width] for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack("!I", len(body)) + kind + body
                + struct.pack("!I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack("!IIBBBBB", width, height, 8, 0,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


# ---- the receiving application ------------------------------------------------------------------
class Backend:
    """merge.* requests through the daemon, or through our own primary connection."""

    def __init__(self, socket_path: str, grpc_addr: str, device_id: int, election_id: int,
                 ports: Any):
        self.client: ControlClient | None = None
        self.driver = None
        self.service = None
        try:
            self.client = ControlClient(socket_path)
        except DaemonNotRunning:
            from p4nic.driver import NicDriver
            from p4nic.service import NicService
            drv = NicDriver(grpc_addr, device_id, election_id)
            drv.connect(timeout=5.0)
            drv.use_device_pipeline()
            drv.ports = ports
            self.driver = drv
            self.service = NicService(drv, daemon=True)

    def call(self, op: str, **args: Any) -> Any:
        from p4nic.service import check_request
        check_request(op, args)
        if self.client is not None:
            return self.client.call(op, **args)
        assert self.service is not None
        return self.service.handle(op, args)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.driver is not None:
            self.driver.close()


@dataclass
class RecvResult:
    complete: int = 0
    errors: int = 0
    frames: list[dict[str, Any]] | None = None
    agent: dict[str, int] | None = None
    counters: dict[str, Any] | None = None


def merge_recv(backend: Backend, iface: str, out_dir: str, group: dict[str, Any],
               streams: list[dict[str, Any]], frames: int, ring: int = 8,
               timeout: float = 10.0, png_width: int | None = None,
               progress: Callable[[int, int], None] | None = None,
               stop: threading.Event | None = None) -> RecvResult:
    """Run the receiving application until ``frames`` frames completed (normally or with
    an error) or ``timeout`` seconds pass without a completion."""
    from p4nic.hostmem import BufferRing, HostMemory
    from p4nic.placement import PlacementAgent
    from p4nic.shmring import CompletionQueue

    os.makedirs(out_dir, exist_ok=True)
    frame_bytes = group["slice_size"] * group["slices_per_frame"]
    tag = f"merge{os.getpid()}-g{group['group']}"
    memory = HostMemory()
    cq_path = f"/dev/shm/p4nic-cq-{tag}"
    result = RecvResult(frames=[])
    region = memory.register(tag, frame_bytes * ring)
    cq = CompletionQueue.create(cq_path, 1024)
    agent = PlacementAgent(iface, memory, cq)
    created = False
    try:
        backend.call("merge.group.add", **group)
        created = True
        for s in streams:
            backend.call("merge.stream.add", **s)
        buffers = BufferRing(region, frame_bytes, ring)
        posted: dict[int, int] = {}          # frame number -> buffer address
        next_frame = 0
        agent.start()

        def post_more() -> None:
            nonlocal next_frame
            while next_frame < frames:
                taken = buffers.take()
                if taken is None:
                    return
                _, addr = taken
                backend.call("merge.post", group=group["group"], frame=next_frame,
                             mkey=region.mkey, buf_base=addr)
                posted[next_frame] = addr
                next_frame += 1

        post_more()
        done = 0
        last_progress = time.monotonic()
        while done < frames and not (stop and stop.is_set()):
            got = cq.wait(0.2)
            if not got:
                if time.monotonic() - last_progress > timeout:
                    break
                continue
            last_progress = time.monotonic()
            for entry in got:
                c = entry.completion
                n = c.frame & 0xFFFFFF
                addr = posted.pop(n, None)
                if addr is None:
                    continue      # not ours (another run's frame): ignore
                rec: dict[str, Any] = {"frame": n, "first_psn": c.first_psn,
                                       "slices": c.slices, "nic_ts_us": c.nic_ts,
                                       "host_time": entry.host_time}
                if c.ok:
                    data = bytes(buffers.view(buffers.index_of(addr)))
                    name = f"frame-{n:06d}.raw"
                    with open(os.path.join(out_dir, name), "wb") as f:
                        f.write(data)
                    rec.update(status="complete", missing=0, file=name)
                    if png_width:
                        with open(os.path.join(out_dir, f"frame-{n:06d}.png"), "wb") as f:
                            f.write(png_gray(data, png_width))
                    result.complete += 1
                else:
                    rec.update(status="missing", missing=c.missing)
                    result.errors += 1
                result.frames.append(rec)
                backend.call("merge.retire", group=group["group"], frame=n)
                buffers.give_back(addr)
                done += 1
                if progress:
                    progress(done, frames)
            post_more()
        for n in sorted(posted):
            result.frames.append({"frame": n, "status": "not completed"})
        result.frames.sort(key=lambda r: r["frame"])
        result.counters = backend.call("merge.counters", group=group["group"])
    finally:
        _end_receive(result, agent, backend, group["group"] if created else None, cq, memory)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"group": group, "streams": streams, "complete": result.complete,
                   "error_completions": result.errors, "frames": result.frames,
                   "nic_counters": result.counters, "agent": result.agent}, f, indent=1)
    return result


def _end_receive(result: RecvResult, agent: PlacementAgent, backend: Backend,
                 created_group: int | None, cq: CompletionQueue, memory: HostMemory) -> None:
    """A receive's end, however it ends: the agent stopped (its counters kept in the
    result), the group removed if the receive created it, the queue and memory closed."""
    agent.stop()
    result.agent = agent.stats()
    if created_group is not None:
        try:
            backend.call("merge.group.del", group=created_group)
        except Exception as e:   # the switch may be gone; the result still stands
            print(f"p4nic merge-recv: could not remove group: {e}", file=sys.stderr)
    cq.close()
    memory.close()


def check_received(out_dir: str, plan: SendPlan, imps: list[Impairment], seed: int,
                   frame_source: Callable[[int], bytes], tail: int = 5) -> dict[str, Any]:
    """Compare merge-recv's output with what merge-send really sent (its seeded
    schedule): every frame whose slices each went out on at least one path must be
    complete and byte-exact; every other frame reported with its missing-slice count,
    or, within the last ``tail`` frames (no later packet pushes them out of the
    window), as not completed. Returns counts and a list of problems (empty: good)."""
    arrived = {i for _t, _s, i in stream_schedule(plan, imps, seed)}
    with open(os.path.join(out_dir, "manifest.json")) as f:
        manifest = json.load(f)
    by_frame = {f["frame"]: f for f in manifest["frames"]}
    problems: list[str] = []
    if sorted(by_frame) != list(range(plan.frames)):
        problems.append(f"manifest lists frames {sorted(by_frame)[:5]}..., "
                        f"expected 0..{plan.frames - 1}")
    complete = errors = 0
    for n in range(plan.frames):
        first = n * plan.slices
        missing = sum(1 for i in range(first, first + plan.slices) if i not in arrived)
        rec = by_frame.get(n, {"status": "absent"})
        if missing == 0:
            if rec["status"] != "complete":
                problems.append(f"frame {n}: every slice was sent, status {rec['status']}")
                continue
            with open(os.path.join(out_dir, rec["file"]), "rb") as f:
                if f.read() != frame_source(n):
                    problems.append(f"frame {n}: bytes differ from what was sent")
            complete += 1
        elif rec["status"] == "missing":
            if rec["missing"] != missing:
                problems.append(f"frame {n}: {rec['missing']} missing reported, {missing} lost")
            errors += 1
        elif not (rec["status"] == "not completed" and n >= plan.frames - tail):
            problems.append(f"frame {n}: {missing} slices lost everywhere, status "
                            f"{rec['status']}")
    c = manifest.get("nic_counters") or {}
    if c.get("completions") != complete or c.get("error_completions") != errors:
        problems.append(f"NIC counters {c} vs {complete} complete, {errors} errors")
    if c.get("placed") != len(arrived):
        problems.append(f"NIC placed {c.get('placed')} slices, {len(arrived)} were sent")
    return {"complete": complete, "errors": errors, "arrived": len(arrived),
            "counters": c, "agent": manifest.get("agent") or {}, "problems": problems}


def merge_recv_cyclic(backend: Backend, iface: str, out_dir: str, group: dict[str, Any],
                      streams: list[dict[str, Any]], frames: int, ring_slices: int,
                      timeout: float = 10.0, progress: Callable[[int, int], None] | None = None
                      ) -> RecvResult:
    """The receiving application with a cyclic buffer (seed [0040]): no work items; the
    NIC writes every slice at its PSN's place in a ring and completes chunks of
    ``group['slices_per_frame']`` slices; frames of any packet count are cut out of the
    ring at the RTP markers (p4nic.merge.frames_in_ring) and written as they finish.
    A frame is complete when every chunk it touches completed without a missing slice."""
    from p4nic.hostmem import HostMemory
    from p4nic.merge import frames_in_ring
    from p4nic.placement import PlacementAgent
    from p4nic.shmring import CompletionQueue

    os.makedirs(out_dir, exist_ok=True)
    size = group["slice_size"]
    tag = f"mergering{os.getpid()}-g{group['group']}"
    memory = HostMemory()
    result = RecvResult(frames=[])
    region = memory.register(tag, ring_slices * size)
    cq = CompletionQueue.create(f"/dev/shm/p4nic-cq-{tag}", 4096)
    agent = PlacementAgent(iface, memory, cq)
    first_psn = group.get("first_psn", 0)
    seen_chunks: list[dict[str, Any]] = []
    created = False
    try:
        backend.call("merge.group.add", **{**group, "cyclic": True, "ring_slices": ring_slices,
                                           "ring_mkey": region.mkey, "ring_base": region.iova})
        created = True
        for s in streams:
            backend.call("merge.stream.add", **s)
        agent.start()
        chunks: list[tuple[int, int, bool, int]] = []
        seen_chunks: list[dict[str, Any]] = []
        start = first_psn           # first PSN of the next frame to cut
        last_progress = time.monotonic()
        while len(result.frames) < frames:
            got = cq.wait(0.2)
            if not got:
                if time.monotonic() - last_progress > timeout:
                    break
                continue
            last_progress = time.monotonic()
            chunks += [(e.completion.first_psn, e.completion.slices, e.completion.ok,
                        e.completion.marker) for e in got]
            seen_chunks += [{"first_psn": e.completion.first_psn, "ok": e.completion.ok,
                             "missing": e.completion.missing, "marker": e.completion.marker}
                            for e in got]
            for f in frames_in_ring(chunks, start):
                n = len(result.frames)
                rec: dict[str, Any] = {"frame": n, "first_psn": f.first_psn,
                                       "slices": f.slices}
                if f.complete:
                    data = bytearray()
                    for psn in range(f.first_psn, f.last_psn + 1):
                        off = (psn - first_psn) % ring_slices * size
                        data += region.view[off:off + size]
                    name = f"frame-{n:06d}.raw"
                    with open(os.path.join(out_dir, name), "wb") as fh:
                        fh.write(data)
                    rec.update(status="complete", file=name)
                    result.complete += 1
                else:
                    rec.update(status="incomplete")
                    result.errors += 1
                result.frames.append(rec)
                start = f.last_psn + 1
                if progress:
                    progress(len(result.frames), frames)
                if len(result.frames) >= frames:
                    break
            chunks = [c for c in chunks if c[0] + c[1] > start]
        result.counters = backend.call("merge.counters", group=group["group"])
    finally:
        _end_receive(result, agent, backend, group["group"] if created else None, cq, memory)
    with open(os.path.join(out_dir, "manifest.json"), "w") as fh:
        json.dump({"group": group, "streams": streams, "cyclic_ring_slices": ring_slices,
                   "complete": result.complete, "incomplete": result.errors,
                   "frames": result.frames, "chunks": seen_chunks,
                   "nic_counters": result.counters, "agent": result.agent}, fh, indent=1)
    return result
