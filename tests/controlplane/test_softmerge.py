"""Software merge baseline: the PSN math (the P4's reference model) and whole
merges of 2 and 3 redundant streams with loss, reordering, duplicates and
16-bit wrap, checked byte for byte against the frames that were sent."""

from __future__ import annotations

import random
import struct

import pytest
from p4nic.p4names import CQE_MISSING, CQE_OK
from p4nic.softmerge import (
    BEFORE_START,
    DUPLICATE,
    LATE,
    MALFORMED,
    PLACED,
    WIN_AHEAD,
    WIN_BEHIND,
    WIN_INSIDE,
    FrameDone,
    MergeConfig,
    SoftMerge,
    esn_psn,
    extend_psn,
    frame_slice,
    psn_diff,
    rtp_packet,
    slice_address,
    window_check,
    window_update,
)
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.rtp import RTP, RTPExtension

# ---- the math --------------------------------------------------------------------------------

@pytest.mark.parametrize("last, seq, want", [
    (99, 100, 100),
    (100, 100, 100),
    (100, 90, 90),                       # a little late
    (0xFFFF, 0, 0x10000),                # forward across the 16-bit wrap
    (0x10000, 0xFFFF, 0xFFFF),           # backward across it
    (0x2FFF0, 0x0005, 0x30005),
    (0x12345, 0x2345 + 0x7FFF, 0x12345 + 0x7FFF),   # the furthest step forward
    (0x12345, 0x2345 + 0x8000, 0x12345 - 0x8000),   # half range counts as backwards
    (0xFFFFFFFF, 0, 0),                  # the 32-bit PSN wraps too
    (0, 0xFFFF, 0xFFFFFFFF),
])
def test_extend_psn(last: int, seq: int, want: int) -> None:
    assert extend_psn(last, seq & 0xFFFF) == want


def test_extend_psn_with_stream_offset_and_esn() -> None:
    # stream 1 numbers the same packets 1000 higher: offset -1000 maps it onto the group
    assert extend_psn(0x1FFFF, (0x0005 + 1000) & 0xFFFF, -1000) == 0x20005
    assert extend_psn(0x1FFFF, 0x0005, 0) == 0x20005
    assert esn_psn(0x0002, 0x0005) == 0x20005
    assert esn_psn(0xFFFF, 0xFFFF, 1) == 0


def test_extend_psn_follows_a_long_sequence() -> None:
    rng = random.Random(1)
    true_psn, last = 0xFFFF_F000, 0xFFFF_F000 - 1
    for _ in range(20000):
        true_psn = (true_psn + rng.randint(-200, 400)) & 0xFFFFFFFF
        got = extend_psn(last, true_psn & 0xFFFF)
        assert got == true_psn
        if psn_diff(got, last) > 0:
            last = got


def test_window_and_address_math() -> None:
    assert psn_diff(5, 0xFFFFFFFE) == 7 and psn_diff(0xFFFFFFFE, 5) == -7
    assert window_check(1000, 1001, 64) == WIN_AHEAD
    assert window_check(1000, 1000, 64) == WIN_INSIDE
    assert window_check(1000, 937, 64) == WIN_INSIDE
    assert window_check(1000, 936, 64) == WIN_BEHIND
    assert window_check(3, 0xFFFFFFF0, 64) == WIN_INSIDE       # across the 32-bit wrap
    assert slice_address(0x1_0000_0000, 1005, 1000, 1200) == 0x1_0000_0000 + 5 * 1200
    assert slice_address(0x1000, 2, 0xFFFFFFFE, 100) == 0x1000 + 4 * 100
    assert frame_slice(1000 + 47, 1000, 20) == (2, 7)
    assert frame_slice(3, 0xFFFFFFFF, 4) == (1, 0)


def test_window_update_matches_a_set_of_seen_psns() -> None:
    """The bitmap window agrees with the obvious model: remember every PSN, drop
    what was seen or is ``window`` or more behind the highest."""
    rng = random.Random(7)
    window = 96
    bitmap, highest = 0, 0xFFFFFF00
    seen: set[int] = set()
    for _ in range(20000):
        psn = (highest + rng.randint(-130, 40)) & 0xFFFFFFFF
        want = psn not in seen and -psn_diff(psn, highest) < window
        ahead = psn_diff(psn, highest) > 0
        bitmap, highest, first = window_update(bitmap, highest, psn, window)
        assert first == want
        if first:
            seen.add(psn)
        if ahead:
            assert highest == psn


# ---- whole merges ------------------------------------------------------------------------------

def slice_bytes(psn: int, size: int) -> bytes:
    """Distinct content for every PSN."""
    head = struct.pack("!I", psn & 0xFFFFFFFF)
    return (head * (size // 4 + 1))[:size - 1] + bytes([psn * 7 & 0xFF])


def make_packets(cfg: MergeConfig, frames: int, header: bytes = b"") -> list[tuple[int, bytes]]:
    """(group PSN, packet) per slice, stream 0's numbering (offset 0)."""
    out = []
    for i in range(frames * cfg.slices):
        psn = cfg.first_psn + i
        out.append((psn, header + slice_bytes(psn, cfg.slice_size)))
    return out


def stream_packet(cfg: MergeConfig, stream: int, psn: int, body: bytes) -> bytes:
    seq = (psn - cfg.stream_offsets[stream]) & 0xFFFF
    last = (psn - cfg.first_psn + 1) % cfg.slices == 0
    return rtp_packet(seq, body, marker=last, sport=5000 + stream)


def expected_frame(cfg: MergeConfig, frame: int) -> bytes:
    first = cfg.first_psn + frame * cfg.slices
    return b"".join(slice_bytes(first + i, cfg.slice_size) for i in range(cfg.slices))


class Collector:
    """Checks each frame's bytes the moment it is reported (the buffer is cyclic)."""

    def __init__(self) -> None:
        self.merge: SoftMerge | None = None
        self.frames: dict[int, FrameDone] = {}
        self.contents: dict[int, bytes] = {}

    def __call__(self, done: FrameDone) -> None:
        assert done.frame not in self.frames, f"frame {done.frame} reported twice"
        self.frames[done.frame] = done
        assert self.merge is not None
        self.contents[done.frame] = bytes(self.merge.frame_view(done))


def run_merge(cfg: MergeConfig, arrivals: list[tuple[int, bytes]]) -> tuple[SoftMerge, Collector]:
    col = Collector()
    merge = SoftMerge(cfg, on_frame=col)
    col.merge = merge
    for stream, pkt in arrivals:
        merge.receive(stream, pkt)
    merge.flush()
    return merge, col


def lossy_arrivals(cfg: MergeConfig, frames: int, streams: int, loss: float, seed: int,
                   reorder: int = 0, dup: float = 0.0,
                   always_lost: frozenset[int] = frozenset()) -> tuple[list, set[int]]:
    """Every stream drops ``loss`` of its packets at random (and ``always_lost`` on all
    of them); the arrival order is interleaved and locally shuffled; some packets
    arrive twice on the same stream. -> (arrivals, PSNs no stream delivered)."""
    rng = random.Random(seed)
    packets = make_packets(cfg, frames, header=bytes(cfg.skip))
    arrivals: list[tuple[float, int, bytes]] = []
    delivered: set[int] = set()
    for s in range(streams):
        for i, (psn, body) in enumerate(packets):
            if psn in always_lost or rng.random() < loss:
                continue
            delivered.add(psn)
            when = i + rng.uniform(0, reorder) + s * 0.3
            pkt = stream_packet(cfg, s, psn, body)
            arrivals.append((when, s, pkt))
            if rng.random() < dup:
                arrivals.append((when + rng.uniform(0, reorder), s, pkt))
    arrivals.sort(key=lambda a: a[0])
    lost = {psn for psn, _ in packets} - delivered
    return [(s, pkt) for _, s, pkt in arrivals], lost


@pytest.mark.parametrize("streams", [2, 3])
def test_redundant_streams_with_loss_reorder_and_duplicates(streams: int) -> None:
    cfg = MergeConfig(first_psn=40000, slices=20, slice_size=1200, skip=8, window=128,
                      stream_offsets=(0, 1000, -7)[:streams])
    frames = 60
    arrivals, lost = lossy_arrivals(cfg, frames, streams, loss=0.15, seed=streams, reorder=12,
                                    dup=0.05, always_lost=frozenset({40000 + 5 * 20 + 3}))
    merge, col = run_merge(cfg, arrivals)
    assert sorted(col.frames) == list(range(frames)), "every frame reported exactly once"
    lost_by_frame: dict[int, int] = {}
    for psn in lost:
        lost_by_frame[(psn - cfg.first_psn) // cfg.slices] = \
            lost_by_frame.get((psn - cfg.first_psn) // cfg.slices, 0) + 1
    assert lost_by_frame.get(5) >= 1
    for f in range(frames):
        done = col.frames[f]
        if f in lost_by_frame:
            assert (done.status, done.missing) == (CQE_MISSING, lost_by_frame[f])
        else:
            assert done.status == CQE_OK and col.contents[f] == expected_frame(cfg, f)
        assert done.first_psn == cfg.first_psn + f * cfg.slices
    s = merge.stats()
    assert s["placed"] == frames * cfg.slices - len(lost)
    assert s["duplicates"] + s["placed"] + s["late"] == len(arrivals)
    assert s["duplicates"] > frames * cfg.slices * (streams - 1) * 0.7
    assert s["frames_incomplete"] == len(lost_by_frame) and s["slices_missing"] == len(lost)
    assert s["malformed"] == s["before_start"] == s["late"] == 0


def test_16_bit_wrap_with_different_stream_numbering() -> None:
    """Stream 0 wraps its 16-bit numbers in frame 6, stream 1 (numbered 164 lower)
    in frame 22; frames stay byte-exact across both wraps."""
    cfg = MergeConfig(first_psn=65536 - 65, slices=10, slice_size=64, window=32,
                      stream_offsets=(0, 164))
    packets = make_packets(cfg, 40)
    rng = random.Random(3)
    arrivals = []
    for psn, body in packets:          # each slice on exactly one stream, randomly
        s = rng.randrange(2)
        arrivals.append((s, stream_packet(cfg, s, psn, body)))
    merge, col = run_merge(cfg, arrivals)
    assert all(col.frames[f].ok and col.contents[f] == expected_frame(cfg, f)
               for f in range(40)), merge.stats()
    assert merge.stats()["placed"] == 400 and merge.stats()["duplicates"] == 0


def test_psn_beyond_32_bits_and_esn() -> None:
    """RFC 4175's extended sequence number gives the high half; a group starting
    just below 2^32 keeps counting frames across the 32-bit wrap."""
    cfg = MergeConfig(first_psn=0xFFFF_FFF0, slices=8, slice_size=32, skip=2, window=16,
                      esn=True)
    merge, col = run_merge(cfg, [(i % 2, rtp_packet(
        (cfg.first_psn + i) & 0xFFFF,
        struct.pack("!H", ((cfg.first_psn + i) >> 16) & 0xFFFF) + slice_bytes(
            cfg.first_psn + i, 32), sport=5000 + i % 2)) for i in range(64)])
    assert sorted(col.frames) == list(range(8))
    for f in range(8):
        assert col.frames[f].ok
        assert col.contents[f] == expected_frame(cfg, f)


def test_late_duplicate_before_start_and_jump() -> None:
    cfg = MergeConfig(first_psn=1000, slices=4, slice_size=16, window=8, max_jump=100)
    merge = SoftMerge(cfg)
    pk = dict(make_packets(cfg, 100))

    def send(stream: int, psn: int) -> int:
        return merge.receive(stream, stream_packet(cfg, stream, psn, pk.get(psn, bytes(16))))

    assert send(0, 999) == BEFORE_START
    assert send(0, 1000) == PLACED
    assert send(1, 1000) == DUPLICATE
    assert send(0, 1020) == PLACED                  # the window moves to 1013..1020
    assert send(1, 1013) == PLACED
    assert send(1, 1012) == LATE
    assert send(0, 1001) == LATE
    done = merge.pop_done()
    assert [(d.frame, d.status, d.missing) for d in done] == \
        [(0, CQE_MISSING, 3), (1, CQE_MISSING, 4), (2, CQE_MISSING, 4)]
    assert send(0, 1020 + 150) == PLACED            # a jump: counted, frames skipped
    s = merge.stats()
    assert s["jumps"] == 1
    # frames 3-5 may hold slices and are reported; 6-39 cannot and are only counted
    assert [(d.frame, d.missing) for d in merge.pop_done()] == [(3, 3), (4, 4), (5, 3)]
    assert (s["frames_incomplete"], s["frames_skipped"]) == (6, 34)


def test_overlong_and_odd_packets() -> None:
    cfg = MergeConfig(first_psn=0, slices=2, slice_size=100, skip=4, window=4)
    merge = SoftMerge(cfg)
    body = b"HDR!" + slice_bytes(0, 100)
    good = rtp_packet(0, body)
    bad = [
        b"", good[:53],                                  # runts
        good[:12] + b"\x86\xdd" + good[14:],             # not IPv4 (ethertype)
        good[:14] + b"\x65" + good[15:],                 # IP version 6 in an IPv4 frame
        good[:14] + b"\x44" + good[15:],                 # IHL 4
        good[:23] + b"\x06" + good[24:],                 # TCP
        good[:42] + b"\x40" + good[43:],                 # RTP version 1
        good[:-1],                                       # UDP length beyond the frame
        rtp_packet(0, body[:-1]),                        # payload shorter than skip + B
    ]
    for pkt in bad:
        assert merge.receive(0, pkt) == MALFORMED
    assert merge.stats()["malformed"] == len(bad) and merge.stats()["placed"] == 0
    # Ethernet padding behind a short UDP datagram is not payload
    assert merge.receive(0, rtp_packet(1, b"HDR!" + slice_bytes(1, 100)) + bytes(30)) == PLACED
    assert merge.receive(1, good) == PLACED
    assert [d.status for d in merge.pop_done()] == [CQE_OK]
    assert bytes(merge.buffer[:200]) == slice_bytes(0, 100) + slice_bytes(1, 100)


def test_packets_built_by_scapy_with_csrcs_and_header_extension() -> None:
    """The RTP header length comes from CC and X, checked against scapy's encoder."""
    cfg = MergeConfig(first_psn=7, slices=3, slice_size=50, skip=2, window=4)
    merge = SoftMerge(cfg)
    for i, psn in enumerate((7, 8, 9)):
        rtp = RTP(sequence=psn, timestamp=1, sourcesync=2, numsync=i, sync=list(range(i)),
                  extension=int(i == 2))
        if i == 2:
            rtp = rtp / RTPExtension(header_id=0xBEDE, header=[1, 2, 3])
        pkt = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / rtp
                    / (b"ph" + slice_bytes(psn, 50)))
        assert merge.receive(i % 2, pkt) == PLACED
    done = merge.pop_done()
    assert done == [FrameDone(0, CQE_OK, 0, 7, 0)]
    assert bytes(merge.frame_view(done[0])) == expected_frame(cfg, 0)


def test_bad_configurations_are_refused() -> None:
    for kwargs in ({"slices": 0}, {"slice_size": 0}, {"window": 0}, {"window": 0x8001},
                   {"stream_offsets": ()}, {"depth": 1}, {"esn": True}):
        args = {"first_psn": 0, "slices": 4, "slice_size": 8, "window": 16} | kwargs
        with pytest.raises(ValueError):
            MergeConfig(**args)  # type: ignore[arg-type]
    cfg = MergeConfig(first_psn=0, slices=4, slice_size=8, window=16)
    assert cfg.frames == 5
    with pytest.raises(ValueError):
        SoftMerge(cfg, bytearray(cfg.frames * cfg.frame_bytes - 1))


def test_fast_path_agrees_with_the_reference_functions() -> None:
    """SoftMerge's inlined PSN extension and tag-list window decide exactly as
    extend_psn + window_update (the reference model a PTF test uses) do."""
    rng = random.Random(11)
    cfg = MergeConfig(first_psn=0xFFF0, slices=5, slice_size=4, window=100,
                      stream_offsets=(0, 300, -20))
    merge = SoftMerge(cfg)
    head, bitmap = cfg.first_psn - 1, 0
    psn = cfg.first_psn
    for _ in range(30000):
        psn = max(cfg.first_psn, psn + rng.randint(-60, 30))
        stream = rng.randrange(3)
        seq = (psn - cfg.stream_offsets[stream]) & 0xFFFF
        ext = extend_psn(head, seq, cfg.stream_offsets[stream])
        assert ext == psn & 0xFFFFFFFF
        bitmap, head, first = window_update(bitmap, head, ext, cfg.window)
        got = merge.receive(stream, rtp_packet(seq, bytes(4)))
        assert got == (PLACED if first else DUPLICATE if -psn_diff(ext, head) < cfg.window
                       else LATE)
