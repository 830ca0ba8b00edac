"""Lookaside crypto engine benchmark (seed 004).

What the engine costs per datagram: DECRYPT requests of transport-mode ESP
(IPv4, UDP payloads of 64, 512 and 1400 bytes, encrypted by scapy) through
``CryptoEngine.handle()``, per cipher. Beside it, the bare AEAD decrypt of the
same ciphertext, so the engine's own share (parsing, checks, building the
answer) can be read off. On a SmartNIC this is the crypto block's work, not
the host CPU's; here it is one Python thread's.

Run: .venv/bin/python bench/bench_crypto.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "controlplane"))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305  # noqa: E402
from p4nic.crypto_engine import AesCbcHmacSha256, CryptoEngine  # noqa: E402
from p4nic.cryptoframe import (  # noqa: E402
    CIPHER_CODES,
    FRAME_HDR_SIZE,
    decrypt_request_frame,
    esp_offset,
)
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402
from scapy.packet import Raw  # noqa: E402

SIZES = (64, 512, 1400)
SCAPY_ALGO = {"aes-gcm-128": ("AES-GCM", 16), "aes-gcm-256": ("AES-GCM", 32),
              "chacha20-poly1305": ("CHACHA20-POLY1305", 32), "aes-cbc-hmac-sha256": ("AES-CBC", 16)}
HMAC_KEY = bytes(range(100, 132))


def requests(cipher: str, size: int, count: int) -> tuple[bytes, bytes, list[bytes]]:
    """-> (key, salt, ``count`` DECRYPT request frames with distinct seq/IV)."""
    algo, klen = SCAPY_ALGO[cipher]
    key, salt = bytes(range(1, klen + 1)), b"\x0a\x0b\x0c\x0d"
    if algo == "AES-CBC":       # no salt; the engine's key is the AES key then the HMAC key
        sa = SecurityAssociation(ESP, spi=0x1000, crypt_algo=algo, crypt_key=key,
                                 auth_algo="SHA2-256-128", auth_key=HMAC_KEY)
        key, salt = key + HMAC_KEY, bytes(4)
    else:
        sa = SecurityAssociation(ESP, spi=0x1000, crypt_algo=algo, crypt_key=key + salt)
    pkt = IP(bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2)
                   / Raw(bytes(size))))
    return key, salt, [decrypt_request_frame(bytes(sa.encrypt(pkt)), 1) for _ in range(count)]


def bench_one(cipher: str, size: int, count: int, reps: int) -> dict[str, float]:
    key, salt, frames = requests(cipher, size, count)
    engine = CryptoEngine(None)
    engine.load_key(1, CIPHER_CODES[cipher], key, salt)
    handle = engine.handle
    for f in frames:                                        # warm-up
        handle(f)
    engine.reset_stats()
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    for _ in range(reps):
        for f in frames:
            handle(f)
    cpu, wall = time.process_time() - t_cpu, time.perf_counter() - t_wall
    done = engine.decrypted
    assert done == reps * len(frames), engine.stats()
    # the cipher alone: the same AEAD object on the same bytes
    if cipher.startswith("chacha"):
        aead = ChaCha20Poly1305(key)
    elif cipher.startswith("aes-cbc"):
        aead = AesCbcHmacSha256(key)
    else:
        aead = AESGCM(key)
    parts = []
    for f in frames:
        d = f[FRAME_HDR_SIZE:]
        esp = esp_offset(d)
        parts.append((salt + d[esp + 8:esp + 16], d[esp + 16:], d[esp:esp + 8]))
    t0 = time.process_time()
    for _ in range(reps):
        for nonce, data, aad in parts:
            aead.decrypt(nonce, data, aad)
    aead_cpu = time.process_time() - t0
    return {"dps": done / wall, "cpu_us": cpu / done * 1e6,
            "aead_us": aead_cpu / done * 1e6, "mbps": done * size / wall / 1e6}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="lookaside crypto engine benchmark")
    ap.add_argument("--quick", action="store_true", help="fewer datagrams")
    args = ap.parse_args(argv)
    count, reps = (200, 10) if args.quick else (500, 40)
    print(f"crypto engine handle(): transport-mode ESP over IPv4, DECRYPT -> OK answer "
          f"({count * reps} datagrams per figure, one thread)")
    for cipher in CIPHER_CODES:
        for size in SIZES:
            r = bench_one(cipher, size, count, reps)
            print(f"  {cipher:18} {size:5d} B  {r['dps']:9.0f} datagrams/s  "
                  f"{r['mbps']:7.1f} MB/s  {r['cpu_us']:6.2f} us CPU/datagram "
                  f"(cipher alone {r['aead_us']:5.2f} us)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
