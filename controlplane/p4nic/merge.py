"""Redundant-stream merge with direct placement (seed 000): the driver side.

A merge group (the seed's QP) is one table entry holding its context (slice
size B, header size, first PSN, window, jump bound, mode); its streams are
entries of ``merge_stream_v4``/``_v6`` (destination, UDP port, optionally
source and wire port, with the stream's PSN offset); its work items are
range entries of ``merge_wqe`` (frame tag, buffer, first PSN X, slices), all
written over P4Runtime (DESIGN.md section 4: driver state lives in tables).

Frames of a group are fixed-size runs of ``slices_per_frame`` PSNs: frame n
covers PSNs ``first_psn + n * N ... + N - 1``. The driver posts one work
item per frame from a ring of buffers and reposts a buffer for a later frame
when the application gives it back (``FrameRing``: ``fill`` / ``recycle``). Each work
item also names the frame that the window has left behind by the time this
frame's packets arrive (``expiry_distance``): the NIC checks that frame's
counter and reports it with an error completion if slices are missing.

    mm = MergeManager(drv)
    g = mm.create_group(MergeGroup(group=1, slice_size=1200, slices_per_frame=20))
    mm.add_stream(MergeStream(group=1, stream=0, dst="10.0.0.1", dport=5004, in_port=0))
    mm.add_stream(MergeStream(group=1, stream=1, dst="10.0.0.1", dport=5004, in_port=1))
    mm.post_frame(1, frame=0, mkey=region.mkey, buf_base=region.base)
    print(mm.counters(1))
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from p4.v1 import p4runtime_pb2

from p4nic import p4names as n
from p4nic.entries import entity
from p4nic.model import NicConfigError, _check_range, _from_dict, _ip
from p4nic.p4info import Range, Ternary

if TYPE_CHECKING:
    from p4nic.driver import NicDriver

__all__ = ["MergeGroup", "MergeStream", "MergeManager", "PostedFrame", "FrameRing",
           "RingFrame", "frames_in_ring", "expiry_distance",
           "frame_psns", "frame_slot", "frame_tag", "MERGE_COUNTER_NAMES"]

MODES = ("drop", "overwrite")
MERGE_COUNTER_NAMES = ("placed", "duplicates", "late", "wrong_size", "no_buffer",
                       "jumps", "completions", "error_completions")


# ---- packet math: small pure functions (unit-tested in tests/controlplane) ---------------
def expiry_distance(window: int, slices_per_frame: int) -> int:
    """How many frames after frame F the NIC checks F for missing slices.

    Frame F + k must start at or after F's last PSN + window (by then every PSN
    of F is behind the window), and k must be odd so that F's counter is in
    the other register array than F + k's own (one access per array per pass).
    """
    if window < 1 or slices_per_frame < 1:
        raise NicConfigError("window and slices_per_frame must be at least 1")
    # first(F+k) - last(F) = (k - 1) * N + 1 >= window
    k = 1 + max(0, -(-(window - 1) // slices_per_frame))
    return k if k % 2 == 1 else k + 1


def frame_psns(first_psn: int, slices_per_frame: int, frame: int) -> tuple[int, int]:
    """(first, last) extended PSN of frame number ``frame``."""
    start = first_psn + frame * slices_per_frame
    return start, start + slices_per_frame - 1


def frame_slot(frame: int) -> int:
    """Counter slot of a frame: bit 0 = parity (which register array), then the
    index within the group's FRAME_SLOTS cells of that array."""
    return ((frame >> 1) % n.MERGE_FRAME_SLOTS) << 1 | (frame & 1)


def frame_tag(generation: int, frame: int) -> int:
    """The 32-bit tag of a work item: group generation ++ 24-bit frame number."""
    return ((generation & 0xFF) << 24) | (frame & 0xFFFFFF)


# ---- what the driver programs --------------------------------------------------------------
@dataclass(frozen=True)
class MergeGroup:
    """A merge group's context (seed [0031]-[0036]).

    slice_size: B, the fixed payload bytes per packet placed; header_size:
    bytes of UDP payload before the slice (12-byte RTP header plus a payload
    header to skip, e.g. 20 for ST 2022-6's 8 bytes); first_psn: X of frame 0
    in the group's sequence space; slices_per_frame: N; window: PSNs the dedup
    window holds (up to 480); max_jump: a PSN further ahead than this
    resynchronises the group (counted); mode: drop or overwrite duplicates;
    esn: PSNs are 32-bit, the high half from RFC 4175's extended sequence
    number; record_port: where placement and completion records go (default:
    the port map's placement port).

    cyclic (seed [0040]): no work items; the group context holds a ring of
    ``ring_slices`` slices at ``ring_base`` of region ``ring_mkey`` and slice
    PSN lands at ``ring_base + ((PSN - X) mod ring_slices) * B``; completions
    then cover chunks of ``slices_per_frame`` slices. Both are powers of two
    (the NIC divides by shifting). Completions say where the RTP marker fell,
    so frames of any packet count can be cut out of the ring.
    """
    group: int
    slice_size: int
    slices_per_frame: int
    header_size: int = 12
    first_psn: int = 0
    window: int = n.MERGE_WINDOW_MAX
    max_jump: int = 4096
    mode: str = "drop"
    esn: bool = False
    record_port: int | None = None
    generation: int = 0
    cyclic: bool = False
    ring_mkey: int = 0
    ring_base: int = 0
    ring_slices: int = 0

    def __post_init__(self) -> None:
        _check_range("group", self.group, 0, n.MERGE_GROUPS - 1)
        _check_range("slice_size", self.slice_size, 1, 0xFFFF)
        _check_range("slices_per_frame", self.slices_per_frame, 1, 0xFFFF)
        _check_range("header_size", self.header_size, 12, 0xFFFF - self.slice_size)
        _check_range("first_psn", self.first_psn, 0, 0xFFFFFFFF)
        _check_range("window", self.window, 1, n.MERGE_WINDOW_MAX)
        _check_range("max_jump", self.max_jump, 1, 0x7FFFFFFF)
        if self.mode not in MODES:
            raise NicConfigError(f"mode '{self.mode}': use one of {', '.join(MODES)}")
        if self.esn and self.header_size < 14:
            raise NicConfigError("esn: the 2-byte extended sequence number follows the RTP "
                                 "header, so header_size must be at least 14")
        k = expiry_distance(self.window, self.slices_per_frame)
        if k >= 2 * n.MERGE_FRAME_SLOTS:
            raise NicConfigError(
                f"a window of {self.window} PSNs spans {k} frames of {self.slices_per_frame} "
                f"slices; the NIC tracks {2 * n.MERGE_FRAME_SLOTS - 1} at most: use larger "
                f"frames or a smaller window")
        if self.record_port is not None:
            _check_range("record_port", self.record_port, 0, n.MAX_DELIVER_PORT)
        if self.cyclic:
            for name in ("slices_per_frame", "ring_slices"):
                v = getattr(self, name)
                if v < 1 or v & (v - 1):
                    raise NicConfigError(f"cyclic: {name}={v} must be a power of two (the NIC "
                                         f"divides by shifting)")
            if self.ring_slices < self.slices_per_frame:
                raise NicConfigError("cyclic: the ring must hold at least one chunk "
                                     "(ring_slices >= slices_per_frame)")
            if self.ring_slices > 1 << 31:
                raise NicConfigError("cyclic: ring_slices above 2^31")
            _check_range("ring_mkey", self.ring_mkey, 0, 0xFFFFFFFF)
            _check_range("ring_base", self.ring_base, 0, (1 << 64) - 1)
        elif self.ring_slices or self.ring_base or self.ring_mkey:
            raise NicConfigError("ring_* describe a cyclic buffer: set cyclic=True")

    @property
    def flags(self) -> int:
        return ((n.MGF_OVERWRITE if self.mode == "overwrite" else 0)
                | (n.MGF_ESN if self.esn else 0) | (n.MGF_CYCLIC if self.cyclic else 0))

    @property
    def expiry_distance(self) -> int:
        return expiry_distance(self.window, self.slices_per_frame)

    @property
    def frame_bytes(self) -> int:
        return self.slice_size * self.slices_per_frame

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MergeGroup:
        return _from_dict(cls, data, "merge group")


@dataclass(frozen=True)
class MergeStream:
    """One received stream of a group: destination address and UDP port, and
    optionally source address (or prefix) and wire port to tell redundant
    streams apart; psn_offset maps its RTP sequence numbers to the group's
    (the seed's Y - X: group PSN = RTP seq + offset)."""
    group: int
    stream: int
    dst: str
    dport: int
    src: str | None = None
    in_port: int | None = None
    psn_offset: int = 0
    priority: int = 10

    def __post_init__(self) -> None:
        _check_range("group", self.group, 0, n.MERGE_GROUPS - 1)
        _check_range("stream", self.stream, 0, 254)
        _check_range("dport", self.dport, 0, 0xFFFF)
        _check_range("psn_offset", self.psn_offset, 0, 0xFFFFFFFF)
        _check_range("priority", self.priority, 1, 0x7FFFFFFF)
        dst = _ip("dst", self.dst)
        object.__setattr__(self, "dst", str(dst))
        if self.src is not None:
            try:
                net = ipaddress.ip_network(str(self.src), strict=False)
            except ValueError:
                raise NicConfigError(f"src '{self.src}' is not an address or prefix") from None
            if net.version != dst.version:
                raise NicConfigError("src and dst must be the same IP version")
            object.__setattr__(self, "src", str(net) if net.prefixlen != net.max_prefixlen
                               else str(net.network_address))
        if self.in_port is not None:
            _check_range("in_port", self.in_port, 0, 511)

    @property
    def ip_version(self) -> int:
        return ipaddress.ip_address(self.dst).version

    def key(self) -> tuple:
        return (self.dst, self.dport, self.src, self.in_port)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MergeStream:
        return _from_dict(cls, data, "merge stream")


@dataclass(frozen=True)
class PostedFrame:
    """A work item on the device."""
    group: int
    frame: int
    tag: int
    mkey: int
    buf_base: int
    first_psn: int
    last_psn: int


@dataclass
class _GroupState:
    config: MergeGroup
    streams: dict[tuple, MergeStream]
    frames: dict[int, PostedFrame]           # frame number -> work item on the device
    history: dict[int, PostedFrame]          # recent work items (expiry targets)


class MergeManager:
    """Merge groups, streams and work items of one NicDriver."""

    def __init__(self, driver: NicDriver):
        self.drv = driver
        self._groups: dict[int, _GroupState] = {}
        self._generations: dict[int, int] = {}
        self._lock = threading.RLock()
        self._adopted_raw: dict[int, dict[str, Any]] = {}
        self.adopted = False
        driver.add_clear_hook(self.clear)

    def adopt(self) -> int:
        """Take over the merge groups, streams and work items already on the device."""
        self.adopted = True
        return _adopt_into(self)

    # ---- groups --------------------------------------------------------------------------
    def _group(self, group: int) -> _GroupState:
        st = self._groups.get(group)
        if st is None:
            raise NicConfigError(f"merge group {group} does not exist")
        return st

    def groups(self) -> list[MergeGroup]:
        with self._lock:
            return [st.config for st in self._groups.values()]

    def group(self, group: int) -> MergeGroup:
        return self._group(group).config

    def create_group(self, cfg: MergeGroup) -> MergeGroup:
        """Install the group's context (a new generation: fresh window and counters)."""
        with self._lock:
            if cfg.group in self._groups:
                raise NicConfigError(f"merge group {cfg.group} already exists")
            ports = self.drv._ports()
            last = self._generations.get(cfg.group)
            gen = random.randrange(1, 0x10000) if last is None else last % 0xFFFF + 1
            cfg = dataclasses.replace(
                cfg, generation=gen,
                record_port=ports.placement if cfg.record_port is None else cfg.record_port)
            self.drv.client.insert(self._group_entity(cfg), f"create merge group {cfg.group}")
            self._generations[cfg.group] = gen
            self._groups[cfg.group] = _GroupState(cfg, {}, {}, {})
            return cfg

    def _group_entity(self, cfg: MergeGroup, with_action: bool = True) -> p4runtime_pb2.Entity:
        params = None
        if with_action:
            params = {"flags": cfg.flags, "header_size": cfg.header_size,
                      "payload_size": cfg.slice_size, "first_psn": cfg.first_psn,
                      "window_psns": cfg.window, "max_jump": cfg.max_jump,
                      "generation": cfg.generation, "record_port": cfg.record_port,
                      "ring_base": cfg.ring_base, "ring_mkey": cfg.ring_mkey,
                      "ring_shift": cfg.ring_slices.bit_length() - 1 if cfg.cyclic else 0,
                      "chunk_shift": cfg.slices_per_frame.bit_length() - 1 if cfg.cyclic
                      else 0,
                      "expiry_chunks": cfg.expiry_distance if cfg.cyclic else 0}
        return self.drv._builder().table(n.MERGE_GROUP, {n.MF_MERGE_GROUP: cfg.group},
                                         n.SET_GROUP if with_action else None, params)

    def delete_group(self, group: int) -> None:
        """Remove the group with its streams and work items."""
        with self._lock:
            st = self._group(group)
            for key in list(st.streams):
                self.remove_stream(group, key)
            for frame in sorted(st.frames):
                self.retire_frame(group, frame)
            self.drv.client.delete(self._group_entity(st.config, False),
                                   f"delete merge group {group}")
            del self._groups[group]

    # ---- streams --------------------------------------------------------------------------
    def _stream_entity(self, s: MergeStream, with_action: bool = True) -> p4runtime_pb2.Entity:
        v4 = s.ip_version == 4
        table = n.MERGE_STREAM_V4 if v4 else n.MERGE_STREAM_V6
        src: Ternary | None = None
        if s.src is not None:
            net = ipaddress.ip_network(s.src, strict=False)
            src = Ternary(int(net.network_address), int(net.netmask))
        match = {n.MF_IPV4_DST if v4 else n.MF_IPV6_DST: s.dst,
                 n.MF_UDP_DST_PORT: s.dport,
                 n.MF_IPV4_SRC if v4 else n.MF_IPV6_SRC: src,
                 n.MF_IN_PORT: None if s.in_port is None else Ternary(s.in_port, 0x1FF)}
        params = {"group": s.group, "stream": s.stream, "offset": s.psn_offset}
        return self.drv._builder().table(table, match, n.SET_STREAM if with_action else None,
                                         params if with_action else None, priority=s.priority)

    def add_stream(self, s: MergeStream) -> MergeStream:
        with self._lock:
            st = self._group(s.group)
            if s.key() in st.streams:
                raise NicConfigError(f"stream {s.key()} is already in group {s.group}")
            for other in self._groups.values():
                if s.key() in other.streams:
                    raise NicConfigError(f"stream {s.key()} already belongs to group "
                                         f"{other.config.group}")
            self.drv.client.insert(self._stream_entity(s), f"add merge stream {s.key()}")
            st.streams[s.key()] = s
            return s

    def remove_stream(self, group: int, key: tuple) -> None:
        with self._lock:
            st = self._group(group)
            s = st.streams.get(tuple(key))
            if s is None:
                raise NicConfigError(f"group {group} has no stream {tuple(key)}")
            self.drv.client.delete(self._stream_entity(s, False),
                                   f"remove merge stream {s.key()}")
            del st.streams[s.key()]

    def streams(self, group: int) -> list[MergeStream]:
        with self._lock:
            return list(self._group(group).streams.values())

    def stream_counters(self, s: MergeStream) -> tuple[int, int]:
        """(packets, bytes) received on a stream (direct counter of its entry)."""
        dce = p4runtime_pb2.DirectCounterEntry()
        dce.table_entry.CopyFrom(self._stream_entity(s, False).table_entry)
        got = self.drv.client.read([entity(direct_counter_entry=dce)],
                                   f"read counters of merge stream {s.key()}")
        if not got:
            raise NicConfigError(f"merge stream {s.key()}: the device returned no counter")
        data = got[0].direct_counter_entry.data
        return data.packet_count, data.byte_count

    # ---- work items ------------------------------------------------------------------------
    def _wqe_entity(self, cfg: MergeGroup, f: PostedFrame, expire: PostedFrame | None = None,
                    with_action: bool = True) -> p4runtime_pb2.Entity:
        params = None
        if with_action:
            e = expire
            params = {"frame": f.tag, "mkey": f.mkey, "buf_base": f.buf_base,
                      "first_psn": f.first_psn, "slices": cfg.slices_per_frame,
                      "slot": frame_slot(f.frame),
                      "expire": int(e is not None),
                      "exp_frame": e.tag if e else 0, "exp_mkey": e.mkey if e else 0,
                      "exp_buf_base": e.buf_base if e else 0,
                      "exp_first_psn": e.first_psn if e else 0,
                      "exp_slices": cfg.slices_per_frame if e else 0,
                      "exp_slot_": frame_slot(e.frame) if e else 0}
        return self.drv._builder().table(
            n.MERGE_WQE, {n.MF_MERGE_GROUP: cfg.group,
                          n.MF_MERGE_PSN: Range(f.first_psn, f.last_psn)},
            n.POST_FRAME if with_action else None, params, priority=1)

    def post_frame(self, group: int, frame: int, mkey: int, buf_base: int) -> PostedFrame:
        """Post the work item of frame number ``frame``: its slices go to
        ``buf_base`` + (PSN - X) * B in memory region ``mkey``."""
        with self._lock:
            st = self._group(group)
            cfg = st.config
            if cfg.cyclic:
                raise NicConfigError(f"group {group} writes into its cyclic buffer: it takes "
                                     f"no work items")
            _check_range("frame", frame, 0, 0xFFFFFF)
            _check_range("mkey", mkey, 0, 0xFFFFFFFF)
            _check_range("buf_base", buf_base, 0, (1 << 64) - 1)
            if frame in st.frames:
                raise NicConfigError(f"frame {frame} of group {group} is already posted")
            first, last = frame_psns(cfg.first_psn, cfg.slices_per_frame, frame)
            if last > 0xFFFFFFFF:
                raise NicConfigError(f"frame {frame} lies beyond the 32-bit PSN space")
            for other in st.frames.values():
                if other.frame % (2 * n.MERGE_FRAME_SLOTS) == frame % (2 * n.MERGE_FRAME_SLOTS):
                    raise NicConfigError(
                        f"frame {frame} would share a counter slot with posted frame "
                        f"{other.frame}: at most {2 * n.MERGE_FRAME_SLOTS} frames in flight")
            pf = PostedFrame(group, frame, frame_tag(cfg.generation, frame), mkey, buf_base,
                             first, last)
            expire = st.history.get(frame - cfg.expiry_distance)
            self.drv.client.insert(self._wqe_entity(cfg, pf, expire),
                                   f"post frame {frame} of merge group {group}")
            st.frames[frame] = pf
            st.history[frame] = pf
            # keep what later work items may still name as their expiring frame
            for old in [f for f in st.history if f < frame - 2 * n.MERGE_FRAME_SLOTS]:
                del st.history[old]
            return pf

    def retire_frame(self, group: int, frame: int) -> None:
        """Remove a frame's work item (after its completion, before reusing its buffer)."""
        with self._lock:
            st = self._group(group)
            pf = st.frames.pop(frame, None)
            if pf is None:
                raise NicConfigError(f"frame {frame} of group {group} is not posted")
            self.drv.client.delete(self._wqe_entity(st.config, pf, with_action=False),
                                   f"retire frame {frame} of merge group {group}")

    def posted(self, group: int) -> list[PostedFrame]:
        with self._lock:
            return sorted(self._group(group).frames.values(), key=lambda f: f.frame)

    def frame_of_tag(self, group: int, tag: int) -> PostedFrame | None:
        """The work item a completion's frame tag names (posted or recent)."""
        with self._lock:
            st = self._group(group)
            f = st.history.get(tag & 0xFFFFFF)
            return f if f is not None and f.tag == tag else None

    # ---- counters -------------------------------------------------------------------------
    def _read_counter(self, name: str, index: int) -> tuple[int, int]:
        ce = p4runtime_pb2.CounterEntry(counter_id=self.drv._schema().counter(name).preamble.id)
        ce.index.index = index
        got = self.drv.client.read([entity(counter_entry=ce)], f"read {name}[{index}]")
        if not got:
            return 0, 0
        d = got[0].counter_entry.data
        return d.packet_count, d.byte_count

    def group_info(self, group: int) -> dict[str, Any]:
        """The group's context, streams and posted work items (JSON-able)."""
        with self._lock:
            st = self._group(group)
            return {**st.config.to_dict(), "expiry_distance": st.config.expiry_distance,
                    "streams": [s.to_dict() for s in st.streams.values()],
                    "posted": [dataclasses.asdict(f) for f in
                               sorted(st.frames.values(), key=lambda f: f.frame)]}

    def counters(self, group: int) -> dict[str, int]:
        """Packets of the group by outcome (placed, duplicates, late, wrong_size,
        no_buffer), jumps, completions and error completions."""
        _check_range("group", group, 0, n.MERGE_GROUPS - 1)
        ce = p4runtime_pb2.CounterEntry(
            counter_id=self.drv._schema().counter(n.MERGE_PACKETS).preamble.id)
        got = self.drv.client.read([entity(counter_entry=ce)], "read merge_packets")
        by_index = {e.counter_entry.index.index: e.counter_entry.data.packet_count for e in got}
        out = {name: by_index.get(group << 3 | i, 0)
               for i, name in enumerate(MERGE_COUNTER_NAMES[:5])}
        out["jumps"] = self._read_counter(n.MERGE_JUMPS, group)[0]
        out["completions"] = self._read_counter(n.MERGE_COMPLETIONS, group)[0]
        out["error_completions"] = self._read_counter(n.MERGE_ERRORS, group)[0]
        return out

    # ---- teardown --------------------------------------------------------------------------
    def clear(self) -> None:
        """Remove every group this manager created (NicDriver.clear_all calls it)."""
        with self._lock:
            for group in list(self._groups):
                try:
                    self.delete_group(group)
                except Exception:   # the device may already be gone; forget it anyway
                    self._groups.pop(group, None)


def _adopt_into(mm: MergeManager) -> int:
    """Rebuild a manager's state from the device's merge tables (a one-shot CLI
    acting on what a daemon or an earlier process installed); returns the
    number of groups found."""
    drv = mm.drv
    schema = drv._schema()
    found = 0
    with mm._lock:
        for te in drv._read_table(n.MERGE_GROUP):
            m = schema.decode_match(te)
            _, p = schema.decode_action(te)
            group = m[n.MF_MERGE_GROUP]
            if group in mm._groups:
                continue
            flags = p["flags"]
            # slices_per_frame is driver knowledge: recover it from a posted work item
            cfg = {"group": group, "slice_size": p["payload_size"],
                   "header_size": p["header_size"], "first_psn": p["first_psn"],
                   "window": p["window_psns"], "max_jump": p["max_jump"],
                   "mode": "overwrite" if flags & n.MGF_OVERWRITE else "drop",
                   "esn": bool(flags & n.MGF_ESN), "record_port": p["record_port"],
                   "generation": p["generation"]}
            if flags & n.MGF_CYCLIC:
                cfg.update(cyclic=True, ring_base=p["ring_base"], ring_mkey=p["ring_mkey"],
                           ring_slices=1 << p["ring_shift"])
                cfg["slices_per_frame_cyclic"] = 1 << p["chunk_shift"]
            mm._adopted_raw[group] = cfg
            found += 1
        wqes: dict[int, list[tuple[dict, dict]]] = {}
        for te in drv._read_table(n.MERGE_WQE):
            m = schema.decode_match(te)
            _, p = schema.decode_action(te)
            wqes.setdefault(m[n.MF_MERGE_GROUP], []).append((m, p))
        for group, raw in list(mm._adopted_raw.items()):
            items = wqes.get(group, [])
            slices = raw.pop("slices_per_frame_cyclic", None) or (
                items[0][1]["slices"] if items else 1)
            try:
                cfg = MergeGroup(slices_per_frame=slices, **raw)
            except NicConfigError:
                cfg = MergeGroup(slices_per_frame=slices, **{**raw, "window": 1})
            st = _GroupState(cfg, {}, {}, {})
            for m, p in items:
                first, last = m[n.MF_MERGE_PSN]
                frame = p["frame"] & 0xFFFFFF
                pf = PostedFrame(group, frame, p["frame"], p["mkey"], p["buf_base"], first, last)
                st.frames[frame] = pf
                st.history[frame] = pf
            mm._groups[group] = st
            mm._generations[group] = cfg.generation
        mm._adopted_raw.clear()
        for table in (n.MERGE_STREAM_V4, n.MERGE_STREAM_V6):
            for te in drv._read_table(table):
                m = schema.decode_match(te)
                _, p = schema.decode_action(te)
                v4 = table == n.MERGE_STREAM_V4
                to_ip = ipaddress.IPv4Address if v4 else ipaddress.IPv6Address
                src = m.get(n.MF_IPV4_SRC if v4 else n.MF_IPV6_SRC)
                src_text = None
                if src is not None:
                    plen = bin(src[1]).count("1")
                    src_text = str(ipaddress.ip_network(f"{to_ip(src[0])}/{plen}"))
                    if plen == (32 if v4 else 128):
                        src_text = str(to_ip(src[0]))
                in_port = m.get(n.MF_IN_PORT)
                s = MergeStream(group=p["group"], stream=p["stream"],
                                dst=str(to_ip(m[n.MF_IPV4_DST if v4 else n.MF_IPV6_DST])),
                                dport=m[n.MF_UDP_DST_PORT], src=src_text,
                                in_port=None if in_port is None else in_port[0],
                                psn_offset=p["offset"], priority=te.priority)
                st = mm._groups.get(s.group)
                if st is not None:
                    st.streams[s.key()] = s
    return found


@dataclass(frozen=True)
class RingFrame:
    """A video frame cut out of a cyclic buffer: PSNs first..last; complete when every
    chunk it touches completed without missing slices."""
    first_psn: int
    last_psn: int
    complete: bool

    @property
    def slices(self) -> int:
        return self.last_psn - self.first_psn + 1


def frames_in_ring(chunks: list[tuple[int, int, bool, int]], first_psn: int) -> list[RingFrame]:
    """Frames delimited by the RTP marker, from cyclic-buffer chunk completions.

    ``chunks``: (first PSN, slices, ok, marker) of each completion, marker = 1 +
    offset of the marker slice in the chunk (0: none), as the NIC reports them;
    ``first_psn``: where frame 0 starts. A chunk reports one marker, so chunks
    must be no larger than the shortest frame. Frames after the last marker are
    not returned (not finished yet)."""
    out: list[RingFrame] = []
    start = first_psn
    ok = True
    expect: int | None = None
    for c_first, c_slices, c_ok, marker in sorted(chunks):
        if c_first + c_slices - 1 < start:
            continue
        if (expect is None and c_first > start) or (expect is not None and c_first != expect):
            break          # a chunk not reported yet: what follows is not known
        expect = c_first + c_slices
        ok = ok and c_ok
        if marker and c_first + marker - 1 >= start:     # not a frame already cut
            end = c_first + marker - 1
            out.append(RingFrame(start, end, ok))
            start = end + 1
            # the rest of this chunk belongs to the next frame
            ok = c_ok or end == c_first + c_slices - 1
    return out


class FrameRing:
    """Work items posted automatically from a ring of frame buffers, as a NIC driver
    does: ``fill()`` posts a work item for every free buffer (frames in order),
    ``recycle(frame)`` retires a completed frame's work item, takes its buffer back
    and posts it for the next frame. ``buffers`` is a p4nic.hostmem.BufferRing
    (``take() -> (index, addr) | None``, ``give_back(addr)``)."""

    def __init__(self, manager: MergeManager, group: int, mkey: int, buffers: Any,
                 first_frame: int = 0, last_frame: int | None = None):
        self.mm = manager
        self.group = group
        self.mkey = mkey
        self.buffers = buffers
        self.next_frame = first_frame
        self.last_frame = last_frame
        self.posted: dict[int, int] = {}       # frame -> buffer address

    def fill(self) -> int:
        """Post as many frames as there are free buffers; returns how many."""
        count = 0
        while self.last_frame is None or self.next_frame <= self.last_frame:
            taken = self.buffers.take()
            if taken is None:
                break
            try:
                self.mm.post_frame(self.group, self.next_frame, self.mkey, taken[1])
            except Exception:
                self.buffers.give_back(taken[1])
                raise
            self.posted[self.next_frame] = taken[1]
            self.next_frame += 1
            count += 1
        return count

    def buffer_of(self, frame: int) -> int | None:
        return self.posted.get(frame)

    def recycle(self, frame: int) -> None:
        """The application is done with ``frame``: retire it, reuse its buffer."""
        addr = self.posted.pop(frame)
        self.mm.retire_frame(self.group, frame)
        self.buffers.give_back(addr)
        self.fill()
