"""P4Runtime entities for p4nic's tables and PRE, and the way back from entries read.

Pure functions of the P4Info (:class:`P4Schema`) and the port map: no I/O,
so what the driver writes is decided here and the driver only sends it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from p4.v1 import p4runtime_pb2

from p4nic import p4names as n
from p4nic.model import (
    CaptureTrigger,
    EspFlow,
    Flow,
    Handle,
    NicConfigError,
    PortMap,
    SecurityAssociation,
)
from p4nic.p4info import P4Schema, Ternary

BROADCAST = "ff:ff:ff:ff:ff:ff"
FULL_MAC_MASK = (1 << 48) - 1


def entity(**kw: Any) -> p4runtime_pb2.Entity:
    return p4runtime_pb2.Entity(**kw)


def ipv4_text(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


def ipv6_text(value: int) -> str:
    return str(ipaddress.IPv6Address(value))


def sa_table(dst: str) -> str:
    """Key memory table of a destination address: sa_v4 or sa_v6."""
    return n.SA_V6 if ":" in str(dst) else n.SA_V4


def sa_handle(dst: str, spi: int) -> Handle:
    dst = str(ipaddress.ip_address(str(dst)))
    return Handle("sa", sa_table(dst), (dst, int(spi)))


def flow_handle(f: Flow | EspFlow) -> Handle:
    if isinstance(f, EspFlow):
        return Handle("esp_flow", n.ESP_FLOW_V6 if ":" in f.dst else n.ESP_FLOW, f.key())
    return Handle("flow", n.FLOW_V4 if f.ip_version == 4 else n.FLOW_V6, f.key())


def trigger_handle(t: CaptureTrigger) -> Handle:
    return Handle("trigger", n.CAPTURE_TRIGGER, tuple(sorted(t.match.items())), t.priority)


def mcast_groups_for(ports: PortMap, deliver_port: int) -> dict[int, list[tuple[int, int]]]:
    """Group id -> (port, rid) replicas the P4 can select for ``deliver_port``:
    the packet itself, plus a timestamp record to the records port and/or a
    NIC ACK out of each wire port (mgid = MCAST_BASE | port << 4 | rec << 3 | ack)."""
    groups = {}
    for with_record in (False, True):
        for ack_port in (None, *ports.wire):
            if not with_record and ack_port is None:
                continue   # plain unicast, no group
            replicas = [(deliver_port, n.RID_DELIVER)]
            if with_record:
                replicas.append((ports.records, n.RID_RECORD))
            if ack_port is not None:
                replicas.append((ack_port, n.RID_ACK))
            groups[n.mcast_group_id(deliver_port, with_record, ack_port)] = replicas
    return groups


def mcast_entity(mgid: int, replicas: list[tuple[int, int]]) -> p4runtime_pb2.Entity:
    g = p4runtime_pb2.MulticastGroupEntry(multicast_group_id=mgid)
    for port, rid in replicas:
        g.replicas.add(egress_port=port, instance=rid)
    return entity(packet_replication_engine_entry=p4runtime_pb2.PacketReplicationEngineEntry(
        multicast_group_entry=g))


def clone_entity(session: int, port: int) -> p4runtime_pb2.Entity:
    """Mirror session without truncation (BMv2 refuses packet_length_bytes: the P4
    cuts clones with truncate())."""
    cs = p4runtime_pb2.CloneSessionEntry(session_id=session)
    cs.replicas.add(egress_port=port, instance=0)
    return entity(packet_replication_engine_entry=p4runtime_pb2.PacketReplicationEngineEntry(
        clone_session_entry=cs))


def digest_entity(digest_id: int, max_timeout_ns: int = 0, max_list_size: int = 1,
                  ack_timeout_ns: int = 1_000_000_000) -> p4runtime_pb2.Entity:
    de = p4runtime_pb2.DigestEntry(digest_id=digest_id)
    if max_list_size:
        de.config.max_timeout_ns = max_timeout_ns
        de.config.max_list_size = max_list_size
        de.config.ack_timeout_ns = ack_timeout_ns
    return entity(digest_entry=de)


class EntryBuilder:
    """Table entries of p4nic by P4Info name, for one pipeline."""

    def __init__(self, schema: P4Schema):
        self.schema = schema

    def table(self, table: str, match: dict, action: str | None = None,
              params: dict | None = None, priority: int = 0) -> p4runtime_pb2.Entity:
        return entity(table_entry=self.schema.table_entry(table, match, action, params, priority))

    # ---- setup ---------------------------------------------------------------------------
    def setup_entities(self, ports: PortMap, nic_macs: list[str], promiscuous: bool,
                       l4_protocols: list[int]) -> list[tuple[p4runtime_pb2.Entity, str]]:
        """Port roles, MAC filter and known protocols, each with what it is."""
        out = []
        for w in ports.wire:
            out.append((self.table(n.PORT_CONFIG, {n.MF_IN_PORT: w}, n.SET_PORT_ROLE,
                                   {"role": n.ROLE_WIRE, "peer_port": ports.host_stack,
                                    "priority": ports.regular_priority}),
                        f"port_config wire {w}"))
        if ports.crypto is not None:
            out.append((self.table(n.PORT_CONFIG, {n.MF_IN_PORT: ports.crypto}, n.SET_PORT_ROLE,
                                   {"role": n.ROLE_CRYPTO, "peer_port": ports.host_stack,
                                    "priority": ports.regular_priority}),
                        f"port_config crypto {ports.crypto}"))
        for lp in ports.loop or ():
            out.append((self.table(n.PORT_CONFIG, {n.MF_IN_PORT: lp}, n.SET_PORT_ROLE,
                                   {"role": n.ROLE_LOOP, "peer_port": ports.host_stack,
                                    "priority": ports.regular_priority}),
                        f"port_config loop {lp}"))
        for bp in ports.bare:
            out.append((self.table(n.PORT_DESCRIPTORS, {n.MF_EGRESS_PORT: bp}, n.NO_DESCRIPTOR),
                        f"port_descriptors bare {bp}"))
        for h in ports.host_ports:
            out.append((self.table(n.PORT_CONFIG, {n.MF_IN_PORT: h}, n.SET_PORT_ROLE,
                                   {"role": n.ROLE_HOST, "peer_port": ports.wire[0],
                                    "priority": ports.regular_priority}),
                        f"port_config host {h}"))
        for mac in dict.fromkeys([*nic_macs, BROADCAST]):
            out.append((self.table(n.MAC_FILTER, {n.MF_ETH_DST: Ternary(mac, FULL_MAC_MASK)},
                                   n.ACCEPT_MAC, priority=10), f"mac_filter {mac}"))
        if promiscuous:
            # every key don't-care: matches any destination
            out.append((self.table(n.MAC_FILTER, {}, n.ACCEPT_MAC, priority=1),
                        "mac_filter promiscuous"))
        for proto in l4_protocols:
            out.append((self.table(n.L4_PROTO_ALLOWED, {n.MF_IP_PROTO: proto}, n.ACCEPT_PROTO),
                        f"l4_proto_allowed {proto}"))
        return out

    # ---- objects -> entries ------------------------------------------------------------------
    @staticmethod
    def default_deliver(ports: PortMap | None, state: str) -> int:
        if ports is None:
            raise NicConfigError("setup() has not run: no port map to pick the flow's "
                                 "deliver port from (give deliver_port)")
        if state == "ZERO_COPY":
            return ports.placement
        if state == "IDLE":
            return ports.host_stack
        return ports.consumer

    def _flow_params(self, ports: PortMap | None, flow_id: int, state: str, deliver_port: int | None,
                     ack_every: int, ts_mode: str, buf_base: int, buf_size: int,
                     start_seq: int, generation: int) -> dict:
        deliver = self.default_deliver(ports, state) if deliver_port is None else deliver_port
        return {"flow_id": flow_id, "state": n.FLOW_STATES[state], "deliver_port": deliver,
                "ack_every_n": ack_every, "ts_mode": n.TS_MODES[ts_mode],
                "zc_buf_base": buf_base, "zc_buf_size": buf_size, "zc_start_seq": start_seq,
                "flow_generation_": generation}

    def of(self, ports: PortMap | None, kind: str, obj: Any) -> p4runtime_pb2.Entity:
        """The full entry (match and action) of a flow, ESP flow, SA or trigger."""
        if kind == "flow":
            f: Flow = obj
            params = self._flow_params(ports, f.flow_id, f.state, f.deliver_port, f.ack_every,
                                       f.ts_mode, f.buf_base, f.buf_size, f.start_seq,
                                       f.generation)
        elif kind == "esp_flow":
            e: EspFlow = obj
            params = self._flow_params(ports, e.flow_id, e.state, e.deliver_port, 0, e.ts_mode,
                                       0, 0, 0, e.generation)
        elif kind == "sa":
            sa: SecurityAssociation = obj
            return self.match(sa_handle(*sa.key_tuple()), n.SET_KEY,
                              {"key_index": sa.key_index, "decrypt": int(bool(sa.decrypt)),
                               "engine_port": (ports.crypto if ports and ports.crypto is not None
                                               else 0) if sa.decrypt else 0,
                               "sa_generation": sa.generation, "esn": int(bool(sa.esn))})
        elif kind == "trigger":
            t: CaptureTrigger = obj
            return self.match(trigger_handle(t), n.CAPTURE,
                              {"capture_id": t.capture_id, "snaplen": t.snaplen})
        else:
            raise NicConfigError(f"unknown entry kind {kind}")
        return self.match(flow_handle(obj), n.SET_FLOW, params)

    def match(self, handle: Handle, action: str | None = None,
              params: dict | None = None) -> p4runtime_pb2.Entity:
        """The entry of ``handle``: its match (from the handle alone, so entries
        another process installed can be deleted and read too), with an action
        if given."""
        k = handle.key
        if handle.kind == "flow":
            src, dst, proto, sport, dport = k
            if handle.table == n.FLOW_V4:
                m = {n.MF_IPV4_SRC: src, n.MF_IPV4_DST: dst, n.MF_IPV4_PROTO: proto,
                     n.MF_L4_SRC_PORT: sport, n.MF_L4_DST_PORT: dport}
            else:
                m = {n.MF_IPV6_SRC: src, n.MF_IPV6_DST: dst, n.MF_IPV6_NEXT_HDR: proto,
                     n.MF_L4_SRC_PORT: sport, n.MF_L4_DST_PORT: dport}
        elif handle.kind in ("esp_flow", "sa"):
            v6 = handle.table in (n.ESP_FLOW_V6, n.SA_V6)
            m = {n.MF_IPV6_DST if v6 else n.MF_IPV4_DST: k[0], n.MF_ESP_SPI: k[1]}
        elif handle.kind == "trigger":
            m = {f: Ternary(v, mask) for f, (v, mask) in k}
        elif handle.kind == "rtp_port":
            m = {n.MF_UDP_DST_PORT: k[0]}
        elif handle.kind == "mac":
            m = {n.MF_ETH_DST: Ternary(k[0], k[1])}
        elif handle.kind == "reasm_policy":
            m = {n.MF_IP_PROTO: Ternary(k[0], k[1])}
        else:
            raise NicConfigError(f"unknown entry kind {handle.kind}")
        return self.table(handle.table, m, action, params, priority=handle.priority)

    # ---- entries read back -> objects ----------------------------------------------------------
    def flow_from_entry(self, table: str, te: p4runtime_pb2.TableEntry) -> Flow | EspFlow:
        m = self.schema.decode_match(te)
        _, p = self.schema.decode_action(te)
        states = {v: k for k, v in n.FLOW_STATES.items()}
        modes = {v: k for k, v in n.TS_MODES.items()}
        handling = {"flow_id": p["flow_id"], "state": states.get(p["state"], "MONITOR"),
                    "deliver_port": p["deliver_port"], "ts_mode": modes.get(p["ts_mode"], "none"),
                    "generation": p.get("flow_generation_", 0)}
        if table == n.ESP_FLOW:
            return EspFlow(dst=ipv4_text(m[n.MF_IPV4_DST]), spi=m[n.MF_ESP_SPI], **handling)
        if table == n.ESP_FLOW_V6:
            return EspFlow(dst=str(ipaddress.IPv6Address(m[n.MF_IPV6_DST])), spi=m[n.MF_ESP_SPI],
                           **handling)
        zero_copy = {"ack_every": p["ack_every_n"], "buf_base": p["zc_buf_base"],
                     "buf_size": p["zc_buf_size"], "start_seq": p["zc_start_seq"]}
        if table == n.FLOW_V4:
            return Flow(src=ipv4_text(m[n.MF_IPV4_SRC]), dst=ipv4_text(m[n.MF_IPV4_DST]),
                        proto=m[n.MF_IPV4_PROTO], sport=m[n.MF_L4_SRC_PORT],
                        dport=m[n.MF_L4_DST_PORT], **zero_copy, **handling)
        return Flow(src=str(ipaddress.IPv6Address(m[n.MF_IPV6_SRC])),
                    dst=str(ipaddress.IPv6Address(m[n.MF_IPV6_DST])),
                    proto=m[n.MF_IPV6_NEXT_HDR], sport=m[n.MF_L4_SRC_PORT],
                    dport=m[n.MF_L4_DST_PORT], **zero_copy, **handling)

    def trigger_from_entry(self, te: p4runtime_pb2.TableEntry) -> tuple[Handle, dict[str, Any]]:
        m = self.schema.decode_match(te)
        _, p = self.schema.decode_action(te)
        handle = Handle("trigger", n.CAPTURE_TRIGGER, tuple(sorted(m.items())), te.priority)
        return handle, {"capture_id": p["capture_id"], "snaplen": p["snaplen"],
                        "priority": te.priority,
                        "match": {f.rsplit(".", 1)[-1]: f"0x{v:x}&&&0x{mask:x}"
                                  for f, (v, mask) in m.items()}}

    def sa_from_entry(self, te: p4runtime_pb2.TableEntry) -> tuple[str, int, int]:
        """(dst, spi, key_index) of a key memory entry (sa_v4 or sa_v6)."""
        m = self.schema.decode_match(te)
        _, p = self.schema.decode_action(te)
        if n.MF_IPV6_DST in m:
            return str(ipaddress.IPv6Address(m[n.MF_IPV6_DST])), m[n.MF_ESP_SPI], p["key_index"]
        return ipv4_text(m[n.MF_IPV4_DST]), m[n.MF_ESP_SPI], p["key_index"]
