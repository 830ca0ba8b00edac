"""End to end in Mininet (topo/fragmenting.py): datagrams fragmented by a Linux router
pass the NIC untouched and are reassembled and answered by the receiver's kernel.

The sender sends ICMP echo requests of 1200..3000 bytes with random payloads
and DF clear (a raw socket, IP_PMTUDISC_DONT) over its 9000-byte link; the
router's kernel fragments them for its 576-byte link to the NIC. The NIC has
no flow for them (first fragments of unknown flows and non-first fragments go
to the host-stack port unchanged: no reassembly policy yet), the
receiver's kernel reassembles each datagram and answers it, fragmented again
on its 576-byte route back. Checked:

* every request answered with its payload byte for byte;
* tshark on the router's NIC-facing interface and on the receiver's
  host-stack interface: the receiver got exactly the frames the router sent
  (same bytes, same order) and the router exactly the frames the receiver
  sent back; ``tshark -r`` reads them as fragments (MF on all but the last,
  offsets advancing by 552 bytes, every IP packet at most 576 bytes) with
  the fragment count the MTU gives;
* the NIC dropped nothing (every drop counter 0).

The issue asks for plain fragmented UDP until the NIC reassembles (ESP
later): the second test sends UDP datagrams of the same sizes to a UDP echo
server on the receiver (the NIC's UDP length check used to drop every first
fragment, whose UDP length counts the whole datagram; checks.p4 now leaves
fragments alone).

The third test tells the NIC to reassemble (``p4nic reasm enable icmp,udp``
through the daemon; the topology's loopback pair is in its port map): the
receiver's host-stack port gets every request whole, no fragment, and the
answers (still fragmented on the way back) are byte-exact; reasm_events counts
every fragment accepted and every datagram reassembled, nothing else.
"""

from __future__ import annotations

import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest
from p4nic.pcapng import read_pcapng

from .conftest import TARGET, Build, need_mininet

SIZES = (1200, 1472, 1500, 1800, 2000, 2500, 3000)    # ICMP payload bytes
MTU = 576
FRAG = (MTU - 20) // 8 * 8                              # fragment payload: 552 bytes
WAIT = 30.0

ECHO = r"""
import json, random, select, socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

dst, sizes = sys.argv[1], [int(x) for x in sys.argv[2].split(",")]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.setsockopt(socket.IPPROTO_IP, 10, 0)        # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: DF clear
rng, ident, out = random.Random(7), 0x4242, []
for seq, size in enumerate(sizes):
    payload = rng.randbytes(size)
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, seq) + payload, (dst, 0))
    deadline, got = time.monotonic() + 5, None
    while got is None and time.monotonic() < deadline:
        if not select.select([s], [], [], 0.2)[0]:
            continue
        pkt = s.recv(65535)
        icmp = pkt[(pkt[0] & 15) * 4:]
        if icmp[0] == 0 and struct.unpack("!HH", icmp[4:8]) == (ident, seq):
            got = icmp[8:]
    out.append({"size": size, "answered": got is not None, "equal": got == payload,
                "reply_len": None if got is None else len(got)})
print(json.dumps(out), flush=True)
"""


@pytest.fixture(scope="module")
def frag_net(nic_build: Build) -> Iterator[tuple]:
    need_mininet()
    if shutil.which("tshark") is None:
        pytest.fail("tshark is not installed (make setup installs it)")
    import p4switch
    from fragmenting import RECEIVER, FragmentingTopo, configure

    workdir = tempfile.mkdtemp(prefix="p4nic-frag-")
    try:
        with p4switch.running(FragmentingTopo(target=TARGET, workdir=workdir)) as net:
            configure(net, MTU)
            daemon = p4switch.start_daemon(net.get(RECEIVER), net.get("nic"),
                                           os.path.join(workdir, "state"), nic_build.p4info,
                                           nic_build.json)
            try:
                yield net, daemon, workdir
            finally:
                daemon.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def ip_frames(path: str) -> list[bytes]:
    """The IPv4 frames of a capture that are fragments (the probes are not)."""
    out = []
    for rec in read_pcapng(path):
        d = rec.data
        if d[12:14] == b"\x08\x00" and int.from_bytes(d[20:22], "big") & 0x3FFF:
            out.append(d)
    return out


def test_router_fragments_pass_the_nic_and_are_reassembled(frag_net) -> None:
    net, daemon, workdir = frag_net
    snd, rtr, rcv = net.get("snd"), net.get("rtr"), net.get("rcv")
    files = {"rtr": os.path.join(workdir, "router.pcapng"),
             "rcv": os.path.join(workdir, "receiver.pcapng")}
    tsharks = {name: node.popen(["tshark", "-n", "-l", "-P", "-i", iface, "-f",
                                 "ip host 10.0.1.2", "-w", files[name]],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, text=True)
               for name, node, iface in (("rtr", rtr, "p4nic0"), ("rcv", rcv, "p4nic2"))}
    try:
        ready: set[str] = set()       # both capture: a small ping shows up on each
        deadline = time.monotonic() + WAIT
        while len(ready) < 2:
            assert time.monotonic() < deadline, f"tshark captures nothing on {set(tsharks) - ready}"
            assert all(t.poll() is None for t in tsharks.values()), "a tshark exited"
            snd.cmd("ping -c 1 -W 1 -s 64 10.0.0.1")   # (a 60-byte frame: veth does not pad runts)
            for name, t in tsharks.items():
                while select.select([t.stdout], [], [], 0.3)[0] and t.stdout.readline():
                    ready.add(name)
        echo = snd.popen([sys.executable, "-c", ECHO, "10.0.0.1", ",".join(map(str, SIZES))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = echo.communicate(timeout=WAIT + 5 * len(SIZES))
        assert echo.returncode == 0, err
        time.sleep(1.0)
    finally:
        for t in tsharks.values():
            if t.poll() is None:
                os.kill(t.pid, signal.SIGINT)      # tshark finishes its file on SIGINT
                t.wait(20)
    results = json.loads(out)
    assert [(r["size"], r["answered"], r["equal"]) for r in results] == [
        (s, True, True) for s in SIZES], results

    # the NIC did not touch them: what the router sent is what the receiver got, both ways
    at_rtr, at_rcv = ip_frames(files["rtr"]), ip_frames(files["rcv"])

    def src(d: bytes) -> bytes:
        return d[26:30]
    sender, receiver = bytes([10, 0, 1, 2]), bytes([10, 0, 0, 1])
    requests = [d for d in at_rtr if src(d) == sender]
    assert [d for d in at_rcv if src(d) == sender] == requests
    assert [d for d in at_rtr if src(d) == receiver] == [d for d in at_rcv if src(d) == receiver]
    expect = sum(math.ceil((s + 8) / FRAG) for s in SIZES)
    assert len(requests) == expect
    assert len([d for d in at_rcv if src(d) == receiver]) == expect

    # tshark on the receiver's capture reads them as fragments, as the router cut them
    done = subprocess.run(["tshark", "-r", files["rcv"], "-o", "ip.defragment:FALSE", "-T",
                           "fields", "-E", "separator=|", "-e", "ip.src", "-e", "ip.id", "-e",
                           "ip.flags.mf", "-e", "ip.frag_offset", "-e", "ip.len",
                           "-Y", "ip.src == 10.0.1.2 && (ip.flags.mf == 1 || ip.frag_offset > 0)"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    datagrams: dict[str, list[tuple[int, int, int]]] = {}
    for line in done.stdout.splitlines():
        _, ident, mf, offset, length = line.split("|")
        datagrams.setdefault(ident, []).append((int(mf in ("1", "True")), int(offset),
                                                int(length)))
    assert len(datagrams) == len(SIZES)
    for size, frags in zip(SIZES, datagrams.values()):
        n = math.ceil((size + 8) / FRAG)
        # (tshark prints the offset in 8-byte units, or in bytes in some versions)
        assert [f[:2] for f in frags] in [[(1, i * FRAG // unit) for i in range(n - 1)] + [
            (0, (n - 1) * FRAG // unit)] for unit in (8, 1)], (size, frags)
        assert all(f[2] <= MTU for f in frags)
        assert sum(f[2] - 20 for f in frags) == size + 8

    drops = daemon.json("counters")["drops"]
    assert {k: v for k, v in drops.items() if v != [0, 0]} == {}


UDP_ECHO_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.1", 7007))
print("ready", flush=True)
for _ in range(int(sys.argv[1])):
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
"""

UDP_CLIENT = r"""
import json, os, socket, sys
sizes = [int(x) for x in sys.argv[1].split(",")]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0)        # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: DF clear
s.settimeout(5)
out = []
for size in sizes:
    data = os.urandom(size)
    s.sendto(data, ("10.0.0.1", 7007))
    try:
        back, _ = s.recvfrom(65535)
        out.append({"size": size, "answered": True, "equal": back == data})
    except socket.timeout:
        out.append({"size": size, "answered": False, "equal": False})
print(json.dumps(out))
"""


def udp_echo_exchange(snd, rcv, client: list[str], count: int) -> list[dict]:
    """UDP_ECHO_SERVER on ``rcv`` answering ``count`` datagrams, the client script
    (``client``: the script and its arguments) on ``snd``: -> the client's JSON results."""
    server = rcv.popen([sys.executable, "-c", UDP_ECHO_SERVER, str(count)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready", server.stderr.read()
        proc = snd.popen([sys.executable, "-c", *client],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = proc.communicate(timeout=WAIT + 5 * count)
        assert proc.returncode == 0, err
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return json.loads(out)


def test_fragmented_udp_passes_the_nic_and_is_echoed(frag_net) -> None:
    """UDP datagrams of 1200..3000 bytes, fragmented by the router for its 576-byte link,
    reach a UDP echo server on the receiver through the NIC and come back whole."""
    net, daemon, _workdir = frag_net
    snd, rcv = net.get("snd"), net.get("rcv")
    before = daemon.json("counters")["drops"]
    results = udp_echo_exchange(snd, rcv, [UDP_CLIENT, ",".join(map(str, SIZES))], len(SIZES))
    assert [(r["size"], r["answered"], r["equal"]) for r in results] == [
        (s, True, True) for s in SIZES], results
    assert daemon.json("counters")["drops"] == before


def test_the_nic_reassembles_when_told_to(frag_net) -> None:
    """The same ICMP echoes and UDP datagrams with reassembly enabled in the NIC:
    whole datagrams at the receiver, answered byte for byte."""
    net, daemon, workdir = frag_net
    snd, rcv = net.get("snd"), net.get("rcv")
    assert daemon.json("status")["ports"]["loop"] == [8, 9]
    before = {k: v[0] for k, v in daemon.json("reasm", "counters")["events"].items()}
    drops = daemon.json("counters")["drops"]
    path = os.path.join(workdir, "reassembled.pcapng")
    tshark = rcv.popen(["tshark", "-n", "-l", "-P", "-i", "p4nic2", "-f", "ip src host 10.0.1.2",
                        "-w", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL, text=True)
    try:
        enabled = daemon.json("reasm", "enable", "icmp,udp")["policies"]
        assert sorted(p["protocol"] for p in enabled) == ["icmp", "udp"]
        deadline = time.monotonic() + WAIT
        while True:                 # tshark captures: a small ping shows up
            assert time.monotonic() < deadline and tshark.poll() is None, "tshark captures nothing"
            snd.cmd("ping -c 1 -W 1 -s 64 10.0.0.1")
            if select.select([tshark.stdout], [], [], 0.3)[0] and tshark.stdout.readline():
                break
        echo = snd.popen([sys.executable, "-c", ECHO, "10.0.0.1", ",".join(map(str, SIZES))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = echo.communicate(timeout=WAIT + 5 * len(SIZES))
        assert echo.returncode == 0, err
        udp_results = udp_echo_exchange(snd, rcv, [UDP_CLIENT, ",".join(map(str, SIZES))],
                                        len(SIZES))
        time.sleep(1.0)
    finally:
        if tshark.poll() is None:
            os.kill(tshark.pid, signal.SIGINT)
            tshark.wait(20)
        daemon.json("reasm", "disable")
    for results in (json.loads(out), udp_results):
        assert [(r["size"], r["answered"], r["equal"]) for r in results] == [
            (s, True, True) for s in SIZES], results

    # the receiver got whole datagrams only: no fragment, one IP packet per request
    assert ip_frames(path) == []
    lengths = sorted(int.from_bytes(r.data[16:18], "big") for r in read_pcapng(path)
                     if r.data[12:14] == b"\x08\x00" and len(r.data) > MTU)
    assert lengths == sorted(s + 28 for s in SIZES for _ in ("icmp", "udp"))

    after = {k: v[0] for k, v in daemon.json("reasm", "counters")["events"].items()}
    frags = 2 * sum(math.ceil((s + 8) / FRAG) for s in SIZES)
    want = {**before, "accepted": before["accepted"] + frags,
            "reassembled": before["reassembled"] + 2 * len(SIZES)}
    assert after["passes"] > before["passes"] + frags
    assert {k: v for k, v in after.items() if k != "passes"} == {
        k: v for k, v in want.items() if k != "passes"}
    assert daemon.json("counters")["drops"] == drops
