"""In-NIC packet capture (seed 003).

Ternary triggers with priorities pick packets in both directions (rx: wire -> NIC,
tx: host ports -> wire) by direction, port, IPv4 addresses, protocol, L4 ports and the
first 8 payload bytes. The original continues untouched; a duplicate cut to the
trigger's snap length, behind a 20-byte capture header (capture id, direction, port,
NIC timestamp, original length, snap length), leaves on the capture port. The capture
agent turns that stream into pcapng; scapy and `tshark -r` read it back with the NIC
timestamps (mapped to wall-clock time by the driver's clock mapping) intact.
"""

from __future__ import annotations

import decimal
import os
import shutil
import subprocess

import ptf
from base_test import (
    CAPTURE,
    CAPTURE_LEN,
    CAPTURE_TS,
    CONSUMER,
    DIR_RX,
    DIR_TX,
    HOST_STACK,
    NIC_IP,
    PEER_IP,
    RECORDS,
    RX_META_GAP,
    RX_META_TS,
    RXF_FLOW_HIT,
    RXF_TS_VALID,
    WIRE0,
    WIRE1,
    P4nicTest,
    capture_bytes,
    expected_nic_ack,
    field,
    payload,
    rx_meta_bytes,
    tcp4,
    tcp6,
    udp4,
)
from p4nic.capture import CaptureAgent
from p4nic.driver import CaptureTrigger, Flow

FULL = 65535


class CaptureTest(P4nicTest):
    def expect_capture(self, frame: bytes, capture_id: int, direction: int, port: int,
                       snaplen: int = FULL, what: str = "capture copy") -> bytes:
        exp = capture_bytes(capture_id, direction, port, len(frame), snaplen) + frame[:snaplen]
        got = self.expect(CAPTURE, exp, dont_care=[CAPTURE_TS], what=what)
        self.assertGreater(field(got, CAPTURE_TS), 0, "capture timestamp")
        return got

    def rx_captured(self, frame: bytes, capture_id: int, snaplen: int = FULL,
                    port: int = WIRE0, out: int = HOST_STACK) -> bytes:
        """Send ``frame`` on ``port``: it must be delivered unchanged and captured."""
        self.send(port, frame)
        self.expect_unchanged(out, frame, what="original")
        return self.expect_capture(frame, capture_id, DIR_RX, port, snaplen)

    def rx_not_captured(self, frame: bytes, port: int = WIRE0, out: int = HOST_STACK) -> None:
        self.send(port, frame)
        self.expect_unchanged(out, frame, what="original")
        self.no_packet_on(CAPTURE)


class CaptureRxFullFrame(CaptureTest):
    """A received frame matching a trigger is delivered unchanged and its whole copy
    (snap length 65535) leaves on the capture port behind the capture header."""

    def runTest(self):
        self.drv.add_capture_trigger(CaptureTrigger(capture_id=1, src=PEER_IP))
        for f in (tcp4(data=payload(200)), udp4(data=b"udp"), udp4(data=payload(1400))):
            self.rx_captured(f, 1)
        self.no_other_packets()


class CaptureSnapLength(CaptureTest):
    """The copy is cut to the snap length (the header keeps the original length); a snap
    length beyond the frame keeps it whole; snap length 0 keeps the header only."""

    def runTest(self):
        frame = tcp4(data=payload(300))
        for cid, snaplen in ((11, 64), (12, 14), (13, 2000), (14, 0)):
            h = self.drv.add_capture_trigger(CaptureTrigger(capture_id=cid, snaplen=snaplen,
                                                            src=PEER_IP))
            got = self.rx_captured(frame, cid, snaplen)
            self.assertEqual(len(got), CAPTURE_LEN + min(snaplen, len(frame)))
            self.drv.remove_capture_trigger(h)
        self.no_other_packets()


class CaptureTxDirection(CaptureTest):
    """Frames the host sends (host-stack and consumer ports) leave on the wire unchanged
    and are captured with direction tx and the host port they came from."""

    def runTest(self):
        self.drv.add_capture_trigger(CaptureTrigger(capture_id=3, direction="tx", snaplen=100))
        for port in (HOST_STACK, CONSUMER):
            out = tcp4(src=NIC_IP, dst=PEER_IP, smac="02:00:00:00:00:01",
                       dmac="02:00:00:00:00:02", data=payload(150, seed=port))
            self.send(port, out)
            self.expect_unchanged(WIRE0, out, what="transmitted frame")
            self.expect_capture(out, 3, DIR_TX, port, 100)
        self.no_other_packets()


class CaptureDirectionFilter(CaptureTest):
    """An rx trigger ignores transmitted frames and a tx trigger ignores received ones."""

    def runTest(self):
        rx = self.drv.add_capture_trigger(CaptureTrigger(capture_id=4, direction="rx"))
        sent = tcp4(src=NIC_IP, dst=PEER_IP, data=b"going out")
        self.send(HOST_STACK, sent)
        self.expect_unchanged(WIRE0, sent)
        self.no_packet_on(CAPTURE)
        self.drv.remove_capture_trigger(rx)
        self.drv.add_capture_trigger(CaptureTrigger(capture_id=5, direction="tx"))
        self.rx_not_captured(tcp4(data=b"coming in"))
        self.send(CONSUMER, sent)
        self.expect_unchanged(WIRE0, sent)
        self.expect_capture(sent, 5, DIR_TX, CONSUMER)
        self.no_other_packets()


class CaptureTriggerPriorities(CaptureTest):
    """Overlapping triggers: the higher priority decides the capture id and snap length;
    removing it lets the lower one apply."""

    def runTest(self):
        self.drv.add_capture_trigger(CaptureTrigger(capture_id=21, snaplen=64, priority=10,
                                                    src="10.0.0.0/24"))
        high = self.drv.add_capture_trigger(CaptureTrigger(capture_id=22, snaplen=32,
                                                           priority=20, src=PEER_IP,
                                                           proto="udp"))
        u = udp4(data=payload(100))
        t = tcp4(data=payload(100))
        self.rx_captured(u, 22, 32)
        self.rx_captured(t, 21, 64)
        self.drv.remove_capture_trigger(high)
        self.rx_captured(u, 21, 64)
        self.no_other_packets()


class CaptureTriggerFields(CaptureTest):
    """A trigger on in_port, source prefix, destination, protocol, a masked source port
    and the destination port captures the frame matching all of them; changing any one
    field leaves the frame uncaptured (and delivered)."""

    def runTest(self):
        self.drv.add_capture_trigger(CaptureTrigger(
            capture_id=31, in_port=WIRE1, src="10.0.0.0/24", dst=NIC_IP, proto=17,
            sport=(0x1000, 0xF000), dport=53))
        match = udp4(sport=0x1234, dport=53, data=b"query")
        self.rx_captured(match, 31, port=WIRE1)
        self.rx_captured(udp4(src="10.0.0.77", sport=0x1FFF, dport=53, data=b"q2"), 31,
                         port=WIRE1)
        for what, frame, port in (
            ("in_port", match, WIRE0),
            ("src", udp4(src="10.0.1.2", sport=0x1234, dport=53, data=b"q"), WIRE1),
            ("dst", udp4(dst="10.0.0.5", sport=0x1234, dport=53, data=b"q"), WIRE1),
            ("proto", tcp4(sport=0x1234, dport=53, data=b"q"), WIRE1),
            ("sport", udp4(sport=0x2234, dport=53, data=b"q"), WIRE1),
            ("dport", udp4(sport=0x1234, dport=54, data=b"q"), WIRE1),
        ):
            with self.subTest(field=what):
                self.rx_not_captured(frame, port=port)
        self.no_other_packets()


class CapturePayloadHead(CaptureTest):
    """Triggers on the first 8 payload bytes: a prefix ('GET ') matches TCP and UDP
    payloads that start with it (and hold 8 bytes); other payloads, payloads shorter
    than 8 bytes and IPv6 frames with that payload under an IPv4-address trigger don't."""

    def runTest(self):
        self.drv.add_capture_trigger(CaptureTrigger(capture_id=41, payload_head=b"GET "))
        self.drv.add_capture_trigger(CaptureTrigger(
            capture_id=42, payload_head=(0x8000000000000000, 0xC000000000000000),
            src=PEER_IP, proto="udp", priority=5))               # RTP version 2
        self.rx_captured(tcp4(data=b"GET /index.html HTTP/1.1\r\n"), 41)
        self.rx_captured(udp4(data=b"GET something"), 41)
        self.rx_captured(udp4(data=b"\x80\x60" + payload(20)), 42)
        self.rx_not_captured(tcp4(data=b"POST /form HTTP/1.1"))
        self.rx_not_captured(tcp4(data=b"GET /"))                  # 5 payload bytes
        self.rx_not_captured(udp4(data=b"\x40\x60" + payload(20)))   # version 1
        self.rx_not_captured(tcp6(data=b"\x80\x60" + payload(20)))   # IPv6: src is 0
        self.no_other_packets()


class CaptureBeforeChecks(CaptureTest):
    """Capture comes before the receive checks: a frame with a bad IPv4 checksum or a
    foreign destination MAC is captured, then dropped (and counted); a frame entering an
    unconfigured port is dropped without capture."""

    def runTest(self):
        self.drv.add_capture_trigger(CaptureTrigger(capture_id=51, snaplen=40))
        bad = bytearray(udp4(data=payload(30)))
        bad[24] ^= 0xFF
        bad = bytes(bad)
        before = self.drops()
        self.send(WIRE0, bad)
        self.expect_capture(bad, 51, DIR_RX, WIRE0, 40)
        before = self.wait_drop(before, "ipv4_checksum", 1, len(bad))
        foreign = tcp4(dmac="02:00:00:00:00:99", data=b"not for us")
        self.send(WIRE1, foreign)
        self.expect_capture(foreign, 51, DIR_RX, WIRE1, 40)
        before = self.wait_drop(before, "dmac", 1, len(foreign))
        self.send(RECORDS, foreign)
        self.wait_drop(before, "port_unconfigured", 1, len(foreign))
        self.no_other_packets()


class CaptureLeavesFlowHandlingAlone(CaptureTest):
    """A captured segment of a flow with in-packet timestamps and ack_every=1: the
    consumer gets descriptor + segment, the NIC ACK goes out, and the capture copy is the
    segment as received (no descriptor) stamped with the same NIC arrival time."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_flow(Flow(src=PEER_IP, dst=NIC_IP, proto=6, sport=40000, dport=80,
                               flow_id=fid, ts_mode="in_packet", ack_every=1))
        self.drv.add_capture_trigger(CaptureTrigger(capture_id=61, proto=6))
        seg = tcp4(seq=100, data=payload(80))
        self.send(WIRE0, seg)
        got = self.expect(CONSUMER, rx_meta_bytes(RXF_FLOW_HIT | RXF_TS_VALID, fid, WIRE0, 1,
                                                  len(seg)) + seg,
                          dont_care=[RX_META_TS, RX_META_GAP])
        self.expect(WIRE0, expected_nic_ack(seg), what="NIC ACK")
        cap = self.expect_capture(seg, 61, DIR_RX, WIRE0)
        self.assertEqual(field(cap, CAPTURE_TS), field(got, RX_META_TS),
                         "capture and rx descriptor disagree on the arrival time")
        self.no_other_packets()


class CaptureReplayAndPacketOut(CaptureTest):
    """Packet-out: OUT_OP_INJECT_RX runs a frame through the receive path as if it came
    in on a wire port (delivered and captured as rx on that port, without the packet-out
    header); OUT_OP_TX sends a frame straight out of a port, uncaptured."""

    def runTest(self):
        self.drv.add_capture_trigger(CaptureTrigger(capture_id=71))
        frame = udp4(data=payload(90))
        self.drv.inject_rx(frame, WIRE1)
        self.expect_unchanged(HOST_STACK, frame, what="injected frame")
        self.expect_capture(frame, 71, DIR_RX, WIRE1)
        out = tcp4(src=NIC_IP, dst=PEER_IP, data=b"straight out")
        self.drv.send_tx(out, WIRE1)
        self.expect_unchanged(WIRE1, out, what="packet-out frame")
        self.no_other_packets()


class CaptureAgentPcapng(CaptureTest):
    """The capture agent reads the capture port and writes pcapng; scapy and `tshark -r`
    read it back: every packet with its captured bytes, original length, direction and
    the NIC timestamp mapped to wall-clock microseconds by the driver's mapping (the raw
    NIC timestamp is in the packet comment)."""

    def runTest(self):
        tshark = shutil.which("tshark")
        self.assertIsNotNone(tshark, "tshark is needed (make setup installs it)")
        iface = ptf.config["port_map"][(0, CAPTURE)]
        out_dir = self.params.get("artifacts") or "/tmp"
        path = os.path.join(out_dir, "capture-agent-test.pcapng")   # kept for inspection
        mapping = self.drv.clock.mapping
        agent = CaptureAgent(iface, path, clock=lambda: mapping)
        agent.start()
        expected = []
        try:
            self.drv.add_capture_trigger(CaptureTrigger(capture_id=81, direction="rx",
                                                        snaplen=64))
            self.drv.add_capture_trigger(CaptureTrigger(capture_id=82, direction="tx"))
            for f in (tcp4(data=payload(200)), udp4(data=b"short"),
                      tcp4(seq=9, data=payload(40))):
                self.send(WIRE0, f)
                self.expect_unchanged(HOST_STACK, f)
                cap = self.expect_capture(f, 81, DIR_RX, WIRE0, 64)
                expected.append((f[:64], len(f), field(cap, CAPTURE_TS), "rx"))
            for port in (HOST_STACK, CONSUMER):
                f = udp4(src=NIC_IP, dst=PEER_IP, data=payload(300, seed=port))
                self.send(port, f)
                self.expect_unchanged(WIRE0, f)
                cap = self.expect_capture(f, 82, DIR_TX, port)
                expected.append((f, len(f), field(cap, CAPTURE_TS), "tx"))
            self.assertTrue(agent.wait_written(len(expected), timeout=10),
                            f"the agent wrote {agent.stats.written} of {len(expected)}")
        finally:
            agent.stop()
        self.assertEqual(agent.stats.invalid, 0)
        self.no_other_packets()

        # scapy
        from scapy.utils import PcapNgReader
        with PcapNgReader(path) as reader:
            pkts = list(reader)
        self.assertEqual(len(pkts), len(expected))
        for p, (data, orig_len, nic_ts, direction) in zip(pkts, expected):
            self.assertEqual(bytes(p), data)
            self.assertEqual(p.wirelen, orig_len)
            self.assertEqual(p.direction, 1 if direction == "rx" else 2, "epb_flags direction")
            self.assertEqual(round(decimal.Decimal(p.time) * 1_000_000),
                             mapping.to_wall_us(nic_ts), "pcapng time != mapped NIC time")
            comments = [c.decode() if isinstance(c, bytes) else c
                        for c in (getattr(p, "comments", None) or [])]
            self.assertTrue(any(f"nic_ts={nic_ts} " in c for c in comments), comments)

        # tshark
        res = subprocess.run([tshark, "-r", path, "-T", "fields", "-E", "separator=|",
                              "-e", "frame.time_epoch", "-e", "frame.len", "-e",
                              "frame.cap_len", "-e", "frame.packet_flags_direction",
                              "-e", "ip.src", "-e", "frame.comment"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr)
        rows = [line.split("|") for line in res.stdout.splitlines() if line.strip()]
        self.assertEqual(len(rows), len(expected), res.stdout)
        for row, (data, orig_len, nic_ts, direction) in zip(rows, expected):
            epoch, flen, caplen, pdir, ip_src, comment = row
            self.assertEqual(round(decimal.Decimal(epoch) * 1_000_000),
                             mapping.to_wall_us(nic_ts), f"tshark time {epoch}")
            self.assertEqual((int(flen), int(caplen)), (orig_len, len(data)))
            self.assertEqual(int(pdir, 0), 1 if direction == "rx" else 2)
            self.assertEqual(ip_src, PEER_IP if direction == "rx" else NIC_IP)
            self.assertIn(f"nic_ts={nic_ts} ", comment)


class OneQueueSwitchConfiguration(CaptureTest):
    """The NIC programmed for a switch with one egress queue per port (simple_switch_grpc
    without --priority-queues): regular traffic then leaves at priority 0, which such a
    switch accepts, and every delivery — plain, NIC ACK, timestamp record, capture copy
    — still happens. (With more queues regular traffic uses the top one; the same
    program runs on either.)"""

    def runTest(self):
        import dataclasses

        from base_test import NIC_MAC, PORTS, TS_RECORD_GAP, TS_RECORD_TS, ts_record_bytes
        one_queue = dataclasses.replace(PORTS, priority_queues=1)
        self.drv.setup(one_queue, nic_macs=[NIC_MAC], promiscuous=False)
        fid = self.new_flow_id()
        self.drv.add_flow(Flow(src=PEER_IP, dst=NIC_IP, proto=6, sport=40000, dport=80,
                               flow_id=fid, ack_every=1, ts_mode="record"))
        self.drv.add_capture_trigger(CaptureTrigger(capture_id=9, snaplen=40, src=PEER_IP))
        seg = tcp4(seq=100, ack=1, data=payload(50))
        self.send(WIRE0, seg)
        self.expect_unchanged(CONSUMER, seg)
        self.expect(WIRE0, expected_nic_ack(seg, 150), what="NIC ACK")
        self.expect(RECORDS, ts_record_bytes(fid, 1, len(seg), 1, len(seg)),
                    dont_care=[TS_RECORD_TS, TS_RECORD_GAP], what="timestamp record")
        self.expect_capture(seg, 9, DIR_RX, WIRE0, snaplen=40)
        miss = udp4(sport=1, data=b"miss")
        self.rx_captured(miss, 9, snaplen=40)
        self.no_other_packets()
