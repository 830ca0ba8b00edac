"""Peer side of the veth tests, run inside the test's network namespace
(``ip netns exec NS python veth_peer.py``).

Reads a JSON job on stdin::

    {"listen": ["h0", "h1"], "send": [["h0", "HEX"], ...], "expect": 3,
     "timeout": 10.0, "settle": 0.5}

opens a raw socket on every ``listen`` interface, then sends the frames with
scapy's ``sendp`` in order, then collects frames arriving on the listen
interfaces until ``expect`` frames came (or ``timeout`` passed) and for
``settle`` more seconds (to catch frames that should not be there). Prints
``{"IFACE": ["HEX", ...]}`` on stdout.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main() -> int:
    job = json.load(sys.stdin)
    socks = {}
    for name in job["listen"]:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        socks[s.fileno()] = (name, s)
    from scapy.layers.l2 import Ether  # imported late: the sockets listen first
    from scapy.sendrecv import sendp
    for iface, hexframe in job["send"]:
        sendp(Ether(bytes.fromhex(hexframe)), iface=iface, verbose=False)
    got: dict[str, list[str]] = {name: [] for name in job["listen"]}
    deadline = time.monotonic() + job["timeout"]
    settle_until = None
    while True:
        now = time.monotonic()
        if settle_until is None and sum(map(len, got.values())) >= job["expect"]:
            settle_until = now + job["settle"]
        end = settle_until if settle_until is not None else deadline
        if now >= end:
            break
        ready, _, _ = select.select(list(socks), [], [], end - now)
        for fd in ready:
            name, s = socks[fd]
            data, addr = s.recvfrom(65536)
            if addr[2] != PACKET_OUTGOING:
                got[name].append(data.hex())
    json.dump(got, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
