"""Placement agent: the host end of the redundant-stream merge offload (seed 000).

A real NIC's scatter engine writes each slice over the bus into the buffer a
work item points to ([0048], [0057]: ``A + (PSN - X) * B``) and posts a
completion when the segment is whole. BMv2 has no bus, so the P4 pipeline
does everything up to the write -- PSN extension, duplicate drop, address
computation, completion detection -- and sends the result to the placement
port as records; this agent stands in for the DMA engine and performs only
the write, with the checks an IOMMU and memory keys give a real NIC.

What the NIC sends for one received packet is one frame (merge.p4's
MergeRecords; ``records.parse_merge_output`` is the reference parser)::

    [error completion] [placement [completion] payload header + slice] [ignored]

* error completion (40 bytes, ``PT_COMPLETION``, status CQE_MISSING): a frame
  the window has moved past with slices missing. It may come alone (the
  packet itself was a dropped duplicate); anything after a lone completion
  that is not a placement header is padding.
* placement (32 bytes, ``PT_MERGE_PLACE``), then -- when its flags have
  ``MPF_COMPLETES`` -- the completion of the frame this slice completes, then
  ``skip`` bytes of payload header (not written) and ``length`` slice bytes:
  written at bus address ``addr`` of the region registered under ``mkey``,
  only if the key is registered and [addr, addr + length) lies inside that
  region. Otherwise the write is refused and counted; nothing is written.
* completions go, in frame order -- the leading one before the write, the
  trailing one after it, so an application never sees a frame's completion
  before its last slice -- to the shared-memory completion queue applications
  poll (shmring.CompletionQueue) and to in-process callbacks. When the queue
  is full a completion waits in a bounded backlog (order kept) and is pushed
  as the application makes room; only beyond that bound is it dropped, and
  counted. A completion naming no registered buffer is still delivered (the
  application may know better) and counted.
* anything else on the port -- other p4nic records, garbage, runts, frames
  cut short -- is counted (``ignored`` for well-formed p4nic records of other
  types, ``malformed`` for the rest) and never stops the agent.

``process()`` is the whole data path and needs no socket; ``start()`` runs it
on frames read from the placement interface by a reader thread. Only that one
thread (or one caller of ``process()``) may produce into the completion queue.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable

from p4nic import p4names as n
from p4nic.hostmem import HostMemory
from p4nic.rawsock import RawPortWorker
from p4nic.shmring import CQE_SIZE, CompletionQueue, CqEntry, completion_from_bytes

log = logging.getLogger("p4nic.placement")

MERGE_PLACE_SIZE = 32
# magic, type, version, group, stream, flags, mkey, addr, psn, frame, length, skip
MERGE_PLACE = struct.Struct("!HBBHBBIQIIHH")
_CQE_MKEY_ADDR = struct.Struct("!IQ")       # at offset 20 of a completion record
_CQE_STATUS = 6
_MAGIC_HI, _MAGIC_LO = n.P4NIC_MAGIC >> 8, n.P4NIC_MAGIC & 0xFF
_PLACE_TAG = bytes((_MAGIC_HI, _MAGIC_LO, n.PT_MERGE_PLACE, n.P4NIC_VERSION))
_CQE_TAG = bytes((_MAGIC_HI, _MAGIC_LO, n.PT_COMPLETION, n.P4NIC_VERSION))
_KNOWN_TYPES = frozenset((n.PT_RX_META, n.PT_TS_RECORD, n.PT_PLACEMENT, n.PT_CAPTURE,
                          n.PT_CLOCK))

CompletionCallback = Callable[[CqEntry], None]

COUNTERS = ("received", "placed", "placed_bytes", "overwrites", "refused_key", "refused_bounds",
            "malformed", "ignored", "completions", "error_completions",
            "completion_unknown_buffer", "cq_backlogged", "cq_dropped", "callback_errors")


class PlacementAgent(RawPortWorker):
    """Writes merge placement records into registered host memory and posts completions.

    ``iface`` is the NIC's placement port (None: only ``process()`` is used);
    ``netns`` the network namespace that interface lives in, if not ours.
    ``cq`` is the completion queue applications poll (None: callbacks only).
    """

    THREAD_NAME = "placement-read"

    def __init__(self, iface: str | None, memory: HostMemory, cq: CompletionQueue | None = None,
                 *, backlog_limit: int = 65536, rcvbuf: int = 32 << 20,
                 netns: str | None = None, promiscuous: bool = True,
                 clock: Callable[[], int] = time.time_ns):
        self.iface = iface
        self.memory = memory
        self.cq = cq
        self.backlog_limit = backlog_limit
        self.rcvbuf = rcvbuf
        self.netns = netns
        self.promiscuous = promiscuous
        self.clock = clock
        self._callbacks: list[CompletionCallback] = []
        self._backlog: deque[tuple[bytes, int]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._kernel_drops = 0
        self.reset_stats()

    def reset_stats(self) -> None:
        self.received = 0                  # frames handed to process()
        self.placed = 0                    # slices written
        self.placed_bytes = 0
        self.overwrites = 0                # of them, duplicates written again (MPF_OVERWRITE)
        self.refused_key = 0               # mkey not registered
        self.refused_bounds = 0            # [addr, addr + length) not inside the region
        self.malformed = 0                 # not a p4nic record, or cut short
        self.ignored = 0                   # p4nic records of other types
        self.completions = 0
        self.error_completions = 0         # status != CQE_OK
        self.completion_unknown_buffer = 0 # delivered, but mkey/addr name no region
        self.cq_backlogged = 0             # completions that had to wait for queue room
        self.cq_dropped = 0                # ... and found the backlog full too
        self.callback_errors = 0

    def on_completion(self, cb: CompletionCallback) -> None:
        """Call ``cb(CqEntry)`` for every completion, in the reader thread, in order.
        A callback that raises is logged and counted, never stops the agent."""
        self._callbacks.append(cb)

    # ---- the data path ---------------------------------------------------------------------------
    def process(self, frame: bytes | bytearray | memoryview, host_ns: int | None = None) -> None:
        """Handle one frame of the placement port (see the module docstring).

        The whole frame is checked before anything is done, so a frame cut
        short neither writes its slice nor delivers its completions."""
        self.received += 1
        size = len(frame)
        if size < 4 or frame[0] != _MAGIC_HI or frame[1] != _MAGIC_LO or \
                frame[3] != n.P4NIC_VERSION:
            self.malformed += 1
            return
        ptype = frame[2]
        pos = 0
        lead = None
        if ptype == n.PT_COMPLETION:
            if size < CQE_SIZE:
                self.malformed += 1
                return
            lead = bytes(frame[:CQE_SIZE])
            if frame[CQE_SIZE:CQE_SIZE + 4] != _PLACE_TAG:
                # a completion alone; whatever follows is padding
                self._complete(lead, self.clock() if host_ns is None else host_ns)
                return
            pos = CQE_SIZE
        elif ptype != n.PT_MERGE_PLACE:
            if ptype in _KNOWN_TYPES:
                self.ignored += 1
            else:
                self.malformed += 1
            return
        if size < pos + MERGE_PLACE_SIZE:
            self.malformed += 1
            return
        (_m, _t, _v, _group, _stream, flags, mkey, addr, _psn, _frame, length,
         skip) = MERGE_PLACE.unpack_from(frame, pos)
        start = pos + MERGE_PLACE_SIZE
        tail = None
        if flags & n.MPF_COMPLETES:
            if frame[start:start + 4] != _CQE_TAG or size < start + CQE_SIZE:
                self.malformed += 1
                return
            tail = bytes(frame[start:start + CQE_SIZE])
            start += CQE_SIZE
        start += skip
        if start + length > size:
            self.malformed += 1
            return
        if lead is not None:
            host_ns = self.clock() if host_ns is None else host_ns
            self._complete(lead, host_ns)
        # the write: key, then bounds, then a slice assignment into the mapping
        entry = self.memory.table.get(mkey)
        if entry is None:
            self.refused_key += 1
        else:
            view, iova, region_size = entry
            off = addr - iova
            if off < 0 or off + length > region_size:
                self.refused_bounds += 1
            else:
                try:
                    view[off:off + length] = memoryview(frame)[start:start + length]
                    self.placed += 1
                    self.placed_bytes += length
                    if flags & n.MPF_OVERWRITE:
                        self.overwrites += 1
                except ValueError:          # released: deregistered while we looked it up
                    self.refused_key += 1
        if tail is not None:
            self._complete(tail, self.clock() if host_ns is None else host_ns)

    def _complete(self, record: bytes, host_ns: int) -> None:
        self.completions += 1
        if record[_CQE_STATUS] != n.CQE_OK:
            self.error_completions += 1
        mkey, addr = _CQE_MKEY_ADDR.unpack_from(record, 20)
        entry = self.memory.table.get(mkey)
        if entry is None or not entry[1] <= addr < entry[1] + entry[2]:
            self.completion_unknown_buffer += 1
        if self.cq is not None:
            if self._backlog:
                self.flush_backlog()
            if self._backlog or not self.cq.push(record, host_ns):
                if len(self._backlog) < self.backlog_limit:
                    self._backlog.append((record, host_ns))
                    self.cq_backlogged += 1
                else:
                    self.cq_dropped += 1
        if self._callbacks:
            item = CqEntry(completion_from_bytes(record), host_ns)
            for cb in self._callbacks:
                try:
                    cb(item)
                except Exception:
                    self.callback_errors += 1
                    log.exception("completion callback %r failed", cb)

    def flush_backlog(self) -> int:
        """Move backlogged completions into the queue as far as it has room; -> how many.

        The reader thread does this itself; call it only when it is not running
        (the queue has one producer)."""
        cq, backlog = self.cq, self._backlog
        moved = 0
        while backlog and cq is not None:
            record, host_ns = backlog[0]
            if not cq.push(record, host_ns):
                break
            backlog.popleft()
            moved += 1
        return moved

    @property
    def backlog(self) -> int:
        """Completions waiting for room in the completion queue."""
        return len(self._backlog)

    # ---- the reader thread -----------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        log.info("placement agent reading %s%s", self.iface,
                 f" in netns {self.netns}" if self.netns else "")

    BURST = 512

    def _idle(self) -> None:
        if self._backlog:
            self.flush_backlog()

    def _frame(self, data: bytes) -> None:
        self.process(data)

    def _frame_failed(self, data: bytes) -> None:
        self.malformed += 1
        log.exception("placement frame of %d bytes", len(data))

    def stats(self) -> dict[str, int]:
        """Every counter, plus the backlog depth now and the kernel's socket drops."""
        out = {name: getattr(self, name) for name in COUNTERS}
        out["cq_backlog"] = len(self._backlog)
        out["kernel_drops"] = self.kernel_drops()
        return out
