"""Flow association (seed 001): flow tuples, states, connection control, PSH, NIC ACKs,
zero-copy placement, per-entry counters.

Frames of a flow arrive on a wire port; depending on the flow's state they go to the
host stack (miss, IDLE, SYN/FIN/RST), the flow's consumer queue (MONITOR) or become
placement records (ZERO_COPY). NIC-generated TCP ACKs leave on the wire port the
segment came in on and are compared byte for byte with an ACK scapy builds (and whose
checksums scapy recomputes).
"""

from __future__ import annotations

from base_test import (
    CONSUMER,
    HOST_STACK,
    NIC_IP,
    NIC_IP6,
    PEER_IP,
    PEER_IP6,
    PLACEMENT,
    ROUTER_ALERT,
    RX_META_TS,
    RXF_FLOW_HIT,
    RXF_KEY_VALID,
    RXF_NO_KEY,
    RXF_TS_VALID,
    SESSION,
    TCP_OPTIONS,
    WIRE0,
    WIRE1,
    P4nicTest,
    esp4,
    expected_nic_ack,
    field,
    payload,
    placement_bytes,
    rx_meta_bytes,
    scapy_checksums_ok,
    tcp4,
    tcp6,
    udp4,
    udp6,
)
from p4nic.driver import Flow, SecurityAssociation

SPORT, DPORT = 40000, 80


def v4flow(fid: int, **kw) -> Flow:
    args = {"src": PEER_IP, "dst": NIC_IP, "proto": 6, "sport": SPORT, "dport": DPORT,
            "flow_id": fid}
    args.update(kw)
    return Flow(**args)


class FlowTest(P4nicTest):
    def expect_ack(self, port: int, segment: bytes, what: str = "NIC ACK",
                   ack_no: int | None = None) -> bytes:
        ack = self.expect(port, expected_nic_ack(segment, ack_no), what=what)
        self.assertTrue(scapy_checksums_ok(ack), f"{what}: scapy rejects its checksums")
        return ack


class MissGoesToHostStackUnchanged(FlowTest):
    """A flow tuple matches only on all five fields: changing any one (source, destination,
    protocol, source port, destination port) is a miss that reaches the host stack
    unchanged; IPv4 and IPv6. Only the hits count in the entry's counters."""

    def runTest(self):
        f4 = self.drv.add_flow(v4flow(self.new_flow_id()))
        f6 = self.drv.add_flow(Flow(src=PEER_IP6, dst=NIC_IP6, proto=6, sport=SPORT,
                                    dport=DPORT, flow_id=self.new_flow_id()))
        hit4 = tcp4(sport=SPORT, dport=DPORT, data=b"hit v4")
        hit6 = tcp6(sport=SPORT, dport=DPORT, data=b"hit v6")
        misses = [
            tcp4(src="10.0.0.3", sport=SPORT, dport=DPORT, data=b"src"),
            tcp4(dst="10.0.0.4", sport=SPORT, dport=DPORT, data=b"dst"),
            udp4(sport=SPORT, dport=DPORT, data=b"proto"),
            tcp4(sport=SPORT + 1, dport=DPORT, data=b"sport"),
            tcp4(sport=SPORT, dport=DPORT + 1, data=b"dport"),
            tcp4(src=NIC_IP, dst=PEER_IP, sport=DPORT, dport=SPORT, data=b"reverse"),
            tcp6(src="2001:db8::3", sport=SPORT, dport=DPORT, data=b"src6"),
            tcp6(dst="2001:db8::4", sport=SPORT, dport=DPORT, data=b"dst6"),
            udp6(sport=SPORT, dport=DPORT, data=b"proto6"),
            tcp6(sport=SPORT + 1, dport=DPORT, data=b"sport6"),
            tcp6(sport=SPORT, dport=DPORT + 1, data=b"dport6"),
        ]
        for m in misses:
            self.send(WIRE0, m)
            self.expect_unchanged(HOST_STACK, m, what="miss")
        self.send(WIRE0, hit4)
        self.expect_unchanged(CONSUMER, hit4, what="IPv4 hit")
        self.send(WIRE1, hit6)
        self.expect_unchanged(CONSUMER, hit6, what="IPv6 hit")
        self.no_other_packets()
        self.assertEqual(self.wait_flow_counters(f4, 1), (1, len(hit4)))
        self.assertEqual(self.wait_flow_counters(f6, 1), (1, len(hit6)))


class MonitorFlowsToConsumer(FlowTest):
    """MONITOR flows (IPv4/IPv6, TCP/UDP, no timestamps) go to the consumer port
    unchanged; an explicit deliver_port is honoured; per-entry packet/byte counters."""

    def runTest(self):
        flows = [
            (v4flow(self.new_flow_id(), sport=1), [tcp4(sport=1, data=payload(n)) for n in (1, 100, 700)]),
            (v4flow(self.new_flow_id(), proto=17, sport=2, dport=9),
             [udp4(sport=2, dport=9, data=payload(n)) for n in (10, 20)]),
            (Flow(src=PEER_IP6, dst=NIC_IP6, proto=6, sport=3, dport=DPORT,
                  flow_id=self.new_flow_id()), [tcp6(sport=3, data=b"six")]),
            (Flow(src=PEER_IP6, dst=NIC_IP6, proto=17, sport=4, dport=9,
                  flow_id=self.new_flow_id(), deliver_port=HOST_STACK),
             [udp6(sport=4, dport=9, data=b"to the host stack port by choice")]),
        ]
        for flow, frames in flows:
            h = self.drv.add_flow(flow)
            out = CONSUMER if flow.deliver_port is None else flow.deliver_port
            for f in frames:
                self.send(WIRE0, f)
                self.expect_unchanged(out, f)
            self.assertEqual(self.wait_flow_counters(h, len(frames)),
                             (len(frames), sum(len(f) for f in frames)))
        self.no_other_packets()


class IdleFlowStaysWithHostStack(FlowTest):
    """An IDLE flow is known but the host stack owns it: frames go there unchanged (even
    when the entry names a consumer port), no NIC ACK (even with ack_every=1), no PSH
    digest; the entry still counts them."""

    def runTest(self):
        fid = self.new_flow_id()
        h = self.drv.add_flow(v4flow(fid, state="IDLE", ack_every=1, deliver_port=CONSUMER))
        frames = [tcp4(seq=100, data=b"idle one"), tcp4(seq=108, flags="PA", data=b"idle psh")]
        for f in frames:
            self.send(WIRE0, f)
            self.expect_unchanged(HOST_STACK, f)
        self.no_other_packets()
        self.assertEqual(self.wait_flow_counters(h, 2), (2, sum(map(len, frames))))
        # barrier: a PSH on a MONITOR flow must be the first digest
        bid = self.new_flow_id()
        self.drv.add_flow(v4flow(bid, sport=SPORT + 1))
        barrier = tcp4(sport=SPORT + 1, seq=777, flags="PA", data=b"barrier")
        self.send(WIRE0, barrier)
        self.expect_unchanged(CONSUMER, barrier)
        d = self.next_digest("psh_notify_t")
        self.assertEqual((d["flow_id"], d["seq_no"]), (bid, 777))


class FlowStateTransitions(FlowTest):
    """modify_flow moves a flow IDLE -> MONITOR -> ZERO_COPY -> IDLE, and remove_flow
    makes it a miss; each frame goes where the state at its arrival says."""

    def runTest(self):
        fid = self.new_flow_id()
        base, start = 0x10000, 5000
        h = self.drv.add_flow(v4flow(fid, state="IDLE", buf_base=base, buf_size=4096,
                                     start_seq=start))
        seg = tcp4(seq=start + 10, data=b"state machine")
        self.send(WIRE0, seg)
        self.expect_unchanged(HOST_STACK, seg, what="IDLE")
        h = self.drv.modify_flow(h, state="MONITOR")
        self.send(WIRE0, seg)
        self.expect_unchanged(CONSUMER, seg, what="MONITOR")
        h = self.drv.modify_flow(h, state="ZERO_COPY")
        self.send(WIRE0, seg)
        self.expect(PLACEMENT, placement_bytes(fid, base + 10, start + 10, 13) + b"state machine",
                    what="ZERO_COPY")
        h = self.drv.modify_flow(h, state="IDLE")
        self.send(WIRE0, seg)
        self.expect_unchanged(HOST_STACK, seg, what="IDLE again")
        self.drv.remove_flow(h)
        self.send(WIRE0, seg)
        self.expect_unchanged(HOST_STACK, seg, what="removed")
        # a removed tuple can be installed again, with another handling
        self.drv.add_flow(v4flow(self.new_flow_id(), deliver_port=CONSUMER))
        self.send(WIRE0, seg)
        self.expect_unchanged(CONSUMER, seg, what="re-added")
        self.no_other_packets()


class ConnectionControlToHostStack(FlowTest):
    """SYN, FIN and RST segments of a MONITOR flow go to the host stack unchanged, are
    not acknowledged by the NIC and do not advance its ACK count; data goes on to the
    consumer and is ACKed."""

    def runTest(self):
        self.drv.add_flow(v4flow(self.new_flow_id(), ack_every=2))
        control = [tcp4(flags=f, seq=1000 + i, data=b"")
                   for i, f in enumerate(("S", "SA", "FA", "R", "RA", "F", "SP"))]
        for c in control:
            self.send(WIRE0, c)
            self.expect_unchanged(HOST_STACK, c, what="connection control")
        self.no_other_packets()
        d1 = tcp4(seq=2000, data=b"first")
        self.send(WIRE0, d1)
        self.expect_unchanged(CONSUMER, d1)
        self.no_packet_on(WIRE0)          # one data segment: no ACK yet
        d2 = tcp4(seq=2005, data=b"second")
        self.send(WIRE0, d2)
        self.expect_unchanged(CONSUMER, d2)
        self.expect_ack(WIRE0, d2)
        self.no_other_packets()


class PshRaisesDigest(FlowTest):
    """PSH on a MONITOR flow: the frame is delivered and a psh_notify_t digest carries
    the flow id, the sequence number and the arrival timestamp (the same one as in the
    rx descriptor); on_psh callbacks see it. No digest for segments without PSH, for a
    PSH on a miss or for SYN|PSH."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_flow(v4flow(fid, ts_mode="in_packet"))
        plain = tcp4(seq=1000, flags="A", data=b"no push")
        push = tcp4(seq=2000, flags="PA", data=b"push!")
        self.send(WIRE0, plain)
        self.expect(CONSUMER, rx_meta_bytes(RXF_FLOW_HIT | RXF_TS_VALID, fid, WIRE0, 1,
                                            len(plain)) + plain,
                    dont_care=[RX_META_TS, (20, 4)])
        self.send(WIRE0, push)
        got = self.expect(CONSUMER, rx_meta_bytes(RXF_FLOW_HIT | RXF_TS_VALID, fid, WIRE0, 2,
                                                  len(plain) + len(push)) + push,
                          dont_care=[RX_META_TS, (20, 4)])
        d = self.next_digest("psh_notify_t")
        self.assertEqual(d, {"flow_id": fid, "seq_no": 2000,
                             "arrival_ts": field(got, RX_META_TS)})
        self.assertEqual(self.next_event(SESSION.psh, "on_psh callback"),
                         (fid, 2000, field(got, RX_META_TS)))
        miss = tcp4(sport=SPORT + 5, seq=3000, flags="PA", data=b"miss")
        self.send(WIRE0, miss)
        self.expect_unchanged(HOST_STACK, miss)
        syn_psh = tcp4(seq=4000, flags="SP", data=b"")
        self.send(WIRE0, syn_psh)
        self.expect(HOST_STACK, rx_meta_bytes(RXF_FLOW_HIT | RXF_TS_VALID, fid, WIRE0, 3,
                                              len(plain) + len(push) + len(syn_psh)) + syn_psh,
                    dont_care=[RX_META_TS, (20, 4)])
        barrier = tcp4(seq=5000, flags="PA", data=b"barrier")
        self.send(WIRE0, barrier)
        self.expect(CONSUMER, rx_meta_bytes(RXF_FLOW_HIT | RXF_TS_VALID, fid, WIRE0, 4,
                                            len(plain) + len(push) + len(syn_psh)
                                            + len(barrier)) + barrier,
                    dont_care=[RX_META_TS, (20, 4)])
        d = self.next_digest("psh_notify_t")
        self.assertEqual((d["flow_id"], d["seq_no"]), (fid, 5000),
                         "a digest came for a miss or a SYN")
        self.no_other_packets()


class NicAckEveryTwoSegments(FlowTest):
    """ack_every=2: after every second data segment the NIC sends the ACK on the wire
    port (ack = seq + payload length of that segment, the stream being in order), and
    the count starts again; the segments themselves reach the consumer unchanged. The
    stream's sequence numbers wrap past 2^32; pure ACKs of the peer neither count nor
    get acknowledged."""

    def runTest(self):
        self.drv.add_flow(v4flow(self.new_flow_id(), ack_every=2))
        seq = (1 << 32) - 1500
        for i, n in enumerate((10, 300, 1, 1200, 64, 0x30)):
            seg = tcp4(seq=seq, ack=0x12345678, data=payload(n, seed=i))
            seq = (seq + n) & 0xFFFFFFFF
            self.send(WIRE0, seg)
            self.expect_unchanged(CONSUMER, seg)
            if i % 2 == 1:
                ack = self.expect_ack(WIRE0, seg, what=f"ACK after segment {i + 1}")
                if i == 5:
                    self.assertEqual(int.from_bytes(ack[42:46], "big"), 1623 - 1500, "ack wrapped")
            else:
                self.no_packet_on(WIRE0)
            pure = tcp4(seq=seq, ack=0x12345678, data=b"")
            self.send(WIRE0, pure)
            self.expect_unchanged(CONSUMER, pure)
            self.no_packet_on(WIRE0)
        self.no_other_packets()


class NicAckIsCumulative(FlowTest):
    """The NIC acknowledges only data that arrived in order: with a segment missing it
    repeats the ACK for the data before the hole (zero copy still places the later
    segments); when the late segment arrives the ACK covers it, and the sender's
    retransmissions of the later ones move it on. An old duplicate does not move it
    back. A zero-copy flow counts from its start sequence number."""

    def runTest(self):
        fid = self.new_flow_id()
        base, start = 0x5000, 77000
        self.drv.add_flow(v4flow(fid, state="ZERO_COPY", buf_base=base, buf_size=4096,
                                 start_seq=start, ack_every=1))
        stream = payload(400, seed=5)

        def segment(off: int, expect_ack: int) -> None:
            data = stream[off:off + 100]
            seg = tcp4(seq=start + off, ack=4242, data=data)
            self.send(WIRE0, seg)
            self.expect(PLACEMENT, placement_bytes(fid, base + off, start + off, 100) + data,
                        what=f"placement at {off}")
            self.expect_ack(WIRE0, seg, ack_no=start + expect_ack,
                            what=f"ACK for the segment at {off}")

        segment(0, 100)
        segment(200, 100)       # 100..200 missing: the ACK stays at 100
        segment(300, 100)
        segment(100, 200)       # the hole filled: everything up to 200 is in
        segment(200, 300)       # retransmissions of what the NIC had placed
        segment(300, 400)
        segment(0, 400)         # an old duplicate
        # a flow whose first segment the NIC ever sees is beyond its start: nothing in
        # order yet, the ACK says start
        fid2 = self.new_flow_id()
        self.drv.add_flow(v4flow(fid2, sport=SPORT + 9, state="ZERO_COPY", buf_base=base,
                                 buf_size=4096, start_seq=start, ack_every=1))
        late = tcp4(sport=SPORT + 9, seq=start + 100, ack=1, data=stream[100:200])
        self.send(WIRE0, late)
        self.expect(PLACEMENT, placement_bytes(fid2, base + 100, start + 100, 100)
                    + stream[100:200])
        self.expect_ack(WIRE0, late, ack_no=start)
        self.no_other_packets()


class NicAckEveryThreeIpv6(FlowTest):
    """ack_every=3 on an IPv6 flow: ACKs after segments 3 and 6, IPv6 TCP checksum
    (pseudo header with IPv6 addresses) accepted by scapy."""

    def runTest(self):
        self.drv.add_flow(Flow(src=PEER_IP6, dst=NIC_IP6, proto=6, sport=SPORT, dport=DPORT,
                               flow_id=self.new_flow_id(), ack_every=3))
        seq = 70000
        for i in range(6):
            seg = tcp6(seq=seq, ack=99, data=payload(20 + i, seed=i))
            seq += 20 + i
            self.send(WIRE0, seg)
            self.expect_unchanged(CONSUMER, seg)
            if i in (2, 5):
                self.expect_ack(WIRE0, seg, what=f"IPv6 ACK after segment {i + 1}")
            else:
                self.no_packet_on(WIRE0)
        self.no_other_packets()


class NicAckStripsOptionsKeepsTags(FlowTest):
    """A segment with an 802.1Q tag, IPv4 options and TCP options (and Ethernet padding
    after a 1-byte payload): the ACK keeps the tag, has IHL 5 and data offset 5, carries
    no payload or padding, and ack = seq + 1 (the payload length from the IP and TCP
    header lengths, not the frame length)."""

    def runTest(self):
        self.drv.add_flow(v4flow(self.new_flow_id(), ack_every=1))
        seg = tcp4(seq=424242, ack=31337, data=b"!", vlans=[99], ip_options=[ROUTER_ALERT],
                   options=TCP_OPTIONS)
        self.send(WIRE0, seg)
        self.expect_unchanged(CONSUMER, seg)
        ack = self.expect_ack(WIRE0, seg)
        self.assertEqual(len(ack), 14 + 4 + 20 + 20)
        self.assertEqual(int.from_bytes(ack[46:50], "big"), 424243)   # behind the tag
        self.no_other_packets()


class NicAckLeavesOnArrivalPort(FlowTest):
    """The ACK goes back out of the wire port the segment arrived on (port 1 here), and
    two flows keep separate ACK counts."""

    def runTest(self):
        self.drv.add_flow(v4flow(self.new_flow_id(), ack_every=2))
        self.drv.add_flow(v4flow(self.new_flow_id(), sport=SPORT + 1, ack_every=2))
        a1 = tcp4(seq=1, data=b"a1")
        b1 = tcp4(sport=SPORT + 1, seq=1, data=b"b1")
        a2 = tcp4(seq=3, data=b"a2")
        b2 = tcp4(sport=SPORT + 1, seq=3, data=b"b2")
        for f in (a1, b1):
            self.send(WIRE1, f)
            self.expect_unchanged(CONSUMER, f)
        self.no_other_packets()            # one segment per flow: no ACK yet
        self.send(WIRE1, a2)
        self.expect_unchanged(CONSUMER, a2)
        self.expect_ack(WIRE1, a2)
        self.send(WIRE0, b2)
        self.expect_unchanged(CONSUMER, b2)
        self.expect_ack(WIRE0, b2)
        self.no_other_packets()


class ZeroCopyPlacesBySequenceNumber(FlowTest):
    """ZERO_COPY: each segment becomes a placement record (flow id, address = buffer base
    + (seq - start seq), seq, length) followed by exactly its payload (no Ethernet
    padding); the records rebuild the byte stream."""

    def runTest(self):
        fid = self.new_flow_id()
        base, start = 0x7F0000001000, 900000
        self.drv.add_flow(v4flow(fid, state="ZERO_COPY", buf_base=base, buf_size=8192,
                                 start_seq=start))
        stream = payload(1500, seed=3)
        buf = bytearray(8192)
        off = 0
        for n in (1, 499, 1000):                 # the 1-byte payload gets padded on the wire
            seg = tcp4(seq=start + off, data=stream[off:off + n])
            self.send(WIRE0, seg)
            got = self.expect(PLACEMENT, placement_bytes(fid, base + off, start + off, n)
                              + stream[off:off + n])
            addr = int.from_bytes(got[8:16], "big")
            buf[addr - base:addr - base + n] = got[24:]
            off += n
        self.assertEqual(bytes(buf[:1500]), stream)
        self.no_other_packets()


class ZeroCopyHoleAndReordering(FlowTest):
    """A missing segment leaves its hole in the buffer (later segments land at their own
    offsets); the late segment fills it; reordered segments land right too."""

    def runTest(self):
        fid = self.new_flow_id()
        base, start = 0x200000, 0xFFFFFF00          # the stream wraps past 2^32
        self.drv.add_flow(v4flow(fid, state="ZERO_COPY", buf_base=base, buf_size=1024,
                                 start_seq=start))
        stream = payload(400, seed=9)
        buf = bytearray(1024)

        def place(off: int, n: int) -> None:
            seq = (start + off) & 0xFFFFFFFF
            self.send(WIRE0, tcp4(seq=seq, data=stream[off:off + n]))
            got = self.expect(PLACEMENT, placement_bytes(fid, base + off, seq, n)
                              + stream[off:off + n], what=f"segment at offset {off}")
            buf[off:off + n] = got[24:]

        place(0, 100)
        place(200, 100)          # 100..200 missing
        place(300, 100)
        self.assertEqual(bytes(buf[100:200]), bytes(100), "the hole is left reserved")
        self.assertEqual(bytes(buf[200:400]), stream[200:400])
        place(100, 100)          # the late segment
        self.assertEqual(bytes(buf[:400]), stream)
        self.no_other_packets()


class ZeroCopyOutsideBufferToHostStack(FlowTest):
    """Segments the posted buffer cannot hold (before the start sequence number, or
    ending one byte past the buffer) and segments without payload go to the host stack
    unchanged; a segment ending exactly at the buffer's end is placed."""

    def runTest(self):
        fid = self.new_flow_id()
        base, start, size = 0x40000, 10000, 1000
        self.drv.add_flow(v4flow(fid, state="ZERO_COPY", buf_base=base, buf_size=size,
                                 start_seq=start))
        before = tcp4(seq=start - 50, data=payload(100))
        past = tcp4(seq=start + 901, data=payload(100))
        pure_ack = tcp4(seq=start, data=b"")
        for f in (before, past, pure_ack):
            self.send(WIRE0, f)
            self.expect_unchanged(HOST_STACK, f)
        last = payload(100, seed=1)
        self.send(WIRE0, tcp4(seq=start + 900, data=last))
        self.expect(PLACEMENT, placement_bytes(fid, base + 900, start + 900, 100) + last)
        self.no_other_packets()


class ZeroCopyWithNicAck(FlowTest):
    """ZERO_COPY and ack_every=2 together: placement records for every segment and an
    ACK after every second one (one received segment, two replicas)."""

    def runTest(self):
        fid = self.new_flow_id()
        base, start = 0x1000, 1
        self.drv.add_flow(v4flow(fid, state="ZERO_COPY", buf_base=base, buf_size=4096,
                                 start_seq=start, ack_every=2))
        off = 0
        for i in range(4):
            data = payload(50 + i, seed=i)
            seg = tcp4(seq=start + off, ack=777, data=data)
            self.send(WIRE0, seg)
            self.expect(PLACEMENT, placement_bytes(fid, base + off, start + off, len(data)) + data)
            if i % 2:
                self.expect_ack(WIRE0, seg)
            else:
                self.no_packet_on(WIRE0)
            off += len(data)
        self.no_other_packets()


class EspFlowAssociation(FlowTest):
    """ESP flows match (IPv4 destination, SPI): a hit goes to the consumer with an rx
    descriptor naming the flow and the key slot; another SPI or another destination (no
    ESP flow) goes to the host stack with the key slot only; the entry counts its
    packets."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_sa(SecurityAssociation(dst=NIC_IP, spi=0x100, key_index=11))
        self.drv.add_sa(SecurityAssociation(dst=NIC_IP, spi=0x101, key_index=12))
        h = self.drv.add_esp_flow(dst=NIC_IP, spi=0x100, flow_id=fid, state="MONITOR")
        hit = esp4(0x100, seq=1)
        self.send(WIRE0, hit)
        self.expect(CONSUMER, rx_meta_bytes(RXF_FLOW_HIT | RXF_KEY_VALID, fid, WIRE0, 1,
                                            len(hit), key_index=11) + hit,
                    dont_care=[RX_META_TS])
        other = esp4(0x101, seq=1)
        self.send(WIRE0, other)
        self.expect(HOST_STACK, rx_meta_bytes(RXF_KEY_VALID, 0, WIRE0, 0, 0, key_index=12) + other,
                    dont_care=[RX_META_TS])
        # the flow's SPI to another destination (whose SA exists): no flow, key only
        self.drv.add_sa(SecurityAssociation(dst="10.0.0.9", spi=0x100, key_index=13))
        other_dst = esp4(0x100, dst="10.0.0.9")
        self.send(WIRE0, other_dst)
        self.expect(HOST_STACK, rx_meta_bytes(RXF_KEY_VALID, 0, WIRE0, 0, 0, key_index=13)
                    + other_dst, dont_care=[RX_META_TS])
        # an SPI the NIC knows nothing about: host stack, no key
        unknown = esp4(0x102, dst=NIC_IP)
        self.send(WIRE0, unknown)
        self.expect(HOST_STACK, rx_meta_bytes(RXF_NO_KEY, 0, WIRE0, 0, 0) + unknown,
                    dont_care=[RX_META_TS])
        self.assertEqual(self.next_digest("key_request_t"),
                         {"spi": 0x102, "src": PEER_IP, "dst": NIC_IP})
        self.assertEqual(self.wait_flow_counters(h, 1), (1, len(hit)))
        self.no_other_packets()


class FlowCountersPerEntry(FlowTest):
    """Each flow entry has its own direct counter: packets and bytes of its hits only."""

    def runTest(self):
        ha = self.drv.add_flow(v4flow(self.new_flow_id(), sport=11))
        hb = self.drv.add_flow(v4flow(self.new_flow_id(), proto=17, sport=12, dport=13))
        a = [tcp4(sport=11, data=payload(n)) for n in (5, 50, 500)]
        b = [udp4(sport=12, dport=13, data=payload(n)) for n in (7, 77)]
        miss = tcp4(sport=14, data=b"miss")
        for f in a + b:
            self.send(WIRE0, f)
            self.expect_unchanged(CONSUMER, f)
        self.send(WIRE0, miss)
        self.expect_unchanged(HOST_STACK, miss)
        self.assertEqual(self.wait_flow_counters(ha, 3), (3, sum(map(len, a))))
        self.assertEqual(self.wait_flow_counters(hb, 2), (2, sum(map(len, b))))
        self.no_other_packets()


class ReusedFlowIdAcksAfresh(FlowTest):
    """The NIC's ACK bookkeeping (segments since the last ACK, next expected sequence
    number) belongs to the flow entry, not to the flow id: after a flow is removed and
    its id installed again for a new connection, the first ACK comes after ack_every
    segments of the new connection and acknowledges its own data."""

    def runTest(self):
        fid = self.new_flow_id()
        h = self.drv.add_flow(v4flow(fid, ack_every=2))
        old = tcp4(seq=5000, ack=1, data=payload(100, seed=1))
        self.send(WIRE0, old)   # one pending segment, rcv_next 5100
        self.expect_unchanged(CONSUMER, old)
        self.no_packet_on(WIRE0)
        self.drv.remove_flow(h)
        self.drv.add_flow(v4flow(fid, ack_every=2, sport=SPORT + 1))
        seq = 900000
        for i, n in enumerate((30, 70)):
            seg = tcp4(sport=SPORT + 1, seq=seq, ack=7, data=payload(n, seed=20 + i))
            seq += n
            self.send(WIRE0, seg)
            self.expect_unchanged(CONSUMER, seg)
            if i == 0:
                self.no_packet_on(WIRE0)   # a stale count would have ACKed here
            else:
                ack = self.expect_ack(WIRE0, seg, ack_no=seq)
                self.assertEqual(int.from_bytes(ack[42:46], "big"), 900100)
        self.no_other_packets()
