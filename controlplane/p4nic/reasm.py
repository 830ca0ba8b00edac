"""IP fragment reassembly in the NIC (seed 004, p4src/include/reassembly.p4): driver side.

The data plane reassembles the fragments of the protocols the driver enables
(``reasm_policy``: IP protocol, ternary, with a timeout in NIC-clock
microseconds); fragments of other protocols pass on to the host stack as they
are. ``reasm_events`` counts what became of every fragment and datagram.

The pure functions below are the data plane's arithmetic in Python: which
units a store pass extracts, the received-unit masks, the slot a datagram
hashes to, and how many recirculation passes a datagram costs. Tests and the
bench use them; they mirror the P4 and say where.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from p4nic import p4names as n
from p4nic.model import Handle, NicConfigError
from p4nic.p4info import Ternary

if TYPE_CHECKING:
    from p4nic.driver import NicDriver

DEFAULT_TIMEOUT_MS = 5000.0   # Linux's ipfrag_time is 30 s; NIC slots are scarcer
MAX_TIMEOUT_MS = 0xFFFFFFFF / 1000.0
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "esp": 50, "icmpv6": 58}
UNIT = 8              # fragment offsets count 8-byte units
ROW_UNITS = 16        # units per register row (one per lane array)


# ---- the data plane's arithmetic ------------------------------------------------------
def store_plan(unit: int, units: int, tail: int) -> tuple[int, int, int]:
    """(lane_first, full units, tail bytes) of the next store pass (plan_store).

    ``unit``: the next unit to store, ``units``: the fragment's units still to
    store (its partial last unit included), ``tail``: bytes of that partial
    unit (0: none). A pass stops at the end of the current 16-unit row.
    """
    first = unit % ROW_UNITS
    room = ROW_UNITS - first
    if units > room:
        return first, room, 0
    if tail:
        return first, units - 1, tail
    return first, units, 0


def range_mask(u0: int, u1: int, base: int) -> int:
    """Bits of units [u0, u1) in the 64-unit bitmap word starting at ``base``."""
    lo = min(max(u0 - base, 0), 64)
    hi = min(max(u1 - base, 0), 64)
    return ((1 << hi) - 1) & ~((1 << lo) - 1) & ((1 << 64) - 1)


def fragment_units(offset_units: int, payload_len: int) -> tuple[int, int]:
    """Units [u0, u1) a fragment covers."""
    return offset_units, offset_units + (payload_len + UNIT - 1) // UNIT


def store_passes(offset_units: int, payload_len: int) -> int:
    """Store passes of one fragment (one per 16-unit row it touches)."""
    u0, u1 = fragment_units(offset_units, payload_len)
    return (u1 - 1) // ROW_UNITS - u0 // ROW_UNITS + 1


def datagram_passes(fragments: Iterable[tuple[int, int]]) -> int:
    """Recirculation passes (RE_PASSES) to reassemble a datagram from its
    fragments, given as (offset in units, payload bytes): each fragment's store
    passes (the first recirculation comes from its arrival), the turn of the
    last store pass into the emitter, one emit pass per row (the last one feeds
    the datagram back). A fragment alone costs ``store_passes``."""
    frags = list(fragments)
    total_units = max(fragment_units(o, n_)[1] for o, n_ in frags)
    emit = (total_units - 1) // ROW_UNITS + 1
    return sum(store_passes(o, n_) for o, n_ in frags) + 1 + emit


def reasm_key(src: str, dst: str, proto: int, ident: int, *, decrypted: bool = False,
              key_index: int = 0) -> int:
    """The 128-bit key of a datagram's slot (reassembly.p4, ``key``)."""
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if a.version != b.version:
        raise ValueError("source and destination of different IP versions")
    if a.version == 4:
        addr = (int(a) << 32) | int(b)
    else:
        addr = (zlib.crc32(a.packed) << 32) | zlib.crc32(b.packed)
    return ((int(a.version == 6) << 127) | (int(decrypted) << 126) | ((key_index & 0xFFFF) << 110)
            | ((proto & 0xFF) << 102) | ((ident & 0xFFFFFFFF) << 70) | addr)


def reasm_slot(key: int) -> int:
    """The slot a key hashes to: the top 6 bits of the CRC-32 of the key's 16 bytes
    (64 consecutive identifications of one sender spread over (nearly) all slots)."""
    return zlib.crc32(key.to_bytes(16, "big")) >> 26


# ---- policy entries -----------------------------------------------------------------
@dataclass(frozen=True)
class ReassemblyPolicy:
    """Reassemble ``protocol``'s fragments (None: every protocol). Slots taken
    under another ``epoch`` count as free: a new epoch flushes partial datagrams."""
    protocol: int | None = None
    timeout_ms: float = DEFAULT_TIMEOUT_MS
    epoch: int = 0

    def __post_init__(self) -> None:
        if self.protocol is not None and not 0 <= self.protocol <= 255:
            raise NicConfigError(f"IP protocol {self.protocol} outside 0..255")
        if not 0 < self.timeout_ms <= MAX_TIMEOUT_MS:
            raise NicConfigError(f"reassembly timeout {self.timeout_ms} ms outside "
                                 f"(0, {MAX_TIMEOUT_MS:.0f}]")

    def handle(self) -> Handle:
        if self.protocol is None:
            return Handle("reasm_policy", n.REASM_POLICY, (0, 0), priority=10)
        return Handle("reasm_policy", n.REASM_POLICY, (self.protocol, 0xFF), priority=20)


def parse_protocol(text: str | int) -> int | None:
    """'udp' / '17' / 17 -> 17; 'all' / '*' -> None."""
    if isinstance(text, int):
        return text
    t = text.strip().lower()
    if t in ("all", "*", "any"):
        return None
    if t in PROTOCOLS:
        return PROTOCOLS[t]
    try:
        return int(t, 0)
    except ValueError:
        raise NicConfigError(f"unknown IP protocol '{text}' (one of {', '.join(PROTOCOLS)}, "
                             f"a number, or 'all')") from None


def _next_epoch(drv: NicDriver) -> int:
    """An epoch no installed policy has; random at first, so that a restarted
    driver does not reuse the epoch of the slots it left behind."""
    held = [p.epoch for _, p in drv.entries("reasm_policy")]
    return (max(held) + 1) % 256 if held else random.randrange(256)


def _install(drv: NicDriver, pol: ReassemblyPolicy) -> Handle:
    """Insert the policy's entry, or modify it in place (no moment without policy)."""
    h = pol.handle()
    loop = drv._ports().loop
    if loop is None:
        raise NicConfigError("fragment reassembly needs the loopback port pair (PortMap.loop, "
                             "--loop-ports): the NIC builds datagrams through it")
    match = {n.MF_IP_PROTO: Ternary(*h.key)}
    ent = drv._builder().table(n.REASM_POLICY, match, n.REASSEMBLE,
                               {"timeout": int(pol.timeout_ms * 1000),
                                "policy_epoch": pol.epoch, "loop": loop[0]},
                               priority=h.priority)
    with drv._lock:
        if any(h == old for old, _ in drv.entries("reasm_policy")):
            drv.client.modify(ent, f"modify reasm_policy {h.key}")
            drv._entries[h] = pol
            return h
    return drv._insert(h, ent, pol)


def enable_reassembly(drv: NicDriver, protocols: Iterable[str | int | None] = (None,),
                      timeout_ms: float = DEFAULT_TIMEOUT_MS) -> list[Handle]:
    """Reassemble fragments of ``protocols`` (None or 'all': every protocol) in
    the NIC; policies already installed are replaced, and every policy moves to
    a new epoch (partial datagrams held so far are dropped)."""
    wanted = [p if p is None else parse_protocol(p) for p in protocols]
    epoch = _next_epoch(drv)
    kept = [dataclasses.replace(p, epoch=epoch) for _, p in drv.entries("reasm_policy")
            if p.protocol not in wanted]
    new = [ReassemblyPolicy(p, timeout_ms, epoch) for p in dict.fromkeys(wanted)]
    return [_install(drv, pol) for pol in kept + new][len(kept):]


def set_reassembly_timeout(drv: NicDriver, timeout_ms: float) -> int:
    """Change every policy's timeout in place, keeping its epoch: the datagrams held
    stay, and the new timeout applies to them from their next fragment. Returns
    how many policies changed."""
    pols = [dataclasses.replace(pol, timeout_ms=timeout_ms)      # (checks the timeout)
            for _, pol in drv.entries("reasm_policy")]
    for pol in pols:
        _install(drv, pol)
    return len(pols)


def flush_reassembly(drv: NicDriver) -> int:
    """Drop every partial datagram the NIC holds (a new epoch for every policy);
    returns the epoch."""
    epoch = _next_epoch(drv)
    for _, pol in drv.entries("reasm_policy"):
        _install(drv, dataclasses.replace(pol, epoch=epoch))
    return epoch


def disable_reassembly(drv: NicDriver) -> int:
    """Remove every reassembly policy this driver installed; returns how many."""
    handles = [h for h, _ in drv.entries("reasm_policy")]
    for h in handles:
        drv._remove(h)
    return len(handles)


def reassembly_counters(drv: NicDriver) -> dict[str, tuple[int, int]]:
    """reasm_events: event -> (packets, bytes)."""
    from p4.v1 import p4runtime_pb2

    from p4nic.entries import entity
    cid = drv._schema().counter(n.REASM_EVENTS).preamble.id
    got = drv.client.read([entity(counter_entry=p4runtime_pb2.CounterEntry(counter_id=cid))],
                          "read reasm_events")
    out = {name: (0, 0) for name in n.REASM_EVENT_NAMES}
    for e in got:
        i = e.counter_entry.index.index
        if i < len(n.REASM_EVENT_NAMES):
            out[n.REASM_EVENT_NAMES[i]] = (e.counter_entry.data.packet_count,
                                           e.counter_entry.data.byte_count)
    return out
