"""`p4nic start` as a real process on the lab switch, and the one-shot commands
acting through its control socket (and directly once it is gone)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from p4nic.control import ControlClient, DaemonNotRunning
from p4nic.pcapng import read_pcapng
from p4nic.records import parse_rx_meta
from scapy.all import IP, TCP, Ether, raw
from scapy.layers.ipsec import ESP

from .conftest import NIC_MAC, PEER_MAC

P4NIC = os.path.join(os.path.dirname(sys.executable), "p4nic")
A, B = "10.0.0.1", "10.0.0.2"


@dataclass
class Daemon:
    proc: subprocess.Popen
    state: str
    capture: str
    log: str

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([P4NIC, "--state-dir", self.state, *args], capture_output=True,
                              text=True, timeout=timeout)

    def json(self, *args: str) -> object:
        done = self.cli("--json", *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def daemon(lab, nic_build, tmp_path) -> Iterator[Daemon]:
    state = str(tmp_path / "state")
    capture = str(tmp_path / "daemon.pcapng")
    log = str(tmp_path / "daemon.log")
    cmd = [P4NIC, "--state-dir", state, "--grpc-addr", lab.grpc_addr, "--log-level", "info",
           "start", "--p4info", nic_build.p4info, "--p4-json", nic_build.json, "--mac", NIC_MAC,
           "--capture-iface", lab.outside(6), "--capture-out", capture, "--clock-interval", "1"]
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    sock = os.path.join(state, "p4nic.sock")
    deadline = time.monotonic() + 60
    try:
        while True:
            assert proc.poll() is None, open(log).read()
            try:
                with ControlClient(sock, timeout=10) as c:
                    c.call("status")
                break
            except (DaemonNotRunning, OSError):
                assert time.monotonic() < deadline, "p4nic start did not come up:\n" + open(log).read()
                time.sleep(0.1)
        yield Daemon(proc, state, capture, log)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def tcp(dport: int = 80, flags: str = "A") -> bytes:
    return raw(Ether(dst=NIC_MAC, src=PEER_MAC) / IP(src=A, dst=B)
               / TCP(sport=1234, dport=dport, flags=flags) / (b"c" * 60))


def esp(seq: int) -> bytes:
    return raw(Ether(dst=NIC_MAC, src=PEER_MAC) / IP(src=A, dst=B) / ESP(spi=0x1001, seq=seq)
               / (b"e" * 48))


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_daemon_serves_commands_without_giving_up_primary(daemon: Daemon, lab, taps,
                                                          tmp_path) -> None:
    d = daemon
    status = d.json("status")
    assert status["daemon"] and status["primary"] and status["ports"]["wire"] == [0, 1]
    assert os.path.isfile(os.path.join(d.state, "clock.json"))

    # flows through the socket; refusals come back with the reason
    added = d.json("flow", "add", "--src", A, "--dst", B, "--proto", "tcp", "--sport", "1234",
                   "--dport", "80", "--flow-id", "7", "--ts-mode", "in_packet")
    assert added["flow_id"] == 7
    dup = d.cli("flow", "add", "--src", A, "--dst", B, "--proto", "udp", "--sport", "1",
                "--dport", "2", "--flow-id", "7")
    assert dup.returncode == 1 and "flow id 7 is already used" in dup.stderr
    taps[0].send(tcp())
    meta, _ = parse_rx_meta(taps[3].recv(1)[0])
    assert meta.flow_id == 7
    (row,) = d.json("flow", "list")
    assert (row["flow_id"], row["packets"]) == (7, 1)
    assert d.json("flow", "modify", "--flow-id", "7", "--deliver-port", "2")["flow"][
        "deliver_port"] == 2

    # the daemon answers key requests from its SA database
    assert d.json("sa", "add", "--dst", B, "--spi", "0x1001", "--key", "00" * 16)[
        "installed"] is False
    taps[0].send(esp(1))
    assert parse_rx_meta(taps[2].recv(1)[0])[0].no_key
    assert wait_for(lambda: d.json("sa", "list")["key_memory"])
    taps[0].send(esp(2))
    assert parse_rx_meta(taps[2].recv(1)[0])[0].key_valid
    assert d.json("status")["key_requests"] == {"answered": 1, "unanswered": 0}

    # capture inside the daemon, with its own clock mapping
    assert d.json("trigger", "add", "--capture-id", "1", "--snaplen", "64", "--dport",
                  "80")["trigger"]["capture_id"] == 1
    for _ in range(3):
        taps[0].send(tcp())
    assert len(taps[2].recv(3)) == 3          # flow 7 delivers to the host stack now
    assert wait_for(lambda: d.json("status")["capture"]["written"] >= 3)
    assert [len(r.data) for r in read_pcapng(d.capture)] == [64] * 3
    if shutil.which("tshark"):
        shown = subprocess.run(["tshark", "-r", d.capture, "-T", "fields", "-e", "tcp.dstport"],
                               capture_output=True, text=True)
        assert shown.stdout.split() == ["80"] * 3

    # replay goes through the daemon's connection (at the captured timing)
    assert d.json("replay", d.capture, "--port", "0")["sent"] == 3
    replayed = [parse_rx_meta(f) for f in taps[2].recv(3)]
    assert [(m.flow_id, len(pkt)) for m, pkt in replayed] == [(7, len(tcp()))] * 3
    bad = d.cli("replay", d.capture, "--port", "3")
    assert bad.returncode == 1 and "not a wire port" in bad.stderr

    clock = d.cli("clock", "--probes", "2")
    assert clock.returncode == 0 and "NIC clock" in clock.stdout
    counters = d.json("counters")
    assert counters["drops"]["dmac"] == [0, 0] and counters["flows"][0]["flow_id"] == 7
    assert d.cli("rtp-port", "add", "5004").returncode == 0
    again = d.cli("rtp-port", "add", "5004")
    assert again.returncode == 1 and "already installed" in again.stderr

    # a command that bypasses the socket cannot take primary from the daemon
    direct = subprocess.run([P4NIC, "--socket", str(tmp_path / "none.sock"), "--grpc-addr",
                             lab.grpc_addr, "flow", "list"], capture_output=True, text=True,
                            timeout=60)
    assert direct.returncode == 1 and "p4nic: error:" in direct.stderr
    assert d.json("status")["primary"]
    # nor can a second daemon start on the same state directory
    second = d.cli("--grpc-addr", lab.grpc_addr, "start", "--no-load", "--mac", NIC_MAC)
    assert second.returncode == 1 and "another p4nic daemon" in second.stderr

    # the standalone capture agent maps NIC time with the daemon's state file
    agent_out = str(tmp_path / "agent.pcapng")
    agent = subprocess.Popen([P4NIC, "--state-dir", d.state, "capture", "--iface",
                              lab.outside(6), "--out", agent_out, "--count", "1"],
                             stderr=subprocess.PIPE, text=True)
    try:
        assert "->" in agent.stderr.readline()            # it reads the port now
        taps[0].send(tcp())
        assert agent.wait(30) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
    (rec,) = read_pcapng(agent_out)
    assert rec.comments[0].startswith("nic_ts=")
    nic_ts = int(rec.comments[0].split()[0].split("=")[1])
    assert rec.ts_us != nic_ts                            # mapped, not raw NIC time

    # SIGTERM: a clean exit that leaves the NIC programmed
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(30) == 0
    assert not os.path.exists(os.path.join(d.state, "p4nic.sock"))

    # without a daemon, one-shot commands connect as primary themselves
    direct = [P4NIC, "--state-dir", d.state, "--grpc-addr", lab.grpc_addr, "--json"]
    listed = subprocess.run(direct + ["flow", "list"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert [r["flow_id"] for r in json.loads(listed.stdout)] == [7]
    refused = subprocess.run(direct + ["sa", "add", "--dst", B, "--spi", "9"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "use --install" in refused.stderr
    removed = subprocess.run(direct + ["flow", "del", "--flow-id", "7"], capture_output=True,
                             text=True, timeout=60)
    assert removed.returncode == 0, removed.stderr
    listed = subprocess.run(direct + ["flow", "list"], capture_output=True, text=True, timeout=60)
    assert json.loads(listed.stdout) == []
