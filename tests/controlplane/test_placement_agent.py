"""Placement agent and host memory: what lands in shared memory, what is refused,
and how completions and buffers travel between the agent and an application
process (through the shared-memory rings). One test reads records off a real
veth pair in a network namespace of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from p4nic import p4names as n
from p4nic.hostmem import (
    IOVA_BASE,
    PAGE,
    BufferRing,
    HostMemory,
    HostMemoryError,
    MemoryRegion,
)
from p4nic.placement import PlacementAgent
from p4nic.records import (
    Completion,
    MergePlacement,
    PlacementRecord,
    TimestampRecord,
    parse_merge_output,
)
from p4nic.shmring import (
    CQ_ENTRY_SIZE,
    CompletionQueue,
    CqEntry,
    RecycleQueue,
    RingError,
    ShmRing,
)

from .conftest import need_root


def tag() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def memory() -> Iterator[HostMemory]:
    hm = HostMemory(prefix=f"p4nic-t{tag()}-")
    try:
        yield hm
    finally:
        hm.close()


@pytest.fixture
def shm_path() -> Iterator[str]:
    """A fresh /dev/shm path for a ring; removed afterwards whoever left it."""
    path = f"/dev/shm/p4nic-test-{tag()}"
    yield path
    if os.path.exists(path):
        os.unlink(path)


def place(region: MemoryRegion, offset: int, data: bytes, *, skip: bytes = b"",
          trailer: bytes = b"", flags: int = 0, mkey: int | None = None, psn: int = 0,
          frame: int = 0, lead: bytes = b"", completes: bytes = b"") -> bytes:
    """A record frame as merge.p4 sends it: [lead completion] placement
    [completion, flagged MPF_COMPLETES] payload header + slice [trailer]."""
    rec = MergePlacement(group=1, stream=0, flags=flags | (n.MPF_COMPLETES if completes else 0),
                         mkey=region.mkey if mkey is None else mkey,
                         addr=region.iova + offset, psn=psn, frame=frame,
                         length=len(data), skip=len(skip))
    return lead + rec.to_bytes() + completes + skip + data + trailer


def completion(region: MemoryRegion, offset: int = 0, *, frame: int = 0, status: int = n.CQE_OK,
               missing: int = 0, mkey: int | None = None, first_psn: int = 0,
               nic_ts: int = 0) -> bytes:
    return Completion(group=1, status=status, stream=0, frame=frame, first_psn=first_psn,
                      slices=4, missing=missing,
                      mkey=region.mkey if mkey is None else mkey,
                      addr=region.iova + offset, nic_ts=nic_ts).to_bytes()


# ---- host memory ---------------------------------------------------------------------------------

def test_regions_get_distinct_keys_and_aligned_disjoint_bus_addresses(memory: HostMemory) -> None:
    regions = [memory.register(f"r{i}", size) for i, size in enumerate((1, 4096, 5000, 123))]
    keys = [r.mkey for r in regions]
    assert len(set(keys)) == 4 and all(0 < k < 1 << 32 for k in keys)
    assert regions[0].iova == IOVA_BASE
    for r in regions:
        assert r.iova % PAGE == 0 and len(r.view) == r.size
        assert os.path.exists(r.path) and os.path.basename(r.path).startswith("p4nic-")
    for a, b in zip(regions, regions[1:]):
        assert a.end < b.iova, "a guard gap separates consecutive regions"
    assert memory.lookup(keys[2]) is regions[2]
    assert memory.region_at(regions[2].iova + 4999) is regions[2]
    assert memory.region_at(regions[2].end) is None


def test_application_attaches_by_path_and_creator_removes_the_file(memory: HostMemory) -> None:
    region = memory.register("attach", 8192)
    region.write(region.iova + 10, b"hello")
    app = MemoryRegion.attach(region.path)
    try:
        assert (app.mkey, app.iova, app.size, app.name) == \
            (region.mkey, region.iova, region.size, "attach")
        assert bytes(app.read(app.iova + 10, 5)) == b"hello"
        region.write(region.iova + 8191, b"!")
        assert bytes(app.view[8191:8192]) == b"!"
        with pytest.raises(HostMemoryError):
            app.read(app.iova + 8190, 3)
        memory.deregister(region)
        assert not os.path.exists(region.path)
        assert bytes(app.read(app.iova + 10, 5)) == b"hello", "an attached map outlives the file"
    finally:
        app.close()
    with pytest.raises(FileNotFoundError):
        MemoryRegion.attach(region.path)
    with pytest.raises(HostMemoryError):
        memory.deregister(region.mkey)


def test_bad_region_requests_are_refused(memory: HostMemory) -> None:
    memory.register("dup", 10)
    with pytest.raises(FileExistsError):
        memory.register("dup", 10)
    for name, size in (("../etc", 10), ("", 10), ("ok", 0)):
        with pytest.raises(HostMemoryError):
            memory.register(name, size)


# ---- placements ----------------------------------------------------------------------------------

def test_slice_is_written_behind_the_skipped_header_and_trailer_ignored(
        memory: HostMemory) -> None:
    region = memory.register("place", 4096)
    agent = PlacementAgent(None, memory)
    frame = place(region, 100, b"SLICE-DATA", skip=b"hdr!", trailer=b"FCS.")
    out = parse_merge_output(frame)                   # the records.py view agrees
    assert out.data == b"SLICE-DATA" and out.placement is not None and out.placement.skip == 4
    agent.process(frame)
    assert bytes(region.view[96:114]) == bytes(4) + b"SLICE-DATA" + bytes(4)
    agent.process(place(region, 4096 - 3, b"end"))       # exactly up to the last byte
    assert bytes(region.view[-3:]) == b"end"
    agent.process(place(region, 0, b""))                 # an empty slice writes nothing
    s = agent.stats()
    assert (s["placed"], s["placed_bytes"], s["refused_bounds"], s["malformed"]) == (3, 13, 0, 0)


def test_unknown_key_is_refused_and_nothing_written(memory: HostMemory) -> None:
    region = memory.register("key", 4096)
    other = memory.register("other", 4096)
    agent = PlacementAgent(None, memory)
    bogus = (region.mkey ^ 0xFF) or 1
    agent.process(place(region, 0, b"x" * 64, mkey=bogus))
    agent.process(place(region, 0, b"y" * 64, mkey=0))
    # right address range, but the key of another region: bounds are per key
    agent.process(place(region, 0, b"z" * 64, mkey=other.mkey))
    s = agent.stats()
    assert (s["refused_key"], s["refused_bounds"], s["placed"]) == (2, 1, 0)
    assert bytes(region.view) == bytes(4096) and bytes(other.view) == bytes(4096)


@pytest.mark.parametrize("where", ["below", "at_end", "crossing_end", "far_above", "guard_gap"])
def test_addresses_outside_the_region_are_refused(memory: HostMemory, where: str) -> None:
    region = memory.register("bounds", 4096)
    after = memory.register("after", 4096)
    offset, length = {
        "below": (-1, 8),                        # one byte before the region
        "at_end": (4096, 1),                     # one past the last byte
        "crossing_end": (4090, 8),               # starts inside, ends 2 bytes past it
        "far_above": (1 << 40, 8),
        "guard_gap": (after.iova - region.iova - 8, 8),   # between the two regions
    }[where]
    agent = PlacementAgent(None, memory)
    rec = MergePlacement(group=1, stream=0, flags=0, mkey=region.mkey,
                         addr=region.iova + offset, psn=0, frame=0, length=length, skip=0)
    agent.process(rec.to_bytes() + b"\xee" * length)
    s = agent.stats()
    assert (s["refused_bounds"], s["placed"], s["refused_key"]) == (1, 0, 0)
    assert bytes(region.view) == bytes(4096) and bytes(after.view) == bytes(4096)


def test_deregistered_key_is_refused(memory: HostMemory) -> None:
    region = memory.register("gone", 4096)
    agent = PlacementAgent(None, memory)
    frame = place(region, 0, b"late")
    memory.deregister(region)
    agent.process(frame)
    assert agent.stats()["refused_key"] == 1 and agent.stats()["placed"] == 0


def test_overwrites_are_written_and_counted(memory: HostMemory) -> None:
    region = memory.register("over", 4096)
    agent = PlacementAgent(None, memory)
    agent.process(place(region, 1200, b"A" * 16))
    agent.process(place(region, 1200, b"B" * 16, flags=n.MPF_OVERWRITE | n.MPF_MARKER))
    assert bytes(region.view[1200:1216]) == b"B" * 16
    s = agent.stats()
    assert (s["placed"], s["overwrites"], s["placed_bytes"]) == (2, 1, 32)


def test_malformed_and_foreign_frames_are_counted_and_change_nothing(memory: HostMemory) -> None:
    region = memory.register("junk", 4096)
    cq_path = f"/dev/shm/p4nic-test-{tag()}"
    cq = CompletionQueue.create(cq_path, 8)
    try:
        agent = PlacementAgent(None, memory, cq)
        good = place(region, 0, b"D" * 32, skip=b"hh")
        malformed = [
            b"", b"P", b"PN\x06",                                   # runts
            b"XX\x06\x01" + good[4:],                               # bad magic
            good[:2] + b"\x06\x02" + good[4:],                      # unknown version
            good[:2] + b"\x63\x01" + good[4:],                      # unknown type 99
            good[:31],                                              # header cut short
            good[:-1],                                              # skip + length > frame
            completion(region)[:39],                                # completion cut short
            bytes(range(256)) * 4,                                  # garbage
        ]
        foreign = [
            PlacementRecord(flow_id=3, addr=region.iova, seq=1000, length=4).to_bytes() + b"zzzz",
            TimestampRecord(flow_id=2, seq=1, arrival_ts=5, length=100, gap_us=1,
                            flow_packets=1, flow_bytes=100).to_bytes(),
        ]
        for frame in malformed + foreign:
            agent.process(frame)
        agent.process(bytearray(good))                         # still works afterwards
        agent.process(memoryview(good))
        s = agent.stats()
        assert (s["malformed"], s["ignored"], s["placed"], s["completions"]) == \
            (len(malformed), len(foreign), 2, 0)
        assert s["received"] == len(malformed) + len(foreign) + 2
        assert bytes(region.view[:32]) == b"D" * 32 and bytes(region.view[32:]) == bytes(4064)
        assert len(cq) == 0
    finally:
        cq.close()


def test_completions_travel_with_slices_in_the_right_order(memory: HostMemory,
                                                          shm_path: str) -> None:
    """A frame's completion rides behind the placement of its last slice and is
    delivered after the write; an error completion in front of a placement (a
    frame the window passed) is delivered before it."""
    region = memory.register("combined", 4096)
    cq = CompletionQueue.create(shm_path, 16)
    app = CompletionQueue.attach(shm_path)
    try:
        agent = PlacementAgent(None, memory, cq)
        at_delivery: list[tuple[int, bytes]] = []
        agent.on_completion(lambda e: at_delivery.append(
            (e.completion.frame, bytes(region.view[0:4]))))
        err = completion(region, 2048, frame=7, status=n.CQE_MISSING, missing=2)
        ok = completion(region, 0, frame=8)
        frames = [
            place(region, 0, b"AAAA", skip=b"hh", lead=err),                 # err, write
            place(region, 0, b"BBBB", skip=b"hh", completes=ok),             # write, ok
            place(region, 0, b"CCCC", lead=err, completes=ok, trailer=bytes(9)),
            err + bytes(20),                                 # alone, Ethernet padding
        ]
        for frame in frames[:3] + [err]:                     # records.py reads them alike
            out = parse_merge_output(frame)
            assert (out.error is not None, out.completion is not None) == \
                (frame.startswith(err), ok in frame)
        for frame in frames:
            agent.process(frame)
        assert at_delivery == [(7, bytes(4)), (8, b"BBBB"), (7, b"BBBB"), (8, b"CCCC"),
                               (7, b"CCCC")]
        assert [(e.completion.frame, e.completion.status) for e in app.poll()] == \
            [(7, 1), (8, 0), (7, 1), (8, 0), (7, 1)]
        s = agent.stats()
        assert (s["placed"], s["completions"], s["error_completions"], s["malformed"]) == \
            (3, 5, 3, 0)
        # refused writes do not swallow the completions around them
        agent.process(place(region, 4094, b"DDDD", lead=err, completes=ok))
        agent.process(place(region, 0, b"EEEE", mkey=0, completes=ok))
        assert [e.completion.frame for e in app.poll()] == [7, 8, 8]
        assert bytes(region.view[0:4]) == b"CCCC" and bytes(region.view[4090:]) == bytes(6)
        # frames cut short do nothing at all
        before = agent.stats()
        for cut in (place(region, 0, b"FFFF", completes=ok)[:32 + 39],   # completion cut
                    place(region, 0, b"FFFF", completes=ok)[:-1],        # slice cut
                    place(region, 0, b"FFFF", lead=err)[:40 + 31],       # placement cut
                    place(region, 0, b"FFFF", completes=err[:2] + b"\x06" + err[3:])):
            agent.process(cut)
        after = agent.stats()
        assert after["malformed"] == before["malformed"] + 4
        assert after["completions"] == before["completions"] and len(app) == 0
        assert bytes(region.view[0:4]) == b"CCCC"
    finally:
        app.close()
        cq.close()


# ---- completions ---------------------------------------------------------------------------------

def test_completions_reach_queue_and_callbacks_in_order(memory: HostMemory, shm_path: str) -> None:
    region = memory.register("cq", 4096)
    cq = CompletionQueue.create(shm_path, 16)
    app = CompletionQueue.attach(shm_path)
    try:
        agent = PlacementAgent(None, memory, cq, clock=iter(range(1000, 2000)).__next__)
        seen: list[CqEntry] = []
        agent.on_completion(seen.append)
        agent.on_completion(lambda e: 1 / 0)                  # a broken callback is contained
        agent.process(completion(region, 0, frame=0, nic_ts=(1 << 48) - 1,
                                 first_psn=0x81000001))
        agent.process(completion(region, 1024, frame=1, status=n.CQE_MISSING, missing=3))
        agent.process(completion(region, 0, frame=2, mkey=(region.mkey ^ 0xFF) or 1))
        agent.process(completion(region, 4096, frame=3))      # one past the region
        got = app.poll(10)
        assert [e.completion.frame for e in got] == [0, 1, 2, 3]
        assert [e.host_ns for e in got] == [1000, 1001, 1002, 1003]
        first = got[0].completion
        assert (first.nic_ts, first.first_psn, first.addr, first.ok) == \
            ((1 << 48) - 1, 0x81000001, region.iova, True)
        assert got[1].completion.missing == 3 and not got[1].completion.ok
        assert seen == got
        s = agent.stats()
        assert (s["completions"], s["error_completions"], s["completion_unknown_buffer"],
                s["callback_errors"], s["cq_backlog"]) == (4, 1, 2, 4, 0)
        assert app.poll() == [] and app.wait(0.05) == []
    finally:
        app.close()
        cq.close()


def test_full_queue_backlogs_then_drains_in_order(memory: HostMemory, shm_path: str) -> None:
    region = memory.register("backlog", 4096)
    cq = CompletionQueue.create(shm_path, 4)
    app = CompletionQueue.attach(shm_path)
    try:
        agent = PlacementAgent(None, memory, cq, backlog_limit=5)
        for frame in range(11):
            agent.process(completion(region, frame=frame))
        s = agent.stats()
        assert (len(app), s["cq_backlog"], s["cq_backlogged"], s["cq_dropped"]) == (4, 5, 5, 2)
        frames = [e.completion.frame for e in app.poll(2)]
        # a new completion must queue behind the backlog, not jump it
        agent.process(completion(region, frame=11))
        frames += [e.completion.frame for e in app.poll(100)]
        assert agent.backlog == 4
        while agent.backlog:
            assert agent.flush_backlog() > 0
            frames += [e.completion.frame for e in app.poll(100)]
        assert frames == [0, 1, 2, 3, 4, 5, 6, 7, 8, 11], "frames 9 and 10 exceeded the bound"
        assert agent.stats()["cq_dropped"] == 2
    finally:
        app.close()
        cq.close()


def test_rings_refuse_wrong_files_and_wrap_correctly(shm_path: str) -> None:
    with pytest.raises(RingError):
        ShmRing.create(shm_path, 8, 6)
    ring = ShmRing.create(shm_path, 8, 4)
    try:
        with pytest.raises(RingError):
            CompletionQueue.attach(shm_path)                 # a generic ring, not a CQ
        with pytest.raises(RingError):
            RecycleQueue.attach(shm_path)
        out = []
        for i in range(1000):                               # many laps of a 4-entry ring
            assert ring.push(i.to_bytes(8, "little"))
            if i % 3 == 2:
                out += ring.pop(3)
        out += ring.pop(10)
        assert [int.from_bytes(b, "little") for b in out] == list(range(1000))
        for _ in range(4):
            assert ring.push(bytes(8))
        assert not ring.push(bytes(8)) and ring.free == 0
    finally:
        ring.close()
    assert not os.path.exists(shm_path)
    with pytest.raises(FileNotFoundError):
        CompletionQueue.attach(shm_path)


# ---- buffers --------------------------------------------------------------------------------------

def test_buffer_ring_hands_out_each_buffer_once(memory: HostMemory, shm_path: str) -> None:
    region = memory.register("bufs", 10_000)
    ring = BufferRing(region, 3000, 3)
    with pytest.raises(HostMemoryError):
        BufferRing(region, 3000, 4)
    taken = [ring.take() for _ in range(3)]
    assert taken == [(0, region.iova), (1, region.iova + 3000), (2, region.iova + 6000)]
    assert ring.take() is None and ring.in_use == 3
    for bad in (region.iova + 1, region.iova - 3000, region.iova + 9000, 0):
        with pytest.raises(HostMemoryError):
            ring.give_back(bad)
    assert ring.give_back(region.iova + 3000) == 1
    with pytest.raises(HostMemoryError):
        ring.give_back(region.iova + 3000)                   # twice
    assert ring.take() == (1, region.iova + 3000)
    recycle = RecycleQueue.create(shm_path, 8)
    app = RecycleQueue.attach(shm_path)
    try:
        assert app.give_back(1, 7, region.iova + 6000)
        assert app.give_back(1, 8, region.iova + 6000)       # a double give-back by the app
        assert app.give_back(1, 9, region.iova + 17)         # not a buffer start
        assert ring.reclaim(recycle) == (1, 2)
        assert ring.free == 1 and ring.take() == (2, region.iova + 6000)
        ring.view(2)[:4] = b"abcd"
        assert bytes(region.view[6000:6004]) == b"abcd"
    finally:
        app.close()
        recycle.close()


APP = textwrap.dedent(r"""
    import json, sys
    from p4nic.hostmem import MemoryRegion
    from p4nic.shmring import CompletionQueue, RecycleQueue
    region = MemoryRegion.attach(sys.argv[1])
    cq = CompletionQueue.attach(sys.argv[2])
    rq = RecycleQueue.attach(sys.argv[3])
    frames, bad = [], []
    while len(frames) < int(sys.argv[4]):
        got = cq.wait(timeout=20)
        if not got:
            break
        for e in got:
            c = e.completion
            data = bytes(region.read(c.addr, c.slices * 100))
            if data != bytes([c.frame % 251]) * len(data):
                bad.append(c.frame)
            frames.append(c.frame)
            while not rq.give_back(c.group, c.frame, c.addr):
                pass
    print(json.dumps({"frames": frames, "bad": bad}))
""")


def test_completions_and_buffers_cycle_through_another_process(
        memory: HostMemory, shm_path: str) -> None:
    """The agent (here, fed by the test as the NIC) fills 4 frame buffers over and over;
    an application process attached by path checks each frame's bytes when its
    completion arrives and gives the buffer back, which the driver side reuses."""
    frames, slices = 300, 4
    region = memory.register("cycle", 4 * slices * 100)
    buffers = BufferRing(region, slices * 100, 4)
    cq = CompletionQueue.create(shm_path, 2)                  # tiny: exercises the backlog
    rq = RecycleQueue.create(shm_path + "-rq", 8)
    app = subprocess.Popen([sys.executable, "-c", APP, region.path, cq.path, rq.path,
                            str(frames)], stdout=subprocess.PIPE, text=True)
    try:
        agent = PlacementAgent(None, memory, cq)
        deadline = time.monotonic() + 60
        for frame in range(frames):
            while (got := buffers.take()) is None:
                assert time.monotonic() < deadline, "the application never gave buffers back"
                buffers.reclaim(rq)
                agent.flush_backlog()
            _, addr = got
            done = completion(region, addr - region.iova, frame=frame,
                              first_psn=frame * slices)
            for s in reversed(range(slices)):                # any order within a frame
                agent.process(place(region, addr - region.iova + s * 100,
                                    bytes([frame % 251]) * 100, psn=frame * slices + s,
                                    frame=frame, completes=done if s == 0 else b""))
        while agent.backlog:
            assert time.monotonic() < deadline
            agent.flush_backlog()
        out, _ = app.communicate(timeout=60)
        result = json.loads(out)
        assert result == {"frames": list(range(frames)), "bad": []}
        assert agent.stats()["placed"] == frames * slices and agent.stats()["cq_dropped"] == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        rq.close()
        cq.close()


# ---- a real interface ----------------------------------------------------------------------------

SENDER = r"""
import socket, sys
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
tx.bind((sys.argv[1], 0))
for line in sys.stdin:
    tx.send(bytes.fromhex(line.strip()))
"""


def _wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def test_agent_reads_records_from_a_veth_pair(memory: HostMemory, shm_path: str) -> None:
    need_root()
    ns = f"p4nic-pl-{tag()[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    agent = None
    cq = None
    try:
        ex = ["ip", "netns", "exec", ns]
        subprocess.run(ex + ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                             "net.ipv6.conf.default.disable_ipv6=1"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "add", "pla", "type", "veth", "peer", "name",
                        "plb"], check=True)
        for dev in ("pla", "plb"):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        region = memory.register("veth", 64 * 1200)
        cq = CompletionQueue.create(shm_path, 64)
        agent = PlacementAgent("plb", memory, cq, netns=ns)
        agent.start()
        slices = [bytes([i]) * 1200 for i in range(64)]
        frames = [place(region, i * 1200, slices[i], skip=b"\x00\x10", psn=i, frame=i // 16)
                  for i in reversed(range(64))]
        frames += [
            completion(region, 0, frame=0, first_psn=0x81000000),    # bytes 12-13 read 0x8100
            place(region, 0, slices[0], completes=completion(region, 0, frame=1), lead=completion(
                region, 16 * 1200, frame=2, status=n.CQE_MISSING, missing=1)),
            place(region, 0, b"no", mkey=(region.mkey ^ 0xFF) or 1),
            place(region, 64 * 1200 - 1, b"xx"),
            b"\xff" * 60,                                           # not a record
        ]
        done = subprocess.run(ex + [sys.executable, "-c", SENDER, "pla"],
                              input="".join(f.hex() + "\n" for f in frames), text=True,
                              timeout=60, capture_output=True)
        assert done.returncode == 0, done.stderr
        assert _wait_for(lambda: agent.stats()["received"] >= len(frames)), agent.stats()
        time.sleep(0.2)
        s = agent.stats()
        assert (s["received"], s["placed"], s["placed_bytes"], s["refused_key"],
                s["refused_bounds"], s["malformed"], s["completions"], s["kernel_drops"]) == \
            (len(frames), 65, 65 * 1200, 1, 1, 1, 3, 0)
        assert bytes(region.view) == b"".join(slices)
        got = cq.wait(5)
        assert [e.completion.frame for e in got] == [0, 2, 1]
        assert got[0].completion.first_psn == 0x81000000, "VLAN-looking record read back whole"
        assert got[0].completion.addr == region.iova and got[1].completion.missing == 1
        assert abs(got[0].host_ns - time.time_ns()) < 60e9
    finally:
        if agent is not None:
            agent.stop()
        if cq is not None:
            cq.close()
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_entry_sizes() -> None:
    assert CQ_ENTRY_SIZE == 48 and RecycleQueue.ENTRY_SIZE == 16
