"""Command frames between the NIC pipeline and the lookaside crypto engine (seed 004).

The engine sits behind a dedicated switch port (DESIGN.md §2). Everything that
passes over that port, in both directions, is one Ethernet frame::

    Ethernet (14, ethertype 0x88B5) | p4nic_crypto_t (24) | body

``p4nic_crypto_t`` (big-endian) is magic "PN", type PT_CRYPTO, version, op,
status, mode, next_hdr, key_index (u16), passes, flags, spi (u32), seq (u32),
context (u32). A request has status 0; the engine answers with status, mode
and next_hdr filled in and every other field echoed, so the pipeline can put
what it needs to resume a packet (passes, flags, context) into the request and
find it again in the answer without keeping per-request state.

Bodies: DECRYPT carries an IP datagram whose payload is ESP (the answer carries
the plaintext datagram, or the request's datagram unchanged on error);
KEY_LOAD carries ``cipher, key_len, salt_len, pad`` then key and salt;
KEY_DELETE and key answers carry nothing.

These are pure functions over bytes so that the driver, the engine and the PTF
tests share one definition of the layout (p4src's header must match it).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from p4nic import p4names as n
from p4nic.model import SecurityAssociation

# magic, type, version, op, status, mode, next_hdr, key_index, passes, flags, spi, seq, context,
# seq_hi
CRYPTO_HDR = struct.Struct("!HBBBBBBHBBIIII")
assert CRYPTO_HDR.size == n.CRYPTO_HDR_SIZE
ETH_HDR_SIZE = 14
FRAME_HDR_SIZE = ETH_HDR_SIZE + n.CRYPTO_HDR_SIZE       # where the body starts
KEY_LOAD_HDR = struct.Struct("!BBBB")                    # cipher, key_len, salt_len, flags
KEY_FLAG_ESN = 0x01      # the SA uses extended sequence numbers (RFC 4303 2.2.1)
SALT_SIZE = 4

# Locally administered defaults; the pipeline may use any addresses, the engine swaps them.
NIC_CRYPTO_MAC = "02:00:00:00:00:01"
ENGINE_MAC = "02:00:00:00:00:ce"

CIPHER_CODES: dict[str, int] = {
    "aes-gcm-128": n.CRYPTO_CIPHER_AES_GCM_128,
    "aes-gcm-256": n.CRYPTO_CIPHER_AES_GCM_256,
    "chacha20-poly1305": n.CRYPTO_CIPHER_CHACHA20_POLY1305,
    "aes-cbc-hmac-sha256": n.CRYPTO_CIPHER_AES_CBC_HMAC_SHA256,
}
CIPHER_NAMES: dict[int, str] = {code: name for name, code in CIPHER_CODES.items()}
KEY_SIZES: dict[int, int] = {n.CRYPTO_CIPHER_AES_GCM_128: 16, n.CRYPTO_CIPHER_AES_GCM_256: 32,
                             n.CRYPTO_CIPHER_CHACHA20_POLY1305: 32,
                             n.CRYPTO_CIPHER_AES_CBC_HMAC_SHA256: 48}
OP_NAMES = {n.CRYPTO_OP_DECRYPT: "decrypt", n.CRYPTO_OP_KEY_LOAD: "key-load",
            n.CRYPTO_OP_KEY_DELETE: "key-delete"}
STATUS_NAMES = {n.CRYPTO_ST_REQUEST: "request", n.CRYPTO_ST_OK: "ok",
                n.CRYPTO_ST_BAD_ICV: "bad-icv", n.CRYPTO_ST_NO_KEY: "no-key",
                n.CRYPTO_ST_MALFORMED: "malformed", n.CRYPTO_ST_UNSUPPORTED: "unsupported"}
MODE_NAMES = {n.CRYPTO_MODE_NONE: "none", n.CRYPTO_MODE_TRANSPORT: "transport",
              n.CRYPTO_MODE_TUNNEL: "tunnel"}
IPPROTO_ESP = 50


class CryptoFrameError(ValueError):
    """Bytes that are not a crypto command frame, or a body that does not fit."""


@dataclass(frozen=True)
class CryptoHeader:
    """``p4nic_crypto_t`` without magic/type/version (those are constants)."""
    op: int
    key_index: int = 0
    status: int = n.CRYPTO_ST_REQUEST
    mode: int = n.CRYPTO_MODE_NONE
    next_hdr: int = 0
    passes: int = 0
    flags: int = 0
    spi: int = 0
    seq: int = 0
    context: int = 0
    seq_hi: int = 0       # ESN: the high 32 bits of the sequence number

    def to_bytes(self) -> bytes:
        try:
            return CRYPTO_HDR.pack(n.P4NIC_MAGIC, n.PT_CRYPTO, n.P4NIC_VERSION, self.op,
                                   self.status, self.mode, self.next_hdr, self.key_index,
                                   self.passes, self.flags, self.spi, self.seq, self.context,
                                   self.seq_hi)
        except struct.error as e:
            raise CryptoFrameError(f"crypto header field out of range: {e}") from None

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> CryptoHeader:
        """Parse the 28 header bytes at ``offset``; CryptoFrameError if they are not one."""
        if len(data) < offset + CRYPTO_HDR.size:
            raise CryptoFrameError(f"{len(data) - offset} bytes: too short for a crypto header")
        (magic, ptype, version, op, status, mode, nh, key_index, passes, flags, spi, seq,
         context, seq_hi) = CRYPTO_HDR.unpack_from(data, offset)
        if magic != n.P4NIC_MAGIC:
            raise CryptoFrameError(f"bad magic 0x{magic:04x} (expected 0x{n.P4NIC_MAGIC:04x})")
        if ptype != n.PT_CRYPTO:
            raise CryptoFrameError(f"p4nic header type {ptype}, expected {n.PT_CRYPTO}")
        if version != n.P4NIC_VERSION:
            raise CryptoFrameError(f"crypto header version {version}, expected "
                                   f"{n.P4NIC_VERSION}")
        return cls(op, key_index, status, mode, nh, passes, flags, spi, seq, context, seq_hi)

    @property
    def ok(self) -> bool:
        return self.status == n.CRYPTO_ST_OK

    @property
    def is_request(self) -> bool:
        return self.status == n.CRYPTO_ST_REQUEST

    def describe(self) -> str:
        """One line for logs and ``p4nic watch``-style output."""
        return (f"crypto {OP_NAMES.get(self.op, f'op{self.op}')} "
                f"{STATUS_NAMES.get(self.status, f'status{self.status}')} key {self.key_index} "
                f"spi 0x{self.spi:08x} seq {self.seq} mode "
                f"{MODE_NAMES.get(self.mode, str(self.mode))} nh {self.next_hdr} "
                f"passes {self.passes} flags 0x{self.flags:02x} ctx 0x{self.context:x}")


def mac_bytes(mac: str | bytes) -> bytes:
    """'02:00:..' or 6 raw bytes -> 6 bytes."""
    if isinstance(mac, (bytes, bytearray)):
        if len(mac) != 6:
            raise CryptoFrameError(f"MAC address of {len(mac)} bytes")
        return bytes(mac)
    try:
        raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    except ValueError:
        raw = b""
    if len(raw) != 6:
        raise CryptoFrameError(f"'{mac}' is not a MAC address")
    return raw


def build_crypto_frame(header: CryptoHeader, body: bytes = b"", *,
                       dst_mac: str | bytes = ENGINE_MAC,
                       src_mac: str | bytes = NIC_CRYPTO_MAC) -> bytes:
    """Ethernet + crypto header + body. No padding to 60 bytes: the sending
    socket or switch port does that when the medium needs it."""
    return (mac_bytes(dst_mac) + mac_bytes(src_mac)
            + n.ETHERTYPE_P4NIC_CRYPTO.to_bytes(2, "big") + header.to_bytes() + bytes(body))


def is_crypto_frame(frame: bytes | bytearray | memoryview) -> bool:
    """Cheap test: long enough, and the ethertype says crypto command."""
    return (len(frame) >= FRAME_HDR_SIZE
            and frame[12] == n.ETHERTYPE_P4NIC_CRYPTO >> 8
            and frame[13] == n.ETHERTYPE_P4NIC_CRYPTO & 0xFF)


def parse_crypto_frame(frame: bytes | bytearray | memoryview) -> tuple[CryptoHeader, bytes]:
    """-> (header, body). The body is everything after the header, trailing
    Ethernet padding included: its own length fields (IP lengths, key_len and
    salt_len) say where it ends."""
    if len(frame) < FRAME_HDR_SIZE:
        raise CryptoFrameError(f"{len(frame)} bytes: too short for a crypto command frame "
                               f"({FRAME_HDR_SIZE})")
    ethertype = int.from_bytes(bytes(frame[12:14]), "big")
    if ethertype != n.ETHERTYPE_P4NIC_CRYPTO:
        raise CryptoFrameError(f"ethertype 0x{ethertype:04x}, expected "
                               f"0x{n.ETHERTYPE_P4NIC_CRYPTO:04x}")
    return CryptoHeader.from_bytes(frame, ETH_HDR_SIZE), bytes(frame[FRAME_HDR_SIZE:])


def frame_macs(frame: bytes | bytearray | memoryview) -> tuple[bytes, bytes]:
    """(destination, source) MAC of a frame."""
    return bytes(frame[0:6]), bytes(frame[6:12])


def esp_offset(datagram: bytes | bytearray | memoryview) -> int:
    """Offset of the ESP header in an IPv4 datagram (options allowed) or an IPv6
    datagram without extension headers; CryptoFrameError if it carries no ESP."""
    if not datagram:
        raise CryptoFrameError("empty datagram")
    version = datagram[0] >> 4
    if version == 4 and len(datagram) >= 20:
        off, proto = (datagram[0] & 0x0F) * 4, datagram[9]
    elif version == 6 and len(datagram) >= 40:
        off, proto = 40, datagram[6]
    else:
        raise CryptoFrameError(f"not an IPv4/IPv6 datagram (version {version}, "
                               f"{len(datagram)} bytes)")
    if proto != IPPROTO_ESP:
        raise CryptoFrameError(f"IP protocol/next header {proto}, not ESP ({IPPROTO_ESP})")
    if len(datagram) < off + 8:
        raise CryptoFrameError("datagram ends inside the ESP header")
    return off


def decrypt_request_frame(datagram: bytes, key_index: int, *, passes: int = 0, flags: int = 0,
                          context: int = 0, dst_mac: str | bytes = ENGINE_MAC,
                          src_mac: str | bytes = NIC_CRYPTO_MAC) -> bytes:
    """A DECRYPT request for ``datagram`` with SPI and sequence number taken from
    its ESP header, as the pipeline builds it."""
    off = esp_offset(datagram)
    spi, seq = struct.unpack_from("!II", datagram, off)
    hdr = CryptoHeader(n.CRYPTO_OP_DECRYPT, key_index, passes=passes, flags=flags, spi=spi,
                       seq=seq, context=context)
    return build_crypto_frame(hdr, datagram, dst_mac=dst_mac, src_mac=src_mac)


def cipher_code(cipher: str | int) -> int:
    """'aes-gcm-128' (model.CIPHERS names) or a CRYPTO_CIPHER_* code -> the code."""
    if isinstance(cipher, str):
        try:
            return CIPHER_CODES[cipher]
        except KeyError:
            raise CryptoFrameError(f"cipher '{cipher}' is not one of "
                                   f"{', '.join(CIPHER_CODES)}") from None
    return int(cipher)


def key_load_body(cipher: str | int, key: bytes, salt: bytes, esn: bool = False) -> bytes:
    """The KEY_LOAD body. Lengths are not checked against the cipher here, so
    tests can build the frames the engine must refuse."""
    return KEY_LOAD_HDR.pack(cipher_code(cipher), len(key), len(salt),
                             KEY_FLAG_ESN if esn else 0) + key + salt


def parse_key_load_body(body: bytes | bytearray | memoryview) -> tuple[int, bytes, bytes]:
    """-> (cipher code, key, salt); CryptoFrameError if the body is cut short."""
    if len(body) < KEY_LOAD_HDR.size:
        raise CryptoFrameError(f"key-load body of {len(body)} bytes")
    cipher, key_len, salt_len, _pad = KEY_LOAD_HDR.unpack_from(body)
    end = KEY_LOAD_HDR.size + key_len + salt_len
    if len(body) < end:
        raise CryptoFrameError(f"key-load body announces {key_len} + {salt_len} bytes, "
                               f"{len(body) - KEY_LOAD_HDR.size} follow")
    key = bytes(body[KEY_LOAD_HDR.size:KEY_LOAD_HDR.size + key_len])
    return cipher, key, bytes(body[KEY_LOAD_HDR.size + key_len:end])


def key_load_frame(key_index: int, cipher: str | int, key: bytes, salt: bytes, *,
                   esn: bool = False, context: int = 0, dst_mac: str | bytes = ENGINE_MAC,
                   src_mac: str | bytes = NIC_CRYPTO_MAC) -> bytes:
    """KEY_LOAD request: put (cipher, key, salt) into engine key slot ``key_index``."""
    hdr = CryptoHeader(n.CRYPTO_OP_KEY_LOAD, key_index, context=context)
    return build_crypto_frame(hdr, key_load_body(cipher, key, salt, esn), dst_mac=dst_mac,
                              src_mac=src_mac)


def key_delete_frame(key_index: int, *, context: int = 0, dst_mac: str | bytes = ENGINE_MAC,
                     src_mac: str | bytes = NIC_CRYPTO_MAC) -> bytes:
    """KEY_DELETE request: empty engine key slot ``key_index``."""
    return build_crypto_frame(CryptoHeader(n.CRYPTO_OP_KEY_DELETE, key_index, context=context),
                              dst_mac=dst_mac, src_mac=src_mac)


def sa_key_load_frame(sa: SecurityAssociation, *, context: int = 0,
                      dst_mac: str | bytes = ENGINE_MAC,
                      src_mac: str | bytes = NIC_CRYPTO_MAC) -> bytes:
    """KEY_LOAD for an SA of the driver's SA database (key_index, key and salt set)."""
    if sa.key_index is None or not sa.key:
        raise CryptoFrameError(f"SA spi 0x{sa.spi:x}: no key_index or no key to load")
    salt = sa.salt or bytes(SALT_SIZE)      # AES-CBC + HMAC has no salt: zeros
    return key_load_frame(sa.key_index, sa.cipher, sa.key, salt, esn=sa.esn, context=context,
                          dst_mac=dst_mac, src_mac=src_mac)
