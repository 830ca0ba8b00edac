"""Capture agent (seed 003): the capture port's stream -> pcapng files.

The NIC sends each captured packet to the capture port behind a capture
record (capture id, direction, port, NIC timestamp, original length, snap
length). The agent reads that port with a raw socket and writes pcapng:
one interface block per capture stream with the stream's snap length and
``if_tsresol`` = 6 (the NIC clock counts microseconds), one packet block per
packet whose timestamp is the NIC timestamp mapped to wall-clock time (not
the time the host read it), with captured and original lengths, the
direction in ``epb_flags`` and the raw NIC timestamp in the packet comment.

It never blocks the traffic: a reader thread only moves frames from the
socket into a bounded queue; when the writer falls behind, frames that do
not fit are counted as dropped instead of stalling the reader (and the
NIC's capture copies already leave at the lowest egress priority).
"""

from __future__ import annotations

import logging
import os
import queue
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from p4nic.clock import ClockMapping, load_mapping
from p4nic.pcapng import EPB_INBOUND, EPB_OUTBOUND, PcapngWriter
from p4nic.rawsock import PACKET_OUTGOING, SOL_PACKET, open_raw, recv_frame
from p4nic.records import RecordError, parse_capture

log = logging.getLogger("p4nic.capture")

PACKET_STATISTICS = 6

ClockSource = Callable[[], "ClockMapping | None"]


class FileClock:
    """Clock mapping from the driver's state file, re-read when the file changes."""

    def __init__(self, path: str):
        self.path = path
        self._mtime: float | None = None
        self._mapping: ClockMapping | None = None

    def __call__(self) -> ClockMapping | None:
        try:
            mtime = os.stat(self.path).st_mtime
        except FileNotFoundError:
            return self._mapping
        if mtime != self._mtime:
            try:
                self._mapping = load_mapping(self.path)
                self._mtime = mtime
            except (OSError, ValueError) as e:
                log.warning("clock state %s: %s (keeping the previous mapping)", self.path, e)
        return self._mapping


def section_comment(iface: str, mapping: ClockMapping | None) -> str:
    head = (f"p4nic capture stream read from {iface}. Packet times are the NIC's arrival "
            f"timestamps (NIC clock, 1 us resolution, if_tsresol=6), not host receive times; ")
    if mapping is None:
        return head + ("no clock mapping was available: times are raw NIC clock values "
                       "(microseconds since the switch started, shown as 1970 dates).")
    return head + "mapped to wall-clock time: " + mapping.describe() + "."


@dataclass
class CaptureStats:
    received: int = 0         # frames read from the socket
    written: int = 0          # packets written to pcapng
    dropped: int = 0          # frames the bounded queue had no room for
    invalid: int = 0          # frames without a capture record
    kernel_drops: int = 0     # the socket's own drops (PACKET_STATISTICS)

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def open_capture_socket(iface: str, rcvbuf: int = 8 << 20) -> socket.socket:
    """Raw packet socket on ``iface`` in promiscuous mode (the frames are not ours)."""
    return open_raw(iface, rcvbuf=rcvbuf, promiscuous=True)


class CaptureAgent:
    """Reads capture records from ``iface`` and writes them to pcapng."""

    def __init__(self, iface: str, out: str, clock: ClockSource,
                 rotate_bytes: int | None = None, max_files: int | None = None,
                 queue_size: int = 8192, flush_interval: float = 0.2):
        self.iface = iface
        self.clock = clock
        self.stats = CaptureStats()
        self.writer = PcapngWriter(out, rotate_bytes=rotate_bytes, max_files=max_files,
                                   comment=section_comment(iface, clock()))
        self.flush_interval = flush_interval
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._written_lock = threading.Condition()

    @property
    def files(self) -> list[str]:
        return list(self.writer.files)

    def start(self) -> None:
        self._sock = open_capture_socket(self.iface)
        self._threads = [
            threading.Thread(target=self._read, name="capture-read", daemon=True),
            threading.Thread(target=self._write, name="capture-write", daemon=True),
        ]
        for t in self._threads:
            t.start()
        log.info("capture agent reading %s into %s", self.iface, self.writer.files[-1])

    # ---- reader: socket -> bounded queue, never waits on the writer ---------------------
    def _read(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            ready, _, _ = select.select([sock], [], [], 0.1)
            if not ready:
                continue
            try:
                data, pkttype = recv_frame(sock)
            except OSError as e:
                if not self._stop.is_set():
                    log.error("capture socket: %s", e)
                return
            if pkttype == PACKET_OUTGOING:
                continue
            self.stats.received += 1
            try:
                self._queue.put_nowait(data)
            except queue.Full:
                self.stats.dropped += 1

    # ---- writer: queue -> pcapng --------------------------------------------------------------
    def _write(self) -> None:
        last_flush = time.monotonic()
        while not (self._stop.is_set() and self._queue.empty()):
            try:
                data = self._queue.get(timeout=0.05)
            except queue.Empty:
                data = None
            if data is not None:
                self.write_frame(data)
            now = time.monotonic()
            if data is None or now - last_flush >= self.flush_interval:
                self.writer.flush()
                last_flush = now
        self.writer.flush()

    def write_frame(self, data: bytes) -> bool:
        """Write one frame of the capture port; False if it is not a capture record."""
        try:
            rec, frame = parse_capture(data)
        except RecordError as e:
            self.stats.invalid += 1
            log.debug("capture port frame without a capture record: %s", e)
            return False
        frame = frame[:rec.orig_len] if rec.orig_len else frame
        mapping = self.clock()
        ts_us = mapping.to_wall_us(rec.ts) if mapping is not None else rec.ts
        key = (rec.capture_id, rec.snaplen)
        if not self.writer.has_interface(key):
            self.writer.add_interface(
                key, snaplen=rec.snaplen, name=f"p4nic-capture-{rec.capture_id}",
                description=f"p4nic capture stream {rec.capture_id} (snaplen {rec.snaplen}) "
                            f"from {self.iface}")
        self.writer.set_comment(section_comment(self.iface, mapping))
        self.writer.write_packet(
            key, ts_us, frame, rec.orig_len,
            flags=EPB_OUTBOUND if rec.direction_name == "tx" else EPB_INBOUND,
            comment=f"nic_ts={rec.ts} port={rec.port} dir={rec.direction_name} "
                    f"capture_id={rec.capture_id}")
        with self._written_lock:
            self.stats.written += 1
            self._written_lock.notify_all()
        return True

    def wait_written(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` packets are written and flushed (tests, CLI)."""
        deadline = time.monotonic() + timeout
        with self._written_lock:
            while self.stats.written < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._written_lock.wait(left)
        time.sleep(self.flush_interval + 0.1)
        return True

    def kernel_drops(self) -> int:
        if self._sock is None:
            return self.stats.kernel_drops
        try:
            raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
            _, drops = struct.unpack("II", raw)
            self.stats.kernel_drops += drops     # the kernel resets them on each read
        except OSError:
            pass
        return self.stats.kernel_drops

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self.kernel_drops()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.writer.close()
