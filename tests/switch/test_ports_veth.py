"""pybm-switch as a real process on real veth pairs.

Each test makes its own network namespace (name derived from the pid and a
counter) holding veth pairs swN <-> hN; the switch binds the swN ends
(``-i N@swN``) and veth_peer.py, run inside the namespace, sends frames built
with scapy on the hN ends and reports what arrives there. The namespace and
the switch process are removed even when a test fails.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from .bmv2 import NEW_SRC_MAC, port_swap_program

SWITCH = str(Path(sys.executable).parent / "pybm-switch")
PEER = str(Path(__file__).with_name("veth_peer.py"))
_counter = itertools.count()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


@dataclass
class Lab:
    ns: str
    workdir: Path
    nports: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    extra: list[str] = field(default_factory=list)

    def ns_exec(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *cmd]

    def start_switch(self, *args: str) -> None:
        prog = self.workdir / "port_swap.json"
        prog.write_text(port_swap_program().text())
        self.log = self.workdir / "switch.log"
        ifaces = [a for n in range(self.nports) for a in ("-i", f"{n}@sw{n}")]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                self.ns_exec(SWITCH, "--no-grpc", *ifaces, *args, str(prog)),
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        want = f"port {self.nports - 1} bound to sw{self.nports - 1}"
        while want not in self.log.read_text(errors="replace"):
            assert self.proc.poll() is None, f"pybm-switch exited:\n{self.log.read_text()}"
            assert time.monotonic() < deadline, f"pybm-switch did not start:\n{self.log.read_text()}"
            time.sleep(0.05)

    def stop_switch(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def exchange(self, send: list[tuple[int, bytes]], expect: int, *, timeout: float = 15.0,
                 settle: float = 0.5) -> dict[int, list[bytes]]:
        """Send (port, frame) from the hN ends; -> frames that arrived at each hN."""
        job = {"listen": [f"h{n}" for n in range(self.nports)],
               "send": [[f"h{port}", frame.hex()] for port, frame in send],
               "expect": expect, "timeout": timeout, "settle": settle}
        r = subprocess.run(self.ns_exec(sys.executable, PEER), input=json.dumps(job),
                           capture_output=True, text=True, timeout=timeout + 60)
        assert r.returncode == 0, r.stderr
        got = json.loads(r.stdout)
        return {int(name[1:]): [bytes.fromhex(h) for h in frames] for name, frames in got.items()}


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[Lab]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("needs root and iproute2 (network namespaces, veth pairs, raw sockets)")
    ns = f"pbsw{os.getpid()}n{next(_counter)}"
    lab = Lab(ns, tmp_path, nports=2)
    _ip("netns", "add", ns)
    try:
        _ip("-n", ns, "link", "set", "lo", "up")
        # no IPv6 on the veths: no router solicitations or MLD reports on the wire
        for key in ("all", "default"):
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                            f"net.ipv6.conf.{key}.disable_ipv6=1"], check=True, timeout=30)
        for n in range(lab.nports):
            _ip("-n", ns, "link", "add", f"sw{n}", "type", "veth", "peer", "name", f"h{n}")
            for end in (f"sw{n}", f"h{n}"):
                if shutil.which("ethtool"):
                    subprocess.run(["ip", "netns", "exec", ns, "ethtool", "-K", end, "tx", "off",
                                    "rx", "off", "tso", "off", "gso", "off", "gro", "off"],
                                   capture_output=True, timeout=30)
                _ip("-n", ns, "link", "set", end, "up")
        yield lab
    finally:
        lab.stop_switch()
        _ip("netns", "del", ns, check=False)


def _swapped(frame: Ether) -> bytes:
    f = frame.copy()
    f.src = ":".join(f"{b:02x}" for b in NEW_SRC_MAC.to_bytes(6, "big"))
    if IP in f:
        f[IP].ttl -= 1
        del f[IP].chksum
    return bytes(f)


def test_frames_are_forwarded_both_ways_byte_for_byte(lab: Lab) -> None:
    lab.start_switch()
    a = [Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02") / IP(src="10.9.0.1", dst="10.9.0.2")
         / UDP(sport=4000, dport=5000) / b"hello",
         Ether(dst="02:00:00:00:00:01") / IP(ttl=2) / TCP(flags="PA") / (b"\xab" * 1440),
         Ether(dst="ff:ff:ff:ff:ff:ff", type=0x88B5) / (b"\x00" * 46)]
    b = [Ether(dst="02:00:00:00:00:02") / IP(src="10.9.0.2", dst="10.9.0.1") / ICMP() / b"pong",
         Ether(dst="02:00:00:00:00:02", type=0x88B6) / b"\x01"]
    sent = [(0, bytes(f)) for f in a] + [(1, bytes(f)) for f in b]
    got = lab.exchange(sent, expect=len(sent))
    assert got[1] == [_swapped(f) for f in a]
    assert got[0] == [_swapped(f) for f in b]


def test_dropped_frames_never_appear(lab: Lab) -> None:
    lab.start_switch()
    drop = Ether(type=0x9999) / b"drop me"
    keep = Ether(type=0x88B5) / b"keep me"
    got = lab.exchange([(0, bytes(drop)), (0, bytes(keep)), (1, bytes(drop))], expect=1, settle=1.0)
    assert got == {0: [], 1: [_swapped(keep)]}


def test_many_frames_in_order(lab: Lab) -> None:
    lab.start_switch()
    frames = [Ether() / IP(id=i, ttl=64) / UDP(sport=i, dport=9) / (bytes([i]) * 20) for i in range(200)]
    got = lab.exchange([(0, bytes(f)) for f in frames], expect=len(frames), timeout=30)
    assert got[1] == [_swapped(f) for f in frames]
    assert got[0] == []


def test_pcap_dir_with_interfaces(lab: Lab) -> None:
    cap = lab.workdir / "cap"
    cap.mkdir()
    lab.start_switch("--pcap", str(cap))
    a = Ether() / IP(src="10.9.0.1", dst="10.9.0.2") / UDP() / b"captured"
    b = Ether(type=0x9999) / b"dropped but captured on the way in"
    got = lab.exchange([(0, bytes(a)), (1, bytes(b))], expect=1)
    assert got[1] == [_swapped(a)]
    assert lab.stop_switch() == 0
    assert [bytes(p) for p in rdpcap(str(cap / "sw0_in.pcap"))] == [bytes(a)]
    assert [bytes(p) for p in rdpcap(str(cap / "sw1_out.pcap"))] == [_swapped(a)]
    assert [bytes(p) for p in rdpcap(str(cap / "sw1_in.pcap"))] == [bytes(b)]
    assert list(rdpcap(str(cap / "sw0_out.pcap"))) == []


def test_unknown_interface_is_refused(lab: Lab) -> None:
    prog = lab.workdir / "p.json"
    prog.write_text(port_swap_program().text())
    r = subprocess.run(lab.ns_exec(SWITCH, "--no-grpc", "-i", "0@sw0", "-i", "1@nosuchif0", str(prog)),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "nosuchif0" in r.stderr and "port 1" in r.stderr
    assert "Traceback" not in r.stderr


def test_same_port_twice_is_refused(lab: Lab) -> None:
    prog = lab.workdir / "p.json"
    prog.write_text(port_swap_program().text())
    r = subprocess.run(lab.ns_exec(SWITCH, "--no-grpc", "-i", "0@sw0", "-i", "0@sw1", str(prog)),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "already bound" in r.stderr
