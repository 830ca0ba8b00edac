"""Minimal classic pcap reader/writer (what simple_switch's --use-files and --pcap use)."""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator
from typing import BinaryIO

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1


class PcapError(Exception):
    pass


class PcapWriter:
    """Appends frames with microsecond timestamps; safe to call from several threads."""

    def __init__(self, path: str, linktype: int = LINKTYPE_ETHERNET, snaplen: int = 65535):
        self._f: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed by close()
        self._f.write(struct.pack("<IHHiIII", MAGIC_US, 2, 4, 0, 0, snaplen, linktype))
        self._f.flush()
        self._lock = threading.Lock()
        self.count = 0

    def write(self, data: bytes, ts: float | None = None) -> None:
        ts = time.time() if ts is None else ts
        sec = int(ts)
        usec = int((ts - sec) * 1_000_000)
        with self._lock:
            self._f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            self._f.write(data)
            self._f.flush()
            self.count += 1

    def close(self) -> None:
        with self._lock:
            self._f.close()


def read_pcap(path: str) -> Iterator[tuple[float, bytes]]:
    """Yield (timestamp, frame) for each record of a pcap file (either byte order)."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            if not hdr:
                return
            raise PcapError(f"{path}: truncated pcap header")
        magic_le = struct.unpack("<I", hdr[:4])[0]
        if magic_le in (MAGIC_US, MAGIC_NS):
            endian = "<"
            magic = magic_le
        else:
            magic = struct.unpack(">I", hdr[:4])[0]
            if magic not in (MAGIC_US, MAGIC_NS):
                raise PcapError(f"{path}: not a pcap file (magic {magic_le:#x})")
            endian = ">"
        div = 1e9 if magic == MAGIC_NS else 1e6
        rec = struct.Struct(endian + "IIII")
        while True:
            rh = f.read(16)
            if not rh:
                return
            if len(rh) < 16:
                raise PcapError(f"{path}: truncated record header")
            sec, frac, incl, _orig = rec.unpack(rh)
            data = f.read(incl)
            if len(data) < incl:
                raise PcapError(f"{path}: truncated record")
            yield sec + frac / div, data
