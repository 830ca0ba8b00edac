"""SetForwardingPipelineConfig, GetForwardingPipelineConfig and Capabilities."""

from __future__ import annotations

import grpc
import pytest
from p4.v1 import p4runtime_pb2
from p4rt_helpers import (
    CONFORMANCE,
    Info,
    SetAction,
    Update,
    entity,
    load_p4info,
    program,
    table_entry,
    update,
)

GetType = p4runtime_pb2.GetForwardingPipelineConfigRequest


def code(excinfo: pytest.ExceptionInfo) -> grpc.StatusCode:
    return excinfo.value.code()


def test_capabilities(rig):
    c = rig.client()
    resp = c.stub.Capabilities(p4runtime_pb2.CapabilitiesRequest(), timeout=5)
    assert resp.p4runtime_api_version == "1.4.1"


def test_get_without_pipeline_leaves_config_unset(rig):
    c = rig.client()
    resp = c.get_pipeline()
    assert not resp.HasField("config")


def test_write_and_read_need_a_pipeline(rig):
    c, _ = rig.primary()
    info = Info(program("nic_mini")[0])
    with pytest.raises(grpc.RpcError) as e:
        c.insert(table_entry=table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1},
                                         "ingress.drop"))
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as e:
        c.read_one(table_entry=p4runtime_pb2.TableEntry())
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
    assert "SetForwardingPipelineConfig" in e.value.details()


def test_set_then_get_all_response_types(rig):
    c, _ = rig.primary()
    p4info, json_bytes = program("nic_mini")
    c.set_pipeline(p4info, json_bytes, cookie=0xC0FFEE)
    assert rig.switch.loaded
    full = c.get_pipeline(GetType.ALL).config
    assert full.p4info == p4info
    assert full.p4_device_config == json_bytes
    assert full.cookie.cookie == 0xC0FFEE
    only = c.get_pipeline(GetType.COOKIE_ONLY).config
    assert only.cookie.cookie == 0xC0FFEE
    assert not only.HasField("p4info") and not only.p4_device_config
    pc = c.get_pipeline(GetType.P4INFO_AND_COOKIE).config
    assert pc.p4info == p4info and not pc.p4_device_config and pc.cookie.cookie == 0xC0FFEE
    dc = c.get_pipeline(GetType.DEVICE_CONFIG_AND_COOKIE).config
    assert dc.p4_device_config == json_bytes and not dc.HasField("p4info")


def test_cookie_is_optional(rig):
    c, _ = rig.primary()
    c.set_pipeline(*program("nic_mini"))
    assert not c.get_pipeline().config.HasField("cookie")


def test_verify_does_not_touch_the_switch(rig):
    c, _ = rig.primary()
    c.set_pipeline(*program("nic_mini"), action=SetAction.VERIFY)
    assert not rig.switch.loaded
    assert not c.get_pipeline().HasField("config")


def test_verify_and_save_then_commit_replays_writes(rig):
    c, _ = rig.primary("table-entries-exact-bmv2")  # something else is running
    p4info, json_bytes = program("nic_mini")
    info = Info(p4info)
    c.set_pipeline(p4info, json_bytes, action=SetAction.VERIFY_AND_SAVE)
    # the switch still runs the old program; writes and reads use the saved config
    assert "ingress.t_exact" in rig.switch.cp.tables
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xA}, "ingress.set_port",
                     port=3)
    c.insert(table_entry=te)
    assert c.get_pipeline().config.p4info == p4info
    assert len(c.read_one(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id))) == 1
    c.set_pipeline(None, None, action=SetAction.COMMIT)
    assert "ingress.fwd" in rig.switch.cp.tables
    entries = rig.switch.table_entries("ingress.fwd")
    assert [(e.match, e.action.name, e.data) for e in entries] == [((0xA,), "ingress.set_port", (3,))]
    [read] = c.read_one(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id))
    assert read.table_entry == te


def test_commit_without_saved_config_is_not_found(rig):
    c, _ = rig.primary()
    with pytest.raises(grpc.RpcError) as e:
        c.set_pipeline(None, None, action=SetAction.COMMIT)
    assert code(e) == grpc.StatusCode.NOT_FOUND


def test_commit_with_a_config_is_invalid(rig):
    c, _ = rig.primary()
    p4info, json_bytes = program("nic_mini")
    c.set_pipeline(p4info, json_bytes, action=SetAction.VERIFY_AND_SAVE)
    with pytest.raises(grpc.RpcError) as e:
        c.set_pipeline(p4info, json_bytes, action=SetAction.COMMIT)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("action", [SetAction.VERIFY, SetAction.VERIFY_AND_SAVE,
                                    SetAction.VERIFY_AND_COMMIT, SetAction.RECONCILE_AND_COMMIT])
def test_missing_config_is_invalid(rig, action):
    c, _ = rig.primary()
    with pytest.raises(grpc.RpcError) as e:
        c.set_pipeline(None, None, action=action)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT


def test_unspecified_action_is_invalid(rig):
    c, _ = rig.primary()
    with pytest.raises(grpc.RpcError) as e:
        c.set_pipeline(*program("nic_mini"), action=SetAction.UNSPECIFIED)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_device_is_not_found(rig):
    c = rig.client(device_id=7)
    with pytest.raises(grpc.RpcError) as e:
        c.set_pipeline(*program("nic_mini"))
    assert code(e) == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        c.get_pipeline()
    assert code(e) == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        c.read_one(table_entry=p4runtime_pb2.TableEntry())
    assert code(e) == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("json_bytes, reason", [
    (b"", "p4_device_config is empty"),
    (b"{not json", "not valid JSON"),
    (b'{"__meta__": {"version": [3, 0]}}', "unsupported format version"),
])
def test_bad_device_config_is_invalid(rig, json_bytes, reason):
    c, _ = rig.primary()
    with pytest.raises(grpc.RpcError) as e:
        c.set_pipeline(program("nic_mini")[0], json_bytes)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    assert reason in e.value.details()
    assert not rig.switch.loaded


def _mutated(mutate) -> tuple:
    p4info, json_bytes = program("nic_mini")
    mutate(p4info)
    return p4info, json_bytes


@pytest.mark.parametrize("mutate, reason", [
    (lambda p: setattr(p.tables[0].preamble, "name", "ingress.nope"),
     "table 'ingress.nope' is not in the JSON"),
    (lambda p: setattr(p.actions[1].preamble, "name", "ingress.nope"),
     "action 'ingress.nope' is not in the JSON"),
    (lambda p: setattr(p.actions[1].params[0], "bitwidth", 10), "parameters"),
    (lambda p: setattr(p.tables[1].match_fields[0], "bitwidth", 32), "32 bits in P4Info"),
    (lambda p: setattr(p.counters[0].preamble, "name", "ingress.nope"),
     "counter 'ingress.nope' is not an indexed counter in the JSON"),
    (lambda p: setattr(p.meters[0], "size", 17), "meter 'ingress.port_meter' has 17 cells"),
    (lambda p: setattr(p.registers[0].preamble, "name", "ingress.nope"),
     "register 'ingress.nope' is not in the JSON"),
    (lambda p: setattr(p.digests[0].preamble, "name", "nope_t"),
     "digest 'nope_t' has no learn list"),
    (lambda p: setattr(p.direct_meters[0].spec, "unit", 2), "counts bytes in the JSON"),
    (lambda p: setattr(p.tables[2].match_fields[0], "match_type", 3), "LPM in P4Info, ternary"),
    (lambda p: setattr(p.tables[1].preamble, "id", p.tables[0].preamble.id), "used twice"),
])
def test_p4info_must_match_the_json(rig, mutate, reason):
    c, _ = rig.primary()
    with pytest.raises(grpc.RpcError) as e:
        c.set_pipeline(*_mutated(mutate))
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    assert reason in e.value.details()
    assert not rig.switch.loaded


def test_conformance_program_with_table_missing_from_json_is_refused(rig):
    # p4c dropped ingress.simple_table from this program's JSON but kept it in P4Info
    c, _ = rig.primary()
    with pytest.raises(grpc.RpcError) as e:
        c.set_pipeline(*program("gauntlet_nested_switch-bmv2"))
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    assert "is not in the JSON" in e.value.details()


def test_every_conformance_program_loads(rig):
    c, _ = rig.primary()
    names = sorted(p.name[:-len(".p4info.txtpb")] for p in CONFORMANCE.glob("*.p4info.txtpb"))
    assert len(names) > 150
    refused = {}
    for name in names:
        p4info = load_p4info(CONFORMANCE / f"{name}.p4info.txtpb")
        try:
            c.set_pipeline(p4info, (CONFORMANCE / f"{name}.json").read_bytes())
        except grpc.RpcError as e:
            refused[name] = e.details()
            continue
        assert c.get_pipeline().config.p4info == p4info
    assert list(refused) == ["gauntlet_nested_switch-bmv2"], refused


def test_pipeline_change_clears_state(rig):
    c, info = rig.primary("nic_mini")
    c.insert(table_entry=table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 5},
                                     "ingress.drop"))
    c.set_pipeline(*program("nic_mini"))
    assert c.read_one(table_entry=p4runtime_pb2.TableEntry(table_id=info.id("tables", "ingress.fwd"))) == []


def _shift_ids(p4info):
    """The same program with other P4Info ids (what a recompile with @id changes does)."""
    p = type(p4info)()
    p.CopyFrom(p4info)
    amap = {}
    for a in p.actions:
        amap[a.preamble.id] = a.preamble.id + 100
        a.preamble.id += 100
        for prm in a.params:
            prm.id += 10
    tmap = {}
    for t in p.tables:
        tmap[t.preamble.id] = t.preamble.id + 100
        t.preamble.id += 100
        for mf in t.match_fields:
            mf.id += 10
        for ref in t.action_refs:
            ref.id = amap[ref.id]
        if t.const_default_action_id:
            t.const_default_action_id = amap[t.const_default_action_id]
        t.initial_default_action.action_id = amap.get(t.initial_default_action.action_id, 0)
    for d in list(p.direct_counters) + list(p.direct_meters):
        d.direct_table_id = tmap[d.direct_table_id]
    for m in p.meters:
        m.preamble.id += 100
    for v in p.value_sets:
        v.preamble.id += 100
        for mf in v.match:
            mf.id += 10
    for d in p.digests:
        d.preamble.id += 100
    return p


def test_reconcile_and_commit_preserves_state_across_new_ids(rig):
    c, info = rig.primary("nic_mini")
    fwd = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xBB}, "ingress.set_port",
                      port=4)
    fwd.controller_metadata = 77
    fwd.meter_config.cir, fwd.meter_config.cburst = 1000, 100
    fwd.meter_config.pir, fwd.meter_config.pburst = 2000, 200
    acl = table_entry(info, "ingress.acl", {"hdr.ethernet.etherType": ("ternary", 0x800, 0xff00)},
                      "ingress.set_port", priority=9, port=2)
    default = table_entry(info, "ingress.fwd", act="ingress.set_port", port=6)
    default.is_default_action = True
    vset = p4runtime_pb2.ValueSetEntry(value_set_id=info.id("value_sets", "ParserImpl.tpids"))
    vset.members.add().match.add(field_id=1, exact=p4runtime_pb2.FieldMatch.Exact(value=b"\x88\xa8"))
    meter = p4runtime_pb2.MeterEntry(meter_id=info.id("meters", "ingress.port_meter"),
                                     config=p4runtime_pb2.MeterConfig(cir=10, cburst=1, pir=20,
                                                                      pburst=2))
    meter.index.index = 3
    digest = p4runtime_pb2.DigestEntry(digest_id=info.id("digests", "mac_learn_digest_t"))
    digest.config.max_list_size = 5
    group = p4runtime_pb2.PacketReplicationEngineEntry()
    group.multicast_group_entry.multicast_group_id = 3
    group.multicast_group_entry.replicas.add(egress_port=1, instance=1)
    c.write(update(Update.INSERT, table_entry=fwd), update(Update.INSERT, table_entry=acl),
            update(Update.MODIFY, table_entry=default), update(Update.MODIFY, value_set_entry=vset),
            update(Update.MODIFY, meter_entry=meter), update(Update.INSERT, digest_entry=digest),
            update(Update.INSERT, packet_replication_engine_entry=group))

    new_p4info = _shift_ids(program("nic_mini")[0])
    new = Info(new_p4info)
    c.set_pipeline(new_p4info, program("nic_mini")[1], action=SetAction.RECONCILE_AND_COMMIT)

    got = c.read_one(table_entry=p4runtime_pb2.TableEntry(
        table_id=new.id("tables", "ingress.fwd"), meter_config=p4runtime_pb2.MeterConfig()))
    want = table_entry(new, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xBB}, "ingress.set_port",
                       port=4)
    want.controller_metadata = 77
    want.meter_config.CopyFrom(fwd.meter_config)
    assert [e.table_entry for e in got] == [want]
    [got_acl] = c.read_one(table_entry=p4runtime_pb2.TableEntry(
        table_id=new.id("tables", "ingress.acl")))
    assert got_acl.table_entry.priority == 9
    assert got_acl.table_entry.action.action.action_id == new.id("actions", "ingress.set_port")
    [got_default] = c.read_one(table_entry=p4runtime_pb2.TableEntry(
        table_id=new.id("tables", "ingress.fwd"), is_default_action=True))
    assert got_default.table_entry.action.action.params[0].value == b"\x06"
    [got_vset] = c.read_one(value_set_entry=p4runtime_pb2.ValueSetEntry(
        value_set_id=new.id("value_sets", "ParserImpl.tpids")))
    assert got_vset.value_set_entry.members[0].match[0].field_id == 11
    assert rig.switch.meter_get_rates("ingress.port_meter", 3) == [(10 / 1e6, 1), (20 / 1e6, 2)]
    [got_digest] = c.read_one(digest_entry=p4runtime_pb2.DigestEntry(
        digest_id=new.id("digests", "mac_learn_digest_t")))
    assert got_digest.digest_entry.config.max_list_size == 5
    assert rig.switch.pre.mc_group_replicas(3) == [(1, 1)]


def test_reconcile_refuses_when_state_cannot_be_kept(rig):
    c, info = rig.primary("nic_mini")
    c.insert(table_entry=table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xBB},
                                     "ingress.drop"))
    # a "new program" without the table: only the P4Info can tell, since the JSON is the same
    other, json_bytes = program("table-entries-exact-bmv2")
    with pytest.raises(grpc.RpcError) as e:
        c.set_pipeline(other, json_bytes, action=SetAction.RECONCILE_AND_COMMIT)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    assert "cannot preserve" in e.value.details()
    # the running pipeline is untouched
    assert len(c.read_one(table_entry=p4runtime_pb2.TableEntry(
        table_id=info.id("tables", "ingress.fwd")))) == 1
    assert "ingress.fwd" in rig.switch.cp.tables


def test_read_of_empty_entity_is_a_batch_error(rig):
    c, _ = rig.primary("nic_mini")
    with pytest.raises(grpc.RpcError) as e:
        c.read(entity())
    assert code(e) == grpc.StatusCode.UNKNOWN
