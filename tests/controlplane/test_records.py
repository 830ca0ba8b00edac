"""p4nic host-side headers: sizes as in headers.p4, exact round trips, clear refusals."""

from __future__ import annotations

import pytest
from p4nic import p4names as n
from p4nic.records import (
    CaptureRecord,
    ClockProbe,
    PlacementRecord,
    RecordError,
    RxMeta,
    TimestampRecord,
    as_dict,
    header_size,
    parse_capture,
    parse_clock_probe,
    parse_placement,
    parse_record,
    parse_rx_meta,
    parse_ts_record,
)


def test_header_sizes_match_the_p4_constants() -> None:
    # RX_META_BYTES, TS_RECORD_BYTES, PLACEMENT_BYTES, CAPTURE_HDR_BYTES in p4src/include
    assert header_size(n.PT_RX_META) == 32
    assert header_size(n.PT_TS_RECORD) == 32
    assert header_size(n.PT_PLACEMENT) == 24
    assert header_size(n.PT_CAPTURE) == 20
    assert header_size(n.PT_CLOCK) == 16


def test_rx_meta_round_trip_and_flags() -> None:
    meta = RxMeta(flags=n.RXF_TS_VALID | n.RXF_FLOW_HIT, key_index=3, flow_id=7,
                  arrival_ts=(1 << 48) - 1, in_port=1, gap_us=4500, flow_packets=2,
                  flow_bytes=200)
    frame = b"\x02" * 60
    raw = meta.to_bytes() + frame
    assert raw[:4] == b"PN\x01\x01"
    got, rest = parse_rx_meta(raw)
    assert got == meta and rest == frame
    assert got.ts_valid and got.flow_hit and not got.key_valid and not got.no_key
    assert not got.rtp


def test_big_endian_layout_of_the_rx_meta() -> None:
    meta = RxMeta(flags=0x0102, key_index=0x0304, flow_id=0x05060708,
                  arrival_ts=0x090A0B0C0D0E, in_port=0x0F10, gap_us=0x11121314,
                  flow_packets=0x15161718, flow_bytes=0x191A1B1C)
    assert meta.to_bytes() == b"PN\x01\x01" + bytes(range(1, 0x1D))


def test_ts_record_placement_capture_clock_round_trips() -> None:
    rec = TimestampRecord(flow_id=2, seq=9, arrival_ts=13, length=100, gap_us=4,
                          flow_packets=9, flow_bytes=900)
    assert parse_ts_record(rec.to_bytes()) == rec
    pl = PlacementRecord(flow_id=3, addr=0x1_0000_0010, seq=1010, length=5)
    got, payload = parse_placement(pl.to_bytes() + b"hello" + b"\0" * 7)
    assert got == pl and payload == b"hello"   # padding after the payload is cut
    cap = CaptureRecord(capture_id=1, direction=n.DIR_TX, port=2, ts=123456, orig_len=1514,
                        snaplen=64)
    got, frame = parse_capture(cap.to_bytes() + b"x" * 64)
    assert got == cap and frame == b"x" * 64 and got.direction_name == "tx"
    probe = ClockProbe(probe_id=77, nic_ts=5)
    assert parse_clock_probe(probe.to_bytes()) == probe
    assert as_dict(probe) == {"probe_id": 77, "nic_ts": 5, "pad": 0}


def test_parse_record_dispatches_on_type() -> None:
    rec, rest = parse_record(ClockProbe(probe_id=1).to_bytes() + b"tail")
    assert isinstance(rec, ClockProbe) and rest == b"tail"


@pytest.mark.parametrize("data, reason", [
    (b"PN", "too short"),
    (b"XX\x01\x01" + b"\0" * 28, "bad magic"),
    (b"PN\x63\x01" + b"\0" * 28, "unknown p4nic header type 99"),
    (b"PN\x01\x02" + b"\0" * 28, "version 2"),
    (b"PN\x01\x01" + b"\0" * 10, "need 32"),
])
def test_malformed_headers_are_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        parse_record(data)


def test_wrong_record_type_and_short_placement_payload() -> None:
    with pytest.raises(RecordError, match="expected TimestampRecord"):
        parse_ts_record(ClockProbe(probe_id=1).to_bytes())
    with pytest.raises(RecordError, match="announces 10 payload bytes, 3 follow"):
        parse_placement(PlacementRecord(flow_id=1, addr=0, seq=0, length=10).to_bytes() + b"abc")


def test_values_that_do_not_fit_are_refused() -> None:
    with pytest.raises(RecordError, match="does not fit 6 bytes"):
        ClockProbe(probe_id=1, nic_ts=1 << 48).to_bytes()
