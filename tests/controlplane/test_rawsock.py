"""Raw sockets return host-side records intact even when they look VLAN-tagged.

A capture record whose NIC timestamp puts 0x8100 at bytes 12-13 is, to the
kernel, an 802.1Q frame: it strips four bytes into PACKET_AUXDATA.
p4nic.rawsock must put them back.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

from p4nic.records import CaptureRecord, parse_capture

READER = r"""
import socket, sys
from p4nic.rawsock import open_raw, recv_frame, PACKET_OUTGOING
rx = open_raw(sys.argv[2])
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
tx.bind((sys.argv[1], 0))
frame = bytes.fromhex(sys.argv[3])
tx.send(frame)
while True:
    data, kind = recv_frame(rx)
    if kind != PACKET_OUTGOING:
        print(data.hex())
        break
"""


def test_record_with_vlan_lookalike_bytes_is_read_back_whole() -> None:
    ns = f"p4nic-rawsock-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        ex = ["ip", "netns", "exec", ns]
        subprocess.run(ex + ["ip", "link", "add", "ra", "type", "veth", "peer", "name", "rb"],
                       check=True)
        for dev in ("ra", "rb"):
            subprocess.run(ex + ["ip", "link", "set", dev, "up"], check=True)
        rec = CaptureRecord(capture_id=7, direction=0, port=1, ts=0x12348100, orig_len=60,
                            snaplen=64)
        frame = rec.to_bytes() + bytes(range(60))
        assert frame[12:14] == b"\x81\x00", "the test frame must look VLAN-tagged"
        out = subprocess.run(ex + [sys.executable, "-c", READER, "ra", "rb", frame.hex()],
                             capture_output=True, text=True, timeout=30, check=True)
        got = bytes.fromhex(out.stdout.strip())
        assert got == frame
        back, payload = parse_capture(got)
        assert back.ts == 0x12348100 and back.orig_len == 60 and payload == bytes(range(60))
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
