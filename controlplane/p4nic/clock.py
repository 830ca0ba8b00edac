"""NIC clock to wall-clock mapping (DESIGN.md section 4, seed 002).

The NIC clock is v1model's ``ingress_global_timestamp``: microseconds since
the switch started. The driver sends clock probes (packet-out
OUT_OP_CLOCK_PROBE); the pipeline stamps each with the NIC clock and returns
it as a packet-in. Each probe gives a sample (wall time at the middle of its
round trip, NIC time). The mapping is a line fitted to recent samples:

    wall_us = wall_ref_us + rate * (nic_us - nic_ref_us)

kept in integers where it matters, so a NIC timestamp maps to the same
wall-clock microsecond in every output (pcapng, records, CLI).

The rate is the nominal 1.0 (the NIC counts microseconds) until the samples
span long enough for the least-squares slope to beat the round-trip jitter;
a slope further than MAX_RATE_ERROR from 1.0 is a bad fit, not a clock, and
is not used.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from p4nic.records import ClockProbe, parse_clock_probe

log = logging.getLogger("p4nic.clock")

RESOLUTION_S = 1e-6          # v1model's clock counts microseconds
IF_TSRESOL = 6               # pcapng: 10^-6 s units
MIN_RATE_SPAN_US = 30_000_000  # fit a rate only over >= 30 s of samples
MAX_RATE_ERROR = 500e-6      # 500 ppm: worse than any oscillator, so a bad fit
WINDOW = 64                  # recent samples kept


@dataclass(frozen=True)
class ClockSample:
    wall_send: float     # time.time() just before the probe left
    wall_recv: float     # time.time() when it came back
    nic_us: int          # NIC clock the pipeline stamped

    @property
    def rtt_us(self) -> float:
        return (self.wall_recv - self.wall_send) * 1e6

    @property
    def wall_mid_us(self) -> float:
        return (self.wall_send + self.wall_recv) / 2 * 1e6


@dataclass(frozen=True)
class ClockMapping:
    """wall_us = wall_ref_us + rate * (nic_us - nic_ref_us); resolution in seconds."""
    nic_ref_us: int
    wall_ref_us: int
    rate: float = 1.0
    resolution: float = RESOLUTION_S
    samples: int = 0
    min_rtt_us: float = 0.0
    updated: float = 0.0

    @property
    def offset(self) -> float:
        """Wall-clock time (seconds) of NIC time 0, i.e. when the switch started."""
        return self.to_wall(0)

    def to_wall_us(self, nic_us: int) -> int:
        """Wall-clock time in integer microseconds since the epoch."""
        return self.wall_ref_us + round(self.rate * (nic_us - self.nic_ref_us))

    def to_wall(self, nic_us: int) -> float:
        """Wall-clock time in seconds since the epoch (float)."""
        return self.to_wall_us(nic_us) * 1e-6

    def to_iso(self, nic_us: int) -> str:
        """ISO 8601 UTC time with microseconds (seed 002's standard time format),
        from integers so it is exact."""
        us = self.to_wall_us(nic_us)
        t = datetime.fromtimestamp(us // 1_000_000, tz=timezone.utc)
        return t.replace(microsecond=us % 1_000_000).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def to_nic_us(self, wall: float) -> int:
        """Inverse mapping (replay, tests): NIC time of a wall-clock time."""
        return self.nic_ref_us + round((wall * 1e6 - self.wall_ref_us) / self.rate)

    def describe(self) -> str:
        return (f"NIC clock (1 us ticks since switch start) -> wall clock: "
                f"NIC 0 = {self.offset:.6f} s epoch, rate {self.rate:.9f}, "
                f"{self.samples} probes, min RTT {self.min_rtt_us:.0f} us")

    # ---- state file ---------------------------------------------------------------
    def to_json(self) -> dict:
        d = asdict(self)
        d["offset"] = self.offset
        return d

    @classmethod
    def from_json(cls, d: dict) -> ClockMapping:
        try:
            return cls(nic_ref_us=int(d["nic_ref_us"]), wall_ref_us=int(d["wall_ref_us"]),
                       rate=float(d.get("rate", 1.0)),
                       resolution=float(d.get("resolution", RESOLUTION_S)),
                       samples=int(d.get("samples", 0)),
                       min_rtt_us=float(d.get("min_rtt_us", 0.0)),
                       updated=float(d.get("updated", 0.0)))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"not a p4nic clock state: {e}") from None


def save_mapping(mapping: ClockMapping, path: str) -> None:
    """Write the state file atomically (readers never see half a file)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".clock-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(mapping.to_json(), f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def load_mapping(path: str) -> ClockMapping:
    with open(path) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not JSON: {e}") from None
    return ClockMapping.from_json(data)


def fit_mapping(samples: Iterable[ClockSample]) -> ClockMapping:
    """Least-squares line through the good samples (pure function).

    Samples whose round trip took much longer than the best one were delayed
    on one leg by an unknown amount; they are left out.
    """
    all_samples = list(samples)
    if not all_samples:
        raise ValueError("no clock samples")
    best = min(s.rtt_us for s in all_samples)
    good = [s for s in all_samples if s.rtt_us <= 2 * best + 100]
    xs = [s.nic_us for s in good]
    ys = [s.wall_mid_us for s in good]
    nic_ref = round(sum(xs) / len(xs))
    rate = 1.0
    span = max(xs) - min(xs)
    if len(good) >= 3 and span >= MIN_RATE_SPAN_US:
        dx = [x - nic_ref for x in xs]
        my = sum(ys) / len(ys)
        sxx = sum(d * d for d in dx)
        slope = sum(d * (y - my) for d, y in zip(dx, ys)) / sxx
        if abs(slope - 1.0) <= MAX_RATE_ERROR:
            rate = slope
        else:
            log.warning("clock fit rate %.6f is off by more than %.0f ppm; using 1.0",
                        slope, MAX_RATE_ERROR * 1e6)
    # the line through the centroid with that slope
    wall_ref = sum(y - rate * (x - nic_ref) for x, y in zip(xs, ys)) / len(xs)
    return ClockMapping(nic_ref_us=nic_ref, wall_ref_us=round(wall_ref), rate=rate,
                        samples=len(good), min_rtt_us=best, updated=time.time())


class ClockError(RuntimeError):
    pass


class NicClock:
    """The driver's view of the NIC clock: probes, the fitted mapping, a refresher.

    ``send_probe(payload)`` sends a packet-out OUT_OP_CLOCK_PROBE carrying
    ``payload``; the driver feeds returning probes to :meth:`on_probe_reply`.
    """

    resolution = RESOLUTION_S

    def __init__(self, send_probe: Callable[[bytes], None], window: int = WINDOW):
        self._send = send_probe
        self._lock = threading.Lock()
        self._samples: deque[ClockSample] = deque(maxlen=window)
        self._pending: dict[int, tuple[float, threading.Event]] = {}
        self._replies: dict[int, ClockSample] = {}
        self._next_id = 1
        self._mapping: ClockMapping | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.state_path: str | None = None
        self.on_update: Callable[[ClockMapping], None] | None = None

    # ---- probes ----------------------------------------------------------------------
    def on_probe_reply(self, payload: bytes, wall_recv: float) -> bool:
        """Packet-in handler part: True if ``payload`` answered one of our probes."""
        try:
            probe = parse_clock_probe(payload)
        except ValueError:
            return False
        with self._lock:
            pending = self._pending.pop(probe.probe_id, None)
            if pending is None:
                return False
            wall_send, done = pending
            sample = ClockSample(wall_send, wall_recv, probe.nic_ts)
            self._samples.append(sample)
            self._replies[probe.probe_id] = sample
        done.set()
        return True

    def probe(self, timeout: float = 2.0) -> ClockSample:
        """Send one probe and wait for it; the sample joins the fit."""
        with self._lock:
            probe_id = self._next_id
            self._next_id = self._next_id % 0xFFFFFFFF + 1
            done = threading.Event()
            payload = ClockProbe(probe_id=probe_id).to_bytes()
            self._pending[probe_id] = (time.time(), done)
        try:
            self._send(payload)
        except Exception:
            with self._lock:
                self._pending.pop(probe_id, None)
            raise
        if not done.wait(timeout):
            with self._lock:
                self._pending.pop(probe_id, None)
            raise ClockError(f"clock probe {probe_id} not answered within {timeout} s "
                             f"(is the pipeline loaded and the CPU port set?)")
        with self._lock:
            return self._replies.pop(probe_id)

    def calibrate(self, probes: int = 8, timeout: float = 2.0) -> ClockMapping:
        """Send ``probes`` probes and refit."""
        for _ in range(probes):
            self.probe(timeout)
        return self.refit()

    def refit(self) -> ClockMapping:
        with self._lock:
            samples = list(self._samples)
        mapping = fit_mapping(samples)
        with self._lock:
            self._mapping = mapping
        if self.state_path:
            save_mapping(mapping, self.state_path)
        if self.on_update:
            self.on_update(mapping)
        return mapping

    # ---- the mapping ---------------------------------------------------------------------
    @property
    def mapping(self) -> ClockMapping:
        with self._lock:
            if self._mapping is None:
                raise ClockError("the NIC clock is not calibrated yet (no probe answered)")
            return self._mapping

    @property
    def calibrated(self) -> bool:
        with self._lock:
            return self._mapping is not None

    @property
    def offset(self) -> float:
        return self.mapping.offset

    @property
    def rate(self) -> float:
        return self.mapping.rate

    def to_wall(self, nic_ts_us: int) -> float:
        """NIC timestamp (microseconds) -> wall-clock seconds since the epoch."""
        return self.mapping.to_wall(nic_ts_us)

    def to_wall_us(self, nic_ts_us: int) -> int:
        return self.mapping.to_wall_us(nic_ts_us)

    def to_iso(self, nic_ts_us: int) -> str:
        """NIC timestamp -> ISO 8601 UTC text with microseconds."""
        return self.mapping.to_iso(nic_ts_us)

    # ---- periodic refresh -------------------------------------------------------------------
    def start(self, interval: float = 5.0, state_path: str | None = None) -> None:
        """Probe every ``interval`` seconds in a background thread and refit."""
        if state_path:
            self.state_path = state_path
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval,),
                                        name="p4nic-clock", daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                self.probe()
                self.refit()
            except Exception as e:   # keep refreshing: a lost probe is not fatal
                log.warning("clock refresh: %s", e)
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
