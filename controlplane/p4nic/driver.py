"""NicDriver: the typed library that programs p4nic over P4Runtime.

Everything goes through P4Runtime tables, counters, the packet replication
engine, digests and packet I/O; never registers (BMv2's P4Runtime server
refuses them, DESIGN.md section 4). The PTF tests, the CLI and the agents
all use this class::

    drv = NicDriver(grpc_addr="127.0.0.1:9559", device_id=0, election_id=1)
    drv.connect()
    drv.load_pipeline("out/p4nic.p4info.txtpb", "out/p4nic.json")
    drv.setup(PortMap(), nic_macs=["02:00:00:00:00:01"])
    h = drv.add_flow(Flow(src="10.0.0.1", dst="10.0.0.2", proto=6, sport=1234,
                          dport=80, flow_id=7))
    ...
    drv.clear_all(); drv.close()
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2

from p4nic import p4names as n
from p4nic.clock import NicClock
from p4nic.entries import (
    FULL_MAC_MASK,
    EntryBuilder,
    clone_entity,
    digest_entity,
    entity,
    flow_handle,
    ipv4_text,
    ipv6_text,
    mcast_entity,
    mcast_groups_for,
    sa_handle,
    trigger_handle,
)
from p4nic.model import (
    CaptureTrigger,
    EspFlow,
    Flow,
    Handle,
    NicConfigError,
    PortMap,
    SecurityAssociation,
)
from p4nic.p4info import P4Schema, encode, load_p4info, value_to_int
from p4nic.p4rt import P4RuntimeClient, P4RuntimeError
from p4nic.sadb import SADatabase

__all__ = ["NicDriver", "PortMap", "Flow", "EspFlow", "SecurityAssociation", "CaptureTrigger",
           "Handle", "Digest", "PacketIn", "NicConfigError", "P4RuntimeError", "SADatabase"]

log = logging.getLogger("p4nic.driver")

DIGEST_QUEUE_SIZE = 10000
# psh_notify_t lists: up to 256 samples, or whatever came within 10 ms
PSH_DIGEST_BATCH = (256, 10_000_000)


@dataclass(frozen=True)
class Digest:
    """One digest the pipeline sent: its P4Info name and its members."""
    name: str
    fields: dict[str, Any]
    received: float


@dataclass(frozen=True)
class PacketIn:
    """A packet-in that is not a clock probe answer."""
    payload: bytes
    metadata: dict[str, int]
    received: float


class NicDriver:
    """Programs and watches one p4nic device."""

    def __init__(self, grpc_addr: str = "127.0.0.1:9559", device_id: int = 0,
                 election_id: int | tuple[int, int] = 1):
        self.client = P4RuntimeClient(grpc_addr, device_id, election_id)
        self.schema: P4Schema | None = None
        self.build: EntryBuilder | None = None
        self.ports: PortMap | None = None
        self.sa_database = SADatabase()
        self.digests: queue.Queue[Digest] = queue.Queue(maxsize=DIGEST_QUEUE_SIZE)
        self.packet_ins: queue.Queue[PacketIn] = queue.Queue(maxsize=DIGEST_QUEUE_SIZE)
        self.clock = NicClock(self._send_clock_probe)
        self.key_requests_answered = 0
        self.key_requests_unanswered = 0
        self._psh_callbacks: list[Callable[[int, int, int], None]] = []
        self._key_callbacks: list[Callable[[int, str, str], None]] = []
        self._packet_callbacks: list[Callable[[PacketIn], None]] = []
        self._lock = threading.RLock()
        # everything this driver installed, in install order (clear_all undoes it)
        self._entries: dict[Handle, Any] = {}
        self._generations: dict[int, int] = {}  # flow id -> generation last installed
        # setup() entries by match (running setup() again modifies, never duplicates)
        self._setup_entries: dict[bytes, p4runtime_pb2.Entity] = {}
        self._mcast_groups: dict[int, list[tuple[int, int]]] = {}
        self._clone_sessions: set[int] = set()
        self._digests_enabled: dict[int, int] = {}   # digest id -> its max_timeout_ns
        self._clear_hooks: list[Callable[[], None]] = []
        self._sa_generations: dict[int, int] = {}   # key index -> SA generation last used
        self._key_loader: Any = None
        self._merge: Any = None
        self._events: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self.client.digest_handlers.append(self._on_digest_list)
        self.client.packet_handlers.append(self._on_packet_in)

    # ---- connection and pipeline -------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> None:
        """Connect and become primary (raises NotPrimaryError otherwise)."""
        self.client.connect(timeout=timeout, require_primary=True)
        self._worker = threading.Thread(target=self._event_loop, name="p4nic-events",
                                        daemon=True)
        self._worker.start()

    @property
    def is_primary(self) -> bool:
        return self.client.is_primary

    def load_pipeline(self, p4info_path: str, json_path: str) -> None:
        """SetForwardingPipelineConfig(VERIFY_AND_COMMIT) with P4Info text + BMv2 JSON."""
        p4info = load_p4info(p4info_path)
        with open(json_path, "rb") as f:
            device_config = f.read()
        self.client.set_pipeline(p4info, device_config, "VERIFY_AND_COMMIT")
        with self._lock:
            self._use_schema(P4Schema(p4info))
            # a new pipeline starts empty
            self._entries.clear()
            self._setup_entries.clear()
            self._mcast_groups.clear()
            self._clone_sessions.clear()
            self._digests_enabled.clear()

    def use_device_pipeline(self) -> None:
        """Work with the pipeline already on the device (its P4Info from the device)."""
        p4info = self.client.get_p4info()
        if p4info is None:
            raise NicConfigError("the device has no pipeline: load one first "
                                 "(p4nic start, or NicDriver.load_pipeline)")
        self._use_schema(P4Schema(p4info))

    def _use_schema(self, schema: P4Schema) -> None:
        self.schema = schema
        self.build = EntryBuilder(schema)

    def _schema(self) -> P4Schema:
        if self.schema is None:
            raise NicConfigError("no pipeline: call load_pipeline() or use_device_pipeline()")
        return self.schema

    def _builder(self) -> EntryBuilder:
        self._schema()
        assert self.build is not None
        return self.build

    def close(self) -> None:
        self.clock.stop()
        self._events.put(None)
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None
        self.client.close()

    def __enter__(self) -> NicDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- low-level writes ----------------------------------------------------------------
    def _write_upsert(self, entity: p4runtime_pb2.Entity, what: str) -> None:
        """INSERT, or MODIFY when the entry is already there (setup is re-runnable)."""
        try:
            self.client.insert(entity, what)
        except P4RuntimeError as e:
            if e.codes == [code_pb2.ALREADY_EXISTS] or e.code == grpc.StatusCode.ALREADY_EXISTS:
                self.client.modify(entity, what)
            else:
                raise

    # ---- setup ------------------------------------------------------------------------------
    def setup(self, ports: PortMap, nic_macs: Iterable[str] = (), promiscuous: bool = False,
              l4_protocols: Iterable[int] = n.DEFAULT_L4_PROTOCOLS, clock: bool = True,
              clock_interval: float = 5.0, clock_state_path: str | None = None,
              psh_batch: tuple[int, int] = PSH_DIGEST_BATCH) -> None:
        """Program the port roles, receive checks, PRE and digests; start the clock.

        Wire ports get ROLE_WIRE with peer host_stack (their misses go there),
        host ports ROLE_HOST with peer wire[0] (their transmissions leave
        there). The multicast groups cover every group id the P4's
        MCAST_BASE encoding can produce for the deliver ports (host_stack,
        consumer, placement) x {timestamp record or not} x {no ACK, ACK out of
        each wire port}. The capture mirror session sends clones to the
        capture port.
        ``psh_batch`` = (max_list_size, max_timeout_ns) of the PSH digest lists
        (P4Runtime DigestEntry.Config).
        """
        build = self._builder()
        ports.validate()
        nic_macs = list(nic_macs)
        if not nic_macs and not promiscuous:
            raise NicConfigError("give the NIC's MAC address(es) or promiscuous=True: "
                                 "otherwise the MAC filter drops every unicast frame")
        entities = build.setup_entities(ports, nic_macs, promiscuous, list(l4_protocols))
        with self._lock:
            self.ports = ports
            for ent, what in entities:
                self._write_upsert(ent, what)
                self._setup_entries[_match_key(ent)] = ent
            for d in ports.deliver_ports:
                self._ensure_mcast_groups(d)
            self._write_upsert(clone_entity(n.CAPTURE_SESSION, ports.capture),
                               f"clone session {n.CAPTURE_SESSION}")
            self._clone_sessions.add(n.CAPTURE_SESSION)
        # PSH reports are batched (a sender that pushes every segment would cost
        # the NIC a digest list per packet); key requests go at once, since the
        # datagrams of the SA miss key memory until the driver answers
        self.enable_digest(n.DIGEST_PSH, max_list_size=psh_batch[0], max_timeout_ns=psh_batch[1])
        for name in (n.DIGEST_KEY_REQUEST, n.DIGEST_KEY_REQUEST_V6):
            self.enable_digest(name)
        if clock:
            self.clock.calibrate(probes=4)
            self.clock.start(interval=clock_interval, state_path=clock_state_path)

    def mcast_groups_for(self, deliver_port: int) -> dict[int, list[tuple[int, int]]]:
        """Group id -> (port, rid) replicas the P4 can select for ``deliver_port``."""
        return mcast_groups_for(self._ports(), deliver_port)

    def _ensure_mcast_groups(self, deliver_port: int) -> None:
        for mgid, replicas in self.mcast_groups_for(deliver_port).items():
            self.install_mcast_group(mgid, replicas)

    def install_mcast_group(self, mgid: int, replicas: list[tuple[int, int]]) -> None:
        """Install (or update) a multicast group of (port, rid) replicas; clear_all removes it."""
        with self._lock:
            if self._mcast_groups.get(mgid) != replicas:
                self._write_upsert(mcast_entity(mgid, replicas), f"multicast group 0x{mgid:x}")
                self._mcast_groups[mgid] = replicas

    def add_clear_hook(self, hook: Callable[[], None]) -> None:
        """hook() runs first in clear_all(): offload managers remove their entries."""
        self._clear_hooks.append(hook)

    @property
    def merge(self) -> Any:
        """The redundant-stream merge manager (p4nic.merge.MergeManager) of this driver."""
        if self._merge is None:
            from p4nic.merge import MergeManager
            self._merge = MergeManager(self)
        return self._merge

    def enable_digest(self, name: str, max_timeout_ns: int = 0, max_list_size: int = 1,
                      ack_timeout_ns: int = 1_000_000_000) -> None:
        """Ask the switch to stream digest ``name`` (each as soon as it is made)."""
        digest_id = self._schema().digest(name).preamble.id
        self._write_upsert(digest_entity(digest_id, max_timeout_ns, max_list_size,
                                         ack_timeout_ns), f"digest {name}")
        self._digests_enabled[digest_id] = max_timeout_ns

    def _ports(self) -> PortMap:
        if self.ports is None:
            raise NicConfigError("setup() has not run: the port map is unknown")
        return self.ports

    def add_mac(self, mac: str, mask: str | int = FULL_MAC_MASK, priority: int = 10) -> Handle:
        """Accept another destination MAC (e.g. a multicast group) in the MAC filter."""
        mac_int = value_to_int(mac, 48, "mac")
        mask_int = value_to_int(mask, 48, "mac mask")
        handle = Handle("mac", n.MAC_FILTER, (mac_int & mask_int, mask_int), priority)
        return self._insert(handle, self._builder().match(handle, n.ACCEPT_MAC),
                            (mac_int, mask_int, priority))

    # ---- entries the driver tracks ---------------------------------------------------------------
    def _insert(self, handle: Handle, ent: p4runtime_pb2.Entity, obj: Any) -> Handle:
        with self._lock:
            if handle in self._entries:
                raise NicConfigError(f"{handle.kind} {handle.key} is already installed")
            self.client.insert(ent, f"add {handle.kind} {handle.key}")
            self._entries[handle] = obj
        return handle

    def _entity_for(self, kind: str, obj: Any) -> p4runtime_pb2.Entity:
        return self._builder().of(self.ports, kind, obj)

    def _match_entity(self, handle: Handle) -> p4runtime_pb2.Entity:
        return self._builder().match(handle)

    def _remove(self, handle: Handle) -> None:
        with self._lock:
            self.client.delete(self._match_entity(handle), f"remove {handle.kind} {handle.key}")
            self._entries.pop(handle, None)

    def entries(self, kind: str | None = None) -> list[tuple[Handle, Any]]:
        """(handle, object) of what this driver installed, optionally of one kind."""
        with self._lock:
            return [(h, o) for h, o in self._entries.items() if kind is None or h.kind == kind]

    # ---- flows (seed 001) ---------------------------------------------------------------------
    def _check_flow_id(self, flow_id: int, ignore: Handle | None = None) -> None:
        for h, o in self._entries.items():
            if h.kind in ("flow", "esp_flow") and h != ignore and o.flow_id == flow_id:
                raise NicConfigError(
                    f"flow id {flow_id} is already used by {h.kind} {h.key}: per-flow "
                    f"registers (timestamps, ACK counts) are indexed by flow id")

    def _prepare_deliver(self, deliver_port: int | None) -> None:
        if deliver_port is not None and deliver_port not in self._ports().deliver_ports:
            self._ensure_mcast_groups(deliver_port)

    def _new_generation(self, flow: Any) -> Any:
        """The flow with a generation no earlier entry of its flow id had.

        The NIC tags per-flow register state with it, so a reused flow id starts
        from zero. Generations start at a random point per driver so that two
        driver processes (or restarts) do not pick the same one for a flow id.
        """
        last = self._generations.get(flow.flow_id)
        gen = random.randrange(1, 0x10000) if last is None else last % 0xFFFF + 1
        self._generations[flow.flow_id] = gen
        return dataclasses.replace(flow, generation=gen)

    def add_flow(self, flow: Flow) -> Handle:
        """Install a flow tuple (IPv4 or IPv6 five-tuple) with its handling."""
        with self._lock:
            flow = self._new_generation(flow)
            self._check_flow_id(flow.flow_id)
            self._prepare_deliver(flow.deliver_port)
            return self._insert(flow_handle(flow), self._entity_for("flow", flow), flow)

    def add_esp_flow(self, dst: str | EspFlow, spi: int | None = None,
                     flow_id: int | None = None, state: str = "MONITOR",
                     ts_mode: str = "none", deliver_port: int | None = None) -> Handle:
        """Install an (IPv4 destination, SPI) flow tuple."""
        if isinstance(dst, EspFlow):
            f = dst
        else:
            if spi is None or flow_id is None:
                raise NicConfigError("add_esp_flow needs dst, spi and flow_id")
            f = EspFlow(dst=dst, spi=spi, flow_id=flow_id, state=state, ts_mode=ts_mode,
                        deliver_port=deliver_port)
        with self._lock:
            f = self._new_generation(f)
            self._check_flow_id(f.flow_id)
            self._prepare_deliver(f.deliver_port)
            return self._insert(flow_handle(f), self._entity_for("esp_flow", f), f)

    def flow(self, handle: Handle) -> Flow | EspFlow:
        with self._lock:
            obj = self._entries.get(handle)
        if obj is None or handle.kind not in ("flow", "esp_flow"):
            raise NicConfigError(f"{handle}: not a flow installed by this driver")
        return obj

    def find_flow(self, flow_id: int) -> Handle:
        """The handle of the flow with ``flow_id`` (this driver's, else the device's)."""
        for h, o in self.entries():
            if h.kind in ("flow", "esp_flow") and o.flow_id == flow_id:
                return h
        for h, o in self.device_flows():
            if o.flow_id == flow_id:
                return h
        raise NicConfigError(f"no flow with id {flow_id}")

    def modify_flow(self, handle: Handle, **changes: Any) -> Handle:
        """Change a flow's handling (MODIFY) or its tuple (DELETE + INSERT).

        Returns the flow's handle: the same one unless the tuple changed.
        """
        with self._lock:
            old = self.flow(handle)
            try:
                new = dataclasses.replace(old, **changes)
            except TypeError as e:
                raise NicConfigError(f"modify_flow: {e}") from None
            if new.flow_id != old.flow_id:
                self._check_flow_id(new.flow_id, ignore=handle)
                new = self._new_generation(new)   # fresh state under the new id
            self._prepare_deliver(new.deliver_port)
            new_handle = flow_handle(new)
            if new_handle == handle:
                self.client.modify(self._entity_for(handle.kind, new),
                                   f"modify {handle.kind} {handle.key}")
                self._entries[handle] = new
                return handle
            if new_handle in self._entries:
                raise NicConfigError(f"{new_handle.kind} {new_handle.key} is already installed")
            new = self._new_generation(new)   # another tuple: another flow
            self._remove(handle)
            return self._insert(new_handle, self._entity_for(new_handle.kind, new), new)

    def remove_flow(self, handle: Handle) -> None:
        if handle.kind not in ("flow", "esp_flow"):
            raise NicConfigError(f"{handle}: not a flow")
        self._remove(handle)

    def flow_counters(self, handle: Handle) -> tuple[int, int]:
        """(packets, bytes) of a flow entry's direct counter."""
        if handle.kind not in ("flow", "esp_flow"):
            raise NicConfigError(f"{handle}: not a flow")
        return self._direct_counter(handle)

    def _direct_counter(self, handle: Handle) -> tuple[int, int]:
        dce = p4runtime_pb2.DirectCounterEntry()
        dce.table_entry.CopyFrom(self._match_entity(handle).table_entry)
        got = self.client.read([entity(direct_counter_entry=dce)],
                               f"read counters of {handle.kind} {handle.key}")
        if not got:
            raise NicConfigError(f"{handle.kind} {handle.key}: the device returned no counter")
        data = got[0].direct_counter_entry.data
        return data.packet_count, data.byte_count

    def _read_table(self, table: str) -> list[p4runtime_pb2.TableEntry]:
        te = p4runtime_pb2.TableEntry(table_id=self._schema().table_id(table))
        return [e.table_entry for e in self.client.read([entity(table_entry=te)],
                                                        f"read {table}")]

    def device_flows(self) -> list[tuple[Handle, Flow | EspFlow]]:
        """The flows the device holds (all three flow tables), as driver objects."""
        build = self._builder()
        out: list[tuple[Handle, Flow | EspFlow]] = []
        for table in n.FLOW_TABLES:
            for te in self._read_table(table):
                obj = build.flow_from_entry(table, te)
                out.append((flow_handle(obj), obj))
        return out

    def adopt_flows(self) -> int:
        """Track the device's flows this driver did not install (a CLI without a
        daemon works on what an earlier process left); returns how many."""
        adopted = 0
        with self._lock:
            for h, obj in self.device_flows():
                if h not in self._entries:
                    self._entries[h] = obj
                    adopted += 1
        return adopted

    def list_flows(self, counters: bool = True) -> list[dict[str, Any]]:
        """Flows as the device has them, with their direct counters."""
        rows = []
        for h, obj in self.device_flows():
            row = {"kind": h.kind, **obj.to_dict()}
            if counters:
                row["packets"], row["bytes"] = self._direct_counter(h)
            rows.append(row)
        return rows

    def list_capture_triggers(self) -> list[tuple[Handle, dict[str, Any]]]:
        """Capture triggers on the device: (handle, {capture_id, snaplen, priority, match})."""
        build = self._builder()
        return [build.trigger_from_entry(te) for te in self._read_table(n.CAPTURE_TRIGGER)]

    def list_sas(self) -> list[dict[str, Any]]:
        """SAs in key memory on the device, marked whether the SA database has them."""
        build = self._builder()
        rows = []
        for table in n.SA_TABLES:
            for te in self._read_table(table):
                dst, spi, key_index = build.sa_from_entry(te)
                packets, nbytes = self._direct_counter(sa_handle(dst, spi))
                rows.append({"dst": dst, "spi": spi, "key_index": key_index,
                             "in_database": (dst, spi) in self.sa_database,
                             "packets": packets, "bytes": nbytes})
        return rows

    # ---- key memory (seed 001) ------------------------------------------------------------------
    def _free_key_index(self) -> int:
        used = {o.key_index for h, o in self._entries.items() if h.kind == "sa"}
        used |= {sa.key_index for sa in self.sa_database.all() if sa.key_index is not None}
        for i in range(0x10000):
            if i not in used:
                return i
        raise NicConfigError("key memory is full (65536 key indexes in use)")

    def add_sa(self, sa: SecurityAssociation) -> Handle:
        """Install an SA in key memory (sa_v4); picks a key index if it has none.

        An SA that decrypts (seed 004) has its key loaded into the crypto
        engine first (p4nic.ipsec), then the entry goes in."""
        from p4nic.ipsec import resolve_decrypt
        with self._lock:
            sa = resolve_decrypt(sa, self.ports.crypto if self.ports else None)
            if sa.key_index is None:
                sa = dataclasses.replace(sa, key_index=self._free_key_index())
            handle = sa_handle(*sa.key_tuple())
            if handle in self._entries:
                raise NicConfigError(f"sa {handle.key} is already installed")
            if sa.decrypt:
                last = self._sa_generations.get(sa.key_index)
                gen = random.randrange(1, 0x80) if last is None else last % 0x7F + 1
                self._sa_generations[sa.key_index] = gen
                sa = dataclasses.replace(sa, generation=gen)
                self.key_loader.load(sa, self._ports().crypto)
            return self._insert(handle, self._entity_for("sa", sa), sa)

    @property
    def key_loader(self) -> Any:
        """Loads SA keys into the crypto engine (p4nic.ipsec.KeyLoader)."""
        if self._key_loader is None:
            from p4nic.ipsec import KeyLoader
            self._key_loader = KeyLoader(self)
        return self._key_loader

    def ipsec_counters(self) -> dict[str, tuple[int, int]]:
        """Decryption events (to_engine, decrypted, bad_icv, replay, too_old, ...)."""
        from p4nic.ipsec import ipsec_counters
        return ipsec_counters(self)

    def remove_sa(self, sa: SecurityAssociation | Handle | tuple[str, int]) -> None:
        if isinstance(sa, SecurityAssociation):
            key = sa.key_tuple()
        elif isinstance(sa, Handle):
            key = sa.key
        else:
            key = (str(sa[0]), int(sa[1]))
        handle = sa_handle(*key)
        installed = self._entries.get(handle)
        self._remove(handle)
        if installed is not None and installed.decrypt and self.ports and self.ports.crypto is not None:
            try:   # the entry is gone, so no datagram uses the key any more
                self.key_loader.delete(installed.key_index, self.ports.crypto)
            except NicConfigError as e:
                log.warning("SA 0x%x removed, but its key stays in the engine: %s", key[1], e)

    def sa_counters(self, handle: Handle) -> tuple[int, int]:
        return self._direct_counter(handle)

    def answer_key_request(self, spi: int, src: str, dst: str) -> bool:
        """Install the SA for a key request from the SA database; False if it has none."""
        sa = self.sa_database.get(dst, spi)
        if sa is None:
            self.key_requests_unanswered += 1
            log.warning("key request for SPI 0x%x to %s from %s: not in the SA database",
                        spi, dst, src)
            return False
        handle = sa_handle(*sa.key_tuple())
        with self._lock:
            if handle in self._entries:
                return True      # a request that crossed the installation
            try:
                self.add_sa(sa)
            except P4RuntimeError as e:
                if code_pb2.ALREADY_EXISTS not in e.codes:
                    raise
        self.key_requests_answered += 1
        return True

    # ---- capture (seed 003) ---------------------------------------------------------------------------
    def add_capture_trigger(self, trigger: CaptureTrigger) -> Handle:
        """Capture packets matching ``trigger`` into stream ``trigger.capture_id``."""
        return self._insert(trigger_handle(trigger), self._entity_for("trigger", trigger),
                            trigger)

    def remove_capture_trigger(self, handle: Handle) -> None:
        if handle.kind != "trigger":
            raise NicConfigError(f"{handle}: not a capture trigger")
        self._remove(handle)

    def add_rtp_port(self, udp_port: int) -> Handle:
        """Mark a UDP destination port as carrying RTP (RXF_RTP in rx descriptors)."""
        if not 0 <= udp_port <= 0xFFFF:
            raise NicConfigError(f"UDP port {udp_port} outside 0..65535")
        handle = Handle("rtp_port", n.RTP_PORTS, (udp_port,))
        return self._insert(handle, self._builder().match(handle, n.MARK_RTP), udp_port)

    def remove_rtp_port(self, udp_port: int) -> None:
        self._remove(Handle("rtp_port", n.RTP_PORTS, (udp_port,)))

    # ---- counters -------------------------------------------------------------------------------
    def drop_counters(self) -> dict[str, tuple[int, int]]:
        """Drop reason -> (packets, bytes), from NicIngress.drop_reasons."""
        counter_id = self._schema().counter(n.DROP_REASONS).preamble.id
        ce = p4runtime_pb2.CounterEntry(counter_id=counter_id)
        got = self.client.read([entity(counter_entry=ce)], "read drop_reasons")
        out = {name: (0, 0) for i, name in n.DROP_REASON_NAMES.items() if i}
        for ent in got:
            c = ent.counter_entry
            name = n.DROP_REASON_NAMES.get(c.index.index)
            if name and name != "none":
                out[name] = (c.data.packet_count, c.data.byte_count)
        return out

    # ---- digests and packet-in --------------------------------------------------------------------
    def on_psh(self, callback: Callable[[int, int, int], None]) -> None:
        """callback(flow_id, seq, nic_ts) for each TCP PSH the NIC reports."""
        self._psh_callbacks.append(callback)

    def on_key_request(self, callback: Callable[[int, str, str], None]) -> None:
        """callback(spi, src, dst) for each key request (after the SA database answered)."""
        self._key_callbacks.append(callback)

    def on_packet_in(self, callback: Callable[[PacketIn], None]) -> None:
        self._packet_callbacks.append(callback)

    def _on_digest_list(self, dl: p4runtime_pb2.DigestList) -> None:
        # runs in the stream reader: decode, queue, hand over to the event worker
        schema = self.schema
        if schema is None:
            return
        name = schema.digest_name(dl.digest_id)
        now = time.time()
        for data in dl.data:
            fields = schema.decode_digest_data(name, data)
            if name == n.DIGEST_KEY_REQUEST:
                fields = {"spi": fields["spi"], "src": ipv4_text(fields["src_addr"]),
                          "dst": ipv4_text(fields["dst_addr"])}
            elif name == n.DIGEST_KEY_REQUEST_V6:
                fields = {"spi": fields["spi"], "src": ipv6_text(fields["src_addr"]),
                          "dst": ipv6_text(fields["dst_addr"])}
            digest = Digest(name, fields, now)
            self._put_bounded(self.digests, digest)
            self._events.put(("digest", digest))

    @staticmethod
    def _put_bounded(q: queue.Queue, item: Any) -> None:
        while True:
            try:
                q.put_nowait(item)
                return
            except queue.Full:
                try:
                    q.get_nowait()     # keep the newest: drop the oldest
                except queue.Empty:
                    pass

    def _on_packet_in(self, pkt: p4runtime_pb2.PacketIn, received: float) -> None:
        schema = self.schema
        meta: dict[str, int] = {}
        if schema is not None:
            names = {m.id: m.name for m in schema.packet_metadata(n.PACKET_IN)}
            meta = {names.get(m.metadata_id, str(m.metadata_id)): int.from_bytes(m.value, "big")
                    for m in pkt.metadata}
        if meta.get("reason") == n.IN_REASON_CLOCK and self.clock.on_probe_reply(
                pkt.payload, received):
            return
        if meta.get("reason") == n.IN_REASON_CRYPTO:
            self.key_loader.on_answer(bytes(pkt.payload))   # a waiting add_sa takes it
            return
        p = PacketIn(bytes(pkt.payload), meta, received)
        self._put_bounded(self.packet_ins, p)
        self._events.put(("packet", p))

    def _event_loop(self) -> None:
        while True:
            ev = self._events.get()
            if ev is None:
                return
            kind, item = ev
            try:
                if kind == "digest":
                    self._handle_digest(item)
                else:
                    for cb in list(self._packet_callbacks):
                        cb(item)
            except Exception:   # a failing callback must not stop event handling
                log.exception("handling %s %s", kind, item)

    def _handle_digest(self, d: Digest) -> None:
        if d.name == n.DIGEST_PSH:
            for cb in list(self._psh_callbacks):
                cb(d.fields["flow_id"], d.fields["seq_no"], d.fields["arrival_ts"])
        elif d.name in (n.DIGEST_KEY_REQUEST, n.DIGEST_KEY_REQUEST_V6):
            f = d.fields
            try:
                self.answer_key_request(f["spi"], f["src"], f["dst"])
            finally:
                for cb in list(self._key_callbacks):
                    cb(f["spi"], f["src"], f["dst"])

    # ---- packet-out -------------------------------------------------------------------------------------
    def packet_out(self, payload: bytes, egress_port: int = 0, op: int = n.OUT_OP_TX) -> None:
        schema = self._schema()
        values = {"egress_port": egress_port, "op": op}
        md = []
        for m in schema.packet_metadata(n.PACKET_OUT):
            if m.name not in values:
                raise NicConfigError(f"packet_out header field '{m.name}' unknown to the driver")
            md.append((m.id, encode(values[m.name], m.bitwidth, f"packet_out.{m.name}")))
        self.client.packet_out(payload, md)

    def send_tx(self, frame: bytes, port: int) -> None:
        """Send ``frame`` out of switch port ``port`` (OUT_OP_TX)."""
        self.packet_out(frame, port, n.OUT_OP_TX)

    def inject_rx(self, frame: bytes, port: int) -> None:
        """Run ``frame`` through the receive path as if it arrived on ``port`` (replay)."""
        self.packet_out(frame, port, n.OUT_OP_INJECT_RX)

    def _send_clock_probe(self, payload: bytes) -> None:
        self.packet_out(payload, 0, n.OUT_OP_CLOCK_PROBE)

    # ---- teardown -------------------------------------------------------------------------------------------
    def clear_all(self, keep_setup: bool = False) -> None:
        """Remove every entry this driver added (newest first); with keep_setup
        the port roles, MAC filter, protocols, PRE and digests stay. A digest
        batched by time (the PSH digest) always stays configured: see below."""
        errors = []
        with self._lock:
            for hook in self._clear_hooks:
                try:
                    hook()
                except P4RuntimeError as e:
                    errors.append(str(e))
            for handle in reversed(list(self._entries)):
                try:
                    self._remove(handle)
                except P4RuntimeError as e:
                    errors.append(str(e))
                    self._entries.pop(handle, None)
            if not keep_setup:
                deletes = [P4RuntimeClient.update("DELETE", e)
                           for e in reversed(list(self._setup_entries.values()))]
                deletes += [P4RuntimeClient.update("DELETE", mcast_entity(g, []))
                            for g in self._mcast_groups]
                deletes += [P4RuntimeClient.update("DELETE", clone_entity(s, 0))
                            for s in self._clone_sessions]
                # A digest batched by time stays configured (the next setup modifies it):
                # simple_switch_grpc's digest manager (PI) leaves a dangling pointer to
                # the batching task when such a digest is deleted, and configuring the
                # digest again writes through it (heap corruption, the switch aborts).
                deletes += [P4RuntimeClient.update("DELETE", digest_entity(d, max_list_size=0))
                            for d, max_timeout_ns in self._digests_enabled.items()
                            if max_timeout_ns == 0]
                for u in deletes:
                    try:
                        self.client.write([u], "clear setup")
                    except P4RuntimeError as e:
                        errors.append(str(e))
                self._setup_entries.clear()
                self._mcast_groups.clear()
                self._clone_sessions.clear()
                self._digests_enabled.clear()
                self.clock.stop()
        if errors:
            raise P4RuntimeError("clear_all", grpc.StatusCode.UNKNOWN, "; ".join(errors))


def _match_key(ent: p4runtime_pb2.Entity) -> bytes:
    """What identifies an entry on the device: the entity without its action."""
    key = p4runtime_pb2.Entity()
    key.CopyFrom(ent)
    if key.HasField("table_entry"):
        key.table_entry.ClearField("action")
    return key.SerializeToString(deterministic=True)
