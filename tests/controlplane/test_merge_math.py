"""The merge offload's small pure functions and the driver-side checks: expiry
distance, counter slots, frame tags, group/stream validation, the sender's
seeded impairment and the PNG writer."""

from __future__ import annotations

import random
import struct
import zlib

import pytest
from p4nic import p4names as n
from p4nic.merge import (
    MergeGroup,
    MergeStream,
    expiry_distance,
    frame_psns,
    frame_slot,
    frame_tag,
)
from p4nic.mergetools import Impairment, SendPlan, impair, pattern_frame, png_gray, stream_schedule
from p4nic.model import NicConfigError


@pytest.mark.parametrize("window,slices", [(480, 20), (480, 4000), (64, 20), (16, 8), (1, 1),
                                           (32, 8), (100, 7), (479, 8)])
def test_expiry_frame_is_past_the_window_and_of_the_other_parity(window: int, slices: int) -> None:
    k = expiry_distance(window, slices)
    assert k % 2 == 1
    first_later = k * slices            # first PSN of frame F + k, with F = 0 at PSN 0
    last_f = slices - 1
    assert first_later - last_f >= window
    # the smallest such odd k
    if k > 1:
        smaller = k - 2
        assert smaller * slices - last_f < window


def test_frame_psns_and_slots() -> None:
    assert frame_psns(1000, 8, 0) == (1000, 1007)
    assert frame_psns(1000, 8, 3) == (1024, 1031)
    slots = {frame_slot(f) for f in range(2 * n.MERGE_FRAME_SLOTS)}
    assert len(slots) == 2 * n.MERGE_FRAME_SLOTS          # 64 frames in flight, all distinct
    assert all(frame_slot(f) & 1 == f & 1 for f in range(200))
    assert frame_slot(5) == frame_slot(5 + 2 * n.MERGE_FRAME_SLOTS)
    assert frame_tag(0x1234, 7) == 0x34000007
    assert frame_tag(1, 0x1000001) == 0x01000001


def test_group_validation_says_why() -> None:
    g = MergeGroup(group=3, slice_size=1200, slices_per_frame=20, mode="overwrite", esn=True,
                   header_size=14)
    assert g.flags == n.MGF_OVERWRITE | n.MGF_ESN and g.frame_bytes == 24000
    with pytest.raises(NicConfigError, match="spans 241 frames"):
        MergeGroup(group=1, slice_size=100, slices_per_frame=2)
    with pytest.raises(NicConfigError, match="window=481"):
        MergeGroup(group=1, slice_size=100, slices_per_frame=200, window=481)
    with pytest.raises(NicConfigError, match="mode"):
        MergeGroup(group=1, slice_size=100, slices_per_frame=200, mode="keep")
    with pytest.raises(NicConfigError, match="header_size must be at least 14"):
        MergeGroup(group=1, slice_size=100, slices_per_frame=200, esn=True)
    with pytest.raises(NicConfigError, match="group=64"):
        MergeGroup(group=64, slice_size=100, slices_per_frame=200)
    with pytest.raises(NicConfigError, match="unknown field"):
        MergeGroup.from_dict({"group": 1, "slice_size": 1, "slices_per_frame": 500, "x": 1})


def test_stream_validation() -> None:
    s = MergeStream(group=1, stream=0, dst="10.0.0.1", dport=5004, src="10.1.0.7/16")
    assert s.src == "10.1.0.0/16" and s.ip_version == 4
    assert MergeStream(group=1, stream=1, dst="2001:db8::1", dport=5004,
                       src="2001:db8::2").src == "2001:db8::2"
    with pytest.raises(NicConfigError, match="same IP version"):
        MergeStream(group=1, stream=0, dst="10.0.0.1", dport=5004, src="2001:db8::2")
    with pytest.raises(NicConfigError, match="not an IP address"):
        MergeStream(group=1, stream=0, dst="nowhere", dport=5004)
    with pytest.raises(NicConfigError, match="in_port=512"):
        MergeStream(group=1, stream=0, dst="10.0.0.1", dport=5004, in_port=512)


def test_impairment_is_seeded_and_does_what_it_says() -> None:
    imp = Impairment(loss=0.1, dup=0.05, reorder=0.2, reorder_depth=3)
    a = impair(5000, imp, random.Random(1))
    assert a == impair(5000, imp, random.Random(1))
    assert a != impair(5000, imp, random.Random(2))
    kept = set(a)
    assert 0.07 < 1 - len(kept) / 5000 < 0.13                # loss
    assert 0.03 < (len(a) - len(kept)) / 5000 < 0.07         # duplicates
    late = sum(1 for pos, i in enumerate(a) if any(j > i for j in a[max(0, pos - 3):pos]))
    assert late > 0                                          # reordered
    assert impair(100, Impairment(), random.Random(0)) == list(range(100))
    with pytest.raises(ValueError):
        Impairment(loss=1.5)


def test_schedule_interleaves_streams_in_time() -> None:
    plan = SendPlan(frames=4, slices=5, slice_size=10, rate_pps=100.0)
    sched = stream_schedule(plan, [Impairment(), Impairment(delay_ms=5)], seed=1)
    assert [t for t, _, _ in sched] == sorted(t for t, _, _ in sched)
    assert sorted(i for _, s, i in sched if s == 0) == list(range(20))
    assert sched[0][1] == 0 and sched[1][1] == 1             # the delayed path comes second


def test_pattern_and_png() -> None:
    f0, f1 = pattern_frame(0, 4000, 200), pattern_frame(1, 4000, 200)
    assert len(f0) == 4000 and f0 != f1 and struct.unpack("!I", f1[:4])[0] == 1
    png = png_gray(f0, 200)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack("!II", png[16:24])
    assert (width, height) == (200, 20)
    idat_len = struct.unpack("!I", png[33:37])[0]
    raw = zlib.decompress(png[41:41 + idat_len])
    assert raw[1:201] == f0[:200] and len(raw) == 20 * 201


def test_frames_in_ring_cuts_at_markers() -> None:
    from p4nic.merge import RingFrame, frames_in_ring
    # chunks of 4 from PSN 100; frames of 6, 5 and 7 slices (markers at 105, 110, 117)
    chunks = [(100, 4, True, 0), (104, 4, True, 2), (108, 4, True, 3), (112, 4, True, 0),
              (116, 4, True, 2), (120, 4, True, 0)]
    assert frames_in_ring(chunks, 100) == [RingFrame(100, 105, True), RingFrame(106, 110, True),
                                           RingFrame(111, 117, True)]
    # a chunk with a missing slice spoils the frames it touches, not the others
    bad = [c if c[0] != 108 else (108, 4, False, 3) for c in chunks]
    assert [f.complete for f in frames_in_ring(bad, 100)] == [True, False, False]
    # the marker at a chunk's end: the next frame starts clean
    end = [(0, 4, False, 4), (4, 4, True, 4)]
    assert frames_in_ring(end, 0) == [RingFrame(0, 3, False), RingFrame(4, 7, True)]
    # cutting again from where the last cut ended: the marker already used is skipped
    assert frames_in_ring(chunks, 106) == [RingFrame(106, 110, True), RingFrame(111, 117, True)]
    # a chunk not reported yet stops the cut
    assert frames_in_ring([c for c in chunks if c[0] != 112], 100) == \
        [RingFrame(100, 105, True), RingFrame(106, 110, True)]


def test_cyclic_group_validation() -> None:
    g = MergeGroup(group=2, slice_size=1200, slices_per_frame=8, window=64, cyclic=True,
                   ring_slices=256, ring_mkey=0x100, ring_base=0x1000)
    assert g.flags & n.MGF_CYCLIC and g.expiry_distance == 9
    with pytest.raises(NicConfigError, match="power of two"):
        MergeGroup(group=2, slice_size=1200, slices_per_frame=12, cyclic=True, ring_slices=256)
    with pytest.raises(NicConfigError, match="at least one chunk"):
        MergeGroup(group=2, slice_size=1200, slices_per_frame=64, cyclic=True, ring_slices=32)
    with pytest.raises(NicConfigError, match="set cyclic=True"):
        MergeGroup(group=2, slice_size=1200, slices_per_frame=64, ring_slices=32)


def test_check_received_finds_what_is_wrong(tmp_path) -> None:
    import json

    from p4nic.mergetools import check_received
    plan = SendPlan(frames=3, slices=4, slice_size=8, rate_pps=100.0)
    imps = [Impairment(loss=0.2), Impairment(loss=0.2)]
    sched = stream_schedule(plan, imps, seed=4)
    arrived = {i for _t, _s, i in sched}
    frames = []
    for fr in range(3):
        lost = sum(1 for i in range(fr * 4, fr * 4 + 4) if i not in arrived)
        if lost:
            frames.append({"frame": fr, "status": "missing", "missing": lost})
        else:
            name = f"frame-{fr:06d}.raw"
            (tmp_path / name).write_bytes(pattern_frame(fr, 32, 8))
            frames.append({"frame": fr, "status": "complete", "file": name})
    ok = sum(f["status"] == "complete" for f in frames)
    manifest = {"frames": frames, "nic_counters": {"completions": ok,
                                                   "error_completions": 3 - ok,
                                                   "placed": len(arrived)}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    source = lambda n: pattern_frame(n, 32, 8)  # noqa: E731
    assert check_received(str(tmp_path), plan, imps, 4, source)["problems"] == []
    whole = next(f for f in frames if f["status"] == "complete")
    (tmp_path / whole["file"]).write_bytes(bytes(32))          # a torn frame
    got = check_received(str(tmp_path), plan, imps, 4, source)["problems"]
    assert got == [f"frame {whole['frame']}: bytes differ from what was sent"]
