"""Traffic source/sink for the veth benchmark (runs inside the bench namespace).

Sends a burst of frames on --tx and counts them on --rx to get packets/s and
the switch process's CPU per packet (from /proc/PID/stat), then measures
per-packet latency with one frame in flight at a time. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import threading
import time

ETH_P_ALL = 0x0003


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tx", required=True)
    ap.add_argument("--rx", required=True)
    ap.add_argument("--frame", required=True, help="hex")
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--switch-pid", type=int, required=True)
    args = ap.parse_args()
    frame = bytes.fromhex(args.frame)
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    tx.bind((args.tx, 0))
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    rx.bind((args.rx, 0))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)

    received = 0
    last_rx = 0.0
    done = threading.Event()

    def sink() -> None:
        nonlocal received, last_rx
        while not done.is_set():
            r, _, _ = select.select([rx], [], [], 0.2)
            if not r:
                continue
            data, addr = rx.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING or data[:14] != frame[:14]:
                continue
            received += 1
            last_rx = time.perf_counter()

    t = threading.Thread(target=sink, daemon=True)
    t.start()
    cpu0 = cpu_seconds(args.switch_pid)
    t0 = time.perf_counter()
    # Pace the sender in small bursts so the kernel socket queues don't overflow.
    sent = 0
    while sent < args.n:
        for _ in range(min(64, args.n - sent)):
            tx.send(frame)
            sent += 1
        while sent - received > 512:
            time.sleep(0.0005)
            if time.perf_counter() - t0 > 300:
                break
    deadline = time.perf_counter() + 10
    while received < sent and time.perf_counter() < deadline:
        time.sleep(0.01)
    cpu1 = cpu_seconds(args.switch_pid)
    pps = received / (last_rx - t0) if received and last_rx > t0 else 0.0
    done.set()
    t.join()

    lat = []
    for _ in range(500):
        t1 = time.perf_counter()
        tx.send(frame)
        while True:
            r, _, _ = select.select([rx], [], [], 1.0)
            if not r:
                break
            data, addr = rx.recvfrom(65535)
            if addr[2] != socket.PACKET_OUTGOING and data[:14] == frame[:14]:
                lat.append((time.perf_counter() - t1) * 1e6)
                break
    lat.sort()
    print(json.dumps({
        "sent": sent, "received": received, "pps": pps,
        "cpu_us": (cpu1 - cpu0) / max(received, 1) * 1e6,
        "lat_p50_us": lat[len(lat) // 2] if lat else 0.0,
        "lat_p99_us": lat[int(len(lat) * 0.99)] if lat else 0.0,
    }))


if __name__ == "__main__":
    main()
