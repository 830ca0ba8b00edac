"""P4Runtime client: connection, arbitration, pipeline, Write/Read, stream channel.

Built on the p4runtime package's gRPC stubs. One :class:`P4RuntimeClient`
is one controller connection to one device: it opens the StreamChannel,
asks to be primary with its election id, and runs one reader thread that
dispatches DigestList (acknowledged at once, so the switch can send the
next list), PacketIn, arbitration updates and stream errors to callbacks.
Failed RPCs raise :class:`P4RuntimeError` carrying the gRPC status and, for
Write, the per-update ``p4.v1.Error`` details the server returned.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import grpc
from google.rpc import code_pb2, status_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

log = logging.getLogger("p4nic.p4rt")

_CODE_NAMES = {v: k for k, v in code_pb2.Code.items()}


def code_name(code: int) -> str:
    return _CODE_NAMES.get(code, str(code))


@dataclass(frozen=True)
class UpdateError:
    """The error of one update of a failed Write batch (a ``p4.v1.Error``)."""
    index: int
    code: int            # google.rpc.Code
    message: str
    space: str = ""
    target_code: int = 0

    def __str__(self) -> str:
        extra = f" [{self.space} {self.target_code}]" if self.space else ""
        return f"update {self.index}: {code_name(self.code)}: {self.message}{extra}"


class P4RuntimeError(Exception):
    """A P4Runtime RPC failed: gRPC status code, message, per-update errors."""

    def __init__(self, what: str, code: grpc.StatusCode, message: str,
                 errors: Sequence[UpdateError] = ()):
        self.what = what
        self.code = code
        self.message = message
        self.errors = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.what}: {self.code.name}: {self.message}"
        if self.errors:
            text += "; " + "; ".join(str(e) for e in self.errors)
        return text

    @property
    def codes(self) -> list[int]:
        """google.rpc codes of the failed updates (empty if the server gave none)."""
        return [e.code for e in self.errors]


class NotPrimaryError(P4RuntimeError):
    """Another controller is primary for the device."""


def _update_errors(err: grpc.RpcError) -> list[UpdateError]:
    """The p4.v1.Error list of a batch failure, from grpc-status-details-bin."""
    trailing = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    for key, value in trailing or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status()
        try:
            status.ParseFromString(value)
        except Exception:   # a malformed details blob must not hide the real error
            return []
        errors = []
        for i, any_msg in enumerate(status.details):
            e = p4runtime_pb2.Error()
            if not any_msg.Unpack(e):
                continue
            if e.canonical_code != code_pb2.OK:
                errors.append(UpdateError(i, e.canonical_code, e.message, e.space, e.code))
        return errors
    return []


def _rpc_error(what: str, err: grpc.RpcError) -> P4RuntimeError:
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else str(err)
    errors = _update_errors(err) if code == grpc.StatusCode.UNKNOWN else []
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return NotPrimaryError(what, code, details or "not the primary controller", errors)
    return P4RuntimeError(what, code, details or "", errors)


def election_id_pair(election_id: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(election_id, tuple):
        return election_id
    if election_id < 0 or election_id >> 128:
        raise ValueError(f"election id {election_id} out of 0..2^128-1")
    return election_id >> 64, election_id & ((1 << 64) - 1)


class P4RuntimeClient:
    """One controller connection to one P4Runtime device."""

    def __init__(self, addr: str, device_id: int = 0,
                 election_id: int | tuple[int, int] = 1):
        self.addr = addr
        self.device_id = device_id
        self.election_id = election_id_pair(election_id)
        self.channel: grpc.Channel | None = None
        self.stub: p4runtime_pb2_grpc.P4RuntimeStub | None = None
        self.is_primary = False
        self.primary_election_id: tuple[int, int] | None = None
        self.digest_handlers: list[Callable[[p4runtime_pb2.DigestList], None]] = []
        self.packet_handlers: list[Callable[[p4runtime_pb2.PacketIn, float], None]] = []
        self.arbitration_handlers: list[Callable[[p4runtime_pb2.MasterArbitrationUpdate], None]] = []
        self.error_handlers: list[Callable[[p4runtime_pb2.StreamError], None]] = []
        self._requests: queue.Queue[p4runtime_pb2.StreamMessageRequest | None] = queue.Queue()
        self._arbitration = threading.Event()
        self._reader: threading.Thread | None = None
        self._stream = None
        self._closed = False
        self.stream_failure: str | None = None

    # ---- connection ----------------------------------------------------------------------
    def connect(self, timeout: float = 10.0, require_primary: bool = True) -> bool:
        """Open the channel and the stream, ask to be primary; True if primary."""
        self.channel = grpc.insecure_channel(self.addr)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            self.channel.close()
            self.channel = None
            raise P4RuntimeError("connect", grpc.StatusCode.UNAVAILABLE,
                                 f"no P4Runtime server at {self.addr} within {timeout} s") from None
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self._stream = self.stub.StreamChannel(self._request_iterator())
        self._reader = threading.Thread(target=self._read_stream, name="p4rt-stream", daemon=True)
        self._reader.start()
        self._send_arbitration()
        deadline = time.monotonic() + timeout
        while not self._arbitration.wait(0.05):
            if self.stream_failure is not None:
                raise P4RuntimeError("arbitration", grpc.StatusCode.UNAVAILABLE,
                                     self.stream_failure)
            if time.monotonic() > deadline:
                raise P4RuntimeError("arbitration", grpc.StatusCode.DEADLINE_EXCEEDED,
                                     f"no arbitration answer from {self.addr} within {timeout} s")
        if self.stream_failure is not None and not self.is_primary:
            raise P4RuntimeError("arbitration", grpc.StatusCode.UNAVAILABLE, self.stream_failure)
        if require_primary and not self.is_primary:
            hi, lo = self.primary_election_id or (0, 0)
            self.close()
            raise NotPrimaryError(
                "arbitration", grpc.StatusCode.ALREADY_EXISTS,
                f"another controller is primary for device {self.device_id} "
                f"(its election id {(hi << 64) | lo} >= ours "
                f"{(self.election_id[0] << 64) | self.election_id[1]})")
        return self.is_primary

    def _send_arbitration(self) -> None:
        req = p4runtime_pb2.StreamMessageRequest()
        req.arbitration.device_id = self.device_id
        req.arbitration.election_id.high = self.election_id[0]
        req.arbitration.election_id.low = self.election_id[1]
        self._requests.put(req)

    def _request_iterator(self) -> Iterator[p4runtime_pb2.StreamMessageRequest]:
        while True:
            req = self._requests.get()
            if req is None:
                return
            yield req

    def _read_stream(self) -> None:
        try:
            for resp in self._stream:
                self._dispatch(resp)
        except grpc.RpcError as e:
            if not self._closed:
                self.stream_failure = f"stream channel closed: {e.code().name}: {e.details()}"
                log.error("%s", self.stream_failure)
        else:
            if not self._closed:
                self.stream_failure = "stream channel closed by the server"
                log.error("%s", self.stream_failure)
        self.is_primary = False
        self._arbitration.set()

    def _dispatch(self, resp: p4runtime_pb2.StreamMessageResponse) -> None:
        which = resp.WhichOneof("update")
        if which == "arbitration":
            arb = resp.arbitration
            self.is_primary = arb.status.code == code_pb2.OK
            self.primary_election_id = (arb.election_id.high, arb.election_id.low)
            self._arbitration.set()
            self._call(self.arbitration_handlers, arb)
        elif which == "digest":
            dl = resp.digest
            ack = p4runtime_pb2.StreamMessageRequest()
            ack.digest_ack.digest_id = dl.digest_id
            ack.digest_ack.list_id = dl.list_id
            self._requests.put(ack)
            self._call(self.digest_handlers, dl)
        elif which == "packet":
            self._call(self.packet_handlers, resp.packet, time.time())
        elif which == "error":
            log.warning("stream error from the server: %s: %s",
                        code_name(resp.error.canonical_code), resp.error.message)
            self._call(self.error_handlers, resp.error)

    @staticmethod
    def _call(handlers: list, *args: object) -> None:
        for h in list(handlers):
            try:
                h(*args)
            except Exception:   # one bad handler must not stop the stream reader
                log.exception("stream handler %r failed", h)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._requests.put(None)
        if self._stream is not None:
            self._stream.cancel()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=5)
        if self.channel is not None:
            self.channel.close()
        self.is_primary = False

    # ---- pipeline --------------------------------------------------------------------------
    def set_pipeline(self, p4info: p4info_pb2.P4Info, device_config: bytes,
                     action: str = "VERIFY_AND_COMMIT", cookie: int | None = None) -> None:
        req = p4runtime_pb2.SetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            action=p4runtime_pb2.SetForwardingPipelineConfigRequest.Action.Value(action))
        req.election_id.high, req.election_id.low = self.election_id
        req.config.p4info.CopyFrom(p4info)
        req.config.p4_device_config = device_config
        if cookie is not None:
            req.config.cookie.cookie = cookie
        try:
            self.stub.SetForwardingPipelineConfig(req)
        except grpc.RpcError as e:
            raise _rpc_error("SetForwardingPipelineConfig", e) from None

    def get_p4info(self) -> p4info_pb2.P4Info | None:
        """The P4Info of the pipeline on the device, None if none is set."""
        req = p4runtime_pb2.GetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            response_type=p4runtime_pb2.GetForwardingPipelineConfigRequest.P4INFO_AND_COOKIE)
        try:
            resp = self.stub.GetForwardingPipelineConfig(req)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                return None
            raise _rpc_error("GetForwardingPipelineConfig", e) from None
        if not resp.config.HasField("p4info"):
            return None
        return resp.config.p4info

    # ---- write / read ---------------------------------------------------------------------
    def write(self, updates: Sequence[p4runtime_pb2.Update], what: str = "Write") -> None:
        if not updates:
            return
        req = p4runtime_pb2.WriteRequest(device_id=self.device_id)
        req.election_id.high, req.election_id.low = self.election_id
        req.updates.extend(updates)
        try:
            self.stub.Write(req)
        except grpc.RpcError as e:
            raise _rpc_error(what, e) from None

    @staticmethod
    def update(kind: str, entity: p4runtime_pb2.Entity) -> p4runtime_pb2.Update:
        """Update of type INSERT / MODIFY / DELETE for ``entity``."""
        u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.Type.Value(kind))
        u.entity.CopyFrom(entity)
        return u

    def insert(self, entity: p4runtime_pb2.Entity, what: str = "INSERT") -> None:
        self.write([self.update("INSERT", entity)], what)

    def modify(self, entity: p4runtime_pb2.Entity, what: str = "MODIFY") -> None:
        self.write([self.update("MODIFY", entity)], what)

    def delete(self, entity: p4runtime_pb2.Entity, what: str = "DELETE") -> None:
        self.write([self.update("DELETE", entity)], what)

    def read(self, entities: Iterable[p4runtime_pb2.Entity], what: str = "Read"
             ) -> list[p4runtime_pb2.Entity]:
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.extend(entities)
        out: list[p4runtime_pb2.Entity] = []
        try:
            for resp in self.stub.Read(req):
                out.extend(resp.entities)
        except grpc.RpcError as e:
            raise _rpc_error(what, e) from None
        return out

    # ---- packet I/O ---------------------------------------------------------------------------
    def packet_out(self, payload: bytes, metadata: Sequence[tuple[int, bytes]]) -> None:
        """Send a PacketOut; ``metadata`` is (metadata id, canonical bytestring) pairs."""
        if self._closed or self.stream_failure is not None:
            raise P4RuntimeError("PacketOut", grpc.StatusCode.UNAVAILABLE,
                                 self.stream_failure or "connection closed")
        req = p4runtime_pb2.StreamMessageRequest()
        req.packet.payload = payload
        for mid, value in metadata:
            req.packet.metadata.add(metadata_id=mid, value=value)
        self._requests.put(req)
