"""P4Info lookups and P4Runtime message building by name.

Names resolve through p4runtime-shell's :class:`Context` (one instance per
pipeline, not the shell's global one), so fully qualified names and unique
suffixes both work. Values become bytestrings in the canonical form of the
P4Runtime specification (section 8.4: shortest big-endian representation,
at least one byte), with a range check against the field's bit width.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import google.protobuf.text_format as text_format
from p4.config.v1 import p4info_pb2
from p4.v1 import p4data_pb2, p4runtime_pb2
from p4runtime_sh.bytes_utils import to_canonical_bytes
from p4runtime_sh.context import Context, P4Type

Value = int | str | bytes


class P4InfoError(LookupError):
    """A name the P4Info does not have, or a value that does not fit."""


def load_p4info(path: str) -> p4info_pb2.P4Info:
    """P4Info from its text format (.txtpb / .txt) or binary (.bin / .pb)."""
    p4info = p4info_pb2.P4Info()
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith((".bin", ".pb")):
        p4info.ParseFromString(raw)
    else:
        try:
            text_format.Merge(raw.decode(), p4info)
        except text_format.ParseError as e:
            raise P4InfoError(f"{path}: not a P4Info text file: {e}") from None
    return p4info


def value_to_int(value: Value, bitwidth: int, what: str = "value") -> int:
    """int, IPv4/IPv6 address or MAC address text, or raw bytes -> int, range-checked."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, bytes):
        n = int.from_bytes(value, "big")
    elif isinstance(value, int):
        n = value
    elif isinstance(value, str):
        text = value.strip()
        if bitwidth == 48 and text.count(":") == 5:
            try:
                n = int.from_bytes(bytes(int(b, 16) for b in text.split(":")), "big")
            except ValueError:
                raise P4InfoError(f"{what}: '{value}' is not a MAC address") from None
        elif bitwidth in (32, 128) and ("." in text or ":" in text):
            try:
                n = int(ipaddress.ip_address(text))
            except ValueError:
                raise P4InfoError(f"{what}: '{value}' is not an IP address") from None
            if (bitwidth == 32) != (ipaddress.ip_address(text).version == 4):
                raise P4InfoError(f"{what}: '{value}' is not an IPv{4 if bitwidth == 32 else 6} "
                                  f"address")
        else:
            try:
                n = int(text, 0)
            except ValueError:
                raise P4InfoError(f"{what}: '{value}' is not a number") from None
    else:
        raise P4InfoError(f"{what}: unsupported value type {type(value).__name__}")
    if n < 0 or n >> bitwidth:
        raise P4InfoError(f"{what}: {value!r} does not fit in {bitwidth} bits")
    return n


def encode(value: Value, bitwidth: int, what: str = "value") -> bytes:
    """Canonical P4Runtime bytestring of ``value`` in a ``bitwidth``-bit field."""
    n = value_to_int(value, bitwidth, what)
    return to_canonical_bytes(n.to_bytes(max(1, (bitwidth + 7) // 8), "big"))


def decode(data: bytes) -> int:
    return int.from_bytes(data, "big")


@dataclass(frozen=True)
class Ternary:
    value: Value
    mask: Value


@dataclass(frozen=True)
class Lpm:
    value: Value
    prefix_len: int


@dataclass(frozen=True)
class Range:
    low: Value
    high: Value


MatchSpec = Value | Ternary | Lpm | Range | None


class P4Schema:
    """Everything the driver looks up in the P4Info, by fully qualified name."""

    def __init__(self, p4info: p4info_pb2.P4Info):
        self.p4info = p4info
        self._ctx = Context()
        self._ctx.set_p4info(p4info)
        self._direct_counter_by_table = {
            dc.direct_table_id: dc for dc in p4info.direct_counters}
        self._digest_by_id = {d.preamble.id: d for d in p4info.digests}

    @classmethod
    def from_file(cls, path: str) -> P4Schema:
        return cls(load_p4info(path))

    def _obj(self, kind: P4Type, name: str) -> Any:
        obj = self._ctx.get_obj(kind, name)
        if obj is None:
            known = ", ".join(sorted(n for n, _ in self._ctx.get_objs(kind))) or "none"
            raise P4InfoError(f"no {kind.pretty_name} '{name}' in the P4Info "
                              f"(it has: {known})")
        return obj

    # ---- lookups -----------------------------------------------------------------------
    def table(self, name: str) -> p4info_pb2.Table:
        return self._obj(P4Type.table, name)

    def table_id(self, name: str) -> int:
        return self.table(name).preamble.id

    def table_name(self, table_id: int) -> str:
        return self._ctx.get_name_from_id(table_id)

    def action(self, name: str) -> p4info_pb2.Action:
        return self._obj(P4Type.action, name)

    def action_id(self, name: str) -> int:
        return self.action(name).preamble.id

    def action_name(self, action_id: int) -> str:
        return self._ctx.get_name_from_id(action_id)

    def counter(self, name: str) -> p4info_pb2.Counter:
        return self._obj(P4Type.counter, name)

    def direct_counter_of(self, table_name: str) -> p4info_pb2.DirectCounter | None:
        return self._direct_counter_by_table.get(self.table_id(table_name))

    def digest(self, name: str) -> p4info_pb2.Digest:
        return self._obj(P4Type.digest, name)

    def digest_name(self, digest_id: int) -> str:
        d = self._digest_by_id.get(digest_id)
        if d is None:
            raise P4InfoError(f"no digest with id {digest_id} in the P4Info")
        return d.preamble.name

    def digest_members(self, name: str) -> list[tuple[str, int]]:
        """(member name, bit width) of a digest's struct, in order."""
        d = self.digest(name)
        spec = d.type_spec
        if spec.HasField("struct"):
            struct = self.p4info.type_info.structs[spec.struct.name]
            return [(m.name, m.type_spec.bitstring.bit.bitwidth) for m in struct.members]
        if spec.HasField("bitstring"):
            return [(name, spec.bitstring.bit.bitwidth)]
        raise P4InfoError(f"digest '{name}': unsupported type {spec}")

    def packet_metadata(self, header: str) -> list[p4info_pb2.ControllerPacketMetadata.Metadata]:
        return list(self._obj(P4Type.controller_packet_metadata, header).metadata)

    def match_field(self, table: str, field: str) -> p4info_pb2.MatchField:
        t = self.table(table)
        for mf in t.match_fields:
            if mf.name == field:
                return mf
        known = ", ".join(mf.name for mf in t.match_fields)
        raise P4InfoError(f"table '{table}' has no match field '{field}' (it has: {known})")

    # ---- message building ---------------------------------------------------------------
    def field_match(self, table: str, field: str, spec: MatchSpec) -> p4runtime_pb2.FieldMatch | None:
        """FieldMatch for one key; None for a don't-care (omitted, as the spec requires)."""
        if spec is None:
            return None
        mf = self.match_field(table, field)
        w = mf.bitwidth
        what = f"{table} key {field}"
        fm = p4runtime_pb2.FieldMatch(field_id=mf.id)
        kind = mf.match_type
        kinds = {Ternary: p4info_pb2.MatchField.TERNARY, Lpm: p4info_pb2.MatchField.LPM,
                 Range: p4info_pb2.MatchField.RANGE}
        if type(spec) in kinds and kinds[type(spec)] != kind:
            raise P4InfoError(f"{what}: match kind {p4info_pb2.MatchField.MatchType.Name(kind).lower()}, "
                              f"given {type(spec).__name__}")
        if kind == p4info_pb2.MatchField.EXACT:
            fm.exact.value = encode(spec, w, what)
        elif kind == p4info_pb2.MatchField.TERNARY:
            if not isinstance(spec, Ternary):
                spec = Ternary(spec, (1 << w) - 1)
            value = value_to_int(spec.value, w, what)
            mask = value_to_int(spec.mask, w, what + " mask")
            if mask == 0:
                return None
            fm.ternary.value = encode(value & mask, w, what)
            fm.ternary.mask = encode(mask, w, what)
        elif kind == p4info_pb2.MatchField.LPM:
            if not isinstance(spec, Lpm):
                spec = Lpm(spec, w)
            if not 0 <= spec.prefix_len <= w:
                raise P4InfoError(f"{what}: prefix length {spec.prefix_len} out of 0..{w}")
            if spec.prefix_len == 0:
                return None
            value = value_to_int(spec.value, w, what)
            value &= ((1 << spec.prefix_len) - 1) << (w - spec.prefix_len)
            fm.lpm.value = encode(value, w, what)
            fm.lpm.prefix_len = spec.prefix_len
        elif kind == p4info_pb2.MatchField.RANGE:
            if not isinstance(spec, Range):
                spec = Range(spec, spec)
            fm.range.low = encode(spec.low, w, what)
            fm.range.high = encode(spec.high, w, what)
        elif kind == p4info_pb2.MatchField.OPTIONAL:
            fm.optional.value = encode(spec, w, what)
        else:
            raise P4InfoError(f"{what}: unsupported match kind {kind}")
        return fm

    def action_msg(self, name: str, params: Mapping[str, Value] | None = None) -> p4runtime_pb2.Action:
        a = self.action(name)
        params = dict(params or {})
        msg = p4runtime_pb2.Action(action_id=a.preamble.id)
        for p in a.params:
            if p.name not in params:
                raise P4InfoError(f"action '{name}': parameter '{p.name}' missing")
            msg.params.add(param_id=p.id,
                           value=encode(params.pop(p.name), p.bitwidth, f"{name}({p.name})"))
        if params:
            raise P4InfoError(f"action '{name}' has no parameter(s) {', '.join(params)}")
        return msg

    def table_entry(self, table: str, match: Mapping[str, MatchSpec],
                    action: str | None = None, params: Mapping[str, Value] | None = None,
                    priority: int = 0) -> p4runtime_pb2.TableEntry:
        te = p4runtime_pb2.TableEntry(table_id=self.table_id(table), priority=priority)
        for field, spec in match.items():
            fm = self.field_match(table, field, spec)
            if fm is not None:
                te.match.append(fm)
        if action is not None:
            te.action.action.CopyFrom(self.action_msg(action, params))
        return te

    def decode_match(self, te: p4runtime_pb2.TableEntry) -> dict[str, Any]:
        """Match of an entry read back: field name -> int / (value, mask) / (value, plen)."""
        t = self._ctx.get_obj_by_id(te.table_id)
        names = {mf.id: mf.name for mf in t.match_fields}
        out: dict[str, Any] = {}
        for fm in te.match:
            name = names.get(fm.field_id, str(fm.field_id))
            which = fm.WhichOneof("field_match_type")
            if which == "exact":
                out[name] = decode(fm.exact.value)
            elif which == "ternary":
                out[name] = (decode(fm.ternary.value), decode(fm.ternary.mask))
            elif which == "lpm":
                out[name] = (decode(fm.lpm.value), fm.lpm.prefix_len)
            elif which == "range":
                out[name] = (decode(fm.range.low), decode(fm.range.high))
            elif which == "optional":
                out[name] = decode(fm.optional.value)
        return out

    def decode_action(self, te: p4runtime_pb2.TableEntry) -> tuple[str, dict[str, int]]:
        act = te.action.action
        a = self._ctx.get_obj_by_id(act.action_id)
        names = {p.id: p.name for p in a.params}
        return a.preamble.name, {names.get(p.param_id, str(p.param_id)): decode(p.value)
                                 for p in act.params}

    def decode_digest_data(self, name: str, data: p4data_pb2.P4Data) -> dict[str, int]:
        """One digest list element -> member name -> int."""
        members = self.digest_members(name)
        if data.HasField("struct"):
            values = [decode(m.bitstring) for m in data.struct.members]
            if len(values) != len(members):
                raise P4InfoError(f"digest '{name}': {len(values)} members, "
                                  f"P4Info says {len(members)}")
            return {m: v for (m, _), v in zip(members, values)}
        if data.HasField("bitstring"):
            return {members[0][0]: decode(data.bitstring)}
        raise P4InfoError(f"digest '{name}': unexpected data {data}")
