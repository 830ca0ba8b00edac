"""NIC arrival timestamps (seed 002).

The NIC stamps each packet of a flow with its clock (microseconds since the switch
started), keeps the flow's previous arrival and packet/byte totals, and delivers them
either in an rx descriptor in front of the packet (ts_mode "in_packet") or as a
separate 32-byte record on the records port (ts_mode "record") while the packet goes
on unchanged. Arrival timestamps and gaps are the only bytes the tests mask; they are
then checked for consistency: the first packet of a flow has gap 0, every later gap
is exactly the difference of the flow's consecutive timestamps, timestamps never
decrease, and the driver's clock probe lands between the packets around it.
"""

from __future__ import annotations

import time

from base_test import (
    CONSUMER,
    HOST_STACK,
    NIC_IP,
    PEER_IP,
    PLACEMENT,
    RECORDS,
    RX_META_GAP,
    RX_META_TS,
    RXF_FLOW_HIT,
    RXF_TS_VALID,
    TS_RECORD_GAP,
    TS_RECORD_LEN,
    TS_RECORD_TS,
    WIRE0,
    WIRE1,
    P4nicTest,
    expected_nic_ack,
    field,
    payload,
    placement_bytes,
    rx_meta_bytes,
    scapy_checksums_ok,
    tcp4,
    ts_record_bytes,
    udp4,
)
from p4nic import netprops
from p4nic.driver import Flow

MASK_RX = [RX_META_TS, RX_META_GAP]
MASK_REC = [TS_RECORD_TS, TS_RECORD_GAP]


def flow(fid: int, sport: int, **kw) -> Flow:
    args = {"src": PEER_IP, "dst": NIC_IP, "proto": 17, "sport": sport, "dport": 6000,
            "flow_id": fid}
    args.update(kw)
    return Flow(**args)


class TimestampTest(P4nicTest):
    def check_gaps(self, stamps: list[tuple[int, int]], what: str) -> None:
        """stamps: (arrival_ts, gap) of one flow's packets in arrival order."""
        self.assertEqual(stamps[0][1], 0, f"{what}: the first packet has no gap")
        self.assertGreater(stamps[0][0], 0, f"{what}: arrival timestamp")
        for (prev, _), (ts, gap) in zip(stamps, stamps[1:]):
            self.assertGreaterEqual(ts, prev, f"{what}: timestamps went backwards")
            self.assertEqual(gap, ts - prev, f"{what}: gap is not the timestamp difference")

    def rx(self, port: int, frame: bytes, fid: int, n: int, total: int,
           in_port: int = WIRE0) -> tuple[int, int]:
        got = self.expect(port, rx_meta_bytes(RXF_FLOW_HIT | RXF_TS_VALID, fid, in_port, n,
                                              total) + frame, dont_care=MASK_RX)
        return field(got, RX_META_TS), field(got, RX_META_GAP)

    def record(self, frame_len: int, fid: int, n: int, total: int) -> tuple[int, int]:
        got = self.expect(RECORDS, ts_record_bytes(fid, n, frame_len, n, total),
                          dont_care=MASK_REC, what=f"timestamp record {n}")
        self.assertEqual(len(got), TS_RECORD_LEN)
        return field(got, TS_RECORD_TS), field(got, TS_RECORD_GAP)


class InPacketDescriptor(TimestampTest):
    """ts_mode in_packet: every packet of the flow reaches the consumer behind an rx
    descriptor with its arrival time, the gap to the flow's previous packet, the
    arrival port and the flow's packet and byte totals so far."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_flow(flow(fid, 100, ts_mode="in_packet"))
        stamps = []
        total = 0
        for i, n in enumerate((0, 18, 100, 1400)):
            f = udp4(sport=100, data=payload(n, seed=i))
            total += len(f)
            self.send(WIRE1, f)
            stamps.append(self.rx(CONSUMER, f, fid, i + 1, total, in_port=WIRE1))
        self.check_gaps(stamps, "in-packet")
        self.no_other_packets()


class SeparateRecords(TimestampTest):
    """ts_mode record: the packet reaches the consumer unchanged and a 32-byte record
    (flow id, per-flow sequence, arrival time, frame length, gap, totals) leaves on the
    records port."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_flow(flow(fid, 200, ts_mode="record"))
        stamps = []
        total = 0
        for i, n in enumerate((5, 500, 50)):
            f = udp4(sport=200, data=payload(n, seed=i))
            total += len(f)
            self.send(WIRE0, f)
            self.expect_unchanged(CONSUMER, f)
            stamps.append(self.record(len(f), fid, i + 1, total))
        self.check_gaps(stamps, "records")
        self.no_other_packets()


class PerFlowTimingState(TimestampTest):
    """Two interleaved flows keep their own previous arrival and totals: each flow's gap
    is the difference of its own timestamps, not of the last packet's; the NIC clock
    orders all packets as they arrived."""

    def runTest(self):
        fa, fb = self.new_flow_id(), self.new_flow_id()
        self.drv.add_flow(flow(fa, 301, ts_mode="in_packet"))
        self.drv.add_flow(flow(fb, 302, ts_mode="record"))
        a_st, b_st, order = [], [], []
        a_tot = b_tot = 0
        for i in range(3):
            a = udp4(sport=301, data=payload(10 + i))
            a_tot += len(a)
            self.send(WIRE0, a)
            a_st.append(self.rx(CONSUMER, a, fa, i + 1, a_tot))
            order.append(a_st[-1][0])
            b = udp4(sport=302, data=payload(30 + i))
            b_tot += len(b)
            self.send(WIRE0, b)
            self.expect_unchanged(CONSUMER, b)
            b_st.append(self.record(len(b), fb, i + 1, b_tot))
            order.append(b_st[-1][0])
        self.check_gaps(a_st, "flow A")
        self.check_gaps(b_st, "flow B")
        self.assertEqual(order, sorted(order), "NIC timestamps out of arrival order")
        self.no_other_packets()


class NoTimestampsWithoutFlowOrMode(TimestampTest):
    """No descriptor and no record for a flow with ts_mode none, nor for a miss."""

    def runTest(self):
        self.drv.add_flow(flow(self.new_flow_id(), 400, ts_mode="none"))
        self.drv.add_flow(flow(self.new_flow_id(), 401, ts_mode="record"))
        plain = udp4(sport=400, data=b"no timestamps")
        miss = udp4(sport=402, data=b"no flow")
        self.send(WIRE0, plain)
        self.expect_unchanged(CONSUMER, plain)
        self.send(WIRE0, miss)
        self.expect_unchanged(HOST_STACK, miss)
        self.no_other_packets()


class TimestampsFollowTheFlowNotTheDelivery(TimestampTest):
    """Timing is per flow, whatever the delivery: an IDLE flow's packets go to the host
    stack, with a descriptor (in_packet) or a record (record); a SYN of a MONITOR flow
    goes to the host stack and still gets its record."""

    def runTest(self):
        fi, fr, fs = self.new_flow_id(), self.new_flow_id(), self.new_flow_id()
        self.drv.add_flow(flow(fi, 501, state="IDLE", ts_mode="in_packet"))
        self.drv.add_flow(flow(fr, 502, state="IDLE", ts_mode="record"))
        self.drv.add_flow(Flow(src=PEER_IP, dst=NIC_IP, proto=6, sport=503, dport=80,
                               flow_id=fs, ts_mode="record"))
        a = udp4(sport=501, data=b"idle in packet")
        self.send(WIRE0, a)
        self.rx(HOST_STACK, a, fi, 1, len(a))
        b = udp4(sport=502, data=b"idle record")
        self.send(WIRE0, b)
        self.expect_unchanged(HOST_STACK, b)
        self.record(len(b), fr, 1, len(b))
        syn = tcp4(sport=503, flags="S", data=b"")
        self.send(WIRE0, syn)
        self.expect_unchanged(HOST_STACK, syn)
        self.record(len(syn), fs, 1, len(syn))
        self.no_other_packets()


class RecordWithPlacementAndAck(TimestampTest):
    """One ZERO_COPY segment with ts_mode record and ack_every=1 becomes three frames:
    the placement record, the timestamp record and the NIC ACK on the wire."""

    def runTest(self):
        fid = self.new_flow_id()
        base, start = 0xABC000, 10
        self.drv.add_flow(Flow(src=PEER_IP, dst=NIC_IP, proto=6, sport=600, dport=80,
                               flow_id=fid, state="ZERO_COPY", ts_mode="record",
                               ack_every=1, buf_base=base, buf_size=1 << 16, start_seq=start))
        total = 0
        stamps = []
        for i, n in enumerate((64, 32)):
            data = payload(n, seed=i)
            seq = start + 64 * i
            seg = tcp4(sport=600, seq=seq, ack=1, data=data)
            total += len(seg)
            self.send(WIRE0, seg)
            self.expect(PLACEMENT, placement_bytes(fid, base + 64 * i, seq, n) + data)
            stamps.append(self.record(len(seg), fid, i + 1, total))
            ack = self.expect(WIRE0, expected_nic_ack(seg), what="NIC ACK")
            self.assertTrue(scapy_checksums_ok(ack))
        self.check_gaps(stamps, "zero-copy records")
        self.no_other_packets()


class CapacityFromNicGaps(TimestampTest):
    """The host's network-property estimator fed with the NIC's records: dispersions
    equal the NIC-reported gaps, the path capacity is bits per mean gap (seed 002's
    177.8 Mbit/s arithmetic), the record sequence shows no loss."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_flow(flow(fid, 700, ts_mode="record"))
        frames = [udp4(sport=700, data=payload(58, seed=i)) for i in range(6)]   # 100 bytes
        size = len(frames[0])
        self.assertEqual(size, 100)
        for f in frames:                     # a burst: all sent before reading anything
            self.send(WIRE0, f)
        arrivals, gaps, seqs = [], [], []
        for i, f in enumerate(frames):
            self.expect_unchanged(CONSUMER, f)
            got = self.expect(RECORDS, ts_record_bytes(fid, i + 1, size, i + 1, size * (i + 1)),
                              dont_care=MASK_REC)
            arrivals.append(field(got, TS_RECORD_TS))
            gaps.append(field(got, TS_RECORD_GAP))
            seqs.append(int.from_bytes(got[8:12], "big"))
        self.assertEqual(netprops.dispersions(arrivals), gaps[1:])
        self.assertEqual(netprops.loss_rate(seqs), 0.0)
        if sum(gaps[1:]) == 0:
            # all six in one microsecond: beyond the clock's resolution, and the
            # estimator must say so rather than divide by zero
            with self.assertRaises(ValueError):
                netprops.path_capacity_bps(arrivals, size)
        else:
            props = netprops.estimate(arrivals, size, seqs=seqs)
            mean_gap = sum(gaps[1:]) / len(gaps[1:])
            self.assertAlmostEqual(props.mean_dispersion_us, mean_gap)
            self.assertAlmostEqual(props.capacity_bps, 800 / (mean_gap * 1e-6))
            self.assertEqual(props.packets, 6)
        self.no_other_packets()


class ClockProbeBetweenPackets(TimestampTest):
    """The driver's NIC clock: a clock probe answered between two packets carries a NIC
    time between their arrival timestamps; the fitted mapping turns NIC time into wall
    time linearly (differences scale by the fitted rate) and places each packet within
    the window in which the test had it on the wire (widened by a generous margin for
    the calibration error: this checks the epoch of the mapping, not a duration)."""

    MARGIN_S = 1.0

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_flow(flow(fid, 800, ts_mode="in_packet"))
        clock = self.drv.clock
        self.assertTrue(clock.calibrated, "setup() calibrates the NIC clock")
        windows, stamps = [], []
        sample = None
        for i in range(2):
            f = udp4(sport=800, data=payload(20, seed=i))
            t0 = time.time()
            self.send(WIRE0, f)
            stamps.append(self.rx(CONSUMER, f, fid, i + 1, len(f) * (i + 1)))
            windows.append((t0, time.time()))
            if i == 0:
                sample = clock.probe()
        (ts1, _), (ts2, _) = stamps
        self.assertLessEqual(ts1, sample.nic_us)
        self.assertLessEqual(sample.nic_us, ts2)
        self.check_gaps(stamps, "clock")
        mapping = clock.refit()
        self.assertAlmostEqual(mapping.to_wall_us(ts2) - mapping.to_wall_us(ts1),
                               mapping.rate * (ts2 - ts1), delta=1)
        for (t0, t1), (ts, _) in zip(windows, stamps):
            wall = mapping.to_wall(ts)
            self.assertGreaterEqual(wall, t0 - self.MARGIN_S)
            self.assertLessEqual(wall, t1 + self.MARGIN_S)
        self.no_other_packets()


class ReplayedFramesCountTheirOwnLength(TimestampTest):
    """A frame the driver injects into the receive path (packet-out OUT_OP_INJECT_RX,
    the replay path) is timed like a received one: the record and the descriptor count
    the frame's own length, not the packet-out header in front of it, and name the port
    it stands for."""

    def runTest(self):
        fr, fi = self.new_flow_id(), self.new_flow_id()
        self.drv.add_flow(flow(fr, 900, ts_mode="record"))
        self.drv.add_flow(flow(fi, 901, ts_mode="in_packet"))
        a = udp4(sport=900, data=payload(33))
        self.drv.inject_rx(a, WIRE1)
        self.expect_unchanged(CONSUMER, a)
        self.record(len(a), fr, 1, len(a))
        b = udp4(sport=901, data=payload(44))
        self.drv.inject_rx(b, WIRE1)
        self.rx(CONSUMER, b, fi, 1, len(b), in_port=WIRE1)
        self.no_other_packets()


class ReusedFlowIdStartsAfresh(TimestampTest):
    """A flow id the driver installs again (here for another five-tuple) starts with
    fresh NIC state: gap 0 and totals counted from its own first packet, although the
    earlier flow left its arrival time and totals in the per-flow registers (the
    driver cannot reset registers over P4Runtime; the entry's generation tags them)."""

    def runTest(self):
        fid = self.new_flow_id()
        h = self.drv.add_flow(flow(fid, 300, ts_mode="in_packet"))
        total = 0
        for i in range(3):
            f = udp4(sport=300, data=payload(40, seed=i))
            total += len(f)
            self.send(WIRE0, f)
            self.rx(CONSUMER, f, fid, i + 1, total)
        self.drv.remove_flow(h)
        self.drv.add_flow(flow(fid, 301, ts_mode="in_packet"))
        stamps = []
        total = 0
        for i in range(2):
            f = udp4(sport=301, data=payload(80, seed=10 + i))
            total += len(f)
            self.send(WIRE0, f)
            stamps.append(self.rx(CONSUMER, f, fid, i + 1, total))
        self.check_gaps(stamps, "reused flow id")
        self.no_other_packets()
