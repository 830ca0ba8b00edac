"""Registered host memory: the buffers the placement agent (standing in for the
NIC's DMA engine) writes slices into and applications read frames from.

Seed 000 has the NIC write video slices straight into application buffers
([0039]-[0045]) that the driver registered with a memory key ([0040]). On
BMv2 there is no bus, so the NIC sends placement records to a port and the
placement agent performs the writes; the buffers must still be memory that an
application in *another process* can read without copies. Hence:

* ``MemoryRegion``: a file under ``/dev/shm`` (``p4nic-NAME``), mapped by
  the agent and by the application. The first 4 KiB page describes the region
  (so an application attaching by path learns its memory key and bus address);
  the registered bytes start at :data:`REGION_DATA_OFFSET`::

      0   8s   magic  b"P4NICMR\\0"
      8   u32  version (1)
      12  u32  mkey
      16  u64  iova  (bus address of data byte 0)
      24  u64  size  (registered bytes)
      32  u32  creator pid
      36  64s  name (UTF-8, NUL padded)            little-endian

* ``HostMemory``: the registry the driver registers regions in. It hands out
  memory keys (non-zero, 24-bit index << 8 | random 8-bit variant, as RDMA
  NICs do, so a stale key is unlikely to match a new region) and IOVAs: 4 KiB
  aligned, never reused, with an unmapped guard page between regions, so an
  address one past a region belongs to no region at all.

* ``BufferRing``: carves a region into equal frame buffers, one per work item
  the driver posts.

The completion and recycle queues between agent, application and driver are
in shmring.py.
"""

from __future__ import annotations

import mmap
import os
import re
import secrets
import struct
import threading
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from p4nic.shmring import RecycleQueue

SHM_DIR = "/dev/shm"
REGION_PREFIX = "p4nic-"
PAGE = 4096
REGION_DATA_OFFSET = PAGE
IOVA_BASE = 0x1_0000_0000

_REGION_MAGIC = b"P4NICMR\0"
_REGION_HDR = struct.Struct("<8sIIQQI64s")
_NAME_OK = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class HostMemoryError(ValueError):
    """An address, key or buffer that does not belong where it was used."""


def _align_up(value: int, align: int) -> int:
    return (value + align - 1) & ~(align - 1)


def map_file(path: str, size: int | None, create: bool) -> tuple[mmap.mmap, int]:
    """Open (or create exclusively) ``path`` and map it read-write; -> (map, file size)."""
    flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
    fd = os.open(path, flags, 0o600)
    try:
        if create:
            assert size is not None
            os.ftruncate(fd, size)
        length = os.fstat(fd).st_size
        if length == 0:
            raise HostMemoryError(f"{path}: empty file")
        return mmap.mmap(fd, length), length
    except BaseException:
        if create:
            os.unlink(path)
        raise
    finally:
        os.close(fd)


# ---- memory regions ------------------------------------------------------------------------

class MemoryRegion:
    """A registered buffer: ``size`` bytes at bus address ``iova`` under key ``mkey``.

    ``view`` is a writable memoryview of the registered bytes (offset 0 is
    ``iova``). Created by :meth:`HostMemory.register` (the owner unlinks the
    file on close) or opened by an application with :meth:`attach`.
    """

    def __init__(self, path: str, mm: mmap.mmap, owner: bool):
        self.path = path
        self._mm = mm
        self.owner = owner
        magic, version, mkey, iova, size, pid, name = _REGION_HDR.unpack_from(mm, 0)
        if magic != _REGION_MAGIC or version != 1:
            mm.close()
            raise HostMemoryError(f"{path}: not a p4nic memory region")
        if len(mm) < REGION_DATA_OFFSET + size:
            mm.close()
            raise HostMemoryError(f"{path}: {len(mm)} bytes, header announces {size}")
        self.mkey: int = mkey
        self.iova: int = iova
        self.size: int = size
        self.creator_pid: int = pid
        self.name: str = name.rstrip(b"\0").decode()
        self.view: memoryview = memoryview(mm)[REGION_DATA_OFFSET:REGION_DATA_OFFSET + size]
        self._closed = False

    @classmethod
    def attach(cls, path: str) -> MemoryRegion:
        """Map a region another process registered (the application side)."""
        mm, _ = map_file(path, None, create=False)
        return cls(path, mm, owner=False)

    @property
    def end(self) -> int:
        """One past the region's last bus address."""
        return self.iova + self.size

    @property
    def closed(self) -> bool:
        return self._closed

    def contains(self, addr: int, length: int = 0) -> bool:
        return self.iova <= addr and addr + length <= self.iova + self.size

    def offset(self, addr: int, length: int = 0) -> int:
        """Offset of bus address ``addr`` in ``view``; HostMemoryError outside the region."""
        if not self.contains(addr, length):
            raise HostMemoryError(f"[0x{addr:x}, 0x{addr + length:x}) is not inside region "
                                  f"{self.name} [0x{self.iova:x}, 0x{self.end:x})")
        return addr - self.iova

    def read(self, addr: int, length: int) -> memoryview:
        """The bytes at bus address ``addr`` (no copy: a view into shared memory)."""
        off = self.offset(addr, length)
        return self.view[off:off + length]

    def write(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        off = self.offset(addr, len(data))
        self.view[off:off + len(data)] = data

    def close(self) -> None:
        """Unmap; the creator also removes the file (attached processes keep their map).

        Views handed out by :meth:`read` keep the mapping alive until they are
        released; it is unmapped when the last one goes."""
        if self._closed:
            return
        self._closed = True
        try:
            self.view.release()
            self._mm.close()
        except BufferError:
            pass
        if self.owner:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> MemoryRegion:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"MemoryRegion({self.name!r}, mkey=0x{self.mkey:08x}, iova=0x{self.iova:x}, "
                f"size={self.size})")


class HostMemory:
    """Registry of memory regions the NIC (the placement agent) may write to.

    ``table`` maps mkey -> (view, iova, size) for the agent's hot path: one
    dict lookup per record, no method calls. Entries leave the table before
    their mapping is released, so a record racing a deregistration finds no
    key (or a released view, which the agent counts the same way).
    """

    def __init__(self, prefix: str = REGION_PREFIX, directory: str = SHM_DIR,
                 iova_base: int = IOVA_BASE):
        if iova_base <= 0 or iova_base % PAGE:
            raise HostMemoryError(f"iova_base 0x{iova_base:x} must be a non-zero multiple of 4 KiB")
        self.prefix = prefix
        self.directory = directory
        self._next_iova = iova_base
        self._next_index = 1
        self._regions: dict[int, MemoryRegion] = {}
        self.table: dict[int, tuple[memoryview, int, int]] = {}
        self._lock = threading.Lock()

    def path_for(self, name: str) -> str:
        return os.path.join(self.directory, self.prefix + name)

    def _new_mkey(self) -> int:
        while True:
            index = self._next_index
            self._next_index = index + 1 if index < 0xFFFFFF else 1
            mkey = index << 8 | secrets.randbelow(256)
            if mkey not in self._regions:
                return mkey

    def register(self, name: str, size: int) -> MemoryRegion:
        """Create ``/dev/shm/p4nic-NAME`` of ``size`` bytes and register it.

        FileExistsError if such a file exists already (a live region, or one a
        crashed process left behind: remove it by hand)."""
        if not _NAME_OK.match(name):
            raise HostMemoryError(f"region name {name!r}: 1-64 of [A-Za-z0-9_.-]")
        if size <= 0:
            raise HostMemoryError(f"region size {size} must be positive")
        with self._lock:
            mkey = self._new_mkey()
            iova = self._next_iova
            path = self.path_for(name)
            mm, _ = map_file(path, REGION_DATA_OFFSET + size, create=True)
            _REGION_HDR.pack_into(mm, 0, _REGION_MAGIC, 1, mkey, iova, size, os.getpid(),
                                  name.encode())
            region = MemoryRegion(path, mm, owner=True)
            self._next_iova = _align_up(iova + size, PAGE) + PAGE   # + an unmapped guard page
            self._regions[mkey] = region
            self.table[mkey] = (region.view, iova, size)
        return region

    def deregister(self, region: MemoryRegion | int) -> None:
        """Revoke the key (the agent refuses records for it from now on) and remove the region."""
        mkey = region if isinstance(region, int) else region.mkey
        with self._lock:
            self.table.pop(mkey, None)
            found = self._regions.pop(mkey, None)
        if found is None:
            raise HostMemoryError(f"mkey 0x{mkey:08x} is not registered")
        found.close()

    def lookup(self, mkey: int) -> MemoryRegion | None:
        return self._regions.get(mkey)

    def region_at(self, addr: int, length: int = 1) -> MemoryRegion | None:
        """The region holding [addr, addr + length) (at least the byte at ``addr``), if any."""
        for region in list(self._regions.values()):
            if region.contains(addr, max(length, 1)):
                return region
        return None

    @property
    def regions(self) -> list[MemoryRegion]:
        return list(self._regions.values())

    def close(self) -> None:
        for mkey in list(self._regions):
            self.deregister(mkey)

    def __enter__(self) -> HostMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- frame buffers -----------------------------------------------------------------------------

class BufferRing:
    """``count`` frame buffers of ``buffer_size`` bytes carved out of ``region``.

    The driver takes a free buffer for every work item it posts and gets it
    back when the application returns it, so a buffer is never the target of
    two work items at once. Buffers are handed out oldest-freed first.
    """

    def __init__(self, region: MemoryRegion, buffer_size: int, count: int):
        if buffer_size <= 0 or count <= 0:
            raise HostMemoryError("buffer size and count must be positive")
        if buffer_size * count > region.size:
            raise HostMemoryError(f"{count} buffers of {buffer_size} bytes do not fit region "
                                  f"{region.name} ({region.size} bytes)")
        self.region = region
        self.buffer_size = buffer_size
        self.count = count
        self._free: deque[int] = deque(range(count))
        self._taken = [False] * count
        self._lock = threading.Lock()

    def addr_of(self, index: int) -> int:
        if not 0 <= index < self.count:
            raise HostMemoryError(f"buffer index {index} out of range 0..{self.count - 1}")
        return self.region.iova + index * self.buffer_size

    def index_of(self, addr: int) -> int:
        """Index of the buffer starting at ``addr``; HostMemoryError for any other address."""
        off = addr - self.region.iova
        index, rest = divmod(off, self.buffer_size)
        if off < 0 or rest or index >= self.count:
            raise HostMemoryError(f"0x{addr:x} is not the start of a buffer of region "
                                  f"{self.region.name}")
        return index

    def view(self, index: int) -> memoryview:
        off = self.addr_of(index) - self.region.iova
        return self.region.view[off:off + self.buffer_size]

    def take(self) -> tuple[int, int] | None:
        """(index, bus address) of a free buffer, or None when all are in use."""
        with self._lock:
            if not self._free:
                return None
            index = self._free.popleft()
            self._taken[index] = True
        return index, self.region.iova + index * self.buffer_size

    def give_back(self, addr: int) -> int:
        """Mark the buffer at ``addr`` free again; -> its index. Refuses addresses that
        are not buffer starts and buffers that are not in use (a double give-back)."""
        index = self.index_of(addr)
        with self._lock:
            if not self._taken[index]:
                raise HostMemoryError(f"buffer {index} (0x{addr:x}) is not in use")
            self._taken[index] = False
            self._free.append(index)
        return index

    def reclaim(self, queue: RecycleQueue, max_entries: int = 1024) -> tuple[int, int]:
        """Give back everything the application returned on ``queue``;
        -> (buffers freed, entries refused because they named no buffer in use)."""
        freed = refused = 0
        for item in queue.take(max_entries):
            try:
                self.give_back(item.addr)
                freed += 1
            except HostMemoryError:
                refused += 1
        return freed, refused

    @property
    def free(self) -> int:
        return len(self._free)

    @property
    def in_use(self) -> int:
        return self.count - len(self._free)
