"""The lookaside crypto engine (seed 004): ESP decryption against scapy's ESP as the
independent peer, key memory over command frames, and everything that must be
refused or ignored without an exception. Two tests run the engine's reader
thread (and the ``crypto-engine`` command) on a real veth pair in a network
namespace of their own."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import struct
import subprocess
import sys
import time
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from p4nic import p4names as n
from p4nic.crypto_engine import CryptoEngine, ipv4_checksum
from p4nic.cryptoframe import (
    FRAME_HDR_SIZE,
    CryptoFrameError,
    CryptoHeader,
    build_crypto_frame,
    decrypt_request_frame,
    esp_offset,
    key_delete_frame,
    key_load_body,
    key_load_frame,
    parse_crypto_frame,
    parse_key_load_body,
    sa_key_load_frame,
)
from p4nic.model import SecurityAssociation
from p4nic.rawsock import PACKET_OUTGOING, open_raw_in_netns, recv_frame
from scapy.layers.inet import ICMP, IP, UDP, IPOption_RR
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP
from scapy.layers.ipsec import SecurityAssociation as ScapySA
from scapy.packet import Raw

from .conftest import need_root

CIPHERS = {  # p4nic name -> (code, scapy algo, key length)
    "aes-gcm-128": (n.CRYPTO_CIPHER_AES_GCM_128, "AES-GCM", 16),
    "aes-gcm-256": (n.CRYPTO_CIPHER_AES_GCM_256, "AES-GCM", 32),
    "chacha20-poly1305": (n.CRYPTO_CIPHER_CHACHA20_POLY1305, "CHACHA20-POLY1305", 32),
}
STATUSES = {n.CRYPTO_ST_OK, n.CRYPTO_ST_BAD_ICV, n.CRYPTO_ST_NO_KEY, n.CRYPTO_ST_MALFORMED,
            n.CRYPTO_ST_UNSUPPORTED}


class Peer:
    """One SA: scapy encrypts, the engine holds the same key in slot ``index``."""

    def __init__(self, cipher: str, index: int, spi: int, tunnel: object = None,
                 seed: int = 0):
        code, algo, klen = CIPHERS[cipher]
        rng = random.Random(f"{cipher}-{index}-{spi}-{seed}")
        self.cipher, self.index, self.spi = cipher, index, spi
        self.key = rng.randbytes(klen)
        self.salt = rng.randbytes(4)
        self.sa = ScapySA(ESP, spi=spi, crypt_algo=algo, crypt_key=self.key + self.salt,
                          tunnel_header=tunnel)

    def load(self, engine: CryptoEngine) -> None:
        header, body = ask(engine, key_load_frame(self.index, self.cipher, self.key, self.salt))
        assert header.ok and body == b""

    def encrypt(self, pkt: object, seq: int | None = None) -> bytes:
        return bytes(self.sa.encrypt(pkt, seq_num=seq))

    def aead(self) -> AESGCM | ChaCha20Poly1305:
        return ChaCha20Poly1305(self.key) if "chacha" in self.cipher else AESGCM(self.key)


def ask(engine: CryptoEngine, frame: bytes) -> tuple[CryptoHeader, bytes]:
    answer = engine.handle(frame)
    assert answer is not None, "a request must be answered"
    assert answer[:6] == frame[6:12] and answer[6:12] == frame[:6], "MACs swapped"
    header, body = parse_crypto_frame(answer)
    request = CryptoHeader.from_bytes(frame, 14)
    for field in ("op", "key_index", "passes", "flags", "spi", "seq", "context"):
        assert getattr(header, field) == getattr(request, field), f"{field} echoed"
    assert header.status != n.CRYPTO_ST_REQUEST
    return header, body


def balanced(engine: CryptoEngine) -> bool:
    """Every request got exactly one answer status."""
    s = engine.stats()
    return s["requests"] == sum(s[k] for k in ("decrypted", "bad_icv", "no_key", "malformed",
                                               "unsupported", "keys_loaded", "keys_deleted"))


def plain(pkt: object) -> object:
    """Built once, so lengths and checksums are what goes on the wire."""
    return pkt.__class__(bytes(pkt))


def udp(size: int, v6: bool = False, options: bool = False) -> object:
    data = bytes((i * 7) & 0xFF for i in range(size))
    if v6:
        return plain(IPv6(src="2001:db8::1", dst="2001:db8::2", hlim=33) / UDP(sport=4000,
                     dport=5000) / Raw(data))
    opts = [IPOption_RR(routers=["10.9.9.9", "10.8.8.8"])] if options else []
    return plain(IP(src="10.0.0.1", dst="10.0.0.2", ttl=17, id=0x1234, flags="DF",
                    options=opts) / UDP(sport=4000, dport=5000) / Raw(data))


@pytest.fixture
def engine() -> CryptoEngine:
    return CryptoEngine(None)


# ---- decryption against scapy ------------------------------------------------------------------

CASES = {  # name -> (tunnel header or None, plaintext packet)
    "transport-v4": (None, lambda: udp(100)),
    "transport-v4-options": (None, lambda: udp(37, options=True)),
    "transport-v4-empty": (None, lambda: plain(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP())),
    "transport-v6": (None, lambda: udp(333, v6=True)),
    "tunnel-4in4": (lambda: IP(src="192.0.2.1", dst="192.0.2.2"), lambda: udp(64)),
    "tunnel-6in4": (lambda: IP(src="192.0.2.1", dst="192.0.2.2"), lambda: udp(1, v6=True)),
    "tunnel-4in6": (lambda: IPv6(src="2001:db8:1::1", dst="2001:db8:1::2"),
                    lambda: udp(500, options=True)),
    "tunnel-6in6": (lambda: IPv6(src="2001:db8:1::1", dst="2001:db8:1::2"),
                    lambda: udp(1400, v6=True)),
}


@pytest.mark.parametrize("cipher", list(CIPHERS))
@pytest.mark.parametrize("case", list(CASES))
def test_decrypts_exactly_what_scapy_encrypted(engine: CryptoEngine, cipher: str,
                                               case: str) -> None:
    tunnel, make = CASES[case]
    pkt = make()
    peer = Peer(cipher, 42, 0xC0DE0000 + len(case), tunnel() if tunnel else None)
    peer.load(engine)
    datagram = peer.encrypt(pkt, seq=0x01020304)
    frame = decrypt_request_frame(datagram, 42, passes=1, flags=0x5A, context=0xDEADBEEF)
    frame += bytes(max(0, 60 - len(frame)) + 7)             # Ethernet padding: never payload
    header, body = ask(engine, frame)
    assert header.status == n.CRYPTO_ST_OK
    assert (header.spi, header.seq) == (peer.spi, 0x01020304)
    assert body == bytes(pkt)
    if tunnel:
        assert header.mode == n.CRYPTO_MODE_TUNNEL
        assert header.next_hdr == (4 if isinstance(pkt, IP) else 41)
    else:
        assert header.mode == n.CRYPTO_MODE_TRANSPORT
        assert header.next_hdr == (pkt.proto if isinstance(pkt, IP) else pkt.nh)
        if isinstance(pkt, IP):
            ihl = pkt.ihl * 4
            assert ipv4_checksum(body[:10] + b"\0\0" + body[12:ihl]) == pkt.chksum
    assert engine.stats()["decrypted"] == 1 and balanced(engine)


def test_nested_tunnel_over_transport_takes_two_passes(engine: CryptoEngine) -> None:
    """Seed [0032]: transport SA end to end, tunnel SA between routers on top."""
    inner_sa = Peer("aes-gcm-128", 1, 0x1111)
    outer_sa = Peer("chacha20-poly1305", 2, 0x2222,
                    IP(src="198.51.100.1", dst="198.51.100.2"))
    inner_sa.load(engine)
    outer_sa.load(engine)
    pkt = udp(200)
    transport = inner_sa.encrypt(pkt, seq=5)
    wire = outer_sa.encrypt(IP(transport), seq=9)
    h1, b1 = ask(engine, decrypt_request_frame(wire, 2, passes=1, context=77))
    assert (h1.status, h1.mode, h1.next_hdr, h1.seq) == (n.CRYPTO_ST_OK, n.CRYPTO_MODE_TUNNEL,
                                                          4, 9)
    assert b1 == transport
    h2, b2 = ask(engine, decrypt_request_frame(b1, 1, passes=2, context=77))
    assert (h2.status, h2.mode, h2.next_hdr, h2.passes) == (n.CRYPTO_ST_OK,
                                                             n.CRYPTO_MODE_TRANSPORT, 17, 2)
    assert b2 == bytes(pkt)


# ---- what is refused ---------------------------------------------------------------------------

def test_wrong_key_is_bad_icv_and_the_datagram_comes_back_unchanged(engine: CryptoEngine) -> None:
    right = Peer("aes-gcm-256", 3, 0x3333)
    wrong = Peer("aes-gcm-256", 3, 0x3333, seed=1)
    wrong.load(engine)
    frame = decrypt_request_frame(right.encrypt(udp(50)), 3)
    header, body = ask(engine, frame)
    assert (header.status, header.mode, header.next_hdr) == (n.CRYPTO_ST_BAD_ICV, 0, 0)
    assert body == frame[FRAME_HDR_SIZE:]
    assert engine.stats()["bad_icv"] == 1


@pytest.mark.parametrize("cipher", list(CIPHERS))
@pytest.mark.parametrize("where", ["iv", "ciphertext-first", "ciphertext-last", "icv-first",
                                   "icv-last", "spi-and-header", "seq-and-header"])
def test_any_flipped_bit_of_the_protected_bytes_is_bad_icv(engine: CryptoEngine, cipher: str,
                                                           where: str) -> None:
    peer = Peer(cipher, 9, 0x9999)
    peer.load(engine)
    datagram = bytearray(peer.encrypt(udp(80), seq=1000))
    esp = esp_offset(datagram)
    pos = {"iv": esp + 11, "ciphertext-first": esp + 16, "ciphertext-last": len(datagram) - 17,
           "icv-first": len(datagram) - 16, "icv-last": len(datagram) - 1,
           "spi-and-header": esp + 3, "seq-and-header": esp + 7}[where]
    datagram[pos] ^= 0x10
    # SPI / seq are changed in the command header too (else MALFORMED: the
    # pipeline's copy must be the authenticated one); the AAD catches them
    frame = decrypt_request_frame(bytes(datagram), 9)
    header, body = ask(engine, frame)
    assert header.status == n.CRYPTO_ST_BAD_ICV
    assert body == bytes(datagram)


def test_unknown_and_deleted_key_slots_are_no_key(engine: CryptoEngine) -> None:
    peer = Peer("aes-gcm-128", 5, 0x5555)
    frame = decrypt_request_frame(peer.encrypt(udp(10)), 5)
    header, body = ask(engine, frame)
    assert header.status == n.CRYPTO_ST_NO_KEY and body == frame[FRAME_HDR_SIZE:]
    peer.load(engine)
    assert ask(engine, frame)[0].status == n.CRYPTO_ST_OK
    assert ask(engine, key_delete_frame(5))[0].status == n.CRYPTO_ST_OK
    assert ask(engine, frame)[0].status == n.CRYPTO_ST_NO_KEY
    assert ask(engine, key_delete_frame(5))[0].status == n.CRYPTO_ST_NO_KEY
    s = engine.stats()
    assert (s["no_key"], s["keys_loaded"], s["keys_deleted"], s["keys"]) == (3, 1, 1, 0)
    assert balanced(engine)


def test_key_load_answers(engine: CryptoEngine) -> None:
    def load(body: bytes, index: int = 1) -> int:
        header, answer_body = ask(engine, build_crypto_frame(
            CryptoHeader(n.CRYPTO_OP_KEY_LOAD, index, context=index), body))
        assert answer_body == b""
        return header.status

    k32, salt = bytes(range(32)), b"salt"
    assert load(key_load_body("aes-gcm-256", k32, salt)) == n.CRYPTO_ST_OK
    assert load(key_load_body("aes-gcm-128", k32[:16], salt), 1) == n.CRYPTO_ST_OK  # replace
    assert load(key_load_body(9, k32, salt)) == n.CRYPTO_ST_UNSUPPORTED
    assert load(key_load_body("aes-gcm-128", k32, salt)) == n.CRYPTO_ST_MALFORMED   # key len
    assert load(key_load_body("chacha20-poly1305", k32, b"sal")) == n.CRYPTO_ST_MALFORMED
    assert load(key_load_body("chacha20-poly1305", k32, salt)[:-1]) == n.CRYPTO_ST_MALFORMED
    assert load(b"\x01\x10") == n.CRYPTO_ST_MALFORMED
    assert load(key_load_body("chacha20-poly1305", k32, salt) + bytes(20), 0xFFFF) == \
        n.CRYPTO_ST_OK                                                  # padding after salt
    assert engine.keys() == {1: "aes-gcm-128", 0xFFFF: "chacha20-poly1305"}
    s = engine.stats()
    assert (s["keys_loaded"], s["unsupported"], s["malformed"]) == (3, 1, 4)
    assert sum(v for k, v in engine.reasons.items() if k.startswith("malformed")) == 4
    assert balanced(engine)


def test_frame_helpers_round_trip() -> None:
    sa = SecurityAssociation(dst="10.0.0.2", spi=0x77, key_index=12, key=bytes(16),
                             cipher="aes-gcm-128", salt=b"abcd")
    header, body = parse_crypto_frame(sa_key_load_frame(sa, context=3))
    assert (header.op, header.key_index, header.context) == (n.CRYPTO_OP_KEY_LOAD, 12, 3)
    assert parse_key_load_body(body) == (n.CRYPTO_CIPHER_AES_GCM_128, bytes(16), b"abcd")
    with pytest.raises(CryptoFrameError):
        parse_key_load_body(body[:-1])
    with pytest.raises(CryptoFrameError):
        CryptoHeader(n.CRYPTO_OP_DECRYPT, key_index=1 << 16).to_bytes()
    with pytest.raises(CryptoFrameError):
        esp_offset(bytes(udp(10)))
    with pytest.raises(CryptoFrameError):
        parse_crypto_frame(b"\x00" * 12 + b"\x08\x00" + bytes(30))


def esp(peer: Peer, seq: int, inner: bytes, outer: object = None, iv: bytes = bytes(8)) -> bytes:
    """An ESP datagram built by hand (``inner`` = payload || padding || pad len || nh),
    for trailers scapy would never produce."""
    spi_seq = struct.pack("!II", peer.spi, seq)
    ct = peer.aead().encrypt(peer.salt + iv, inner, spi_seq)
    outer = outer if outer is not None else IP(src="10.0.0.1", dst="10.0.0.2", proto=50)
    return bytes(plain(outer / Raw(spi_seq + iv + ct)))


def test_trailer_and_inner_header_are_checked_after_a_good_icv(engine: CryptoEngine) -> None:
    peer = Peer("aes-gcm-128", 4, 0x4444)
    peer.load(engine)
    inner = bytes(udp(30))
    cases = {
        b"payload" + bytes((1, 2, 3)) + b"\x03\x11": n.CRYPTO_ST_OK,
        b"payload" + bytes((1, 9, 3)) + b"\x03\x11": n.CRYPTO_ST_MALFORMED,   # padding
        b"ab" + b"\x09\x11": n.CRYPTO_ST_MALFORMED,                            # pad len
        b"\x00\x11": n.CRYPTO_ST_OK,                                          # empty payload
        b"not an IPv4 header, not at all" + b"\x00\x04": n.CRYPTO_ST_MALFORMED,
        inner[:-1] + b"\x00\x04": n.CRYPTO_ST_MALFORMED,                      # inner cut
        inner + b"\x00\x29": n.CRYPTO_ST_MALFORMED,                           # v4 as v6
        inner + b"TFC-padding" + b"\x01\x02\x03\x03\x04": n.CRYPTO_ST_OK,
    }
    for i, (trailer, status) in enumerate(cases.items()):
        header, body = ask(engine, decrypt_request_frame(esp(peer, i + 1, trailer), 4))
        assert header.status == status, trailer
    tfc = inner + b"TFC-padding" + b"\x01\x02\x03\x03\x04"
    header, body = ask(engine, decrypt_request_frame(esp(peer, 99, tfc), 4))
    assert header.mode == n.CRYPTO_MODE_TUNNEL and body == inner, "TFC padding cut off"
    assert balanced(engine)


def test_datagrams_the_engine_cannot_decrypt(engine: CryptoEngine) -> None:
    peer = Peer("aes-gcm-128", 6, 0x6666)
    peer.load(engine)
    good = bytearray(peer.encrypt(udp(40), seq=3))

    def status(datagram: bytes | bytearray, **hdr: int) -> int:
        fields = {"spi": peer.spi, "seq": 3, **hdr}
        frame = build_crypto_frame(CryptoHeader(n.CRYPTO_OP_DECRYPT, 6, **fields),
                                   bytes(datagram))
        header, body = ask(engine, frame)
        assert header.ok or body == bytes(datagram), "errors echo the datagram"
        return header.status

    def patched(offset: int, value: bytes) -> bytearray:
        d = bytearray(good)
        d[offset:offset + len(value)] = value
        return d

    assert status(good, seq=4) == n.CRYPTO_ST_MALFORMED          # header seq != ESP seq
    assert status(good, spi=1) == n.CRYPTO_ST_MALFORMED
    assert status(patched(9, b"\x11")) == n.CRYPTO_ST_UNSUPPORTED  # not ESP
    assert status(patched(6, b"\x20\x00")) == n.CRYPTO_ST_MALFORMED  # MF: a fragment
    assert status(patched(6, b"\x00\x10")) == n.CRYPTO_ST_MALFORMED  # offset: a fragment
    assert status(patched(0, b"\x44")) == n.CRYPTO_ST_MALFORMED    # IHL 4
    assert status(patched(0, b"\x4f")) == n.CRYPTO_ST_MALFORMED    # IHL 15 > total length
    assert status(patched(2, struct.pack("!H", len(good) + 1))) == n.CRYPTO_ST_MALFORMED
    assert status(patched(2, struct.pack("!H", 20 + 33))) == n.CRYPTO_ST_MALFORMED
    assert status(patched(2, struct.pack("!H", len(good) - 1))) == n.CRYPTO_ST_BAD_ICV
    assert status(patched(0, b"\x55")) == n.CRYPTO_ST_MALFORMED    # IP version 5
    v6 = bytes(plain(IPv6(src="::1", dst="::2", nh=50) / Raw(bytes(good[20:]))))
    assert status(v6) == n.CRYPTO_ST_OK
    assert status(v6[:4] + struct.pack("!H", len(v6) - 39) + v6[6:]) == n.CRYPTO_ST_MALFORMED
    assert status(v6[:4] + b"\x00\x00" + v6[6:]) == n.CRYPTO_ST_UNSUPPORTED       # jumbo
    assert status(v6[:6] + b"\x00" + v6[7:]) == n.CRYPTO_ST_UNSUPPORTED    # hop-by-hop first
    assert status(v6[:30]) == n.CRYPTO_ST_MALFORMED
    assert status(b"") == n.CRYPTO_ST_MALFORMED
    frame = build_crypto_frame(CryptoHeader(7, 6), bytes(good))
    header, body = ask(engine, frame)
    assert header.status == n.CRYPTO_ST_UNSUPPORTED                # unknown op
    assert balanced(engine)


def test_truncated_requests_never_raise(engine: CryptoEngine) -> None:
    peer = Peer("chacha20-poly1305", 8, 0x8888)
    peer.load(engine)
    frame = decrypt_request_frame(peer.encrypt(udp(60, v6=True)), 8)
    for cut in range(len(frame)):
        answer = engine.handle(frame[:cut])
        if cut < FRAME_HDR_SIZE:
            assert answer is None
        else:
            assert answer is not None and parse_crypto_frame(answer)[0].status == \
                n.CRYPTO_ST_MALFORMED, cut
    assert engine.stats()["ignored"] == FRAME_HDR_SIZE and balanced(engine)


def test_frames_that_are_not_requests_are_ignored(engine: CryptoEngine) -> None:
    peer = Peer("aes-gcm-128", 1, 0x1)
    peer.load(engine)
    good = decrypt_request_frame(peer.encrypt(udp(20)), 1)
    answer = engine.handle(good)
    assert answer is not None
    engine.reset_stats()
    for frame in (
        answer,                                                      # an answer looping back
        good[:12] + b"\x08\x00" + good[14:],                         # IPv4 ethertype
        good[:14] + b"NP" + good[16:],                               # magic
        good[:16] + b"\x07" + good[17:],                             # p4nic type
        good[:17] + b"\x02" + good[18:],                             # version
        good[:12] + b"\x81\x00" + good[12:],                         # VLAN-tagged
        b"", b"\x88\xb5" * 5, bytes(60),
    ):
        assert engine.handle(frame) is None
    s = engine.stats()
    assert (s["received"], s["ignored"], s["requests"]) == (9, 9, 0)


def test_random_frames_and_mutations_never_raise(engine: CryptoEngine) -> None:
    rng = random.Random(4)
    peers = [Peer(c, i, 0x100 + i) for i, c in enumerate(CIPHERS)]
    for p in peers:
        p.load(engine)
    frames = [decrypt_request_frame(p.encrypt(pkt), p.index)
              for p in peers for pkt in (udp(30), udp(90, v6=True))]
    for _ in range(3000):
        f = bytearray(rng.choice(frames))
        for _ in range(rng.randint(1, 4)):
            f[rng.randrange(12, len(f))] = rng.randrange(256)
        if rng.random() < 0.3:
            del f[rng.randrange(len(f)):]
        answer = engine.handle(bytes(f))
        if answer is not None:
            assert parse_crypto_frame(answer)[0].status in STATUSES
        engine.handle(b"\x00" * 12 + b"\x88\xb5" + rng.randbytes(rng.randrange(60)))
    assert balanced(engine)


# ---- on a real veth pair -----------------------------------------------------------------------

def _veth(tag: str) -> tuple[str, str, str]:
    need_root()
    ns = f"p4nic-ce-{tag}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    ex = ["ip", "netns", "exec", ns]
    subprocess.run(ex + ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                         "net.ipv6.conf.default.disable_ipv6=1"], check=True)
    subprocess.run(["ip", "-n", ns, "link", "add", "cea", "type", "veth", "peer", "name",
                    "ceb"], check=True)
    for dev in ("cea", "ceb"):
        subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
    return ns, "cea", "ceb"


def _answers(sock: object, count: int, timeout: float = 10.0) -> list[bytes]:
    import select
    out: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            data, pkttype = recv_frame(sock)  # type: ignore[arg-type]
            if pkttype != PACKET_OUTGOING and data[12:14] == b"\x88\xb5":
                out.append(data)
    return out


def test_engine_answers_on_a_veth_pair() -> None:
    ns, nic_end, engine_end = _veth(uuid.uuid4().hex[:8])
    engine = CryptoEngine(engine_end, netns=ns)
    sock = None
    try:
        engine.start()
        sock = open_raw_in_netns(nic_end, ns)
        peers = [Peer(c, 10 + i, 0xA000 + i) for i, c in enumerate(CIPHERS)]
        requests = [key_load_frame(p.index, p.cipher, p.key, p.salt, context=i)
                    for i, p in enumerate(peers)]
        pkts = [udp(64 + 100 * i, v6=bool(i & 1), options=i == 2) for i in range(12)]
        requests += [decrypt_request_frame(peers[i % 3].encrypt(pkt, seq=i + 1),
                                           peers[i % 3].index, context=100 + i)
                     for i, pkt in enumerate(pkts)]
        requests.append(decrypt_request_frame(peers[0].encrypt(pkts[0]), 99, context=999))
        for frame in requests:
            sock.send(frame)
        sock.send(b"\xff" * 60)                                      # not for the engine
        got = _answers(sock, len(requests))
        assert len(got) == len(requests), engine.stats()
        by_ctx = {h.context: (h, body) for h, body in map(parse_crypto_frame, got)}
        for i in range(3):
            assert by_ctx[i][0].ok and by_ctx[i][0].op == n.CRYPTO_OP_KEY_LOAD
        for i, pkt in enumerate(pkts):
            header, body = by_ctx[100 + i]
            assert header.ok and header.mode == n.CRYPTO_MODE_TRANSPORT and header.seq == i + 1
            assert body == bytes(pkt)
        assert by_ctx[999][0].status == n.CRYPTO_ST_NO_KEY
        time.sleep(0.2)
        s = engine.stats()
        assert (s["requests"], s["decrypted"], s["keys_loaded"], s["no_key"], s["ignored"],
                s["send_errors"], s["kernel_drops"]) == (16, 12, 3, 1, 1, 0, 0)
    finally:
        engine.stop()
        if sock is not None:
            sock.close()
        subprocess.run(["ip", "netns", "del", ns], check=False)


CLI = r"""
import argparse, sys
from p4nic.crypto_cli import add_crypto_engine_command, cmd_crypto_engine
ap = argparse.ArgumentParser()
sub = ap.add_subparsers(dest="command")
add_crypto_engine_command(lambda name, text: sub.add_parser(name, help=text), lambda p, s: None)
sys.exit(cmd_crypto_engine(ap.parse_args(sys.argv[1:])))
"""


def test_crypto_engine_command_runs_until_sigterm_and_prints_stats() -> None:
    ns, nic_end, engine_end = _veth(uuid.uuid4().hex[:8])
    proc = None
    sock = None
    try:
        env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "..",
                                                       "controlplane"))
        proc = subprocess.Popen([sys.executable, "-c", CLI, "crypto-engine", "--iface",
                                 engine_end, "--netns", ns], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        assert "answering on" in proc.stderr.readline()
        sock = open_raw_in_netns(nic_end, ns)
        peer = Peer("aes-gcm-256", 7, 0x7777)
        sock.send(key_load_frame(7, peer.cipher, peer.key, peer.salt))
        sock.send(decrypt_request_frame(peer.encrypt(udp(100)), 7))
        got = _answers(sock, 2)
        assert [parse_crypto_frame(f)[0].status for f in got] == [n.CRYPTO_ST_OK] * 2
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "requests=2 decrypted=1" in out and "keys_loaded=1" in out
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if sock is not None:
            sock.close()
        subprocess.run(["ip", "netns", "del", ns], check=False)


@pytest.mark.parametrize("tunnel", [False, True])
def test_aes_cbc_hmac_sha256_against_scapy(tunnel: bool) -> None:
    """RFC 3602 AES-128-CBC + RFC 4868 HMAC-SHA-256-128: scapy encrypts, the engine's
    plaintext is what scapy encrypted; one flipped ICV bit is BAD_ICV."""
    enc, auth = bytes(range(16)), bytes(range(50, 82))
    kw = {"tunnel_header": IP(src="192.0.2.9", dst="10.0.0.2")} if tunnel else {}
    peer = ScapySA(ESP, spi=0x77, crypt_algo="AES-CBC", crypt_key=enc,
                   auth_algo="SHA2-256-128", auth_key=auth, **kw)
    eng = CryptoEngine(None)
    eng.handle(key_load_frame(5, "aes-cbc-hmac-sha256", enc + auth, bytes(4)))
    inner = IP(src="10.0.0.1", dst="10.0.0.2", id=3) / UDP(sport=1, dport=2) / Raw(b"cbc" * 30)
    datagram = bytes(peer.encrypt(inner, seq_num=4))
    head, body = parse_crypto_frame(eng.handle(decrypt_request_frame(datagram, 5)))
    assert head.status == n.CRYPTO_ST_OK
    assert head.mode == (n.CRYPTO_MODE_TUNNEL if tunnel else n.CRYPTO_MODE_TRANSPORT)
    assert body == bytes(IP(bytes(inner)))
    bad = bytearray(datagram)
    bad[-1] ^= 1
    head, body = parse_crypto_frame(eng.handle(decrypt_request_frame(bytes(bad), 5)))
    assert head.status == n.CRYPTO_ST_BAD_ICV and body == bytes(bad)


@pytest.mark.parametrize("cipher", ["aes-gcm-128", "chacha20-poly1305", "aes-cbc-hmac-sha256"])
def test_extended_sequence_numbers_as_scapy(cipher: str) -> None:
    """ESN (RFC 4303 2.2.1): a key slot loaded with the ESN flag authenticates the
    high 32 bits from the command header; scapy's esn_en SA is the peer. The same
    datagram with another high half fails the ICV check."""
    engine = CryptoEngine(None)
    rng = random.Random(cipher)
    if cipher == "aes-cbc-hmac-sha256":
        enc, auth = rng.randbytes(16), rng.randbytes(32)
        key, salt = enc + auth, bytes(4)
        sa = ScapySA(ESP, spi=0x77, crypt_algo="AES-CBC", crypt_key=enc,
                     auth_algo="SHA2-256-128", auth_key=auth, esn_en=True, esn=3)
    else:
        code, algo, klen = CIPHERS[cipher]
        key, salt = rng.randbytes(klen), rng.randbytes(4)
        sa = ScapySA(ESP, spi=0x77, crypt_algo=algo, crypt_key=key + salt, esn_en=True, esn=3)
    header, _ = ask(engine, key_load_frame(9, cipher, key, salt, esn=True))
    assert header.ok
    inner = IP(src="10.0.0.2", dst="10.0.0.1") / UDP(sport=1, dport=2) / Raw(b"esn" * 20)
    esp = bytes(sa.encrypt(inner, seq_num=5))
    good = decrypt_request_frame(esp, 9)
    hdr = CryptoHeader.from_bytes(good, 14)
    with_hi = (dataclasses.replace(hdr, seq_hi=3).to_bytes())
    header, body = ask(engine, good[:14] + with_hi + good[14 + len(with_hi):])
    assert header.ok, header
    assert body == bytes(IP(bytes(inner)))
    header, _ = ask(engine, good)          # seq_hi 0: not what was authenticated
    assert header.status == n.CRYPTO_ST_BAD_ICV
