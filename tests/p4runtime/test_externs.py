"""Counters, direct counters, meters, direct meters, registers and value sets."""

from __future__ import annotations

import grpc
import pytest
from p4.v1 import p4data_pb2, p4runtime_pb2
from p4rt_helpers import Update, batch_errors, enc, error_code_name, table_entry, update

from pybm.switch.p4runtime import server

P = p4runtime_pb2


def frame(dst: int = 0xAA, src: int = 1, ethertype: int = 0x0800, size: int = 60) -> bytes:
    head = dst.to_bytes(6, "big") + src.to_bytes(6, "big") + ethertype.to_bytes(2, "big")
    return head + bytes(size - len(head))


def refused_code(fn, *args, **kw) -> str:
    with pytest.raises(grpc.RpcError) as e:
        fn(*args, **kw)
    assert e.value.code() == grpc.StatusCode.UNKNOWN, e.value
    [err] = batch_errors(e.value)
    return error_code_name(err)


def counter(info, index=None, **data) -> P.CounterEntry:
    ce = P.CounterEntry(counter_id=info.id("counters", "ingress.port_counter"))
    if index is not None:
        ce.index.index = index
    if data:
        ce.data.CopyFrom(P.CounterData(**data))
    return ce


# -- indexed counters -----------------------------------------------------------------------


def test_counters_count_packets_and_read(rig):
    c, info = rig.primary("nic_mini")
    for _ in range(3):
        rig.switch.receive(2, frame(size=64))
    rig.switch.receive(5, frame(size=100))
    [one] = c.read_one(counter_entry=counter(info, 2))
    assert one.counter_entry.data == P.CounterData(byte_count=192, packet_count=3)
    everything = c.read_one(counter_entry=counter(info))
    assert [e.counter_entry.index.index for e in everything] == list(range(16))
    assert everything[5].counter_entry.data.packet_count == 1
    assert len(c.read_one(counter_entry=P.CounterEntry())) == 16  # counter_id 0: all counters


def test_counter_write_single_and_wildcard(rig):
    c, info = rig.primary("nic_mini")
    c.modify(counter_entry=counter(info, 4, byte_count=10, packet_count=1))
    assert rig.switch.counter_read("ingress.port_counter", 4) == (10, 1)
    c.modify(counter_entry=counter(info, byte_count=7, packet_count=7))  # all cells
    assert {rig.switch.counter_read("ingress.port_counter", i) for i in range(16)} == {(7, 7)}
    c.modify(counter_entry=counter(info, 4))  # no data: unchanged
    assert rig.switch.counter_read("ingress.port_counter", 4) == (7, 7)


def test_counter_errors(rig):
    c, info = rig.primary("nic_mini")
    assert refused_code(c.insert, counter_entry=counter(info, 1)) == "INVALID_ARGUMENT"
    assert refused_code(c.delete, counter_entry=counter(info, 1)) == "INVALID_ARGUMENT"
    assert refused_code(c.modify, counter_entry=counter(info, -1)) == "INVALID_ARGUMENT"
    assert refused_code(c.modify, counter_entry=counter(info, 16)) == "OUT_OF_RANGE"
    assert refused_code(c.read_one, counter_entry=counter(info, 16)) == "OUT_OF_RANGE"
    assert refused_code(c.modify, counter_entry=P.CounterEntry(counter_id=0x12ABCDEF)) == \
        "INVALID_ARGUMENT"
    assert refused_code(c.modify, counter_entry=counter(info, 1, packet_count=-1)) == \
        "INVALID_ARGUMENT"


def test_counter_unit_decides_the_fields(rig):
    c, info = rig.primary("issue1566-bmv2")  # a PACKETS counter
    cid = info.id("counters", "cIngress.E.c1.stats")
    rig.switch.counter_write("cIngress.E.c1.stats", 3, 99, 5)
    ce = P.CounterEntry(counter_id=cid)
    ce.index.index = 3
    [got] = c.read_one(counter_entry=ce)
    assert got.counter_entry.data == P.CounterData(packet_count=5)


# -- direct counters ------------------------------------------------------------------------


def fwd(info, dst=0xAA, port=3):
    return table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": dst}, "ingress.set_port",
                       port=port)


def test_direct_counter_via_table_entry_and_direct_counter_entry(rig):
    c, info = rig.primary("nic_mini")
    te = fwd(info)
    te.counter_data.byte_count, te.counter_data.packet_count = 1000, 10
    c.insert(table_entry=te)
    rig.switch.receive(1, frame(size=80))
    want = P.TableEntry(table_id=te.table_id, counter_data=P.CounterData())
    [got] = c.read_one(table_entry=want)
    assert got.table_entry.counter_data == P.CounterData(byte_count=1080, packet_count=11)
    # without counter_data in the request, no counter data in the answer
    [got] = c.read_one(table_entry=P.TableEntry(table_id=te.table_id))
    assert not got.table_entry.HasField("counter_data")

    key = fwd(info)
    key.ClearField("action")
    dc = P.DirectCounterEntry(table_entry=key, data=P.CounterData(byte_count=5, packet_count=1))
    c.modify(direct_counter_entry=dc)
    [got] = c.read_one(direct_counter_entry=P.DirectCounterEntry(table_entry=key))
    assert got.direct_counter_entry.data == P.CounterData(byte_count=5, packet_count=1)
    assert list(got.direct_counter_entry.table_entry.match) == list(key.match)
    # wildcard: all entries of the table, and all tables
    c.insert(table_entry=fwd(info, dst=0xBB))
    tid = P.TableEntry(table_id=te.table_id)
    assert len(c.read_one(direct_counter_entry=P.DirectCounterEntry(table_entry=tid))) == 2
    assert len(c.read_one(direct_counter_entry=P.DirectCounterEntry())) == 2
    # MODIFY of the table entry without counter_data leaves the counter alone
    c.modify(table_entry=fwd(info, port=4))
    assert rig.switch.table_counter_read("ingress.fwd", 1) == (5, 1)


def test_direct_counter_errors(rig):
    c, info = rig.primary("nic_mini")
    key = fwd(info)
    key.ClearField("action")
    assert refused_code(c.modify, direct_counter_entry=P.DirectCounterEntry(table_entry=key)) == \
        "NOT_FOUND"
    c.insert(table_entry=fwd(info))
    for utype in (Update.INSERT, Update.DELETE):
        assert refused_code(c.write, update(utype, direct_counter_entry=P.DirectCounterEntry(
            table_entry=key))) == "INVALID_ARGUMENT"
    acl = P.TableEntry(table_id=info.id("tables", "ingress.acl"))
    assert refused_code(c.read_one, direct_counter_entry=P.DirectCounterEntry(table_entry=acl)) \
        == "INVALID_ARGUMENT"
    te = table_entry(info, "ingress.learn", {"hdr.ethernet.srcAddr": 1}, "NoAction")
    te.counter_data.packet_count = 1
    assert refused_code(c.insert, table_entry=te) == "INVALID_ARGUMENT"


# -- meters ---------------------------------------------------------------------------------


def meter(info, index=None, **cfg) -> P.MeterEntry:
    me = P.MeterEntry(meter_id=info.id("meters", "ingress.port_meter"))
    if index is not None:
        me.index.index = index
    if cfg:
        me.config.CopyFrom(P.MeterConfig(**cfg))
    return me


def test_meter_config_roundtrip_units_and_reset(rig):
    c, info = rig.primary("nic_mini")
    cfg = dict(cir=1000, cburst=10, pir=3000, pburst=30)
    c.modify(meter_entry=meter(info, 2, **cfg))
    # engine rates are units per microsecond, as BMv2's
    assert rig.switch.meter_get_rates("ingress.port_meter", 2) == [(0.001, 10), (0.003, 30)]
    [got] = c.read_one(meter_entry=meter(info, 2))
    assert got.meter_entry.config == P.MeterConfig(**cfg)
    [unset] = c.read_one(meter_entry=meter(info, 3))
    assert not unset.meter_entry.HasField("config")  # default: every packet GREEN
    c.modify(meter_entry=meter(info, 2))  # no config: back to the default
    assert rig.switch.meter_get_rates("ingress.port_meter", 2) == []
    c.modify(meter_entry=meter(info, **cfg))  # no index: every cell
    assert all(e.meter_entry.config == P.MeterConfig(**cfg)
               for e in c.read_one(meter_entry=meter(info)))


def test_meter_marks_packets(rig):
    # the fixture drops packets its port meter marks RED
    c, info = rig.primary("nic_mini")
    c.insert(table_entry=fwd(info, port=3))
    # no refill, bursts of 1 packet committed and 2 peak: green, yellow, then red
    c.modify(meter_entry=meter(info, 1, cir=0, cburst=1, pir=0, pburst=2))
    for _ in range(3):
        rig.switch.receive(1, frame())
    assert [p for p, _ in rig.frames()] == [3, 3]
    rig.switch.receive(2, frame())  # another port, another (unconfigured) meter cell
    assert [p for p, _ in rig.frames()] == [3]


def test_meter_errors(rig):
    c, info = rig.primary("nic_mini")
    assert refused_code(c.modify, meter_entry=meter(info, 1, cir=10, pir=5)) == "INVALID_ARGUMENT"
    assert refused_code(c.modify, meter_entry=meter(info, 1, cir=-1)) == "INVALID_ARGUMENT"
    assert refused_code(c.modify, meter_entry=meter(info, 1, eburst=3)) == "INVALID_ARGUMENT"
    assert refused_code(c.modify, meter_entry=meter(info, 16, cir=1, pir=1)) == "OUT_OF_RANGE"
    assert refused_code(c.modify, meter_entry=meter(info, -2)) == "INVALID_ARGUMENT"
    assert refused_code(c.insert, meter_entry=meter(info, 1)) == "INVALID_ARGUMENT"
    me = meter(info, 1)
    me.counter_data.green.packet_count = 0
    assert refused_code(c.modify, meter_entry=me) == "UNIMPLEMENTED"


def test_direct_meter_in_table_entry_and_direct_meter_entry(rig):
    c, info = rig.primary("nic_mini")
    te = fwd(info)
    te.meter_config.CopyFrom(P.MeterConfig(cir=8000, cburst=1500, pir=16000, pburst=3000))
    c.insert(table_entry=te)
    assert rig.switch.table_meter_get_rates("ingress.fwd", 1) == [(0.008, 1500), (0.016, 3000)]
    [got] = c.read_one(table_entry=P.TableEntry(table_id=te.table_id, meter_config=P.MeterConfig()))
    assert got.table_entry == te
    # MODIFY without meter_config resets the meter (spec "Direct Resources")
    c.modify(table_entry=fwd(info, port=5))
    [got] = c.read_one(table_entry=P.TableEntry(table_id=te.table_id, meter_config=P.MeterConfig()))
    assert not got.table_entry.HasField("meter_config")

    key = fwd(info)
    key.ClearField("action")
    cfg = P.MeterConfig(cir=1, cburst=2, pir=3, pburst=4)
    c.modify(direct_meter_entry=P.DirectMeterEntry(table_entry=key, config=cfg))
    [got] = c.read_one(direct_meter_entry=P.DirectMeterEntry(table_entry=key))
    assert got.direct_meter_entry.config == cfg
    c.modify(direct_meter_entry=P.DirectMeterEntry(table_entry=key))
    [got] = c.read_one(direct_meter_entry=P.DirectMeterEntry(table_entry=key))
    assert not got.direct_meter_entry.HasField("config")
    dm = P.DirectMeterEntry(table_entry=key)
    dm.counter_data.SetInParent()
    assert refused_code(c.modify, direct_meter_entry=dm) == "UNIMPLEMENTED"
    te = fwd(info, dst=0xCC)
    te.meter_counter_data.SetInParent()
    assert refused_code(c.insert, table_entry=te) == "UNIMPLEMENTED"


def test_direct_meter_colors_packets(rig):
    # the fixture drops packets the direct meter of ingress.fwd marks RED
    c, info = rig.primary("nic_mini")
    te = fwd(info)
    # 60-byte frames, no refill, bursts of 100 bytes committed and 150 peak: green, yellow, red
    te.meter_config.CopyFrom(P.MeterConfig(cir=0, cburst=100, pir=0, pburst=150))
    c.insert(table_entry=te)
    for _ in range(3):
        rig.switch.receive(1, frame(size=60))
    assert [p for p, _ in rig.frames()] == [3, 3]
    key = fwd(info)
    key.ClearField("action")
    c.modify(direct_meter_entry=P.DirectMeterEntry(table_entry=key))  # back to all GREEN
    rig.switch.receive(1, frame(size=60))
    assert [p for p, _ in rig.frames()] == [3]


# -- registers ----------------------------------------------------------------------------


def reg(info, name, index=None, value=None) -> P.RegisterEntry:
    re = P.RegisterEntry(register_id=info.id("registers", name))
    if index is not None:
        re.index.index = index
    if value is not None:
        re.data.CopyFrom(p4data_pb2.P4Data(bitstring=value))
    return re


def test_registers_read_data_plane_state_and_write(rig):
    c, info = rig.primary("nic_mini")
    rig.switch.receive(3, frame(size=77))
    [got] = c.read_one(register_entry=reg(info, "ingress.last_len", 3))
    assert got.register_entry.data.bitstring == bytes([77])
    c.modify(register_entry=reg(info, "ingress.last_len", 5, b"\x00\x01\x00"))
    assert rig.switch.register_read("ingress.last_len", 5) == 256
    c.modify(register_entry=reg(info, "ingress.last_len", None, b"\x09"))  # every cell
    assert {e.register_entry.data.bitstring
            for e in c.read_one(register_entry=reg(info, "ingress.last_len"))} == {b"\x09"}
    assert len(c.read_one(register_entry=P.RegisterEntry())) == 16 + 4


def test_signed_register(rig):
    c, info = rig.primary("nic_mini")
    c.modify(register_entry=reg(info, "ingress.delta", 1, b"\xff\xfe"))  # -2 in int<16>
    assert rig.switch.register_read("ingress.delta", 1) == 0xFFFE
    [got] = c.read_one(register_entry=reg(info, "ingress.delta", 1))
    assert got.register_entry.data.bitstring == b"\xfe"  # canonical: -2 fits in one byte
    assert refused_code(c.modify, register_entry=reg(info, "ingress.delta", 1,
                                                     b"\x00\x80\x00")) == "OUT_OF_RANGE"


def test_register_errors(rig):
    c, info = rig.primary("nic_mini")
    assert refused_code(c.modify, register_entry=reg(info, "ingress.last_len", 16, b"\x01")) == \
        "OUT_OF_RANGE"
    assert refused_code(c.modify, register_entry=reg(info, "ingress.last_len", -1, b"\x01")) == \
        "INVALID_ARGUMENT"
    assert refused_code(c.modify, register_entry=reg(info, "ingress.last_len", 1)) == \
        "INVALID_ARGUMENT"  # no data
    assert refused_code(c.modify, register_entry=reg(info, "ingress.last_len", 1,
                                                     b"\x01\x00\x00\x00\x00")) == "OUT_OF_RANGE"
    assert refused_code(c.insert, register_entry=reg(info, "ingress.last_len", 1, b"\x01")) == \
        "INVALID_ARGUMENT"
    bad = reg(info, "ingress.last_len", 1)
    bad.data.bool = True
    assert refused_code(c.modify, register_entry=bad) == "INVALID_ARGUMENT"


# -- value sets -------------------------------------------------------------------------------


def vset(info, *values: int) -> P.ValueSetEntry:
    vs = P.ValueSetEntry(value_set_id=info.id("value_sets", "ParserImpl.tpids"))
    for v in values:
        vs.members.add().match.add(field_id=1, exact=P.FieldMatch.Exact(value=enc(v)))
    return vs


def test_value_set_drives_the_parser(rig):
    c, info = rig.primary("nic_mini")
    rig.switch.receive(1, frame(ethertype=0x88A8))
    assert rig.frames() == []  # not in the set: fwd misses and drops
    c.modify(value_set_entry=vset(info, 0x88A8, 0x9100))
    [got] = c.read_one(value_set_entry=vset(info))
    assert [m.match[0].exact.value for m in got.value_set_entry.members] == [b"\x88\xa8", b"\x91\x00"]
    rig.switch.receive(1, frame(ethertype=0x88A8))
    assert [p for p, _ in rig.frames()] == [7]  # the parser marked it, ingress redirected
    c.modify(value_set_entry=vset(info))  # empty members: the set is cleared
    rig.switch.receive(1, frame(ethertype=0x88A8))
    assert rig.frames() == []
    [got] = c.read_one(value_set_entry=P.ValueSetEntry())
    assert list(got.value_set_entry.members) == []


def test_value_set_errors(rig):
    c, info = rig.primary("nic_mini")
    assert refused_code(c.modify, value_set_entry=vset(info, 1, 2, 3, 4, 5)) == "RESOURCE_EXHAUSTED"
    assert refused_code(c.modify, value_set_entry=vset(info, 1, 1)) == "ALREADY_EXISTS"
    assert refused_code(c.insert, value_set_entry=vset(info, 1)) == "INVALID_ARGUMENT"
    assert refused_code(c.delete, value_set_entry=vset(info, 1)) == "INVALID_ARGUMENT"
    bad = vset(info)
    bad.members.add().match.add(field_id=2, exact=P.FieldMatch.Exact(value=b"\x01"))
    assert refused_code(c.modify, value_set_entry=bad) == "INVALID_ARGUMENT"
    c.modify(value_set_entry=vset(info, 1))
    assert refused_code(c.modify, value_set_entry=vset(info, 1, 0x10000)) == "OUT_OF_RANGE"
    # a refused update leaves the previous contents
    [got] = c.read_one(value_set_entry=vset(info))
    assert len(got.value_set_entry.members) == 1


def test_large_wildcard_read_is_streamed_in_several_responses(rig, monkeypatch):
    monkeypatch.setattr(server, "READ_CHUNK", 5)  # entities per ReadResponse
    c, info = rig.primary("nic_mini")
    rig.switch.counter_write("ingress.port_counter", 15, 0, 9)
    req = P.ReadRequest(device_id=0)
    req.entities.add().counter_entry.counter_id = info.id("counters", "ingress.port_counter")
    responses = list(c.stub.Read(req, timeout=10))
    assert [len(r.entities) for r in responses] == [5, 5, 5, 1]
    cells = [e.counter_entry for r in responses for e in r.entities]
    assert [x.index.index for x in cells] == list(range(16))
    assert cells[-1].data.packet_count == 9
