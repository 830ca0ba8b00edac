"""StreamChannel arbitration: primary/backup, notifications, write permission."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2
from p4rt_helpers import Info, SetAction, Stream, program, table_entry

from pybm.switch.p4runtime.arbitration import MAX_CONTROLLERS
from pybm.switch.p4runtime.server import MAX_STREAMS

OK, ALREADY_EXISTS, NOT_FOUND = code_pb2.OK, code_pb2.ALREADY_EXISTS, code_pb2.NOT_FOUND


def eid(upd: p4runtime_pb2.MasterArbitrationUpdate) -> tuple[int, int] | None:
    return (upd.election_id.high, upd.election_id.low) if upd.HasField("election_id") else None


def fwd_entry(info, dst=1):
    return table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": dst}, "ingress.drop")


def test_two_clients_primary_change_and_notifications(rig):
    a = rig.client()
    upd = a.arbitrate((0, 5))
    assert upd.status.code == OK and eid(upd) == (0, 5) and upd.device_id == 0

    b = rig.client()
    upd = b.arbitrate((0, 3))
    assert upd.status.code == ALREADY_EXISTS and eid(upd) == (0, 5)
    assert a.stream.none("arbitration")  # a backup arriving changes nothing for the primary

    a.set_pipeline(*program("nic_mini"))
    info = Info(program("nic_mini")[0])
    a.insert(table_entry=fwd_entry(info, 1))
    with pytest.raises(grpc.RpcError) as e:
        b.insert(table_entry=fwd_entry(info, 2))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as e:
        b.set_pipeline(*program("nic_mini"))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert len(b.read_one(table_entry=p4runtime_pb2.TableEntry())) == 1  # anyone may read

    # b takes over with a higher election id: everybody is told
    upd = b.arbitrate((1, 0))
    assert upd.status.code == OK and eid(upd) == (1, 0)
    upd = a.stream.get("arbitration").arbitration
    assert upd.status.code == ALREADY_EXISTS and eid(upd) == (1, 0)
    b.insert(table_entry=fwd_entry(info, 2))
    with pytest.raises(grpc.RpcError) as e:
        a.insert(table_entry=fwd_entry(info, 3))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # the primary goes away: the backup learns there is no primary any more
    b.close()
    upd = a.stream.get("arbitration").arbitration
    assert upd.status.code == NOT_FOUND and eid(upd) == (1, 0)
    with pytest.raises(grpc.RpcError) as e:
        a.insert(table_entry=fwd_entry(info, 3))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # the highest election id ever seen must be matched to become primary again
    assert a.arbitrate((0, 9)).status.code == NOT_FOUND
    assert a.arbitrate((1, 0)).status.code == OK
    a.insert(table_entry=fwd_entry(info, 3))


def test_primary_stepping_down_notifies_everyone(rig):
    a, b = rig.client(), rig.client()
    assert a.arbitrate((0, 10)).status.code == OK
    assert b.arbitrate((0, 2)).status.code == ALREADY_EXISTS
    upd = a.arbitrate((0, 1))  # downgrade
    assert upd.status.code == NOT_FOUND
    assert b.stream.get("arbitration").arbitration.status.code == NOT_FOUND


def test_same_election_id_is_invalid(rig):
    a, b = rig.client(), rig.client()
    a.arbitrate((0, 7))
    b.stream = Stream(b.stub)
    b.stream.send(_arb(0, (0, 7)))
    assert b.stream.ended.wait(5)
    assert b.stream.status == grpc.StatusCode.INVALID_ARGUMENT
    assert "already used" in b.stream.details


def _arb(device_id, election_id=None, role="", config=False):
    req = p4runtime_pb2.StreamMessageRequest()
    req.arbitration.device_id = device_id
    if election_id is not None:
        req.arbitration.election_id.high, req.arbitration.election_id.low = election_id
    if role:
        req.arbitration.role.name = role
    if config:
        req.arbitration.role.config.Pack(p4runtime_pb2.Uint128(low=1))
    return req


def _stream_status(rig, *msgs):
    c = rig.client()
    s = Stream(c.stub)
    for m in msgs:
        s.send(m)
    assert s.ended.wait(5), "the server did not end the stream"
    return s


def test_unknown_device_ends_the_stream_with_not_found(rig):
    s = _stream_status(rig, _arb(3, (0, 1)))
    assert s.status == grpc.StatusCode.NOT_FOUND


def test_changing_device_or_role_on_a_stream_is_failed_precondition(rig):
    s = _stream_status(rig, _arb(0, (0, 1)), _arb(1, (0, 1)))
    assert s.status == grpc.StatusCode.FAILED_PRECONDITION
    s = _stream_status(rig, _arb(0, (0, 2)), _arb(0, (0, 2), role="other"))
    assert s.status == grpc.StatusCode.FAILED_PRECONDITION


def test_role_config_is_invalid_argument(rig):
    s = _stream_status(rig, _arb(0, (0, 1), role="r", config=True))
    assert s.status == grpc.StatusCode.INVALID_ARGUMENT


def test_unset_election_id_is_a_backup_forever(rig):
    a = rig.client()
    upd = a.arbitrate(None)
    assert upd.status.code == NOT_FOUND and not upd.HasField("election_id")
    b = rig.client()
    assert b.arbitrate((0, 1)).status.code == OK
    upd = a.stream.get("arbitration").arbitration
    assert upd.status.code == ALREADY_EXISTS and eid(upd) == (0, 1)


def test_roles_have_their_own_primary(rig):
    a, b = rig.client(), rig.client()
    assert a.arbitrate((0, 1)).status.code == OK
    upd = b.arbitrate((0, 1), role="sdn")  # same id, other role: fine
    assert upd.status.code == OK and upd.role.name == "sdn"
    b.set_pipeline(*program("nic_mini"))  # the sdn role has full access (no role config)


def test_write_credentials(rig):
    c, info = rig.primary("nic_mini", election_id=(0, 4))
    c.election_id = (0, 3)
    with pytest.raises(grpc.RpcError) as e:
        c.insert(table_entry=fwd_entry(info))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "not primary" in e.value.details()
    c.election_id = None  # no election id while a controller is connected
    with pytest.raises(grpc.RpcError) as e:
        c.insert(table_entry=fwd_entry(info))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    c.election_id, c.role = (0, 4), "ghost"
    with pytest.raises(grpc.RpcError) as e:
        c.insert(table_entry=fwd_entry(info))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    c.role, c.device_id = "", 9
    with pytest.raises(grpc.RpcError) as e:
        c.insert(table_entry=fwd_entry(info))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_without_any_controller_unarbitrated_writes_are_accepted(rig):
    # simple_switch_grpc (PI) accepts requests without election id while no
    # controller is connected, which grpc_cli-style debugging relies on
    c = rig.client()
    c.set_pipeline(*program("nic_mini"))
    c.insert(table_entry=fwd_entry(Info(program("nic_mini")[0])))
    c.election_id = (0, 1)  # an election id without a stream is not a primary
    with pytest.raises(grpc.RpcError) as e:
        c.set_pipeline(*program("nic_mini"), action=SetAction.VERIFY)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_messages_before_arbitration_get_a_stream_error(rig):
    c = rig.client()
    s = Stream(c.stub)
    req = p4runtime_pb2.StreamMessageRequest()
    req.packet.payload = b"x"
    s.send(req)
    err = s.get("error").error
    assert err.canonical_code == code_pb2.PERMISSION_DENIED
    assert err.packet_out.packet_out.payload == b"x"
    s.send(p4runtime_pb2.StreamMessageRequest())
    assert s.get("error").error.canonical_code == code_pb2.INVALID_ARGUMENT
    s.close()


def test_many_streams_are_refused_cleanly(rig):

    c = rig.client()
    streams = [Stream(c.stub) for _ in range(MAX_STREAMS)]
    for i, s in enumerate(streams):  # 16 controllers per role at most, as PI
        assert s.arbitrate(0, (0, i + 1), role="ab"[i % 2]).status.code in (OK, ALREADY_EXISTS)
    extra = Stream(c.stub)
    assert extra.ended.wait(5)
    assert extra.status == grpc.StatusCode.RESOURCE_EXHAUSTED
    # unary RPCs still get served
    resp = c.stub.Capabilities(p4runtime_pb2.CapabilitiesRequest(), timeout=5)
    assert resp.p4runtime_api_version
    for s in streams:
        s.close()


def test_controllers_per_role_are_limited(rig):

    c = rig.client()
    streams = [Stream(c.stub) for _ in range(MAX_CONTROLLERS)]
    for i, s in enumerate(streams):
        s.arbitrate(0, (0, i + 1))
    extra = Stream(c.stub)
    extra.send(_arb(0, (0, 99)))
    assert extra.ended.wait(5)
    assert extra.status == grpc.StatusCode.RESOURCE_EXHAUSTED
    for s in streams:
        s.close()
