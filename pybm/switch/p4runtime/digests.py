"""Digests: DigestEntry configuration and the DigestList stream (spec "DigestEntry").

The engine reports every learned tuple through ``Switch.digest_sink(learn_id,
learn_list_name, values)``, from the packet-processing thread and under the
switch lock, so :meth:`DigestManager.on_digest` only buffers and returns.
Learn lists map to P4Info digests by name (both carry p4c's name for the
digest type, which is how BMv2's PI layer pairs them).

Per digest, as the specification describes:
- nothing is sent until the client enables the digest with a DigestEntry INSERT;
- samples are buffered until ``max_list_size`` distinct samples are waiting or
  the oldest has waited ``max_timeout_ns`` (0: send each sample at once);
- a sent sample stays in a cache, and is not sent again, until its list is
  acknowledged with DigestListAck or ``ack_timeout_ns`` has passed (0: no cache).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from p4.v1 import p4data_pb2, p4runtime_pb2

from pybm.switch.p4runtime import convert
from pybm.switch.p4runtime.errors import (
    ALREADY_EXISTS,
    INVALID_ARGUMENT,
    NOT_FOUND,
    P4RTError,
)
from pybm.switch.p4runtime.pipeline import Binding, DigestInfo

log = logging.getLogger("pybm.p4runtime")
Update = p4runtime_pb2.Update
# a StreamMessageResponse, or its wire bytes (digest lists)
SendFn = Callable[[p4runtime_pb2.StreamMessageResponse | bytes], None]


@dataclass
class _DigestState:
    info: DigestInfo
    config: p4runtime_pb2.DigestEntry.Config
    buffer: list[tuple] = field(default_factory=list)
    first_ns: int = 0  # when the oldest buffered sample arrived
    cache: set[tuple] = field(default_factory=set)
    sent: dict[int, tuple[list[tuple], int]] = field(default_factory=dict)  # list_id -> (samples, t)
    next_list_id: int = 1


# ---- DigestList wire encoding ------------------------------------------------------
# The pure-Python protobuf runtime (protobuf < 3.21, no C extension) spends about
# 180 us building and serializing one digest sample as message objects; a NIC
# reporting every TCP PSH would pay that per packet. Digest lists are therefore
# encoded straight to protobuf wire bytes (field numbers from the descriptors)
# and handed to gRPC as bytes (the StreamChannel serializer passes bytes through).
_F_DIGEST = p4runtime_pb2.StreamMessageResponse.DESCRIPTOR.fields_by_name["digest"].number
_DL = p4runtime_pb2.DigestList.DESCRIPTOR.fields_by_name
_F_DIGEST_ID, _F_LIST_ID = _DL["digest_id"].number, _DL["list_id"].number
_F_DATA, _F_TIMESTAMP = _DL["data"].number, _DL["timestamp"].number
_PD = p4data_pb2.P4Data.DESCRIPTOR.fields_by_name
_F_BITSTRING, _F_STRUCT, _F_TUPLE = (_PD["bitstring"].number, _PD["struct"].number,
                                     _PD["tuple"].number)
_F_MEMBERS = p4data_pb2.P4StructLike.DESCRIPTOR.fields_by_name["members"].number


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value) if value else b""


def encode_sample_wire(info: DigestInfo, values: tuple) -> bytes:
    """One learned tuple as the wire bytes of its P4Data (what encode_sample builds)."""
    members = [_len_field(_F_BITSTRING, convert.encode_int(convert.to_signed(int(v), w))
                          if signed else convert.encode_uint(convert.to_unsigned(int(v), w)))
               for v, (w, signed) in zip(values, info.members)]
    if info.kind == "bitstring":
        return members[0]
    body = b"".join(_len_field(_F_MEMBERS, m) for m in members)
    return _len_field(_F_STRUCT if info.kind == "struct" else _F_TUPLE, body)


def digest_list_wire(digest_id: int, list_id: int, timestamp: int,
                     samples: list[bytes]) -> bytes:
    """A StreamMessageResponse carrying one DigestList, as protobuf wire bytes."""
    dl = (_int_field(_F_DIGEST_ID, digest_id) + _int_field(_F_LIST_ID, list_id)
          + b"".join(_len_field(_F_DATA, s) for s in samples)
          + _int_field(_F_TIMESTAMP, timestamp))
    return _len_field(_F_DIGEST, dl)


def encode_sample(info: DigestInfo, values: tuple) -> p4data_pb2.P4Data:
    """One learned tuple as the P4Data the P4Info type_spec describes."""
    members = [convert.p4data_bitstring(int(v), w, signed)
               for v, (w, signed) in zip(values, info.members)]
    if info.kind == "bitstring":
        return members[0]
    data = p4data_pb2.P4Data()
    container = data.struct if info.kind == "struct" else data.tuple
    container.members.extend(members)
    return data


class DigestManager:
    """Buffers, deduplicates and sends digests of the committed pipeline."""

    def __init__(self, send: SendFn):
        self._send = send
        self._cond = threading.Condition()
        self._binding: Binding | None = None
        self._states: dict[int, _DigestState] = {}
        self._stop = False
        self._thread: threading.Thread | None = None
        self.dropped = 0  # samples of digests the client has not enabled

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._timer, name="p4rt-digests", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def bind(self, binding: Binding) -> None:
        """The committed pipeline changed: start over with its digest configuration."""
        with self._cond:
            self._binding = binding
            self._states = {}
            for did, cfg in binding.digest_configs.items():
                self._states[did] = _DigestState(binding.pipeline.digests[did], cfg)
            self._cond.notify_all()

    # -- data plane side ---------------------------------------------------------

    def on_digest(self, learn_id: int, name: str, values: tuple) -> None:
        """Switch.digest_sink: called for every learned tuple, under the switch lock."""
        with self._cond:
            b = self._binding
            info = b.pipeline.digests_by_name.get(name) if b is not None else None
            st = self._states.get(info.id) if info is not None else None
            if st is None:
                self.dropped += 1
                return
            sample = tuple(values)
            if sample in st.cache or sample in st.buffer:
                return
            if not st.buffer:
                st.first_ns = time.monotonic_ns()
            st.buffer.append(sample)
            cfg = st.config
            if cfg.max_timeout_ns == 0 or (cfg.max_list_size and len(st.buffer) >= cfg.max_list_size):
                self._flush(st)
            else:
                self._cond.notify_all()  # the timer has a new deadline to watch

    def _flush(self, st: _DigestState) -> None:
        if not st.buffer:
            return
        now = time.monotonic_ns()
        msg = digest_list_wire(st.info.id, st.next_list_id, time.time_ns(),
                               [encode_sample_wire(st.info, s) for s in st.buffer])
        if st.config.ack_timeout_ns > 0:
            st.cache.update(st.buffer)
            st.sent[st.next_list_id] = (st.buffer, now)
            self._cond.notify_all()  # the timer has a cache entry to expire
        st.next_list_id += 1
        st.buffer = []
        try:
            self._send(msg)
        except Exception:  # a broken stream must not break the data plane
            log.exception("cannot send a DigestList")

    def _timer(self) -> None:
        with self._cond:
            while not self._stop:
                now = time.monotonic_ns()
                wake: int | None = None
                for st in self._states.values():
                    cfg = st.config
                    if st.buffer:
                        due = st.first_ns + cfg.max_timeout_ns
                        if now >= due:
                            self._flush(st)
                        else:
                            wake = due if wake is None else min(wake, due)
                    for list_id, (_samples, sent_ns) in list(st.sent.items()):
                        due = sent_ns + cfg.ack_timeout_ns
                        if now >= due:
                            self._forget(st, list_id)
                        else:
                            wake = due if wake is None else min(wake, due)
                timeout = None if wake is None else max(wake - now, 0) / 1e9
                self._cond.wait(timeout)

    def _forget(self, st: _DigestState, list_id: int) -> None:
        samples, _ = st.sent.pop(list_id)
        st.cache.difference_update(samples)

    # -- client side ---------------------------------------------------------------

    def ack(self, ack: p4runtime_pb2.DigestListAck) -> None:
        """DigestListAck; INVALID_ARGUMENT for a digest id the P4Info does not have."""
        with self._cond:
            b = self._binding
            if b is None or ack.digest_id not in b.pipeline.digests:
                raise P4RTError(INVALID_ARGUMENT, f"DigestListAck: unknown digest id {ack.digest_id}")
            st = self._states.get(ack.digest_id)
            if st is not None and ack.list_id in st.sent:
                self._forget(st, ack.list_id)

    def write(self, b: Binding, utype: int, de: p4runtime_pb2.DigestEntry) -> None:
        where = f"{Update.Type.Name(utype)} digest"
        info = b.pipeline.digests.get(de.digest_id)
        if info is None:
            raise P4RTError(INVALID_ARGUMENT, f"{where}: unknown digest id {de.digest_id}")
        where = f"{where} '{info.name}'"
        cfg = de.config
        if cfg.max_timeout_ns < 0 or cfg.max_list_size < 0 or cfg.ack_timeout_ns < 0:
            raise P4RTError(INVALID_ARGUMENT, f"{where}: configuration values cannot be negative")
        configured = info.id in b.digest_configs
        if utype == Update.INSERT:
            if configured:
                raise P4RTError(ALREADY_EXISTS, f"{where}: already enabled (use MODIFY)")
        elif utype in (Update.MODIFY, Update.DELETE):
            if not configured:
                raise P4RTError(NOT_FOUND, f"{where}: not enabled (INSERT it first)")
        else:
            raise P4RTError(INVALID_ARGUMENT, f"{where}: update type UNSPECIFIED")
        with self._cond:
            active = b is self._binding
            if utype == Update.DELETE:
                del b.digest_configs[info.id]
                if active:
                    self._states.pop(info.id, None)
                return
            stored = p4runtime_pb2.DigestEntry.Config()
            stored.CopyFrom(cfg)
            b.digest_configs[info.id] = stored
            if active:
                st = self._states.get(info.id)
                if st is None:
                    self._states[info.id] = _DigestState(info, stored)
                else:
                    st.config = stored
                    if stored.max_timeout_ns == 0 or (
                            stored.max_list_size and len(st.buffer) >= stored.max_list_size):
                        self._flush(st)
                self._cond.notify_all()

    def read(self, b: Binding, want: p4runtime_pb2.DigestEntry) -> Iterator[p4runtime_pb2.Entity]:
        if want.digest_id == 0:
            ids = sorted(b.digest_configs)
        else:
            if want.digest_id not in b.pipeline.digests:
                raise P4RTError(INVALID_ARGUMENT, f"read digest: unknown digest id {want.digest_id}")
            if want.digest_id not in b.digest_configs:
                raise P4RTError(NOT_FOUND,
                                f"read digest '{b.pipeline.digests[want.digest_id].name}': "
                                "not enabled")
            ids = [want.digest_id]
        for did in ids:
            de = p4runtime_pb2.DigestEntry(digest_id=did)
            de.config.CopyFrom(b.digest_configs[did])
            yield p4runtime_pb2.Entity(digest_entry=de)
