"""NicDriver against a real pybm-switch process on veth pairs: tables, counters,
PRE, digests and packet I/O, with frames sent and read on the switch ports."""

from __future__ import annotations

import queue
import threading

import grpc
import pytest
from google.rpc import code_pb2
from p4nic import p4names as n
from p4nic.driver import (
    CaptureTrigger,
    Flow,
    NicConfigError,
    NicDriver,
    P4RuntimeError,
    SecurityAssociation,
)
from p4nic.entries import digest_entity
from p4nic.records import parse_placement, parse_rx_meta, parse_ts_record
from scapy.all import ICMP, IP, TCP, UDP, Ether, IPv6, raw
from scapy.layers.ipsec import ESP

from .conftest import NIC_MAC, PEER_MAC

A, B = "10.0.0.1", "10.0.0.2"


def eth(dst: str = NIC_MAC) -> Ether:
    return Ether(dst=dst, src=PEER_MAC)


def tcp(sport: int = 1234, dport: int = 80, flags: str = "A", seq: int = 100,
        payload: bytes = b"p" * 40) -> bytes:
    frame = raw(eth() / IP(src=A, dst=B) / TCP(sport=sport, dport=dport, flags=flags, seq=seq,
                                                ack=7) / payload)
    return frame + bytes(60 - len(frame)) if len(frame) < 60 else frame   # Ethernet padding


def test_misses_go_to_the_host_stack_and_checks_drop_with_reasons(driver: NicDriver,
                                                                  taps) -> None:
    miss = tcp(dport=8080)
    taps[0].send(miss)
    assert taps[2].recv(1) == [miss]                          # unchanged, no descriptor
    bcast = raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) / IP(src=A, dst=B) / ICMP()
                / (b"i" * 30))
    taps[1].send(bcast)
    assert taps[2].recv(1) == [bcast]
    wrong_mac = raw(eth("02:99:00:00:00:09") / IP(src=A, dst=B) / ICMP() / (b"x" * 30))
    bad_csum = raw(eth() / IP(src=A, dst=B, chksum=0x1234) / UDP(sport=1, dport=2) / (b"y" * 30))
    runt = raw(eth())[:14] + b"\x08\x00" * 10
    unknown_proto = raw(eth() / IP(src=A, dst=B, proto=99) / (b"z" * 30))
    for frame in (wrong_mac, bad_csum, runt, unknown_proto):
        taps[0].send(frame)
    taps[4].send(tcp())                                       # placement port: no role
    host_tx = tcp(sport=80, dport=1234)
    taps[2].send(host_tx)                                     # host stack transmits
    assert taps[0].recv(1) == [host_tx]
    assert taps[2].drain() == [] and taps[3].drain() == []
    drops = driver.drop_counters()
    assert drops["dmac"] == (1, len(wrong_mac))
    assert drops["ipv4_checksum"] == (1, len(bad_csum))
    assert drops["runt"] == (1, len(runt))
    assert drops["unknown_proto"] == (1, len(unknown_proto))
    assert drops["port_unconfigured"] == (1, len(tcp()))
    assert sum(p for p, _ in drops.values()) == 5


def test_monitor_flow_with_timestamps_in_front_and_counters(driver: NicDriver, taps) -> None:
    h = driver.add_flow(Flow(src=A, dst=B, proto=6, sport=1234, dport=80, flow_id=7,
                             state="MONITOR", ts_mode="in_packet"))
    frames = [tcp(seq=100 + 40 * i) for i in range(3)]
    for f in frames:
        taps[0].send(f)
    got = taps[3].recv(3)
    assert len(got) == 3
    metas = []
    for f, data in zip(frames, got):
        meta, pkt = parse_rx_meta(data)
        assert pkt == f and meta.flow_id == 7 and meta.ts_valid and meta.flow_hit
        assert meta.in_port == 0 and not meta.key_valid
        metas.append(meta)
    assert [m.flow_packets for m in metas] == [1, 2, 3]
    assert [m.flow_bytes for m in metas] == [len(frames[0]) * i for i in (1, 2, 3)]
    assert metas[0].gap_us == 0
    assert [m.gap_us for m in metas[1:]] == [b.arrival_ts - a.arrival_ts
                                             for a, b in zip(metas, metas[1:])]
    assert driver.flow_counters(h) == (3, sum(len(f) for f in frames))
    # connection control stays with the host stack
    syn = tcp(flags="S", payload=b"")
    taps[0].send(syn)
    assert parse_rx_meta(taps[2].recv(1)[0])[1] == syn
    assert driver.flow_counters(h)[0] == 4


def test_psh_is_reported_to_the_driver(driver: NicDriver, taps) -> None:
    pushed: queue.Queue = queue.Queue()
    driver.on_psh(lambda flow_id, seq, ts: pushed.put((flow_id, seq, ts)))
    driver.add_flow(Flow(src=A, dst=B, proto="tcp", sport=1234, dport=80, flow_id=3,
                         ts_mode="in_packet"))
    taps[0].send(tcp(flags="PA", seq=5000))
    meta, _ = parse_rx_meta(taps[3].recv(1)[0])
    assert pushed.get(timeout=10) == (3, 5000, meta.arrival_ts)
    digest = driver.digests.get(timeout=5)
    assert digest.name == n.DIGEST_PSH and digest.fields["seq_no"] == 5000


def esp(spi: int, seq: int) -> bytes:
    return raw(eth() / IP(src=A, dst=B) / ESP(spi=spi, seq=seq) / (b"e" * 48))


def test_key_request_is_answered_from_the_sa_database(driver: NicDriver, taps) -> None:
    requests: queue.Queue = queue.Queue()
    driver.on_key_request(lambda spi, src, dst: requests.put((spi, src, dst)))
    driver.add_esp_flow(dst=B, spi=0x1001, flow_id=9, state="MONITOR")
    driver.sa_database.add(SecurityAssociation(dst=B, spi=0x1001, key=bytes(range(16))))
    first = esp(0x1001, 1)
    taps[0].send(first)
    meta, pkt = parse_rx_meta(taps[2].recv(1)[0])        # still encrypted: host stack
    assert pkt == first and meta.no_key and meta.flow_id == 9
    assert requests.get(timeout=10) == (0x1001, A, B)     # after the SA went in
    (handle, sa), = driver.entries("sa")
    assert driver.key_requests_answered == 1 and sa.key_index == 0
    second = esp(0x1001, 2)
    taps[0].send(second)
    meta, pkt = parse_rx_meta(taps[3].recv(1)[0])        # hit: the flow's consumer
    assert pkt == second and meta.key_valid and not meta.no_key and meta.key_index == 0
    assert driver.sa_counters(handle) == (1, len(second))
    # an SPI the database does not know stays unanswered
    taps[0].send(esp(0x2002, 1))
    assert requests.get(timeout=10) == (0x2002, A, B)
    assert driver.key_requests_unanswered == 1
    assert [r["spi"] for r in driver.list_sas()] == [0x1001]


def test_sa_installed_directly_and_removed(driver: NicDriver, taps) -> None:
    h = driver.add_sa(SecurityAssociation(dst=B, spi=0x3003, key_index=42))
    taps[0].send(esp(0x3003, 1))
    meta, _ = parse_rx_meta(taps[2].recv(1)[0])          # no ESP flow: host stack
    assert meta.key_valid and meta.key_index == 42 and not meta.flow_hit
    with pytest.raises(NicConfigError, match="already installed"):
        driver.add_sa(SecurityAssociation(dst=B, spi=0x3003, key_index=1))
    driver.remove_sa(h)
    assert driver.list_sas() == []


def test_timestamp_records_and_nic_generated_acks(driver: NicDriver, taps) -> None:
    h = driver.add_flow(Flow(src=A, dst=B, proto=6, sport=1234, dport=80, flow_id=11,
                             ack_every=2, ts_mode="record"))
    frames = [tcp(seq=100 + 10 * i, payload=b"d" * 10) for i in range(4)]
    for f in frames:
        taps[0].send(f)
    assert taps[3].recv(4) == frames                      # the packets, unchanged
    records = [parse_ts_record(r) for r in taps[5].recv(4)]
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert all(r.flow_id == 11 and r.length == len(frames[0]) for r in records)
    acks = [Ether(a) for a in taps[0].recv(2)]           # out of the wire port they came in
    assert len(acks) == 2
    for ack, acked in zip(acks, (120, 140)):
        assert ack[Ether].dst == PEER_MAC and ack[IP].src == B and ack[IP].dst == A
        assert ack[TCP].sport == 80 and ack[TCP].dport == 1234
        assert ack[TCP].flags == "A" and ack[TCP].ack == acked and ack[TCP].seq == 7
        # checksums as the NIC computed them equal what scapy computes
        recomputed = Ether(raw(ack.copy().__class__(raw(ack))))
        del recomputed[IP].chksum, recomputed[TCP].chksum
        recomputed = Ether(raw(recomputed))
        assert (ack[IP].chksum, ack[TCP].chksum) == (recomputed[IP].chksum,
                                                     recomputed[TCP].chksum)
    assert taps[0].drain() == []
    assert driver.flow_counters(h) == (4, sum(len(f) for f in frames))


def test_zero_copy_places_payload_by_sequence_number(driver: NicDriver, taps) -> None:
    driver.add_flow(Flow(src=A, dst=B, proto=6, sport=2000, dport=9000, flow_id=12,
                         state="ZERO_COPY", buf_base=0x10000, buf_size=4096, start_seq=1000))
    taps[0].send(tcp(2000, 9000, seq=1000, payload=b"a" * 100))
    taps[0].send(tcp(2000, 9000, seq=1200, payload=b"c" * 50))    # 1100..1199 missing
    placed = [parse_placement(r) for r in taps[4].recv(2)]
    assert [(p.addr, p.seq, p.length, data) for p, data in placed] == [
        (0x10000, 1000, 100, b"a" * 100), (0x10000 + 200, 1200, 50, b"c" * 50)]
    outside = tcp(2000, 9000, seq=1000 + 4090, payload=b"o" * 10)   # past the buffer
    pure_ack = tcp(2000, 9000, seq=1250, payload=b"")
    taps[0].send(outside)
    taps[0].send(pure_ack)
    assert taps[2].recv(2) == [outside, pure_ack]
    assert taps[4].drain() == []


def test_ipv6_flow_modify_and_remove(driver: NicDriver, taps) -> None:
    src, dst = "2001:db8::1", "2001:db8::2"
    frame = raw(eth() / IPv6(src=src, dst=dst) / UDP(sport=5000, dport=5004) / (b"v" * 30))
    h = driver.add_flow(Flow(src=src, dst=dst, proto="udp", sport=5000, dport=5004,
                             flow_id=13, ts_mode="in_packet"))
    assert h.table == n.FLOW_V6
    taps[0].send(frame)
    meta, pkt = parse_rx_meta(taps[3].recv(1)[0])
    assert pkt == frame and meta.flow_id == 13
    h2 = driver.modify_flow(h, deliver_port=2, ts_mode="none")
    assert h2 == h
    taps[0].send(frame)
    assert taps[2].recv(1) == [frame]
    h3 = driver.modify_flow(h, dport=5006)                 # a new tuple: a new entry
    assert h3 != h and [f["dport"] for f in driver.list_flows()] == [5006]
    driver.remove_flow(h3)
    assert driver.list_flows() == []
    with pytest.raises(NicConfigError, match="flow id"):
        driver.add_flow(Flow(src=A, dst=B, proto=17, sport=1, dport=2, flow_id=1))
        driver.add_flow(Flow(src=A, dst=B, proto=17, sport=1, dport=3, flow_id=1))


def test_rtp_ports_mark_rtp_in_the_descriptor(driver: NicDriver, taps) -> None:
    driver.add_flow(Flow(src=A, dst=B, proto="udp", sport=5000, dport=5004, flow_id=14,
                         ts_mode="in_packet"))
    driver.add_rtp_port(5004)
    rtp = raw(eth() / IP(src=A, dst=B) / UDP(sport=5000, dport=5004)
              / (b"\x80\x60\x00\x01" + bytes(8) + b"payload"))
    taps[0].send(rtp)
    meta, _ = parse_rx_meta(taps[3].recv(1)[0])
    assert meta.rtp and meta.ts_valid


def test_clock_probes_map_nic_time_to_wall_time(driver: NicDriver) -> None:
    assert driver.clock.calibrated and driver.clock.resolution == 1e-6
    s1 = driver.clock.probe()
    s2 = driver.clock.probe()
    assert s2.nic_us > s1.nic_us > 0
    m = driver.clock.refit()
    assert m.samples >= 2 and m.rate == 1.0   # a short span: the nominal rate
    # a probe's NIC time maps back inside its own round trip (plus the fit's error)
    assert s2.wall_send - 0.5 <= driver.clock.to_wall(s2.nic_us) <= s2.wall_recv + 0.5
    assert driver.clock.to_wall(s2.nic_us) == m.to_wall(s2.nic_us)


def test_capture_triggers_in_both_directions(driver: NicDriver, taps) -> None:
    from p4nic.records import parse_capture
    h = driver.add_capture_trigger(CaptureTrigger(capture_id=5, snaplen=64, direction="rx",
                                                  dport=80, payload_head=b"GET "))
    driver.add_capture_trigger(CaptureTrigger(capture_id=6, snaplen=1500, direction="tx"))
    get = tcp(payload=b"GET / HTTP/1.1\r\n" + b"h" * 80)
    post = tcp(payload=b"POST / HTTP/1.1\r\n")
    taps[0].send(get)
    taps[0].send(post)                                     # no capture: payload differs
    out = tcp(sport=80, dport=1234)
    taps[2].send(out)
    caps = [parse_capture(c) for c in taps[6].recv(2)]
    assert sorted((r.capture_id, r.direction_name, r.port, r.orig_len, r.snaplen, len(f))
                  for r, f in caps) == [(5, "rx", 0, len(get), 64, 64),
                                        (6, "tx", 2, len(out), 1500, len(out))]
    assert taps[2].recv(2)[0] == get                       # the originals go on untouched
    assert taps[6].drain() == []
    assert [info["capture_id"] for _, info in driver.list_capture_triggers()] in ([5, 6], [6, 5])
    driver.remove_capture_trigger(h)
    assert [info["capture_id"] for _, info in driver.list_capture_triggers()] == [6]


def test_clear_all_removes_everything_and_setup_runs_again(driver: NicDriver, taps) -> None:
    from .conftest import PORTS
    driver.add_flow(Flow(src=A, dst=B, proto=6, sport=1, dport=2, flow_id=1))
    driver.add_esp_flow(dst=B, spi=5, flow_id=2)
    driver.add_sa(SecurityAssociation(dst=B, spi=5, key_index=1))
    driver.add_capture_trigger(CaptureTrigger(capture_id=1))
    driver.add_rtp_port(5004)
    driver.clear_all()
    assert driver.list_flows() == [] and driver.list_sas() == []
    assert driver.list_capture_triggers() == [] and driver.entries() == []
    # the PSH digest, batched by time, stays configured (PI's digest manager corrupts its
    # heap when such a digest is deleted and configured again); the key requests go
    configured = []
    for name in (n.DIGEST_PSH, n.DIGEST_KEY_REQUEST, n.DIGEST_KEY_REQUEST_V6):
        ent = digest_entity(driver._schema().digest(name).preamble.id, max_list_size=0)
        try:
            configured += [name] if driver.client.read([ent], f"read {name}") else []
        except P4RuntimeError as e:     # (pybm: in the details; PI: the status itself)
            assert e.codes == [code_pb2.NOT_FOUND] or e.code == grpc.StatusCode.NOT_FOUND, e
    assert configured == [n.DIGEST_PSH]
    taps[0].send(tcp())
    assert taps[2].drain() == []                           # no port roles any more
    assert driver.drop_counters()["port_unconfigured"][0] == 1
    driver.setup(PORTS, nic_macs=[NIC_MAC])
    taps[0].send(tcp())
    assert taps[2].recv(1) == [tcp()]


def test_a_second_controller_does_not_take_over(driver: NicDriver, lab) -> None:
    other = NicDriver(grpc_addr=lab.grpc_addr, election_id=1)
    try:
        with pytest.raises(P4RuntimeError):
            other.connect(timeout=5)
    finally:
        other.close()
    assert driver.is_primary
    driver.add_rtp_port(1)                                 # still programs the NIC


def test_callbacks_run_off_the_stream_thread(driver: NicDriver, taps) -> None:
    # a slow callback must not hold up packet-ins (the clock) or other digests
    release = threading.Event()
    seen: queue.Queue = queue.Queue()

    def slow(flow_id: int, seq: int, ts: int) -> None:
        seen.put(seq)
        release.wait(10)

    driver.on_psh(slow)
    driver.add_flow(Flow(src=A, dst=B, proto=6, sport=1234, dport=80, flow_id=4))
    taps[0].send(tcp(flags="PA", seq=1))
    assert seen.get(timeout=10) == 1
    driver.clock.probe()                                   # answered while slow() blocks
    release.set()


def test_network_properties_from_the_nic_timestamp_records(driver: NicDriver, taps) -> None:
    from p4nic.netmon import arrivals_from_frames, assess
    driver.add_flow(Flow(src=A, dst=B, proto="udp", sport=5000, dport=5004, flow_id=15,
                         ts_mode="record"))
    frames = [raw(eth() / IP(src=A, dst=B) / UDP(sport=5000, dport=5004) / bytes(100))
              for _ in range(5)]
    for f in frames:
        taps[0].send(f)
    records = taps[5].recv(5)
    flows = arrivals_from_frames(records)
    assert list(flows) == [15]
    gaps = [parse_ts_record(r).gap_us for r in records][1:]
    props, sel = assess(flows[15])
    assert props.packets == 5 and flows[15].sizes == [len(frames[0])] * 5
    # the host's dispersions are the NIC's own per-flow gaps
    assert props.mean_dispersion_us == sum(gaps) / len(gaps)
    assert props.capacity_bps == 8 * len(frames[0]) / (props.mean_dispersion_us * 1e-6)
    assert sel.protocol in ("reno", "cubic", "bbr")
