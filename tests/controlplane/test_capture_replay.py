"""The capture agent on the real capture port, and replay through the receive path."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal

import pytest
from p4nic.capture import CaptureAgent
from p4nic.driver import CaptureTrigger, Flow, NicDriver
from p4nic.pcapng import read_pcapng
from p4nic.records import parse_capture, parse_rx_meta
from p4nic.replay import load_frames, replay
from scapy.all import IP, TCP, Ether, raw, rdpcap

from .conftest import NIC_MAC, PEER_MAC

A, B = "10.0.0.1", "10.0.0.2"


def frame(i: int, sport: int = 1234, dport: int = 80) -> bytes:
    return raw(Ether(dst=NIC_MAC, src=PEER_MAC) / IP(src=A, dst=B)
               / TCP(sport=sport, dport=dport, flags="A", seq=1000 + 100 * i)
               / (bytes([65 + i]) * 100))


def test_capture_to_pcapng_read_by_tshark_and_scapy_then_replay(driver: NicDriver, taps, lab,
                                                                tmp_path) -> None:
    if shutil.which("tshark") is None:
        pytest.fail("tshark is not installed (make setup installs it)")
    flow = driver.add_flow(Flow(src=A, dst=B, proto=6, sport=1234, dport=80, flow_id=20,
                                ts_mode="in_packet"))
    driver.add_capture_trigger(CaptureTrigger(capture_id=1, snaplen=64, direction="rx",
                                              dport=80))
    driver.add_capture_trigger(CaptureTrigger(capture_id=2, snaplen=1500, direction="tx"))
    out = str(tmp_path / "nic.pcapng")
    clock = driver.clock
    agent = CaptureAgent(lab.outside(6), out, clock=lambda: clock.mapping)
    agent.start()
    try:
        sent = [frame(i) for i in range(3)]
        for f in sent:
            taps[0].send(f)
        tx = raw(Ether(dst=PEER_MAC, src=NIC_MAC) / IP(src=B, dst=A) / TCP(sport=80, dport=1234)
                 / (b"reply" * 10))
        taps[2].send(tx)
        # the same capture records, read independently on the capture port
        records = sorted((parse_capture(c) for c in taps[6].recv(4)), key=lambda r: r[0].ts)
        assert len(records) == 4
        assert agent.wait_written(4, timeout=10)
    finally:
        agent.stop()
    assert agent.stats.dropped == 0 and agent.stats.invalid == 0
    mapping = clock.mapping
    delivered = [parse_rx_meta(d)[0] for d in taps[3].recv(3)]
    # the NIC timestamp of a capture is the packet's arrival time at the NIC
    rx_ts = sorted(r.ts for r, _ in records if r.direction_name == "rx")
    assert rx_ts == [m.arrival_ts for m in delivered]

    # tshark: exact wall-clock times from the NIC timestamps, lengths, streams
    done = subprocess.run(["tshark", "-r", out, "-T", "fields", "-E", "separator=|",
                           "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len",
                           "-e", "frame.interface_name", "-e", "frame.comment"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = sorted(line.split("|") for line in done.stdout.splitlines())
    expect = []
    for rec, data in records:
        us = mapping.to_wall_us(rec.ts)
        expect.append([f"{us // 10**6}.{us % 10**6:06d}000", str(rec.orig_len), str(len(data)),
                       f"p4nic-capture-{rec.capture_id}",
                       f"nic_ts={rec.ts} port={rec.port} dir={rec.direction_name} "
                       f"capture_id={rec.capture_id}"])
    assert rows == sorted(expect)
    assert [r[1:3] for r in rows if r[3] == "p4nic-capture-1"] == [[str(len(sent[0])), "64"]] * 3

    # scapy: the same times and the captured bytes
    pkts = rdpcap(out)
    assert sorted(p.time for p in pkts) == sorted(Decimal(mapping.to_wall_us(r.ts)) / 10**6
                                                  for r, _ in records)
    assert sorted(raw(p) for p in pkts) == sorted([f[:64] for f in sent] + [tx])

    # replay: the rx captures go through the receive path again, as on port 0
    frames = load_frames(out)
    assert [f.frame for f in frames] == [f[:64] + bytes(len(f) - 64) for f in sent]
    assert [f.offset_us for f in frames] == [ts - rx_ts[0] for ts in rx_ts]
    before = driver.flow_counters(flow)
    assert replay(frames, driver.inject_rx, port=0) == 3
    replayed = [parse_rx_meta(d) for d in taps[3].recv(3)]
    assert [pkt for _, pkt in replayed] == [f.frame for f in frames]
    assert all(m.in_port == 0 and m.flow_id == 20 for m, _ in replayed)
    assert [m.flow_packets for m, _ in replayed] == [4, 5, 6]
    # direct counters count the whole frame the switch received: for an injected frame
    # that includes the 2-byte packet_out header (the NIC's own flow_bytes do not)
    assert driver.flow_counters(flow) == (before[0] + 3,
                                          before[1] + sum(len(f) + 2 for f in sent))
    assert replayed[-1][0].flow_bytes == 2 * sum(len(f) for f in sent)
    # and the capture trigger sees the replayed frames as received on port 0
    again = [parse_capture(c)[0] for c in taps[6].recv(3)]
    assert [(r.capture_id, r.port, r.direction_name) for r in again] == [(1, 0, "rx")] * 3


def test_agent_rotates_and_counts_what_it_cannot_parse(driver: NicDriver, taps, lab,
                                                       tmp_path) -> None:
    driver.add_capture_trigger(CaptureTrigger(capture_id=7, snaplen=1500))
    agent = CaptureAgent(lab.outside(6), str(tmp_path / "rot.pcapng"),
                         clock=lambda: driver.clock.mapping, rotate_bytes=2048)
    agent.start()
    try:
        frames = [frame(i % 20, sport=4000 + i) for i in range(30)]
        for f in frames:
            taps[0].send(f)
        assert agent.wait_written(30, timeout=20)
        # a frame on the capture port that is not a capture record: counted, not written
        taps[6].send(b"\xff" * 60)
    finally:
        agent.stop()
    assert len(agent.files) > 1
    got = [rec.data for f in agent.files for rec in read_pcapng(f)]
    assert sorted(got) == sorted(frames)
