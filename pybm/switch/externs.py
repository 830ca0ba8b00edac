"""Stateful externs: register, counter and meter arrays (v1model semantics)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pybm.switch.errors import RuntimeApiError

GREEN, YELLOW, RED = 0, 1, 2


class RegisterArray:
    """``cells`` is read and written directly by generated code."""

    def __init__(self, name: str, size: int, bitwidth: int):
        self.name = name
        self.size = size
        self.bitwidth = bitwidth
        self.mask = (1 << bitwidth) - 1
        self.cells = [0] * size

    def _check(self, index: int) -> None:
        _check_index("register", self.name, index, self.size)

    def read(self, index: int) -> int:
        self._check(index)
        return self.cells[index]

    def write(self, index: int, value: int) -> None:
        self._check(index)
        if not isinstance(value, int) or value < 0 or value > self.mask:
            raise RuntimeApiError(
                "INVALID_ARGUMENT",
                f"register '{self.name}': value {value} does not fit in {self.bitwidth} bits")
        self.cells[index] = value

    def reset(self) -> None:
        self.cells[:] = [0] * self.size


class CounterArray:
    """Packets and bytes per index; bytes count the packet's ingress length."""

    def __init__(self, name: str, size: int, is_direct: bool = False, binding: str | None = None):
        self.name = name
        self.size = size
        self.is_direct = is_direct
        self.binding = binding
        self.packets = [0] * size
        self.bytes = [0] * size

    def _check(self, index: int) -> None:
        _check_index("counter", self.name, index, self.size)

    def read(self, index: int) -> tuple[int, int]:
        """-> (bytes, packets), the order simple_switch_CLI prints them."""
        self._check(index)
        return self.bytes[index], self.packets[index]

    def write(self, index: int, nbytes: int, npackets: int) -> None:
        self._check(index)
        check_counts(self.name, nbytes, npackets)
        self.bytes[index] = nbytes
        self.packets[index] = npackets

    def reset(self) -> None:
        self.packets[:] = [0] * self.size
        self.bytes[:] = [0] * self.size


@dataclass
class MeterRate:
    info_rate: float  # units per microsecond
    burst: int
    tokens: float = 0.0
    last_us: int = 0


@dataclass
class Meter:
    """Two-rate three-color marker (RFC 2698, color blind), like BMv2's Meter."""

    by_bytes: bool
    rates: list[MeterRate] = field(default_factory=list)  # [committed, peak]

    def configured(self) -> bool:
        return bool(self.rates)

    def set_rates(self, rates: list[tuple[float, int]], now_us: int) -> None:
        self.rates = [MeterRate(r, b, float(b), now_us) for r, b in rates]

    def execute(self, nbytes: int, now_us: int) -> int:
        if not self.rates:
            return GREEN
        size = nbytes if self.by_bytes else 1
        for r in self.rates:
            r.tokens = min(float(r.burst), r.tokens + (now_us - r.last_us) * r.info_rate)
            r.last_us = now_us
        # The peak bucket is checked first: red when it cannot take the packet,
        # yellow when only the committed bucket cannot; buckets above the
        # resulting color give up tokens.
        color = GREEN
        for i in range(len(self.rates) - 1, -1, -1):
            if self.rates[i].tokens < size:
                color = i + 1
                break
        for r in self.rates[color:]:
            r.tokens -= size
        return color


class MeterArray:
    def __init__(self, name: str, size: int, by_bytes: bool, rate_count: int = 2,
                 is_direct: bool = False, binding: str | None = None,
                 result_target: tuple[str, str] | None = None):
        self.name = name
        self.size = size
        self.by_bytes = by_bytes
        self.rate_count = rate_count
        self.is_direct = is_direct
        self.binding = binding
        self.result_target = result_target
        self.meters = [Meter(by_bytes) for _ in range(size)]

    def _check(self, index: int) -> None:
        _check_index("meter", self.name, index, self.size)

    def execute(self, index: int, nbytes: int) -> int:
        return self.meters[index].execute(nbytes, now_us())

    def set_rates(self, index: int, rates: list[tuple[float, int]]) -> None:
        self._check(index)
        check_meter_rates(self.name, rates, self.rate_count)
        self.meters[index].set_rates(rates, now_us())

    def get_rates(self, index: int) -> list[tuple[float, int]]:
        self._check(index)
        return [(r.info_rate, r.burst) for r in self.meters[index].rates]

    def reset_rates(self, index: int) -> None:
        self._check(index)
        self.meters[index].rates = []


def _check_index(kind: str, name: str, index: int, size: int) -> None:
    if not isinstance(index, int):
        raise RuntimeApiError("INVALID_ARGUMENT", f"{kind} '{name}': index {index!r} is not an integer")
    if not 0 <= index < size:
        raise RuntimeApiError("OUT_OF_RANGE", f"{kind} '{name}': index {index} not in [0, {size})")


def check_counts(name: str, nbytes: int, npackets: int) -> None:
    for what, v in (("byte count", nbytes), ("packet count", npackets)):
        if not isinstance(v, int) or v < 0:
            raise RuntimeApiError(
                "INVALID_ARGUMENT", f"counter '{name}': {what} {v!r} is not a non-negative integer")


def check_meter_rates(name: str, rates: list[tuple[float, int]], rate_count: int) -> None:
    try:
        rates = [(r, b) for r, b in rates]
    except (TypeError, ValueError):
        raise RuntimeApiError(
            "INVALID_ARGUMENT", f"meter '{name}': rates must be (rate, burst) pairs") from None
    if len(rates) != rate_count:
        raise RuntimeApiError(
            "INVALID_ARGUMENT", f"meter '{name}': expected {rate_count} rates, got {len(rates)}")
    for r, b in rates:
        if not isinstance(r, (int, float)) or not isinstance(b, int):
            raise RuntimeApiError(
                "INVALID_ARGUMENT", f"meter '{name}': rate {r!r} / burst {b!r} are not numbers")
    for i, (r, b) in enumerate(rates):
        if r < 0 or b < 0:
            raise RuntimeApiError("INVALID_ARGUMENT", f"meter '{name}': negative rate or burst")
        if i and r < rates[i - 1][0]:
            raise RuntimeApiError(
                "INVALID_ARGUMENT", f"meter '{name}': peak rate below committed rate")


_T0 = time.monotonic_ns()


def now_us() -> int:
    """The switch clock: microseconds since the process started (BMv2: since switch start)."""
    return (time.monotonic_ns() - _T0) // 1000


def us_of_monotonic_ns(t_ns: int) -> int:
    """A CLOCK_MONOTONIC time in nanoseconds on the switch clock (microseconds)."""
    return (t_ns - _T0) // 1000


def reset_clock() -> None:
    global _T0
    _T0 = time.monotonic_ns()
