"""Per-flow arrivals from what the NIC delivers, for the network-property
estimator (seed 002): timestamp records on the records port, or packets with
an rx descriptor (TS_IN_PACKET flows) on a consumer port.

For RTP packets (descriptor flag RXF_RTP) the RTP sequence number is kept,
so loss can be computed from sequence gaps; the NIC's own per-flow packet
count has no gaps by construction and is not used for loss.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from p4nic.clock import ClockMapping
from p4nic.netprops import NetworkProperties, Selection, estimate, select_protocol
from p4nic.rawsock import PACKET_OUTGOING, SO_RCVBUFFORCE, open_raw, recv_frame
from p4nic.records import (
    CaptureRecord,
    PlacementRecord,
    RecordError,
    RxMeta,
    TimestampRecord,
    as_dict,
    parse_record,
)


@dataclass
class FlowArrivals:
    flow_id: int
    arrivals_us: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    rtp_seqs: list[int] = field(default_factory=list)


def _rtp_sequence(frame: bytes) -> int | None:
    """RTP sequence number of an Ethernet/IPv4-or-IPv6/UDP/RTP frame (no VLAN tags)."""
    if len(frame) < 14:
        return None
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == 0x0800:
        l4 = 14 + (frame[14] & 0x0F) * 4
    elif ethertype == 0x86DD:
        l4 = 14 + 40
    else:
        return None
    rtp = l4 + 8
    if len(frame) < rtp + 4:
        return None
    return int.from_bytes(frame[rtp + 2:rtp + 4], "big")


def arrivals_from_frames(frames: Iterable[bytes]) -> dict[int, FlowArrivals]:
    """Group the NIC's records / described packets by flow id (frames that are
    neither are skipped)."""
    flows: dict[int, FlowArrivals] = {}
    for data in frames:
        try:
            rec, rest = parse_record(data)
        except RecordError:
            continue
        if isinstance(rec, TimestampRecord):
            f = flows.setdefault(rec.flow_id, FlowArrivals(rec.flow_id))
            f.arrivals_us.append(rec.arrival_ts)
            f.sizes.append(rec.length)
        elif isinstance(rec, RxMeta) and rec.ts_valid:
            f = flows.setdefault(rec.flow_id, FlowArrivals(rec.flow_id))
            f.arrivals_us.append(rec.arrival_ts)
            f.sizes.append(len(rest))
            if rec.rtp:
                seq = _rtp_sequence(rest)
                if seq is not None:
                    f.rtp_seqs.append(seq)
    return flows


def assess(f: FlowArrivals, rtt_ms: float | None = None, real_time: bool | None = None
           ) -> tuple[NetworkProperties, Selection]:
    """Properties of one flow and the protocol they select. A flow that carries
    RTP counts as real-time unless told otherwise."""
    order = sorted(range(len(f.arrivals_us)), key=lambda i: f.arrivals_us[i])
    props = estimate([f.arrivals_us[i] for i in order], [f.sizes[i] for i in order],
                     seqs=f.rtp_seqs or None, seq_modulus=1 << 16)
    rt = bool(f.rtp_seqs) if real_time is None else real_time
    return props, select_protocol(props, rtt_ms=rtt_ms, real_time=rt)


RCVBUF = 8 << 20


def frames_in(iface: str, count: int | None, timeout: float | None,
              on_ready: Callable[[], None] | None = None) -> Iterator[bytes]:
    """Frames arriving on ``iface`` (not those sent from it), until ``count`` frames
    or ``timeout`` seconds; ``on_ready`` runs once the socket is bound.

    The socket's receive buffer is deep (RCVBUF, forced as root: SO_RCVBUF alone
    stops at net.core.rmem_max): a packet train arrives faster than a busy
    reader may read it."""
    s = open_raw(iface)
    try:
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        except PermissionError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        if on_ready:
            on_ready()
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = 0
        while count is None or seen < count:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            ready, _, _ = select.select([s], [], [], left)
            if not ready:
                return
            data, pkttype = recv_frame(s)
            if pkttype != PACKET_OUTGOING:
                seen += 1
                yield data
    finally:
        s.close()


def collect(iface: str, count: int, timeout: float,
            on_ready: Callable[[], None] | None = None) -> list[bytes]:
    """Up to ``count`` frames arriving on ``iface`` within ``timeout`` seconds."""
    return list(frames_in(iface, count, timeout, on_ready))


def describe(frame: bytes, mapping: ClockMapping | None = None) -> str:
    """One line for a frame a NIC port delivered: its p4nic header, if any, and
    what follows (``p4nic watch``); NIC timestamps also as UTC time when a
    clock mapping is given."""
    try:
        rec, rest = parse_record(frame)
    except RecordError:
        return f"packet {len(frame)} bytes: {_summary(frame)}"
    fields = []
    for k, v in as_dict(rec).items():
        if k == "pad":
            continue
        fields.append(f"{k}={v}")
        if mapping is not None and k in ("arrival_ts", "ts", "nic_ts"):
            fields.append(f"({mapping.to_iso(v)})")
    line = f"{type(rec).__name__} {' '.join(fields)}"
    if isinstance(rec, (RxMeta, CaptureRecord)):
        line += f" | {_summary(rest)}"
    elif isinstance(rec, PlacementRecord):
        line += f" | payload {rest[:rec.length][:16]!r}"
    return line


def _summary(frame: bytes) -> str:
    import scapy.layers.inet  # noqa: F401  (registers IP/TCP/UDP under Ether)
    import scapy.layers.inet6  # noqa: F401
    import scapy.layers.ipsec  # noqa: F401
    from scapy.layers.l2 import Ether
    try:
        return Ether(frame).summary()
    except Exception:   # a cut frame scapy cannot dissect: show its size only
        return f"{len(frame)} bytes"
