"""The v1model switch: ingress, traffic manager, egress (simple_switch semantics).

Packets are processed to completion in the thread that delivers them, under
one lock: Python threads would only add hand-off cost, and the lock keeps
control-plane updates atomic with respect to packets. The traffic manager is
modelled faithfully (clone, digest, resubmit, multicast, drop, unicast after
ingress; clone, drop, recirculate, transmit after egress) with strict-priority
egress queues, which decide the order in which queued packets leave.

This module is the engine's one public face: port back ends call
:meth:`Switch.receive` and set :attr:`Switch.transmit`; the P4Runtime
service and the STF runner use the runtime methods further down.
"""

from __future__ import annotations

import logging
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from pybm.switch import externs
from pybm.switch.compiler import LOG_HOOK, CompiledProgram, compile_program
from pybm.switch.errors import ConfigError, PacketDrop, ParserException, RuntimeApiError
from pybm.switch.fairlock import FairRLock
from pybm.switch.packet import (
    BUFFER_HEADROOM,
    EGRESS_CLONE,
    INGRESS_CLONE,
    NO_TRUNCATE,
    NORMAL,
    RECIRC,
    REPLICATION,
    RESUBMIT,
    Packet,
)
from pybm.switch.pre import Pre
from pybm.switch.program import load_program
from pybm.switch.tables import Entry, MatchTable

log = logging.getLogger("pybm.switch")

MAX_PORT = 511
PARSER_STATE_LIMIT = 10000  # a parser loop that never consumes input ends as ParserTimeout

TransmitFn = Callable[[int, bytes], None]
DigestFn = Callable[[int, str, tuple], None]


class Switch:
    def __init__(self, *, device_id: int = 0, drop_port: int = 511, cpu_port: int | None = None,
                 priority_queues: int = 1, trace: bool = False):
        if priority_queues < 1:
            raise ConfigError("priority_queues must be at least 1")
        self.device_id = device_id
        self.drop_port = drop_port
        self.cpu_port = cpu_port
        self.nb_queues = priority_queues
        self.trace = trace
        self.lock = FairRLock()
        self.cp: CompiledProgram | None = None
        self.json_text: bytes = b""
        self.pre = Pre()
        self.transmit: TransmitFn = lambda port, data: None
        self.digest_sink: DigestFn | None = None
        self._in_hi: deque[Packet] = deque()  # resubmit / recirculate
        self._in_lo: deque[Packet] = deque()
        self._egress_q: list[deque[Packet]] = [deque() for _ in range(priority_queues)]
        self._draining = False
        self._packet_id = 0
        self._last_ig_ts = 0
        self.stats: dict[str, int] = {}
        self._meta_ranges: list[tuple[int, int]] = []
        externs.reset_clock()
        LOG_HOOK[0] = self._log_from_program

    # -- configuration -------------------------------------------------------

    def load_config(self, source: str | bytes | dict) -> None:
        """Compile and swap in a BMv2 JSON program (resets all runtime state)."""
        prog = load_program(source)
        try:
            cp = compile_program(prog, drop_port=self.drop_port, trace=self.trace)
        except ConfigError:
            raise
        except (KeyError, TypeError, IndexError, ValueError, AttributeError, OverflowError,
                RuntimeApiError) as e:
            # a document whose shape the loader did not check (missing keys, wrong types)
            raise ConfigError(f"BMv2 JSON: malformed document ({type(e).__name__}: {e})") from None
        with self.lock:
            self.cp = cp
            self.json_text = source if isinstance(source, bytes) else (
                source.encode() if isinstance(source, str) else b"")
            self.pre.reset()
            self._in_hi.clear()
            self._in_lo.clear()
            for q in self._egress_q:
                q.clear()
            self._meta_ranges = [(h.base, h.base + h.nfields) for h in prog.headers.values()
                                 if h.metadata]
            self.stats.clear()
            std = cp.std
            self._s_ingress_port = std["ingress_port"]
            self._s_egress_spec = std["egress_spec"]
            self._s_egress_port = std["egress_port"]
            self._s_instance_type = std["instance_type"]
            self._s_packet_length = std["packet_length"]
            self._s_parser_error = std.get("parser_error")
            self._s_checksum_error = std.get("checksum_error")
            self._s_mcast_grp = std.get("mcast_grp")
            self._s_egress_rid = std.get("egress_rid")
            self._s_ig_ts = std.get("ingress_global_timestamp")
            self._s_eg_ts = std.get("egress_global_timestamp")
            self._s_priority = std.get("priority")
            q = ("enq_timestamp", "enq_qdepth", "deq_timedelta", "deq_qdepth")
            self._with_queueing = all(k in std for k in q)
            self._has_checksums = bool(prog.checksums)
        log.info("pipeline loaded: %d tables, %d actions", len(cp.tables), len(prog.actions))

    @property
    def loaded(self) -> bool:
        return self.cp is not None

    def _count(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    # -- packet path -----------------------------------------------------------

    def receive(self, port: int, data: bytes, arrival_ns: int | None = None) -> None:
        """A frame arrived on ``port``: process it (and everything it causes) to completion.

        ``arrival_ns``: when it arrived (CLOCK_MONOTONIC ns; interface ports pass the
        kernel's receive time), else now. The ingress timestamp is that arrival time,
        not the time processing starts (a frame may wait while earlier ones are
        processed; simple_switch stamps in its receive thread, before its ingress
        queue, a hardware NIC at the MAC), kept between the last ingress timestamp
        and now so that ingress timestamps never decrease in processing order.
        """
        with self.lock:
            cp = self.cp
            if cp is None:
                self._count("rx_no_pipeline")
                return
            if not 0 <= port <= MAX_PORT:
                self._count("rx_bad_port")
                return
            self._packet_id += 1
            pkt = Packet(bytes(data), port, self._packet_id)
            F = pkt.F = cp.template.copy()
            F[self._s_ingress_port] = port
            F[self._s_packet_length] = pkt.ilen
            if self._s_ig_ts is not None:
                ts = externs.now_us()
                if arrival_ns is not None:
                    ts = min(ts, max(self._last_ig_ts, externs.us_of_monotonic_ns(arrival_ns)))
                self._last_ig_ts = ts
                F[self._s_ig_ts] = ts
            self._count("rx")
            self._in_lo.append(pkt)
            if not self._draining:
                self._drain()

    def _drain(self) -> None:
        self._draining = True
        try:
            in_hi, in_lo, queues = self._in_hi, self._in_lo, self._egress_q
            while True:
                worked = False
                for q in queues:  # highest priority first
                    if q:
                        self._safe(self._egress, q.popleft())
                        worked = True
                        break
                if in_hi:
                    self._safe(self._ingress, in_hi.popleft())
                    worked = True
                elif in_lo:
                    self._safe(self._ingress, in_lo.popleft())
                    worked = True
                if not worked:
                    return
        finally:
            self._draining = False

    def _safe(self, stage: Callable[[Packet], None], pkt: Packet) -> None:
        try:
            stage(pkt)
        except PacketDrop as e:
            self._count("drop_runtime_error")
            self._log(pkt, "error", f"packet dropped: {e.reason}")
        except Exception:  # never let one packet take the switch down
            self._count("drop_internal_error")
            log.error("internal error while processing packet %d:\n%s", pkt.packet_id,
                      traceback.format_exc())

    def _parse(self, pkt: Packet) -> None:
        cp = self.cp
        F = pkt.F
        pkt.off = 0
        state = cp.parse
        err = 0
        try:
            n = 0
            while state is not None:
                state = state(F, pkt)
                n += 1
                if n > PARSER_STATE_LIMIT:
                    raise ParserException(5)
        except ParserException as e:
            err = e.code
            self._count("parser_error")
            if self.trace:
                self._log(pkt, "debug", f"Parser error {err}")
        pkt.parser_error = err
        if self._s_parser_error is not None:
            F[self._s_parser_error] = err
        ok = cp.verify_checksums(F, pkt) if self._has_checksums else True
        pkt.checksum_error = not ok
        if self._s_checksum_error is not None:
            F[self._s_checksum_error] = 0 if ok else 1

    def _reset_metadata(self, F: list[int]) -> None:
        for a, b in self._meta_ranges:
            F[a:b] = [0] * (b - a)

    def _ingress(self, pkt: Packet) -> None:
        cp = self.cp
        F = pkt.F
        if self.trace:
            self._log(pkt, "debug", f"Processing packet received on port {pkt.ingress_port}")
        ingress_size = pkt.plen
        self._parse(pkt)
        cp.ingress(F, pkt)
        pkt.exit = False
        egress_spec = F[self._s_egress_spec]
        mgid = F[self._s_mcast_grp] if self._s_mcast_grp is not None else 0

        if pkt.clone_session is not None:
            session, fl = pkt.clone_session, pkt.clone_fl
            pkt.clone_session = None
            cfg = self.pre.mirrors.get(session)
            if cfg is not None:
                copy = self._new_packet(pkt.ingress_data, pkt.ingress_port, pkt.packet_id)
                copy.capacity = pkt.capacity
                copy.F[self._s_ingress_port] = pkt.ingress_port
                self._parse(copy)  # re-parse the packet as it entered ingress
                self._preserve(copy, F, fl, INGRESS_CLONE)
                copy.plen = ingress_size
                self._clone_out(copy, cfg)
            else:
                self._count("clone_no_session")

        if pkt.learn_id:
            entry = cp.learn_lists.get(pkt.learn_id)
            if entry is not None and self.digest_sink is not None:
                self.digest_sink(pkt.learn_id, entry[0], entry[1](F))
            self._count("digests")

        if pkt.resubmit_fl:
            new = self._new_packet(pkt.ingress_data, pkt.ingress_port, pkt.packet_id)
            new.capacity = pkt.capacity
            self._preserve(new, F, pkt.resubmit_fl, RESUBMIT)
            new.plen = ingress_size
            new.F[self._s_packet_length] = ingress_size
            self._in_hi.append(new)
            return

        if mgid:
            F[self._s_instance_type] = REPLICATION
            self._multicast(pkt, mgid)
            return

        if egress_spec == self.drop_port:
            self._count("drop_ingress")
            if self.trace:
                self._log(pkt, "debug", "Dropping packet at the end of ingress")
            return
        F[self._s_instance_type] = NORMAL
        self._enqueue(egress_spec, pkt)

    def _new_packet(self, data: bytes, ingress_port: int, packet_id: int) -> Packet:
        pkt = Packet(data, ingress_port, packet_id)
        pkt.F = self.cp.template.copy()
        return pkt

    def _preserve(self, dst: Packet, src_F: list[int], fl_id: int, instance_type: int) -> None:
        """copy_field_list_and_set_type: metadata reset, then the field list copied."""
        self._reset_metadata(dst.F)
        fl = self.cp.field_lists.get(fl_id)
        if fl is not None:
            fl(dst.F, src_F)
        dst.F[self._s_instance_type] = instance_type

    def _clone_out(self, copy: Packet, cfg: Any) -> None:
        if cfg.mgid is not None:
            self._multicast(copy, cfg.mgid)
        if cfg.egress_port is not None:
            self._enqueue(cfg.egress_port, copy)

    def _multicast(self, pkt: Packet, mgid: int) -> None:
        replicas = self.pre.replicate(mgid)
        if not replicas:
            self._count("drop_mcast_empty")
        for port, rid in replicas:
            c = Packet(pkt.data, pkt.ingress_port, pkt.packet_id)
            c.capacity = pkt.capacity
            c.off = pkt.off
            c.plen = pkt.plen
            c.ilen = pkt.ilen
            c.F = pkt.F.copy()
            if self._s_egress_rid is not None:
                c.F[self._s_egress_rid] = rid
            self._enqueue(port, c)

    def _enqueue(self, port: int, pkt: Packet) -> None:
        F = pkt.F
        pkt.egress_port = port
        prio = F[self._s_priority] if self._s_priority is not None else 0
        if prio >= self.nb_queues:
            self._count("drop_priority_out_of_range")
            self._log(pkt, "error", "Priority out of range, dropping packet")
            return
        q = self._egress_q[self.nb_queues - 1 - prio]
        if self._with_queueing:
            pkt.enq_ts = externs.now_us()
            std = self.cp.std
            F[std["enq_timestamp"]] = pkt.enq_ts & 0xFFFFFFFF
            F[std["enq_qdepth"]] = len(q)
        pkt.priority_q = self.nb_queues - 1 - prio
        q.append(pkt)

    def _egress(self, pkt: Packet) -> None:
        cp = self.cp
        F = pkt.F
        if self._s_eg_ts is not None:
            F[self._s_eg_ts] = externs.now_us()
        if self._with_queueing:
            std = cp.std
            F[std["deq_timedelta"]] = (externs.now_us() - pkt.enq_ts) & 0xFFFFFFFF
            F[std["deq_qdepth"]] = len(self._egress_q[pkt.priority_q])
            if "qid" in std:  # simple_switch: the priority the packet was queued with
                F[std["qid"]] = self.nb_queues - 1 - pkt.priority_q
        F[self._s_egress_port] = pkt.egress_port
        F[self._s_egress_spec] = self.drop_port + 1
        F[self._s_packet_length] = pkt.plen
        pkt.clone_session = None
        pkt.recirc_fl = 0
        cp.egress(F, pkt)

        if pkt.clone_session is not None:
            session, fl = pkt.clone_session, pkt.clone_fl
            pkt.clone_session = None
            cfg = self.pre.mirrors.get(session)
            if cfg is not None:
                copy = Packet(pkt.data, pkt.ingress_port, pkt.packet_id)
                copy.capacity = pkt.capacity
                copy.off = pkt.off
                copy.ilen = pkt.ilen
                copy.F = F.copy()
                self._preserve(copy, F, fl, EGRESS_CLONE)
                copy.plen = pkt.plen
                self._clone_out(copy, cfg)
            else:
                self._count("clone_no_session")

        if F[self._s_egress_spec] == self.drop_port:
            self._count("drop_egress")
            if self.trace:
                self._log(pkt, "debug", "Dropping packet at the end of egress")
            return
        if self._has_checksums:
            cp.update_checksums(F, pkt)
        out = cp.deparse(F, pkt)
        if len(out) > pkt.capacity:
            # simple_switch aborts here (PacketBuffer::push assertion); pybm drops
            self._count("drop_buffer_overflow")
            log.error("[%d.%d] deparsed packet of %d bytes exceeds its buffer of %d (received "
                      "length + %d): dropped (simple_switch would abort)", pkt.packet_id,
                      pkt.copy_id, len(out), pkt.capacity, BUFFER_HEADROOM)
            return

        if pkt.recirc_fl:
            new = self._new_packet(out, pkt.ingress_port, pkt.packet_id)
            new.capacity = pkt.capacity
            self._preserve(new, F, pkt.recirc_fl, RECIRC)
            new.F[self._s_packet_length] = len(out)
            self._in_hi.append(new)
            return
        if pkt.trunc != NO_TRUNCATE and pkt.trunc < len(out):
            out = out[:pkt.trunc]
        self._count("tx")
        if self.trace:
            self._log(pkt, "debug", f"Transmitting packet of size {len(out)} out of port {pkt.egress_port}")
        self.transmit(pkt.egress_port, out)

    # -- logging ---------------------------------------------------------------

    def _log(self, pkt: Packet | None, level: str, msg: str) -> None:
        where = f"[{pkt.packet_id}.{pkt.copy_id}] " if pkt is not None else ""
        getattr(log, level if level != "debug" else "debug")(f"{where}{msg}")

    def _log_from_program(self, pkt: Any, level: str, msg: str) -> None:
        self._log(pkt, level, msg)

    # -- runtime API (names as in the BMv2 JSON) -------------------------------

    def _program(self) -> CompiledProgram:
        if self.cp is None:
            raise RuntimeApiError("FAILED_PRECONDITION", "no pipeline loaded")
        return self.cp

    def table(self, name: str) -> MatchTable:
        t = self._program().tables.get(name)
        if t is None:
            raise RuntimeApiError("NOT_FOUND", f"no table named '{name}'")
        return t

    def table_add(self, name: str, match: list[Any], action: str | int, data: list[int],
                  priority: int | None = None) -> int:
        with self.lock:
            return self.table(name).add(match, action, data, priority)

    def table_modify(self, name: str, handle: int, action: str | int, data: list[int]) -> None:
        with self.lock:
            self.table(name).modify(handle, action, data)

    def table_delete(self, name: str, handle: int) -> None:
        with self.lock:
            self.table(name).delete(handle)

    def table_set_default(self, name: str, action: str | int, data: list[int]) -> None:
        with self.lock:
            self.table(name).set_default(action, data)

    def table_reset_default(self, name: str) -> None:
        with self.lock:
            self.table(name).reset_default()

    def table_clear(self, name: str) -> None:
        with self.lock:
            self.table(name).clear()

    def table_entries(self, name: str) -> list[Entry]:
        with self.lock:
            return list(self.table(name).entries.values())

    def table_counter_read(self, name: str, handle: int) -> tuple[int, int]:
        with self.lock:
            t = self.table(name)
            if not t.with_counters:
                raise RuntimeApiError("INVALID_ARGUMENT", f"table '{name}' has no direct counter")
            e = t.get(handle)
            return e.bytes, e.packets

    def table_counter_write(self, name: str, handle: int, nbytes: int, npackets: int) -> None:
        with self.lock:
            t = self.table(name)
            if not t.with_counters:
                raise RuntimeApiError("INVALID_ARGUMENT", f"table '{name}' has no direct counter")
            e = t.get(handle)
            externs.check_counts(name, nbytes, npackets)
            e.bytes, e.packets = nbytes, npackets

    def table_meter_set_rates(self, name: str, handle: int, rates: list[tuple[float, int]]) -> None:
        with self.lock:
            t = self.table(name)
            e = t.get(handle)
            if e.meter is None:
                raise RuntimeApiError("INVALID_ARGUMENT", f"table '{name}' has no direct meter")
            count = next((m.rate_count for m in self._program().meters.values()
                          if m.is_direct and m.binding == name), 2)
            externs.check_meter_rates(name, rates, count)
            e.meter.set_rates(rates, externs.now_us())

    def table_meter_get_rates(self, name: str, handle: int) -> list[tuple[float, int]]:
        with self.lock:
            e = self.table(name).get(handle)
            if e.meter is None:
                raise RuntimeApiError("INVALID_ARGUMENT", f"table '{name}' has no direct meter")
            return [(r.info_rate, r.burst) for r in e.meter.rates]

    def table_meter_reset_rates(self, name: str, handle: int) -> None:
        """Back to the unconfigured meter, which marks every packet GREEN."""
        with self.lock:
            e = self.table(name).get(handle)
            if e.meter is None:
                raise RuntimeApiError("INVALID_ARGUMENT", f"table '{name}' has no direct meter")
            e.meter.rates = []

    def _extern(self, kind: str, name: str) -> Any:
        objs = getattr(self._program(), kind)
        obj = objs.get(name)
        if obj is None:
            raise RuntimeApiError("NOT_FOUND", f"no {kind[:-1]} named '{name}'")
        return obj

    def counter_read(self, name: str, index: int) -> tuple[int, int]:
        with self.lock:
            return self._extern("counters", name).read(index)

    def counter_write(self, name: str, index: int, nbytes: int, npackets: int) -> None:
        with self.lock:
            self._extern("counters", name).write(index, nbytes, npackets)

    def counter_reset(self, name: str) -> None:
        with self.lock:
            self._extern("counters", name).reset()

    def register_read(self, name: str, index: int) -> int:
        with self.lock:
            return self._extern("registers", name).read(index)

    def register_write(self, name: str, index: int, value: int) -> None:
        with self.lock:
            self._extern("registers", name).write(index, value)

    def register_reset(self, name: str) -> None:
        with self.lock:
            self._extern("registers", name).reset()

    def meter_set_rates(self, name: str, index: int, rates: list[tuple[float, int]]) -> None:
        with self.lock:
            self._extern("meters", name).set_rates(index, rates)

    def meter_get_rates(self, name: str, index: int) -> list[tuple[float, int]]:
        with self.lock:
            return self._extern("meters", name).get_rates(index)

    def meter_reset_rates(self, name: str, index: int) -> None:
        """Back to the unconfigured meter, which marks every packet GREEN."""
        with self.lock:
            self._extern("meters", name).reset_rates(index)

    def parse_vset_add(self, name: str, value: int, mask: int | None = None) -> None:
        with self.lock:
            vs = self._extern("vsets", name)
            if not isinstance(value, int) or not (mask is None or isinstance(mask, int)):
                raise RuntimeApiError("INVALID_ARGUMENT",
                                      f"value set '{name}': value and mask must be integers")
            # members use the select key's layout (fields padded to bytes), like the
            # transition values of the JSON; a key of several fields is wider than
            # compressed_bitwidth
            width = vs.key_bits or vs.bitwidth
            if value < 0 or value >> max(width, 1):
                raise RuntimeApiError("INVALID_ARGUMENT",
                                      f"value set '{name}': value does not fit in {width} bits")
            if vs.max_size and len(vs.values) + len(vs.masked) >= vs.max_size:
                raise RuntimeApiError("RESOURCE_EXHAUSTED", f"value set '{name}' is full")
            if mask is None:
                vs.values.add(value)
            else:
                vs.masked.append((value & mask, mask))

    def parse_vset_remove(self, name: str, value: int, mask: int | None = None) -> None:
        with self.lock:
            vs = self._extern("vsets", name)
            try:
                if mask is None:
                    vs.values.remove(value)
                else:
                    vs.masked.remove((value & mask, mask))
            except (KeyError, ValueError):
                raise RuntimeApiError("NOT_FOUND", f"value set '{name}': no such member") from None

    def parse_vset_clear(self, name: str) -> None:
        with self.lock:
            vs = self._extern("vsets", name)
            vs.values.clear()
            vs.masked.clear()

    def set_crc_parameters(self, calc: str, config: Any) -> None:
        """simple_switch_CLI set_crc16_parameters / set_crc32_parameters."""
        with self.lock:
            fn = self._extern("calcs", calc)
            if not hasattr(fn, "reconfigure"):
                raise RuntimeApiError("INVALID_ARGUMENT", f"calculation '{calc}' is not a custom CRC")
            fn.reconfigure(config)

    def now_us(self) -> int:
        """The switch clock (what ingress_global_timestamp reads)."""
        return externs.now_us()
