"""Dispatch of Write updates and Read requests to the entity handlers."""

from __future__ import annotations

from collections.abc import Iterator

from p4.v1 import p4runtime_pb2

from pybm.switch.p4runtime import externs, replication, tables
from pybm.switch.p4runtime.digests import DigestManager
from pybm.switch.p4runtime.errors import INVALID_ARGUMENT, UNIMPLEMENTED, P4RTError
from pybm.switch.p4runtime.pipeline import Binding


def write_update(b: Binding, digests: DigestManager, update: p4runtime_pb2.Update) -> None:
    """Apply one update; P4RTError says why it was refused (nothing changed then)."""
    e = update.entity
    kind = e.WhichOneof("entity")
    t = update.type
    if kind == "table_entry":
        tables.write_table_entry(b, t, e.table_entry)
    elif kind == "counter_entry":
        externs.write_counter(b, t, e.counter_entry)
    elif kind == "direct_counter_entry":
        tables.write_direct_counter(b, t, e.direct_counter_entry)
    elif kind == "meter_entry":
        externs.write_meter(b, t, e.meter_entry)
    elif kind == "direct_meter_entry":
        tables.write_direct_meter(b, t, e.direct_meter_entry)
    elif kind == "register_entry":
        externs.write_register(b, t, e.register_entry)
    elif kind == "value_set_entry":
        externs.write_value_set(b, t, e.value_set_entry)
    elif kind == "packet_replication_engine_entry":
        replication.write_pre(b, t, e.packet_replication_engine_entry)
    elif kind == "digest_entry":
        digests.write(b, t, e.digest_entry)
    elif kind in ("action_profile_member", "action_profile_group"):
        raise P4RTError(UNIMPLEMENTED, "action profiles are not supported by pybm-switch")
    elif kind == "extern_entry":
        raise P4RTError(UNIMPLEMENTED, "architecture-specific externs are not supported")
    else:
        raise P4RTError(INVALID_ARGUMENT, "update without an entity")


def read_entity(b: Binding, digests: DigestManager, e: p4runtime_pb2.Entity
                ) -> Iterator[p4runtime_pb2.Entity]:
    """Entities matching one (possibly wildcard) read request."""
    kind = e.WhichOneof("entity")
    if kind == "table_entry":
        return tables.read_table_entries(b, e.table_entry)
    if kind == "counter_entry":
        return externs.read_counters(b, e.counter_entry)
    if kind == "direct_counter_entry":
        return tables.read_direct_counters(b, e.direct_counter_entry)
    if kind == "meter_entry":
        return externs.read_meters(b, e.meter_entry)
    if kind == "direct_meter_entry":
        return tables.read_direct_meters(b, e.direct_meter_entry)
    if kind == "register_entry":
        return externs.read_registers(b, e.register_entry)
    if kind == "value_set_entry":
        return externs.read_value_sets(b, e.value_set_entry)
    if kind == "packet_replication_engine_entry":
        return replication.read_pre(b, e.packet_replication_engine_entry)
    if kind == "digest_entry":
        return digests.read(b, e.digest_entry)
    if kind in ("action_profile_member", "action_profile_group"):
        raise P4RTError(UNIMPLEMENTED, "action profiles are not supported by pybm-switch")
    if kind == "extern_entry":
        raise P4RTError(UNIMPLEMENTED, "architecture-specific externs are not supported")
    raise P4RTError(INVALID_ARGUMENT, "read request with an empty Entity (set one entity type)")
