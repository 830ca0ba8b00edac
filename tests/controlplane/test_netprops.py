"""Network properties from NIC timestamps and protocol selection (seed 002)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from p4nic.netprops import (
    SELECTION_TABLE,
    NetworkProperties,
    apply_congestion_control,
    arrival_rate_bps,
    arrival_rate_pps,
    burst_lengths,
    dispersions,
    estimate,
    idle_gap_us,
    loss_rate,
    lost_packets,
    mean_dispersion_us,
    path_capacity_bps,
    robust_capacity,
    route_replace_command,
    select_protocol,
    split_trains,
    stalled,
    unwrap_sequence,
)


def test_seed_002_worked_example() -> None:
    # three 100-byte packets stamped 4, 9, 13 us: dispersions 5 and 4, mean 4.5 us,
    # capacity 800 bit / 4.5 us = 177.8 Mbit/s
    ts = [4, 9, 13]
    assert dispersions(ts) == [5, 4]
    assert mean_dispersion_us(ts) == 4.5
    assert path_capacity_bps(ts, 100) == pytest.approx(177.777e6, rel=1e-4)
    assert round(path_capacity_bps(ts, 100) / 1e6, 1) == 177.8
    # 1600 bits arrived over the 9 us after the first packet
    assert arrival_rate_bps(ts, 100) == pytest.approx(1600 / 9e-6)
    assert arrival_rate_pps(ts) == pytest.approx(2 / 9e-6)


def test_capacity_with_varying_sizes_uses_the_packets_that_end_a_gap() -> None:
    # the first packet's size does not matter: only packets 2..n end a dispersion
    assert path_capacity_bps([0, 10, 20], [1500, 100, 300]) == pytest.approx(8 * 200 / 10e-6)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least two"):
        mean_dispersion_us([5])
    with pytest.raises(ValueError, match="must not decrease"):
        dispersions([5, 3])
    with pytest.raises(ValueError, match="clock resolution"):
        path_capacity_bps([7, 7], 100)
    with pytest.raises(ValueError, match="3 sizes for 2"):
        path_capacity_bps([1, 2], [1, 2, 3])


def train(start: int, n: int, gap: float) -> list[int]:
    """Arrivals of n packets from ``start`` us, ``gap`` us apart (rounded to the us clock)."""
    return [start + round(i * gap) for i in range(n)]


def test_trains_are_split_at_idle_gaps() -> None:
    arr = train(0, 5, 10) + train(1000, 3, 12) + [5000]
    assert idle_gap_us(arr) == 10 * 11            # ten times the median gap (10 and 12)
    assert split_trains(arr, 100) == [range(0, 5), range(5, 8), range(8, 9)]
    assert split_trains(arr, 10_000) == [range(0, 9)]
    assert split_trains([7], 100) == [range(0, 1)]
    assert idle_gap_us([0, 0, 0]) == 10             # below the clock's resolution: 1 us
    assert stalled([60, 61, 60, 300]) and not stalled([60, 61, 60, 200])
    assert stalled([0, 0, 4]) and not stalled([0, 0, 3])


def test_robust_capacity_is_the_median_of_the_trains() -> None:
    # 200 Mbit/s, 1514-byte frames: 60.56 us apart; five trains of 50, 20 ms apart
    size, gap = 1514, 1514 * 8 / 200e6 * 1e6
    trains = [train(k * 20_000, 50, gap) for k in range(5)]
    # a train that came out slow as a whole (the shaper lost time evenly) and one
    # that came out fast: the median ignores both
    trains[1] = train(20_000, 50, gap * 1.3)
    trains[3] = train(60_000, 50, gap * 0.8)
    # and one the shaper stalled in for 400 us: left out
    stalled_train = train(100_000, 50, gap)
    stalled_train[25:] = [t + 400 for t in stalled_train[25:]]
    trains.append(stalled_train)
    arr = [t for tr in trains for t in tr]
    got = robust_capacity(arr, size)
    assert got.method == "trains" and got.trains == 5 and got.disturbed == 1
    assert got.capacity_bps == pytest.approx(200e6, rel=0.005)
    # seed 002's mean over everything measures the idle time between trains too
    assert path_capacity_bps(arr, size) < 0.2 * got.capacity_bps
    props = estimate(arr, size)
    assert props.capacity_bps == got.capacity_bps and props.capacity_method == "trains"
    assert (props.trains, props.disturbed_trains) == (5, 1)
    assert props.mean_dispersion_us == mean_dispersion_us(arr)


def test_robust_capacity_with_varying_sizes_counts_the_bytes_of_each_train() -> None:
    # 100 Mbit/s: a 1000-byte frame takes 80 us, a 500-byte one 40 us
    sizes, arr, t = [], [], 0
    for _ in range(3):
        for i in range(10):
            size = 1000 if i % 2 else 500
            t += size * 8 / 100e6 * 1e6 if i else 0
            arr.append(round(t))
            sizes.append(size)
        t += 50_000
    assert robust_capacity(arr, sizes).capacity_bps == pytest.approx(100e6, rel=0.01)


def test_few_trains_or_only_disturbed_ones() -> None:
    # one train: seed 002's mean, exactly (the seed's example is such a train)
    got = robust_capacity([4, 9, 13], 100)
    assert got.method == "mean" and got.capacity_bps == path_capacity_bps([4, 9, 13], 100)
    two = train(0, 20, 10) + train(10_000, 20, 20)
    assert robust_capacity(two, 100).method == "mean"
    # trains shorter than min_train have no dispersion of their own
    short = [t for k in range(5) for t in train(k * 10_000, 4, 10)]
    assert robust_capacity(short, 100).method == "mean"
    assert robust_capacity(short, 100, min_train=4).method == "trains"
    # every train stalled (a last gap of 50 us after 10 us ones): the median over all
    # of them, still not the mean
    stalls = [t for k in range(3) for t in train(k * 10_000, 9, 10) + [k * 10_000 + 130]]
    got = robust_capacity(stalls, 100)
    assert got.method == "trains" and got.trains == 3 and got.disturbed == 3
    assert got.capacity_bps == pytest.approx(800 * 9 / 130e-6)
    # a stall as long as an idle gap splits its train instead: both parts measure
    split = [t for k in range(3) for t in train(k * 10_000, 9, 10) + [k * 10_000 + 200]]
    got = robust_capacity(split, 100)
    assert (got.trains, got.disturbed) == (3, 0) and got.capacity_bps == pytest.approx(80e6)
    # an explicit idle threshold instead of ten times the median gap
    assert robust_capacity(two + [30_000 + t for t in train(0, 20, 10)], 100,
                           idle_us=1000).trains == 3


def test_loss_from_sequence_gaps_with_reordering_duplicates_and_wrap() -> None:
    assert lost_packets([1, 2, 3, 5, 6]) == 1
    assert loss_rate([1, 2, 3, 5, 6]) == pytest.approx(1 / 6)
    assert lost_packets([1, 3, 2, 2, 4]) == 0          # reordered and duplicated
    # RTP PSNs wrap at 2**16: 65534, 65535, 0, 2 -> one lost (1)
    assert unwrap_sequence([65534, 65535, 0, 2], 1 << 16) == [65534, 65535, 65536, 65538]
    assert lost_packets([65534, 65535, 0, 2], 1 << 16) == 1
    assert loss_rate([]) == 0.0


def test_bursts() -> None:
    ts = [0, 10, 20, 1000, 1010, 5000]
    assert burst_lengths(ts, max_gap_us=15) == [3, 2, 1]
    props = estimate(ts, 100, seqs=[1, 2, 3, 4, 6, 7])
    assert props.max_burst == 3 and props.mean_burst == 2.0      # default gap: 2 x 10 us
    assert props.packets == 6 and props.loss_rate == pytest.approx(1 / 7)


def props(capacity: float, loss: float = 0.0) -> NetworkProperties:
    return NetworkProperties(packets=10, mean_dispersion_us=1.0, capacity_bps=capacity,
                             arrival_rate_bps=capacity, loss_rate=loss, mean_burst=1,
                             max_burst=1)


@pytest.mark.parametrize("p, rtt, real_time, expect", [
    (props(177.8e6), None, True, "udp"),
    (props(10e6, loss=0.05), None, False, "bbr"),
    (props(10e9), 80.0, False, "bbr"),
    (props(177.8e6), None, False, "cubic"),
    (props(10e6), 120.0, False, "cubic"),
    (props(10e6), 5.0, False, "reno"),
    (props(10e6), None, False, "reno"),
])
def test_protocol_selection_table(p: NetworkProperties, rtt: float | None, real_time: bool,
                                  expect: str) -> None:
    sel = select_protocol(p, rtt_ms=rtt, real_time=real_time)
    assert sel.protocol == expect and sel.why


def test_the_table_only_names_protocols_this_kernel_has() -> None:
    assert {r.protocol for r in SELECTION_TABLE} <= {"reno", "cubic", "bbr", "udp"}
    assert SELECTION_TABLE[-1].protocol == "reno"    # catch-all last


def test_route_replace_command_keeps_the_route() -> None:
    route = {"dst": "10.98.0.0/24", "gateway": "10.99.0.2", "dev": "d0", "metric": 5,
             "flags": []}
    assert route_replace_command(route, "bbr") == [
        "ip", "route", "replace", "10.98.0.0/24", "via", "10.99.0.2", "dev", "d0",
        "metric", "5", "congctl", "bbr"]
    with pytest.raises(ValueError, match="not available"):
        route_replace_command(route, "vegas")


def test_apply_congestion_control_in_a_namespace() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("needs root and iproute2")
    ns = f"p4nic-cc{os.getpid() % 100000}"
    sh = ["ip", "-n", ns]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(sh + ["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
                       check=True)
        subprocess.run(sh + ["link", "set", "d0", "up"], check=True)
        subprocess.run(sh + ["addr", "add", "10.99.0.1/24", "dev", "d0"], check=True)
        subprocess.run(sh + ["route", "add", "10.98.0.0/24", "via", "10.99.0.2", "metric", "5"],
                       check=True)
        # not asked to run: nothing changes
        cmd = apply_congestion_control("10.98.0.0/24", "bbr", netns=ns)
        assert cmd[-2:] == ["congctl", "bbr"]
        show = subprocess.run(sh + ["-j", "route", "show", "exact", "10.98.0.0/24"],
                              capture_output=True, text=True, check=True)
        assert "metrics" not in json.loads(show.stdout)[0]
        apply_congestion_control("10.98.0.0/24", "bbr", run=True, netns=ns)
        show = subprocess.run(sh + ["-j", "route", "show", "exact", "10.98.0.0/24"],
                              capture_output=True, text=True, check=True)
        route = json.loads(show.stdout)[0]
        assert route["metrics"] == [{"congestion": "bbr"}]
        assert route["gateway"] == "10.99.0.2" and route["metric"] == 5
        with pytest.raises(LookupError):
            apply_congestion_control("10.97.0.0/24", "cubic", netns=ns)
        with pytest.raises(ValueError, match="application"):
            apply_congestion_control("10.98.0.0/24", "udp", netns=ns)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_arrivals_from_nic_records_and_descriptors() -> None:
    from p4nic import p4names as n
    from p4nic.netmon import arrivals_from_frames, assess
    from p4nic.records import RxMeta, TimestampRecord
    from scapy.all import IP, UDP, Ether, raw

    # seed 002's example as timestamp records of flow 5
    recs = [TimestampRecord(flow_id=5, seq=i + 1, arrival_ts=ts, length=100, gap_us=0,
                            flow_packets=i + 1, flow_bytes=100 * (i + 1)).to_bytes()
            for i, ts in enumerate((4, 9, 13))]
    # RTP packets of flow 6 behind rx descriptors, PSN 10, 11, 13 (12 lost)
    rtp = []
    for ts, psn in ((100, 10), (110, 11), (130, 13)):
        pkt = raw(Ether() / IP() / UDP(dport=5004)
                  / (b"\x80\x60" + psn.to_bytes(2, "big") + bytes(8) + b"x" * 20))
        meta = RxMeta(flags=n.RXF_TS_VALID | n.RXF_RTP | n.RXF_FLOW_HIT, key_index=0,
                      flow_id=6, arrival_ts=ts, in_port=0, gap_us=0, flow_packets=0,
                      flow_bytes=0)
        rtp.append(meta.to_bytes() + pkt)
    flows = arrivals_from_frames(recs + rtp + [b"not a record"])
    assert flows[5].arrivals_us == [4, 9, 13] and flows[5].sizes == [100] * 3
    props, sel = assess(flows[5])
    assert round(props.capacity_bps / 1e6, 1) == 177.8 and sel.protocol == "cubic"
    assert flows[6].rtp_seqs == [10, 11, 13]
    props, sel = assess(flows[6])
    assert props.loss_rate == pytest.approx(0.25) and sel.protocol == "udp"   # RTP: real-time
