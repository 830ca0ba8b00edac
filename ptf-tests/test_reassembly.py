"""IP fragment reassembly in the NIC (seed 004, p4src/include/reassembly.p4).

The peer is scapy: ``fragment()`` / ``fragment6()`` cut a datagram, the NIC
puts it back together in register slots over recirculation passes and
delivers it whole; what arrives must be, byte for byte, the datagram scapy
cut. Every outcome of RFC 5722 / Linux ip_defrag's rules has its counter
(reasm_events), and every test checks all of them: overlaps drop the
datagram, duplicates only themselves, tiny first fragments are refused, an
incomplete datagram loses its slot after the driver's timeout, and a flood
of datagrams never mixes pieces nor blocks a slot longer than the timeout.
"""

from __future__ import annotations

import itertools
import time

from base_test import (
    CONSUMER,
    HOST_STACK,
    NIC_IP,
    NIC_IP6,
    NIC_MAC,
    PEER_IP,
    PEER_IP6,
    PEER_MAC,
    RX_META_TS,
    RXF_FLOW_HIT,
    RXF_TS_VALID,
    WIRE0,
    WIRE1,
    P4nicTest,
    pad,
    payload,
    rx_meta_bytes,
)
from p4nic import p4names as n
from p4nic.driver import Flow
from p4nic.reasm import (
    datagram_passes,
    enable_reassembly,
    reasm_key,
    reasm_slot,
    reassembly_counters,
    set_reassembly_timeout,
    store_passes,
)
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

RXF_REASSEMBLED = n.RXF_REASSEMBLED


def udp_datagram(ident: int, size: int, sport: int = 5000, dport: int = 6000,
                 src: str = PEER_IP) -> IP:
    """A UDP/IPv4 datagram of ``size`` bytes of UDP payload."""
    return IP(src=src, dst=NIC_IP, id=ident, ttl=63) / UDP(sport=sport, dport=dport) / Raw(
        payload(size, seed=ident))


def frame(ip) -> bytes:
    return pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / ip))


def whole(ip) -> bytes:
    """The datagram as the NIC must deliver it."""
    return bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / IP(bytes(ip)))


def frag_shape(frags) -> list[tuple[int, int]]:
    """(offset units, payload bytes) of each IPv4 fragment."""
    return [(f.frag, len(bytes(f.payload))) for f in frags]


class ReassemblyTest(P4nicTest):
    """A policy for every protocol, and counters read as packet counts."""

    TIMEOUT_MS = 30000.0   # far beyond any test's run: only the timeout tests wait for one

    def setUp(self) -> None:
        super().setUp()
        enable_reassembly(self.drv, timeout_ms=self.TIMEOUT_MS)

    def events(self) -> dict[str, int]:
        return {k: v[0] for k, v in reassembly_counters(self.drv).items()}

    def wait_events(self, before: dict[str, int], **more: int) -> dict[str, int]:
        """Every counter must have moved by exactly ``more`` (the others not at all)."""
        want = dict(before)
        for k, v in more.items():
            want[k] += v
        got = self._wait_value(self.events, lambda e: e == want)
        self.assertEqual(got, want, "reasm_events")
        return got

    def deliver(self, frags, order) -> None:
        for i in order:
            self.send(WIRE0, frame(frags[i]))


class TwoFragmentsEitherOrder(ReassemblyTest):
    """A 2-fragment UDP datagram in both orders: the datagram scapy cut, whole,
    to the host stack; 2 accepted, 1 reassembled, the passes the model says."""

    def runTest(self):
        for k, order in enumerate(((0, 1), (1, 0))):
            dgram = udp_datagram(100 + k, 1000)
            frags = fragment(dgram, fragsize=600)
            self.assertEqual(len(frags), 2)
            before = self.events()
            self.deliver(frags, order)
            self.expect(HOST_STACK, whole(dgram), what=f"datagram, order {order}")
            self.wait_events(before, accepted=2, reassembled=1,
                             passes=datagram_passes(frag_shape(frags)))
        self.no_other_packets()


class ThreeFragmentsEveryOrder(ReassemblyTest):
    """A 3-fragment datagram of 3000 bytes (fragments of a 1500-byte MTU path) in
    all six orders."""

    def runTest(self):
        for k, order in enumerate(itertools.permutations(range(3))):
            dgram = udp_datagram(200 + k, 3000 - 28)
            frags = fragment(dgram, fragsize=1480)
            self.assertEqual(len(frags), 3)
            before = self.events()
            self.deliver(frags, order)
            self.expect(HOST_STACK, whole(dgram), what=f"datagram, order {order}")
            self.wait_events(before, accepted=3, reassembled=1,
                             passes=datagram_passes(frag_shape(frags)))
        self.no_other_packets()


class LargestDatagramAndOneByteMore(ReassemblyTest):
    """4096 bytes of IP payload (REASM_MAX_BYTES) reassemble; one byte more and the
    fragments pass on unreassembled (too_big), each exactly as it came."""

    def runTest(self):
        dgram = udp_datagram(300, n.REASM_MAX_BYTES - 8)
        frags = fragment(dgram, fragsize=1480)
        before = self.events()
        self.deliver(frags, reversed(range(len(frags))))
        self.expect(HOST_STACK, whole(dgram), what="4096-byte datagram")
        self.wait_events(before, accepted=len(frags), reassembled=1,
                         passes=datagram_passes(frag_shape(frags)))

        big = udp_datagram(301, n.REASM_MAX_BYTES - 8 + 1)
        frags = fragment(big, fragsize=1480)
        before = self.events()
        self.deliver(frags, range(len(frags)))
        # the fragments within the bound take a slot (and wait for the timeout);
        # the one beyond it passes on as it came
        self.expect_unchanged(HOST_STACK, frame(frags[-1]), "fragment beyond the bound")
        self.wait_events(before, accepted=len(frags) - 1, too_big=1,
                         passes=sum(store_passes(*s) for s in frag_shape(frags[:-1])))
        self.no_other_packets()


class SmallFragmentsOddTail(ReassemblyTest):
    """Many 64-byte fragments at offsets that are not row-aligned, a last fragment
    of 5 bytes (a partial unit), sent in a shuffled order."""

    def runTest(self):
        dgram = udp_datagram(400, 1101 - 8)     # IP payload 1101 = 17 * 64 + 13
        frags = fragment(dgram, fragsize=64)
        self.assertEqual(len(bytes(frags[-1].payload)) % 8, 5)
        order = list(range(len(frags)))
        order = order[1::2] + order[0::2]
        before = self.events()
        self.deliver(frags, order)
        self.expect(HOST_STACK, whole(dgram), what="datagram of 18 fragments")
        self.wait_events(before, accepted=len(frags), reassembled=1,
                         passes=datagram_passes(frag_shape(frags)))
        self.no_other_packets()


class Ipv6FragmentHeader(ReassemblyTest):
    """IPv6 with a Fragment header (RFC 8200), 3 fragments out of order: the
    datagram without the Fragment header, payload length and next header fixed."""

    def runTest(self):
        body = UDP(sport=7000, dport=7001) / Raw(payload(2500, seed=6))
        dgram = IPv6(src=PEER_IP6, dst=NIC_IP6, hlim=50) / body
        frags = fragment6(IPv6(src=PEER_IP6, dst=NIC_IP6, hlim=50)
                          / IPv6ExtHdrFragment(id=0xABCDE) / body, 1280)
        self.assertEqual(len(frags), 3)
        shape = [(f[IPv6ExtHdrFragment].offset, len(bytes(f[IPv6ExtHdrFragment].payload)))
                 for f in frags]
        before = self.events()
        for i in (2, 0, 1):
            self.send(WIRE1, pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / frags[i])))
        self.expect(HOST_STACK, bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / dgram),
                    what="IPv6 datagram")
        self.wait_events(before, accepted=3, reassembled=1, passes=datagram_passes(shape))
        self.no_other_packets()


class FlowConsumerGetsTheWholeDatagram(ReassemblyTest):
    """The whole datagram takes the normal path: flow association on its five-tuple
    (which only the first fragment carried), the consumer queue, an rx descriptor
    marked reassembled."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_flow(Flow(src=PEER_IP, dst=NIC_IP, proto="udp", sport=5100, dport=6100,
                               flow_id=fid, state="MONITOR", ts_mode="in_packet"))
        dgram = udp_datagram(500, 2000, sport=5100, dport=6100)
        frags = fragment(dgram, fragsize=1000)
        self.deliver(frags, (2, 1, 0))
        w = whole(dgram)
        exp = rx_meta_bytes(RXF_FLOW_HIT | RXF_TS_VALID | RXF_REASSEMBLED, fid, WIRE0, 1,
                            len(w)) + w
        self.expect(CONSUMER, exp, dont_care=[RX_META_TS], what="reassembled flow datagram")
        self.no_other_packets()


class DuplicatesAreHarmless(ReassemblyTest):
    """A fragment sent twice (and a fragment of a datagram already delivered) is
    dropped and counted; the datagram is delivered once."""

    def runTest(self):
        dgram = udp_datagram(600, 2000)
        frags = fragment(dgram, fragsize=1000)
        before = self.events()
        self.deliver(frags, (0, 0, 1))
        self.no_packet_on(HOST_STACK)
        self.deliver(frags, (1, 2))
        self.expect(HOST_STACK, whole(dgram), what="datagram")
        self.wait_events(before, accepted=3, duplicate=2, reassembled=1,
                         passes=datagram_passes(frag_shape(frags)))
        self.no_other_packets()


class OverlapDropsTheDatagram(ReassemblyTest):
    """RFC 5722: a fragment that overlaps units already held drops the whole
    datagram (the pieces held included); the same datagram sent again properly
    afterwards is reassembled in the freed slot."""

    def runTest(self):
        dgram = udp_datagram(700, 200)
        raw = bytes(dgram.payload)          # UDP header + payload, 208 bytes
        first = IP(src=PEER_IP, dst=NIC_IP, id=700, ttl=63, proto=17, flags="MF",
                   frag=0) / Raw(raw[:64])
        overlapping = IP(src=PEER_IP, dst=NIC_IP, id=700, ttl=63, proto=17, flags="MF",
                         frag=6) / Raw(raw[48:112])           # units 6..13: overlaps 6, 7
        before = self.events()
        self.send(WIRE0, frame(first))
        # stored first (otherwise its store pass finds the slot freed: stale)
        self.wait_events(before, accepted=1, passes=store_passes(0, 64))
        self.send(WIRE0, frame(overlapping))
        self.wait_events(before, accepted=1, overlap=1, passes=store_passes(0, 64))
        self.no_packet_on(HOST_STACK)

        frags = fragment(dgram, fragsize=64)
        before = self.events()
        self.deliver(frags, range(len(frags)))
        self.expect(HOST_STACK, whole(dgram), what="datagram sent again")
        self.wait_events(before, accepted=len(frags), reassembled=1,
                         passes=datagram_passes(frag_shape(frags)))
        self.no_other_packets()


class TinyFragmentsRefused(ReassemblyTest):
    """RFC 1858 / RFC 8200: a first fragment too short for its transport header (UDP:
    4 bytes; TCP: 16) and a TCP fragment at offset 8 bytes are dropped, counted."""

    def runTest(self):
        before = self.events()
        tiny_udp = IP(src=PEER_IP, dst=NIC_IP, id=800, proto=17, flags="MF") / Raw(b"\x13\x88\x17\x70")
        tiny_tcp = IP(src=PEER_IP, dst=NIC_IP, id=801, proto=6, flags="MF") / Raw(
            bytes(TCP(sport=40000, dport=80))[:16])
        offset_one = IP(src=PEER_IP, dst=NIC_IP, id=802, proto=6, frag=1) / Raw(bytes(24))
        for f in (tiny_udp, tiny_tcp, offset_one):
            self.send(WIRE0, frame(f))
        self.wait_events(before, tiny=3)
        self.no_other_packets()


class BadLengthsDropped(ReassemblyTest):
    """A fragment with more to come whose payload is not a multiple of 8 bytes is
    dropped; so is a datagram given a second, different end."""

    def runTest(self):
        before = self.events()
        ragged = IP(src=PEER_IP, dst=NIC_IP, id=900, proto=17, flags="MF") / Raw(payload(21))
        self.send(WIRE0, frame(ragged))
        self.wait_events(before, bad_length=1)

        dgram = udp_datagram(901, 200)
        frags = fragment(dgram, fragsize=104)           # 2 fragments: units 0..13, 13..26
        short_end = IP(src=PEER_IP, dst=NIC_IP, id=901, proto=17, frag=30) / Raw(bytes(8))
        before = self.events()
        self.send(WIRE0, frame(frags[1]))              # the end: unit 26
        self.wait_events(before, accepted=1, passes=store_passes(*frag_shape(frags)[1]))
        self.send(WIRE0, frame(short_end))             # a second end, at unit 31
        self.wait_events(before, accepted=1, bad_length=1,
                         passes=store_passes(*frag_shape(frags)[1]))
        self.no_other_packets()


class NoPolicyPassesFragmentsOn(P4nicTest):
    """Without a reassembly policy fragments reach the host stack as they came (its
    own reassembly takes them), counted not_enabled."""

    def runTest(self):
        before = {k: v[0] for k, v in reassembly_counters(self.drv).items()}
        frags = fragment(udp_datagram(1000, 1200), fragsize=600)
        for f in frags:
            self.send(WIRE0, frame(f))
            self.expect_unchanged(HOST_STACK, frame(f))
        after = {k: v[0] for k, v in reassembly_counters(self.drv).items()}
        before["not_enabled"] += len(frags)
        self.assertEqual(after, before)
        self.no_other_packets()


class TimeoutFreesTheSlot(ReassemblyTest):
    """A datagram not complete within the timeout (NIC clock) loses its slot: the
    next fragment that hashes there counts a timeout and starts afresh, so the
    late second fragment does not complete the stale first one."""

    TIMEOUT_MS = 1500.0   # more than the negative wait (no_packet_on) below

    def runTest(self):
        dgram = udp_datagram(1100, 1000)
        frags = fragment(dgram, fragsize=600)
        before = self.events()
        self.send(WIRE0, frame(frags[0]))
        self.wait_events(before, accepted=1, passes=store_passes(*frag_shape(frags)[0]))
        time.sleep(1.5 * self.TIMEOUT_MS / 1000)        # past the timeout, not a timing check
        self.send(WIRE0, frame(frags[1]))
        self.no_packet_on(HOST_STACK)
        self.send(WIRE0, frame(frags[0]))              # the new attempt completes
        self.expect(HOST_STACK, whole(dgram), what="datagram after the timeout")
        self.wait_events(before, accepted=3, timeout=1, reassembled=1,
                         passes=store_passes(*frag_shape(frags)[0])
                         + datagram_passes(frag_shape(frags)))
        self.no_other_packets()


class FloodNeverMixesAndRecovers(ReassemblyTest):
    """200 first fragments of datagrams that never complete take every slot they
    hash to; the others, and a datagram whose slot is held, pass on unreassembled
    (the host stack can still put them together): nothing is built from mixed
    pieces. After the timeout the slots are free again and the datagram is
    reassembled. Counts follow from the slot hash (p4nic.reasm.reasm_slot).
    The flood runs under a timeout no slow switch reaches (a slot that expired
    mid-flood would take a fragment instead of passing it on); the timeout is
    then cut, in place, for the recovery."""

    TIMEOUT_MS = 120000.0
    RECOVERY_TIMEOUT_MS = 1000.0

    def runTest(self):
        held: set[int] = set()
        passed_on = []
        before = self.events()
        for ident in range(2000, 2200):
            f = IP(src=PEER_IP, dst=NIC_IP, id=ident, proto=17, flags="MF") / Raw(
                payload(16, seed=ident))
            slot = reasm_slot(reasm_key(PEER_IP, NIC_IP, 17, ident))
            self.send(WIRE0, frame(f))
            if slot in held:
                passed_on.append(f)
                self.expect_unchanged(HOST_STACK, frame(f), "fragment whose slot is held")
            held.add(slot)
        accepted = 200 - len(passed_on)
        self.wait_events(before, accepted=accepted, slot_busy=len(passed_on),
                         passes=accepted * store_passes(0, 16))

        # a datagram whose slot one of the flood's holds: passed on, never mixed
        ident = next(i for i in range(3000, 4000)
                     if reasm_slot(reasm_key(PEER_IP, NIC_IP, 17, i)) in held)
        dgram = udp_datagram(ident, 1000)
        frags = fragment(dgram, fragsize=600)
        before = self.events()
        for f in frags:
            self.send(WIRE0, frame(f))
            self.expect_unchanged(HOST_STACK, frame(f), "fragment whose slot is held")
        self.wait_events(before, slot_busy=2)

        self.assertEqual(set_reassembly_timeout(self.drv, self.RECOVERY_TIMEOUT_MS), 1)
        time.sleep(1.5 * self.RECOVERY_TIMEOUT_MS / 1000)   # past the timeout, not a timing check
        before = self.events()
        self.deliver(frags, (1, 0))
        self.expect(HOST_STACK, whole(dgram), what="datagram after the flood")
        self.wait_events(before, accepted=2, timeout=1, reassembled=1,
                         passes=datagram_passes(frag_shape(frags)))
        self.no_other_packets()


class InterleavedDatagrams(ReassemblyTest):
    """Fragments of three datagrams interleaved (same addresses and protocol,
    different identifications, different slots) come out as three whole datagrams."""

    def runTest(self):
        idents, slots = [], set()
        for i in range(5000, 6000):
            s = reasm_slot(reasm_key(PEER_IP, NIC_IP, 17, i))
            if s not in slots:
                slots.add(s)
                idents.append(i)
            if len(idents) == 3:
                break
        dgrams = [udp_datagram(i, 1600 + 100 * k) for k, i in enumerate(idents)]
        frags = [fragment(d, fragsize=512) for d in dgrams]
        before = self.events()
        order = [(0, 2), (1, 0), (2, 3), (0, 0), (1, 3), (2, 0), (0, 1), (1, 1), (2, 1),
                 (1, 2), (0, 3), (2, 2)]
        done = {}
        for d, f in order:
            self.send(WIRE0, frame(frags[d][f]))
            done[d] = done.get(d, 0) + 1
            if done[d] == len(frags[d]):
                self.expect(HOST_STACK, whole(dgrams[d]), what=f"datagram {d}")
        self.wait_events(before, accepted=12, reassembled=3,
                         passes=sum(datagram_passes(frag_shape(f)) for f in frags))
        self.no_other_packets()


class TcpSegmentReassembled(ReassemblyTest):
    """A TCP segment fragmented by a router: reassembled and checked as one segment."""

    def runTest(self):
        seg = IP(src=PEER_IP, dst=NIC_IP, id=7000, ttl=60) / TCP(
            sport=40000, dport=80, seq=1, ack=1, flags="PA", window=1024) / Raw(payload(1800))
        frags = fragment(seg, fragsize=800)
        self.deliver(frags, (1, 2, 0))
        self.expect(HOST_STACK, whole(seg), what="TCP segment")
        self.no_other_packets()
