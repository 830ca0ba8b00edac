"""Fixtures for the host-software tests: the compiled NIC, a switch on veth
pairs in a network namespace (real pybm-switch process), a driver on it, and
raw-socket taps on the switch ports."""

from __future__ import annotations

import os
import select
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator

import pytest
from conftest import Build  # tests/conftest.py (pytest puts tests/ on sys.path)
from p4nic.driver import NicDriver, PortMap
from p4nic.lab import NicLab

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NIC_MAC = "02:00:00:00:00:01"
PEER_MAC = "02:00:00:00:00:02"
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("needs root: network namespaces and raw sockets")
    for tool in ("ip", "ethtool"):
        if shutil.which(tool) is None:
            pytest.fail(f"needs {tool}")


def _running_lab(netns: str, prefix: str, workdir_prefix: str,
                 loop: tuple[int, int] | None = None) -> Iterator[NicLab]:
    need_root()
    tag = os.getpid() % 100000
    workdir = tempfile.mkdtemp(prefix=workdir_prefix)
    nl = NicLab(netns=f"{netns}{tag}", prefix=f"{prefix}{tag}p", workdir=workdir, loop=loop)
    try:
        nl.create()
        nl.start_switch()
        yield nl
    finally:
        nl.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def lab() -> Iterator[NicLab]:
    """pybm-switch (no program yet) in its own namespace, ports 0-6 on veth pairs."""
    yield from _running_lab("p4nic-t", "t", "p4nic-lab-")


PORTS = PortMap(wire=(0, 1), host_stack=2, consumer=3, placement=4, records=5, capture=6,
                cpu=255)
LOOP = (8, 9)


@pytest.fixture(scope="module")
def loop_lab() -> Iterator[NicLab]:
    """pybm-switch with ports 0-6 on veth pairs and 8, 9 looped back to each other (one
    veth pair, both ends on the switch: fragment reassembly's loopback)."""
    yield from _running_lab("p4nic-r", "r", "p4nic-reasm-", loop=LOOP)


@pytest.fixture
def driver(lab: NicLab, nic_build: Build) -> Iterator[NicDriver]:
    """Connected as primary, pipeline loaded, NIC set up; cleared afterwards."""
    drv = NicDriver(grpc_addr=lab.grpc_addr, device_id=0, election_id=1)
    drv.connect()
    try:
        drv.load_pipeline(nic_build.p4info, nic_build.json)
        drv.setup(PORTS, nic_macs=[NIC_MAC], promiscuous=False)
        yield drv
        drv.clear_all()
    finally:
        drv.close()


class Tap:
    """Raw socket on the outside end of a switch port: send frames, read what the
    switch sent out of that port."""

    def __init__(self, iface: str):
        self.iface = iface
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))

    def send(self, frame: bytes) -> None:
        self.sock.send(frame)

    def recv(self, count: int, timeout: float = 10.0) -> list[bytes]:
        """Up to ``count`` frames the switch sent; fewer only if ``timeout`` passes."""
        frames: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(frames) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                break
            data, addr = self.sock.recvfrom(65536)
            if addr[2] != PACKET_OUTGOING:
                frames.append(data)
        return frames

    def drain(self, quiet: float = 0.3) -> list[bytes]:
        """Everything that arrives until ``quiet`` seconds pass without a frame."""
        frames: list[bytes] = []
        while True:
            got = self.recv(1, quiet)
            if not got:
                return frames
            frames.extend(got)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def taps(lab: NicLab) -> Iterator[dict[int, Tap]]:
    t = {p: Tap(lab.outside(p)) for p in lab.ports}
    try:
        yield t
    finally:
        for tap in t.values():
            tap.close()
