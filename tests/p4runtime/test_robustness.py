"""Malformed requests are refused with a reason, never with an internal error,
and never take the server down."""

from __future__ import annotations

import random
import threading

import grpc
from p4.v1 import p4data_pb2, p4runtime_pb2
from p4rt_helpers import Stream as ClientStream
from p4rt_helpers import Update, batch_errors, error_code_name, table_entry, update

from pybm.switch.p4runtime.arbitration import MAX_QUEUED, Stream

P = p4runtime_pb2


def _rand_bytes(rng: random.Random) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 1, 2, 3, 6, 9])))


def _field_match(rng: random.Random, field_id: int) -> P.FieldMatch:
    fm = P.FieldMatch(field_id=field_id)
    kind = rng.choice(["exact", "lpm", "ternary", "range", "optional", None])
    if kind == "exact":
        fm.exact.value = _rand_bytes(rng)
    elif kind == "lpm":
        fm.lpm.value, fm.lpm.prefix_len = _rand_bytes(rng), rng.randrange(-2, 60)
    elif kind == "ternary":
        fm.ternary.value, fm.ternary.mask = _rand_bytes(rng), _rand_bytes(rng)
    elif kind == "range":
        fm.range.low, fm.range.high = _rand_bytes(rng), _rand_bytes(rng)
    elif kind == "optional":
        fm.optional.value = _rand_bytes(rng)
    return fm


def _random_entity(rng: random.Random, ids: dict[str, list[int]]) -> P.Entity:
    pick = rng.choice
    kind = pick(["table", "table", "table", "counter", "dcounter", "meter", "dmeter",
                 "register", "vset", "pre", "digest"])
    te = P.TableEntry(table_id=pick(ids["tables"] + [0, 0x02FFFFFF]),
                      priority=pick([0, 0, 1, 5, -1]),
                      is_default_action=rng.random() < 0.15)
    for _ in range(rng.randrange(4)):
        te.match.append(_field_match(rng, pick([1, 2, 3, 9])))
    if rng.random() < 0.8:
        a = te.action.action
        a.action_id = pick(ids["actions"] + [0, 0x01ABCDEF])
        for _ in range(rng.randrange(3)):
            a.params.add(param_id=pick([1, 2, 5]), value=_rand_bytes(rng))
    if rng.random() < 0.2:
        te.counter_data.packet_count = rng.randrange(-2, 5)
    if rng.random() < 0.2:
        te.meter_config.cir, te.meter_config.pir = rng.randrange(-5, 50), rng.randrange(-5, 50)
    if rng.random() < 0.1:
        te.idle_timeout_ns = 5
    index = P.Index(index=rng.randrange(-3, 20))
    if kind == "table":
        return P.Entity(table_entry=te)
    if kind == "counter":
        ce = P.CounterEntry(counter_id=pick(ids["counters"] + [0, 7]))
        if rng.random() < 0.7:
            ce.index.CopyFrom(index)
        return P.Entity(counter_entry=ce)
    if kind == "dcounter":
        return P.Entity(direct_counter_entry=P.DirectCounterEntry(table_entry=te))
    if kind == "meter":
        me = P.MeterEntry(meter_id=pick(ids["meters"] + [0]))
        if rng.random() < 0.7:
            me.index.CopyFrom(index)
        if rng.random() < 0.5:
            me.config.cir, me.config.cburst = rng.randrange(-1, 9), rng.randrange(-1, 9)
        return P.Entity(meter_entry=me)
    if kind == "dmeter":
        return P.Entity(direct_meter_entry=P.DirectMeterEntry(table_entry=te))
    if kind == "register":
        re = P.RegisterEntry(register_id=pick(ids["registers"] + [0]))
        if rng.random() < 0.7:
            re.index.CopyFrom(index)
        if rng.random() < 0.8:
            re.data.CopyFrom(p4data_pb2.P4Data(bitstring=_rand_bytes(rng)))
        return P.Entity(register_entry=re)
    if kind == "vset":
        vs = P.ValueSetEntry(value_set_id=pick(ids["value_sets"] + [0]))
        for _ in range(rng.randrange(6)):
            m = vs.members.add()
            m.match.append(_field_match(rng, pick([1, 2])))
        return P.Entity(value_set_entry=vs)
    if kind == "pre":
        pre = P.PacketReplicationEngineEntry()
        if rng.random() < 0.5:
            g = pre.multicast_group_entry
            g.multicast_group_id = rng.randrange(0, 5)
        else:
            g = pre.clone_session_entry
            g.session_id = rng.randrange(0, 5)
        for _ in range(rng.randrange(4)):
            r = g.replicas.add(instance=rng.randrange(3))
            if rng.random() < 0.5:
                r.port = _rand_bytes(rng)
            else:
                r.egress_port = rng.randrange(600)
        return P.Entity(packet_replication_engine_entry=pre)
    de = P.DigestEntry(digest_id=pick(ids["digests"] + [0, 3]))
    de.config.max_list_size = rng.randrange(-1, 4)
    return P.Entity(digest_entry=de)


def test_random_malformed_writes_and_reads_get_proper_statuses(rig):
    c, info = rig.primary("nic_mini")
    p = info.p4info
    ids = {"tables": [t.preamble.id for t in p.tables],
           "actions": [a.preamble.id for a in p.actions],
           "counters": [x.preamble.id for x in p.counters],
           "meters": [x.preamble.id for x in p.meters],
           "registers": [x.preamble.id for x in p.registers],
           "value_sets": [x.preamble.id for x in p.value_sets],
           "digests": [x.preamble.id for x in p.digests]}
    rng = random.Random(20240611)
    outcomes: dict[str, int] = {}
    for _ in range(600):
        ent = _random_entity(rng, ids)
        utype = rng.choice([Update.INSERT, Update.MODIFY, Update.DELETE, Update.UNSPECIFIED])
        try:
            c.write(P.Update(type=utype, entity=ent))
            outcomes["OK"] = outcomes.get("OK", 0) + 1
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNKNOWN, e
            [err] = batch_errors(e)
            name = error_code_name(err)
            assert name != "INTERNAL", err.message
            assert err.message
            outcomes[name] = outcomes.get(name, 0) + 1
        try:
            c.read(ent)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNKNOWN, e
            [err] = batch_errors(e)
            assert error_code_name(err) != "INTERNAL", err.message
    # the generator exercised acceptance as well as most refusal codes
    assert outcomes.get("OK", 0) > 10
    assert {"INVALID_ARGUMENT", "NOT_FOUND", "OUT_OF_RANGE"} <= set(outcomes)
    # and the server is still fine
    assert c.stub.Capabilities(P.CapabilitiesRequest(), timeout=5).p4runtime_api_version


def test_garbage_p4info_is_refused(rig):
    c, _ = rig.primary()
    req = P.SetForwardingPipelineConfigRequest(
        device_id=0, action=P.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT)
    req.election_id.low = 1
    t = req.config.p4info.tables.add()
    t.preamble.name = "x"  # id 0
    req.config.p4_device_config = b'{"pipelines": "oops"}'
    try:
        c.stub.SetForwardingPipelineConfig(req, timeout=10)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
    else:
        raise AssertionError("a garbage config was accepted")


def test_slow_clients_lose_packet_ins_not_control_messages():
    s = Stream()
    for _ in range(MAX_QUEUED + 5):
        s.send(P.StreamMessageResponse(), droppable=True)
    assert s.dropped == 5
    s.send(P.StreamMessageResponse())  # arbitration notices are never dropped
    assert s.out.qsize() == MAX_QUEUED + 1


def test_concurrent_writers_readers_and_packets(rig):
    c, info = rig.primary("nic_mini")
    errors: list[BaseException] = []

    def writer(base: int) -> None:
        try:
            for i in range(15):
                c.write(update(Update.INSERT, table_entry=table_entry(
                    info, "ingress.fwd", {"hdr.ethernet.dstAddr": base + i}, "ingress.set_port",
                    port=1 + i % 8)))
                c.read_one(table_entry=P.TableEntry())
        except BaseException as e:  # collected for the main thread
            errors.append(e)

    def traffic() -> None:
        try:
            for i in range(200):
                dst = 0x100 * (1 + i % 4) + i % 15
                rig.switch.receive(1, dst.to_bytes(6, "big") + bytes(6) + b"\x08\x00" + bytes(40))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(0x100 * k,)) for k in range(1, 5)]
    threads.append(threading.Thread(target=traffic))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(c.read_one(table_entry=P.TableEntry(table_id=info.id("tables", "ingress.fwd")))) == 60
    assert rig.switch.stats.get("drop_internal_error", 0) == 0
    # with every entry in place, every packet is forwarded
    rig.frames()
    rig.switch.receive(1, (0x403).to_bytes(6, "big") + bytes(6) + b"\x08\x00" + bytes(40))
    assert [p for p, _ in rig.frames()] == [1 + 3 % 8]


def test_stop_ends_open_streams(rig):
    c = rig.client()
    s = ClientStream(c.stub)
    assert s.arbitrate(0, (0, 1)).status.code == 0
    rig.server.stop(grace=0)
    assert s.ended.wait(5)
    assert s.status in (grpc.StatusCode.OK, grpc.StatusCode.CANCELLED,
                        grpc.StatusCode.UNAVAILABLE)
