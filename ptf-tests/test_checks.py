"""Parser and receive checks (seed 001 "end of packet checks").

Every frame that passes the checks and belongs to no flow must reach the
host-stack port byte for byte; every frame that fails one is dropped, nothing
leaves the NIC, and exactly one index of NicIngress.drop_reasons (read with
NicDriver.drop_counters()) moves, by one packet and the frame's length.
Frames that only a correct parser can associate with a flow (IPv4 options,
TCP options, one or two VLAN tags, IPv6) are sent to flows whose rx
descriptor proves the L4 ports and lengths were read at the right offsets.
"""

from __future__ import annotations

import struct

from base_test import (
    CAPTURE,
    CONSUMER,
    HOST_STACK,
    NIC_IP,
    NIC_IP6,
    NIC_MAC,
    OTHER_MAC,
    PEER_IP,
    PEER_IP6,
    PEER_MAC,
    PLACEMENT,
    RECORDS,
    ROUTER_ALERT,
    RR_OPTION_40,
    RX_META_GAP,
    RX_META_TS,
    RXF_FLOW_HIT,
    RXF_RTP,
    RXF_TS_VALID,
    TCP_OPTIONS,
    WIRE0,
    WIRE1,
    P4nicTest,
    field,
    pad,
    payload,
    rx_meta_bytes,
    tcp4,
    tcp6,
    udp4,
    udp6,
)
from p4nic.driver import Flow
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw


class DropTest(P4nicTest):
    """Helpers for frames that must be dropped under one reason."""

    def assert_dropped(self, frame: bytes, reason: str, port: int = WIRE0) -> None:
        before = self.drops()
        self.send(port, frame)
        self.wait_drop(before, reason, 1, len(frame))
        self.no_other_packets()

    def assert_passes(self, frame: bytes, port: int = WIRE0, out: int = HOST_STACK) -> None:
        before = self.drops()
        self.send(port, frame)
        self.expect_unchanged(out, frame)
        self.no_other_packets()
        self.assert_no_drops(before)


def ipv4_frame(ip: IP, l4=None, data: bytes = b"", dmac: str = NIC_MAC) -> bytes:
    pkt = Ether(src=PEER_MAC, dst=dmac) / ip
    if l4 is not None:
        pkt = pkt / l4
    return pad(bytes(pkt / Raw(data)))


# ---- frames that pass ------------------------------------------------------------------------


class AcceptedFramesPassUnchanged(DropTest):
    """Valid frames of every parsed kind, no flow: host stack, byte for byte, no drop."""

    def runTest(self):
        frames = [
            tcp4(data=b"plain tcp"),
            udp4(data=b"plain udp"),
            tcp4(data=b"x" * 6, options=TCP_OPTIONS),
            udp4(data=b"options", ip_options=[ROUTER_ALERT]),
            udp4(data=b"forty bytes of options", ip_options=[RR_OPTION_40]),
            tcp6(data=b"ipv6 tcp"),
            udp6(data=b"ipv6 udp"),
            tcp4(data=b"tagged", vlans=[100]),
            tcp6(data=b"tagged v6", vlans=[7]),
            ipv4_frame(IP(src=PEER_IP, dst=NIC_IP, proto=1) / b"\x08\x00\xf7\xff\x00\x00\x00\x00"),
            # broadcast ARP (no L3 header: nothing but the MAC filter applies)
            pad(bytes(Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff")
                      / ARP(psrc=PEER_IP, pdst=NIC_IP, hwsrc=PEER_MAC))),
            # unknown ether type to the NIC's MAC
            pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC, type=0x88B5) / Raw(payload(30)))),
        ]
        before = self.drops()
        for f in frames:
            self.send(WIRE0, f)
        for f in frames:
            self.expect_unchanged(HOST_STACK, f)
        self.no_other_packets()
        self.assert_no_drops(before)


class FrameLengthBoundaries(DropTest):
    """Lengths without FCS: 60 bytes pass, 59 is a runt; at most 1500 bytes may follow
    the Ethernet header and its tags: 1514 untagged, 1518 with one tag and 1522 with two
    pass, one byte more is a giant."""

    def runTest(self):
        smallest = udp4(data=b"")                       # 42 bytes padded to 60
        self.assertEqual(len(smallest), 60)
        self.assert_passes(smallest)
        runt = bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / IP(src=PEER_IP, dst=NIC_IP)
                     / UDP(sport=1, dport=2) / Raw(b"r" * 17))
        self.assertEqual(len(runt), 59)
        self.assert_dropped(runt, "runt")
        for vlans, largest in (((), 1514), ((10,), 1518), ((10, 20), 1522)):
            header = 14 + 4 * len(vlans) + 20 + 8
            ok = udp4(data=payload(largest - header), vlans=vlans)
            self.assertEqual(len(ok), largest)
            self.assert_passes(ok)
            giant = udp4(data=payload(largest + 1 - header), vlans=vlans)
            self.assert_dropped(giant, "giant")


class LengthChecksComeFirst(DropTest):
    """The first failing check names the reason: a runt to a foreign MAC is a runt, a
    giant with a bad IPv4 checksum a giant, a foreign MAC with a bad checksum a DMAC drop."""

    def runTest(self):
        runt = bytes(Ether(src=PEER_MAC, dst=OTHER_MAC) / IP(src=PEER_IP, dst=NIC_IP)
                     / UDP() / Raw(b"r" * 10))
        self.assertLess(len(runt), 60)
        self.assert_dropped(runt, "runt")
        giant = bytearray(udp4(data=payload(1600)))
        giant[24:26] = b"\xde\xad"                       # IPv4 checksum
        self.assert_dropped(bytes(giant), "giant")
        bad = bytearray(tcp4(dmac=OTHER_MAC, data=b"abc"))
        bad[24:26] = b"\xde\xad"
        self.assert_dropped(bytes(bad), "dmac")


class DestinationMacFilter(DropTest):
    """Own MAC and broadcast pass; another unicast MAC and an unconfigured multicast MAC
    are DMAC drops; add_mac() admits a multicast group."""

    def runTest(self):
        self.assert_passes(tcp4(data=b"mine"))
        self.assert_passes(udp4(dmac="ff:ff:ff:ff:ff:ff", data=b"bcast"))
        self.assert_dropped(tcp4(dmac=OTHER_MAC, data=b"not mine"), "dmac")
        mcast = udp4(dmac="01:00:5e:01:02:03", dst="239.1.2.3", data=b"group")
        self.assert_dropped(mcast, "dmac")
        self.drv.add_mac("01:00:5e:01:02:03")
        self.assert_passes(mcast)
        # a foreign MAC also drops on the second wire port
        self.assert_dropped(tcp4(dmac=OTHER_MAC, data=b"port 1"), "dmac", port=WIRE1)


class PromiscuousMode(DropTest):
    """setup(promiscuous=True) accepts any destination MAC."""

    PROMISCUOUS = True

    def runTest(self):
        self.assert_passes(tcp4(dmac=OTHER_MAC, data=b"promiscuous"))
        self.assert_passes(tcp4(data=b"own mac still fine"))


class TruncatedHeaders(DropTest):
    """Headers the frame cannot hold (IHL 15 in 46 bytes of IP; TCP data offset 15 in a
    60-byte frame) end the parser with PacketTooShort: 'truncated'."""

    def runTest(self):
        ip = bytearray(bytes(IP(src=PEER_IP, dst=NIC_IP, proto=17, len=60)))
        ip[0] = 0x4F                                     # IHL 15: 40 option bytes wanted
        ip[10:12] = b"\0\0"
        frame = bytes(Ether(src=PEER_MAC, dst=NIC_MAC, type=0x0800)) + bytes(ip) + bytes(26)
        self.assertEqual(len(frame), 60)
        self.assert_dropped(frame, "truncated")
        tcp = tcp4(data=b"")
        t = bytearray(tcp)
        t[14 + 20 + 12] = 0xF0                           # data offset 15: 40 option bytes wanted
        self.assert_dropped(bytes(t), "truncated")
        vlan_cut = bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / Dot1Q(vlan=5) / Dot1Q(vlan=6)
                         / IP(src=PEER_IP, dst=NIC_IP, ihl=15, options=[]) / Raw(bytes(18)))
        self.assertEqual(len(vlan_cut), 60)
        self.assert_dropped(vlan_cut, "truncated")


class Ipv4HeaderChecks(DropTest):
    """Version, IHL and total length each have their own reason."""

    def runTest(self):
        self.assert_dropped(ipv4_frame(IP(src=PEER_IP, dst=NIC_IP, version=5), UDP(),
                                       b"v5"), "ipv4_version")
        self.assert_dropped(ipv4_frame(IP(src=PEER_IP, dst=NIC_IP, version=6), UDP(),
                                       b"v6 in 0x0800"), "ipv4_version")
        self.assert_dropped(ipv4_frame(IP(src=PEER_IP, dst=NIC_IP, ihl=4), UDP(), b"ihl"),
                            "ipv4_ihl")
        # total length beyond the frame
        long_ip = ipv4_frame(IP(src=PEER_IP, dst=NIC_IP, len=200), UDP(), b"short frame")
        self.assertLess(len(long_ip), 14 + 200)
        self.assert_dropped(long_ip, "ipv4_total_len")
        # total length below the header length (IHL 6 = 24 bytes, total length 22)
        self.assert_dropped(ipv4_frame(IP(src=PEER_IP, dst=NIC_IP, len=22,
                                          options=[ROUTER_ALERT]), UDP(), b"x"),
                            "ipv4_total_len")
        # a total length shorter than the frame is fine (Ethernet padding)
        self.assert_passes(udp4(data=b"p"))


class Ipv4Checksum(DropTest):
    """A wrong header checksum is dropped, with and without options; the options are
    covered by the checksum (changing an option byte alone makes it wrong)."""

    def runTest(self):
        for frame in (udp4(data=b"checksum"), udp4(data=b"opt", ip_options=[RR_OPTION_40])):
            self.assert_passes(frame)
            bad = bytearray(frame)
            bad[24] ^= 0x01                              # checksum
            self.assert_dropped(bytes(bad), "ipv4_checksum")
        opt = bytearray(udp4(data=b"opt", ip_options=[RR_OPTION_40]))
        opt[14 + 20 + 5] ^= 0x10                         # a byte inside the options only
        self.assert_dropped(bytes(opt), "ipv4_checksum")


class UnknownProtocol(DropTest):
    """IP protocols outside l4_proto_allowed (GRE here) drop, IPv4 and IPv6; ICMP passes."""

    def runTest(self):
        self.assert_dropped(ipv4_frame(IP(src=PEER_IP, dst=NIC_IP, proto=47), None,
                                       payload(20)), "unknown_proto")
        gre6 = pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC)
                         / IPv6(src=PEER_IP6, dst=NIC_IP6, nh=47) / Raw(payload(20))))
        self.assert_dropped(gre6, "unknown_proto")
        self.assert_passes(ipv4_frame(IP(src=PEER_IP, dst=NIC_IP, proto=1),
                                      None, b"\x08\x00\xf7\xff\x00\x00\x00\x00"))


class TcpDataOffset(DropTest):
    """Data offset below 5, or a TCP header longer than the IP datagram says: tcp_header."""

    def runTest(self):
        small = bytearray(tcp4(data=b"abcdef"))
        small[14 + 20 + 12] = 0x40                       # data offset 4
        self.assert_dropped(bytes(small), "tcp_header")
        # data offset 8 (32 bytes) but the datagram holds 20 + 20: the frame has the bytes
        # (padding) but they are not part of the datagram
        frame = bytearray(pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC)
                                    / IP(src=PEER_IP, dst=NIC_IP) / TCP(sport=1, dport=2)),
                              14 + 20 + 32 + 6))
        frame[14 + 20 + 12] = 0x80
        self.assert_dropped(bytes(frame), "tcp_header")


class UdpLength(DropTest):
    """UDP length below 8 or beyond the IP payload: udp_length."""

    def runTest(self):
        self.assert_dropped(ipv4_frame(IP(src=PEER_IP, dst=NIC_IP), UDP(len=7), b"seven"),
                            "udp_length")
        self.assert_dropped(ipv4_frame(IP(src=PEER_IP, dst=NIC_IP), UDP(len=200), b"long"),
                            "udp_length")
        self.assert_passes(ipv4_frame(IP(src=PEER_IP, dst=NIC_IP), UDP(len=12), b"four"))


class Ipv6Checks(DropTest):
    """Version other than 6 after ether type 0x86dd, and a payload length beyond the
    frame, are dropped under their own reasons."""

    def runTest(self):
        v = pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC)
                      / IPv6(src=PEER_IP6, dst=NIC_IP6, version=4) / UDP() / Raw(b"v4")))
        self.assert_dropped(v, "ipv6_version")
        long6 = pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC)
                          / IPv6(src=PEER_IP6, dst=NIC_IP6, plen=100) / UDP() / Raw(b"x")))
        self.assert_dropped(long6, "ipv6_length")
        self.assert_passes(udp6(data=b"ok"))


class UnconfiguredPorts(DropTest):
    """Frames entering the placement, records or capture port (no role) are dropped."""

    def runTest(self):
        frame = tcp4(data=b"wrong way")
        for port in (PLACEMENT, RECORDS, CAPTURE):
            self.assert_dropped(frame, "port_unconfigured", port=port)


class NonFirstFragment(DropTest):
    """A non-first IPv4 fragment carries no transport header: the NIC must not read its
    payload as TCP (a flow on the would-be ports does not match); host stack, unchanged."""

    def runTest(self):
        fid = self.new_flow_id()
        # the payload starts with what would be ports 40000 -> 80
        body = struct.pack("!HH", 40000, 80) + payload(40)
        self.drv.add_flow(Flow(src=PEER_IP, dst=NIC_IP, proto=6, sport=40000, dport=80,
                               flow_id=fid, state="MONITOR", ts_mode="in_packet"))
        frag = ipv4_frame(IP(src=PEER_IP, dst=NIC_IP, proto=6, frag=100, flags=0), None, body)
        self.assert_passes(frag)


class FirstFragmentOfUdp(DropTest):
    """The first fragment of a UDP datagram: its UDP length counts the whole datagram, more
    than the fragment holds; not a UDP length error (a fragmenting router sends exactly
    this): host stack, unchanged, with the other fragments."""

    def runTest(self):
        drops = self.drops()
        whole = IP(src=PEER_IP, dst=NIC_IP, id=77) / UDP(sport=5000, dport=6000) / payload(1200)
        for frag in fragment(whole, fragsize=504):
            frame = pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / frag))
            self.send(WIRE0, frame)
            self.expect_unchanged(HOST_STACK, frame)
        self.assert_no_drops(drops)
        self.no_other_packets()


class ParserOffsetsWithFlows(P4nicTest):
    """Flow hits through IPv4 options (IHL 6 and 15), TCP options, one 802.1Q tag, QinQ
    (802.1ad + 802.1Q), two 802.1Q tags and IPv6: the rx descriptor in front of the
    unchanged frame shows the flow, and its byte count the frame length."""

    def runTest(self):
        cases = [   # name, frame builder (source port -> frame), IP version, protocol
            ("ipv4 ihl 6", lambda p: tcp4(sport=p, data=b"a" * 10, ip_options=[ROUTER_ALERT]),
             4, 6),
            ("ipv4 ihl 15", lambda p: udp4(sport=p, data=b"b" * 10, ip_options=[RR_OPTION_40]),
             4, 17),
            ("tcp options", lambda p: tcp4(sport=p, data=b"c" * 10, options=TCP_OPTIONS), 4, 6),
            ("802.1Q", lambda p: tcp4(sport=p, data=b"d" * 10, vlans=[42]), 4, 6),
            ("two 802.1Q", lambda p: udp4(sport=p, data=b"e" * 10, vlans=[42, 43]), 4, 17),
            ("QinQ", _qinq_udp, 4, 17),
            ("ipv6 tcp", lambda p: tcp6(sport=p, data=b"g" * 10), 6, 6),
            ("ipv6 two tags", lambda p: tcp6(sport=p, data=b"h" * 10, vlans=[1, 2]), 6, 6),
        ]
        for i, (name, build, ipv, proto) in enumerate(cases):
            fid = self.new_flow_id()
            sport = 1001 + i
            src, dst = (PEER_IP, NIC_IP) if ipv == 4 else (PEER_IP6, NIC_IP6)
            dport = 6000 if proto == 17 else 80
            self.drv.add_flow(Flow(src=src, dst=dst, proto=proto, sport=sport, dport=dport,
                                   flow_id=fid, state="MONITOR", ts_mode="in_packet"))
            frame = build(sport)
            self.send(WIRE0, frame)
            exp = rx_meta_bytes(RXF_FLOW_HIT | RXF_TS_VALID, fid, WIRE0, 1, len(frame)) + frame
            got = self.expect(CONSUMER, exp, dont_care=[RX_META_TS], what=name)
            self.assertGreater(field(got, RX_META_TS), 0, f"{name}: arrival timestamp")
            self.assertEqual(field(got, RX_META_GAP), 0, f"{name}: first packet has no gap")
            # the same frame from another source port misses: host stack, unchanged
            miss = build(sport + 100)
            self.send(WIRE0, miss)
            self.expect_unchanged(HOST_STACK, miss, what=f"{name} miss")
        self.no_other_packets()


def _qinq_udp(sport: int) -> bytes:
    from scapy.layers.l2 import Dot1AD
    return pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC, type=0x88A8) / Dot1AD(vlan=300, prio=5)
                     / Dot1Q(vlan=30) / IP(src=PEER_IP, dst=NIC_IP, id=7)
                     / UDP(sport=sport, dport=6000) / Raw(b"f" * 10)))


class RtpOnConfiguredPorts(P4nicTest):
    """RTP version 2 on a UDP port given to add_rtp_port() is flagged RXF_RTP; the same
    payload on another port, a non-v2 payload and a payload shorter than the 12-byte RTP
    header are not. The frames themselves pass unchanged."""

    def runTest(self):
        self.drv.add_rtp_port(5004)
        rtp = struct.pack("!BBHII", 0x80, 96, 777, 123456, 0xDEADBEEF) + payload(40)
        cases = [
            (5004, rtp, True),
            (5006, rtp, False),                      # not an RTP port
            (5004, b"\x40" + rtp[1:], False),         # version 1
            (5004, rtp[:11], False),                  # shorter than an RTP header
        ]
        for i, (dport, data, is_rtp) in enumerate(cases):
            fid = self.new_flow_id()
            sport = 7000 + i
            self.drv.add_flow(Flow(src=PEER_IP, dst=NIC_IP, proto=17, sport=sport,
                                   dport=dport, flow_id=fid, ts_mode="in_packet"))
            frame = udp4(sport=sport, dport=dport, data=data)
            self.send(WIRE0, frame)
            flags = RXF_FLOW_HIT | RXF_TS_VALID | (RXF_RTP if is_rtp else 0)
            exp = rx_meta_bytes(flags, fid, WIRE0, 1, len(frame)) + frame
            self.expect(CONSUMER, exp, dont_care=[RX_META_TS], what=f"case {i}")
        self.no_other_packets()
