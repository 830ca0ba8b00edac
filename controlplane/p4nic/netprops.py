"""Network properties from NIC arrival timestamps, and protocol selection (seed 002).

Inputs are what the NIC delivers per flow: arrival timestamps in NIC-clock
microseconds (rx descriptors or timestamp records), frame sizes and packet
sequence numbers. Everything here is a pure function except
:func:`apply_congestion_control`, which runs ``ip route replace`` only when
asked to.

Seed 002's worked example: three 100-byte packets stamped 4, 9 and 13 us have
dispersions 5 and 4 us, mean 4.5 us, so the path capacity is
800 bit / 4.5 us = 177.8 Mbit/s.

Seed 002's mean is exact for one train of packets that left the narrowest
link back to back. A longer measurement holds several trains with idle time
between them, and a train may be disturbed: a shaper or a switch that stalls
for a moment spreads it out. So the capacity of a measurement with enough
trains is the *median* of the trains' own capacities (seed 002's method
applied to each train), counting only trains no stall disturbed
(:func:`robust_capacity`); with too few trains it is seed 002's mean over
everything, as before.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

# ---- properties --------------------------------------------------------------------


def dispersions(arrivals_us: Sequence[int]) -> list[int]:
    """Gaps between consecutive arrivals (microseconds), in arrival order."""
    if any(b < a for a, b in zip(arrivals_us, arrivals_us[1:])):
        raise ValueError("arrival timestamps must not decrease")
    return [b - a for a, b in zip(arrivals_us, arrivals_us[1:])]


def mean_dispersion_us(arrivals_us: Sequence[int]) -> float:
    """Mean inter-arrival gap; needs two arrivals."""
    gaps = dispersions(arrivals_us)
    if not gaps:
        raise ValueError("dispersion needs at least two arrivals")
    return sum(gaps) / len(gaps)


def _sizes(sizes_bytes: int | Sequence[int], count: int) -> list[int]:
    if isinstance(sizes_bytes, int):
        return [sizes_bytes] * count
    if len(sizes_bytes) != count:
        raise ValueError(f"{len(sizes_bytes)} sizes for {count} arrivals")
    return list(sizes_bytes)


def path_capacity_bps(arrivals_us: Sequence[int], sizes_bytes: int | Sequence[int]) -> float:
    """Point-to-point path capacity from packet dispersion: bits / mean dispersion.

    Back-to-back packets of one flow leave the narrowest link spaced by their
    transmission time there, so size / spacing is that link's rate. With
    varying sizes the bits are the mean size of the packets that ended a gap.
    """
    sizes = _sizes(sizes_bytes, len(arrivals_us))
    gap = mean_dispersion_us(arrivals_us)
    if gap == 0:
        raise ValueError("all arrivals share one timestamp: capacity beyond the clock resolution")
    bits = 8 * sum(sizes[1:]) / (len(sizes) - 1)
    return bits / (gap * 1e-6)


# ---- trains: a robust capacity ----------------------------------------------------------

IDLE_FACTOR = 10     # a gap IDLE_FACTOR times the median gap or more separates two trains
MIN_TRAIN = 5        # packets a train needs to have a dispersion of its own
MIN_TRAINS = 3       # trains a median needs (fewer: seed 002's mean over all arrivals)
STALL_FACTOR = 4     # a gap STALL_FACTOR times its train's median gap or more is a stall


def idle_gap_us(arrivals_us: Sequence[int], factor: float = IDLE_FACTOR) -> float:
    """The gap from which on two arrivals belong to different trains: ``factor``
    times the median gap (the median is a gap inside a train when the trains are
    longer than two packets), at least ``factor`` us (the clock's resolution)."""
    gaps = dispersions(arrivals_us)
    if not gaps:
        raise ValueError("trains need at least two arrivals")
    return factor * max(statistics.median(gaps), 1)


def split_trains(arrivals_us: Sequence[int], idle_us: float) -> list[range]:
    """Index ranges of the trains: runs of arrivals whose gaps are below ``idle_us``."""
    gaps = dispersions(arrivals_us)
    trains: list[range] = []
    start = 0
    for i, gap in enumerate(gaps):
        if gap >= idle_us:
            trains.append(range(start, i + 1))
            start = i + 1
    if arrivals_us:
        trains.append(range(start, len(arrivals_us)))
    return trains


def stalled(gaps: Sequence[int], factor: float = STALL_FACTOR) -> bool:
    """Whether a train's gaps hold a stall: one ``factor`` times their median or more
    (the median is at least 1 us, the clock's resolution)."""
    return bool(gaps) and max(gaps) >= factor * max(statistics.median(gaps), 1)


@dataclass(frozen=True)
class CapacityEstimate:
    capacity_bps: float
    method: str                  # "trains": median over trains; "mean": seed 002's mean
    trains: int = 0              # trains the median is over
    disturbed: int = 0           # trains with a stall (left out while enough others have none)
    train_capacities_bps: tuple[float, ...] = ()


def robust_capacity(arrivals_us: Sequence[int], sizes_bytes: int | Sequence[int],
                    idle_us: float | None = None, min_train: int = MIN_TRAIN,
                    min_trains: int = MIN_TRAINS, stall_factor: float = STALL_FACTOR
                    ) -> CapacityEstimate:
    """Path capacity from the trains in ``arrivals_us``.

    The arrivals are split into trains at idle gaps (``idle_us``, by default
    :func:`idle_gap_us`); each train of at least ``min_train`` packets that
    spans time has its own capacity, seed 002's bits / mean dispersion over
    that train. Trains holding a stall (:func:`stalled`) are left out. With
    ``min_trains`` or more undisturbed trains the capacity is the median of
    theirs; else, with that many trains at all, the median over all of them;
    else seed 002's mean over every arrival (:func:`path_capacity_bps`).
    A median ignores the odd train that came out too slow or too fast; the
    mean of a train ignores how its packets were spaced inside it, so a
    switch that falls behind during a train and catches up before its end
    does not change it either.
    """
    sizes = _sizes(sizes_bytes, len(arrivals_us))
    if idle_us is None:
        idle_us = idle_gap_us(arrivals_us)
    usable: list[tuple[float, bool]] = []
    for train in split_trains(arrivals_us, idle_us):
        arr = arrivals_us[train.start:train.stop]
        if len(arr) < min_train or arr[-1] == arr[0]:
            continue
        usable.append((path_capacity_bps(arr, sizes[train.start:train.stop]),
                       stalled(dispersions(arr), stall_factor)))
    clean = [c for c, disturbed in usable if not disturbed]
    for chosen in (clean, [c for c, _ in usable]):
        if len(chosen) >= min_trains:
            return CapacityEstimate(statistics.median(chosen), "trains", len(chosen),
                                    len(usable) - len(clean), tuple(chosen))
    return CapacityEstimate(path_capacity_bps(arrivals_us, sizes), "mean")


def arrival_rate_bps(arrivals_us: Sequence[int], sizes_bytes: int | Sequence[int]) -> float:
    """Bits that arrived after the first packet over the time since it arrived."""
    sizes = _sizes(sizes_bytes, len(arrivals_us))
    if len(arrivals_us) < 2:
        raise ValueError("arrival rate needs at least two arrivals")
    span = arrivals_us[-1] - arrivals_us[0]
    if span <= 0:
        raise ValueError("arrivals span no time")
    return 8 * sum(sizes[1:]) / (span * 1e-6)


def arrival_rate_pps(arrivals_us: Sequence[int]) -> float:
    """Packets per second after the first arrival."""
    if len(arrivals_us) < 2:
        raise ValueError("arrival rate needs at least two arrivals")
    span = arrivals_us[-1] - arrivals_us[0]
    if span <= 0:
        raise ValueError("arrivals span no time")
    return (len(arrivals_us) - 1) / (span * 1e-6)


def unwrap_sequence(seqs: Sequence[int], modulus: int = 1 << 32) -> list[int]:
    """Sequence numbers made monotonic across wrap-around (RTP PSNs: modulus 2**16)."""
    out: list[int] = []
    base = 0
    prev = None
    for s in seqs:
        if prev is not None:
            diff = (s - prev) % modulus
            if diff > modulus // 2:       # reordered: a little behind, not a wrap
                diff -= modulus
            base += diff
        else:
            base = s
        out.append(base)
        prev = s
    return out


def lost_packets(seqs: Sequence[int], modulus: int = 1 << 32) -> int:
    """Packets missing from the sequence range seen (duplicates and reordering allowed)."""
    if not seqs:
        return 0
    seen = set(unwrap_sequence(seqs, modulus))
    return max(seen) - min(seen) + 1 - len(seen)


def loss_rate(seqs: Sequence[int], modulus: int = 1 << 32) -> float:
    """Lost / expected over the sequence range seen."""
    if not seqs:
        return 0.0
    seen = set(unwrap_sequence(seqs, modulus))
    expected = max(seen) - min(seen) + 1
    return (expected - len(seen)) / expected


def burst_lengths(arrivals_us: Sequence[int], max_gap_us: int) -> list[int]:
    """Lengths of the runs of packets whose gaps are all <= max_gap_us."""
    if not arrivals_us:
        return []
    runs = [1]
    for gap in dispersions(arrivals_us):
        if gap <= max_gap_us:
            runs[-1] += 1
        else:
            runs.append(1)
    return runs


@dataclass(frozen=True)
class NetworkProperties:
    packets: int
    mean_dispersion_us: float
    capacity_bps: float
    arrival_rate_bps: float
    loss_rate: float
    mean_burst: float
    max_burst: int
    capacity_method: str = "mean"   # how capacity_bps was found (CapacityEstimate.method)
    trains: int = 0                 # trains the capacity is the median of
    disturbed_trains: int = 0       # trains a stall disturbed (CapacityEstimate.disturbed)


def estimate(arrivals_us: Sequence[int], sizes_bytes: int | Sequence[int],
             seqs: Sequence[int] | None = None, burst_gap_us: int | None = None,
             seq_modulus: int = 1 << 32, idle_us: float | None = None) -> NetworkProperties:
    """All properties of one flow at once.

    ``burst_gap_us`` defaults to twice the smallest gap: packets closer than
    that arrived back to back at the bottleneck rate. The capacity is
    :func:`robust_capacity`'s (trains split at ``idle_us``).
    """
    gaps = dispersions(arrivals_us)
    if not gaps:
        raise ValueError("network properties need at least two arrivals")
    if burst_gap_us is None:
        burst_gap_us = 2 * min(gaps)
    bursts = burst_lengths(arrivals_us, burst_gap_us)
    cap = robust_capacity(arrivals_us, sizes_bytes, idle_us)
    return NetworkProperties(
        packets=len(arrivals_us),
        mean_dispersion_us=sum(gaps) / len(gaps),
        capacity_bps=cap.capacity_bps,
        arrival_rate_bps=arrival_rate_bps(arrivals_us, sizes_bytes),
        loss_rate=loss_rate(seqs, seq_modulus) if seqs else 0.0,
        mean_burst=sum(bursts) / len(bursts),
        max_burst=max(bursts),
        capacity_method=cap.method,
        trains=cap.trains,
        disturbed_trains=cap.disturbed,
    )


# ---- protocol selection ---------------------------------------------------------------

# Congestion controls this kernel has (DESIGN.md section 4); "udp" means a
# real-time application should not use TCP at all.
AVAILABLE_CC = ("reno", "cubic", "bbr")


@dataclass(frozen=True)
class SelectionRule:
    """One row of the selection table: the first row whose conditions hold wins."""
    protocol: str
    why: str
    real_time: bool | None = None        # application needs constant-rate delivery
    min_loss_rate: float | None = None
    min_capacity_bps: float | None = None
    min_rtt_ms: float | None = None

    def matches(self, props: NetworkProperties, rtt_ms: float | None, real_time: bool) -> bool:
        if self.real_time is not None and self.real_time != real_time:
            return False
        if self.min_loss_rate is not None and props.loss_rate < self.min_loss_rate:
            return False
        if self.min_capacity_bps is not None and props.capacity_bps < self.min_capacity_bps:
            return False
        if self.min_rtt_ms is not None and (rtt_ms is None or rtt_ms < self.min_rtt_ms):
            return False
        return True


# In the spirit of seed 002's Tables 3 and 4 (a protocol picked from RTT, path
# capacity, loss rate; the tables themselves are not in the seed's text),
# restricted to what this kernel offers. Loss-based controls (reno, cubic)
# shrink their window on every loss, so a path that loses packets for reasons
# other than congestion goes to BBR, which does not take loss as the signal and
# paces at the measured bottleneck rate (Cardwell et al., "BBR: Congestion-Based
# Congestion Control", ACM Queue 14(5), 2016); a fat pipe (high capacity or long
# RTT) goes to CUBIC, whose window grows with the time since the last loss, not
# per RTT (RFC 9438); anything else keeps Reno's AIMD (RFC 5681). Real-time
# streams take UDP: seed 002, "if the network application requires real time
# performance the network protocol selected may help to ensure that data packets
# are transmitted at an approximately constant rate". The thresholds (1% loss,
# 100 Mbit/s, 1 Gbit/s, 50 ms) are this project's choice, not the sources'.
SELECTION_TABLE: tuple[SelectionRule, ...] = (
    SelectionRule("udp", "real-time application: constant rate, no retransmission",
                  real_time=True),
    SelectionRule("bbr", "loss rate >= 1%: loss is not a congestion signal here",
                  min_loss_rate=0.01),
    SelectionRule("bbr", "long fat pipe (>= 1 Gbit/s, RTT >= 50 ms): pace at the bottleneck",
                  min_capacity_bps=1e9, min_rtt_ms=50.0),
    SelectionRule("cubic", "capacity >= 100 Mbit/s: RTT-independent window growth",
                  min_capacity_bps=100e6),
    SelectionRule("cubic", "RTT >= 50 ms: RTT-independent window growth", min_rtt_ms=50.0),
    SelectionRule("reno", "slow, short path: the classic AIMD is enough"),
)


@dataclass(frozen=True)
class Selection:
    protocol: str
    why: str


def select_protocol(props: NetworkProperties, rtt_ms: float | None = None,
                    real_time: bool = False) -> Selection:
    """Pick a protocol from network properties with SELECTION_TABLE."""
    for rule in SELECTION_TABLE:
        if rule.matches(props, rtt_ms, real_time):
            return Selection(rule.protocol, rule.why)
    raise AssertionError("SELECTION_TABLE ends with a catch-all row")


def route_replace_command(route: dict, congctl: str) -> list[str]:
    """``ip route replace`` for ``route`` (one object of ``ip -j route show``) with congctl.

    The route's own attributes (gateway, device, source, metric, table) are
    kept, so only the congestion control changes.
    """
    if congctl not in AVAILABLE_CC:
        raise ValueError(f"congestion control '{congctl}' not available "
                         f"(this kernel has {', '.join(AVAILABLE_CC)})")
    dst = route.get("dst")
    if not dst:
        raise ValueError("route has no destination")
    cmd = ["ip", "route", "replace", dst]
    if route.get("gateway"):
        cmd += ["via", route["gateway"]]
    if route.get("dev"):
        cmd += ["dev", route["dev"]]
    if route.get("protocol") and route["protocol"] not in ("boot", "unspec"):
        cmd += ["proto", route["protocol"]]
    if route.get("scope") and route["scope"] != "global":
        cmd += ["scope", route["scope"]]
    if route.get("prefsrc"):
        cmd += ["src", route["prefsrc"]]
    if route.get("metric") is not None:
        cmd += ["metric", str(route["metric"])]
    if route.get("table") and route["table"] != "main":
        cmd += ["table", str(route["table"])]
    cmd += ["congctl", congctl]
    return cmd


def apply_congestion_control(prefix: str, congctl: str, *, run: bool = False,
                             netns: str | None = None) -> list[str]:
    """Set ``congctl`` on the existing route to ``prefix``; returns the command.

    Nothing changes unless ``run`` is true. ``udp`` is refused: it is a
    choice for the application, not a route attribute.
    """
    if congctl == "udp":
        raise ValueError("'udp' is chosen by the application, a route cannot carry it")
    prefix_cmd = ["ip", "netns", "exec", netns] if netns else []
    shown = subprocess.run(prefix_cmd + ["ip", "-j", "route", "show", "exact", prefix],
                           capture_output=True, text=True)
    if shown.returncode != 0:
        raise RuntimeError(f"ip route show {prefix}: {shown.stderr.strip()}")
    routes = json.loads(shown.stdout or "[]")
    if not routes:
        raise LookupError(f"no route to exactly {prefix}")
    cmd = prefix_cmd + route_replace_command(routes[0], congctl)
    if run:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")
    return cmd
