"""Names of p4names.py exist in the compiled P4Info; canonical bytestrings; model checks."""

from __future__ import annotations

import pytest
from p4.v1 import p4data_pb2
from p4nic import p4names as n
from p4nic.model import CaptureTrigger, Flow, NicConfigError, PortMap, SecurityAssociation
from p4nic.p4info import Lpm, P4InfoError, P4Schema, Ternary, encode, value_to_int


@pytest.fixture(scope="module")
def schema(nic_build) -> P4Schema:
    return P4Schema.from_file(nic_build.p4info)


def test_every_name_the_driver_uses_is_in_the_p4info(schema: P4Schema) -> None:
    tables = {n.PORT_CONFIG: [n.MF_IN_PORT], n.RTP_PORTS: [n.MF_UDP_DST_PORT],
              n.MAC_FILTER: [n.MF_ETH_DST], n.L4_PROTO_ALLOWED: [n.MF_IP_PROTO],
              n.FLOW_V4: [n.MF_IPV4_SRC, n.MF_IPV4_DST, n.MF_IPV4_PROTO, n.MF_L4_SRC_PORT,
                          n.MF_L4_DST_PORT],
              n.FLOW_V6: [n.MF_IPV6_SRC, n.MF_IPV6_DST, n.MF_IPV6_NEXT_HDR, n.MF_L4_SRC_PORT,
                          n.MF_L4_DST_PORT],
              n.ESP_FLOW: [n.MF_IPV4_DST, n.MF_ESP_SPI], n.SA_V4: [n.MF_IPV4_DST, n.MF_ESP_SPI],
              n.CAPTURE_TRIGGER: [n.MF_DIRECTION, n.MF_CAP_IN_PORT, n.MF_CAP_IP_SRC,
                                  n.MF_CAP_IP_DST, n.MF_CAP_IP_PROTO, n.MF_CAP_L4_SRC,
                                  n.MF_CAP_L4_DST, n.MF_CAP_PAYLOAD_HEAD]}
    for table, fields in tables.items():
        assert [mf.name for mf in schema.table(table).match_fields] == fields
    for action in (n.SET_PORT_ROLE, n.MARK_RTP, n.ACCEPT_MAC, n.ACCEPT_PROTO, n.SET_FLOW,
                   n.SET_KEY, n.CAPTURE):
        schema.action(action)
    assert [p.name for p in schema.action(n.SET_FLOW).params] == [
        "flow_id", "state", "deliver_port", "ack_every_n", "ts_mode", "zc_buf_base",
        "zc_buf_size", "zc_start_seq", "flow_generation_"]
    assert [p.name for p in schema.action(n.SET_PORT_ROLE).params] == [
        "role", "peer_port", "priority"]
    assert schema.counter(n.DROP_REASONS).size == n.NUM_DROP_REASONS
    for table in (*n.FLOW_TABLES, n.SA_V4):
        assert schema.direct_counter_of(table) is not None
    assert schema.digest_members(n.DIGEST_PSH) == [("flow_id", 32), ("seq_no", 32),
                                                   ("arrival_ts", 48)]
    assert schema.digest_members(n.DIGEST_KEY_REQUEST) == [("spi", 32), ("src_addr", 32),
                                                           ("dst_addr", 32)]
    assert [(m.name, m.bitwidth) for m in schema.packet_metadata(n.PACKET_OUT)] == [
        ("egress_port", 9), ("op", 7)]
    assert [(m.name, m.bitwidth) for m in schema.packet_metadata(n.PACKET_IN)] == [
        ("ingress_port", 9), ("reason", 7)]


def test_canonical_bytestrings() -> None:
    assert encode(0, 9) == b"\x00"
    assert encode(255, 9) == b"\xff"
    assert encode(256, 9) == b"\x01\x00"
    assert encode("10.0.0.1", 32) == b"\x0a\x00\x00\x01"
    assert encode("0.0.0.1", 32) == b"\x01"
    assert encode("02:00:00:00:00:01", 48) == b"\x02\x00\x00\x00\x00\x01"
    assert encode("::1", 128) == b"\x01"
    assert value_to_int("0x1001", 32) == 0x1001
    with pytest.raises(P4InfoError, match="does not fit in 9 bits"):
        encode(512, 9)
    with pytest.raises(P4InfoError, match="not an IPv4 address"):
        encode("::1", 32)


def test_entries_built_by_name(schema: P4Schema) -> None:
    te = schema.table_entry(n.CAPTURE_TRIGGER,
                            {n.MF_CAP_IP_SRC: Ternary("10.0.0.7", "255.255.255.0"),
                             n.MF_CAP_L4_DST: None,                       # don't care: omitted
                             n.MF_DIRECTION: Ternary(0, 0)},              # mask 0: omitted
                            n.CAPTURE, {"capture_id": 1, "snaplen": 64}, priority=5)
    assert len(te.match) == 1
    assert te.match[0].ternary.value == b"\x0a\x00\x00\x00"    # value & mask
    assert te.priority == 5
    assert schema.decode_match(te) == {n.MF_CAP_IP_SRC: (0x0A000000, 0xFFFFFF00)}
    assert schema.decode_action(te) == (n.CAPTURE, {"capture_id": 1, "snaplen": 64})
    with pytest.raises(P4InfoError, match="parameter 'snaplen' missing"):
        schema.action_msg(n.CAPTURE, {"capture_id": 1})
    with pytest.raises(P4InfoError, match="no parameter"):
        schema.action_msg(n.CAPTURE, {"capture_id": 1, "snaplen": 2, "extra": 3})
    with pytest.raises(P4InfoError, match="has no match field 'meta.nope'"):
        schema.table_entry(n.FLOW_V4, {"meta.nope": 1})
    with pytest.raises(P4InfoError, match="no table 'Nope'"):
        schema.table_id("Nope")
    with pytest.raises(P4InfoError, match="match kind exact, given Lpm"):
        schema.field_match(n.FLOW_V4, n.MF_IPV4_SRC, Lpm("10.0.0.0", 40))


def test_digest_decoding(schema: P4Schema) -> None:
    data = p4data_pb2.P4Data()
    for v in (b"\x10\x01", b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"):
        data.struct.members.add(bitstring=v)
    assert schema.decode_digest_data(n.DIGEST_KEY_REQUEST, data) == {
        "spi": 0x1001, "src_addr": 0x0A000001, "dst_addr": 0x0A000002}


def test_model_validation() -> None:
    f = Flow(src="2001:db8::1", dst="2001:db8::2", proto="tcp", sport=1, dport=2, flow_id=3)
    assert f.ip_version == 6 and f.proto == 6 and f.state == "MONITOR"
    assert Flow.from_dict(f.to_dict()) == f
    with pytest.raises(NicConfigError, match="TCP \\(6\\) and UDP \\(17\\) only"):
        Flow(src="10.0.0.1", dst="10.0.0.2", proto="icmp", sport=0, dport=0, flow_id=1)
    with pytest.raises(NicConfigError, match="ZERO_COPY places TCP"):
        Flow(src="10.0.0.1", dst="10.0.0.2", proto="udp", sport=1, dport=2, flow_id=1,
             state="ZERO_COPY", buf_size=10)
    with pytest.raises(NicConfigError, match="cpu port 3 also has a NIC role"):
        PortMap(cpu=3)
    t = CaptureTrigger(capture_id=1, payload_head=b"GET ", src="10.0.0.0/24", direction="tx")
    assert t.match[n.MF_CAP_PAYLOAD_HEAD] == (0x4745542000000000, 0xFFFFFFFF00000000)
    assert t.match[n.MF_CAP_IP_SRC] == (0x0A000000, 0xFFFFFF00)
    assert t.match[n.MF_DIRECTION] == (n.DIR_TX, 0xFF)
    assert CaptureTrigger.from_dict(t.to_dict()).match == t.match
    sa = SecurityAssociation(dst="10.0.0.2", spi=1, key="00" * 32, cipher="chacha20-poly1305")
    assert sa.key == bytes(32) and sa.to_dict()["key"] == "<set>"
    assert SecurityAssociation(dst="2001:DB8::1", spi=1).dst == "2001:db8::1"   # sa_v6
    with pytest.raises(NicConfigError, match="not an IP address"):
        SecurityAssociation(dst="nowhere", spi=1)
