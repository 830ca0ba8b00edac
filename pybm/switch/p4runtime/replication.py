"""PacketReplicationEngineEntry: multicast groups and clone sessions.

Multicast groups map 1:1 to the engine's PRE groups (ids 1..65535, the range
of v1model's 16-bit mcast_grp). A clone session with a single replica of
instance 0 becomes a mirroring session to that port; any other session
becomes a mirroring session to a reserved multicast group
(RESERVED_MGID_BASE + session id), which no data-plane mcast_grp value can
reach, so it never collides with the client's groups. PI does the same for
BMv2 with its own reserved group range.

As with BMv2's P4Runtime server, class_of_service and packet_length_bytes
(truncation) are refused with UNIMPLEMENTED: cut clones with truncate() in P4.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from p4.v1 import p4runtime_pb2

from pybm.switch.engine import MAX_PORT
from pybm.switch.errors import RuntimeApiError
from pybm.switch.p4runtime import convert
from pybm.switch.p4runtime.errors import (
    ALREADY_EXISTS,
    INVALID_ARGUMENT,
    NOT_FOUND,
    OUT_OF_RANGE,
    UNIMPLEMENTED,
    P4RTError,
    from_engine,
)
from pybm.switch.p4runtime.pipeline import Binding
from pybm.switch.pre import MAX_MGID, MAX_MIRROR_SESSION_ID, RESERVED_MGID_BASE

Update = p4runtime_pb2.Update
MAX_INSTANCE = 0xFFFF  # egress_rid is 16 bits in v1model


def _engine(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except RuntimeApiError as e:
        raise from_engine(e) from None


def _replicas(replicas: Any, where: str) -> tuple[list[tuple[int, int]], list[p4runtime_pb2.Replica]]:
    """-> (engine (port, rid) list, the replicas in canonical form for reads)."""
    out: list[tuple[int, int]] = []
    canonical = []
    for r in replicas:
        if r.WhichOneof("port_kind") == "port":
            port = convert.decode_uint(r.port, 32, f"{where}: replica port")
        else:  # the deprecated uint32 egress_port (what p4runtime-shell sends); unset = 0
            port = r.egress_port
        if port > MAX_PORT:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: port {port} does not exist (pybm-switch ports are "
                            f"0..{MAX_PORT})")
        if r.instance > MAX_INSTANCE:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: instance {r.instance} exceeds the 16-bit egress_rid")
        if (port, r.instance) in out:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: replica (port {port}, instance {r.instance}) given twice")
        out.append((port, r.instance))
        c = p4runtime_pb2.Replica(instance=r.instance)
        if r.WhichOneof("port_kind") == "port":
            c.port = convert.encode_uint(port)
        else:
            c.egress_port = port
        canonical.append(c)
    return out, canonical


# -- multicast groups ----------------------------------------------------------------


def _write_group(b: Binding, utype: int, g: p4runtime_pb2.MulticastGroupEntry) -> None:
    where = f"{Update.Type.Name(utype)} multicast group {g.multicast_group_id}"
    mgid = g.multicast_group_id
    if mgid == 0:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: group id 0 is reserved (wildcard reads)")
    if mgid > MAX_MGID:
        raise P4RTError(OUT_OF_RANGE, f"{where}: group ids go up to {MAX_MGID} (16-bit mcast_grp)")
    pre = b.target.pre
    exists = mgid in pre.groups
    if utype == Update.INSERT:
        if exists:
            raise P4RTError(ALREADY_EXISTS, f"{where}: the group already exists")
    elif utype in (Update.MODIFY, Update.DELETE):
        if not exists:
            raise P4RTError(NOT_FOUND, f"{where}: no such group")
    else:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: update type UNSPECIFIED")
    if utype == Update.DELETE:
        _engine(pre.mc_group_delete, mgid)
        b.mc_groups.pop(mgid, None)
        return
    replicas, canonical = _replicas(g.replicas, where)
    _engine(pre.mc_group_set, mgid, replicas)
    stored = p4runtime_pb2.MulticastGroupEntry(multicast_group_id=mgid, metadata=g.metadata)
    stored.replicas.extend(canonical)
    b.mc_groups[mgid] = stored


def _group_proto(b: Binding, mgid: int) -> p4runtime_pb2.MulticastGroupEntry:
    stored = b.mc_groups.get(mgid)
    if stored is not None:
        return stored
    # created outside P4Runtime (e.g. by a CLI): describe it from the engine
    g = p4runtime_pb2.MulticastGroupEntry(multicast_group_id=mgid)
    for port, rid in b.target.pre.mc_group_replicas(mgid):
        g.replicas.add(egress_port=port, instance=rid)
    return g


# -- clone sessions ------------------------------------------------------------------


def _write_session(b: Binding, utype: int, s: p4runtime_pb2.CloneSessionEntry) -> None:
    sid = s.session_id
    where = f"{Update.Type.Name(utype)} clone session {sid}"
    if sid == 0:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: session id 0 is reserved (wildcard reads)")
    if sid > MAX_MIRROR_SESSION_ID:
        raise P4RTError(OUT_OF_RANGE, f"{where}: session ids go up to {MAX_MIRROR_SESSION_ID}")
    pre = b.target.pre
    exists = sid in pre.mirrors
    if utype == Update.INSERT:
        if exists:
            raise P4RTError(ALREADY_EXISTS, f"{where}: the session already exists")
    elif utype in (Update.MODIFY, Update.DELETE):
        if not exists:
            raise P4RTError(NOT_FOUND, f"{where}: no such session")
    else:
        raise P4RTError(INVALID_ARGUMENT, f"{where}: update type UNSPECIFIED")
    group = RESERVED_MGID_BASE + sid
    if utype == Update.DELETE:
        _engine(pre.mirroring_delete, sid)
        if group in pre.groups:
            _engine(pre.mc_group_delete, group)
        b.clone_sessions.pop(sid, None)
        return
    if s.class_of_service:
        raise P4RTError(UNIMPLEMENTED, f"{where}: class_of_service is not supported (BMv2 "
                                       "neither)")
    if s.packet_length_bytes:
        raise P4RTError(UNIMPLEMENTED, f"{where}: packet_length_bytes (truncation) is not "
                                       "supported, as in BMv2; use truncate() in the P4 program")
    replicas, canonical = _replicas(s.replicas, where)
    if len(replicas) == 1 and replicas[0][1] == 0:
        _engine(pre.mirroring_add, sid, egress_port=replicas[0][0])
        if group in pre.groups:
            _engine(pre.mc_group_delete, group)
    else:
        # several replicas (or a replica id to set): replicate through a reserved group
        _engine(pre.mc_group_set, group, replicas, reserved=True)
        _engine(pre.mirroring_add, sid, mgid=group)
    stored = p4runtime_pb2.CloneSessionEntry(session_id=sid)
    stored.replicas.extend(canonical)
    b.clone_sessions[sid] = stored


def _session_proto(b: Binding, sid: int) -> p4runtime_pb2.CloneSessionEntry:
    stored = b.clone_sessions.get(sid)
    if stored is not None:
        return stored
    pre = b.target.pre
    m = pre.mirrors[sid]
    s = p4runtime_pb2.CloneSessionEntry(session_id=sid)
    if m.egress_port is not None:
        s.replicas.add(egress_port=m.egress_port)
    if m.mgid is not None and m.mgid in pre.groups:
        for port, rid in pre.mc_group_replicas(m.mgid):
            s.replicas.add(egress_port=port, instance=rid)
    return s


# -- entry points --------------------------------------------------------------------


def write_pre(b: Binding, utype: int, e: p4runtime_pb2.PacketReplicationEngineEntry) -> None:
    kind = e.WhichOneof("type")
    if kind == "multicast_group_entry":
        _write_group(b, utype, e.multicast_group_entry)
    elif kind == "clone_session_entry":
        _write_session(b, utype, e.clone_session_entry)
    else:
        raise P4RTError(INVALID_ARGUMENT, "PacketReplicationEngineEntry without an entry")


def read_pre(b: Binding, want: p4runtime_pb2.PacketReplicationEngineEntry
             ) -> Iterator[p4runtime_pb2.Entity]:
    kind = want.WhichOneof("type")
    pre = b.target.pre
    if kind == "multicast_group_entry":
        mgid = want.multicast_group_entry.multicast_group_id
        if mgid == 0:
            ids = sorted(g for g in pre.groups if g <= MAX_MGID)
        elif mgid in pre.groups and mgid <= MAX_MGID:
            ids = [mgid]
        else:
            raise P4RTError(NOT_FOUND, f"read multicast group {mgid}: no such group")
        for i in ids:
            yield p4runtime_pb2.Entity(packet_replication_engine_entry=p4runtime_pb2.
                                       PacketReplicationEngineEntry(
                                           multicast_group_entry=_group_proto(b, i)))
    elif kind == "clone_session_entry":
        sid = want.clone_session_entry.session_id
        if sid == 0:
            ids = sorted(pre.mirrors)
        elif sid in pre.mirrors:
            ids = [sid]
        else:
            raise P4RTError(NOT_FOUND, f"read clone session {sid}: no such session")
        for i in ids:
            yield p4runtime_pb2.Entity(packet_replication_engine_entry=p4runtime_pb2.
                                       PacketReplicationEngineEntry(
                                           clone_session_entry=_session_proto(b, i)))
    else:
        raise P4RTError(INVALID_ARGUMENT, "read PacketReplicationEngineEntry without an entry type")
