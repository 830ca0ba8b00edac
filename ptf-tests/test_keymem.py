"""Key memory (seed 001): security associations keyed by (IPv4 destination, SPI).

A hit attaches the SA's key index to the packet (rx descriptor, RXF_KEY_VALID); a miss
sends a key_request_t digest (SPI and addresses) to the driver and the packet to the
host stack still encrypted, marked RXF_NO_KEY. The driver answers key requests from
its SA database by installing the SA, so the next packet hits. The ESP datagrams are
real AES-GCM ciphertext made by scapy; the test decrypts what the NIC delivered.
"""

from __future__ import annotations

from base_test import (
    CONSUMER,
    HOST_STACK,
    NIC_IP,
    NIC_IP6,
    NIC_MAC,
    PEER_IP,
    PEER_IP6,
    PEER_MAC,
    RX_META_LEN,
    RX_META_TS,
    RXF_FLOW_HIT,
    RXF_KEY_VALID,
    RXF_NO_KEY,
    RXF_TS_VALID,
    SESSION,
    WIRE0,
    WIRE1,
    P4nicTest,
    esp4,
    pad,
    rx_meta_bytes,
)
from p4nic.driver import SecurityAssociation
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP
from scapy.layers.ipsec import SecurityAssociation as ScapySA
from scapy.layers.l2 import Ether
from scapy.packet import Raw

KEY = bytes(range(0x40, 0x50))
SALT = b"\x01\x02\x03\x04"


def encrypted(spi: int, seq: int, secret: bytes, src: str = PEER_IP, dst: str = NIC_IP) -> bytes:
    """An Ethernet frame with a real ESP (AES-GCM-128) datagram around UDP ``secret``."""
    sa = ScapySA(ESP, spi=spi, seq_num=seq, crypt_algo="AES-GCM", crypt_key=KEY + SALT)
    inner = IP(src=src, dst=dst, id=seq) / UDP(sport=4500, dport=4501) / Raw(secret)
    return pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / sa.encrypt(inner)))


def decrypt(frame: bytes, spi: int) -> bytes:
    sa = ScapySA(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=KEY + SALT)
    ip = Ether(frame)[IP]
    return bytes(sa.decrypt(IP(bytes(ip)))[UDP].payload)


class KeyMemTest(P4nicTest):
    def expect_rx(self, port: int, frame: bytes, flags: int, key_index: int = 0,
                  flow_id: int = 0, packets: int = 0, nbytes: int = 0, what: str = "") -> bytes:
        exp = rx_meta_bytes(flags, flow_id, WIRE0, packets, nbytes, key_index=key_index) + frame
        return self.expect(port, exp, dont_care=[RX_META_TS, (20, 4)], what=what)

    def barrier_spi(self, spi: int) -> None:
        """Send an ESP packet nobody has a key for: the next digest must be its request
        (so no digest came for anything sent before it)."""
        f = esp4(spi)
        self.send(WIRE0, f)
        self.expect_rx(HOST_STACK, f, RXF_NO_KEY, what="barrier")
        d = self.next_digest("key_request_t")
        self.assertEqual(d["spi"], spi, f"an earlier packet caused a key request: {d}")


class SaHitAttachesKeyIndex(KeyMemTest):
    """An installed SA: the packet reaches the host stack unchanged behind an rx
    descriptor with RXF_KEY_VALID and the SA's key index; no key request; the SA entry
    counts the packet."""

    def runTest(self):
        h = self.drv.add_sa(SecurityAssociation(dst=NIC_IP, spi=0x2001, key_index=0x0ABC))
        f = encrypted(0x2001, 1, b"hello over ESP")
        self.send(WIRE0, f)
        got = self.expect_rx(HOST_STACK, f, RXF_KEY_VALID, key_index=0x0ABC)
        self.assertEqual(decrypt(got[RX_META_LEN:], 0x2001), b"hello over ESP")
        self.barrier_spi(0x2FFF)
        self.assertEqual(self.drv.sa_counters(h), (1, len(f)))
        self.no_other_packets()


class SaMissRequestsKey(KeyMemTest):
    """No SA and none in the SA database: every packet is delivered still encrypted,
    marked RXF_NO_KEY, and asks for the key (digest with SPI, source and destination);
    on_key_request callbacks see each request, the driver counts them unanswered.
    (The two packets come from different sources: a switch may hold back a digest
    identical to one whose acknowledgment it has not processed yet.)"""

    def runTest(self):
        unanswered = self.drv.key_requests_unanswered
        for seq, src in ((1, PEER_IP), (2, "10.0.0.3")):
            f = encrypted(0x2002, seq, b"nobody has the key", src=src)
            self.send(WIRE1, f)
            exp = rx_meta_bytes(RXF_NO_KEY, 0, WIRE1, 0, 0) + f
            got = self.expect(HOST_STACK, exp, dont_care=[RX_META_TS])
            # still encrypted: software with the key can read it
            self.assertEqual(decrypt(got[RX_META_LEN:], 0x2002), b"nobody has the key")
            self.assertEqual(self.next_digest("key_request_t"),
                             {"spi": 0x2002, "src": src, "dst": NIC_IP})
            self.assertEqual(self.next_event(SESSION.key_requests, "on_key_request"),
                             (0x2002, src, NIC_IP))
        self.assertEqual(self.drv.key_requests_unanswered, unanswered + 2)
        self.no_other_packets()


class DriverAnswersFromSaDatabase(KeyMemTest):
    """The SA is only in the driver's SA database: the first packet misses (NO_KEY,
    key request), the driver installs the SA with a free key index, the next packet
    hits with that index; no further request."""

    def runTest(self):
        # decrypt=False: key memory marking only (seed 001); test_ipsec decrypts
        sa = SecurityAssociation(dst=NIC_IP, spi=0x2003, key=KEY, salt=SALT, decrypt=False)
        self.drv.sa_database.add(sa)
        self.addCleanup(self.drv.sa_database.remove, NIC_IP, 0x2003)
        answered = self.drv.key_requests_answered
        first = encrypted(0x2003, 1, b"first")
        self.send(WIRE0, first)
        self.expect_rx(HOST_STACK, first, RXF_NO_KEY)
        self.assertEqual(self.next_digest("key_request_t"),
                         {"spi": 0x2003, "src": PEER_IP, "dst": NIC_IP})
        # the callback runs after the driver answered the request
        self.assertEqual(self.next_event(SESSION.key_requests, "on_key_request"),
                         (0x2003, PEER_IP, NIC_IP))
        self.assertEqual(self.drv.key_requests_answered, answered + 1)
        rows = [r for r in self.drv.list_sas() if r["spi"] == 0x2003]
        self.assertEqual(len(rows), 1, "the driver installed the SA")
        self.assertTrue(rows[0]["in_database"])
        key_index = rows[0]["key_index"]
        second = encrypted(0x2003, 2, b"second")
        self.send(WIRE0, second)
        got = self.expect_rx(HOST_STACK, second, RXF_KEY_VALID, key_index=key_index)
        self.assertEqual(decrypt(got[RX_META_LEN:], 0x2003), b"second")
        self.barrier_spi(0x2FFE)
        self.no_other_packets()


class SaKeyIsDestinationAndSpi(KeyMemTest):
    """Key memory matches destination and SPI: the same SPI to another destination and
    another SPI to the same destination miss; another source with the same destination
    and SPI hits."""

    def runTest(self):
        self.drv.add_sa(SecurityAssociation(dst=NIC_IP, spi=0x3001, key_index=5))
        other_dst = esp4(0x3001, dst="10.0.0.9")
        self.send(WIRE0, other_dst)
        self.expect_rx(HOST_STACK, other_dst, RXF_NO_KEY)
        self.assertEqual(self.next_digest("key_request_t"),
                         {"spi": 0x3001, "src": PEER_IP, "dst": "10.0.0.9"})
        other_spi = esp4(0x3002)
        self.send(WIRE0, other_spi)
        self.expect_rx(HOST_STACK, other_spi, RXF_NO_KEY)
        self.assertEqual(self.next_digest("key_request_t")["spi"], 0x3002)
        other_src = esp4(0x3001, src="10.9.9.9")
        self.send(WIRE0, other_src)
        self.expect_rx(HOST_STACK, other_src, RXF_KEY_VALID, key_index=5)
        self.barrier_spi(0x3FFF)
        self.no_other_packets()


class RemovedSaMissesAgain(KeyMemTest):
    """After remove_sa the SA's packets miss and request the key again."""

    def runTest(self):
        h = self.drv.add_sa(SecurityAssociation(dst=NIC_IP, spi=0x4001, key_index=9))
        f = esp4(0x4001, seq=1)
        self.send(WIRE0, f)
        self.expect_rx(HOST_STACK, f, RXF_KEY_VALID, key_index=9)
        self.drv.remove_sa(h)
        g = esp4(0x4001, seq=2)
        self.send(WIRE0, g)
        self.expect_rx(HOST_STACK, g, RXF_NO_KEY)
        self.assertEqual(self.next_digest("key_request_t")["spi"], 0x4001)
        self.no_other_packets()


class EspFlowWithoutKeyGoesToHostStack(KeyMemTest):
    """An ESP flow in MONITOR state delivers to its consumer only with a key: without
    one the packet goes to the host stack (software decrypts it), marked NO_KEY but
    still showing its flow; once the driver installed the SA from its database the
    flow's packets reach the consumer with the key index. Timestamps count both."""

    def runTest(self):
        fid = self.new_flow_id()
        self.drv.add_esp_flow(dst=NIC_IP, spi=0x5001, flow_id=fid, state="MONITOR",
                              ts_mode="in_packet")
        self.drv.sa_database.add(SecurityAssociation(dst=NIC_IP, spi=0x5001, key_index=0x55))
        self.addCleanup(self.drv.sa_database.remove, NIC_IP, 0x5001)
        a = encrypted(0x5001, 1, b"before the key")
        self.send(WIRE0, a)
        self.expect_rx(HOST_STACK, a, RXF_FLOW_HIT | RXF_TS_VALID | RXF_NO_KEY, flow_id=fid,
                       packets=1, nbytes=len(a))
        self.next_digest("key_request_t")
        self.next_event(SESSION.key_requests, "on_key_request")
        b = encrypted(0x5001, 2, b"with the key")
        self.send(WIRE0, b)
        got = self.expect_rx(CONSUMER, b, RXF_FLOW_HIT | RXF_TS_VALID | RXF_KEY_VALID,
                             key_index=0x55, flow_id=fid, packets=2, nbytes=len(a) + len(b))
        self.assertEqual(decrypt(got[RX_META_LEN:], 0x5001), b"with the key")
        self.no_other_packets()


class EspOverIpv6UsesKeyMemory(KeyMemTest):
    """Key memory holds IPv6 SAs too (sa_v6): ESP over IPv6 without an SA reaches the
    host stack marked NO_KEY with a key request (key_request_v6_t) for its (source,
    destination, SPI); with the SA installed it carries the key index, and an ESP flow
    over IPv6 (esp_flow_v6) delivers it to its consumer."""

    def runTest(self):
        f = pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / IPv6(src=PEER_IP6, dst=NIC_IP6)
                      / ESP(spi=0x6001, seq=1) / Raw(bytes(range(40)))))
        self.send(WIRE0, f)
        self.expect_rx(HOST_STACK, f, RXF_NO_KEY)
        self.assertEqual(self.next_digest("key_request_v6_t"),
                         {"spi": 0x6001, "src": PEER_IP6, "dst": NIC_IP6})
        fid = self.new_flow_id()
        self.drv.add_esp_flow(NIC_IP6, 0x6001, fid)
        self.drv.add_sa(SecurityAssociation(dst=NIC_IP6, spi=0x6001, key_index=0x66))
        self.send(WIRE0, f)
        self.expect_rx(CONSUMER, f, RXF_FLOW_HIT | RXF_KEY_VALID, key_index=0x66, flow_id=fid,
                       packets=1, nbytes=len(f))
        rows = [r for r in self.drv.list_sas() if r["spi"] == 0x6001]
        self.assertEqual((rows[0]["dst"], rows[0]["key_index"], rows[0]["packets"]),
                         (NIC_IP6, 0x66, 1))
        self.barrier_spi(0x6FFF)
