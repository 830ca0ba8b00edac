"""The lookaside crypto engine (seed 004, DESIGN.md §2): ESP decryption for the NIC.

Ciphers cannot be written in P4 (the real p4c runs out of memory on one
ChaCha20 double round), so the pipeline does everything around the cipher --
SA lookup, anti-replay, reassembly, the seed's decision tree -- and sends a
datagram out of its crypto port behind a command header (cryptoframe.py). This
process plays the crypto block of a SmartNIC: it decrypts and verifies, and
sends the result back on the same port, where it re-enters the pipeline (the
seed's feedback path). It keeps no per-flow state: whatever the pipeline needs
to resume a packet travels in the echoed header fields (passes, flags, seq,
context), and anti-replay stays in the pipeline, which advances its window
only on an OK answer.

DECRYPT (RFC 4303 ESP; RFC 4106 AES-GCM-128/256, RFC 7634 ChaCha20-Poly1305;
nonce = salt || IV, AAD = SPI || seq, 16-byte ICV; with extended sequence
numbers, loaded per key slot, AAD = SPI || seq high || seq low, the high half
from the command header's seq_hi):

* OK, transport mode: the outer IP header with protocol / next header set to
  the trailer's next header and its lengths (and IPv4 checksum) fixed,
  followed by the plaintext payload.
* OK, tunnel mode (next header 4 or 41): the inner packet, cut to its own
  length (which also drops any RFC 4303 §2.7 TFC padding).
* any error: the request's body unchanged, so the pipeline can count and drop.

Statuses are checked in this order: key slot (NO_KEY), datagram shape
(MALFORMED / UNSUPPORTED), ICV (BAD_ICV), then the plaintext (padding,
trailer, inner header: MALFORMED, although the ICV was good). The SPI and
sequence number in the command header must be the datagram's, because the
pipeline advances its replay window with the header's copy.

Frames that are not requests (other ethertypes, answers, wrong magic, runts)
are counted as ``ignored`` and get no answer. ``handle()`` is the whole data
path and needs no socket; ``start()`` runs it on a raw socket of the crypto
port in a reader thread and sends the answers back out of the same socket.
"""

from __future__ import annotations

import logging
import select
import socket
import struct
import threading
from collections import Counter
from hmac import compare_digest

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from p4nic import p4names as n
from p4nic.cryptoframe import (
    CIPHER_NAMES,
    FRAME_HDR_SIZE,
    KEY_FLAG_ESN,
    KEY_LOAD_HDR,
    KEY_SIZES,
    SALT_SIZE,
)
from p4nic.rawsock import RawPortWorker

log = logging.getLogger("p4nic.crypto")



class AesCbcHmacSha256:
    """AES-128-CBC (RFC 3602) with HMAC-SHA-256-128 (RFC 4868), behind the AEAD
    interface the engine uses: ``decrypt(nonce, data, aad)``. The engine passes
    salt || the first 8 IV bytes as the nonce and the rest of the ESP payload as
    data, so the 16-byte IV is nonce[4:] + data[:8]; the ICV (the HMAC, cut to 16
    bytes) covers SPI || seq || IV || ciphertext and is checked first."""

    def __init__(self, key: bytes):
        self._aes = algorithms.AES(key[:16])
        self._auth = key[16:]

    def decrypt(self, nonce: bytes, data: bytes | memoryview, aad: bytes,
                esn_hi: bytes = b"") -> bytes:
        """``esn_hi``: with extended sequence numbers, the high 32 bits, which the
        ICV covers after the ciphertext (RFC 4303 2.2.1)."""
        data = bytes(data)
        if len(data) < 8 + 16 + 16 or (len(data) - 8 - 16) % 16:
            raise InvalidTag()                 # not whole AES blocks: cannot be ours
        iv = bytes(nonce[4:]) + data[:8]
        ct, icv = data[8:-16], data[-16:]
        mac = hmac.HMAC(self._auth, hashes.SHA256())
        mac.update(bytes(aad) + iv + ct + esn_hi)
        if not compare_digest(mac.finalize()[:16], icv):
            raise InvalidTag()
        dec = Cipher(self._aes, modes.CBC(iv)).decryptor()
        return dec.update(ct) + dec.finalize()


Aead = AESGCM | ChaCha20Poly1305 | AesCbcHmacSha256
Frame = bytes | bytearray

COUNTERS = ("received", "requests", "decrypted", "bad_icv", "no_key", "malformed",
            "unsupported", "keys_loaded", "keys_deleted", "ignored", "send_errors")

_B = FRAME_HDR_SIZE                 # the body (datagram / key-load record) starts here
_SEQ_HI = _B - 4                    # the header's last field: ESN high 32 bits
_ET_HI = n.ETHERTYPE_P4NIC_CRYPTO >> 8
_ET_LO = n.ETHERTYPE_P4NIC_CRYPTO & 0xFF
_TAG = n.P4NIC_MAGIC << 16 | n.PT_CRYPTO << 8 | n.P4NIC_VERSION
_FRONT = struct.Struct("!12xHIBBxxH")   # ethertype, magic|type|version, op, status, key index
_IP4 = struct.Struct("!BxHxxHxB")       # version|IHL, total length, flags|offset, protocol
_SPI_SEQ = struct.Struct("!II")
_ICV = 16
_IV = 8
_ESP_MIN = 8 + _IV + 2 + _ICV       # header, IV, pad length + next header, ICV
_PADDING = bytes(range(1, 256))     # RFC 4303 §2.4 default padding 1, 2, 3, ...
_WORDS = {ihl: struct.Struct(f"!{ihl * 2}H") for ihl in range(5, 16)}
_AEADS = {n.CRYPTO_CIPHER_AES_GCM_128: AESGCM, n.CRYPTO_CIPHER_AES_GCM_256: AESGCM,
          n.CRYPTO_CIPHER_CHACHA20_POLY1305: ChaCha20Poly1305,
          n.CRYPTO_CIPHER_AES_CBC_HMAC_SHA256: AesCbcHmacSha256}
_IPPROTO_ESP = 50
_IPPROTO_IPIP = 4
_IPPROTO_IPV6 = 41


def ipv4_checksum(header: bytes | bytearray) -> int:
    """Internet checksum of an IPv4 header (its checksum field zeroed by the caller)."""
    total = sum(_WORDS[len(header) >> 2].unpack(header))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class _Refused(Exception):
    """A request answered with an error status; ``reason`` is counted."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CryptoEngine(RawPortWorker):
    """ESP decryption and key memory behind the NIC's crypto port.

    ``iface`` is the outside end of the crypto port (None: only ``handle()`` is
    used); ``netns`` the network namespace it lives in, if not ours.
    """

    THREAD_NAME = "crypto-engine"

    def __init__(self, iface: str | None, *, netns: str | None = None,
                 rcvbuf: int = 8 << 20, promiscuous: bool = True):
        self.iface = iface
        self.netns = netns
        self.rcvbuf = rcvbuf
        self.promiscuous = promiscuous
        # key slot -> (AEAD object with the key schedule done once, salt, cipher code)
        self._keys: dict[int, tuple[Aead, bytes, int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._kernel_drops = 0
        self.reset_stats()

    def reset_stats(self) -> None:
        self.received = 0       # frames handed to handle()
        self.requests = 0       # of them, well-formed requests (each gets exactly one answer)
        self.decrypted = 0      # DECRYPT answered OK
        self.bad_icv = 0
        self.no_key = 0         # DECRYPT or KEY_DELETE of an empty key slot
        self.malformed = 0
        self.unsupported = 0
        self.keys_loaded = 0
        self.keys_deleted = 0
        self.ignored = 0        # not a request: no answer
        self.send_errors = 0    # answers the socket refused
        self.reasons: Counter[str] = Counter()   # why malformed / unsupported / ignored

    # ---- key memory ------------------------------------------------------------------------------
    def load_key(self, key_index: int, cipher: int, key: bytes, salt: bytes,
                 esn: bool = False) -> None:
        """Put a key into slot ``key_index`` (what KEY_LOAD does); ValueError if it
        does not suit the cipher. Replaces whatever the slot held. ``esn``: the
        SA's ICV covers 64-bit sequence numbers (the high half comes in the
        command header)."""
        if cipher not in _AEADS:
            raise ValueError(f"cipher code {cipher} is not supported")
        if len(key) != KEY_SIZES[cipher]:
            raise ValueError(f"{CIPHER_NAMES[cipher]} needs a {KEY_SIZES[cipher]}-byte key, "
                             f"got {len(key)}")
        if len(salt) != SALT_SIZE:
            raise ValueError(f"salt of {len(salt)} bytes, need {SALT_SIZE}")
        if not 0 <= key_index <= 0xFFFF:
            raise ValueError(f"key index {key_index} out of range")
        self._keys[key_index] = (_AEADS[cipher](bytes(key)), bytes(salt), cipher, bool(esn))

    def delete_key(self, key_index: int) -> bool:
        """Empty a key slot; -> whether it held a key."""
        return self._keys.pop(key_index, None) is not None

    def keys(self) -> dict[int, str]:
        """Loaded slots and their ciphers (never the key bytes)."""
        return {idx: CIPHER_NAMES[entry[2]] for idx, entry in sorted(self._keys.items())}

    # ---- the data path ---------------------------------------------------------------------------
    def handle(self, frame: Frame) -> bytes | None:
        """Answer one frame of the crypto port: the answer frame, or None when the
        frame is not a request (counted as ignored)."""
        self.received += 1
        if len(frame) < _B:
            return self._ignore("runt")
        ethertype, tag, op, status, key_index = _FRONT.unpack_from(frame)
        if ethertype != n.ETHERTYPE_P4NIC_CRYPTO:
            return self._ignore("not a crypto command frame")
        if tag != _TAG:
            return self._ignore("bad magic, type or version")
        if status != n.CRYPTO_ST_REQUEST:
            return self._ignore("an answer, not a request")
        self.requests += 1
        mode = nh = 0
        body: bytes = b""
        try:
            if op == n.CRYPTO_OP_DECRYPT:
                mode, nh, body = self._decrypt(frame, key_index)
                self.decrypted += 1
            elif op == n.CRYPTO_OP_KEY_LOAD:
                self._key_load(frame, key_index)
                self.keys_loaded += 1
            elif op == n.CRYPTO_OP_KEY_DELETE:
                if not self.delete_key(key_index):
                    raise _Refused(n.CRYPTO_ST_NO_KEY, "key-delete of an empty slot")
                self.keys_deleted += 1
            else:
                raise _Refused(n.CRYPTO_ST_UNSUPPORTED, f"op {op}")
            status = n.CRYPTO_ST_OK
        except _Refused as r:
            status = r.status
            if status == n.CRYPTO_ST_BAD_ICV:
                self.bad_icv += 1
            elif status == n.CRYPTO_ST_NO_KEY:
                self.no_key += 1
            elif status == n.CRYPTO_ST_UNSUPPORTED:
                self.unsupported += 1
                self.reasons[f"unsupported: {r.reason}"] += 1
            else:
                self.malformed += 1
                self.reasons[f"malformed: {r.reason}"] += 1
            mode = nh = 0
            body = bytes(frame[_B:]) if op == n.CRYPTO_OP_DECRYPT else b""
        # addresses swapped; magic..op echoed; status, mode, next header; the rest echoed
        return b"".join((frame[6:12], frame[0:6], frame[12:19], bytes((status, mode, nh)),
                         frame[22:_B], body))

    def _ignore(self, reason: str) -> None:
        self.ignored += 1
        self.reasons[f"ignored: {reason}"] += 1
        return None

    def _decrypt(self, frame: Frame, key_index: int) -> tuple[int, int, bytes]:
        """-> (mode, next header, answer body) or _Refused."""
        entry = self._keys.get(key_index)
        if entry is None:
            raise _Refused(n.CRYPTO_ST_NO_KEY, "decrypt with an empty key slot")
        size = len(frame)
        if size < _B + 20:
            raise _Refused(n.CRYPTO_ST_MALFORMED, "no IP header")
        vihl, total, frag, proto = _IP4.unpack_from(frame, _B)
        version = vihl >> 4
        if version == 4:
            ihl = (vihl & 0x0F) << 2
            end = _B + total
            if ihl < 20 or end < _B + ihl or end > size:
                raise _Refused(n.CRYPTO_ST_MALFORMED, "IPv4 header or total length")
            if frag & 0x3FFF:
                raise _Refused(n.CRYPTO_ST_MALFORMED, "an IPv4 fragment: reassemble first")
            if proto != _IPPROTO_ESP:
                raise _Refused(n.CRYPTO_ST_UNSUPPORTED, "IPv4 protocol is not ESP")
            esp = _B + ihl
        elif version == 6:
            if size < _B + 40:
                raise _Refused(n.CRYPTO_ST_MALFORMED, "IPv6 header cut short")
            plen = frame[_B + 4] << 8 | frame[_B + 5]
            if frame[_B + 6] != _IPPROTO_ESP:
                raise _Refused(n.CRYPTO_ST_UNSUPPORTED, "IPv6 extension headers before ESP")
            if plen == 0:
                raise _Refused(n.CRYPTO_ST_UNSUPPORTED, "IPv6 jumbogram")
            esp = _B + 40
            end = esp + plen
            if end > size:
                raise _Refused(n.CRYPTO_ST_MALFORMED, "IPv6 payload length")
        else:
            raise _Refused(n.CRYPTO_ST_MALFORMED, f"IP version {version}")
        if end - esp < _ESP_MIN:
            raise _Refused(n.CRYPTO_ST_MALFORMED, "ESP too short")
        if frame[esp:esp + 8] != frame[26:34]:
            raise _Refused(n.CRYPTO_ST_MALFORMED, "SPI/seq differ from the command header")
        aead, salt, cipher, esn = entry
        aad = bytes(frame[esp:esp + 8])
        try:
            if not esn:
                pt = aead.decrypt(salt + frame[esp + 8:esp + 16],
                                  memoryview(frame)[esp + 16:end], aad)
            elif cipher == n.CRYPTO_CIPHER_AES_CBC_HMAC_SHA256:
                pt = aead.decrypt(salt + frame[esp + 8:esp + 16],
                                  memoryview(frame)[esp + 16:end], aad,
                                  esn_hi=bytes(frame[_SEQ_HI:_SEQ_HI + 4]))
            else:   # RFC 4106 5 / RFC 7634 2.1: AAD = SPI || seq high || seq low
                pt = aead.decrypt(salt + frame[esp + 8:esp + 16],
                                  memoryview(frame)[esp + 16:end],
                                  aad[:4] + bytes(frame[_SEQ_HI:_SEQ_HI + 4]) + aad[4:])
        except InvalidTag:
            raise _Refused(n.CRYPTO_ST_BAD_ICV, "bad ICV") from None
        nxt = pt[-1]
        pad = pt[-2]
        plen = len(pt) - 2 - pad
        if plen < 0:
            raise _Refused(n.CRYPTO_ST_MALFORMED, "pad length beyond the payload")
        if pad and pt[plen:-2] != _PADDING[:pad]:
            raise _Refused(n.CRYPTO_ST_MALFORMED, "padding is not 1, 2, 3, ...")
        if nxt == _IPPROTO_IPIP:
            if plen < 20 or pt[0] >> 4 != 4:
                raise _Refused(n.CRYPTO_ST_MALFORMED, "tunnel: inner is not IPv4")
            inner = pt[2] << 8 | pt[3]
            if inner < (pt[0] & 0x0F) << 2 or inner > plen or inner < 20:
                raise _Refused(n.CRYPTO_ST_MALFORMED, "tunnel: inner IPv4 total length")
            return n.CRYPTO_MODE_TUNNEL, nxt, pt[:inner]
        if nxt == _IPPROTO_IPV6:
            if plen < 40 or pt[0] >> 4 != 6:
                raise _Refused(n.CRYPTO_ST_MALFORMED, "tunnel: inner is not IPv6")
            inner = 40 + (pt[4] << 8 | pt[5])
            if inner > plen:
                raise _Refused(n.CRYPTO_ST_MALFORMED, "tunnel: inner IPv6 payload length")
            return n.CRYPTO_MODE_TUNNEL, nxt, pt[:inner]
        hdr = bytearray(frame[_B:esp])
        if version == 4:
            total = len(hdr) + plen
            hdr[2] = total >> 8
            hdr[3] = total & 0xFF
            hdr[9] = nxt
            hdr[10] = hdr[11] = 0
            csum = ipv4_checksum(hdr)
            hdr[10] = csum >> 8
            hdr[11] = csum & 0xFF
        else:
            hdr[4] = plen >> 8
            hdr[5] = plen & 0xFF
            hdr[6] = nxt
        return n.CRYPTO_MODE_TRANSPORT, nxt, bytes(hdr) + pt[:plen]

    def _key_load(self, frame: Frame, key_index: int) -> None:
        if len(frame) < _B + KEY_LOAD_HDR.size:
            raise _Refused(n.CRYPTO_ST_MALFORMED, "key-load body cut short")
        cipher, key_len, salt_len, flags = KEY_LOAD_HDR.unpack_from(frame, _B)
        if cipher not in _AEADS:
            raise _Refused(n.CRYPTO_ST_UNSUPPORTED, f"cipher {cipher}")
        start = _B + KEY_LOAD_HDR.size
        if len(frame) < start + key_len + salt_len:
            raise _Refused(n.CRYPTO_ST_MALFORMED, "key-load body cut short")
        if key_len != KEY_SIZES[cipher]:
            raise _Refused(n.CRYPTO_ST_MALFORMED, f"{CIPHER_NAMES[cipher]} key of {key_len} "
                                                  "bytes")
        if salt_len != SALT_SIZE:
            raise _Refused(n.CRYPTO_ST_MALFORMED, f"salt of {salt_len} bytes")
        self.load_key(key_index, cipher, bytes(frame[start:start + key_len]),
                      bytes(frame[start + key_len:start + key_len + salt_len]),
                      esn=bool(flags & KEY_FLAG_ESN))

    # ---- the reader thread -----------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        log.info("crypto engine on %s%s", self.iface,
                 f" in netns {self.netns}" if self.netns else "")

    def _frame(self, data: bytes) -> None:
        answer = self.handle(data)
        if answer is not None:
            assert self._sock is not None
            self._send(self._sock, answer)

    def _frame_failed(self, data: bytes) -> None:
        self.reasons["error: engine exception"] += 1
        log.exception("crypto frame of %d bytes", len(data))

    def _send(self, sock: socket.socket, answer: bytes) -> None:
        for _ in range(2):
            try:
                sock.send(answer)
                return
            except BlockingIOError:                   # transmit queue full: wait a moment
                select.select([], [sock], [], 0.1)
            except OSError as e:
                log.warning("crypto answer of %d bytes not sent: %s", len(answer), e)
                break
        self.send_errors += 1

    def stats(self) -> dict[str, int]:
        """Every counter, the loaded key slots and the kernel's socket drops."""
        out = {name: getattr(self, name) for name in COUNTERS}
        out["keys"] = len(self._keys)
        out["kernel_drops"] = self.kernel_drops()
        return out
