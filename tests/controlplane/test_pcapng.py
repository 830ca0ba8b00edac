"""pcapng written by the capture agent, read back by our reader, scapy and tshark."""

from __future__ import annotations

import os
import shutil
import subprocess
from decimal import Decimal

import pytest
from p4nic import p4names as n
from p4nic.capture import CaptureAgent
from p4nic.clock import ClockMapping
from p4nic.pcapng import (
    EPB_INBOUND,
    EPB_OUTBOUND,
    PcapngFormatError,
    PcapngWriter,
    read_pcapng,
)
from p4nic.records import CaptureRecord
from p4nic.replay import load_frames, schedule
from scapy.all import IP, TCP, UDP, Ether, PcapNgReader, raw, rdpcap

# NIC clock 0 = 2023-11-14 22:13:20 UTC; rate 1
MAPPING = ClockMapping(nic_ref_us=0, wall_ref_us=1_700_000_000_000_000)


def frame(dport: int, payload: bytes = b"x" * 40) -> bytes:
    return raw(Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02")
               / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=dport) / payload)


def capture_frame(capture_id: int, ts: int, pkt: bytes, snaplen: int, direction: int = n.DIR_RX,
                  port: int = 0) -> bytes:
    """What the NIC sends to the capture port: record + the frame cut to snaplen."""
    rec = CaptureRecord(capture_id=capture_id, direction=direction, port=port, ts=ts,
                        orig_len=len(pkt), snaplen=snaplen)
    return rec.to_bytes() + pkt[:snaplen]


# NIC timestamps of the seed 002 example (4, 9, 13 us) plus one on another stream
STREAM = [(1, 4, frame(80), 64, n.DIR_RX), (1, 9, frame(80), 64, n.DIR_RX),
          (2, 11, frame(443, b"y" * 10), 1500, n.DIR_TX), (1, 13, frame(80), 64, n.DIR_RX)]


def write_stream(path: str, **kw) -> CaptureAgent:
    agent = CaptureAgent("cap0", path, clock=lambda: MAPPING, **kw)
    for cid, ts, pkt, snap, d in STREAM:
        assert agent.write_frame(capture_frame(cid, ts, pkt, snap, d))
    assert not agent.write_frame(b"not a capture record at all")
    agent.writer.close()
    return agent


def test_reader_sees_interfaces_lengths_times_and_comments(tmp_path) -> None:
    path = str(tmp_path / "cap.pcapng")
    agent = write_stream(path)
    assert agent.stats.written == 4 and agent.stats.invalid == 1
    recs = list(read_pcapng(path))
    assert [r.interface.name for r in recs] == ["p4nic-capture-1"] * 2 + ["p4nic-capture-2",
                                                                           "p4nic-capture-1"]
    assert {r.interface.snaplen for r in recs} == {64, 1500}
    assert all(r.interface.tsresol == 6 for r in recs)
    assert [r.ts_us for r in recs] == [1_700_000_000_000_000 + t for t in (4, 9, 11, 13)]
    full = len(frame(80))
    assert [(len(r.data), r.orig_len) for r in recs] == [(64, full), (64, full),
                                                         (len(STREAM[2][2]),) * 2, (64, full)]
    assert [r.flags for r in recs] == [EPB_INBOUND, EPB_INBOUND, EPB_OUTBOUND, EPB_INBOUND]
    assert recs[0].comments == ["nic_ts=4 port=0 dir=rx capture_id=1"]


def test_scapy_reads_exact_nic_timestamps(tmp_path) -> None:
    path = str(tmp_path / "cap.pcapng")
    write_stream(path)
    pkts = rdpcap(path)
    assert len(pkts) == 4
    assert [p.time for p in pkts] == [Decimal(1_700_000_000_000_000 + t) / 10**6
                                      for t in (4, 9, 11, 13)]
    assert pkts[0].wirelen == len(frame(80)) and len(raw(pkts[0])) == 64
    assert pkts[2][TCP].dport == 443 and pkts[2][TCP].payload.load == b"y" * 10
    with PcapNgReader(path) as reader:
        first = reader.read_packet()
        assert first.comments == [b"nic_ts=4 port=0 dir=rx capture_id=1"]


def tshark(path: str, *fields: str) -> list[list[str]]:
    if shutil.which("tshark") is None:
        pytest.fail("tshark is not installed (make setup installs it)")
    args = ["tshark", "-r", path, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        args += ["-e", f]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [line.split("|") for line in done.stdout.splitlines()]


def test_tshark_reads_exact_nic_timestamps_and_lengths(tmp_path) -> None:
    path = str(tmp_path / "cap.pcapng")
    write_stream(path)
    rows = tshark(path, "frame.time_epoch", "frame.len", "frame.cap_len",
                  "frame.interface_name", "frame.comment", "tcp.dstport")
    full = str(len(frame(80)))
    assert rows == [
        ["1700000000.000004000", full, "64", "p4nic-capture-1", "nic_ts=4 port=0 dir=rx capture_id=1", "80"],
        ["1700000000.000009000", full, "64", "p4nic-capture-1", "nic_ts=9 port=0 dir=rx capture_id=1", "80"],
        ["1700000000.000011000", str(len(STREAM[2][2])), str(len(STREAM[2][2])), "p4nic-capture-2",
         "nic_ts=11 port=0 dir=tx capture_id=2", "443"],
        ["1700000000.000013000", full, "64", "p4nic-capture-1", "nic_ts=13 port=0 dir=rx capture_id=1", "80"],
    ]


def test_rotation_by_size_every_file_stands_alone(tmp_path) -> None:
    base = str(tmp_path / "rot.pcapng")
    agent = CaptureAgent("cap0", base, clock=lambda: MAPPING, rotate_bytes=1024)
    for i in range(40):
        agent.write_frame(capture_frame(1 + i % 2, 1000 + i, frame(80, bytes(100)), 1500))
    agent.writer.close()
    files = agent.files
    assert len(files) > 2
    assert files[0] == str(tmp_path / "rot-000.pcapng")
    assert all(os.path.exists(f) for f in files)
    times = []
    for f in files:
        recs = list(read_pcapng(f))    # each file: its own section header and interfaces
        times += [r.ts_us for r in recs]
        assert len(tshark(f, "frame.time_epoch")) == len(recs)
    assert times == [1_700_000_000_000_000 + 1000 + i for i in range(40)]


def test_rotation_keeps_only_max_files(tmp_path) -> None:
    base = str(tmp_path / "ring.pcapng")
    w = PcapngWriter(base, rotate_bytes=1024, max_files=2)
    w.add_interface("a", 1500, "a")
    for i in range(40):
        w.write_packet("a", i, bytes(200), 200)
    w.close()
    existing = [f for f in w.files if os.path.exists(f)]
    assert len(w.files) > 2 and existing == w.files[-2:]


def test_raw_nic_times_without_a_clock_mapping(tmp_path) -> None:
    path = str(tmp_path / "raw.pcapng")
    agent = CaptureAgent("cap0", path, clock=lambda: None)
    agent.write_frame(capture_frame(1, 123456, frame(80), 64))
    agent.writer.close()
    (rec,) = read_pcapng(path)
    assert rec.ts_us == 123456


def test_writer_and_reader_refusals(tmp_path) -> None:
    with pytest.raises(ValueError, match="rotate_bytes"):
        PcapngWriter(str(tmp_path / "x.pcapng"), rotate_bytes=10)
    w = PcapngWriter(str(tmp_path / "y.pcapng"))
    with pytest.raises(KeyError):
        w.write_packet("nope", 0, b"", 0)
    w.close()
    bad = tmp_path / "bad.pcapng"
    bad.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(40))
    with pytest.raises(PcapngFormatError, match="not a pcapng"):
        list(read_pcapng(str(bad)))


def test_replay_frames_padding_direction_and_schedule(tmp_path) -> None:
    path = str(tmp_path / "cap.pcapng")
    write_stream(path)
    frames = load_frames(path)
    assert [f.offset_us for f in frames] == [0, 5, 9]        # the tx frame is left out
    assert all(len(f.frame) == len(frame(80)) for f in frames)   # padded back to orig_len
    assert frames[0].frame[:64] == frame(80)[:64] and frames[0].frame[64:] == bytes(len(frame(80)) - 64)
    assert frames[0].port == 0 and frames[0].direction == "rx"
    assert [f.offset_us for f in load_frames(path, include_tx=True)] == [0, 5, 7, 9]
    assert len(load_frames(path, pad=False)[0].frame) == 64
    assert schedule(frames, speed=2.0) == pytest.approx([0.0, 2.5e-6, 4.5e-6])
    with pytest.raises(ValueError):
        schedule(frames, speed=0)


def test_udp_frames_and_ethernet_linktype(tmp_path) -> None:
    path = str(tmp_path / "udp.pcapng")
    pkt = raw(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5000, dport=5004) / b"r")
    agent = CaptureAgent("cap0", path, clock=lambda: MAPPING)
    agent.write_frame(capture_frame(3, 1, pkt, 128))
    agent.writer.close()
    (p,) = rdpcap(path)
    assert p[UDP].dport == 5004 and raw(p) == pkt
