"""Replay a capture through the NIC's receive path at its original timing (seed 003).

Each captured frame is sent as a packet-out with OUT_OP_INJECT_RX: the
pipeline runs it through the receive path as if it had arrived on the given
wire port, so flows, timestamps, records and capture triggers all see it
again. Frames are spaced by the differences of their capture timestamps
(the NIC timestamps recorded in the packet comments when present, else the
pcapng times), divided by ``speed``.

A frame cut to the snap length is padded with zeros back to its original
length (seed 003: missing data is replaced by a pattern), so the receive
checks see the lengths its headers announce; ``pad=False`` sends it as cut.
Outbound (tx) frames are skipped unless asked for: replay recreates the
receive path.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from p4nic.pcapng import PacketRecord, read_pcapng

_COMMENT_RE = re.compile(r"\bnic_ts=(\d+)\b.*?\bport=(\d+)\b.*?\bdir=(rx|tx)\b")


@dataclass(frozen=True)
class ReplayFrame:
    offset_us: int          # time after the first frame
    frame: bytes
    port: int | None        # where it was captured (from the p4nic comment)
    direction: str | None   # "rx" / "tx" / None when unknown


def _frame_info(rec: PacketRecord) -> tuple[int, int | None, str | None]:
    for c in rec.comments:
        m = _COMMENT_RE.search(c)
        if m:
            return int(m.group(1)), int(m.group(2)), m.group(3)
    inbound = rec.inbound
    return rec.ts_us, None, None if inbound is None else ("rx" if inbound else "tx")


def load_frames(path: str, include_tx: bool = False, pad: bool = True) -> list[ReplayFrame]:
    """The frames of a pcapng capture with their offsets, in capture-time order."""
    raw = []
    for rec in read_pcapng(path):
        ts_us, port, direction = _frame_info(rec)
        if direction == "tx" and not include_tx:
            continue
        frame = rec.data
        if pad and rec.orig_len > len(frame):
            frame = frame + b"\0" * (rec.orig_len - len(frame))
        raw.append((ts_us, frame, port, direction))
    raw.sort(key=lambda r: r[0])     # stable: equal times keep file order
    if not raw:
        return []
    t0 = raw[0][0]
    return [ReplayFrame(ts - t0, frame, port, d) for ts, frame, port, d in raw]


def schedule(frames: list[ReplayFrame], speed: float = 1.0) -> list[float]:
    """Send times in seconds after the start for each frame."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    return [f.offset_us * 1e-6 / speed for f in frames]


def replay(frames: list[ReplayFrame], inject: Callable[[bytes, int], None],
           port: int | None = None, speed: float = 1.0) -> int:
    """Inject each frame at its scheduled time; returns the number sent.

    ``port`` overrides the port each frame was captured on; without it every
    frame needs its port from the capture comment.
    """
    for f in frames:
        if port is None and f.port is None:
            raise ValueError("the capture does not say which port a frame came from: "
                             "give --port")
    start = time.monotonic()
    for f, at in zip(frames, schedule(frames, speed)):
        delay = start + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        inject(f.frame, port if port is not None else f.port)
    return len(frames)
