"""The p4nic host-side headers of p4src/include/headers.p4, as dataclasses.

Every header starts with magic "PN" (0x504e), a type and a version; all
fields are big-endian, NIC timestamps are 48-bit microsecond counts of the
NIC clock (v1model: microseconds since the switch started). ``parse_*``
functions return the record and the bytes that follow it (the packet, the
payload to place, the captured frame); ``build`` functions are their exact
inverses, used to make test input and clock probes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, TypeVar

from p4nic import p4names as n


class RecordError(ValueError):
    """Bytes that are not the expected p4nic header."""


# (name, size in bytes) of each header's fields after magic/type/version
_LAYOUTS: dict[int, tuple[tuple[str, int], ...]] = {
    n.PT_RX_META: (("flags", 2), ("key_index", 2), ("flow_id", 4), ("arrival_ts", 6),
                   ("in_port", 2), ("gap_us", 4), ("flow_packets", 4), ("flow_bytes", 4)),
    n.PT_TS_RECORD: (("flow_id", 4), ("seq", 4), ("arrival_ts", 6), ("length", 2),
                     ("gap_us", 4), ("flow_packets", 4), ("flow_bytes", 4)),
    n.PT_PLACEMENT: (("flow_id", 4), ("addr", 8), ("seq", 4), ("length", 2), ("flags", 2)),
    n.PT_CAPTURE: (("capture_id", 2), ("direction", 1), ("port", 1), ("ts", 6),
                   ("orig_len", 4), ("snaplen", 2)),
    n.PT_CLOCK: (("probe_id", 4), ("nic_ts", 6), ("pad", 2)),
    n.PT_MERGE_PLACE: (("group", 2), ("stream", 1), ("flags", 1), ("mkey", 4), ("addr", 8),
                       ("psn", 4), ("frame", 4), ("length", 2), ("skip", 2)),
    n.PT_COMPLETION: (("group", 2), ("status", 1), ("stream", 1), ("frame", 4),
                      ("first_psn", 4), ("slices", 2), ("missing", 2), ("mkey", 4),
                      ("addr", 8), ("nic_ts", 6), ("marker", 2)),
}


def header_size(ptype: int) -> int:
    """Length in bytes of the p4nic header of type ``ptype``."""
    return 4 + sum(size for _, size in _LAYOUTS[ptype])


@dataclass(frozen=True)
class _Record:
    TYPE: ClassVar[int] = 0

    def to_bytes(self) -> bytes:
        out = bytearray(n.P4NIC_MAGIC.to_bytes(2, "big"))
        out += bytes((self.TYPE, n.P4NIC_VERSION))
        for name, size in _LAYOUTS[self.TYPE]:
            value = getattr(self, name)
            if not 0 <= value < 1 << (8 * size):
                raise RecordError(f"{type(self).__name__}.{name}={value} does not fit {size} bytes")
            out += value.to_bytes(size, "big")
        return bytes(out)


@dataclass(frozen=True)
class RxMeta(_Record):
    """Descriptor in front of a delivered packet (TS_IN_PACKET flows, ESP key results)."""
    TYPE: ClassVar[int] = n.PT_RX_META
    flags: int
    key_index: int
    flow_id: int
    arrival_ts: int
    in_port: int
    gap_us: int
    flow_packets: int
    flow_bytes: int

    @property
    def ts_valid(self) -> bool:
        return bool(self.flags & n.RXF_TS_VALID)

    @property
    def key_valid(self) -> bool:
        return bool(self.flags & n.RXF_KEY_VALID)

    @property
    def no_key(self) -> bool:
        return bool(self.flags & n.RXF_NO_KEY)

    @property
    def flow_hit(self) -> bool:
        return bool(self.flags & n.RXF_FLOW_HIT)

    @property
    def rtp(self) -> bool:
        return bool(self.flags & n.RXF_RTP)


@dataclass(frozen=True)
class TimestampRecord(_Record):
    """Separate arrival-timestamp record (TS_RECORD flows) on the records port."""
    TYPE: ClassVar[int] = n.PT_TS_RECORD
    flow_id: int
    seq: int
    arrival_ts: int
    length: int
    gap_us: int
    flow_packets: int
    flow_bytes: int


@dataclass(frozen=True)
class PlacementRecord(_Record):
    """Write ``length`` payload bytes that follow at host address ``addr``."""
    TYPE: ClassVar[int] = n.PT_PLACEMENT
    flow_id: int
    addr: int
    seq: int
    length: int
    flags: int = 0


@dataclass(frozen=True)
class CaptureRecord(_Record):
    """Captured packet header on the capture port; the frame cut to snaplen follows."""
    TYPE: ClassVar[int] = n.PT_CAPTURE
    capture_id: int
    direction: int
    port: int
    ts: int
    orig_len: int
    snaplen: int

    @property
    def direction_name(self) -> str:
        return "tx" if self.direction == n.DIR_TX else "rx"


@dataclass(frozen=True)
class ClockProbe(_Record):
    """NIC clock probe: sent with nic_ts 0 in a packet-out, returned stamped."""
    TYPE: ClassVar[int] = n.PT_CLOCK
    probe_id: int
    nic_ts: int = 0
    pad: int = 0


@dataclass(frozen=True)
class MergePlacement(_Record):
    """Redundant-stream merge (seed 000): write ``length`` slice bytes at ``addr`` of
    memory region ``mkey``. What follows the record is the RTP payload: ``skip``
    bytes of payload header (not placed), then the slice."""
    TYPE: ClassVar[int] = n.PT_MERGE_PLACE
    group: int
    stream: int
    flags: int
    mkey: int
    addr: int
    psn: int
    frame: int
    length: int
    skip: int

    @property
    def overwrite(self) -> bool:
        """A copy of a slice already placed, written again (overwrite mode)."""
        return bool(self.flags & n.MPF_OVERWRITE)

    @property
    def marker(self) -> bool:
        return bool(self.flags & n.MPF_MARKER)

    @property
    def jump(self) -> bool:
        return bool(self.flags & n.MPF_JUMP)


@dataclass(frozen=True)
class Completion(_Record):
    """Completion of a merge work item (or cyclic-buffer chunk): status CQE_OK (every
    slice placed once) or CQE_MISSING (the window moved past it with ``missing``
    slices absent); ``marker``: 1 + offset of the slice with the RTP marker bit."""
    TYPE: ClassVar[int] = n.PT_COMPLETION
    group: int
    status: int
    stream: int
    frame: int
    first_psn: int
    slices: int
    missing: int
    mkey: int
    addr: int
    nic_ts: int
    marker: int = 0

    @property
    def marker_slice(self) -> int | None:
        """Offset of the slice that carried the RTP marker (end of a video frame), if any."""
        return self.marker - 1 if self.marker else None

    @property
    def ok(self) -> bool:
        return self.status == n.CQE_OK


RECORD_TYPES: dict[int, type[_Record]] = {
    cls.TYPE: cls for cls in (RxMeta, TimestampRecord, PlacementRecord, CaptureRecord, ClockProbe,
                              MergePlacement, Completion)
}

R = TypeVar("R", bound=_Record)


def record_type(data: bytes) -> int:
    """The p4nic header type of ``data`` (PT_*); RecordError if it has no p4nic header."""
    if len(data) < 4:
        raise RecordError(f"{len(data)} bytes: too short for a p4nic header")
    magic = int.from_bytes(data[:2], "big")
    if magic != n.P4NIC_MAGIC:
        raise RecordError(f"bad magic 0x{magic:04x} (expected 0x{n.P4NIC_MAGIC:04x})")
    if data[2] not in RECORD_TYPES:
        raise RecordError(f"unknown p4nic header type {data[2]}")
    if data[3] != n.P4NIC_VERSION:
        raise RecordError(f"p4nic header version {data[3]}, this host software knows "
                          f"version {n.P4NIC_VERSION}")
    return data[2]


def parse_record(data: bytes) -> tuple[_Record, bytes]:
    """Parse whichever p4nic header ``data`` starts with; returns (record, rest)."""
    ptype = record_type(data)
    size = header_size(ptype)
    if len(data) < size:
        raise RecordError(f"{RECORD_TYPES[ptype].__name__}: {len(data)} bytes, need {size}")
    values = {}
    off = 4
    for name, fsize in _LAYOUTS[ptype]:
        values[name] = int.from_bytes(data[off:off + fsize], "big")
        off += fsize
    return RECORD_TYPES[ptype](**values), bytes(data[size:])


def _parse_as(cls: type[R], data: bytes) -> tuple[R, bytes]:
    record, rest = parse_record(data)
    if not isinstance(record, cls):
        raise RecordError(f"expected {cls.__name__}, got {type(record).__name__}")
    return record, rest


def parse_rx_meta(data: bytes) -> tuple[RxMeta, bytes]:
    """RxMeta and the delivered packet behind it."""
    return _parse_as(RxMeta, data)


def parse_ts_record(data: bytes) -> TimestampRecord:
    """A timestamp record (the switch cuts the record frame to the header)."""
    return _parse_as(TimestampRecord, data)[0]


def parse_placement(data: bytes) -> tuple[PlacementRecord, bytes]:
    """Placement record and the payload to write; payload is cut to ``length``."""
    rec, rest = _parse_as(PlacementRecord, data)
    if len(rest) < rec.length:
        raise RecordError(f"placement record announces {rec.length} payload bytes, "
                          f"{len(rest)} follow")
    return rec, rest[:rec.length]


@dataclass(frozen=True)
class MergeOutput:
    """One record frame of the merge offload, as the NIC sends it to the placement
    port: [error completion] [placement [completion] payload header + slice].
    ``data`` is the slice to write (payload header already skipped)."""
    error: Completion | None
    placement: MergePlacement | None
    completion: Completion | None
    data: bytes


def parse_merge_output(data: bytes) -> MergeOutput:
    """Split a merge record frame into its parts (RecordError if it is not one)."""
    error = placement = completion = None
    body = b""
    rest = data
    if record_type(rest) == n.PT_COMPLETION:
        error, rest = _parse_as(Completion, rest)
        if error.ok:
            raise RecordError("a completion in front of a merge record must be an error "
                              "completion")
        if not rest:
            return MergeOutput(error, None, None, b"")
    placement, rest = _parse_as(MergePlacement, rest)
    if placement.flags & n.MPF_COMPLETES:
        completion, rest = _parse_as(Completion, rest)
    if len(rest) < placement.skip + placement.length:
        raise RecordError(f"merge placement announces {placement.skip} + {placement.length} "
                          f"bytes, {len(rest)} follow")
    body = rest[placement.skip:placement.skip + placement.length]
    return MergeOutput(error, placement, completion, body)


def parse_completion(data: bytes) -> Completion:
    return _parse_as(Completion, data)[0]


def parse_capture(data: bytes) -> tuple[CaptureRecord, bytes]:
    """Capture record and the captured frame (at most snaplen bytes)."""
    return _parse_as(CaptureRecord, data)


def parse_clock_probe(data: bytes) -> ClockProbe:
    return _parse_as(ClockProbe, data)[0]


def as_dict(record: _Record) -> dict[str, int]:
    """Field name -> value, for JSON output."""
    return {f.name: getattr(record, f.name) for f in fields(record)}
