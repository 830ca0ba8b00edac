"""Packet replication engine: multicast groups and mirroring (clone) sessions.

Mirrors simple_switch's McSimplePreLAG (groups made of nodes, each node a
replication id and a set of ports) and its mirroring sessions (an egress port
and/or a multicast group per session id).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pybm.switch.errors import RuntimeApiError

MAX_MGID = 0xFFFF
# Group ids above MAX_MGID are out of reach of the data plane (mcast_grp is 16
# bits): the P4Runtime service builds multi-replica clone sessions from them.
RESERVED_MGID_BASE = MAX_MGID + 1
MAX_MIRROR_SESSION_ID = 32767  # simple_switch's RegisterAccess::MAX_MIRROR_SESSION_ID


@dataclass
class McNode:
    handle: int
    rid: int
    ports: list[int]
    group: int | None = None


@dataclass
class MirrorSession:
    egress_port: int | None = None
    mgid: int | None = None


@dataclass
class Pre:
    groups: dict[int, list[int]] = field(default_factory=dict)  # mgid -> node handles
    nodes: dict[int, McNode] = field(default_factory=dict)
    mirrors: dict[int, MirrorSession] = field(default_factory=dict)
    _next_node: int = 0

    # -- multicast (simple_switch_CLI vocabulary) ----------------------------

    def mc_mgrp_create(self, mgid: int, *, reserved: bool = False) -> int:
        if not (mgid >= RESERVED_MGID_BASE if reserved else 0 < mgid <= MAX_MGID):
            raise RuntimeApiError("INVALID_ARGUMENT", f"multicast group id {mgid} out of range")
        if mgid in self.groups:
            raise RuntimeApiError("ALREADY_EXISTS", f"multicast group {mgid} already exists")
        self.groups[mgid] = []
        return mgid

    def mc_mgrp_destroy(self, mgid: int) -> None:
        nodes = self._group(mgid)
        for h in nodes:
            self.nodes[h].group = None
        del self.groups[mgid]

    def mc_node_create(self, rid: int, ports: list[int]) -> int:
        if not 0 <= rid <= 0xFFFF:
            raise RuntimeApiError("INVALID_ARGUMENT", f"replication id {rid} out of range")
        h = self._next_node
        self._next_node += 1
        self.nodes[h] = McNode(h, rid, sorted(set(ports)))
        return h

    def mc_node_update(self, handle: int, ports: list[int]) -> None:
        self._node(handle).ports = sorted(set(ports))

    def mc_node_destroy(self, handle: int) -> None:
        node = self._node(handle)
        if node.group is not None:
            self.groups[node.group].remove(handle)
        del self.nodes[handle]

    def mc_node_associate(self, mgid: int, handle: int) -> None:
        nodes = self._group(mgid)
        node = self._node(handle)
        if node.group is not None:
            raise RuntimeApiError("ALREADY_EXISTS", f"node {handle} already belongs to group {node.group}")
        node.group = mgid
        nodes.append(handle)

    def mc_node_dissociate(self, mgid: int, handle: int) -> None:
        nodes = self._group(mgid)
        if handle not in nodes:
            raise RuntimeApiError("NOT_FOUND", f"node {handle} is not in group {mgid}")
        nodes.remove(handle)
        self.nodes[handle].group = None

    def mc_group_set(self, mgid: int, replicas: list[tuple[int, int]], *,
                     reserved: bool = False) -> None:
        """Replace a group's membership with (egress_port, rid) replicas, creating the group.

        ``reserved`` groups (ids from RESERVED_MGID_BASE up) are for internal use.
        """
        if mgid in self.groups:
            for h in list(self.groups[mgid]):
                self.mc_node_destroy(h)
        else:
            self.mc_mgrp_create(mgid, reserved=reserved)
        by_rid: dict[int, list[int]] = {}
        for port, rid in replicas:
            by_rid.setdefault(rid, []).append(port)
        for rid, ports in by_rid.items():
            self.mc_node_associate(mgid, self.mc_node_create(rid, ports))

    def mc_group_delete(self, mgid: int) -> None:
        for h in list(self._group(mgid)):
            self.mc_node_destroy(h)
        del self.groups[mgid]

    def mc_group_replicas(self, mgid: int) -> list[tuple[int, int]]:
        return [(p, self.nodes[h].rid) for h in self._group(mgid) for p in self.nodes[h].ports]

    def replicate(self, mgid: int) -> list[tuple[int, int]]:
        """(egress_port, rid) copies for a packet sent to ``mgid`` (none if unknown)."""
        out = []
        for h in self.groups.get(mgid, ()):
            node = self.nodes[h]
            for p in node.ports:
                out.append((p, node.rid))
        return out

    def _group(self, mgid: int) -> list[int]:
        g = self.groups.get(mgid)
        if g is None:
            raise RuntimeApiError("NOT_FOUND", f"multicast group {mgid} does not exist")
        return g

    def _node(self, handle: int) -> McNode:
        n = self.nodes.get(handle)
        if n is None:
            raise RuntimeApiError("NOT_FOUND", f"multicast node {handle} does not exist")
        return n

    # -- mirroring -----------------------------------------------------------

    def mirroring_add(self, session: int, egress_port: int | None = None,
                      mgid: int | None = None) -> None:
        if not 0 <= session <= MAX_MIRROR_SESSION_ID:
            raise RuntimeApiError("INVALID_ARGUMENT", f"mirror session id {session} out of range")
        if egress_port is None and mgid is None:
            raise RuntimeApiError("INVALID_ARGUMENT", "a mirror session needs an egress port or a group")
        self.mirrors[session] = MirrorSession(egress_port, mgid)

    def mirroring_delete(self, session: int) -> None:
        if self.mirrors.pop(session, None) is None:
            raise RuntimeApiError("NOT_FOUND", f"mirror session {session} does not exist")

    def mirroring_get(self, session: int) -> MirrorSession:
        m = self.mirrors.get(session)
        if m is None:
            raise RuntimeApiError("NOT_FOUND", f"mirror session {session} does not exist")
        return m

    def reset(self) -> None:
        self.groups.clear()
        self.nodes.clear()
        self.mirrors.clear()
        self._next_node = 0
