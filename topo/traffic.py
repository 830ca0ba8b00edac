#!/usr/bin/env python3
"""Traffic for the bottleneck topology: packet trains, and a TCP transfer that
shows its congestion control.

    python3 topo/traffic.py trains --dst 10.0.0.1 [--src 10.0.0.2] [--sport 5000]
        [--dport 5001] [--trains 12] [--length 200] [--size 1472] [--idle 0.02]
    python3 topo/traffic.py tcp-sink --bind 10.0.0.2 [--port 5201]
    python3 topo/traffic.py tcp-send --dst 10.0.0.2 [--port 5201] [--bytes 2000000]

``trains`` (seed 002's dispersion method): each train is ``length`` UDP
datagrams of ``size`` bytes handed to the kernel as fast as one socket can,
much faster than the bottleneck, so they wait in the bottleneck's queue and
leave it spaced by their transmission time there. The socket's send buffer
holds a whole train (``SO_SNDBUFFORCE`` as root), so the sender never has to
wake up in the middle of a train to keep the queue busy. The next train
starts ``idle`` seconds after the last one has left the host (the socket's
unsent bytes, ``SIOCOUTQ``, are back to 0): the sender needs no idea of the
link's rate, and trains never run into each other. Every payload starts with
the train number and the packet's number in it (16 bits each).

``tcp-sink`` accepts one connection, reads it to the end and prints the byte
count. ``tcp-send`` connects, sends, and before closing prints the congestion
control the kernel gave the socket (``TCP_CONGESTION``) and what ``ss -tin``
says about the connection (run in the same network namespace).

Each command prints one JSON line. Python's standard library only (and
``ss`` from iproute2): it runs under any python3 on a Mininet host.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import socket
import struct
import subprocess
import sys
import time

SIOCOUTQ = 0x5411            # TIOCOUTQ: bytes a socket has not sent yet
SO_SNDBUFFORCE = 32
TCP_CONGESTION = 13


def unsent_bytes(sock: socket.socket) -> int:
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQ, b"\0" * 4))[0]


def wait_sent(sock: socket.socket, timeout: float) -> bool:
    """Until the kernel has sent everything handed to ``sock`` (or ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while unsent_bytes(sock):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def send_trains(dst: str, dport: int, trains: int, length: int, size: int,
                idle: float, src: str = "", sport: int = 0,
                drain_timeout: float = 10.0) -> dict[str, int]:
    """Send ``trains`` trains of ``length`` UDP datagrams of ``size`` bytes to
    ``dst``:``dport``, back to back inside a train, ``idle`` s between trains."""
    if size < 4 or not 1 <= length <= 0xFFFF or not 1 <= trains <= 0xFFFF:
        raise ValueError("size >= 4 bytes, 1 <= length <= 65535, 1 <= trains <= 65535")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    buf = 2 * length * (size + 1024)           # a whole train, with room for skb overhead
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, buf)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buf)
    sent = late = 0
    try:
        sock.bind((src, sport))
        fill = bytes(size - 4)
        for t in range(trains):
            for i in range(length):
                sent += sock.sendto(struct.pack("!HH", t, i) + fill, (dst, dport))
            if not wait_sent(sock, drain_timeout):
                late += 1
            time.sleep(idle)
    finally:
        sock.close()
    return {"trains": trains, "packets": trains * length, "bytes": sent,
            "not_drained": late}


def tcp_sink(bind: str, port: int, timeout: float = 60.0) -> dict[str, int]:
    """Accept one connection on ``bind``:``port`` and read it to the end."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.settimeout(timeout)
    try:
        srv.bind((bind, port))
        srv.listen(1)
        print(json.dumps({"listening": f"{bind}:{port}"}), flush=True)
        conn, _ = srv.accept()
    finally:
        srv.close()
    conn.settimeout(timeout)
    got = 0
    with conn:
        while data := conn.recv(1 << 16):
            got += len(data)
    return {"received": got}


def tcp_send(dst: str, port: int, nbytes: int, timeout: float = 60.0) -> dict[str, object]:
    """Connect to ``dst``:``port``, send ``nbytes``; report the socket's congestion
    control (``TCP_CONGESTION``) and ``ss -tin``'s lines for it, taken while it is open."""
    sock = socket.create_connection((dst, port), timeout=timeout)
    try:
        host, lport = sock.getsockname()[:2]
        local = f"{host}:{lport}"
        chunk = bytes(1 << 16)
        left = nbytes
        while left:
            left -= sock.send(chunk[:min(left, len(chunk))])
        ca = sock.getsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, 16).rstrip(b"\0").decode()
        ss = subprocess.run(["ss", "-tin", "src", local, "dst", f"{dst}:{port}"],
                            capture_output=True, text=True, timeout=30).stdout
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(1 << 16):      # until the sink has read everything and closed
            pass
    finally:
        sock.close()
    return {"sent": nbytes, "local": local, "congestion": ca, "ss": ss}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("trains", help="UDP packet trains")
    p.add_argument("--dst", required=True)
    p.add_argument("--dport", type=int, default=5001)
    p.add_argument("--src", default="")
    p.add_argument("--sport", type=int, default=5000)
    p.add_argument("--trains", type=int, default=12)
    p.add_argument("--length", type=int, default=200, help="datagrams per train")
    p.add_argument("--size", type=int, default=1472,
                   help="UDP payload bytes (1472: 1514-byte Ethernet frames)")
    p.add_argument("--idle", type=float, default=0.02,
                   help="seconds between the end of one train and the next")
    p = sub.add_parser("tcp-sink", help="read one TCP connection to the end")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=5201)
    p = sub.add_parser("tcp-send", help="send over TCP; show the congestion control")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=5201)
    p.add_argument("--bytes", type=int, default=2_000_000)
    args = ap.parse_args(argv)
    if args.command == "trains":
        out: dict = send_trains(args.dst, args.dport, args.trains, args.length, args.size,
                                args.idle, args.src, args.sport)
    elif args.command == "tcp-sink":
        out = tcp_sink(args.bind, args.port)
    else:
        out = tcp_send(args.dst, args.port, args.bytes)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
