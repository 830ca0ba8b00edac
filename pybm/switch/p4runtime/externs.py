"""CounterEntry, MeterEntry, RegisterEntry and ValueSetEntry.

These entities only support MODIFY (INSERT and DELETE are INVALID_ARGUMENT,
as the specification says); an unset ``index`` addresses every cell, in
writes as in reads. BMv2's P4Runtime server answers RegisterEntry with
UNIMPLEMENTED; pybm serves registers so they can be inspected while
debugging (DESIGN.md section 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from p4.v1 import p4runtime_pb2

from pybm.switch.errors import RuntimeApiError
from pybm.switch.p4runtime import convert
from pybm.switch.p4runtime.errors import (
    ALREADY_EXISTS,
    INVALID_ARGUMENT,
    OUT_OF_RANGE,
    RESOURCE_EXHAUSTED,
    UNIMPLEMENTED,
    P4RTError,
    from_engine,
)
from pybm.switch.p4runtime.pipeline import (
    EXACT,
    LPM,
    OPTIONAL,
    RANGE,
    TERNARY,
    ArrayInfo,
    Binding,
    ValueSetInfo,
)

Update = p4runtime_pb2.Update


def _engine(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except RuntimeApiError as e:
        raise from_engine(e) from None


def _modify_only(utype: int, what: str) -> str:
    where = f"{Update.Type.Name(utype)} {what}"
    if utype != Update.MODIFY:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: only MODIFY applies to {what} entries")
    return where


def _lookup(table: dict[int, Any], obj_id: int, what: str) -> Any:
    info = table.get(obj_id)
    if info is None:
        raise P4RTError(INVALID_ARGUMENT, f"unknown {what} id {obj_id}")
    return info


def _indices(info: ArrayInfo, entry: Any, where: str) -> range:
    """Cells an entry addresses: one if ``index`` is set, all of them otherwise."""
    if not entry.HasField("index"):
        return range(info.size)
    i = entry.index.index
    if i < 0:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: negative index {i}")
    if i >= info.size:
        raise P4RTError(OUT_OF_RANGE, f"{where}: index {i} is beyond the {info.size} cells of "
                                      f"'{info.name}'")
    return range(i, i + 1)


def _selected(table: dict[int, Any], obj_id: int, what: str) -> list[Any]:
    return list(table.values()) if obj_id == 0 else [_lookup(table, obj_id, what)]


# -- counters -------------------------------------------------------------------------


def write_counter(b: Binding, utype: int, ce: p4runtime_pb2.CounterEntry) -> None:
    where = _modify_only(utype, "counter")
    info = _lookup(b.pipeline.counters, ce.counter_id, "counter")
    cells = _indices(info, ce, where)
    if not ce.HasField("data"):
        return  # nothing to change, as the specification says
    nbytes, npackets = convert.check_counter_data(ce.data, where)
    for i in cells:
        _engine(b.target.counter_write, info.name, i, nbytes, npackets)


def read_counters(b: Binding, want: p4runtime_pb2.CounterEntry) -> Iterator[p4runtime_pb2.Entity]:
    for info in _selected(b.pipeline.counters, want.counter_id, "counter"):
        for i in _indices(info, want, "read counter"):
            nbytes, npackets = _engine(b.target.counter_read, info.name, i)
            ce = p4runtime_pb2.CounterEntry(counter_id=info.id,
                                            data=convert.counter_data(nbytes, npackets, info.unit))
            ce.index.index = i
            yield p4runtime_pb2.Entity(counter_entry=ce)


# -- meters ---------------------------------------------------------------------------


def write_meter(b: Binding, utype: int, me: p4runtime_pb2.MeterEntry) -> None:
    where = _modify_only(utype, "meter")
    info = _lookup(b.pipeline.meters, me.meter_id, "meter")
    if me.HasField("counter_data"):
        raise P4RTError(UNIMPLEMENTED, f"{where}: per-color meter counters are not supported")
    cells = _indices(info, me, where)
    rates = convert.meter_config_to_rates(me.config, where) if me.HasField("config") else None
    for i in cells:
        if rates is None:  # unset config: back to the default (every packet GREEN)
            _engine(b.target.meter_reset_rates, info.name, i)
        else:
            _engine(b.target.meter_set_rates, info.name, i, rates)


def read_meters(b: Binding, want: p4runtime_pb2.MeterEntry) -> Iterator[p4runtime_pb2.Entity]:
    if want.HasField("counter_data"):
        raise P4RTError(UNIMPLEMENTED, "read meter: per-color meter counters are not supported")
    for info in _selected(b.pipeline.meters, want.meter_id, "meter"):
        for i in _indices(info, want, "read meter"):
            me = p4runtime_pb2.MeterEntry(meter_id=info.id)
            me.index.index = i
            cfg = convert.rates_to_meter_config(_engine(b.target.meter_get_rates, info.name, i))
            if cfg is not None:
                me.config.CopyFrom(cfg)
            yield p4runtime_pb2.Entity(meter_entry=me)


# -- registers ------------------------------------------------------------------------


def _register(b: Binding, register_id: int, where: str) -> ArrayInfo:
    info = _lookup(b.pipeline.registers, register_id, "register")
    if not info.bitstring:
        raise P4RTError(UNIMPLEMENTED,
                        f"{where}: register '{info.name}' holds a non-bitstring type")
    return info


def write_register(b: Binding, utype: int, re: p4runtime_pb2.RegisterEntry) -> None:
    where = _modify_only(utype, "register")
    info = _register(b, re.register_id, where)
    cells = _indices(info, re, where)
    if not re.HasField("data"):
        raise P4RTError(INVALID_ARGUMENT, f"{where}: 'data' is required")
    value = convert.p4data_to_int(re.data, info.bitwidth, info.signed,
                                  f"{where}: register '{info.name}'")
    for i in cells:
        _engine(b.target.register_write, info.name, i, value)


def read_registers(b: Binding, want: p4runtime_pb2.RegisterEntry
                   ) -> Iterator[p4runtime_pb2.Entity]:
    infos = _selected(b.pipeline.registers, want.register_id, "register")
    for info in infos:
        if want.register_id == 0 and not info.bitstring:
            continue
        info = _register(b, info.id, "read register")
        for i in _indices(info, want, "read register"):
            value = _engine(b.target.register_read, info.name, i)
            re = p4runtime_pb2.RegisterEntry(
                register_id=info.id, data=convert.p4data_bitstring(value, info.bitwidth, info.signed))
            re.index.index = i
            yield p4runtime_pb2.Entity(register_entry=re)


# -- parser value sets -------------------------------------------------------------------


def _member_to_engine(info: ValueSetInfo, given: list[Any], where: str) -> tuple[int, int]:
    """A member (engine match list) -> (value, mask) over the select key.

    The engine builds a parser select key by concatenating its fields each
    padded to whole bytes (as BMv2 does), so members are laid out the same way.
    """
    value = mask = 0
    for mf, m in zip(info.fields, given):
        slot = (mf.bitwidth + 7) // 8 * 8
        full = (1 << mf.bitwidth) - 1
        if mf.match_type == EXACT:
            v, k = m, full
        elif mf.match_type == LPM:
            v, plen = m
            k = ((1 << plen) - 1) << (mf.bitwidth - plen)
        elif mf.match_type in (TERNARY, OPTIONAL):
            v, k = m
        elif mf.match_type == RANGE:
            raise P4RTError(UNIMPLEMENTED, f"{where}: range matches in value sets are not supported")
        else:  # pragma: no cover - the pipeline refuses other kinds
            raise P4RTError(INVALID_ARGUMENT, f"{where}: unsupported match kind")
        value = (value << slot) | v
        mask = (mask << slot) | k
    return value, mask


def write_value_set(b: Binding, utype: int, vse: p4runtime_pb2.ValueSetEntry) -> None:
    where = _modify_only(utype, "value set")
    info: ValueSetInfo = _lookup(b.pipeline.value_sets, vse.value_set_id, "value set")
    if info.size and len(vse.members) > info.size:
        raise P4RTError(RESOURCE_EXHAUSTED,
                        f"{where}: {len(vse.members)} members exceed the size {info.size} of "
                        f"'{info.name}'")
    full = 0
    for mf in info.fields:
        slot = (mf.bitwidth + 7) // 8 * 8
        full = (full << slot) | ((1 << mf.bitwidth) - 1)
    members: list[tuple[int, int]] = []
    canonical = []
    for m in vse.members:
        given = convert.match_to_engine(info.fields, info.fields_by_id, m.match, where)
        vm = _member_to_engine(info, given, where)
        if vm in members:
            raise P4RTError(ALREADY_EXISTS, f"{where}: duplicate member in '{info.name}'")
        members.append(vm)
        # kept in canonical form so that reads mirror writes
        canonical.append(p4runtime_pb2.ValueSetMember(
            match=convert.match_from_engine(info.fields, given)))
    # Everything is validated: replace the set's contents in one go.
    _engine(b.target.parse_vset_clear, info.name)
    for value, mask in members:
        _engine(b.target.parse_vset_add, info.name, value, None if mask == full else mask)
    b.vset_members[info.id] = canonical


def read_value_sets(b: Binding, want: p4runtime_pb2.ValueSetEntry
                    ) -> Iterator[p4runtime_pb2.Entity]:
    for info in _selected(b.pipeline.value_sets, want.value_set_id, "value set"):
        vse = p4runtime_pb2.ValueSetEntry(value_set_id=info.id)
        vse.members.extend(b.vset_members.get(info.id, []))
        yield p4runtime_pb2.Entity(value_set_entry=vse)
