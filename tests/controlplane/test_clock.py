"""NIC clock -> wall clock mapping math and its state file."""

from __future__ import annotations

import json
import os

import pytest
from p4nic.capture import FileClock
from p4nic.clock import (
    MIN_RATE_SPAN_US,
    ClockMapping,
    ClockSample,
    fit_mapping,
    load_mapping,
    save_mapping,
)

BOOT = 1_700_000_000.0      # wall-clock time when the switch (NIC clock 0) started


def sample(nic_us: int, rtt_us: float = 200.0, rate: float = 1.0, bias_us: float = 0.0
           ) -> ClockSample:
    mid = BOOT + rate * nic_us * 1e-6 + bias_us * 1e-6
    return ClockSample(mid - rtt_us * 0.5e-6, mid + rtt_us * 0.5e-6, nic_us)


def test_mapping_is_integer_exact() -> None:
    m = ClockMapping(nic_ref_us=1_000_000, wall_ref_us=1_700_000_001_000_000)
    assert m.to_wall_us(1_000_000) == 1_700_000_001_000_000
    assert m.to_wall_us(1_000_001) == 1_700_000_001_000_001
    # NIC differences survive exactly at rate 1 (no float rounding at epoch magnitudes)
    ts = [1_000_000, 1_000_004, 1_000_009, 1_000_013]
    walls = [m.to_wall_us(t) for t in ts]
    assert [b - a for a, b in zip(walls, walls[1:])] == [4, 5, 4]
    assert m.offset == pytest.approx(1_700_000_000.0)
    assert m.to_nic_us(m.to_wall(1_234_567)) == 1_234_567


def test_fit_with_a_short_span_keeps_the_nominal_rate() -> None:
    samples = [sample(t) for t in (1_000_000, 1_001_000, 1_002_000, 1_003_000)]
    m = fit_mapping(samples)
    assert m.rate == 1.0 and m.samples == 4
    # wall at the middle of each round trip: the mapping hits it to the microsecond
    for s in samples:
        assert abs(m.to_wall_us(s.nic_us) - s.wall_mid_us) <= 1


def test_fit_estimates_the_rate_over_a_long_span() -> None:
    rate = 1.0 + 50e-6                      # a 50 ppm fast host clock
    span = [i * MIN_RATE_SPAN_US // 4 for i in range(6)]
    m = fit_mapping([sample(t, rate=rate) for t in span])
    assert m.rate == pytest.approx(rate, abs=1e-9)


def test_fit_drops_delayed_probes_and_refuses_absurd_rates() -> None:
    good = [sample(t) for t in (0, 1000, 2000)]
    late = sample(3000, rtt_us=50_000, bias_us=25_000)   # delayed on the way back
    m = fit_mapping(good + [late])
    assert m.samples == 3
    assert abs(m.to_wall_us(3000) - (BOOT * 1e6 + 3000)) <= 1
    # 1% off over a long span is a broken fit, not an oscillator: nominal rate kept
    span = [i * MIN_RATE_SPAN_US // 2 for i in range(4)]
    assert fit_mapping([sample(t, rate=1.01) for t in span]).rate == 1.0
    with pytest.raises(ValueError):
        fit_mapping([])


def test_state_file_round_trip_and_reload(tmp_path) -> None:
    path = str(tmp_path / "state" / "clock.json")
    m = ClockMapping(nic_ref_us=5, wall_ref_us=1_700_000_000_000_005, rate=1.00001, samples=3)
    save_mapping(m, path)
    data = json.load(open(path))
    assert data["resolution"] == 1e-6 and data["offset"] == pytest.approx(m.offset)
    assert load_mapping(path) == m
    watcher = FileClock(path)
    assert watcher() == m
    m2 = ClockMapping(nic_ref_us=6, wall_ref_us=1_700_000_000_000_006)
    save_mapping(m2, path)
    os.utime(path, (1, 1))                 # a different mtime for sure
    assert watcher() == m2


def test_broken_state_files_are_refused(tmp_path) -> None:
    p = tmp_path / "clock.json"
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        load_mapping(str(p))
    p.write_text('{"rate": 1}')
    with pytest.raises(ValueError, match="not a p4nic clock state"):
        load_mapping(str(p))
    assert FileClock(str(tmp_path / "missing.json"))() is None


def test_standard_time_format_is_exact() -> None:
    m = ClockMapping(nic_ref_us=0, wall_ref_us=1_700_000_000_000_000)
    assert m.to_iso(4) == "2023-11-14T22:13:20.000004Z"
    assert m.to_iso(1_999_999) == "2023-11-14T22:13:21.999999Z"


def test_watch_describes_records_with_utc_times() -> None:
    from p4nic.netmon import describe
    from p4nic.records import TimestampRecord
    m = ClockMapping(nic_ref_us=0, wall_ref_us=1_700_000_000_000_000)
    rec = TimestampRecord(flow_id=2, seq=1, arrival_ts=9, length=100, gap_us=5, flow_packets=1,
                          flow_bytes=100).to_bytes()
    line = describe(rec, m)
    assert line.startswith("TimestampRecord flow_id=2 seq=1 arrival_ts=9 "
                           "(2023-11-14T22:13:20.000009Z) length=100")
    assert describe(b"\x00" * 60).startswith("packet 60 bytes")
