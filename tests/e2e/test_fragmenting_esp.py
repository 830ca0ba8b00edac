"""End to end in Mininet (topo/fragmenting.py) with IPsec: ESP from the sender,
fragmented by a Linux router, reassembled and decrypted by the NIC, answered by
the receiver's kernel.

This machine's kernel has no ESP (``ip xfrm`` cannot add an ESP state), so the
sender is scapy's ESP (AES-GCM-128, transport mode) in user space: it sends
each encrypted datagram as the payload of a raw IP socket (protocol 50, DF
clear) over its 9000-byte link; the router's kernel fragments it for its
576-byte link to the NIC. The NIC (``p4nic start --reassemble esp
--crypto-iface p4nic7 --bare-ports 2``, the SA installed from the
configuration) reassembles the fragments in its data plane, feeds the datagram
back to key memory, has the crypto engine decrypt it, and delivers the
plaintext UDP datagram to the receiver's host-stack port without an rx
descriptor (bare: the receiver is a kernel). The receiver's UDP echo server
answers in plaintext (no kernel ESP to answer with), fragmented again on its
576-byte route back. Checked: every datagram answered byte for byte, the
fragments the router made all accepted by the NIC, every datagram reassembled
and decrypted once, nothing dropped.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from .conftest import TARGET, Build, need_mininet
from .test_fragmenting import udp_echo_exchange

SIZES = (1200, 1472, 2000, 2500, 3000)    # UDP payload bytes
MTU = 576
FRAG = (MTU - 20) // 8 * 8                # fragment payload: 552 bytes
WAIT = 30.0
SPI = 0x3001
KEY, SALT = bytes(range(0x40, 0x50)), bytes.fromhex("c0ffee01")

# scapy encrypts; the kernel sends the ESP payload behind its own IP header
ESP_SENDER = r"""
import json, os, socket, sys
from scapy.layers.inet import IP, UDP
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.packet import Raw
key, salt, spi = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3])
sizes = [int(x) for x in sys.argv[4].split(",")]
sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key + salt)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
raw.setsockopt(socket.IPPROTO_IP, 10, 0)      # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: DF clear
out = []
for seq, size in enumerate(sizes, start=1):
    sport = 41000 + seq
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("10.0.1.2", sport))
    rx.settimeout(5)
    data = os.urandom(size)
    inner = IP(src="10.0.1.2", dst="10.0.0.1") / UDP(sport=sport, dport=7007) / Raw(data)
    esp = sa.encrypt(inner, seq_num=seq)
    raw.sendto(bytes(esp[ESP]), ("10.0.0.1", 0))
    try:
        back, _ = rx.recvfrom(65535)
        out.append({"size": size, "esp_len": len(esp[ESP]), "answered": True,
                    "equal": back == data})
    except socket.timeout:
        out.append({"size": size, "esp_len": len(esp[ESP]), "answered": False,
                    "equal": False})
    rx.close()
print(json.dumps(out), flush=True)
"""


@pytest.fixture(scope="module")
def esp_net(nic_build: Build) -> Iterator[tuple]:
    need_mininet()
    import p4switch
    from fragmenting import RECEIVER, FragmentingTopo, configure

    workdir = tempfile.mkdtemp(prefix="p4nic-frag-esp-")
    config = {"sas": [{"dst": "10.0.0.1", "spi": SPI, "key": KEY.hex(), "salt": SALT.hex(),
                       "cipher": "aes-gcm-128", "install": True}]}
    try:
        with p4switch.running(FragmentingTopo(target=TARGET, workdir=workdir)) as net:
            configure(net, MTU)
            daemon = p4switch.start_daemon(
                net.get(RECEIVER), net.get("nic"), os.path.join(workdir, "state"),
                nic_build.p4info, nic_build.json, config=config,
                extra=["--crypto-iface", "p4nic7", "--crypto-port", "7", "--bare-ports", "2",
                       "--reassemble", "esp"])
            try:
                yield net, daemon
            finally:
                daemon.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_router_fragmented_esp_is_reassembled_decrypted_and_answered(esp_net) -> None:
    net, daemon = esp_net
    snd, rcv = net.get("snd"), net.get("rcv")
    reasm_before = {k: v[0] for k, v in daemon.json("reasm", "counters")["events"].items()}
    counters = daemon.json("counters")
    drops_before = counters["drops"]
    results = udp_echo_exchange(snd, rcv, [ESP_SENDER, KEY.hex(), SALT.hex(), str(SPI),
                                           ",".join(map(str, SIZES))], len(SIZES))
    assert [(r["size"], r["answered"], r["equal"]) for r in results] == [
        (s, True, True) for s in SIZES], (results, daemon.json("reasm", "counters"))

    after = {k: v[0] for k, v in daemon.json("reasm", "counters")["events"].items()}
    frags = sum(math.ceil(r["esp_len"] / FRAG) for r in results)
    assert after["accepted"] - reasm_before["accepted"] == frags
    assert after["reassembled"] - reasm_before["reassembled"] == len(SIZES)
    for k in ("duplicate", "overlap", "tiny", "timeout", "slot_busy", "too_big", "bad_length",
              "unsupported", "stale"):
        assert after[k] == reasm_before[k], k
    counters_after = daemon.json("counters")
    assert counters_after["drops"] == drops_before
    ipsec = {k: v[0] - counters["ipsec"][k][0] for k, v in counters_after["ipsec"].items()}
    assert ipsec == {**{k: 0 for k in ipsec}, "to_engine": len(SIZES),
                     "decrypted": len(SIZES)}, ipsec
