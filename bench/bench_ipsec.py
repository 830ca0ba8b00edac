"""Decryption through the NIC: pybm-switch + the lookaside crypto engine (seed 004).

ESP datagrams (AES-GCM-128, transport mode, 512-byte payloads, made by scapy)
are sent into a wire port of pybm-switch on veths; each goes to the engine's
port, comes back decrypted and is delivered to the consumer port, where it is
counted. Printed: decrypted datagrams/s end to end, switch CPU per datagram
(two passes through the pipeline), engine CPU per datagram.

Run: .venv/bin/python bench/bench_ipsec.py [--datagrams N]
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "controlplane"))

from benchutil import proc_cpu, veth_bench_build  # noqa: E402
from p4nic.driver import NicDriver, PortMap, SecurityAssociation  # noqa: E402
from p4nic.lab import NicLab  # noqa: E402
from scapy.all import IP, UDP, Ether, Raw, raw  # noqa: E402
from scapy.layers.ipsec import ESP  # noqa: E402
from scapy.layers.ipsec import SecurityAssociation as ScapySA  # noqa: E402

NIC_MAC, PEER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
KEY, SALT = bytes(range(16)), b"\x01\x02\x03\x04"

P4NIC = str(Path(sys.executable).parent / "p4nic")


def datagrams(count: int) -> list[bytes]:
    sa = ScapySA(ESP, spi=0x5151, crypt_algo="AES-GCM", crypt_key=KEY + SALT)
    out = []
    for i in range(1, count + 1):
        inner = IP(src="10.0.0.2", dst="10.0.0.1", id=i & 0xFFFF) / UDP(sport=1, dport=2) \
            / Raw(bytes(512))
        out.append(raw(Ether(src=PEER_MAC, dst=NIC_MAC) / sa.encrypt(inner, seq_num=i)))
    return out


def run(count: int, json_path: str, p4info: str) -> dict[str, float]:
    tag = os.getpid() % 10000
    work = tempfile.mkdtemp(prefix="p4nic-bench-ipsec-")
    lab = NicLab(netns=f"p4nic-bi{tag}", prefix=f"bi{tag}p", workdir=work, ports=range(8))
    drv = None
    engine = None
    try:
        lab.create()
        lab.start_switch()
        engine = lab.spawn([P4NIC, "crypto-engine", "--iface", lab.outside(7)],
                           os.path.join(work, "engine.log"))
        drv = NicDriver(lab.grpc_addr)
        drv.connect()
        drv.load_pipeline(p4info, json_path)
        drv.setup(PortMap(crypto=7), nic_macs=[NIC_MAC], clock=False)
        drv.add_esp_flow("10.0.0.1", 0x5151, 1)
        drv.add_sa(SecurityAssociation(dst="10.0.0.1", spi=0x5151, key=KEY, salt=SALT))
        frames = datagrams(count)
        rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        rx.bind((lab.outside(3), 0))
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        tx.bind((lab.outside(0), 0))
        sw0, en0 = proc_cpu(lab.switch.pid), proc_cpu(engine.pid)
        got = 0
        t0 = time.perf_counter()
        sent = 0
        last = t0
        while got < count:
            # keep at most 64 datagrams in flight: the switch's socket buffers stay small
            while sent < count and sent - got < 64:
                tx.send(frames[sent])
                sent += 1
            ready, _, _ = select.select([rx], [], [], 5.0)
            if not ready:
                break
            data, addr = rx.recvfrom(65536)
            if addr[2] != socket.PACKET_OUTGOING:
                got += 1
                last = time.perf_counter()
        wall = last - t0
        sw, en = proc_cpu(lab.switch.pid) - sw0, proc_cpu(engine.pid) - en0
        return {"delivered": got, "per_s": got / wall if wall > 0 else 0.0,
                "switch_us": sw / max(got, 1) * 1e6, "engine_us": en / max(got, 1) * 1e6}
    finally:
        if drv is not None:
            drv.close()
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="decryption through the NIC")
    ap.add_argument("--datagrams", type=int, default=2000)
    args = ap.parse_args(argv)
    build = veth_bench_build("ipsec")
    if isinstance(build, int):
        return build
    json_path, p4info = build
    r = run(args.datagrams, json_path, p4info)
    print(f"decryption through the NIC (pybm-switch + crypto engine, AES-GCM-128, 512-byte "
          f"payloads, {args.datagrams} datagrams, 64 in flight)")
    print(f"  {r['per_s']:8.0f} decrypted datagrams/s delivered ({r['delivered']})")
    print(f"  {r['switch_us']:8.1f} us switch CPU per datagram (two pipeline passes)")
    print(f"  {r['engine_us']:8.1f} us engine CPU per datagram")
    return 0


if __name__ == "__main__":
    sys.exit(main())
