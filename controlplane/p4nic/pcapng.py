"""pcapng written by hand (and read back, for replay).

One section per file: a Section Header Block, one Interface Description
Block per capture stream (created when the stream's first packet arrives,
with its snap length and ``if_tsresol`` = 6, i.e. microseconds, because
that is the NIC clock's resolution), and one Enhanced Packet Block per
packet with the captured and original lengths, the direction in
``epb_flags`` and a comment carrying the raw NIC timestamp.

Format: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html
(little-endian byte order is written; both are read).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

BT_SHB = 0x0A0D0D0A
BT_IDB = 0x00000001
BT_SPB = 0x00000003
BT_EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D

OPT_ENDOFOPT = 0
OPT_COMMENT = 1
SHB_HARDWARE = 2
SHB_OS = 3
SHB_USERAPPL = 4
IF_NAME = 2
IF_DESCRIPTION = 3
IF_TSRESOL = 9
EPB_FLAGS = 2

LINKTYPE_ETHERNET = 1
EPB_INBOUND = 0b01
EPB_OUTBOUND = 0b10


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _options(opts: list[tuple[int, bytes]]) -> bytes:
    if not opts:
        return b""
    out = bytearray()
    for code, value in opts:
        out += struct.pack("<HH", code, len(value)) + _pad4(value)
    out += struct.pack("<HH", OPT_ENDOFOPT, 0)
    return bytes(out)


def _block(btype: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def section_header(comment: str | None = None, userappl: str = "p4nic capture") -> bytes:
    opts = [(SHB_USERAPPL, userappl.encode())]
    if comment:
        opts.append((OPT_COMMENT, comment.encode()))
    body = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + _options(opts)
    return _block(BT_SHB, body)


def interface_description(snaplen: int, name: str, description: str | None = None,
                          tsresol: int = 6, linktype: int = LINKTYPE_ETHERNET) -> bytes:
    opts = [(IF_NAME, name.encode())]
    if description:
        opts.append((IF_DESCRIPTION, description.encode()))
    opts.append((IF_TSRESOL, bytes((tsresol,))))
    body = struct.pack("<HHI", linktype, 0, snaplen) + _options(opts)
    return _block(BT_IDB, body)


def enhanced_packet(interface_id: int, ts_units: int, data: bytes, orig_len: int,
                    flags: int | None = None, comment: str | None = None) -> bytes:
    """EPB; ``ts_units`` counts the interface's if_tsresol units since the epoch."""
    if orig_len < len(data):
        orig_len = len(data)
    opts = []
    if flags is not None:
        opts.append((EPB_FLAGS, struct.pack("<I", flags)))
    if comment:
        opts.append((OPT_COMMENT, comment.encode()))
    body = (struct.pack("<IIIII", interface_id, (ts_units >> 32) & 0xFFFFFFFF,
                        ts_units & 0xFFFFFFFF, len(data), orig_len)
            + _pad4(data) + _options(opts))
    return _block(BT_EPB, body)


@dataclass
class _Interface:
    snaplen: int
    name: str
    description: str | None


class PcapngWriter:
    """pcapng file(s) with size-based rotation.

    Without ``rotate_bytes`` everything goes to ``path``. With it, files are
    ``STEM-000.EXT``, ``STEM-001.EXT``, ...: a new file (new section, the
    interfaces described again) starts once the current one reaches
    ``rotate_bytes``; with ``max_files`` the oldest are deleted.
    """

    def __init__(self, path: str, rotate_bytes: int | None = None, max_files: int | None = None,
                 comment: str | None = None):
        if rotate_bytes is not None and rotate_bytes < 1024:
            raise ValueError("rotate_bytes below 1024 would rotate on every packet")
        if max_files is not None and max_files < 1:
            raise ValueError("max_files must be at least 1")
        self.path = path
        self.rotate_bytes = rotate_bytes
        self.max_files = max_files
        self.comment = comment
        self.files: list[str] = []
        self.packets = 0
        self._interfaces: dict[object, _Interface] = {}
        self._ids: dict[object, int] = {}       # key -> IDB index in the current section
        self._file = None
        self._size = 0
        self._open_next()

    def _name(self, index: int) -> str:
        if self.rotate_bytes is None:
            return self.path
        stem, ext = os.path.splitext(self.path)
        return f"{stem}-{index:03d}{ext or '.pcapng'}"

    def _open_next(self) -> None:
        if self._file is not None:
            self._file.close()
        name = self._name(len(self.files))
        self._file = open(name, "wb")
        self.files.append(name)
        self._size = 0
        self._ids = {}
        self._write(section_header(self.comment))
        if self.max_files is not None:
            while len([f for f in self.files if os.path.exists(f)]) > self.max_files:
                oldest = next(f for f in self.files if os.path.exists(f))
                os.unlink(oldest)

    def _write(self, block: bytes) -> None:
        self._file.write(block)
        self._size += len(block)

    def set_comment(self, comment: str) -> None:
        """Section comment for the files that start from now on."""
        self.comment = comment

    def add_interface(self, key: object, snaplen: int, name: str,
                      description: str | None = None) -> None:
        """Declare a capture stream; its IDB is written before its first packet."""
        self._interfaces[key] = _Interface(snaplen, name, description)

    def has_interface(self, key: object) -> bool:
        return key in self._interfaces

    def write_packet(self, key: object, ts_us: int, data: bytes, orig_len: int,
                     flags: int | None = None, comment: str | None = None) -> None:
        if key not in self._interfaces:
            raise KeyError(f"no interface declared for stream {key!r}")
        if key not in self._ids:
            iface = self._interfaces[key]
            self._ids[key] = len(self._ids)
            self._write(interface_description(iface.snaplen, iface.name, iface.description))
        self._write(enhanced_packet(self._ids[key], ts_us, data, orig_len, flags, comment))
        self.packets += 1
        if self.rotate_bytes is not None and self._size >= self.rotate_bytes:
            self._open_next()

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> PcapngWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- reading --------------------------------------------------------------------------


@dataclass
class InterfaceInfo:
    linktype: int
    snaplen: int
    name: str = ""
    description: str = ""
    tsresol: int = 6            # decimal exponent, or 0x80|n for 2^-n

    @property
    def units_per_second(self) -> int:
        if self.tsresol & 0x80:
            return 1 << (self.tsresol & 0x7F)
        return 10 ** self.tsresol


@dataclass
class PacketRecord:
    interface: InterfaceInfo
    ts_units: int               # in interface.units_per_second
    data: bytes
    orig_len: int
    flags: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def ts_us(self) -> int:
        return self.ts_units * 1_000_000 // self.interface.units_per_second

    @property
    def inbound(self) -> bool | None:
        if self.flags is None or self.flags & 0b11 == 0:
            return None
        return self.flags & 0b11 == EPB_INBOUND


class PcapngFormatError(ValueError):
    pass


def _parse_options(data: bytes, endian: str) -> list[tuple[int, bytes]]:
    out = []
    off = 0
    while off + 4 <= len(data):
        code, length = struct.unpack_from(endian + "HH", data, off)
        off += 4
        if code == OPT_ENDOFOPT:
            break
        out.append((code, data[off:off + length]))
        off += length + (-length % 4)
    return out


def read_pcapng(path: str) -> Iterator[PacketRecord]:
    """Packets of a pcapng file (every section), in file order."""
    with open(path, "rb") as f:
        blob = f.read()
    off = 0
    endian = "<"
    interfaces: list[InterfaceInfo] = []
    while off < len(blob):
        if len(blob) - off < 12:
            raise PcapngFormatError(f"{path}: {len(blob) - off} trailing bytes")
        btype_raw = blob[off:off + 4]
        if btype_raw == struct.pack("<I", BT_SHB):
            bom = blob[off + 8:off + 12]
            if bom == struct.pack("<I", BYTE_ORDER_MAGIC):
                endian = "<"
            elif bom == struct.pack(">I", BYTE_ORDER_MAGIC):
                endian = ">"
            else:
                raise PcapngFormatError(f"{path}: bad byte-order magic at offset {off}")
            interfaces = []
        elif off == 0:
            raise PcapngFormatError(f"{path}: not a pcapng file (no section header)")
        btype, total = struct.unpack_from(endian + "II", blob, off)
        if total < 12 or total % 4 or off + total > len(blob):
            raise PcapngFormatError(f"{path}: bad block length {total} at offset {off}")
        body = blob[off + 8:off + total - 4]
        off += total
        if btype == BT_IDB:
            linktype, _, snaplen = struct.unpack_from(endian + "HHI", body, 0)
            info = InterfaceInfo(linktype, snaplen)
            for code, value in _parse_options(body[8:], endian):
                if code == IF_NAME:
                    info.name = value.decode(errors="replace")
                elif code == IF_DESCRIPTION:
                    info.description = value.decode(errors="replace")
                elif code == IF_TSRESOL and value:
                    info.tsresol = value[0]
            interfaces.append(info)
        elif btype == BT_EPB:
            if_id, ts_hi, ts_lo, caplen, orig = struct.unpack_from(endian + "IIIII", body, 0)
            if if_id >= len(interfaces):
                raise PcapngFormatError(f"{path}: packet on undeclared interface {if_id}")
            data = body[20:20 + caplen]
            rec = PacketRecord(interfaces[if_id], (ts_hi << 32) | ts_lo, data, orig)
            for code, value in _parse_options(body[20 + caplen + (-caplen % 4):], endian):
                if code == EPB_FLAGS and len(value) == 4:
                    rec.flags = struct.unpack(endian + "I", value)[0]
                elif code == OPT_COMMENT:
                    rec.comments.append(value.decode(errors="replace"))
            yield rec
        elif btype == BT_SPB:
            (orig,) = struct.unpack_from(endian + "I", body, 0)
            if not interfaces:
                raise PcapngFormatError(f"{path}: simple packet before any interface")
            caplen = min(orig, interfaces[0].snaplen or orig)
            yield PacketRecord(interfaces[0], 0, body[4:4 + caplen], orig)
