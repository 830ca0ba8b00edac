"""Shared-memory rings between the placement agent, applications and the driver.

The NIC's completion queue of seed 000 ([0030]: work queues and completions)
must be readable by an application in another process without a system call
per completion, and the agent (the NIC's side) must never wait for the
application. ``ShmRing`` is that shape: a single-producer single-consumer ring
in a file under ``/dev/shm``, created by one process and attached by path by
the other. Layout (header 192 bytes; the two indexes on their own 64-byte
cache lines so producer and consumer never write the same line)::

    offset size field
    0      4    magic b"PNRG"
    4      2    version (1)                     little-endian
    6      2    entry_size (bytes)
    8      4    capacity (entries, a power of two)
    12     4    kind (1 = completion queue, 2 = recycle queue, 0 = generic)
    16     8    creator pid
    24     40   reserved
    64     8    producer index  u64, native order, free-running; producer writes it
    128    8    consumer index  u64, native order, free-running; consumer writes it
    192    ...  capacity * entry_size bytes of entries;
                entry i lives at 192 + (i & (capacity - 1)) * entry_size

``producer - consumer`` entries are ready; the ring is full when that is
``capacity``. The producer writes the entry, then publishes it by storing the
producer index (one aligned 8-byte store: memoryview item assignment is a
memcpy of 8 bytes); the consumer copies entries out, then stores the consumer
index. This relies on x86-64's store ordering (TSO); a weakly ordered CPU
would need a barrier between the two stores.

* ``CompletionQueue`` (agent -> application): 48-byte entries, the 40-byte
  completion record exactly as the NIC sent it (big-endian, records.py) then
  the host receive time as u64 nanoseconds of CLOCK_REALTIME, little-endian.
* ``RecycleQueue`` (application -> driver): 16-byte entries ``<HHIQ`` (group,
  reserved, frame, addr) naming buffers the application has finished with,
  so the driver can give them back to its BufferRing and post new work items.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from dataclasses import dataclass
from typing import NamedTuple

from p4nic.hostmem import HostMemoryError, map_file
from p4nic.records import Completion

_RING_MAGIC = b"PNRG"
_RING_HDR = struct.Struct("<4sHHIIQ")
RING_HEADER_SIZE = 192
_PROD = 0           # index into the header's u64 view (offset 64)
_CONS = 8           # offset 128
RING_KIND_GENERIC = 0
RING_KIND_COMPLETION = 1
RING_KIND_RECYCLE = 2

CQE_SIZE = 40
CQ_ENTRY_SIZE = CQE_SIZE + 8
# the completion record: magic, type, version, group, status, stream, frame, first_psn,
# slices, missing, mkey, addr, nic_ts (hi 16, lo 32), marker
CQE_STRUCT = struct.Struct("!HBBHBBIIHHIQHIH")
_HOST_NS = struct.Struct("<Q")
_RECYCLE = struct.Struct("<HHIQ")


class RingError(HostMemoryError):
    """A file that is not the expected p4nic ring."""


class ShmRing:
    """Single-producer single-consumer ring of fixed-size entries in a shared file.

    One process creates it (and removes the file on close), the other attaches
    by path; which of them produces is up to the user of the ring. See the
    module docstring for the layout.
    """

    def __init__(self, path: str, mm: mmap.mmap, owner: bool):
        magic, version, esize, capacity, kind, pid = _RING_HDR.unpack_from(mm, 0)
        if magic != _RING_MAGIC or version != 1:
            mm.close()
            raise RingError(f"{path}: not a p4nic ring")
        if capacity & (capacity - 1) or len(mm) < RING_HEADER_SIZE + capacity * esize:
            mm.close()
            raise RingError(f"{path}: inconsistent ring header")
        self.path = path
        self.owner = owner
        self.entry_size: int = esize
        self.capacity: int = capacity
        self.kind: int = kind
        self.creator_pid: int = pid
        self._mask = capacity - 1
        self._mm = mm
        self._mv = memoryview(mm)
        self._idx = self._mv[64:RING_HEADER_SIZE].cast("Q")

    @classmethod
    def create(cls, path: str, entry_size: int, capacity: int,
               kind: int = RING_KIND_GENERIC) -> ShmRing:
        if capacity < 1 or capacity & (capacity - 1):
            raise RingError(f"ring capacity {capacity} must be a power of two")
        if not 1 <= entry_size <= 0xFFFF:
            raise RingError(f"ring entry size {entry_size} out of range")
        mm, _ = map_file(path, RING_HEADER_SIZE + entry_size * capacity, create=True)
        _RING_HDR.pack_into(mm, 0, _RING_MAGIC, 1, entry_size, capacity, kind, os.getpid())
        return cls(path, mm, owner=True)

    @classmethod
    def attach(cls, path: str, kind: int | None = None) -> ShmRing:
        mm, _ = map_file(path, None, create=False)
        ring = cls(path, mm, owner=False)
        if kind is not None and ring.kind != kind:
            ring.close()
            raise RingError(f"{path}: ring of kind {ring.kind}, expected {kind}")
        return ring

    def __len__(self) -> int:
        idx = self._idx
        return idx[_PROD] - idx[_CONS]

    @property
    def free(self) -> int:
        return self.capacity - len(self)

    def push(self, entry: bytes | bytearray | memoryview) -> bool:
        """Producer: append one entry (exactly ``entry_size`` bytes); False if full."""
        idx = self._idx
        prod = idx[_PROD]
        if prod - idx[_CONS] >= self.capacity:
            return False
        off = RING_HEADER_SIZE + (prod & self._mask) * self.entry_size
        self._mv[off:off + self.entry_size] = entry
        idx[_PROD] = prod + 1                # publish after the entry is written
        return True

    def pop(self, max_entries: int = 64) -> list[bytes]:
        """Consumer: up to ``max_entries`` entries, oldest first (copied out)."""
        idx = self._idx
        cons = idx[_CONS]
        count = min(idx[_PROD] - cons, max_entries)
        if count <= 0:
            return []
        mv, esize, mask = self._mv, self.entry_size, self._mask
        out = []
        for i in range(cons, cons + count):
            off = RING_HEADER_SIZE + (i & mask) * esize
            out.append(bytes(mv[off:off + esize]))
        idx[_CONS] = cons + count            # free the slots after copying them out
        return out

    def wait(self, timeout: float | None) -> bool:
        """Block until an entry is ready or ``timeout`` seconds pass; True if one is.

        Polls with a backoff from 20 us to 1 ms: there is no cross-process
        doorbell, and the producer must never block on a consumer."""
        if len(self):
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 20e-6
        while not len(self):
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                pause = min(pause, left)
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)
        return True

    @property
    def closed(self) -> bool:
        return self._mm.closed

    def close(self) -> None:
        if self._mm.closed:
            return
        self._idx.release()
        self._mv.release()
        self._mm.close()
        if self.owner:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


@dataclass(frozen=True)
class CqEntry:
    """A completion as an application reads it: the NIC's record plus host receive time."""
    completion: Completion
    host_ns: int           # CLOCK_REALTIME nanoseconds when the agent received the record

    @property
    def host_time(self) -> float:
        return self.host_ns / 1e9


def completion_from_bytes(data: bytes | memoryview) -> Completion:
    """Completion from its 40 wire bytes (fields only; magic/type are not checked here)."""
    (_m, _t, _v, group, status, stream, frame, first_psn, slices, missing, mkey, addr,
     ts_hi, ts_lo, marker) = CQE_STRUCT.unpack_from(data)
    return Completion(group=group, status=status, stream=stream, frame=frame,
                      first_psn=first_psn, slices=slices, missing=missing, mkey=mkey,
                      addr=addr, nic_ts=ts_hi << 32 | ts_lo, marker=marker)


class CompletionQueue:
    """Completions from the placement agent (producer) to an application (consumer)."""

    def __init__(self, ring: ShmRing):
        if ring.entry_size != CQ_ENTRY_SIZE:
            raise RingError(f"{ring.path}: entry size {ring.entry_size}, "
                            f"a completion queue has {CQ_ENTRY_SIZE}")
        self.ring = ring
        self._entry = bytearray(CQ_ENTRY_SIZE)

    @classmethod
    def create(cls, path: str, capacity: int) -> CompletionQueue:
        return cls(ShmRing.create(path, CQ_ENTRY_SIZE, capacity, RING_KIND_COMPLETION))

    @classmethod
    def attach(cls, path: str) -> CompletionQueue:
        return cls(ShmRing.attach(path, RING_KIND_COMPLETION))

    @property
    def path(self) -> str:
        return self.ring.path

    @property
    def capacity(self) -> int:
        return self.ring.capacity

    def __len__(self) -> int:
        return len(self.ring)

    def push(self, record: bytes | bytearray | memoryview, host_ns: int) -> bool:
        """Producer: the 40 record bytes and the receive time; False if the ring is full."""
        entry = self._entry
        entry[:CQE_SIZE] = record[:CQE_SIZE]
        _HOST_NS.pack_into(entry, CQE_SIZE, host_ns)
        return self.ring.push(entry)

    def poll(self, max_entries: int = 64) -> list[CqEntry]:
        """Consumer: the completions ready now (possibly none), in the order produced."""
        return [CqEntry(completion_from_bytes(raw), _HOST_NS.unpack_from(raw, CQE_SIZE)[0])
                for raw in self.ring.pop(max_entries)]

    def wait(self, timeout: float | None = None, max_entries: int = 64) -> list[CqEntry]:
        """Consumer: block until at least one completion is ready (or timeout), then poll."""
        if not self.ring.wait(timeout):
            return []
        return self.poll(max_entries)

    def close(self) -> None:
        self.ring.close()


class RecycledBuffer(NamedTuple):
    group: int
    frame: int
    addr: int


class RecycleQueue:
    """Buffers an application has finished with (producer) back to the driver (consumer).

    The driver creates it next to the completion queue and takes entries to
    give the buffers back to its BufferRing and post new work items."""

    ENTRY_SIZE = _RECYCLE.size

    def __init__(self, ring: ShmRing):
        if ring.entry_size != self.ENTRY_SIZE:
            raise RingError(f"{ring.path}: entry size {ring.entry_size}, "
                            f"a recycle queue has {self.ENTRY_SIZE}")
        self.ring = ring

    @classmethod
    def create(cls, path: str, capacity: int) -> RecycleQueue:
        return cls(ShmRing.create(path, cls.ENTRY_SIZE, capacity, RING_KIND_RECYCLE))

    @classmethod
    def attach(cls, path: str) -> RecycleQueue:
        return cls(ShmRing.attach(path, RING_KIND_RECYCLE))

    @property
    def path(self) -> str:
        return self.ring.path

    def __len__(self) -> int:
        return len(self.ring)

    def give_back(self, group: int, frame: int, addr: int) -> bool:
        """Application: return the buffer of ``frame``; False if the queue is full (retry)."""
        return self.ring.push(_RECYCLE.pack(group, 0, frame, addr))

    def take(self, max_entries: int = 64) -> list[RecycledBuffer]:
        """Driver: the buffers given back so far, oldest first."""
        out = []
        for raw in self.ring.pop(max_entries):
            group, _r, frame, addr = _RECYCLE.unpack(raw)
            out.append(RecycledBuffer(group, frame, addr))
        return out

    def close(self) -> None:
        self.ring.close()
