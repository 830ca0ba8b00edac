"""Redundant-stream merge with direct placement (seed 000).

Two or three RTP streams carry the same slices; the NIC maps each stream's
sequence numbers into its group's extended PSN space, drops duplicates with a
PSN window (or writes them again in overwrite mode), drops late packets,
resynchronises on jumps, and turns every first copy into a placement record:
slice + host address A + (PSN - X) * B of the frame's work item. When a
frame's last slice lands it adds a completion record; when the window has
moved past a frame with slices missing on every stream it adds an error
completion.

Every expected output is computed by ``MergeModel`` below, written from the
seed and the README rather than from the P4 or the driver, and compared byte
for byte (only the NIC timestamp of completions is masked). The records are
then handed to the host-memory placement agent, and every frame whose slices
each arrived on at least one stream must be byte-exact in host memory.

All streams of a scenario enter on one wire port (told apart by source
address), so the switch sees them in the order sent; the wire-port test sends
one packet at a time and waits for its outcome.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

import ptf.testutils as tu
from base_test import (
    HOST_STACK,
    NIC_IP,
    NIC_IP6,
    NIC_MAC,
    PEER_MAC,
    PLACEMENT,
    WAIT,
    WIRE0,
    WIRE1,
    P4nicTest,
    hexdiff,
    u48,
)
from p4nic.merge import MergeGroup, MergeStream
from ptf.mask import Mask
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

# p4nic_merge_place_t / p4nic_completion_t (p4src/include/headers.p4), big-endian
PLACE_FMT = "!HBBHBBIQIIHH"          # 32 bytes
CQE_FMT = "!HBBHBBIIHHIQ6sH"         # 40 bytes
CQE_TS = (32, 6)
MAGIC, VERSION, PT_MERGE_PLACE, PT_COMPLETION = 0x504E, 1, 6, 7
MPF_OVERWRITE, MPF_MARKER, MPF_JUMP, MPF_COMPLETES = 1, 2, 4, 8
CQE_LEN, PLACE_LEN = 40, 32
DPORT = 5004
SRCS = ("10.0.1.2", "10.0.2.2", "10.0.3.2")


def cqe_bytes(group: int, status: int, stream: int, frame: int, first: int, slices: int,
              missing: int, mkey: int, addr: int, marker: int = 0) -> bytes:
    return struct.pack(CQE_FMT, MAGIC, PT_COMPLETION, VERSION, group, status, stream, frame,
                       first, slices, missing, mkey, addr, u48(0), marker)


def slice_data(psn: int, size: int) -> bytes:
    """The slice with PSN ``psn``: distinct for every PSN."""
    seed = struct.pack("!I", psn & 0xFFFFFFFF)
    return bytes(seed[i % 4] ^ ((i * 37 + (psn >> 3)) & 0xFF) for i in range(size))


def rtp_frame(src: str, seq: int, payload: bytes, marker: bool = False, ipv6: bool = False,
              sport: int = 40000) -> bytes:
    rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 96, seq & 0xFFFF,
                      90000, 0x11223344)
    ip = IPv6(src=src, dst=NIC_IP6) if ipv6 else IP(src=src, dst=NIC_IP, id=seq & 0xFFFF)
    return bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / ip / UDP(sport=sport, dport=DPORT)
                 / Raw(rtp + payload))


@dataclass
class Sent:
    """One packet of a scenario: on which stream, its RTP sequence number, the
    PSN its slice belongs to (what the sender meant), and its UDP payload after RTP."""
    stream: int
    seq: int
    psn: int
    after_rtp: bytes
    marker: bool = False
    esn: int | None = None


@dataclass
class MergeModel:
    """What the seed says the NIC does, for one group (independent of the P4)."""
    group: int
    first_psn: int
    slices: int
    size: int
    skip: int
    window: int
    max_jump: int
    overwrite: bool
    offsets: dict[int, int]                   # stream -> PSN offset
    frames: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # n -> tag, mkey, base
    expiry: int = 1
    esn: bool = False
    cyclic: bool = False              # ring of ring_slices slices; frames = chunks of `slices`
    ring: tuple[int, int, int] = (0, 0, 0)   # ring slices, mkey, base
    generation: int = 0
    markers: dict[int, int] = field(default_factory=dict)    # frame -> 1 + marker offset
    head: int | None = None
    seen: set[int] = field(default_factory=set)
    placed: dict[int, int] = field(default_factory=dict)
    reported: set[int] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("placed", "duplicates", "late", "wrong_size", "no_buffer", "jumps", "completions",
         "error_completions"), 0))
    memory: dict[int, bytes] = field(default_factory=dict)   # psn -> slice the host must hold

    def extend(self, stream: int, seq: int, esn: int | None) -> int:
        if self.esn:
            return ((esn << 16 | seq) + self.offsets[stream]) & 0xFFFFFFFF
        ref = self.first_psn - 1 if self.head is None else self.head
        lo = (seq + self.offsets[stream]) & 0xFFFF
        d = (lo - ref) & 0xFFFF
        return (ref + d if d < 0x8000 else ref - (0x10000 - d)) & 0xFFFFFFFF

    def frame_of(self, psn: int) -> int | None:
        rel = (psn - self.first_psn) & 0xFFFFFFFF
        if rel >= 1 << 31:
            return None
        n = rel // self.slices
        if self.cyclic:
            self.chunk(n)
        return n if n in self.frames else None

    def chunk(self, n: int) -> None:
        """Cyclic mode: chunk n's tag, the ring's key and the chunk's place in the ring."""
        ring_slices, mkey, base = self.ring
        self.frames[n] = (((self.generation & 0xFF) << 24) | (n & 0xFFFFFF), mkey,
                          base + (n * self.slices) % ring_slices * self.size)

    def packet(self, p: Sent) -> list[bytes]:
        """The record frame the placement port gets for one received packet (none when
        the packet is dropped): [error completion] [placement [completion] payload]."""
        psn = self.extend(p.stream, p.seq, p.esn)
        ref = self.first_psn - 1 if self.head is None else self.head
        ahead = (psn - ref) & 0xFFFFFFFF
        newer = ahead != 0 and ahead < 1 << 31
        flags = MPF_MARKER if p.marker else 0
        if not newer and (ref - psn) & 0xFFFFFFFF >= self.window:
            self.head = ref
            self.counts["late"] += 1
            return []
        if newer:
            if ahead > self.max_jump:
                self.counts["jumps"] += 1
                flags |= MPF_JUMP
            ref = psn
        self.head = ref
        n = self.frame_of(psn)
        if n is None:
            self.counts["no_buffer"] += 1
            return []
        tag, mkey, base = self.frames[n]
        err = ok = b""
        first = psn not in self.seen
        self.seen.add(psn)
        exp = n - self.expiry
        if self.cyclic and exp >= 0:
            self.chunk(exp)
        if exp in self.frames and exp not in self.reported:
            self.reported.add(exp)
            etag, emkey, ebase = self.frames[exp]
            err = cqe_bytes(self.group, 1, 0xFF, etag, self.first_psn + exp * self.slices,
                            self.slices, self.slices - self.placed.get(exp, 0), emkey, ebase,
                            self.markers.get(exp, 0))
            self.counts["error_completions"] += 1
        addr = base + (psn - (self.first_psn + n * self.slices)) * self.size
        if first:
            self.counts["placed"] += 1
            self.placed[n] = self.placed.get(n, 0) + 1
            if p.marker:
                off = psn - (self.first_psn + n * self.slices) + 1
                self.markers[n] = max(self.markers.get(n, 0), off)
            if self.placed[n] == self.slices and n not in self.reported:
                self.reported.add(n)
                ok = cqe_bytes(self.group, 0, p.stream, tag, self.first_psn + n * self.slices,
                               self.slices, 0, mkey, base, self.markers.get(n, 0))
                self.counts["completions"] += 1
                flags |= MPF_COMPLETES
        else:
            self.counts["duplicates"] += 1
        if not (first or self.overwrite):
            return [err] if err else []
        self.memory[psn] = p.after_rtp[self.skip:self.skip + self.size]
        head = struct.pack(PLACE_FMT, MAGIC, PT_MERGE_PLACE, VERSION, self.group, p.stream,
                           flags | (0 if first else MPF_OVERWRITE), mkey, addr, psn, tag,
                           self.size, self.skip)
        return [err + head + ok + p.after_rtp[:self.skip + self.size]]


class MergeTest(P4nicTest):
    """Helpers: a group with its streams and work items, a scenario runner."""

    _next_group = 1

    def setUp(self) -> None:
        super().setUp()
        self.mm = self.drv.merge
        self.group = MergeTest._next_group % 64
        MergeTest._next_group += 1

    def make_group(self, streams: int = 2, slices: int = 8, size: int = 64, skip: int = 0,
                   first_psn: int = 1000, window: int = 32, max_jump: int = 4096,
                   mode: str = "drop", offsets: dict[int, int] | None = None, frames: int = 8,
                   esn: bool = False, in_ports: bool = False, ipv6: bool = False,
                   srcs: tuple[str, ...] = SRCS, ring_slices: int = 0) -> MergeModel:
        offsets = offsets or {}
        self.base = 0x1000_0000 + self.group * 0x100_0000
        self.mkey = 0x4B00 + self.group
        ring = {"cyclic": True, "ring_slices": ring_slices, "ring_mkey": self.mkey,
                "ring_base": self.base} if ring_slices else {}
        cfg = self.mm.create_group(MergeGroup(
            group=self.group, slice_size=size, slices_per_frame=slices, header_size=12 + skip,
            first_psn=first_psn, window=window, max_jump=max_jump, mode=mode, esn=esn, **ring))
        for s in range(streams):
            if in_ports:
                st = MergeStream(group=self.group, stream=s, dst=NIC_IP, dport=DPORT,
                                 in_port=(WIRE0, WIRE1)[s], psn_offset=offsets.get(s, 0))
            else:
                st = MergeStream(group=self.group, stream=s,
                                 dst=NIC_IP6 if ipv6 else NIC_IP, dport=DPORT,
                                 src=srcs[s], psn_offset=offsets.get(s, 0))
            self.mm.add_stream(st)
        model = MergeModel(self.group, first_psn, slices, size, skip, window, max_jump,
                           mode == "overwrite", {s: offsets.get(s, 0) for s in range(streams)},
                           expiry=cfg.expiry_distance, esn=esn, cyclic=bool(ring_slices),
                           ring=(ring_slices, self.mkey, self.base), generation=cfg.generation)
        self.frame_bytes = slices * size
        for n in range(0 if ring_slices else frames):
            self.post(model, n)
        return model

    def post(self, model: MergeModel, n: int) -> None:
        pf = self.mm.post_frame(self.group, n, self.mkey, self.base + n * self.frame_bytes)
        model.frames[n] = (pf.tag, pf.mkey, pf.buf_base)

    def packet_for(self, model: MergeModel, stream: int, psn: int, marker: bool = False,
                   ipv6: bool = False, skip_bytes: bytes | None = None) -> tuple[Sent, bytes]:
        """The packet of ``stream`` carrying the slice of group PSN ``psn``."""
        seq = (psn - model.offsets[stream]) & (0xFFFFFFFF if model.esn else 0xFFFF)
        head = b""
        esn = None
        if model.esn:
            esn, seq = seq >> 16, seq & 0xFFFF
            head = struct.pack("!H", esn)
        skip = model.skip - len(head)
        head += bytes((0xA0 + i) & 0xFF for i in range(skip)) if skip_bytes is None else skip_bytes
        after = head + slice_data(psn, model.size)
        sent = Sent(stream, seq, psn, after, marker, esn)
        src = ("2001:db8:1::2", "2001:db8:2::2", "2001:db8:3::2")[stream] if ipv6 \
            else SRCS[stream]
        return sent, rtp_frame(src, seq, after, marker, ipv6)

    def run_scenario(self, model: MergeModel, packets: list[tuple[Sent, bytes]],
                     port: int = WIRE0) -> list[bytes]:
        """Send every packet on ``port``; check every record on the placement port."""
        expected: list[bytes] = []
        for sent, frame in packets:
            expected.extend(model.packet(sent))
            self.send(port, frame)
        got = [self.expect_record(e, i) for i, e in enumerate(expected)]
        self.no_packet_on(PLACEMENT)
        self.no_packet_on(HOST_STACK)
        return got

    def expect_record(self, expected: bytes, i: int) -> bytes:
        m = Mask(expected)
        off = 0
        # mask the NIC time of each completion: [error] [placement [completion] payload]
        if expected[2] == PT_COMPLETION:
            m.set_do_not_care(CQE_TS[0] * 8, CQE_TS[1] * 8)
            off = CQE_LEN
        if off < len(expected) and expected[off + 7] & MPF_COMPLETES:
            m.set_do_not_care((off + PLACE_LEN + CQE_TS[0]) * 8, CQE_TS[1] * 8)
        res = tu.dp_poll(self, device_number=0, port_number=PLACEMENT, timeout=WAIT)
        if isinstance(res, self.dataplane.PollFailure):
            self.fail(f"record {i}: nothing arrived on the placement port\n"
                      + hexdiff(expected, b""))
        got = bytes(res.packet)
        if not m.pkt_match(got):
            self.fail(f"record {i} differs from the model\n" + hexdiff(expected, got, m.mask))
        return got

    def check_counters(self, model: MergeModel) -> None:
        want = model.counts
        got = self._wait_value(lambda: self.mm.counters(self.group),
                               lambda c: c == want)
        self.assertEqual(got, want, "merge counters")

    def check_memory(self, model: MergeModel, records: list[bytes]) -> dict[int, bytes]:
        """Hand the records to a host-memory image (what the placement agent does) and
        check that every frame whose slices all arrived somewhere is byte-exact."""
        from p4nic.records import parse_merge_output
        mem = bytearray(len(model.frames) * self.frame_bytes + 64)
        completions = {}
        for r in records:
            out = parse_merge_output(r)
            if out.placement is not None:
                rec = out.placement
                self.assertEqual(rec.mkey, self.mkey)
                off = rec.addr - self.base
                self.assertTrue(0 <= off and off + rec.length <= len(mem), "address in buffer")
                mem[off:off + rec.length] = out.data
            for c in (out.error, out.completion):
                if c is not None:
                    self.assertNotIn(c.frame, completions, "one completion per frame")
                    completions[c.frame] = c
        for n, (tag, _mkey, base) in model.frames.items():
            first = model.first_psn + n * model.slices
            want = [model.memory.get(first + i) for i in range(model.slices)]
            if all(w is not None for w in want):
                off = base - self.base
                self.assertEqual(bytes(mem[off:off + self.frame_bytes]), b"".join(want),
                                 f"frame {n} in host memory")
                self.assertIn(tag, completions, f"frame {n} complete but no completion")
                self.assertTrue(completions[tag].ok, f"frame {n}: completion status")
            elif tag in completions:
                c = completions[tag]
                self.assertFalse(c.ok, f"frame {n} has holes but a normal completion")
                self.assertEqual(c.missing, sum(w is None for w in want),
                                 f"frame {n}: missing slices in its error completion")
        return completions


def impaired(tc: MergeTest, model: MergeModel, streams: int, psns: list[int], rng: random.Random,
             loss: float, dup: float, reorder: int, lose_everywhere: set[int] = frozenset(),
             markers: set[int] | None = None) -> list[tuple[Sent, bytes]]:
    """Each stream's packets with independent loss, duplication and local reordering
    (a packet moves up to ``reorder`` places), streams interleaved; a PSN is kept on
    at least one stream unless it is in ``lose_everywhere``. The RTP marker is on the
    last slice of each frame, or on the PSNs in ``markers``."""
    per_stream: list[list[tuple[Sent, bytes]]] = [[] for _ in range(streams)]
    for psn in psns:
        if psn in lose_everywhere:
            continue
        keep = [rng.random() >= loss for _ in range(streams)]
        if not any(keep):
            keep[rng.randrange(streams)] = True
        for s in range(streams):
            if keep[s]:
                last = (psn - model.first_psn) % model.slices == model.slices - 1
                pkt = tc.packet_for(model, s, psn,
                                    marker=psn in markers if markers is not None else last)
                per_stream[s].append(pkt)
                if rng.random() < dup:
                    per_stream[s].append(pkt)
    for lst in per_stream:
        for i in range(len(lst)):
            j = min(len(lst) - 1, i + rng.randrange(reorder + 1))
            lst[i], lst[j] = lst[j], lst[i]
    out = []
    iters = [iter(lst) for lst in per_stream]
    live = list(range(streams))
    while live:
        s = rng.choice(live)
        try:
            out.append(next(iters[s]))
        except StopIteration:
            live.remove(s)
    return out


class TwoStreamsLossReorderDuplicates(MergeTest):
    """2 streams, 5% loss + duplicates + reordering each: every frame byte-exact, one
    completion per frame, exact counters."""

    def runTest(self) -> None:
        model = self.make_group(streams=2, frames=8)
        rng = random.Random(7)
        psns = list(range(1000, 1000 + 8 * 8))
        got = self.run_scenario(model, impaired(self, model, 2, psns, rng, 0.05, 0.05, 3))
        completions = self.check_memory(model, got)
        self.assertEqual(len(completions), 8)
        self.check_counters(model)


class ThreeStreamsWithOffsets(MergeTest):
    """3 streams, each starting at its own RTP sequence number (PSN offsets), heavy
    loss per stream: still every slice once."""

    def runTest(self) -> None:
        model = self.make_group(streams=3, frames=6, offsets={0: 0, 1: 5000, 2: 0xFFF0})
        rng = random.Random(11)
        psns = list(range(1000, 1000 + 6 * 8))
        got = self.run_scenario(model, impaired(self, model, 3, psns, rng, 0.3, 0.1, 4))
        self.assertEqual(len(self.check_memory(model, got)), 6)
        self.check_counters(model)


class SequenceWrap(MergeTest):
    """Frames across the 16-bit RTP wrap: PSNs keep counting past 65535."""

    def runTest(self) -> None:
        first = 65536 - 20
        model = self.make_group(streams=2, frames=5, first_psn=first)
        rng = random.Random(3)
        psns = list(range(first, first + 5 * 8))
        got = self.run_scenario(model, impaired(self, model, 2, psns, rng, 0.1, 0.0, 2))
        self.assertEqual(len(self.check_memory(model, got)), 5)
        self.assertGreater(max(model.seen), 0xFFFF)
        self.check_counters(model)


class LostEverywhereGivesErrorCompletion(MergeTest):
    """A slice lost on both streams: the frame gets an error completion with the count
    of missing slices once the window has passed it (never a normal completion); a
    frame of which nothing arrived is reported too."""

    def runTest(self) -> None:
        model = self.make_group(streams=2, frames=12, window=16)   # expiry 3 frames later
        rng = random.Random(5)
        psns = list(range(1000, 1000 + 12 * 8))
        lost = {1003, 1017, 1018} | set(range(1032, 1040))   # frames 0, 2 and all of 4
        got = self.run_scenario(model, impaired(self, model, 2, psns, rng, 0.05, 0.0, 2,
                                                lose_everywhere=lost))
        completions = self.check_memory(model, got)
        errors = {t: c for t, c in completions.items() if not c.ok}
        self.assertEqual(sorted(c.missing for c in errors.values()), [1, 2, 8])
        self.check_counters(model)


class LateAndJump(MergeTest):
    """A PSN behind the window is dropped and counted as late; one far ahead
    resynchronises the group (counted, flagged in its record)."""

    def runTest(self) -> None:
        model = self.make_group(streams=2, frames=40, window=16, max_jump=100)
        pk = []
        for psn in range(1000, 1040):
            pk.append(self.packet_for(model, 0, psn))
        pk.append(self.packet_for(model, 1, 1010))    # 29 behind the head: late
        pk.append(self.packet_for(model, 1, 1030))    # in the window: duplicate
        pk.append(self.packet_for(model, 0, 1200))    # 160 ahead: jump
        pk.append(self.packet_for(model, 1, 1201))
        pk.append(self.packet_for(model, 1, 1039))    # now behind the window: late
        self.run_scenario(model, pk)
        self.assertEqual((model.counts["late"], model.counts["jumps"]), (2, 1))
        self.check_counters(model)


class OverwriteMode(MergeTest):
    """Mode overwrite: a duplicate is placed again over the same bytes (flagged),
    never counted towards completion."""

    def runTest(self) -> None:
        model = self.make_group(streams=2, frames=3, mode="overwrite")
        pk = []
        for psn in range(1000, 1024):
            pk.append(self.packet_for(model, 0, psn))
            pk.append(self.packet_for(model, 1, psn))
        got = self.run_scenario(model, pk)
        self.assertEqual(sum(1 for r in got if r[2] == PT_MERGE_PLACE and r[7] & MPF_OVERWRITE),
                         24, "every second copy written again")
        self.assertEqual(len(self.check_memory(model, got)), 3)
        self.check_counters(model)


class WrongSizeToHostStack(MergeTest):
    """A payload of the wrong size is not placed: counted, and delivered to the host
    stack unchanged."""

    def runTest(self) -> None:
        model = self.make_group(streams=1, frames=1)
        sent, frame = self.packet_for(model, 0, 1000)
        short = rtp_frame(SRCS[0], sent.seq, sent.after_rtp[:-1])
        self.send(WIRE0, short)
        self.expect_unchanged(HOST_STACK, short)
        model.counts["wrong_size"] += 1
        self.run_scenario(model, [(sent, frame)])
        self.check_counters(model)


class NoBufferThenPosted(MergeTest):
    """A PSN no work item covers is dropped (counted) and stays unseen, so a copy that
    arrives after the driver posted the buffer is placed."""

    def runTest(self) -> None:
        model = self.make_group(streams=2, frames=1)
        early = [self.packet_for(model, 0, psn) for psn in range(1008, 1016)]
        self.run_scenario(model, [self.packet_for(model, 0, p) for p in range(1000, 1008)]
                          + early)
        self.post(model, 1)
        got = self.run_scenario(model, [self.packet_for(model, 1, p) for p in range(1008, 1016)])
        self.assertEqual(model.counts["no_buffer"], 8)
        self.assertEqual(sum(1 for r in got if r[7] & MPF_COMPLETES), 1)
        self.check_counters(model)


class ExtendedSequenceNumbers(MergeTest):
    """RFC 4175: the high 16 bits of a 32-bit PSN follow the RTP header; a payload
    header after them is skipped, not placed."""

    def runTest(self) -> None:
        first = 0x0003FFF8
        model = self.make_group(streams=2, frames=3, first_psn=first, skip=6, esn=True)
        rng = random.Random(9)
        got = self.run_scenario(model, impaired(self, model, 2, list(range(first, first + 24)),
                                                rng, 0.1, 0.1, 2))
        self.assertEqual(len(self.check_memory(model, got)), 3)
        self.check_counters(model)


class Ipv6Streams(MergeTest):
    """Streams to an IPv6 destination."""

    def runTest(self) -> None:
        model = self.make_group(streams=2, frames=2, ipv6=True,
                                srcs=("2001:db8:1::2", "2001:db8:2::2"))
        rng = random.Random(13)
        pk = []
        for psn in range(1000, 1016):
            for s in range(2):
                if rng.random() > 0.3 or s == 1:
                    pk.append(self.packet_for(model, s, psn, ipv6=True))
        got = self.run_scenario(model, pk)
        self.assertEqual(len(self.check_memory(model, got)), 2)
        self.check_counters(model)


class StreamsByWirePort(MergeTest):
    """The redundant streams arrive on the two wire ports with identical headers
    (SMPTE 2022-7 over two networks); the ingress port tells them apart."""

    def runTest(self) -> None:
        model = self.make_group(streams=2, frames=2, in_ports=True)
        got = []
        rng = random.Random(17)
        for psn in range(1000, 1016):
            for s in (0, 1):
                if s == 0 and rng.random() < 0.3:
                    continue
                sent, frame = self.packet_for(model, s, psn)
                # same source on both networks: rebuild from the stream 0 address
                frame = rtp_frame(SRCS[0], sent.seq, sent.after_rtp)
                want = model.packet(sent)
                self.send((WIRE0, WIRE1)[s], frame)
                got += [self.expect_record(e, i) for i, e in enumerate(want)]
                if not want:   # a dropped duplicate: wait until the NIC counted it
                    self._wait_value(lambda: self.mm.counters(self.group)["duplicates"],
                                     lambda v: v >= model.counts["duplicates"])
        self.no_packet_on(PLACEMENT)
        self.assertEqual(len(self.check_memory(model, got)), 2)
        self.check_counters(model)


def apply_records(records: list[bytes], base: int, size: int) -> tuple[bytearray, list]:
    """Host memory after the placement agent's writes (an image of ``size`` bytes at bus
    address ``base``), and the completions in order."""
    from p4nic.records import parse_merge_output
    mem = bytearray(size)
    completions = []
    for r in records:
        out = parse_merge_output(r)
        if out.placement is not None:
            off = out.placement.addr - base
            assert 0 <= off and off + out.placement.length <= size, "write inside the ring"
            mem[off:off + out.placement.length] = out.data
        completions += [c for c in (out.error, out.completion) if c is not None]
    return mem, completions


class CyclicBufferMarkerFrames(MergeTest):
    """Cyclic buffer (seed [0040]) with marker-delimited frames of different packet
    counts: no work items; each slice lands at its PSN's place in the ring;
    completions per chunk of 4 slices say where the RTP marker fell; the frames cut
    out of the ring at the markers (frames_in_ring) are byte-exact."""

    def runTest(self) -> None:
        from p4nic.merge import frames_in_ring
        sizes = [9, 12, 8, 14, 10, 11, 8]
        model = self.make_group(streams=2, slices=4, window=16, ring_slices=128)
        ends, start = [], 1000
        for n in sizes:
            start += n
            ends.append(start - 1)
        rng = random.Random(23)
        psns = list(range(1000, 1000 + sum(sizes)))
        got = self.run_scenario(model, impaired(self, model, 2, psns, rng, 0.1, 0.05, 2,
                                                markers=set(ends)))
        mem, completions = apply_records(got, self.base, 128 * 64)
        self.assertTrue(all(c.ok for c in completions), "every chunk arrived somewhere")
        frames = frames_in_ring([(c.first_psn, c.slices, c.ok, c.marker) for c in completions],
                                1000)
        want, start = [], 1000
        for end in ends:
            want.append((start, end))
            start = end + 1
        self.assertEqual([(f.first_psn, f.last_psn) for f in frames], want)
        for f in frames:
            self.assertTrue(f.complete)
            data = mem[(f.first_psn - 1000) * 64:(f.last_psn + 1 - 1000) * 64]
            self.assertEqual(bytes(data), b"".join(slice_data(p, 64)
                                                   for p in range(f.first_psn, f.last_psn + 1)),
                             f"frame {f.first_psn}..{f.last_psn} in the ring")
        self.check_counters(model)


class CyclicRingWraps(MergeTest):
    """A ring of 16 slices used three times over: PSN p lands at (p - X) mod 16; a slice
    lost on both paths gives its chunk an error completion once the window passed it;
    the ring ends up holding the last 16 slices."""

    def runTest(self) -> None:
        model = self.make_group(streams=2, slices=4, window=8, ring_slices=16)
        rng = random.Random(29)
        psns = list(range(1000, 1048))
        got = self.run_scenario(model, impaired(self, model, 2, psns, rng, 0.1, 0.0, 2,
                                                lose_everywhere={1013}))
        mem, completions = apply_records(got, self.base, 16 * 64)
        errors = [c for c in completions if not c.ok]
        self.assertIn((1012, 1), [(c.first_psn, c.missing) for c in errors])
        self.assertEqual(len(completions), model.counts["completions"]
                         + model.counts["error_completions"])
        self.assertGreaterEqual(model.counts["completions"], 9)
        self.assertTrue(all(self.base <= c.addr < self.base + 16 * 64 for c in completions))
        # each ring slot holds the newest slice placed there
        newest: dict[int, int] = {}
        for p in model.memory:
            slot = (p - 1000) % 16
            newest[slot] = max(newest.get(slot, p), p)
        self.assertEqual(sorted(newest), list(range(16)))
        self.assertGreaterEqual(min(newest.values()), 1032 - 16)
        self.assertEqual(bytes(mem), b"".join(slice_data(newest[i], 64) for i in range(16)))
        self.check_counters(model)


class TwoGroupsAtOnce(MergeTest):
    """Two merge groups (two videos to two UDP ports) interleaved on the wire: each keeps
    its own PSN space, window, work items and counters."""

    def runTest(self) -> None:
        first = self.make_group(streams=2, frames=2)
        first_group, first_base = self.group, self.base
        self.group = MergeTest._next_group % 64
        MergeTest._next_group += 1
        global DPORT
        saved = DPORT
        DPORT = 5006
        try:
            second = self.make_group(streams=2, frames=2, first_psn=40000)
            rng = random.Random(31)
            a = impaired(self, second, 2, list(range(40000, 40016)), rng, 0.1, 0.1, 2)
        finally:
            DPORT = saved
        self.group, self.base = first_group, first_base
        b = impaired(self, first, 2, list(range(1000, 1016)), rng, 0.1, 0.1, 2)
        expected: list[bytes] = []
        for i in range(max(len(a), len(b))):
            for model, pk in ((second, a), (first, b)):
                if i < len(pk):
                    expected.extend(model.packet(pk[i][0]))
                    self.send(WIRE0, pk[i][1])
        for i, e in enumerate(expected):
            self.expect_record(e, i)
        self.no_packet_on(PLACEMENT)
        for model in (first, second):
            self.group = model.group
            self.check_counters(model)
