"""TableEntry, DirectCounterEntry and DirectMeterEntry (P4Runtime spec sections
"TableEntry", "Direct Resources", "CounterEntry & DirectCounterEntry",
"MeterEntry & DirectMeterEntry").

Priorities: P4Runtime orders entries by priority, highest first; the engine,
like BMv2, prefers the numerically lowest. Entries written by clients are
stored as ``PRIO_BASE - priority``. Const entries come from the BMv2 JSON
with p4c's priorities (1 = highest); they are reported as the specification
requires, from 1 for the lowest-priority entry upwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from p4.v1 import p4runtime_pb2

from pybm.switch.errors import RuntimeApiError
from pybm.switch.p4runtime import convert
from pybm.switch.p4runtime.errors import (
    INVALID_ARGUMENT,
    NOT_FOUND,
    PERMISSION_DENIED,
    UNIMPLEMENTED,
    P4RTError,
    from_engine,
)
from pybm.switch.p4runtime.pipeline import (
    SCOPE_DEFAULT_ONLY,
    SCOPE_TABLE_ONLY,
    Binding,
    EntryMeta,
    TableInfo,
)
from pybm.switch.tables import Entry, MatchTable

Update = p4runtime_pb2.Update
PRIO_BASE = 1 << 31  # P4Runtime priorities are positive int32 values


def _engine(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except RuntimeApiError as e:
        raise from_engine(e) from None


class _Priorities:
    """P4Runtime <-> engine priority mapping for one table (the map is its own inverse)."""

    def __init__(self, info: TableInfo, table: MatchTable):
        self.needed = info.needs_priority
        # Const entries keep p4c's numbering (1 = highest); report the last one as 1.
        self.flip = (max((e.priority for e in table.entries.values()), default=0) + 1
                     if table.immutable else PRIO_BASE)

    def convert(self, prio: int) -> int:
        return self.flip - prio if self.needed else 0


def _check_priority(info: TableInfo, prio: int, where: str) -> None:
    if info.needs_priority:
        if prio <= 0:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: table '{info.name}' has ternary/range/optional fields, "
                            f"entries need a priority > 0 (got {prio})")
    elif prio != 0:
        raise P4RTError(INVALID_ARGUMENT,
                        f"{where}: table '{info.name}' has no ternary/range/optional field, "
                        f"priority must be 0 (got {prio})")


def _check_mutable(info: TableInfo, table: MatchTable, where: str) -> None:
    if info.is_const:
        raise P4RTError(PERMISSION_DENIED, f"{where}: table '{info.name}' is const")
    if table.immutable:
        raise P4RTError(PERMISSION_DENIED,
                        f"{where}: table '{info.name}' holds entries from the P4 program, which "
                        "pybm-switch keeps immutable")


def _check_idle_timeout(info: TableInfo, te: p4runtime_pb2.TableEntry, where: str) -> None:
    asked = te.idle_timeout_ns != 0 or te.HasField("time_since_last_hit")
    if not asked:
        return
    if te.is_default_action:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: default entries have no idle timeout")
    if not info.idle_timeout:
        raise P4RTError(INVALID_ARGUMENT,
                        f"{where}: table '{info.name}' does not support idle timeouts")
    raise P4RTError(UNIMPLEMENTED, f"{where}: pybm-switch does not implement idle timeouts")


def _resolve_action(b: Binding, info: TableInfo, table: MatchTable, te: p4runtime_pb2.TableEntry,
                    default: bool, where: str) -> tuple[str, list[int]]:
    kind = te.action.WhichOneof("type")
    if kind != "action":
        raise P4RTError(INVALID_ARGUMENT,
                        f"{where}: table '{info.name}' is a direct table and needs an 'action' "
                        f"(got {kind or 'nothing'})")
    a = te.action.action
    if a.action_id not in info.scopes:
        raise P4RTError(INVALID_ARGUMENT,
                        f"{where}: action id {a.action_id} is not an action of table '{info.name}'")
    action = b.pipeline.action(a.action_id)
    scope = info.scopes[a.action_id]
    if default and scope == SCOPE_TABLE_ONLY:
        raise P4RTError(PERMISSION_DENIED,
                        f"{where}: action '{action.name}' is @tableonly in table '{info.name}', "
                        "it cannot be the default action")
    if not default and scope == SCOPE_DEFAULT_ONLY:
        raise P4RTError(PERMISSION_DENIED,
                        f"{where}: action '{action.name}' is @defaultonly in table '{info.name}'")
    return action.name, convert.params_to_engine(action, a, where)


def _direct_resources(info: TableInfo, te: p4runtime_pb2.TableEntry, where: str
                      ) -> tuple[tuple[int, int] | None, list[tuple[float, int]] | None]:
    """Validated (counter values, meter rates) carried by a TableEntry."""
    if te.HasField("meter_counter_data"):
        raise P4RTError(UNIMPLEMENTED, f"{where}: per-color meter counters are not supported")
    counters = rates = None
    if te.HasField("counter_data"):
        if info.direct_counter is None:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: table '{info.name}' has no direct counter (counter_data set)")
        counters = convert.check_counter_data(te.counter_data, where)
    if te.HasField("meter_config"):
        if info.direct_meter is None:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: table '{info.name}' has no direct meter (meter_config set)")
        rates = convert.meter_config_to_rates(te.meter_config, where)
    return counters, rates


def _match(info: TableInfo, te: p4runtime_pb2.TableEntry, where: str) -> list[Any]:
    return convert.match_to_engine(info.fields, info.fields_by_id, te.match, where)


def _find(b: Binding, info: TableInfo, table: MatchTable, te: p4runtime_pb2.TableEntry,
          where: str) -> Entry:
    _check_priority(info, te.priority, where)
    match = _match(info, te, where)
    prio = _Priorities(info, table).convert(te.priority)
    try:
        return table.find(match, prio)
    except RuntimeApiError:
        raise P4RTError(NOT_FOUND, f"{where}: no such entry in table '{info.name}'") from None


# -- writes -------------------------------------------------------------------------


def write_table_entry(b: Binding, utype: int, te: p4runtime_pb2.TableEntry) -> None:
    info = b.pipeline.table(te.table_id)
    where = f"{Update.Type.Name(utype)} table '{info.name}'"
    if te.is_const:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: 'is_const' must be false in a write")
    table: MatchTable = _engine(b.target.table, info.name)
    if te.is_default_action:
        if utype != Update.MODIFY:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: the default entry always exists; only MODIFY applies to it")
        _modify_default(b, info, table, te, where)
        return
    if utype == Update.INSERT:
        _insert(b, info, table, te, where)
    elif utype == Update.MODIFY:
        _modify(b, info, table, te, where)
    elif utype == Update.DELETE:
        _delete(b, info, table, te, where)
    else:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: update type UNSPECIFIED")


def _insert(b: Binding, info: TableInfo, table: MatchTable, te: p4runtime_pb2.TableEntry,
            where: str) -> None:
    _check_mutable(info, table, where)
    if not info.fields:
        raise P4RTError(INVALID_ARGUMENT,
                        f"{where}: table '{info.name}' is keyless; only its default entry exists")
    _check_idle_timeout(info, te, where)
    _check_priority(info, te.priority, where)
    match = _match(info, te, where)
    action, data = _resolve_action(b, info, table, te, False, where)
    counters, rates = _direct_resources(info, te, where)
    prio = _Priorities(info, table).convert(te.priority)
    handle = _engine(table.add, match, action, data, prio)
    try:
        if counters is not None:
            _engine(b.target.table_counter_write, info.name, handle, *counters)
        if rates is not None:
            _engine(b.target.table_meter_set_rates, info.name, handle, rates)
    except P4RTError:
        table.delete(handle)  # all or nothing for one update
        raise
    b.entry_meta[(info.name, handle)] = EntryMeta(te.controller_metadata, te.metadata)


def _modify(b: Binding, info: TableInfo, table: MatchTable, te: p4runtime_pb2.TableEntry,
            where: str) -> None:
    _check_idle_timeout(info, te, where)
    entry = _find(b, info, table, te, where)
    const = info.is_const or table.immutable
    new_action = None
    if te.HasField("action"):
        if const:
            raise P4RTError(PERMISSION_DENIED,
                            f"{where}: table '{info.name}' is const; only its direct resources "
                            "may be modified (leave the action unset)")
        new_action = _resolve_action(b, info, table, te, False, where)
    counters, rates = _direct_resources(info, te, where)
    if new_action is not None:
        _engine(table.modify, entry.handle, *new_action)
        b.entry_meta[(info.name, entry.handle)] = EntryMeta(te.controller_metadata, te.metadata)
    if counters is not None:
        _engine(b.target.table_counter_write, info.name, entry.handle, *counters)
    if info.direct_meter is not None:
        # An unset meter_config in a MODIFY puts the meter back to its default (all GREEN).
        if rates is not None:
            _engine(b.target.table_meter_set_rates, info.name, entry.handle, rates)
        else:
            _engine(b.target.table_meter_reset_rates, info.name, entry.handle)


def _delete(b: Binding, info: TableInfo, table: MatchTable, te: p4runtime_pb2.TableEntry,
            where: str) -> None:
    _check_mutable(info, table, where)
    entry = _find(b, info, table, te, where)
    _engine(table.delete, entry.handle)
    b.entry_meta.pop((info.name, entry.handle), None)


def _modify_default(b: Binding, info: TableInfo, table: MatchTable,
                    te: p4runtime_pb2.TableEntry, where: str) -> None:
    where = f"{where} (default entry)"
    if te.match or te.priority:
        raise P4RTError(INVALID_ARGUMENT,
                        f"{where}: a default entry has no match fields and priority 0")
    _check_idle_timeout(info, te, where)
    if info.const_default_action_id:
        raise P4RTError(PERMISSION_DENIED,
                        f"{where}: the default action of table '{info.name}' is const")
    if te.HasField("meter_counter_data") or te.HasField("counter_data") or \
            te.HasField("meter_config"):
        raise P4RTError(UNIMPLEMENTED,
                        f"{where}: pybm-switch keeps no direct counter/meter on table misses")
    if te.HasField("action"):
        action, data = _resolve_action(b, info, table, te, True, where)
        _engine(table.set_default, action, data)
        b.default_meta[info.name] = EntryMeta(te.controller_metadata, te.metadata)
    else:
        _engine(table.reset_default)  # as the P4 program declared it
        b.default_meta.pop(info.name, None)


# -- reads --------------------------------------------------------------------------


def _entry_proto(b: Binding, info: TableInfo, table: MatchTable, e: Entry, prios: _Priorities,
                 want: p4runtime_pb2.TableEntry) -> p4runtime_pb2.TableEntry:
    te = p4runtime_pb2.TableEntry(table_id=info.id)
    te.match.extend(convert.match_from_engine(info.fields, e.match))
    aid = b.pipeline.action_ids.get(e.action.name)
    if aid is not None:
        te.action.action.CopyFrom(convert.action_from_engine(b.pipeline.actions[aid], e.data))
    te.priority = prios.convert(e.priority)
    meta = b.entry_meta.get((info.name, e.handle))
    if meta is not None:
        te.controller_metadata = meta.controller_metadata
        te.metadata = meta.metadata
    if table.immutable:
        te.is_const = True
    _add_direct_data(b, info, e.handle, want, te)
    return te


def _add_direct_data(b: Binding, info: TableInfo, handle: int, want: p4runtime_pb2.TableEntry,
                     te: p4runtime_pb2.TableEntry) -> None:
    if want.HasField("counter_data") and info.direct_counter is not None:
        nbytes, npackets = _engine(b.target.table_counter_read, info.name, handle)
        te.counter_data.CopyFrom(convert.counter_data(nbytes, npackets, info.direct_counter.unit))
    if want.HasField("meter_config") and info.direct_meter is not None:
        cfg = convert.rates_to_meter_config(
            _engine(b.target.table_meter_get_rates, info.name, handle))
        if cfg is not None:  # the default configuration reads back as unset
            te.meter_config.CopyFrom(cfg)


def _default_proto(b: Binding, info: TableInfo, table: MatchTable) -> p4runtime_pb2.TableEntry:
    te = p4runtime_pb2.TableEntry(table_id=info.id, is_default_action=True)
    d = table.default
    if d is not None:
        aid = b.pipeline.action_ids.get(d.action.name)
        if aid is not None:
            te.action.action.CopyFrom(convert.action_from_engine(b.pipeline.actions[aid], d.data))
    meta = b.default_meta.get(info.name)
    if meta is not None:
        te.controller_metadata = meta.controller_metadata
        te.metadata = meta.metadata
    return te


def read_table_entries(b: Binding, want: p4runtime_pb2.TableEntry
                       ) -> Iterator[p4runtime_pb2.Entity]:
    where = "read table entries"
    if want.HasField("meter_counter_data"):
        raise P4RTError(UNIMPLEMENTED, f"{where}: per-color meter counters are not supported")
    if want.table_id == 0:
        if want.match or want.HasField("action") or want.priority or \
                want.controller_metadata or want.metadata or want.is_default_action:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: with table_id 0 (all tables) no other filter may be used")
        infos = list(b.pipeline.tables.values())
    else:
        infos = [b.pipeline.table(want.table_id)]
    for info in infos:
        if want.HasField("time_since_last_hit"):
            _check_idle_timeout(info, want, where)
        table: MatchTable = _engine(b.target.table, info.name)
        if want.is_default_action:
            if want.match or want.priority:
                raise P4RTError(INVALID_ARGUMENT,
                                f"{where}: the default entry has no match fields and priority 0")
            yield p4runtime_pb2.Entity(table_entry=_default_proto(b, info, table))
            continue
        match = _match(info, want, where) if want.match else None
        action_id = want.action.action.action_id if want.HasField("action") else 0
        key = _engine(table.canonical_match, match) if match is not None else None
        prios = _Priorities(info, table)
        for e in sorted(table.entries.values(), key=lambda x: x.handle):
            if key is not None and e.match != key:
                continue
            if want.priority and prios.convert(e.priority) != want.priority:
                continue
            if action_id and b.pipeline.action_ids.get(e.action.name) != action_id:
                continue
            meta = b.entry_meta.get((info.name, e.handle), EntryMeta())
            if want.controller_metadata and meta.controller_metadata != want.controller_metadata:
                continue
            if want.metadata and meta.metadata != want.metadata:
                continue
            yield p4runtime_pb2.Entity(table_entry=_entry_proto(b, info, table, e, prios, want))


# -- direct counters and meters ---------------------------------------------------------


def _direct_target(b: Binding, te: p4runtime_pb2.TableEntry, kind: str, where: str
                   ) -> tuple[TableInfo, MatchTable, Entry]:
    info = b.pipeline.table(te.table_id)
    if (info.direct_counter if kind == "counter" else info.direct_meter) is None:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: table '{info.name}' has no direct {kind}")
    if te.is_default_action:
        raise P4RTError(UNIMPLEMENTED,
                        f"{where}: pybm-switch keeps no direct {kind} on table misses")
    table: MatchTable = _engine(b.target.table, info.name)
    return info, table, _find(b, info, table, te, where)


def write_direct_counter(b: Binding, utype: int, dc: p4runtime_pb2.DirectCounterEntry) -> None:
    where = f"{Update.Type.Name(utype)} direct counter"
    if utype != Update.MODIFY:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: direct counters only support MODIFY")
    info, _table, e = _direct_target(b, dc.table_entry, "counter", where)
    if dc.HasField("data"):
        nbytes, npackets = convert.check_counter_data(dc.data, where)
        _engine(b.target.table_counter_write, info.name, e.handle, nbytes, npackets)


def write_direct_meter(b: Binding, utype: int, dm: p4runtime_pb2.DirectMeterEntry) -> None:
    where = f"{Update.Type.Name(utype)} direct meter"
    if utype != Update.MODIFY:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: direct meters only support MODIFY")
    if dm.HasField("counter_data"):
        raise P4RTError(UNIMPLEMENTED, f"{where}: per-color meter counters are not supported")
    info, _table, e = _direct_target(b, dm.table_entry, "meter", where)
    if dm.HasField("config"):
        rates = convert.meter_config_to_rates(dm.config, where)
        _engine(b.target.table_meter_set_rates, info.name, e.handle, rates)
    else:
        _engine(b.target.table_meter_reset_rates, info.name, e.handle)


def _direct_entries(b: Binding, te: p4runtime_pb2.TableEntry, kind: str, where: str
                    ) -> Iterator[tuple[TableInfo, MatchTable, Entry]]:
    """Entries selected by a (possibly wildcard) DirectCounterEntry/DirectMeterEntry read."""
    if te.table_id == 0:
        infos = [t for t in b.pipeline.tables.values()
                 if (t.direct_counter if kind == "counter" else t.direct_meter) is not None]
    else:
        info = b.pipeline.table(te.table_id)
        if (info.direct_counter if kind == "counter" else info.direct_meter) is None:
            raise P4RTError(INVALID_ARGUMENT, f"{where}: table '{info.name}' has no direct {kind}")
        if te.match or te.is_default_action:
            yield _direct_target(b, te, kind, where)
            return
        infos = [info]
    for info in infos:
        table: MatchTable = _engine(b.target.table, info.name)
        for e in sorted(table.entries.values(), key=lambda x: x.handle):
            yield info, table, e


def _key_only(info: TableInfo, table: MatchTable, e: Entry) -> p4runtime_pb2.TableEntry:
    te = p4runtime_pb2.TableEntry(table_id=info.id)
    te.match.extend(convert.match_from_engine(info.fields, e.match))
    te.priority = _Priorities(info, table).convert(e.priority)
    return te


def read_direct_counters(b: Binding, want: p4runtime_pb2.DirectCounterEntry
                         ) -> Iterator[p4runtime_pb2.Entity]:
    where = "read direct counters"
    for info, table, e in _direct_entries(b, want.table_entry, "counter", where):
        nbytes, npackets = _engine(b.target.table_counter_read, info.name, e.handle)
        dc = p4runtime_pb2.DirectCounterEntry(
            table_entry=_key_only(info, table, e),
            data=convert.counter_data(nbytes, npackets, info.direct_counter.unit))
        yield p4runtime_pb2.Entity(direct_counter_entry=dc)


def read_direct_meters(b: Binding, want: p4runtime_pb2.DirectMeterEntry
                       ) -> Iterator[p4runtime_pb2.Entity]:
    where = "read direct meters"
    if want.HasField("counter_data"):
        raise P4RTError(UNIMPLEMENTED, f"{where}: per-color meter counters are not supported")
    for info, table, e in _direct_entries(b, want.table_entry, "meter", where):
        dm = p4runtime_pb2.DirectMeterEntry(table_entry=_key_only(info, table, e))
        cfg = convert.rates_to_meter_config(
            _engine(b.target.table_meter_get_rates, info.name, e.handle))
        if cfg is not None:
            dm.config.CopyFrom(cfg)
        yield p4runtime_pb2.Entity(direct_meter_entry=dm)
