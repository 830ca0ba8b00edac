"""Client-side helpers for the P4Runtime tests: a thin P4Runtime client over
the generated stubs, P4Info name lookups and message builders.

Everything talks to a real gRPC server on loopback.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import text_format
from google.rpc import status_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFORMANCE = REPO.parent / "shared" / "conformance" / "v1model"

Update = p4runtime_pb2.Update
SetAction = p4runtime_pb2.SetForwardingPipelineConfigRequest


def load_p4info(path: Path) -> p4info_pb2.P4Info:
    p = p4info_pb2.P4Info()
    text_format.Parse(path.read_text(), p)
    return p


def program(name: str) -> tuple[p4info_pb2.P4Info, bytes]:
    """(P4Info, BMv2 JSON) of a fixture or a conformance program."""
    for d in (FIXTURES, CONFORMANCE):
        if (d / f"{name}.json").exists():
            return load_p4info(d / f"{name}.p4info.txtpb"), (d / f"{name}.json").read_bytes()
    raise FileNotFoundError(name)


class Info:
    """Name -> id lookups in a P4Info (names or aliases)."""

    def __init__(self, p4info: p4info_pb2.P4Info):
        self.p4info = p4info

    def _find(self, kind: str, name: str) -> Any:
        for obj in getattr(self.p4info, kind):
            if name in (obj.preamble.name, obj.preamble.alias):
                return obj
        raise KeyError(f"{kind} {name}")

    def table(self, name: str) -> p4info_pb2.Table:
        return self._find("tables", name)

    def action(self, name: str) -> p4info_pb2.Action:
        return self._find("actions", name)

    def id(self, kind: str, name: str) -> int:
        return self._find(kind, name).preamble.id

    def field_id(self, table: str, field: str) -> int:
        for mf in self.table(table).match_fields:
            if mf.name == field:
                return mf.id
        raise KeyError(field)


def enc(value: int, nbytes: int | None = None) -> bytes:
    """Canonical bytestring (or a fixed width, for non-canonical tests)."""
    n = nbytes if nbytes is not None else max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(n, "big")


def action(info: Info, name: str, **params: int) -> p4runtime_pb2.Action:
    a = info.action(name)
    msg = p4runtime_pb2.Action(action_id=a.preamble.id)
    for p in a.params:
        if p.name in params:
            msg.params.add(param_id=p.id, value=enc(params[p.name]))
    return msg


def table_entry(info: Info, table: str, match: dict[str, Any] | None = None,
                act: str | None = None, priority: int = 0, **params: int
                ) -> p4runtime_pb2.TableEntry:
    """match: field name -> int (exact), ("lpm", v, plen), ("ternary", v, m),
    ("range", lo, hi), ("optional", v), or a ready FieldMatch."""
    te = p4runtime_pb2.TableEntry(table_id=info.id("tables", table), priority=priority)
    for fname, m in (match or {}).items():
        fm = te.match.add(field_id=info.field_id(table, fname))
        if isinstance(m, int):
            fm.exact.value = enc(m)
        elif m[0] == "lpm":
            fm.lpm.value, fm.lpm.prefix_len = enc(m[1]), m[2]
        elif m[0] == "ternary":
            fm.ternary.value, fm.ternary.mask = enc(m[1]), enc(m[2])
        elif m[0] == "range":
            fm.range.low, fm.range.high = enc(m[1]), enc(m[2])
        elif m[0] == "optional":
            fm.optional.value = enc(m[1])
        else:
            raise ValueError(m)
    if act is not None:
        te.action.action.CopyFrom(action(info, act, **params))
    return te


def entity(**kw: Any) -> p4runtime_pb2.Entity:
    return p4runtime_pb2.Entity(**kw)


def update(utype: int, **kw: Any) -> p4runtime_pb2.Update:
    return p4runtime_pb2.Update(type=utype, entity=p4runtime_pb2.Entity(**kw))


def batch_errors(e: grpc.RpcError) -> list[p4runtime_pb2.Error]:
    """The p4.v1.Error list of a failed batch (from grpc-status-details-bin)."""
    for key, value in e.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(value)
            out = []
            for d in st.details:
                err = p4runtime_pb2.Error()
                assert d.Unpack(err)
                out.append(err)
            return out
    raise AssertionError("no grpc-status-details-bin trailer")


def error_code_name(err: p4runtime_pb2.Error) -> str:
    return grpc.StatusCode.OK.name if err.canonical_code == 0 else next(
        c.name for c in grpc.StatusCode if c.value[0] == err.canonical_code)


class Client:
    """A P4Runtime client: unary RPCs plus an optional arbitrated stream."""

    def __init__(self, port: int, device_id: int = 0):
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self.device_id = device_id
        self.election_id: tuple[int, int] | None = None
        self.role = ""
        self.stream: Stream | None = None

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
        self.channel.close()

    # -- arbitration --------------------------------------------------------------

    def arbitrate(self, election_id: tuple[int, int] | None = (0, 1), role: str = "",
                  device_id: int | None = None) -> p4runtime_pb2.MasterArbitrationUpdate:
        if self.stream is None:
            self.stream = Stream(self.stub)
        upd = self.stream.arbitrate(self.device_id if device_id is None else device_id,
                                    election_id, role)
        self.election_id = election_id
        self.role = role
        return upd

    # -- unary RPCs -------------------------------------------------------------------

    def _creds(self, req: Any) -> None:
        req.device_id = self.device_id
        if self.role:
            req.role = self.role
        if self.election_id is not None:
            req.election_id.high, req.election_id.low = self.election_id

    def set_pipeline(self, p4info: p4info_pb2.P4Info | None, device_config: bytes | None,
                     action: int = SetAction.VERIFY_AND_COMMIT, cookie: int | None = None
                     ) -> p4runtime_pb2.SetForwardingPipelineConfigResponse:
        req = p4runtime_pb2.SetForwardingPipelineConfigRequest(action=action)
        self._creds(req)
        if p4info is not None:
            req.config.p4info.CopyFrom(p4info)
        if device_config is not None:
            req.config.p4_device_config = device_config
        if cookie is not None:
            req.config.cookie.cookie = cookie
        return self.stub.SetForwardingPipelineConfig(req, timeout=30)

    def get_pipeline(self, response_type: int = 0) -> p4runtime_pb2.ForwardingPipelineConfig:
        req = p4runtime_pb2.GetForwardingPipelineConfigRequest(
            device_id=self.device_id, response_type=response_type)
        return self.stub.GetForwardingPipelineConfig(req, timeout=10)

    def write(self, *updates: p4runtime_pb2.Update, atomicity: int = 0) -> None:
        req = p4runtime_pb2.WriteRequest(updates=updates, atomicity=atomicity)
        self._creds(req)
        self.stub.Write(req, timeout=10)

    def insert(self, **kw: Any) -> None:
        self.write(update(Update.INSERT, **kw))

    def modify(self, **kw: Any) -> None:
        self.write(update(Update.MODIFY, **kw))

    def delete(self, **kw: Any) -> None:
        self.write(update(Update.DELETE, **kw))

    def read(self, *entities: p4runtime_pb2.Entity) -> list[p4runtime_pb2.Entity]:
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id, entities=entities)
        out = []
        for resp in self.stub.Read(req, timeout=10):
            out.extend(resp.entities)
        return out

    def read_one(self, **kw: Any) -> list[p4runtime_pb2.Entity]:
        return self.read(p4runtime_pb2.Entity(**kw))


class Stream:
    """A StreamChannel with responses sorted by kind, like p4runtime-shell does."""

    KINDS = ("arbitration", "packet", "digest", "error", "other", "idle_timeout_notification")

    def __init__(self, stub: p4runtime_pb2_grpc.P4RuntimeStub):
        self._out: queue.Queue = queue.Queue()
        self.queues = {k: queue.Queue() for k in self.KINDS}
        self.status: grpc.StatusCode | None = None  # set when the server ends the stream
        self.details = ""
        self.ended = threading.Event()
        self.call = stub.StreamChannel(iter(self._out.get, None))
        self._thread = threading.Thread(target=self._recv, daemon=True)
        self._thread.start()

    def _recv(self) -> None:
        try:
            for msg in self.call:
                self.queues[msg.WhichOneof("update")].put(msg)
            self.status = grpc.StatusCode.OK
        except grpc.RpcError as e:
            self.status = e.code()
            self.details = e.details() or ""
        finally:
            self.ended.set()

    def send(self, msg: p4runtime_pb2.StreamMessageRequest) -> None:
        self._out.put(msg)

    def arbitrate(self, device_id: int, election_id: tuple[int, int] | None, role: str = ""
                  ) -> p4runtime_pb2.MasterArbitrationUpdate:
        req = p4runtime_pb2.StreamMessageRequest()
        req.arbitration.device_id = device_id
        if election_id is not None:
            req.arbitration.election_id.high, req.arbitration.election_id.low = election_id
        if role:
            req.arbitration.role.name = role
        self.send(req)
        return self.get("arbitration").arbitration

    def get(self, kind: str, timeout: float = 5.0) -> Any:
        try:
            return self.queues[kind].get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no '{kind}' message within {timeout}s "
                                 f"(stream status {self.status}: {self.details})") from None

    def none(self, kind: str, wait: float = 0.3) -> bool:
        """True if no message of this kind arrives within ``wait`` seconds."""
        try:
            self.queues[kind].get(timeout=wait)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self._out.put(None)
        self.ended.wait(5)
        self.call.cancel()
