"""Decryption through the lookaside crypto engine (seed 004), and its decision tree.

An ESP datagram whose SA is in key memory with decrypt set leaves the
pipeline on the crypto engine's port behind a command header; the engine
(`p4nic crypto-engine`, started by the runner on the port's outside end)
decrypts it with the key the driver loaded, verifies the ICV and returns it,
and the NIC delivers the plaintext behind an rx descriptor marked decrypted,
ICV ok (and tunnel), with the number of engine passes. The independent peer is
scapy's ESP: what the NIC delivers must be, byte for byte, the datagram scapy
encrypted. Anti-replay (RFC 4303 3.4.3, 64-number window) drops replays and
too-old sequence numbers; bad ICVs and wrong keys are dropped; every outcome
has its counter (ipsec_events).

Seed 004's decision tree (Fig. 5, [0033]-[0035]) with the NIC's fragment
reassembly (test_reassembly.py tests reassembly itself): fragmented after
encryption -> reassemble, then decrypt; fragmented before encryption ->
decrypt each fragment, then reassemble the plaintext; fragmented between
tunnel and transport encryption -> tunnel decrypt, reassemble, transport
decrypt; no fragments -> decrypt. The rx descriptor says decrypted, ICV ok,
tunnel, reassembled and the number of engine passes.
"""

from __future__ import annotations

import dataclasses

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
    RXF_KEY_VALID,
    RXF_NO_KEY,
    SESSION,
    WIRE0,
    P4nicTest,
    esp4,
    pad,
    rx_meta_bytes,
)
from p4nic.driver import SecurityAssociation
from p4nic.p4names import RXF_REASSEMBLED
from p4nic.reasm import enable_reassembly, reassembly_counters
from scapy.layers.inet import IP, TCP, UDP, defragment, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.ipsec import ESP
from scapy.layers.ipsec import SecurityAssociation as ScapySA
from scapy.layers.l2 import Ether
from scapy.packet import Raw

RXF_DECRYPTED, RXF_ICV_OK, RXF_TUNNEL = 0x20, 0x40, 0x80
ONE_PASS = 1 << 12
SALT = b"\x0a\x0b\x0c\x0d"
KEYS = {"aes-gcm-128": bytes(range(16)), "aes-gcm-256": bytes(range(32, 64)),
        "chacha20-poly1305": bytes(range(100, 132))}
SCAPY_ALGO = {"aes-gcm-128": "AES-GCM", "aes-gcm-256": "AES-GCM",
              "chacha20-poly1305": "CHACHA20-POLY1305"}
EVENTS = ("to_engine", "decrypted", "bad_icv", "replay", "too_old", "engine_no_key",
          "engine_error", "foreign", "fragment_to_host")


def peer_sa(spi: int, cipher: str, key: bytes | None = None, tunnel: bool = False) -> ScapySA:
    kw = {"tunnel_header": IP(src="192.0.2.1", dst=NIC_IP)} if tunnel else {}
    return ScapySA(ESP, spi=spi, crypt_algo=SCAPY_ALGO[cipher],
                   crypt_key=(key or KEYS[cipher]) + SALT, **kw)


def plain(seq: int, data: bytes = b"hello from the peer", tcp: bool = False):
    l4 = TCP(sport=4000, dport=80, flags="PA", seq=seq) if tcp else UDP(sport=4500, dport=4501)
    return IP(src=PEER_IP, dst=NIC_IP, id=seq & 0xFFFF, ttl=61) / l4 / Raw(data)


def wire(sa: ScapySA, inner, seq: int) -> bytes:
    return pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / sa.encrypt(inner, seq_num=seq)))


class IpsecTest(P4nicTest):
    _next_spi = 0x7000

    def setUp(self) -> None:
        super().setUp()
        IpsecTest._next_spi += 0x10
        self.spi = IpsecTest._next_spi

    def sa(self, cipher: str = "aes-gcm-128", key_index: int | None = None,
           key: bytes | None = None) -> SecurityAssociation:
        sa = SecurityAssociation(dst=NIC_IP, spi=self.spi, key=key or KEYS[cipher], salt=SALT,
                                 cipher=cipher, key_index=key_index)
        self.drv.add_sa(sa)
        return sa

    def events(self) -> dict[str, int]:
        return {k: v[0] for k, v in self.drv.ipsec_counters().items()}

    def wait_events(self, before: dict[str, int], **more: int) -> None:
        want = dict(before)
        for k, v in more.items():
            want[k] += v
        got = self._wait_value(self.events, lambda e: e == want)
        self.assertEqual(got, want, "ipsec_events")

    def expect_plain(self, port: int, inner, flags: int, key_index: int, flow_id: int = 0
                     ) -> bytes:
        exp = (rx_meta_bytes(flags, flow_id, WIRE0, 0, 0, key_index=key_index)
               + bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / inner))
        return self.expect(port, exp, dont_care=[RX_META_TS], what="decrypted datagram")


class TransportAesGcm128(IpsecTest):
    """Transport mode, AES-GCM-128, an ESP flow to the consumer queue: the datagram
    scapy encrypted, byte for byte, behind a descriptor (decrypted, ICV ok, 1 pass)."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_esp_flow(NIC_IP, self.spi, fid)
        sa = self.sa("aes-gcm-128", key_index=3)
        before = self.events()
        peer = peer_sa(self.spi, "aes-gcm-128")
        for seq in (1, 2):
            inner = plain(seq, b"datagram %d" % seq)
            self.send(WIRE0, wire(peer, inner, seq))
            self.expect_plain(CONSUMER, inner, RXF_FLOW_HIT | RXF_KEY_VALID | RXF_DECRYPTED
                              | RXF_ICV_OK | ONE_PASS, sa.key_index, fid)
        self.wait_events(before, to_engine=2, decrypted=2)
        self.no_other_packets()


class TunnelChaCha20(IpsecTest):
    """Tunnel mode with ChaCha20-Poly1305 (RFC 7634): the inner packet is delivered,
    marked tunnel."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_esp_flow(NIC_IP, self.spi, fid)
        sa = self.sa("chacha20-poly1305", key_index=4)
        peer = peer_sa(self.spi, "chacha20-poly1305", tunnel=True)
        inner = plain(7, b"x" * 300, tcp=True)
        self.send(WIRE0, wire(peer, inner, 1))
        self.expect_plain(CONSUMER, inner, RXF_FLOW_HIT | RXF_KEY_VALID | RXF_DECRYPTED
                          | RXF_ICV_OK | RXF_TUNNEL | ONE_PASS, sa.key_index, fid)
        self.no_other_packets()


class AesGcm256WithoutFlowToHostStack(IpsecTest):
    """AES-GCM-256, an SA without an ESP flow: decrypted, to the host stack."""

    def runTest(self):
        sa = self.sa("aes-gcm-256", key_index=5)
        peer = peer_sa(self.spi, "aes-gcm-256")
        inner = plain(1, bytes(range(256)) * 4)
        self.send(WIRE0, wire(peer, inner, 1))
        self.expect_plain(HOST_STACK, inner, RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK
                          | ONE_PASS, sa.key_index)
        self.no_other_packets()


class TransportOverIpv6(IpsecTest):
    """An IPv6 SA (sa_v6) and ESP flow (esp_flow_v6): the engine decrypts transport
    mode under an IPv6 outer header; what scapy encrypted comes out."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_esp_flow(NIC_IP6, self.spi, fid)
        sa = SecurityAssociation(dst=NIC_IP6, spi=self.spi, key=KEYS["aes-gcm-256"], salt=SALT,
                                 cipher="aes-gcm-256", key_index=10)
        self.drv.add_sa(sa)
        peer = peer_sa(self.spi, "aes-gcm-256")
        inner = IPv6(src=PEER_IP6, dst=NIC_IP6, hlim=60) / UDP(sport=9, dport=10) / Raw(b"v6 data")
        frame = pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / peer.encrypt(inner, seq_num=1)))
        self.send(WIRE0, frame)
        exp = (rx_meta_bytes(RXF_FLOW_HIT | RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK
                             | ONE_PASS, fid, WIRE0, 0, 0, key_index=10)
               + bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / inner))
        self.expect(CONSUMER, exp, dont_care=[RX_META_TS], what="decrypted IPv6 datagram")
        self.no_other_packets()


class NestedTunnelOverTransport(IpsecTest):
    """Seed [0032]: ESP in tunnel mode around ESP in transport mode. The engine
    removes the tunnel layer; the plaintext is ESP again, so the NIC feeds it back
    (recirculation), key memory finds the inner SA and the engine decrypts once
    more: 2 passes, tunnel flag set, the inner SA's key index and flow."""

    def runTest(self):
        inner_spi = self.spi + 1
        fid = self.new_flow_id()
        self.drv.add_esp_flow(NIC_IP, inner_spi, fid)
        self.sa("chacha20-poly1305", key_index=11)                 # outer: tunnel
        self.drv.add_sa(SecurityAssociation(dst=NIC_IP, spi=inner_spi, key=KEYS["aes-gcm-128"],
                                             salt=SALT, key_index=12))   # inner: transport
        before = self.events()
        inner_peer = ScapySA(ESP, spi=inner_spi, crypt_algo="AES-GCM",
                             crypt_key=KEYS["aes-gcm-128"] + SALT)
        outer_peer = peer_sa(self.spi, "chacha20-poly1305", tunnel=True)
        data = plain(5, b"two layers of ESP")
        frame = pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC)
                          / outer_peer.encrypt(inner_peer.encrypt(data, seq_num=5), seq_num=9)))
        self.send(WIRE0, frame)
        self.expect_plain(CONSUMER, data, RXF_FLOW_HIT | RXF_KEY_VALID | RXF_DECRYPTED
                          | RXF_ICV_OK | RXF_TUNNEL | 2 * ONE_PASS, 12, fid)
        self.wait_events(before, to_engine=2, decrypted=2)
        # both layers' windows moved: the same frame again is a replay at the outer layer
        self.send(WIRE0, frame)
        self.wait_events(before, to_engine=2, decrypted=2, replay=1)
        self.no_other_packets()


class AesCbcHmacSha256(IpsecTest):
    """AES-128-CBC with HMAC-SHA-256-128 (RFC 3602, RFC 4868): no salt, a 16-byte IV;
    the NIC delivers what scapy encrypted."""

    def runTest(self):
        enc, auth = bytes(range(16, 32)), bytes(range(200, 232))
        self.drv.add_sa(SecurityAssociation(dst=NIC_IP, spi=self.spi, key=enc + auth,
                                            cipher="aes-cbc-hmac-sha256", key_index=13))
        peer = ScapySA(ESP, spi=self.spi, crypt_algo="AES-CBC", crypt_key=enc,
                       auth_algo="SHA2-256-128", auth_key=auth)
        inner = plain(3, b"block cipher " * 7)
        self.send(WIRE0, wire(peer, inner, 3))
        self.expect_plain(HOST_STACK, inner, RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK
                          | ONE_PASS, 13)
        self.no_other_packets()


class FragmentedAfterEncryptionGoesToTheHostStack(IpsecTest):
    """Seed 004's first branch without a reassembly policy: an ESP datagram
    fragmented after encryption is never sent to the engine in pieces; every fragment
    reaches the host stack as it came (the first marked with the key index) and
    counted, and the host, reassembling and decrypting, gets what scapy encrypted."""

    def runTest(self):
        self.sa("aes-gcm-128", key_index=14)
        before = self.events()
        peer = peer_sa(self.spi, "aes-gcm-128")
        inner = plain(8, bytes(range(256)) * 6)
        esp_ip = peer.encrypt(inner, seq_num=8)
        frags = fragment(esp_ip, fragsize=600)
        self.assertGreater(len(frags), 1)
        got = []
        for i, f in enumerate(frags):
            frame = pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / f))
            self.send(WIRE0, frame)
            if i == 0:
                exp = rx_meta_bytes(RXF_KEY_VALID, 0, WIRE0, 0, 0, key_index=14) + frame
                got.append(self.expect(HOST_STACK, exp, dont_care=[RX_META_TS, (20, 4)],
                                       what="first fragment")[32:])
            else:
                got.append(self.expect_unchanged(HOST_STACK, frame))
        self.wait_events(before, fragment_to_host=1)
        whole = defragment([Ether(g)[IP] for g in got])[0]
        self.assertEqual(bytes(peer.decrypt(IP(bytes(whole)))), bytes(IP(bytes(inner))))
        self.no_other_packets()


class FragmentedBeforeEncryptionDecryptedPerFragment(IpsecTest):
    """Seed 004's second branch without a reassembly policy: the inner datagram was
    fragmented before tunnel-mode encryption, so each ESP datagram is whole and
    decrypts on its own; the NIC delivers each plaintext fragment."""

    def runTest(self):
        self.sa("aes-gcm-256", key_index=15)
        peer = peer_sa(self.spi, "aes-gcm-256", tunnel=True)
        inner_frags = fragment(plain(9, b"z" * 1400), fragsize=512)
        self.assertEqual(len(inner_frags), 3)
        for seq, f in enumerate(inner_frags, start=1):
            self.send(WIRE0, wire(peer, f, seq))
            self.expect_plain(HOST_STACK, IP(bytes(f)), RXF_KEY_VALID | RXF_DECRYPTED
                              | RXF_ICV_OK | RXF_TUNNEL | ONE_PASS, 15)
        self.no_other_packets()


class BadIcvAndWrongKeyDropped(IpsecTest):
    """A flipped ICV bit, and a datagram encrypted under another key: both fail the
    engine's ICV check, are dropped and counted; the window does not move."""

    def runTest(self):
        self.sa("aes-gcm-128", key_index=6)
        before = self.events()
        good = wire(peer_sa(self.spi, "aes-gcm-128"), plain(1), 1)
        ip_len = int.from_bytes(good[16:18], "big")
        icv_byte = 14 + ip_len - 1
        tampered = bytearray(good)
        tampered[icv_byte] ^= 0x01
        self.send(WIRE0, bytes(tampered))
        self.send(WIRE0, wire(peer_sa(self.spi, "aes-gcm-128", key=bytes(16)), plain(2), 2))
        self.wait_events(before, to_engine=2, bad_icv=2)
        self.no_other_packets()
        # sequence number 1 was never accepted: the genuine datagram still is
        inner = plain(1)
        self.send(WIRE0, good)
        self.expect_plain(HOST_STACK, inner, RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK
                          | ONE_PASS, 6)


class AntiReplayWindow(IpsecTest):
    """RFC 4303 3.4.3: replays dropped (before the engine, or when it answers for a
    copy already in flight); numbers 64 or more behind the highest, and 0, are too
    old; numbers inside the window may come out of order."""

    def runTest(self):
        self.sa("aes-gcm-128", key_index=7)
        peer = peer_sa(self.spi, "aes-gcm-128")
        flags = RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK | ONE_PASS
        before = self.events()
        for seq in (1, 2, 100, 98, 99, 37):
            inner = plain(seq)
            self.send(WIRE0, wire(peer, inner, seq))
            self.expect_plain(HOST_STACK, inner, flags, 7)
        self.wait_events(before, to_engine=6, decrypted=6)
        before = self.events()
        for seq in (99, 98, 36, 2, 0):     # replay, replay, too old (100 - 36 = 64), zero
            self.send(WIRE0, wire(peer, plain(seq), seq))
        self.wait_events(before, replay=2, too_old=3)
        # two copies in flight at once: one is delivered, the other dropped on its return
        before = self.events()
        twice = wire(peer, plain(101), 101)
        self.send(WIRE0, twice)
        self.send(WIRE0, twice)
        self.expect_plain(HOST_STACK, plain(101), flags, 7)
        got = self._wait_value(self.events, lambda e: e["replay"] == before["replay"] + 1)
        self.assertEqual(got["decrypted"], before["decrypted"] + 1)
        self.assertEqual(got["replay"], before["replay"] + 1)
        self.no_other_packets()


class KeyRequestLoadsTheEngine(IpsecTest):
    """An SA only in the driver's database: the first datagram misses key memory (host
    stack, still encrypted, key request); the driver's answer loads the key into the
    engine and installs the SA, so the next datagram is decrypted (one mechanism)."""

    def runTest(self):
        sa = SecurityAssociation(dst=NIC_IP, spi=self.spi, key=KEYS["aes-gcm-128"], salt=SALT)
        self.drv.sa_database.add(sa)
        self.addCleanup(self.drv.sa_database.remove, NIC_IP, self.spi)
        peer = peer_sa(self.spi, "aes-gcm-128")
        first = wire(peer, plain(1), 1)
        self.send(WIRE0, first)
        exp = rx_meta_bytes(RXF_NO_KEY, 0, WIRE0, 0, 0) + first
        self.expect(HOST_STACK, exp, dont_care=[RX_META_TS, (20, 4)], what="still encrypted")
        self.assertEqual(self.next_event(SESSION.key_requests, "key request")[0], self.spi)
        key_index = next(r["key_index"] for r in self.drv.list_sas() if r["spi"] == self.spi)
        inner = plain(2)
        self.send(WIRE0, wire(peer, inner, 2))
        self.expect_plain(HOST_STACK, inner, RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK
                          | ONE_PASS, key_index)


class RemovedSaKeyLeavesTheEngine(IpsecTest):
    """remove_sa deletes the key from the engine too; an SA with decrypt=False only
    marks (seed 001 behaviour) even with an engine present."""

    def runTest(self):
        sa = self.sa("aes-gcm-128", key_index=8)
        self.drv.remove_sa(sa)
        marked = SecurityAssociation(dst=NIC_IP, spi=self.spi, key=KEYS["aes-gcm-128"],
                                     salt=SALT, key_index=9, decrypt=False)
        self.drv.add_sa(marked)
        frame = wire(peer_sa(self.spi, "aes-gcm-128"), plain(1), 1)
        before = self.events()
        self.send(WIRE0, frame)
        exp = rx_meta_bytes(RXF_KEY_VALID, 0, WIRE0, 0, 0, key_index=9) + frame
        self.expect(HOST_STACK, exp, dont_care=[RX_META_TS, (20, 4)], what="marked only")
        self.assertEqual(self.events(), before)


class EngineFramesFromTheWireDropped(IpsecTest):
    """Command frames belong on the engine's port: from a wire port they are dropped
    (parser_other), never decrypted or forwarded."""

    def runTest(self):
        drops = self.drops()
        forged = pad(bytes.fromhex(NIC_MAC.replace(":", "")) + bytes.fromhex("020000000002")
                     + b"\x88\xb5" + b"PN\x08\x01\x01\x01\x01\x11" + bytes(16)
                     + bytes(IP(src=PEER_IP, dst=NIC_IP) / UDP() / b"forged"))
        self.send(WIRE0, forged)
        self.wait_drop(drops, "parser_other", 1, len(forged))
        self.no_other_packets()


# ---- seed 004's decision tree with NIC reassembly ------------------------------------------
REASM_EVENTS = ("accepted", "reassembled")


class DecisionTreeTest(IpsecTest):
    """IpsecTest with reassembly enabled for every protocol."""

    def setUp(self) -> None:
        super().setUp()
        enable_reassembly(self.drv, timeout_ms=5000)

    def reasm(self) -> dict[str, int]:
        return {k: v[0] for k, v in reassembly_counters(self.drv).items()}

    def wait_reasm(self, before: dict[str, int], **more: int) -> None:
        """The reassembly counters named moved by ``more``; drops and refusals did not."""
        got = self._wait_value(self.reasm, lambda e: all(
            e[k] == before[k] + more.get(k, 0) for k in more))
        for k in ("accepted", "reassembled", "duplicate", "overlap", "tiny", "timeout",
                  "slot_busy", "too_big", "bad_length", "unsupported", "stale"):
            self.assertEqual(got[k], before[k] + more.get(k, 0), f"reasm_events {k}")


class ReassembleThenDecrypt(DecisionTreeTest):
    """Fragmented after encryption (Fig. 5, first branch): the NIC reassembles the ESP
    datagram, feeds it back, and the engine decrypts it once; both AEAD ciphers, the
    fragments in reverse order, an ESP flow to the consumer queue."""

    def runTest(self):
        for k, cipher in enumerate(("aes-gcm-128", "chacha20-poly1305")):
            self.spi += 1
            fid = self.new_flow_id()
            self.drv.add_esp_flow(NIC_IP, self.spi, fid)
            sa = self.sa(cipher, key_index=20 + k)
            peer = peer_sa(self.spi, cipher)
            inner = plain(30 + k, bytes(range(256)) * 8)
            frags = fragment(peer.encrypt(inner, seq_num=1), fragsize=800)
            self.assertEqual(len(frags), 3)
            before, rbefore = self.events(), self.reasm()
            for f in reversed(frags):
                self.send(WIRE0, pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / f)))
            self.expect_plain(CONSUMER, inner, RXF_FLOW_HIT | RXF_KEY_VALID | RXF_DECRYPTED
                              | RXF_ICV_OK | RXF_REASSEMBLED | ONE_PASS, sa.key_index, fid)
            self.wait_events(before, to_engine=1, decrypted=1)
            self.wait_reasm(rbefore, accepted=3, reassembled=1)
        self.no_other_packets()


class ReassembleThenDecryptIpv6(DecisionTreeTest):
    """The first branch under an IPv6 outer header: Fragment headers (fragment6), then
    an IPv6 SA (sa_v6)."""

    def runTest(self):
        sa = SecurityAssociation(dst=NIC_IP6, spi=self.spi, key=KEYS["aes-gcm-256"], salt=SALT,
                                 cipher="aes-gcm-256", key_index=22)
        self.drv.add_sa(sa)
        peer = peer_sa(self.spi, "aes-gcm-256")
        inner = IPv6(src=PEER_IP6, dst=NIC_IP6, hlim=60) / UDP(sport=9, dport=10) / Raw(
            bytes(range(256)) * 7)
        esp = peer.encrypt(inner, seq_num=4)
        frags = fragment6(IPv6(src=PEER_IP6, dst=NIC_IP6, hlim=60)
                          / IPv6ExtHdrFragment(id=0x5EED) / esp[ESP], 1000)
        self.assertEqual(len(frags), 2)
        before, rbefore = self.events(), self.reasm()
        for f in (frags[1], frags[0]):
            self.send(WIRE0, pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / f)))
        exp = (rx_meta_bytes(RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK | RXF_REASSEMBLED
                             | ONE_PASS, 0, WIRE0, 0, 0, key_index=22)
               + bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / inner))
        self.expect(HOST_STACK, exp, dont_care=[RX_META_TS], what="decrypted IPv6 datagram")
        self.wait_events(before, to_engine=1, decrypted=1)
        self.wait_reasm(rbefore, accepted=2, reassembled=1)
        self.no_other_packets()


class DecryptThenReassemble(DecisionTreeTest):
    """Fragmented before encryption (second branch): each tunnel-mode ESP datagram is
    decrypted on its own (3 engine passes), the plaintext fragments are fed back and
    reassembled, and the whole inner datagram is delivered, marked tunnel and
    reassembled. A plaintext fragment from the wire with the same addresses and
    identification never joins them: the SA is part of the reassembly key."""

    def runTest(self):
        sa = self.sa("aes-gcm-256", key_index=23)
        peer = peer_sa(self.spi, "aes-gcm-256", tunnel=True)
        inner = plain(40, bytes(range(256)) * 6)
        inner_frags = fragment(inner, fragsize=512)
        self.assertEqual(len(inner_frags), 4)
        before, rbefore = self.events(), self.reasm()
        for seq, f in ((1, inner_frags[2]), (2, inner_frags[0]), (3, inner_frags[3])):
            self.send(WIRE0, wire(peer, f, seq))
        # the missing piece in plaintext, straight from the wire: a datagram of its own
        self.send(WIRE0, pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / inner_frags[1])))
        self.no_packet_on(HOST_STACK)
        self.send(WIRE0, wire(peer, inner_frags[1], 4))
        self.expect_plain(HOST_STACK, inner, RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK
                          | RXF_TUNNEL | RXF_REASSEMBLED | ONE_PASS, sa.key_index)
        self.wait_events(before, to_engine=4, decrypted=4)
        self.wait_reasm(rbefore, accepted=5, reassembled=1)
        self.no_other_packets()


class TunnelReassembleTransport(DecisionTreeTest):
    """Fragmented between transport and tunnel encryption (third branch, seed [0032]):
    the transport-mode ESP datagram was fragmented, and each fragment tunnel-encrypted.
    The NIC decrypts the tunnel layer of each, reassembles the inner ESP datagram,
    feeds it back to key memory, and the engine removes the transport layer: 2 passes
    on the delivered datagram, tunnel and reassembled, the inner SA's key index."""

    def runTest(self):
        inner_spi = self.spi + 1
        self.sa("chacha20-poly1305", key_index=24)                     # outer: tunnel
        self.drv.add_sa(SecurityAssociation(dst=NIC_IP, spi=inner_spi, key=KEYS["aes-gcm-128"],
                                            salt=SALT, key_index=25))  # inner: transport
        inner_peer = ScapySA(ESP, spi=inner_spi, crypt_algo="AES-GCM",
                             crypt_key=KEYS["aes-gcm-128"] + SALT)
        outer_peer = peer_sa(self.spi, "chacha20-poly1305", tunnel=True)
        data = plain(50, bytes(range(256)) * 5)
        esp_frags = fragment(inner_peer.encrypt(data, seq_num=7), fragsize=600)
        self.assertEqual(len(esp_frags), 3)
        before, rbefore = self.events(), self.reasm()
        for seq, f in enumerate((esp_frags[1], esp_frags[2], esp_frags[0]), start=1):
            self.send(WIRE0, wire(outer_peer, f, seq))
        self.expect_plain(HOST_STACK, data, RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK
                          | RXF_TUNNEL | RXF_REASSEMBLED | 2 * ONE_PASS, 25)
        self.wait_events(before, to_engine=4, decrypted=4)
        self.wait_reasm(rbefore, accepted=3, reassembled=1)
        self.no_other_packets()


class ReassembledWithBadIcvDropped(DecisionTreeTest):
    """A reassembled ESP datagram whose ciphertext was changed in one fragment: the
    engine's ICV check fails, the datagram is dropped and counted, the window stays."""

    def runTest(self):
        sa = self.sa("aes-gcm-128", key_index=26)
        peer = peer_sa(self.spi, "aes-gcm-128")
        inner = plain(60, bytes(range(256)) * 4)
        esp_ip = peer.encrypt(inner, seq_num=1)
        frags = fragment(esp_ip, fragsize=512)
        tampered = IP(bytes(frags[1]))
        body = bytearray(bytes(tampered.payload))
        body[100] ^= 0x40
        tampered.remove_payload()
        tampered = tampered / Raw(bytes(body))
        before, rbefore = self.events(), self.reasm()
        for f in (frags[0], tampered, *frags[2:]):
            self.send(WIRE0, pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / f)))
        self.wait_events(before, to_engine=1, bad_icv=1)
        self.wait_reasm(rbefore, accepted=len(frags), reassembled=1)
        self.no_other_packets()
        # the genuine datagram (same sequence number) is still accepted
        for f in frags:
            self.send(WIRE0, pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / f)))
        self.expect_plain(HOST_STACK, inner, RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK
                          | RXF_REASSEMBLED | ONE_PASS, sa.key_index)
        self.no_other_packets()


class BareHostStackForAKernel(DecisionTreeTest):
    """A host-stack port whose receiver is a kernel (PortMap.bare): the decrypted
    (and reassembled) datagram leaves without the rx descriptor, as a kernel stack
    takes it; an ESP datagram without a key leaves bare too (the kernel's own
    IPsec can take it)."""

    def setUp(self) -> None:
        super().setUp()
        ports = dataclasses.replace(self.drv.ports, bare=(HOST_STACK,))
        self.drv.setup(ports, nic_macs=[NIC_MAC], clock=False)

    def runTest(self):
        self.sa("aes-gcm-128", key_index=27)
        peer = peer_sa(self.spi, "aes-gcm-128")
        inner = plain(70, b"for the kernel")
        self.send(WIRE0, wire(peer, inner, 1))
        self.expect(HOST_STACK, bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / inner),
                    what="bare plaintext")
        big = plain(71, bytes(range(256)) * 6)
        for f in fragment(peer.encrypt(big, seq_num=2), fragsize=800):
            self.send(WIRE0, pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / f)))
        self.expect(HOST_STACK, bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / big),
                    what="bare reassembled plaintext")
        nokey = esp4(self.spi + 5)
        self.send(WIRE0, nokey)
        self.expect_unchanged(HOST_STACK, nokey, "ESP without a key, bare")
        self.next_digest("key_request_t")
        self.no_other_packets()


class ExtendedSequenceNumbers(IpsecTest):
    """RFC 4303 2.2.1 / A2.1: an ESN SA's window top is 64 bits; the NIC infers the
    high half of each arriving number, the engine authenticates it (scapy's esn_en
    SA is the peer). Across the 2^32 boundary: before it, after it, a late one from
    before it again, then a replay."""

    def runTest(self):
        key = KEYS["aes-gcm-128"]
        self.drv.add_sa(SecurityAssociation(dst=NIC_IP, spi=self.spi, key=key, salt=SALT,
                                            key_index=28, esn=True))
        flags = RXF_KEY_VALID | RXF_DECRYPTED | RXF_ICV_OK | ONE_PASS
        before = self.events()
        for hi, lo in ((0, 0xFFFFFFF0), (1, 5), (0, 0xFFFFFFF8)):
            peer = ScapySA(ESP, spi=self.spi, crypt_algo="AES-GCM", crypt_key=key + SALT,
                           esn_en=True, esn=hi)
            inner = plain(lo & 0xFFFF, b"esn %d:%d" % (hi, lo))
            self.send(WIRE0, wire(peer, inner, lo))
            self.expect_plain(HOST_STACK, inner, flags, 28)
        self.wait_events(before, to_engine=3, decrypted=3)
        replay = ScapySA(ESP, spi=self.spi, crypt_algo="AES-GCM", crypt_key=key + SALT,
                         esn_en=True, esn=1)
        self.send(WIRE0, wire(replay, plain(5, b"esn 1:5"), 5))
        self.wait_events(before, to_engine=3, decrypted=3, replay=1)
        self.no_other_packets()
