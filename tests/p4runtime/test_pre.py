"""PacketReplicationEngineEntry: multicast groups and clone sessions, checked with
packets through p4c's v1model-special-ops program (the same scenarios as its STF)."""

from __future__ import annotations

import grpc
import pytest
from p4.v1 import p4runtime_pb2
from p4rt_helpers import Update, batch_errors, error_code_name, table_entry, update

from pybm.switch.pre import RESERVED_MGID_BASE

P = p4runtime_pb2
PROG = "v1model-special-ops-bmv2"


# packets of the program's STF test (IPv4 checksums included: the program checks them)
_PACKETS = {
    0xE1010203: "525400123502080027f87bea0800 4500001c000100004011 8bbd 0a00020f e1010203"
                "16a100500008f9d9",
    0x0A030037: "525400123502080027f87bea0800 4500001c000100004011 6488 0a00020f 0a030037"
                "16a100500008d2a4",
}


def ipv4_frame(dst_ip: int) -> bytes:
    return bytes.fromhex(_PACKETS[dst_ip].replace(" ", ""))


def group(mgid: int, *replicas: tuple[int, int], port_bytes: bool = False) -> P.Entity:
    e = P.PacketReplicationEngineEntry()
    g = e.multicast_group_entry
    g.multicast_group_id = mgid
    for port, inst in replicas:
        r = g.replicas.add(instance=inst)
        if port_bytes:
            r.port = port.to_bytes(max(1, (port.bit_length() + 7) // 8), "big")
        else:
            r.egress_port = port
    return e


def session(sid: int, *replicas: tuple[int, int], **kw) -> P.PacketReplicationEngineEntry:
    e = P.PacketReplicationEngineEntry()
    s = e.clone_session_entry
    s.session_id = sid
    for port, inst in replicas:
        s.replicas.add(egress_port=port, instance=inst)
    for k, v in kw.items():
        setattr(s, k, v)
    return e


def refused_code(fn, *args, **kw) -> str:
    with pytest.raises(grpc.RpcError) as e:
        fn(*args, **kw)
    [err] = batch_errors(e.value)
    return error_code_name(err)


def read_groups(c, mgid=0):
    want = P.PacketReplicationEngineEntry()
    want.multicast_group_entry.multicast_group_id = mgid
    return [e.packet_replication_engine_entry.multicast_group_entry
            for e in c.read_one(packet_replication_engine_entry=want)]


def read_sessions(c, sid=0):
    want = P.PacketReplicationEngineEntry()
    want.clone_session_entry.session_id = sid
    return [e.packet_replication_engine_entry.clone_session_entry
            for e in c.read_one(packet_replication_engine_entry=want)]


# -- multicast ------------------------------------------------------------------------------


def test_multicast_group_replicates_packets(rig):
    c, info = rig.primary(PROG)
    ups = [update(Update.INSERT, table_entry=table_entry(
        info, "ingress.ipv4_da_lpm", {"hdr.ipv4.dstAddr": ("lpm", 0xE1010203, 32)},
        "ingress.set_mcast_grp", mcast_grp=1113))]
    for rid, bd, smac in ((400, 10, 0x001122330A55), (401, 11, 0x001122330B55),
                          (402, 12, 0x001122330C55)):
        ups.append(update(Update.INSERT, table_entry=table_entry(
            info, "egress.get_multicast_copy_out_bd",
            {"standard_metadata.mcast_grp": 1113, "standard_metadata.egress_rid": rid},
            "egress.set_out_bd", bd=bd)))
        ups.append(update(Update.INSERT, table_entry=table_entry(
            info, "egress.send_frame", {"meta.fwd.out_bd": bd}, "egress.rewrite_mac", smac=smac)))
    ups.append(update(Update.INSERT, packet_replication_engine_entry=group(
        1113, (6, 400), (7, 401), (8, 402))))
    c.write(*ups)
    rig.switch.receive(0, ipv4_frame(0xE1010203))
    got = sorted(rig.frames())
    assert [(p, d[6:12].hex()) for p, d in got] == [
        (6, "001122330a55"), (7, "001122330b55"), (8, "001122330c55")]

    c.modify(packet_replication_engine_entry=group(1113, (7, 401)))
    rig.switch.receive(0, ipv4_frame(0xE1010203))
    assert [p for p, _ in rig.frames()] == [7]
    c.delete(packet_replication_engine_entry=group(1113))
    rig.switch.receive(0, ipv4_frame(0xE1010203))
    assert rig.frames() == []


def test_multicast_group_read_mirrors_write(rig):
    c, _ = rig.primary(PROG)
    g1 = group(1, (3, 0), (4, 0), (3, 1), port_bytes=True)
    g1.multicast_group_entry.metadata = b"tag"
    g2 = group(2, (0, 0))
    c.write(update(Update.INSERT, packet_replication_engine_entry=g1),
            update(Update.INSERT, packet_replication_engine_entry=g2))
    assert read_groups(c) == [g1.multicast_group_entry, g2.multicast_group_entry]
    assert read_groups(c, 2) == [g2.multicast_group_entry]
    assert sorted(rig.switch.pre.mc_group_replicas(1)) == [(3, 0), (3, 1), (4, 0)]
    # non-canonical port bytes are read back canonical
    g3 = group(3)
    g3.multicast_group_entry.replicas.add(port=b"\x00\x00\x05")
    c.insert(packet_replication_engine_entry=g3)
    assert read_groups(c, 3)[0].replicas[0].port == b"\x05"


@pytest.mark.parametrize("entry, utype, code", [
    (group(0, (1, 0)), Update.INSERT, "INVALID_ARGUMENT"),
    (group(0x10000, (1, 0)), Update.INSERT, "OUT_OF_RANGE"),
    (group(5, (1, 0), (1, 0)), Update.INSERT, "INVALID_ARGUMENT"),
    (group(5, (512, 0)), Update.INSERT, "INVALID_ARGUMENT"),
    (group(5, (1, 0x10000)), Update.INSERT, "INVALID_ARGUMENT"),
    (group(5, (1, 0)), Update.MODIFY, "NOT_FOUND"),
    (group(5), Update.DELETE, "NOT_FOUND"),
])
def test_multicast_group_errors(rig, entry, utype, code):
    c, _ = rig.primary(PROG)
    assert refused_code(c.write, update(utype, packet_replication_engine_entry=entry)) == code


def test_multicast_group_duplicate_and_missing_read(rig):
    c, _ = rig.primary(PROG)
    c.insert(packet_replication_engine_entry=group(9, (1, 0)))
    assert refused_code(c.insert, packet_replication_engine_entry=group(9, (2, 0))) == \
        "ALREADY_EXISTS"
    assert refused_code(c.read_one, packet_replication_engine_entry=group(10)) == "NOT_FOUND"
    assert refused_code(c.insert, packet_replication_engine_entry=P.PacketReplicationEngineEntry()) \
        == "INVALID_ARGUMENT"


# -- clone sessions ---------------------------------------------------------------------------


def clone_setup(c, info):
    c.write(
        update(Update.INSERT, table_entry=table_entry(
            info, "ingress.ipv4_da_lpm", {"hdr.ipv4.dstAddr": ("lpm", 0x0A030037, 32)},
            "ingress.do_clone_i2e", l2ptr=0xD00D)),
        update(Update.INSERT, table_entry=table_entry(
            info, "ingress.mac_da", {"meta.fwd.l2ptr": 0xD00D}, "ingress.set_bd_dmac_intf",
            bd=9, dmac=0x0213570DD0FF, intf=1)),
        update(Update.INSERT, table_entry=table_entry(
            info, "egress.send_frame", {"meta.fwd.out_bd": 9}, "egress.rewrite_mac",
            smac=0x001122334455)))


def test_clone_session_single_port(rig):
    c, info = rig.primary(PROG)
    clone_setup(c, info)
    c.insert(packet_replication_engine_entry=session(5, (4, 0)))
    assert rig.switch.pre.mirrors[5].egress_port == 4
    rig.switch.receive(0, ipv4_frame(0x0A030037))
    got = dict(rig.frames())
    assert sorted(got) == [1, 4]
    # as in the STF: the i2e clone leaves with the program's extra header in front
    assert got[4].startswith(bytes.fromhex("012e012e5a5a5a5a525400123502"))
    assert read_sessions(c) == [session(5, (4, 0)).clone_session_entry]


def test_clone_session_with_several_replicas_uses_a_reserved_group(rig):
    c, info = rig.primary(PROG)
    clone_setup(c, info)
    # a client multicast group with the same number must not be disturbed
    c.insert(packet_replication_engine_entry=group(5, (30, 0)))
    c.insert(packet_replication_engine_entry=session(5, (4, 0), (9, 1)))
    mgid = rig.switch.pre.mirrors[5].mgid
    assert mgid > 0xFFFF and mgid == RESERVED_MGID_BASE + 5
    rig.switch.receive(0, ipv4_frame(0x0A030037))
    got = sorted(p for p, _ in rig.frames())
    assert got == [1, 4, 9]
    assert read_groups(c) == [group(5, (30, 0)).multicast_group_entry]  # reserved ones hidden
    # back to one replica: a port session again, the reserved group goes away
    c.modify(packet_replication_engine_entry=session(5, (6, 0)))
    assert rig.switch.pre.mirrors[5].egress_port == 6 and mgid not in rig.switch.pre.groups
    rig.switch.receive(0, ipv4_frame(0x0A030037))
    assert sorted(p for p, _ in rig.frames()) == [1, 6]
    c.delete(packet_replication_engine_entry=session(5))
    rig.switch.receive(0, ipv4_frame(0x0A030037))
    assert [p for p, _ in rig.frames()] == [1]
    assert read_sessions(c) == []


@pytest.mark.parametrize("entry, utype, code", [
    (session(0, (1, 0)), Update.INSERT, "INVALID_ARGUMENT"),
    (session(32768, (1, 0)), Update.INSERT, "OUT_OF_RANGE"),
    (session(3, (1, 0), class_of_service=2), Update.INSERT, "UNIMPLEMENTED"),
    (session(3, (1, 0), packet_length_bytes=64), Update.INSERT, "UNIMPLEMENTED"),
    (session(3, (600, 0)), Update.INSERT, "INVALID_ARGUMENT"),
    (session(3, (1, 0)), Update.MODIFY, "NOT_FOUND"),
    (session(3), Update.DELETE, "NOT_FOUND"),
])
def test_clone_session_errors(rig, entry, utype, code):
    c, _ = rig.primary(PROG)
    assert refused_code(c.write, update(utype, packet_replication_engine_entry=entry)) == code
    assert rig.switch.pre.mirrors == {}


def test_clone_session_duplicate(rig):
    c, _ = rig.primary(PROG)
    c.insert(packet_replication_engine_entry=session(3, (1, 0)))
    assert refused_code(c.insert, packet_replication_engine_entry=session(3, (2, 0))) == \
        "ALREADY_EXISTS"
    assert refused_code(c.read_one, packet_replication_engine_entry=session(4)) == "NOT_FOUND"
