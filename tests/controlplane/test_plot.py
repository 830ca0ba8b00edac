"""``p4nic plot``: each figure written by the real command from real NIC output
(timestamp records read by ``p4nic netprops --save`` from a pybm-switch) or from
small generated inputs in the formats the other commands write; every PNG is
checked to be a PNG of the expected size, and the summary the command prints
against the numbers in the input."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time

import pytest
from p4nic.driver import NicDriver
from p4nic.mergetools import pattern_frame, png_gray
from p4nic.model import Flow
from p4nic.pcapng import PcapngWriter
from scapy.all import IP, TCP, UDP, Ether, raw

from .conftest import NIC_MAC, PEER_MAC

P4NIC = os.path.join(os.path.dirname(sys.executable), "p4nic")


def png_size(path: str) -> tuple[int, int]:
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", head
    assert os.path.getsize(path) > 5000          # a drawn figure, not an empty canvas
    return struct.unpack(">II", head[16:24])


def plot(*args: str) -> dict:
    done = subprocess.run([P4NIC, "--json", "plot", *args], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_dispersion_from_the_nics_timestamp_records(driver: NicDriver, lab, taps,
                                                    tmp_path) -> None:
    driver.add_flow(Flow(src="10.0.0.1", dst="10.0.0.2", proto="udp", sport=5000, dport=5004,
                         flow_id=5, ts_mode="record"))
    saved = str(tmp_path / "records.pcapng")
    netprops = subprocess.Popen([P4NIC, "--json", "netprops", "--iface", lab.outside(5),
                                 "--count", "30", "--timeout", "30", "--save", saved],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "reading" in netprops.stderr.readline()
        frame = raw(Ether(dst=NIC_MAC, src=PEER_MAC) / IP(src="10.0.0.1", dst="10.0.0.2")
                    / UDP(sport=5000, dport=5004) / (b"d" * 958))          # 1000 bytes
        for i in range(30):
            taps[0].send(frame)
            time.sleep(0.002 if i % 3 else 0.01)
        out, err = netprops.communicate(timeout=60)
    finally:
        if netprops.poll() is None:
            netprops.kill()
            netprops.wait()
    assert netprops.returncode == 0, err
    (measured,) = json.loads(out)
    assert measured["flow_id"] == 5 and measured["packets"] == 30
    png = str(tmp_path / "dispersion.png")
    got = plot("dispersion", saved, "--out", png, "--title", "flow 5 on pybm-switch")
    drawn = got["flows"]["5"]
    # the same records, the same estimate as netprops printed
    assert drawn["packets"] == 30
    assert drawn["capacity_bps"] == pytest.approx(measured["capacity_bps"], rel=1e-9)
    assert drawn["mean_dispersion_us"] == pytest.approx(measured["mean_dispersion_us"])
    assert png_size(png) == (1100, 320)


def test_dispersion_of_seed_002s_example(tmp_path) -> None:
    arrivals = tmp_path / "arrivals.json"
    arrivals.write_text(json.dumps([{"flow_id": 1, "arrivals_us": [4, 9, 13],
                                     "sizes": [100, 100, 100]},
                                    {"flow_id": 2, "arrivals_us": [0, 10, 20, 30],
                                     "sizes": [1250] * 4}]))
    png = str(tmp_path / "d.png")
    got = plot("dispersion", str(arrivals), "--out", png)
    assert got["flows"]["1"]["capacity_bps"] == pytest.approx(177.78e6, rel=1e-4)
    assert got["flows"]["2"]["capacity_bps"] == pytest.approx(1e9)
    assert png_size(png) == (1100, 640)
    one = plot("dispersion", str(arrivals), "--out", png, "--flow-id", "2")
    assert list(one["flows"]) == ["2"] and png_size(png) == (1100, 320)
    bad = subprocess.run([P4NIC, "plot", "dispersion", str(tmp_path / "none.json"), "--out",
                          png], capture_output=True, text=True)
    assert bad.returncode == 1 and "no such file" in bad.stderr


def test_timeline_of_a_capture(tmp_path) -> None:
    """A pcapng as the capture agent writes it (NIC time and direction in the comments)."""
    cap = str(tmp_path / "cap.pcapng")
    a, b = "10.0.0.2", "10.0.0.1"
    with PcapngWriter(cap) as w:
        w.add_interface(1, 128, "p4nic6")
        t = 1_000_000
        for i in range(40):
            if i % 4 == 3:
                pkt = Ether() / IP(src=b, dst=a) / TCP(sport=8000, dport=40000) / b"r"
                d = "tx"
            elif i % 2:
                pkt = Ether() / IP(src=a, dst=b) / UDP(sport=5000, dport=5004) / b"u"
                d = "rx"
            else:
                pkt = Ether() / IP(src=a, dst=b) / TCP(sport=40000, dport=8000) / b"q"
                d = "rx"
            t += 2500
            w.write_packet(1, t + 17, raw(pkt), len(pkt),
                           comment=f"nic_ts={t} port=0 dir={d} capture_id=1")
    png = str(tmp_path / "timeline.png")
    got = plot("timeline", cap, "--out", png)
    assert got["packets"] == 40
    assert got["flows"] == {"10.0.0.2:40000 > 10.0.0.1:8000 tcp [rx]": 20,
                            "10.0.0.2:5000 > 10.0.0.1:5004 udp [rx]": 10,
                            "10.0.0.1:8000 > 10.0.0.2:40000 tcp [tx]": 10}
    assert png_size(png) == (1100, 550)


def merge_output(out_dir: str, frames: int = 12, width: int = 64) -> None:
    """merge-recv's directory: manifest.json and the PNGs of the complete frames."""
    os.makedirs(out_dir)
    rows = []
    for n in range(frames):
        rec = {"frame": n, "first_psn": 4 * n, "slices": 4, "nic_ts_us": 5_000_000 + n * 40_000,
               "host_time": 0.0}
        if n % 5 == 4:
            rec.update(status="missing", missing=1 + n % 3)
        else:
            rec.update(status="complete", missing=0, file=f"frame-{n:06d}.raw")
            with open(os.path.join(out_dir, f"frame-{n:06d}.png"), "wb") as f:
                f.write(png_gray(pattern_frame(n, width * 48, width), width))
        rows.append(rec)
    rows.append({"frame": frames, "status": "not completed"})
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"group": {"group": 3}, "streams": [], "complete": 10,
                   "error_completions": 2, "frames": rows,
                   "nic_counters": {"placed": 40, "duplicates": 7, "late": 1, "completions": 10,
                                    "error_completions": 2, "streams": [1, 2]},
                   "agent": {}}, f)


def test_merge_statistics_and_frames(tmp_path) -> None:
    out = str(tmp_path / "frames")
    merge_output(out)
    png = str(tmp_path / "merge.png")
    got = plot("merge", out, os.path.join(out, "manifest.json"), "--out", png)
    assert got["groups"] == [{"group": 3, "complete": 10, "errors": 2, "not_completed": 1,
                              "counters": {"placed": 40.0, "duplicates": 7.0, "late": 1.0,
                                           "completions": 10.0, "error_completions": 2.0}}] * 2
    assert png_size(png) == (1200, 760)
    tiles = str(tmp_path / "tiles.png")
    got = plot("frames", out, "--out", tiles, "--count", "6", "--cols", "3")
    assert got["frames"] == 6 and got["grid"] == [2, 3] and got["frame_size"] == [64, 48]
    w, h = png_size(tiles)
    assert w > h > 100
    none = subprocess.run([P4NIC, "plot", "frames", str(tmp_path), "--out", tiles],
                          capture_output=True, text=True)
    assert none.returncode == 1 and "--png-width" in none.stderr
