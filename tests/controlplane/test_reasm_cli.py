"""The command line of fragment reassembly: ``p4nic start --loop-ports/--reassemble/
--reasm-timeout-ms`` (and the configuration file's ``ports.loop`` / ``reassembly``),
``p4nic reasm enable|disable|flush|counters``; bad input refused with the reason before
anything talks to a device. Then the commands through a real daemon's control socket on
a pybm-switch with a loopback pair, across a SIGKILL and a --no-load restart, and
without a daemon."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from p4nic import p4names as n
from p4nic.cli import build_parser, request_for, resolve_common, start_config
from p4nic.control import ControlClient, DaemonNotRunning
from p4nic.model import NicConfigError
from p4nic.reasm_cli import print_reasm
from p4nic.service import check_request
from scapy.all import IP, UDP, Ether, Raw, fragment, raw

from .conftest import NIC_MAC, PEER_MAC, Build

P4NIC = os.path.join(os.path.dirname(sys.executable), "p4nic")
NOWHERE = ["--socket", "/nonexistent/p4nic.sock", "--grpc-addr", "unix:/nonexistent/p4rt.sock"]


def run_cli(*args: str) -> tuple[int, str, str]:
    done = subprocess.run([P4NIC, *args], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


def parse(*argv: str):
    ns = build_parser().parse_args(list(argv))
    ns.given = resolve_common(ns)
    return ns


# ---- no device ----------------------------------------------------------------------------
@pytest.mark.parametrize("args, reason", [
    (["reasm", "enable"], "the following arguments are required: PROTO[,PROTO]"),
    (["reasm", "enable", "gre"], "unknown IP protocol 'gre'"),
    (["reasm", "enable", "udp,300"], "IP protocol 300 outside 0..255"),
    (["reasm", "enable", ","], "at least one protocol"),
    (["reasm", "enable", "udp", "--timeout-ms", "0"], "reassembly timeout 0.0 ms outside"),
    (["reasm", "enable", "udp", "--timeout-ms", "soon"], "'soon' is not a number"),
    (["reasm", "enable", "udp", "--timeout-ms", "5000000"], "outside (0, 4294967]"),
    (["reasm", "disable", "ipx"], "unknown IP protocol 'ipx'"),
    (["reasm", "flush", "udp"], "unrecognized arguments: udp"),
    (["reasm", "restart"], "invalid choice: 'restart'"),
    (["start", "--loop-ports", "8"], "'8': expected two ports OUT,IN like 8,9"),
    (["start", "--loop-ports", "8,9,10"], "expected two ports OUT,IN"),
    (["start", "--loop-ports", "a,b"], "expected two ports OUT,IN"),
    (["start", "--loop-ports", "9,9"], "two different ports"),
    (["start", "--reassemble", "udp,gre"], "unknown IP protocol 'gre'"),
    (["start", "--reasm-timeout-ms", "-1"], "reassembly timeout -1.0 ms outside"),
])
def test_usage_errors_exit_2(args: list[str], reason: str) -> None:
    code, _, err = run_cli(*NOWHERE, *args)
    assert code == 2 and reason in err, err


@pytest.mark.parametrize("args, reason", [
    (["start", "--no-load", "--promiscuous", "--reassemble", "udp"],
     "fragment reassembly needs the loopback port pair: --loop-ports OUT,IN"),
    (["start", "--no-load", "--promiscuous", "--loop-ports", "8,9", "--reasm-timeout-ms", "10"],
     "--reasm-timeout-ms without --reassemble"),
    (["start", "--no-load", "--promiscuous", "--loop-ports", "8,2", "--reassemble", "udp"],
     "port map uses a port twice"),
    (["start", "--no-load", "--promiscuous", "--loop-ports", "8,600"],
     "loop port=600 is outside 0..511"),
    (["start", "--no-load", "--promiscuous", "--loop-ports", "8,255"],
     "cpu port 255 also has a NIC role"),
])
def test_refused_start_exits_1(args: list[str], reason: str) -> None:
    code, _, err = run_cli(*NOWHERE, *args)
    assert code == 1 and err.startswith("p4nic: error: ") and reason in err, err


def test_requests_built_from_flags() -> None:
    assert request_for(parse("reasm", "enable", "udp,ICMP,6,udp")) == (
        "reasm.enable", {"protocols": ["udp", "icmp", "tcp"]})
    assert request_for(parse("reasm", "enable", "all", "--timeout-ms", "250")) == (
        "reasm.enable", {"protocols": ["all"], "timeout_ms": 250.0})
    assert request_for(parse("reasm", "enable", "0x84")) == (
        "reasm.enable", {"protocols": [0x84]})
    assert request_for(parse("reasm", "disable")) == ("reasm.disable", {})
    assert request_for(parse("reasm", "disable", "tcp")) == (
        "reasm.disable", {"protocols": ["tcp"]})
    assert request_for(parse("reasm", "flush")) == ("reasm.flush", {})
    assert request_for(parse("--json", "reasm", "counters")) == ("reasm.counters", {})


@pytest.mark.parametrize("op, args, reason", [
    ("reasm.enable", {}, "needs the protocols"),
    ("reasm.enable", {"protocols": ["udp"], "timeout_ms": "5"}, "must be a number"),
    ("reasm.enable", {"protocols": ["udp"], "timeout_ms": 0}, "reassembly timeout"),
    ("reasm.enable", {"protocols": {"udp": 1}}, "must be a list"),
    ("reasm.enable", {"protocols": [999]}, "outside 0..255"),
    ("reasm.disable", {"protocols": ["gre"]}, "unknown IP protocol"),
])
def test_malformed_requests_refused(op: str, args: dict, reason: str) -> None:
    """What a client other than the CLI may send the control socket."""
    with pytest.raises(NicConfigError, match=reason):
        check_request(op, args)


def test_start_flags_and_configuration_file(tmp_path) -> None:
    cfg_file = tmp_path / "nic.json"
    cfg_file.write_text(json.dumps({
        "p4info": "x.txtpb", "json": "x.json", "nic_macs": [NIC_MAC],
        "ports": {"loop": [8, 9], "crypto": 7},
        "reassembly": {"protocols": ["udp", "esp"], "timeout_ms": 800}}))
    cfg = start_config(parse("start", "--config", str(cfg_file)))
    assert cfg.ports.loop == (8, 9) and cfg.ports.crypto == 7
    assert cfg.reassembly.protocols == [17, 50] and cfg.reassembly.timeout_ms == 800
    # the timeout alone changes the file's; --reassemble replaces its protocols
    cfg = start_config(parse("start", "--config", str(cfg_file), "--reasm-timeout-ms", "50"))
    assert cfg.reassembly.protocols == [17, 50] and cfg.reassembly.timeout_ms == 50
    cfg = start_config(parse("start", "--config", str(cfg_file), "--reassemble", "all",
                             "--loop-ports", "10,11"))
    assert cfg.reassembly.protocols == [None] and cfg.reassembly.timeout_ms == 800
    assert cfg.ports.loop == (10, 11)
    cfg = start_config(parse("start", "--loop-ports", "8,9", "--reassemble", "icmp"))
    assert cfg.reassembly.protocols == [1] and cfg.reassembly.timeout_ms == 5000
    assert start_config(parse("start")).reassembly is None
    cfg_file.write_text(json.dumps({"ports": {"loop": [8]}}))
    with pytest.raises(NicConfigError, match=r"loop: two ports \(out, in\)"):
        start_config(parse("start", "--config", str(cfg_file)))
    cfg_file.write_text(json.dumps({"reassembly": {"protocols": "udp", "timeout": 5}}))
    with pytest.raises(NicConfigError, match="reassembly: unknown key"):
        start_config(parse("start", "--config", str(cfg_file)))


def test_counters_text_names_every_event(capsys) -> None:
    events = {name: [i, 100 * i] for i, name in enumerate(n.REASM_EVENT_NAMES)}
    print_reasm("reasm.counters", {"events": events, "loop": [8, 9], "policies": [
        {"protocol": "udp", "timeout_ms": 5000.0, "epoch": 7}]})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "reassembly: udp (timeout 5000 ms, epoch 7); loopback 8 -> 9"
    assert [line.split() for line in out[2:]] == [
        [name, str(i), str(100 * i)] for i, name in enumerate(n.REASM_EVENT_NAMES)]
    print_reasm("reasm.disable", {"removed": 1, "policies": []})
    assert capsys.readouterr().out == "removed 1 policy; reassembly: off (no policy)\n"


# ---- through a daemon on a pybm-switch with a loopback pair ---------------------------------
@dataclass
class Daemon:
    proc: subprocess.Popen
    state: str
    log: str

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([P4NIC, "--state-dir", self.state, *args], capture_output=True,
                              text=True, timeout=60)

    def json(self, *args: str) -> dict:
        done = self.cli("--json", *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def start_daemon(lab, build: Build, state: str, *flags: str) -> Daemon:
    log = os.path.join(state, "daemon.log")
    os.makedirs(state, exist_ok=True)
    load = ["--no-load"] if "--no-load" in flags else ["--p4info", build.p4info,
                                                        "--p4-json", build.json]
    cmd = [P4NIC, "--state-dir", state, "--grpc-addr", lab.grpc_addr, "--log-level", "info",
           "start", *load, "--mac", NIC_MAC, *[f for f in flags if f != "--no-load"]]
    with open(log, "a") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, open(log).read()
        try:
            with ControlClient(os.path.join(state, "p4nic.sock"), timeout=10) as c:
                c.call("status")
            return Daemon(proc, state, log)
        except (DaemonNotRunning, OSError):
            assert time.monotonic() < deadline, open(log).read()
            time.sleep(0.1)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    try:
        yield started
    finally:
        for d in started:
            if d.proc.poll() is None:
                os.kill(d.proc.pid, signal.SIGKILL)
                d.proc.wait()


def send_fragments(lab, ident: int, size: int = 1800) -> tuple[list[bytes], bytes]:
    """A UDP datagram in fragments into wire port 0; (what the host stack got, the whole)."""
    dg = IP(src="10.0.0.1", dst="10.0.0.2", id=ident) / UDP(sport=1, dport=2) / Raw(
        bytes(i % 253 for i in range(size)))
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    rx.bind((lab.outside(2), 0))
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    tx.bind((lab.outside(0), 0))
    got = []
    try:
        for f in fragment(dg, fragsize=1000):
            tx.send(raw(Ether(src=PEER_MAC, dst=NIC_MAC) / f))
        rx.settimeout(5)
        try:
            while True:
                data, addr = rx.recvfrom(65536)
                if addr[2] != socket.PACKET_OUTGOING:
                    got.append(data)
                    rx.settimeout(1)
        except TimeoutError:
            pass
    finally:
        rx.close()
        tx.close()
    return got, raw(Ether(src=PEER_MAC, dst=NIC_MAC) / IP(raw(dg)))


def test_reasm_commands_through_the_daemon_and_without(loop_lab, nic_build: Build, tmp_path,
                                                       daemons: list[Daemon]) -> None:
    state = str(tmp_path / "state")
    d = start_daemon(loop_lab, nic_build, state, "--loop-ports", "8,9", "--reassemble", "udp",
                     "--reasm-timeout-ms", "3000")
    daemons.append(d)
    c = d.json("reasm", "counters")
    (udp,) = c["policies"]
    assert udp["protocol"] == "udp" and udp["timeout_ms"] == 3000 and c["loop"] == [8, 9]
    assert sorted(c["events"]) == sorted(n.REASM_EVENT_NAMES)     # (--json sorts keys)
    assert set(map(tuple, c["events"].values())) == {(0, 0)}

    got, whole = send_fragments(loop_lab, 1)
    assert got == [whole]
    events = d.json("reasm", "counters")["events"]
    assert (events["accepted"][0], events["reassembled"][0]) == (2, 1)

    on = d.json("reasm", "enable", "icmp,tcp", "--timeout-ms", "1500")["policies"]
    assert sorted((p["protocol"], p["timeout_ms"]) for p in on) == [
        ("icmp", 1500), ("tcp", 1500), ("udp", 3000)]
    assert len({p["epoch"] for p in on}) == 1 and on[0]["epoch"] != udp["epoch"]
    text = d.cli("reasm", "counters")
    assert text.returncode == 0
    assert [line.split()[0] for line in text.stdout.splitlines()[2:]] == list(
        n.REASM_EVENT_NAMES)
    assert "loopback 8 -> 9" in text.stdout.splitlines()[0]

    assert d.json("reasm", "disable", "tcp")["removed"] == 1
    again = d.cli("reasm", "disable", "tcp")
    assert again.returncode == 1 and "no reassembly policy for tcp" in again.stderr
    epoch = d.json("reasm", "flush")["epoch"]
    assert epoch != on[0]["epoch"]
    assert d.json("status")["installed"]["reasm_policy"] == 2

    # SIGKILL; a --no-load restart with the same flags adopts both policies, epoch kept
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d = start_daemon(loop_lab, nic_build, state, "--no-load", "--loop-ports", "8,9",
                     "--reassemble", "udp", "--reasm-timeout-ms", "3000")
    daemons.append(d)
    after = d.json("reasm", "counters")
    assert sorted((p["protocol"], p["timeout_ms"], p["epoch"]) for p in after["policies"]) == [
        ("icmp", 1500, epoch), ("udp", 3000, epoch)]
    assert after["events"]["reassembled"][0] == 1             # counters on the device
    log = open(d.log).read()
    assert "'reasm_policy': 2" in log and "fragment reassembly: protocol 17" in log
    got, whole = send_fragments(loop_lab, 2)
    assert got == [whole]
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(30) == 0

    # no daemon: one-shot commands adopt the policies, the loop pair comes from port_config
    direct = [P4NIC, "--state-dir", state, "--grpc-addr", loop_lab.grpc_addr]

    def one_shot(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(direct + list(args), capture_output=True, text=True, timeout=60)

    c = json.loads(one_shot("--json", "reasm", "counters").stdout)
    assert c["loop"] == [8, 9] and len(c["policies"]) == 2
    flushed = one_shot("--json", "reasm", "flush")
    assert flushed.returncode == 0, flushed.stderr
    assert json.loads(flushed.stdout)["epoch"] != epoch
    off = one_shot("reasm", "disable")
    assert off.returncode == 0 and off.stdout.startswith("removed 2 policies"), off.stderr
    nothing = one_shot("reasm", "flush")
    assert nothing.returncode == 1 and "nothing to flush" in nothing.stderr
    got, _ = send_fragments(loop_lab, 3)
    assert len(got) == 2                                      # as they came: no policy
