#!/usr/bin/env python3
"""make run: the NIC on a software switch with veth ports, driven by `p4nic start`.

Creates network namespace p4nic-sw holding the switch side of eight veth
pairs (ports 0-7); the other ends, p4nic0 ... p4nic7, stay in this
namespace for your tools. Ports 8 and 9 are one more veth pair with both
ends on the switch (sw8, sw9 inside the namespace): the loopback the NIC
reassembles IP fragments through (PortMap.loop). Starts pybm-switch (--target pybm) or
simple_switch_grpc (--target bmv2) inside the namespace, then `p4nic start`
with a demo configuration, prints the port map and example commands, and
runs until Ctrl-C / SIGTERM; then stops everything it started (by PID) and
deletes the namespace.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time

from p4nic.control import ControlClient, DaemonNotRunning
from p4nic.lab import LabError, NicLab, priority_queues_of
from p4nic.reasm import DEFAULT_TIMEOUT_MS

NIC_MAC = "02:00:00:00:00:01"
PEER_MAC = "02:00:00:00:00:02"
LOOP_PORTS = (8, 9)

ROLES = {0: "wire A (network)", 1: "wire B (network)", 2: "host stack (misses, IDLE flows)",
         3: "consumer queue (MONITOR flows)", 4: "placement records (ZERO_COPY)",
         5: "timestamp records", 6: "capture stream", 7: "crypto engine (seed 004)",
         8: "loopback out (reassembly emit passes), looped to 9",
         9: "loopback in"}


def demo_config(lab: NicLab, p4info: str, json_path: str, capture_out: str) -> dict:
    """A flow or two per offload, so the examples below show something."""
    return {
        "grpc_addr": lab.grpc_addr,
        "p4info": p4info,
        "json": json_path,
        "nic_macs": [NIC_MAC],
        "state_dir": lab.workdir,
        "ports": {"wire": [0, 1], "host_stack": 2, "consumer": 3, "placement": 4,
                  "records": 5, "capture": 6, "crypto": 7, "loop": list(LOOP_PORTS),
                  # the queues the switch runs with (regular traffic uses the top one)
                  "priority_queues": priority_queues_of(
                      lab.target, shutil.which("simple_switch_grpc") or "")},
        "flows": [
            # TCP 10.0.0.1:1234 -> 10.0.0.2:80: consumer queue, timestamp in front, ACK every 2
            {"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "tcp", "sport": 1234, "dport": 80,
             "flow_id": 1, "state": "MONITOR", "ts_mode": "in_packet", "ack_every": 2},
            # UDP 10.0.0.1:5000 -> 10.0.0.2:5004 (RTP): consumer queue + timestamp records
            {"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "udp", "sport": 5000,
             "dport": 5004, "flow_id": 2, "state": "MONITOR", "ts_mode": "record"},
            # TCP 10.0.0.1:2000 -> 10.0.0.2:9000: zero copy into a 64 KiB buffer at 0x10000
            {"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "tcp", "sport": 2000,
             "dport": 9000, "flow_id": 3, "state": "ZERO_COPY", "buf_base": 0x10000,
             "buf_size": 65536, "start_seq": 1000},
        ],
        "esp_flows": [{"dst": "10.0.0.2", "spi": 0x1001, "flow_id": 4, "state": "MONITOR"}],
        # answered on the first key request (key memory starts empty); no salt, so
        # key memory only marks its datagrams with the key index (seed 001)
        "sas": [{"dst": "10.0.0.2", "spi": 0x1001,
                 "key": "000102030405060708090a0b0c0d0e0f", "cipher": "aes-gcm-128"},
                # decrypted by the crypto engine on port 7 (seed 004), installed at start
                {"dst": "10.0.0.2", "spi": 0x2001, "key": "101112131415161718191a1b1c1d1e1f",
                 "salt": "0a0b0c0d", "cipher": "aes-gcm-128", "install": True}],
        "crypto_iface": lab.outside(7),
        "triggers": [{"capture_id": 1, "snaplen": 128, "dport": 80}],
        "rtp_ports": [5004],
        # fragments of these protocols are put back together in the NIC (seed 004)
        "reassembly": {"protocols": ["udp", "icmp", "esp"], "timeout_ms": DEFAULT_TIMEOUT_MS},
        "capture": {"iface": lab.outside(6), "out": capture_out,
                    "rotate_bytes": 10_000_000, "max_files": 10},
    }


def first_capture(capture_out: str) -> str:
    """With rotation the agent writes STEM-000.pcapng, STEM-001.pcapng, ..."""
    stem, ext = os.path.splitext(capture_out)
    return f"{stem}-000{ext}"


def banner(lab: NicLab, capture_out: str, cfg_path: str) -> str:
    p4nic = os.path.join(os.path.dirname(sys.executable), "p4nic")
    py = sys.executable
    lines = ["", "p4nic is running.", "",
             f"  switch namespace : {lab.netns} (switch log {lab.switch_log})",
             f"  P4Runtime        : {lab.grpc_addr}",
             f"  NIC MAC          : {NIC_MAC}",
             f"  configuration    : {cfg_path}",
             f"  capture files    : {first_capture(capture_out)} (-001, -002, ... every 10 MB)",
             "", "  port  interface  role"]
    for p in sorted(ROLES):
        iface = f"({lab.inside(p)})" if p in LOOP_PORTS else lab.outside(p)
        lines.append(f"  {p:>4}  {iface:<9}  {ROLES[p]}")
    lines += [
        "",
        "Try (in another shell, as root):",
        f"  tcpdump -ni {lab.outside(3)} -xx          # the consumer queue",
        f"  {py} -c \"from scapy.all import *; sendp(Ether(dst='{NIC_MAC}',src='{PEER_MAC}')"
        f"/IP(src='10.0.0.1',dst='10.0.0.2')/TCP(sport=1234,dport=80,flags='PA')/('x'*40),"
        f" iface='{lab.outside(0)}', count=4)\"",
        f"  {p4nic} flow list",
        f"  {p4nic} counters",
        f"  {p4nic} clock",
        f"  {p4nic} trigger add --capture-id 2 --snaplen 64 --proto udp",
        f"  {py} -c \"from scapy.all import *; sendp([Ether(dst='{NIC_MAC}',src='{PEER_MAC}')/f"
        f" for f in fragment(IP(src='10.0.0.1',dst='10.0.0.2')/UDP(sport=7,dport=7)/('y'*3000),"
        f" 1400)], iface='{lab.outside(0)}')\"   # one datagram on {lab.outside(2)}",
        f"  {p4nic} reasm counters",
        f"  tshark -r {first_capture(capture_out)}",
        f"  {p4nic} replay {first_capture(capture_out)} --port 0",
        "",
        "Ctrl-C stops the NIC and removes the namespace.", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", choices=["pybm", "bmv2"], default="pybm")
    ap.add_argument("--json", required=True, help="BMv2 JSON of the NIC (out/p4nic.json)")
    ap.add_argument("--p4info", required=True, help="P4Info (out/p4nic.p4info.txtpb)")
    ap.add_argument("--workdir", default="/run/p4nic", help="sockets, logs, state, capture")
    ap.add_argument("--netns", default="p4nic-sw")
    ap.add_argument("--prefix", default="p4nic", help="names of the outside veth ends")
    ap.add_argument("--log-console", action="store_true", help="switch traces every packet")
    args = ap.parse_args()

    if os.geteuid() != 0:
        print("run_nic: needs root (network namespaces, veth pairs, raw sockets)", file=sys.stderr)
        return 1
    for path in (args.json, args.p4info):
        if not os.path.isfile(path):
            print(f"run_nic: {path}: no such file (make build)", file=sys.stderr)
            return 1

    lab = NicLab(netns=args.netns, prefix=args.prefix, target=args.target, ports=range(8),
                 loop=LOOP_PORTS, workdir=args.workdir, log_console=args.log_console)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    stale = lab.remove_stale()
    if stale:
        print(f"run_nic: removed leftovers of an earlier run: {', '.join(stale)}")
    capture_out = os.path.join(args.workdir, "capture.pcapng")
    cfg_path = os.path.join(args.workdir, "nic.json")
    status = 0
    try:
        lab.create()
        lab.start_switch()
        with open(cfg_path, "w") as f:
            json.dump(demo_config(lab, os.path.abspath(args.p4info), os.path.abspath(args.json),
                                  capture_out), f, indent=1)
        daemon_log = os.path.join(args.workdir, "p4nic.log")
        daemon = lab.spawn([sys.executable, "-m", "p4nic.cli", "--log-level", "info", "start",
                            "--config", cfg_path], daemon_log)
        sock = os.path.join(args.workdir, "p4nic.sock")
        deadline = time.monotonic() + 60
        while True:
            if daemon.poll() is not None:
                with open(daemon_log) as f:
                    raise LabError(f"p4nic start exited ({daemon.returncode}):\n{f.read()[-3000:]}")
            try:
                with ControlClient(sock, timeout=5) as c:
                    c.call("status")
                break
            except (DaemonNotRunning, OSError):
                if time.monotonic() > deadline:
                    raise LabError("p4nic start did not come up within 60 s") from None
                time.sleep(0.2)
        print(banner(lab, capture_out, cfg_path), flush=True)
        while not stop.wait(0.5):
            for proc, name in ((lab.switch, "the switch"), (daemon, "p4nic start")):
                if proc is not None and proc.poll() is not None:
                    print(f"run_nic: {name} exited with status {proc.returncode}; see "
                          f"{lab.switch_log if proc is lab.switch else daemon_log}",
                          file=sys.stderr)
                    status = 1
                    stop.set()
    except LabError as e:
        print(f"run_nic: {e}", file=sys.stderr)
        status = 1
    finally:
        print("run_nic: stopping", flush=True)
        lab.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
