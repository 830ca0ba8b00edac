"""The P4Runtime v1 gRPC service of pybm-switch (what simple_switch_grpc serves).

Usage, as the switch CLI and the port back ends do::

    srv = P4RuntimeServer(switch, device_id=0, cpu_port=255)
    port = srv.start("127.0.0.1:9559")   # non-blocking; "host:0" picks a free port
    srv.packet_in(frame)                 # every frame the switch sends to cpu_port
    srv.stop(grace=1.0)

Concurrency: Write, Read and SetForwardingPipelineConfig are serialized by one
lock, and each holds the switch lock while it touches the engine, so every
batch is atomic with respect to packets and to other batches (the strict
serializability the specification asks for). Each StreamChannel has a reader
thread and a queue drained by the RPC's response generator, so packet-ins,
digests and arbitration notices can be sent from any thread.
"""

from __future__ import annotations

import logging
import threading
from concurrent import futures

import grpc
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from pybm.switch.engine import Switch
from pybm.switch.errors import ConfigError
from pybm.switch.p4runtime import packetio, reconcile
from pybm.switch.p4runtime.arbitration import CLOSE, Arbitrator, Stream
from pybm.switch.p4runtime.digests import DigestManager
from pybm.switch.p4runtime.entities import read_entity, write_update
from pybm.switch.p4runtime.errors import (
    ERROR_SPACE,
    FAILED_PRECONDITION,
    INTERNAL,
    INVALID_ARGUMENT,
    NOT_FOUND,
    PERMISSION_DENIED,
    RESOURCE_EXHAUSTED,
    UNIMPLEMENTED,
    P4RTError,
    code_number,
    set_batch_error,
)
from pybm.switch.p4runtime.pipeline import Binding, Pipeline, StagedTarget

log = logging.getLogger("pybm.p4runtime")

P4RUNTIME_API_VERSION = "1.4.1"
MAX_STREAMS = 32  # open StreamChannels; each holds a worker thread of the pool
MAX_WORKERS = 64  # leaves room for unary RPCs when every stream slot is taken
MAX_MESSAGE = 256 * 1024 * 1024  # as simple_switch_grpc
READ_CHUNK = 1000  # entities per ReadResponse
SetAction = p4runtime_pb2.SetForwardingPipelineConfigRequest
GetType = p4runtime_pb2.GetForwardingPipelineConfigRequest


class P4RuntimeServer:
    """P4Runtime server for one pybm Switch (one device)."""

    def __init__(self, switch: Switch, device_id: int = 0, cpu_port: int | None = None, *,
                 max_workers: int = MAX_WORKERS):
        self.switch = switch
        self.device_id = device_id
        self.cpu_port = cpu_port
        self._max_workers = max_workers
        self._lock = threading.RLock()  # serializes the control-plane RPCs
        self._arb = Arbitrator(device_id)
        self._digests = DigestManager(self._send_to_primaries)
        self._active: Binding | None = None  # the committed pipeline
        self._saved: Binding | None = None  # VERIFY_AND_SAVE, awaiting COMMIT
        self._streams: set[Stream] = set()
        self._streams_lock = threading.Lock()
        self._server: grpc.Server | None = None
        self.stats = {"packet_in": 0, "packet_in_dropped": 0, "packet_out": 0}
        # the engine reports digests to whoever set this; the service is that one
        switch.digest_sink = self._digests.on_digest

    # -- lifecycle -------------------------------------------------------------

    def start(self, address: str = "0.0.0.0:9559") -> int:
        """Serve on ``address`` (non-blocking); returns the bound TCP port."""
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="p4rt"),
            options=[("grpc.max_receive_message_length", MAX_MESSAGE),
                     ("grpc.max_send_message_length", MAX_MESSAGE),
                     # never share a port with another server by accident
                     ("grpc.so_reuseport", 0)])
        server.add_generic_rpc_handlers((_BytesPassingHandler(_Service(self)),))
        try:
            port = server.add_insecure_port(address)
        except RuntimeError as e:
            raise OSError(f"P4Runtime server cannot listen on {address}: {e}") from None
        if port == 0:
            raise OSError(f"P4Runtime server cannot listen on {address}")
        server.start()
        self._server = server
        self._digests.start()
        log.info("P4Runtime server listening on %s (port %d), device id %d",
                 address, port, self.device_id)
        return port

    def stop(self, grace: float | None = 1.0) -> None:
        with self._streams_lock:
            streams = list(self._streams)
        for s in streams:
            s.close()
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None
        self._digests.stop()
        if self.switch.digest_sink == self._digests.on_digest:
            self.switch.digest_sink = None

    # -- packet I/O and notifications --------------------------------------------

    def packet_in(self, data: bytes) -> None:
        """A frame the switch transmitted on the CPU port: send it to the primary."""
        b = self._active
        msg = packetio.packet_in_message(b.pipeline.packet_in, bytes(data)) if b else None
        primaries = list(self._arb.primaries()) if msg is not None else []
        if not primaries:
            self.stats["packet_in_dropped"] += 1
            return
        resp = p4runtime_pb2.StreamMessageResponse(packet=msg)
        for s in primaries:
            s.send(resp, droppable=True)
        self.stats["packet_in"] += 1

    def _send_to_primaries(self, msg: p4runtime_pb2.StreamMessageResponse | bytes) -> None:
        for s in self._arb.primaries():
            s.send(msg, droppable=True)

    # -- pipeline ------------------------------------------------------------------

    def set_pipeline(self, p4info: p4info_pb2.P4Info, device_config: bytes,
                     cookie: int | None = None) -> None:
        """Commit a pipeline locally (as VERIFY_AND_COMMIT would), e.g. from --p4info."""
        config = p4runtime_pb2.ForwardingPipelineConfig(p4_device_config=device_config)
        config.p4info.CopyFrom(p4info)
        if cookie is not None:
            config.cookie.cookie = cookie
        pipe = Pipeline.build(config, drop_port=self.switch.drop_port)
        with self._lock:
            self._commit(pipe, [], {})

    def _current(self) -> Binding:
        b = self._saved or self._active
        if b is None:
            raise P4RTError(FAILED_PRECONDITION,
                            "no forwarding pipeline config set (SetForwardingPipelineConfig first)")
        return b

    def _commit(self, pipe: Pipeline, updates: list[p4runtime_pb2.Update],
                digest_configs: dict[int, p4runtime_pb2.DigestEntry.Config]) -> None:
        sw = self.switch
        with sw.lock:
            try:
                sw.load_config(pipe.device_config)
            except ConfigError as e:
                raise P4RTError(INVALID_ARGUMENT, f"cannot load p4_device_config: {e}") from None
            b = Binding(pipe, sw)
            for u in updates:
                try:
                    write_update(b, self._digests, u)
                except P4RTError as e:  # they succeeded on the same program before
                    log.error("replaying %s after a pipeline change failed: %s",
                              u.entity.WhichOneof("entity"), e)
            b.digest_configs.update(digest_configs)
            self._active = b
            self._saved = None
            self._digests.bind(b)
        log.info("forwarding pipeline committed (%d tables, %d state updates replayed)",
                 len(pipe.tables), len(updates))

    def _set_pipeline_config(self, request: p4runtime_pb2.SetForwardingPipelineConfigRequest
                             ) -> None:
        eid = request.election_id if request.HasField("election_id") else None
        self._arb.check_primary(request.device_id, request.role, eid)
        action = request.action
        if action == SetAction.UNSPECIFIED:
            raise P4RTError(INVALID_ARGUMENT, "SetForwardingPipelineConfig: action UNSPECIFIED")
        if action == SetAction.COMMIT:
            if request.HasField("config") and request.config.ByteSize():
                raise P4RTError(INVALID_ARGUMENT, "COMMIT takes no config (it commits the saved one)")
            with self._lock:
                saved = self._saved
                if saved is None:
                    raise P4RTError(NOT_FOUND, "COMMIT: no saved config (VERIFY_AND_SAVE first)")
                self._commit(saved.pipeline, saved.write_log or [], saved.digest_configs)
            return
        if action not in (SetAction.VERIFY, SetAction.VERIFY_AND_SAVE,
                          SetAction.VERIFY_AND_COMMIT, SetAction.RECONCILE_AND_COMMIT):
            raise P4RTError(INVALID_ARGUMENT, f"SetForwardingPipelineConfig: unknown action {action}")
        if not request.HasField("config"):
            raise P4RTError(INVALID_ARGUMENT, f"{SetAction.Action.Name(action)} needs a config")
        pipe = Pipeline.build(request.config, drop_port=self.switch.drop_port)
        if action == SetAction.VERIFY:
            return
        with self._lock:
            if action == SetAction.VERIFY_AND_SAVE:
                self._saved = Binding(pipe, StagedTarget(pipe.compiled), write_log=[])
            elif action == SetAction.VERIFY_AND_COMMIT or self._active is None:
                self._commit(pipe, [], {})
            else:
                self._reconcile(pipe)

    def _reconcile(self, pipe: Pipeline) -> None:
        cur = self._active
        with cur.target.lock:
            updates = reconcile.translate(reconcile.snapshot(cur), cur.pipeline, pipe)
            digests = reconcile.translate_digests(cur, pipe)
        # a dry run on a staged copy first, so that a failure leaves the switch untouched
        staged = Binding(pipe, StagedTarget(pipe.compiled))
        for u in updates:
            try:
                write_update(staged, self._digests, u)
            except P4RTError as e:
                raise P4RTError(INVALID_ARGUMENT,
                                f"RECONCILE_AND_COMMIT cannot preserve the state: {e.message}"
                                ) from None
        self._commit(pipe, updates, digests)

    # -- Write / Read ----------------------------------------------------------------

    def _write(self, request: p4runtime_pb2.WriteRequest) -> list[P4RTError | None]:
        eid = request.election_id if request.HasField("election_id") else None
        self._arb.check_primary(request.device_id, request.role, eid)
        with self._lock:
            b = self._current()
            if request.atomicity != p4runtime_pb2.WriteRequest.CONTINUE_ON_ERROR:
                raise P4RTError(UNIMPLEMENTED, "only CONTINUE_ON_ERROR batches are supported")
            errors: list[P4RTError | None] = []
            with b.target.lock:
                for u in request.updates:
                    try:
                        write_update(b, self._digests, u)
                    except P4RTError as e:
                        errors.append(e)
                        continue
                    except Exception as e:  # a bug must cost one update, not the server
                        log.exception("internal error in a Write update")
                        errors.append(P4RTError(INTERNAL, f"internal error: {type(e).__name__}: {e}"))
                        continue
                    errors.append(None)
                    if b.write_log is not None:
                        logged = p4runtime_pb2.Update()
                        logged.CopyFrom(u)
                        b.write_log.append(logged)
            return errors

    def _read(self, request: p4runtime_pb2.ReadRequest
              ) -> tuple[list[p4runtime_pb2.Entity], list[P4RTError | None]]:
        if request.device_id != self.device_id:
            raise P4RTError(NOT_FOUND, f"unknown device id {request.device_id}")
        with self._lock:
            b = self._current()
            found: list[p4runtime_pb2.Entity] = []
            errors: list[P4RTError | None] = []
            with b.target.lock:
                for e in request.entities:
                    try:
                        found.extend(read_entity(b, self._digests, e))
                    except P4RTError as err:
                        errors.append(err)
                        continue
                    except Exception as err:
                        log.exception("internal error in a Read request")
                        errors.append(P4RTError(INTERNAL,
                                                f"internal error: {type(err).__name__}: {err}"))
                        continue
                    errors.append(None)
            return found, errors

    def _get_pipeline_config(self, request: p4runtime_pb2.GetForwardingPipelineConfigRequest
                             ) -> p4runtime_pb2.GetForwardingPipelineConfigResponse:
        if request.device_id != self.device_id:
            raise P4RTError(NOT_FOUND, f"unknown device id {request.device_id}")
        resp = p4runtime_pb2.GetForwardingPipelineConfigResponse()
        b = self._saved or self._active
        if b is None:
            return resp  # no config known: 'config' stays unset, as the specification says
        cfg = b.pipeline.config
        rt = request.response_type
        if rt not in (GetType.ALL, GetType.COOKIE_ONLY, GetType.P4INFO_AND_COOKIE,
                      GetType.DEVICE_CONFIG_AND_COOKIE):
            raise P4RTError(INVALID_ARGUMENT, f"unknown response_type {rt}")
        out = resp.config
        out.SetInParent()
        if cfg.HasField("cookie"):
            out.cookie.CopyFrom(cfg.cookie)
        if rt in (GetType.ALL, GetType.P4INFO_AND_COOKIE):
            out.p4info.CopyFrom(cfg.p4info)
        if rt in (GetType.ALL, GetType.DEVICE_CONFIG_AND_COOKIE):
            out.p4_device_config = cfg.p4_device_config
        return resp

    # -- StreamChannel ---------------------------------------------------------------

    def _open_stream(self, stream: Stream) -> bool:
        with self._streams_lock:
            if len(self._streams) >= MAX_STREAMS:
                return False
            self._streams.add(stream)
            return True

    def _close_stream(self, stream: Stream) -> None:
        stream.close()
        self._arb.remove(stream)
        with self._streams_lock:
            self._streams.discard(stream)

    def _read_stream(self, stream: Stream, requests: object) -> None:
        try:
            for req in requests:  # type: ignore[attr-defined]
                if stream.closed:
                    break
                try:
                    self._stream_request(stream, req)
                except Exception:  # never let one message kill the stream silently
                    log.exception("internal error on a StreamChannel message")
                    self._stream_error(stream, P4RTError(INTERNAL, "internal error"))
        except Exception as e:  # the client went away
            log.debug("StreamChannel from %s ended: %s", stream.peer, e)
        finally:
            stream.close()  # the client closed its side: end the RPC with OK, as PI does

    def _stream_request(self, stream: Stream, req: p4runtime_pb2.StreamMessageRequest) -> None:
        kind = req.WhichOneof("update")
        if kind == "arbitration":
            try:
                self._arb.update(stream, req.arbitration)
            except P4RTError as e:  # arbitration errors end the stream (never a StreamError)
                stream.close(e)
        elif kind == "packet":
            self._packet_out(stream, req.packet)
        elif kind == "digest_ack":
            try:
                if not self._arb.is_primary(stream):
                    raise P4RTError(PERMISSION_DENIED, "only the primary controller acks digests")
                self._digests.ack(req.digest_ack)
            except P4RTError as e:
                self._stream_error(stream, e, digest_ack=req.digest_ack)
        elif kind == "other":
            self._stream_error(stream, P4RTError(UNIMPLEMENTED,
                                                 f"unsupported stream message {req.other.type_url}"),
                               other=req.other)
        else:
            self._stream_error(stream, P4RTError(INVALID_ARGUMENT, "empty StreamMessageRequest"))

    def _packet_out(self, stream: Stream, msg: p4runtime_pb2.PacketOut) -> None:
        try:
            if not self._arb.is_primary(stream):
                raise P4RTError(PERMISSION_DENIED, "only the primary controller may send PacketOut")
            b = self._active
            if b is None:
                raise P4RTError(FAILED_PRECONDITION, "no forwarding pipeline config committed")
            if self.cpu_port is None:
                raise P4RTError(FAILED_PRECONDITION, "the switch runs without a CPU port")
            frame = packetio.packet_out_frame(b.pipeline.packet_out, msg)
        except P4RTError as e:
            self._stream_error(stream, e, packet_out=msg)
            return
        self.stats["packet_out"] += 1
        self.switch.receive(self.cpu_port, frame)

    def _stream_error(self, stream: Stream, e: P4RTError, *,
                      packet_out: p4runtime_pb2.PacketOut | None = None,
                      digest_ack: p4runtime_pb2.DigestListAck | None = None,
                      other: object = None) -> None:
        msg = p4runtime_pb2.StreamMessageResponse()
        err = msg.error
        err.canonical_code = code_number(e.code)
        err.message = e.message
        err.space = ERROR_SPACE
        if packet_out is not None:
            err.packet_out.packet_out.CopyFrom(packet_out)
        elif digest_ack is not None:
            err.digest_list_ack.digest_list_ack.CopyFrom(digest_ack)
        elif other is not None:
            err.other.other.CopyFrom(other)
        stream.send(msg, droppable=True)


class _Service(p4runtime_pb2_grpc.P4RuntimeServicer):
    """gRPC glue: P4RTError -> status; the logic lives in P4RuntimeServer."""

    def __init__(self, srv: P4RuntimeServer):
        self.srv = srv

    def Write(self, request, context):  # noqa: N802 - gRPC method name
        try:
            errors = self.srv._write(request)
        except P4RTError as e:
            context.abort(e.code, e.message)
        if any(e is not None for e in errors):
            set_batch_error(context, errors, "Write")
        return p4runtime_pb2.WriteResponse()

    def Read(self, request, context):  # noqa: N802
        try:
            found, errors = self.srv._read(request)
        except P4RTError as e:
            context.abort(e.code, e.message)
        for i in range(0, max(len(found), 1), READ_CHUNK):
            yield p4runtime_pb2.ReadResponse(entities=found[i:i + READ_CHUNK])
        if any(e is not None for e in errors):
            set_batch_error(context, errors, "Read")

    def SetForwardingPipelineConfig(self, request, context):  # noqa: N802
        try:
            self.srv._set_pipeline_config(request)
        except P4RTError as e:
            context.abort(e.code, e.message)
        return p4runtime_pb2.SetForwardingPipelineConfigResponse()

    def GetForwardingPipelineConfig(self, request, context):  # noqa: N802
        try:
            return self.srv._get_pipeline_config(request)
        except P4RTError as e:
            context.abort(e.code, e.message)

    def Capabilities(self, request, context):  # noqa: N802
        return p4runtime_pb2.CapabilitiesResponse(p4runtime_api_version=P4RUNTIME_API_VERSION)

    def StreamChannel(self, request_iterator, context):  # noqa: N802
        srv = self.srv
        stream = Stream(context.peer())
        if not srv._open_stream(stream):
            context.abort(RESOURCE_EXHAUSTED, f"too many open StreamChannels (at most {MAX_STREAMS})")
        # whatever ends the RPC (client gone, server stopping) releases the stream
        context.add_callback(lambda: srv._close_stream(stream))
        threading.Thread(target=srv._read_stream, args=(stream, request_iterator),
                         name="p4rt-stream", daemon=True).start()
        try:
            while True:
                item = stream.out.get()
                if item is CLOSE:
                    return
                if isinstance(item, P4RTError):
                    context.abort(item.code, item.message)
                yield item
        finally:
            srv._close_stream(stream)


def _serialize_stream_response(msg: p4runtime_pb2.StreamMessageResponse | bytes) -> bytes:
    """StreamChannel responses: messages, or digest lists already encoded to wire bytes."""
    return msg if isinstance(msg, bytes) else msg.SerializeToString()


class _BytesPassingHandler(grpc.GenericRpcHandler):
    """The P4Runtime service as the generated code registers it, except that the
    StreamChannel serializer passes pre-encoded responses through (digests.py)."""

    def __init__(self, servicer: object):
        captured: list[grpc.GenericRpcHandler] = []

        class _Collect:
            def add_generic_rpc_handlers(self, handlers: tuple) -> None:
                captured.extend(handlers)

            def add_registered_method_handlers(self, *args: object) -> None:
                pass

        p4runtime_pb2_grpc.add_P4RuntimeServicer_to_server(servicer, _Collect())
        self._inner = captured[0]

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = self._inner.service(details)
        if handler is not None and details.method.endswith("/StreamChannel"):
            handler = handler._replace(response_serializer=_serialize_stream_response)
        return handler
