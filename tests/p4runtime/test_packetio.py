"""PacketOut / PacketIn through the fixture's @controller_header headers."""

from __future__ import annotations

from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2
from p4rt_helpers import program, table_entry

from pybm.switch.p4runtime.packetio import packet_in_message, packet_out_frame
from pybm.switch.p4runtime.pipeline import ControllerHeader

ETH = bytes.fromhex("0000000000aa" "000000000007" "0800") + b"hello"


def packet_out(payload: bytes, **md: bytes) -> p4runtime_pb2.StreamMessageRequest:
    req = p4runtime_pb2.StreamMessageRequest()
    req.packet.payload = payload
    ids = {"egress_port": 1, "_pad": 2}
    for name, value in md.items():
        req.packet.metadata.add(metadata_id=ids[name], value=value)
    return req


def test_packet_out_goes_through_the_pipeline_to_its_port(rig):
    c, _ = rig.primary("nic_mini")
    c.stream.send(packet_out(ETH, egress_port=b"\x05", _pad=b"\x00"))
    assert rig.sent_event.wait(5)
    # the program consumed the packet_out header and sent the rest to port 5
    assert rig.frames() == [(5, ETH)]
    assert rig.server.stats["packet_out"] == 1


def test_packet_in_carries_the_ingress_port(rig):
    c, info = rig.primary("nic_mini")
    c.insert(table_entry=table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA},
                                     "ingress.send_to_cpu"))
    rig.switch.receive(9, ETH)
    pkt = c.stream.get("packet").packet
    assert pkt.payload == ETH
    assert {m.metadata_id: m.value for m in pkt.metadata} == {1: b"\x09", 2: b"\x00"}


def test_round_trip_out_and_back_in(rig):
    c, info = rig.primary("nic_mini")
    c.insert(table_entry=table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA},
                                     "ingress.send_to_cpu"))
    c.stream.send(packet_out(ETH, egress_port=b"\x04", _pad=b"\x00"))
    assert rig.sent_event.wait(5)
    [(port, data)] = rig.frames()
    assert port == 4
    rig.switch.receive(port, data)  # a loopback cable on port 4
    pkt = c.stream.get("packet").packet
    assert pkt.payload == ETH and pkt.metadata[0].value == b"\x04"


def test_packet_in_only_reaches_the_primary(rig):
    c, info = rig.primary("nic_mini", election_id=(0, 2))
    backup = rig.client()
    assert backup.arbitrate((0, 1)).status.code == code_pb2.ALREADY_EXISTS
    c.insert(table_entry=table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA},
                                     "ingress.send_to_cpu"))
    rig.switch.receive(1, ETH)
    assert c.stream.get("packet").packet.payload == ETH
    assert backup.stream.none("packet")


def test_packet_out_from_a_backup_is_refused(rig):
    c, _ = rig.primary("nic_mini", election_id=(0, 2))
    backup = rig.client()
    backup.arbitrate((0, 1))
    backup.stream.send(packet_out(ETH, egress_port=b"\x05", _pad=b"\x00"))
    err = backup.stream.get("error").error
    assert err.canonical_code == code_pb2.PERMISSION_DENIED
    assert err.packet_out.packet_out.payload == ETH
    assert rig.frames() == []


def test_bad_packet_out_metadata_gives_stream_errors(rig):
    c, _ = rig.primary("nic_mini")
    cases = [
        (packet_out(ETH, egress_port=b"\x05"), code_pb2.INVALID_ARGUMENT, "missing metadata _pad"),
        (packet_out(ETH, egress_port=b"\x02\x00", _pad=b"\x00"), code_pb2.OUT_OF_RANGE,
         "does not fit in 9 bits"),
        (packet_out(ETH, egress_port=b"", _pad=b"\x00"), code_pb2.OUT_OF_RANGE, "empty"),
    ]
    unknown = packet_out(ETH, egress_port=b"\x05", _pad=b"\x00")
    unknown.packet.metadata.add(metadata_id=7, value=b"\x01")
    cases.append((unknown, code_pb2.INVALID_ARGUMENT, "unknown metadata id 7"))
    twice = packet_out(ETH, egress_port=b"\x05", _pad=b"\x00")
    twice.packet.metadata.add(metadata_id=1, value=b"\x01")
    cases.append((twice, code_pb2.INVALID_ARGUMENT, "given twice"))
    for req, code, why in cases:
        c.stream.send(req)
        err = c.stream.get("error").error
        assert (err.canonical_code, why in err.message) == (code, True), err
        assert err.packet_out.packet_out == req.packet
    assert rig.frames() == []
    # the stream is still usable
    c.stream.send(packet_out(ETH, egress_port=b"\x06", _pad=b"\x00"))
    assert rig.sent_event.wait(5) and rig.frames() == [(6, ETH)]


def test_packet_out_without_pipeline_or_cpu_port(rig):
    c, _ = rig.primary()
    c.stream.send(packet_out(ETH, egress_port=b"\x05", _pad=b"\x00"))
    err = c.stream.get("error").error
    assert err.canonical_code == code_pb2.FAILED_PRECONDITION
    c.set_pipeline(*program("nic_mini"))
    rig.server.cpu_port = None
    c.stream.send(packet_out(ETH, egress_port=b"\x05", _pad=b"\x00"))
    err = c.stream.get("error").error
    assert err.canonical_code == code_pb2.FAILED_PRECONDITION and "CPU port" in err.message


def test_other_stream_messages_are_unimplemented(rig):
    c, _ = rig.primary("nic_mini")
    req = p4runtime_pb2.StreamMessageRequest()
    req.other.Pack(p4runtime_pb2.Uint128(low=1))
    c.stream.send(req)
    err = c.stream.get("error").error
    assert err.canonical_code == code_pb2.UNIMPLEMENTED and err.HasField("other")


def test_header_packing_of_unaligned_fields():
    hdr = ControllerHeader("packet_out", [(1, "a", 3), (2, "b", 9), (3, "c", 4)])
    msg = p4runtime_pb2.PacketOut(payload=b"P")
    msg.metadata.add(metadata_id=2, value=b"\x01\x01")
    msg.metadata.add(metadata_id=1, value=b"\x05")
    msg.metadata.add(metadata_id=3, value=b"\x0f")
    frame = packet_out_frame(hdr, msg)
    # 101 100000001 1111 -> 1011 0000 0001 1111
    assert frame == bytes([0b10110000, 0b00011111]) + b"P"
    back = packet_in_message(ControllerHeader("packet_in", hdr.fields), frame)
    assert {m.metadata_id: m.value for m in back.metadata} == {1: b"\x05", 2: b"\x01\x01",
                                                               3: b"\x0f"}
    assert back.payload == b"P"
    assert packet_in_message(hdr, b"\x01") is None  # too short for the header


def test_short_packet_in_is_dropped(rig):
    c, _ = rig.primary("nic_mini")
    rig.server.packet_in(b"\x01")
    assert c.stream.none("packet")
    assert rig.server.stats["packet_in_dropped"] == 1
