"""The pybm-switch command line as a real process: pcap-file ports (--use-files),
traffic capture (--pcap DIR) and the refusals of bad command lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap, wrpcap

from .bmv2 import NEW_SRC_MAC, port_swap_program

SWITCH = str(Path(sys.executable).parent / "pybm-switch")
TIMEOUT = 60


def _swapped(frame: Ether) -> bytes:
    """What port_swap_program makes of a frame (computed with scapy)."""
    f = frame.copy()
    f.src = ":".join(f"{b:02x}" for b in NEW_SRC_MAC.to_bytes(6, "big"))
    if IP in f:
        f[IP].ttl -= 1
        del f[IP].chksum
    return bytes(f)


def _frames() -> tuple[list[Ether], list[Ether]]:
    from_p0 = [Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="10.0.0.2",
                                                                            ttl=64) / UDP() / b"one",
               Ether() / IP(ttl=9) / TCP(flags="S") / (b"\x55" * 1400),
               Ether(type=0x88B5) / b"\x01\x02\x03\x04",
               Ether(type=0x9999) / b"dropped"]
    from_p1 = [Ether(dst="02:00:00:00:00:02") / IP(src="10.0.0.2", dst="10.0.0.1") / UDP() / b"back"]
    t = 1_700_000_000.0
    for i, f in enumerate(from_p0):
        f.time = t + 2 * i
    for i, f in enumerate(from_p1):
        f.time = t + 2 * i + 1
    return from_p0, from_p1


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SWITCH, "--no-grpc", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT)


@pytest.fixture()
def prog(tmp_path: Path) -> Path:
    path = tmp_path / "port_swap.json"
    path.write_text(port_swap_program().text())
    return path


def test_use_files_reads_in_pcaps_and_writes_out_pcaps(tmp_path: Path, prog: Path) -> None:
    from_p0, from_p1 = _frames()
    wrpcap(str(tmp_path / "p0_in.pcap"), from_p0)
    wrpcap(str(tmp_path / "p1_in.pcap"), from_p1)
    r = _run(["--use-files", "0", "--exit-when-done", "-i", "0@p0", "-i", "1@p1", str(prog)],
             tmp_path)
    assert r.returncode == 0, r.stderr
    out1 = [bytes(p) for p in rdpcap(str(tmp_path / "p1_out.pcap"))]
    out0 = [bytes(p) for p in rdpcap(str(tmp_path / "p0_out.pcap"))]
    assert out1 == [_swapped(f) for f in from_p0[:3]]  # the 0x9999 frame was dropped
    assert out0 == [_swapped(f) for f in from_p1]


def test_use_files_with_pcap_dir_records_both_directions(tmp_path: Path, prog: Path) -> None:
    from_p0, from_p1 = _frames()
    wrpcap(str(tmp_path / "p0_in.pcap"), from_p0)
    wrpcap(str(tmp_path / "p1_in.pcap"), from_p1)
    cap = tmp_path / "capture"
    cap.mkdir()
    r = _run(["--use-files", "0", "--exit-when-done", "--pcap", str(cap),
              "-i", "0@p0", "-i", "1@p1", str(prog)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert [bytes(p) for p in rdpcap(str(cap / "p0_in.pcap"))] == [bytes(f) for f in from_p0]
    assert [bytes(p) for p in rdpcap(str(cap / "p1_in.pcap"))] == [bytes(f) for f in from_p1]
    assert [bytes(p) for p in rdpcap(str(cap / "p1_out.pcap"))] == [_swapped(f) for f in from_p0[:3]]
    assert [bytes(p) for p in rdpcap(str(cap / "p0_out.pcap"))] == [_swapped(f) for f in from_p1]


def test_use_files_without_input_file_writes_empty_capture(tmp_path: Path, prog: Path) -> None:
    r = _run(["--use-files", "0", "--exit-when-done", "-i", "0@p0", "-i", "1@p1", str(prog)],
             tmp_path)
    assert r.returncode == 0, r.stderr
    assert list(rdpcap(str(tmp_path / "p1_out.pcap"))) == []


@pytest.mark.parametrize("spec", ["eth0", "0-eth0", "x@eth0", "0@", "600@eth0", "-3@eth0"])
def test_bad_interface_syntax_is_refused(tmp_path: Path, prog: Path, spec: str) -> None:
    r = _run([f"--interface={spec}", str(prog)], tmp_path)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert f"'{spec}'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_missing_json_file_is_refused(tmp_path: Path) -> None:
    r = _run(["-i", "0@p0", str(tmp_path / "nope.json")], tmp_path)
    assert r.returncode == 1
    assert "cannot read" in r.stderr and "nope.json" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_program_at_all_is_refused(tmp_path: Path) -> None:
    r = _run(["-i", "0@p0"], tmp_path)
    assert r.returncode == 1
    assert "JSON" in r.stderr and "--no-p4" in r.stderr


@pytest.mark.parametrize("content,reason", [
    (b"{ this is not json", "not valid JSON"),
    (b"", "not valid JSON"),
    (b"[1, 2, 3]", "top level must be an object"),
    (b'{"__meta__": {"version": [1, 0]}}', "unsupported format version"),
])
def test_garbage_json_file_is_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    r = _run(["-i", "0@p0", str(bad)], tmp_path)
    assert r.returncode == 1
    assert "bad.json" in r.stderr and reason in r.stderr
    assert "Traceback" not in r.stderr


def test_json_with_unknown_primitive_is_refused(tmp_path: Path) -> None:
    p = port_swap_program()
    p.actions[0]["primitives"].append({"op": "teleport_packet", "parameters": []})
    bad = tmp_path / "prim.json"
    bad.write_text(p.text())
    r = _run(["-i", "0@p0", str(bad)], tmp_path)
    assert r.returncode == 1
    assert "teleport_packet" in r.stderr
    assert "Traceback" not in r.stderr


def test_pcap_dir_must_exist(tmp_path: Path, prog: Path) -> None:
    r = _run(["--pcap", str(tmp_path / "missing"), "-i", "0@p0", str(prog)], tmp_path)
    assert r.returncode == 1
    assert "missing" in r.stderr and "not a directory" in r.stderr
