"""`p4nic start` with the crypto engine on a real pybm-switch (8 ports, the engine on
7): an SA of the configuration decrypts; the daemon is killed (SIGKILL) and its
engine child goes with it; a restart with --no-load adopts the SA and loads its key
into the new engine, so the next datagram is decrypted again. SAs added at run
time (installed, or only in the SA database) survive a restart too: the daemon
keeps its database in its state directory."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest
from p4nic.control import ControlClient, DaemonNotRunning
from p4nic.lab import NicLab
from p4nic.records import parse_rx_meta
from scapy.all import IP, UDP, Ether, Raw, raw
from scapy.layers.ipsec import ESP
from scapy.layers.ipsec import SecurityAssociation as ScapySA

from .conftest import NIC_MAC, PEER_MAC, Build, need_root

P4NIC = os.path.join(os.path.dirname(sys.executable), "p4nic")
KEY, SALT = "303132333435363738393a3b3c3d3e3f", "01020304"


@pytest.fixture(scope="module")
def lab8() -> Iterator[NicLab]:
    need_root()
    tag = os.getpid() % 100000
    workdir = tempfile.mkdtemp(prefix="p4nic-lab8-")
    nl = NicLab(netns=f"p4nic-c{tag}", prefix=f"c{tag}p", workdir=workdir, ports=range(8))
    try:
        nl.create()
        nl.start_switch()
        yield nl
    finally:
        nl.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def write_config(lab: NicLab, build: Build, tmp_path, sas: list[dict]) -> tuple[str, str]:
    """(state dir, configuration file) of a daemon with the engine on port 7 and ``sas``."""
    state, cfg = str(tmp_path / "state"), str(tmp_path / "nic.json")
    with open(cfg, "w") as f:
        json.dump({"grpc_addr": lab.grpc_addr, "p4info": build.p4info, "json": build.json,
                   "nic_macs": [NIC_MAC], "state_dir": state,
                   "ports": {"wire": [0, 1], "host_stack": 2, "consumer": 3, "placement": 4,
                             "records": 5, "capture": 6, "crypto": 7},
                   "crypto_iface": lab.outside(7), "sas": sas}, f)
    return state, cfg


def start(lab: NicLab, build: Build, state: str, cfg: str, log: str, *extra: str
          ) -> subprocess.Popen:
    with open(log, "w") as f:
        proc = subprocess.Popen([P4NIC, "--state-dir", state, "--log-level", "info", "start",
                                 "--config", cfg, *extra], stdout=f, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, open(log).read()
        try:
            with ControlClient(os.path.join(state, "p4nic.sock"), timeout=10) as c:
                c.call("status")
            return proc
        except (DaemonNotRunning, OSError):
            assert time.monotonic() < deadline, open(log).read()
            time.sleep(0.1)


def decrypted_after(lab: NicLab, seq: int, spi: int = 0x2001) -> bytes:
    """Send ESP seq ``seq`` into wire port 0; the frame the host-stack port delivers."""
    peer = ScapySA(ESP, spi=spi, crypt_algo="AES-GCM",
                   crypt_key=bytes.fromhex(KEY) + bytes.fromhex(SALT))
    inner = IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / Raw(b"seq %d" % seq)
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    rx.bind((lab.outside(2), 0))
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    tx.bind((lab.outside(0), 0))
    try:
        frame = raw(Ether(src=PEER_MAC, dst=NIC_MAC) / peer.encrypt(inner, seq_num=seq))
        tx.send(frame + bytes(max(0, 60 - len(frame))))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ready, _, _ = select.select([rx], [], [], 1.0)
            if ready:
                data, addr = rx.recvfrom(4096)
                if addr[2] != socket.PACKET_OUTGOING:
                    return data
        return b""
    finally:
        rx.close()
        tx.close()


def test_restart_reloads_the_keys_of_adopted_sas(lab8: NicLab, nic_build: Build,
                                                 tmp_path) -> None:
    state, cfg = write_config(lab8, nic_build, tmp_path,
                              [{"dst": "10.0.0.2", "spi": 0x2001, "key": KEY, "salt": SALT,
                                "key_index": 7, "install": True}])
    log1 = str(tmp_path / "daemon1.log")
    first = start(lab8, nic_build, state, cfg, log1)
    second = None
    try:
        meta, rest = parse_rx_meta(decrypted_after(lab8, 1))
        assert meta.flags & 0x60 == 0x60 and meta.key_index == 7 and b"seq 1" in rest
        engine_pid = int(re.search(r"crypto engine on \S+ \(pid (\d+)\)",
                                   open(log1).read()).group(1))
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{engine_pid}") and time.monotonic() < deadline:
            try:        # reap it if it was ours to reap; the kernel's SIGTERM ends it
                os.waitpid(engine_pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        stat = open(f"/proc/{engine_pid}/stat").read() if os.path.exists(
            f"/proc/{engine_pid}") else ""
        assert not stat or stat.rsplit(")", 1)[1].split()[0] == "Z", \
            "the crypto engine outlived its daemon"
        second = start(lab8, nic_build, state, cfg, str(tmp_path / "daemon2.log"), "--no-load")
        meta, rest = parse_rx_meta(decrypted_after(lab8, 2))
        assert meta.flags & 0x60 == 0x60 and meta.key_index == 7 and b"seq 2" in rest
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


def test_restart_keeps_the_sas_added_at_run_time(lab8: NicLab, nic_build: Build,
                                                  tmp_path) -> None:
    state, cfg = write_config(lab8, nic_build, tmp_path, [])
    first = start(lab8, nic_build, state, cfg, str(tmp_path / "daemon1.log"))
    second = None
    try:
        for spi, install in ((0x2002, ["--install"]), (0x2003, [])):
            subprocess.run([P4NIC, "--state-dir", state, "sa", "add", "--dst", "10.0.0.2",
                            "--spi", hex(spi), "--key", KEY, "--salt", SALT, *install],
                           check=True, capture_output=True, text=True)
        meta, rest = parse_rx_meta(decrypted_after(lab8, 1, 0x2002))
        assert meta.flags & 0x60 == 0x60 and b"seq 1" in rest
        assert oct(os.stat(os.path.join(state, "sadb.json")).st_mode & 0o777) == "0o600"
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        second = start(lab8, nic_build, state, cfg, str(tmp_path / "daemon2.log"), "--no-load")
        # installed at run time: adopted, its key loaded into the new engine
        meta, rest = parse_rx_meta(decrypted_after(lab8, 2, 0x2002))
        assert meta.flags & 0x60 == 0x60 and b"seq 2" in rest
        # only in the database: the key request is answered from it
        meta, _ = parse_rx_meta(decrypted_after(lab8, 1, 0x2003))
        assert meta.flags & 0x04, "the first datagram misses key memory (no key)"
        deadline = time.monotonic() + 10
        while True:
            meta, rest = parse_rx_meta(decrypted_after(lab8, 2, 0x2003))
            if meta.flags & 0x60 == 0x60 or time.monotonic() > deadline:
                break
        assert meta.flags & 0x60 == 0x60 and b"seq 2" in rest
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
