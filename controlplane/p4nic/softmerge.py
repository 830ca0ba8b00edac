"""Software merge of redundant RTP streams: what an application does without the offload.

This is the baseline the NIC offload of seed 000 is measured against, done
the way a fast user-space receiver (the Media Transport Library's SMPTE
2022-7 path) does it: per packet, parse Ethernet/IPv4/UDP/RTP, extend the
16-bit RTP sequence number to the group's 32-bit PSN, drop copies already
seen within a sliding window, copy the first copy's slice to
``frame buffer + slice * B`` and count slices per frame; a frame is reported
complete when all N slices are in, or incomplete when the window has moved
past its last PSN. Every packet of every stream costs the host this work;
with the offload it costs nothing and the host sees one completion per frame.

The packet math is kept in small pure functions, written as the P4 data plane
computes them (32-bit wrapping arithmetic, no division outside the frame
mapping), so PTF tests can use them as the reference model:

* ``extend_psn(last_ext, seq16, offset)``: RFC 3550 appendix A.1's extension
  of a 16-bit sequence number by a cycle count, in its stateless form: the
  32-bit value whose low 16 bits are ``seq16 + offset`` nearest to
  ``last_ext`` (the highest PSN seen), i.e. ``last_ext + int16(seq16 + offset
  - last_ext)`` mod 2^32. ``esn_psn`` is the RFC 4175 alternative, where the
  payload header carries the high 16 bits.
* ``window_check(highest, psn, window)``: ahead of the window (a new highest
  PSN), inside it (possibly a duplicate), or behind it (too late).
* ``window_update(bitmap, highest, psn, window)``: the PSN vector and rolling
  window of [0063]: bit i of ``bitmap`` says PSN ``highest - i`` arrived.
* ``slice_address(base, psn, first_psn, size)``: [0057]'s ``A + (PSN - X) * B``.
* ``frame_slice(psn, first_psn, slices)``: which frame and slice a PSN is.

Stream s may number its packets differently from the group ([0043]: Y != X):
``stream_offsets[s] = X - Y`` is added to its sequence numbers to give group
PSNs (merge.p4's ``set_stream`` offset). Inside :class:`SoftMerge` PSNs are unbounded Python integers (the
same values as the 32-bit ones until 2^32 packets have passed, after which
the 32-bit numbering wraps and the unbounded one keeps counting frames).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from p4nic.p4names import CQE_MISSING, CQE_OK

MASK16 = 0xFFFF
MASK32 = 0xFFFFFFFF

WIN_AHEAD = 0       # psn > highest: a new highest PSN, the window moves
WIN_INSIDE = 1      # highest - window < psn <= highest: check the bitmap
WIN_BEHIND = 2      # psn <= highest - window: too late, dropped


def psn_diff(a: int, b: int) -> int:
    """``a - b`` of two 32-bit PSNs as a signed 32-bit value (serial number arithmetic)."""
    d = (a - b) & MASK32
    return d - (1 << 32) if d & 0x80000000 else d


def extend_psn(last_ext: int, seq16: int, offset: int = 0) -> int:
    """The 32-bit PSN with low 16 bits ``seq16 + offset`` nearest to ``last_ext`` (a
    half-range step of exactly 0x8000 counts as backwards). Start with ``last_ext``
    = first PSN - 1."""
    d = (seq16 + offset - last_ext) & MASK16
    if d >= 0x8000:
        d -= 0x10000
    return (last_ext + d) & MASK32


def esn_psn(esn16: int, seq16: int, offset: int = 0) -> int:
    """The PSN of a packet whose payload header carries the high 16 bits (RFC 4175's
    extended sequence number): no inference needed."""
    return ((esn16 << 16 | seq16) + offset) & MASK32


def window_check(highest: int, psn: int, window: int) -> int:
    """WIN_AHEAD, WIN_INSIDE or WIN_BEHIND for ``psn`` against a window of ``window``
    PSNs ending at ``highest`` (32-bit PSNs)."""
    d = psn_diff(psn, highest)
    if d > 0:
        return WIN_AHEAD
    return WIN_INSIDE if -d < window else WIN_BEHIND


def window_update(bitmap: int, highest: int, psn: int, window: int) -> tuple[int, int, bool]:
    """One packet through the PSN vector: -> (bitmap, highest, first copy?).

    A packet ahead shifts the vector by the distance and becomes the highest;
    one inside sets its bit unless it is set already (a duplicate); one
    behind the window is dropped. Only first copies are placed."""
    d = psn_diff(psn, highest)
    if d > 0:
        bitmap = ((bitmap << d) | 1) & ((1 << window) - 1) if d < window else 1
        return bitmap, psn, True
    if -d >= window:
        return bitmap, highest, False
    bit = 1 << -d
    if bitmap & bit:
        return bitmap, highest, False
    return bitmap | bit, highest, True


def slice_address(base: int, psn: int, first_psn: int, size: int) -> int:
    """Where the slice of ``psn`` goes: A + (PSN - X) * B, PSN - X taken mod 2^32."""
    return base + ((psn - first_psn) & MASK32) * size


def frame_slice(psn: int, first_psn: int, slices: int) -> tuple[int, int]:
    """(frame index, slice index) of ``psn`` when frame 0 starts at ``first_psn``."""
    return divmod((psn - first_psn) & MASK32, slices)


# ---- packets --------------------------------------------------------------------------------

_ETH_IP_UDP = struct.Struct("!6s6sHBBHHHBBH4s4sHHHH")
_RTP = struct.Struct("!BBHII")


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def rtp_packet(seq16: int, payload: bytes, *, marker: bool = False, timestamp: int = 0,
               ssrc: int = 0x1234, payload_type: int = 96, src: str = "10.0.0.1",
               dst: str = "10.0.0.2", sport: int = 5000, dport: int = 5004,
               src_mac: bytes = b"\x02\x00\x00\x00\x00\x02",
               dst_mac: bytes = b"\x02\x00\x00\x00\x00\x01") -> bytes:
    """An Ethernet/IPv4/UDP/RTP frame (valid IPv4 checksum, UDP checksum 0), for tests,
    benchmarks and PTF input."""
    rtp = _RTP.pack(0x80, (0x80 if marker else 0) | payload_type, seq16 & MASK16,
                    timestamp & MASK32, ssrc) + payload
    udp_len = 8 + len(rtp)
    ip_src = bytes(int(x) for x in src.split("."))
    ip_dst = bytes(int(x) for x in dst.split("."))
    head = bytearray(_ETH_IP_UDP.pack(dst_mac, src_mac, 0x0800, 0x45, 0, 20 + udp_len, 0, 0x4000,
                                      64, 17, 0, ip_src, ip_dst, sport, dport, udp_len, 0))
    struct.pack_into("!H", head, 24, _ip_checksum(bytes(head[14:34])))
    return bytes(head) + rtp


# ---- the merge ---------------------------------------------------------------------------------

# receive() results
PLACED = 0
DUPLICATE = 1
LATE = 2
BEFORE_START = 3
MALFORMED = 4


@dataclass(frozen=True)
class MergeConfig:
    """One merge group: frame 0 starts at group PSN ``first_psn`` (X); every frame is
    ``slices`` (N) packets of ``slice_size`` (B) payload bytes behind ``skip``
    payload-header bytes; duplicates are dropped within a window of ``window``
    PSNs; a step ahead of more than ``max_jump`` PSNs is counted as a jump; the
    frame buffer holds ``depth`` frames used cyclically. ``esn``: the first two
    payload-header bytes are RFC 4175's extended sequence number (so skip >= 2)."""
    first_psn: int
    slices: int
    slice_size: int
    skip: int = 0
    window: int = 480
    depth: int = 0                        # 0: the least the window needs
    stream_offsets: tuple[int, ...] = (0, 0)
    max_jump: int = 4096
    esn: bool = False

    def __post_init__(self) -> None:
        if self.slices <= 0 or self.slice_size <= 0 or self.skip < 0:
            raise ValueError("slices and slice_size must be positive, skip not negative")
        if not 1 <= self.window <= 0x8000:
            raise ValueError(f"window {self.window}: 1 to 2^15 PSNs (16-bit extension)")
        if self.esn and self.skip < 2:
            raise ValueError("esn: the extended sequence number is in the payload header, "
                             "so skip must be at least 2")
        if not self.stream_offsets:
            raise ValueError("at least one stream")
        if self.depth and self.depth < self.min_depth:
            raise ValueError(f"depth {self.depth}: a window of {self.window} PSNs spans "
                             f"{self.min_depth} frames of {self.slices} slices")

    @property
    def min_depth(self) -> int:
        """Frames the window can touch at once, plus the one being finished."""
        return -(-self.window // self.slices) + 1

    @property
    def frame_bytes(self) -> int:
        return self.slices * self.slice_size

    @property
    def frames(self) -> int:
        return self.depth or self.min_depth


@dataclass(frozen=True)
class FrameDone:
    """A frame finished: CQE_OK with every slice, or CQE_MISSING with ``missing``
    slices absent (the window moved past it). ``offset`` is where it starts in the
    frame buffer."""
    frame: int
    status: int
    missing: int
    first_psn: int
    offset: int

    @property
    def ok(self) -> bool:
        return self.status == CQE_OK


class SoftMerge:
    """Merges redundant RTP streams into frame buffers in software (see the module doc).

    ``buffer`` receives the frames (``cfg.frames`` frames used cyclically;
    allocated when not given). Finished frames go to ``on_frame`` or, without
    it, to the ``done`` deque; a frame's bytes stay valid until the frame
    ``cfg.frames`` later starts to arrive.
    """

    def __init__(self, cfg: MergeConfig, buffer: bytearray | memoryview | None = None,
                 on_frame: Callable[[FrameDone], None] | None = None):
        self.cfg = cfg
        size = cfg.frames * cfg.frame_bytes
        if buffer is None:
            buffer = bytearray(size)
        if len(buffer) < size:
            raise ValueError(f"buffer of {len(buffer)} bytes, {cfg.frames} frames need {size}")
        self.buffer = memoryview(buffer)
        self.done: deque[FrameDone] = deque()
        self._emit = on_frame if on_frame is not None else self.done.append
        w = cfg.window
        tags = 1 << (w - 1).bit_length()     # a power of two >= the window
        self._x = cfg.first_psn
        self._hi = cfg.first_psn - 1        # highest group PSN (unbounded)
        self._seen: list[int | None] = [None] * tags
        self._wmask = tags - 1
        self._offsets = [off & MASK32 for off in cfg.stream_offsets]
        self._ftag = [-1] * cfg.frames
        self._fcount = [0] * cfg.frames
        self._oldest = 0                     # oldest frame not yet finished by the window
        self._finish_at = self._x + cfg.slices + w - 1   # highest PSN that retires _oldest
        self.received = self.placed = self.duplicates = self.late = 0
        self.before_start = self.malformed = self.jumps = 0
        self.frames_ok = self.frames_incomplete = self.slices_missing = self.frames_skipped = 0

    def receive(self, stream: int, pkt: bytes | bytearray | memoryview) -> int:
        """One Ethernet frame of stream ``stream``: -> PLACED, DUPLICATE, LATE,
        BEFORE_START or MALFORMED."""
        self.received += 1
        n = len(pkt)
        if n < 54 or pkt[12] != 8 or pkt[13] != 0 or pkt[14] >> 4 != 4 or pkt[23] != 17:
            self.malformed += 1
            return MALFORMED
        ihl = pkt[14] & 15
        udp = 14 + ihl * 4
        rtp = udp + 8
        if ihl < 5 or rtp + 12 > n:
            self.malformed += 1
            return MALFORMED
        end = udp + (pkt[udp + 4] << 8 | pkt[udp + 5])
        b0 = pkt[rtp]
        if end > n or end < rtp + 12 or b0 & 0xC0 != 0x80:
            self.malformed += 1
            return MALFORMED
        payload = rtp + 12 + (b0 & 15) * 4
        if b0 & 0x10:                                   # header extension
            if payload + 4 > end:
                self.malformed += 1
                return MALFORMED
            payload += 4 + 4 * (pkt[payload + 2] << 8 | pkt[payload + 3])
        cfg = self.cfg
        start = payload + cfg.skip
        if start + cfg.slice_size > end:
            self.malformed += 1
            return MALFORMED
        seq = pkt[rtp + 2] << 8 | pkt[rtp + 3]
        hi = self._hi
        if cfg.esn:
            d = ((pkt[payload] << 24 | pkt[payload + 1] << 16 | seq) + self._offsets[stream]
                 - hi) & MASK32
            if d >= 0x80000000:
                d -= 0x100000000
        else:
            d = (seq + self._offsets[stream] - hi) & MASK16
            if d >= 0x8000:
                d -= 0x10000
        psn = hi + d
        if d > 0:
            if d > cfg.max_jump:
                self.jumps += 1
            self._hi = psn
            if psn >= self._finish_at:
                self._retire(psn - cfg.window + 1)
        elif d <= -cfg.window:
            self.late += 1
            return LATE
        rel = psn - self._x
        if rel < 0:
            self.before_start += 1
            return BEFORE_START
        slot = psn & self._wmask
        if self._seen[slot] == psn:
            self.duplicates += 1
            return DUPLICATE
        self._seen[slot] = psn
        nslices = cfg.slices
        frame, sl = divmod(rel, nslices)
        fslot = frame % len(self._ftag)
        size = cfg.slice_size
        off = (fslot * nslices + sl) * size
        self.buffer[off:off + size] = memoryview(pkt)[start:start + size]
        self.placed += 1
        if self._ftag[fslot] != frame:
            self._ftag[fslot] = frame
            self._fcount[fslot] = 1
            count = 1
        else:
            count = self._fcount[fslot] = self._fcount[fslot] + 1
        if count == nslices:
            self.frames_ok += 1
            self._emit(FrameDone(frame, CQE_OK, 0, self._x + frame * nslices,
                                 fslot * cfg.frame_bytes))
        return PLACED

    def _retire(self, low: int) -> None:
        """Finish every frame whose last PSN is below ``low`` (the window's lowest PSN).

        Only the ``depth`` oldest of them can hold slices; after a jump past more
        frames than that, the rest are counted as skipped, not reported one by one."""
        cfg = self.cfg
        nslices, depth = cfg.slices, len(self._ftag)
        frame = self._oldest
        end = (low - self._x) // nslices            # first frame not to retire
        if end - frame > depth:
            self.frames_skipped += end - frame - depth
            stop = frame + depth
        else:
            stop = end
        while frame < stop:
            fslot = frame % depth
            have = self._fcount[fslot] if self._ftag[fslot] == frame else 0
            if have < nslices:
                self.frames_incomplete += 1
                self.slices_missing += nslices - have
                self._emit(FrameDone(frame, CQE_MISSING, nslices - have,
                                     self._x + frame * nslices, fslot * cfg.frame_bytes))
            frame += 1
        self._oldest = frame = max(end, frame)
        self._finish_at = self._x + (frame + 1) * nslices + cfg.window - 1

    def flush(self) -> None:
        """End of stream: finish every frame up to the one holding the highest PSN."""
        if self._hi >= self._x:
            last_frame = (self._hi - self._x) // self.cfg.slices
            self._retire(self._x + (last_frame + 1) * self.cfg.slices)

    def frame_view(self, done: FrameDone) -> memoryview:
        """The bytes of a finished frame in the frame buffer."""
        return self.buffer[done.offset:done.offset + self.cfg.frame_bytes]

    def pop_done(self) -> list[FrameDone]:
        out = list(self.done)
        self.done.clear()
        return out

    def stats(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in (
            "received", "placed", "duplicates", "late", "before_start", "malformed",
            "jumps", "frames_ok", "frames_incomplete", "slices_missing", "frames_skipped")}
