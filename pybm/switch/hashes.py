"""Hash and checksum algorithms with BMv2's definitions (bm_sim/calculations).

Every function takes the byte string BMv2's BufBuilder would build and returns
an unsigned integer. ``crc*_custom`` start with BMv2's default parameters and
can be reconfigured at run time (simple_switch_CLI's set_crc16_parameters).
"""

from __future__ import annotations

import random as _random
import zlib
from binascii import crc_hqx
from collections.abc import Callable
from dataclasses import dataclass

from pybm.switch.errors import ConfigError


def _reflect(value: int, nbits: int) -> int:
    out = 0
    for i in range(nbits):
        if value & (1 << i):
            out |= 1 << (nbits - 1 - i)
    return out


@dataclass
class CrcConfig:
    width: int
    polynomial: int
    initial_remainder: int
    final_xor_value: int
    data_reflected: bool
    remainder_reflected: bool


class Crc:
    """Table-driven CRC of any width that is a multiple of 8."""

    def __init__(self, config: CrcConfig):
        self.reconfigure(config)

    def reconfigure(self, config: CrcConfig) -> None:
        w = config.width
        if w % 8 or not 8 <= w <= 64:
            raise ConfigError(f"CRC width {w} not supported")
        top = 1 << (w - 1)
        m = (1 << w) - 1
        table = []
        for dividend in range(256):
            rem = (dividend << (w - 8)) & m
            for _ in range(8):
                rem = ((rem << 1) ^ config.polynomial) & m if rem & top else (rem << 1) & m
            table.append(rem)
        self.config = config
        self._table = table
        self._mask = m
        self._reflect8 = [_reflect(b, 8) for b in range(256)]

    def __call__(self, buf: bytes) -> int:
        c = self.config
        w = c.width
        shift = w - 8
        table, m = self._table, self._mask
        rem = c.initial_remainder
        if c.data_reflected:
            r8 = self._reflect8
            for b in buf:
                rem = table[r8[b] ^ (rem >> shift)] ^ ((rem << 8) & m)
        else:
            for b in buf:
                rem = table[b ^ (rem >> shift)] ^ ((rem << 8) & m)
        if c.remainder_reflected:
            rem = _reflect(rem, w)
        return rem ^ c.final_xor_value


CRC16_DEFAULT = CrcConfig(16, 0x8005, 0x0000, 0x0000, True, True)
CRC32_DEFAULT = CrcConfig(32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, True, True)
CRC8_DEFAULT = CrcConfig(8, 0x07, 0x00, 0x00, False, False)
CRC64_DEFAULT = CrcConfig(64, 0x1B, 0, 0, True, True)

_crc16 = Crc(CRC16_DEFAULT)


def crc16(buf: bytes) -> int:
    return _crc16(buf)


def crc32(buf: bytes) -> int:
    return zlib.crc32(buf)


def crc_ccitt(buf: bytes) -> int:
    return crc_hqx(buf, 0xFFFF)


def csum16(buf: bytes) -> int:
    """RFC 1071 Internet checksum (odd length padded with a zero byte)."""
    if len(buf) & 1:
        buf = buf + b"\x00"
    s = sum(memoryview(buf).cast("H"))  # native order; the fold is order-independent
    s = (s & 0xFFFF) + (s >> 16)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    s = ~s & 0xFFFF
    # The words were read in host order; swap back to network order.
    return ((s & 0xFF) << 8 | s >> 8) if _LITTLE else s


_LITTLE = memoryview(b"\x01\x00").cast("H")[0] == 1


def identity(buf: bytes) -> int:
    return int.from_bytes(buf[:8], "big")


def _xor_words(n: int) -> Callable[[bytes], int]:
    def h(buf: bytes) -> int:
        out = 0
        for i in range(0, len(buf), n):
            chunk = buf[i:i + n]
            out ^= int.from_bytes(chunk.ljust(n, b"\x00"), "big")
        return out
    return h


class RoundRobin:
    def __init__(self) -> None:
        self.idx = 0

    def __call__(self, buf: bytes) -> int:
        v = self.idx
        self.idx += 1
        return v


class RoundRobinConsistent:
    def __init__(self) -> None:
        self.seen: dict[bytes, int] = {}

    def __call__(self, buf: bytes) -> int:
        return self.seen.setdefault(bytes(buf), len(self.seen))


def random_hash(buf: bytes) -> int:
    return _random.getrandbits(64)


def make_hash(algo: str) -> Callable[[bytes], int]:
    """A fresh hash function object for one named calculation."""
    fixed = {
        "crc16": crc16, "crc32": crc32, "crcCCITT": crc_ccitt, "csum16": csum16,
        "cksum16": csum16, "identity": identity, "xor16": _xor_words(2),
        "xor32": _xor_words(4), "random": random_hash,
    }
    if algo in fixed:
        return fixed[algo]
    custom = {"crc8_custom": CRC8_DEFAULT, "crc16_custom": CRC16_DEFAULT,
              "crc32_custom": CRC32_DEFAULT, "crc64_custom": CRC64_DEFAULT}
    if algo in custom:
        return Crc(custom[algo])
    if algo == "round_robin":
        return RoundRobin()
    if algo == "round_robin_consistent":
        return RoundRobinConsistent()
    raise ConfigError(f"hash algorithm '{algo}' is not supported by pybm-switch")
