"""Fragment reassembly through the NIC (seed 004): pybm-switch on veths.

Datagrams of 2980 bytes of IP payload, each cut by scapy into the three
fragments a 1500-byte MTU path makes, go into a wire port; the NIC stores
them in its register slots, emits the whole datagram through its loopback
ports and delivers it (UDP: to the host-stack port; ESP: to the crypto
engine first, then decrypted to the consumer port), where it is counted.
Printed: reassembled datagrams/s end to end, switch CPU per datagram, the
recirculation passes a datagram takes (p4nic.reasm.datagram_passes) and,
for ESP, the engine's CPU per datagram.

Run: .venv/bin/python bench/bench_reasm.py [--datagrams N]
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
from p4nic.reasm import (  # noqa: E402
    datagram_passes,
    enable_reassembly,
    reasm_key,
    reasm_slot,
    reassembly_counters,
)
from scapy.all import IP, UDP, Ether, Raw, fragment, raw  # noqa: E402
from scapy.layers.ipsec import ESP  # noqa: E402
from scapy.layers.ipsec import SecurityAssociation as ScapySA  # noqa: E402

NIC_MAC, PEER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
KEY, SALT, SPI = bytes(range(16)), b"\x01\x02\x03\x04", 0x5252
IN_FLIGHT = 16        # datagrams in flight: well below the 64 slots
P4NIC = str(Path(sys.executable).parent / "p4nic")


def idents(count: int, proto: int) -> list[int]:
    """IP identifications such that any IN_FLIGHT consecutive datagrams hash to
    different slots: the bench measures reassembly, not slot collisions."""
    out: list[int] = []
    ident = 0
    while len(out) < count:
        ident += 1
        slot = reasm_slot(reasm_key("10.0.0.2", "10.0.0.1", proto, ident))
        recent = {reasm_slot(reasm_key("10.0.0.2", "10.0.0.1", proto, i))
                  for i in out[-(IN_FLIGHT - 1):]}
        if slot not in recent:
            out.append(ident)
    return out


def fragmented(count: int, esp: bool) -> tuple[list[list[bytes]], int]:
    """Per datagram its three fragment frames; and the passes each datagram takes."""
    sa = ScapySA(ESP, spi=SPI, crypt_algo="AES-GCM", crypt_key=KEY + SALT)
    out, passes = [], 0
    for seq, i in enumerate(idents(count, 50 if esp else 17), start=1):
        size = 2900 if esp else 2972
        ip = IP(src="10.0.0.2", dst="10.0.0.1", id=i & 0xFFFF) / UDP(sport=1, dport=2) \
            / Raw(bytes(size))
        if esp:
            ip = sa.encrypt(ip, seq_num=seq)
            ip.id = i & 0xFFFF
        frags = fragment(ip, fragsize=1480)
        passes = datagram_passes([(f.frag, len(bytes(f.payload))) for f in frags])
        out.append([raw(Ether(src=PEER_MAC, dst=NIC_MAC) / f).ljust(60, b"\0") for f in frags])
    return out, passes


def run(count: int, esp: bool, json_path: str, p4info: str) -> dict[str, float]:
    tag = os.getpid() % 10000
    work = tempfile.mkdtemp(prefix="p4nic-bench-reasm-")
    lab = NicLab(netns=f"p4nic-br{tag}", prefix=f"br{tag}p", workdir=work, ports=range(8),
                 loop=(8, 9))
    drv = None
    engine = None
    try:
        lab.create()
        lab.start_switch()
        if esp:
            engine = lab.spawn([P4NIC, "crypto-engine", "--iface", lab.outside(7)],
                               os.path.join(work, "engine.log"))
        drv = NicDriver(lab.grpc_addr)
        drv.connect()
        drv.load_pipeline(p4info, json_path)
        drv.setup(PortMap(crypto=7, loop=(8, 9)), nic_macs=[NIC_MAC], clock=False)
        enable_reassembly(drv, ["esp" if esp else "udp"], timeout_ms=5000)
        if esp:
            drv.add_esp_flow("10.0.0.1", SPI, 1)
            drv.add_sa(SecurityAssociation(dst="10.0.0.1", spi=SPI, key=KEY, salt=SALT))
        dgrams, passes = fragmented(count, esp)
        rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        rx.bind((lab.outside(3 if esp else 2), 0))
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        tx.bind((lab.outside(0), 0))
        sw0 = proc_cpu(lab.switch.pid)
        en0 = proc_cpu(engine.pid) if engine else 0.0
        got = sent = other = 0
        t0 = last = time.perf_counter()
        while got + other // 3 < count:
            while sent < count and sent - got - other // 3 < IN_FLIGHT:
                for f in dgrams[sent]:
                    tx.send(f)
                sent += 1
            ready, _, _ = select.select([rx], [], [], 5.0)
            if not ready:
                break
            data, addr = rx.recvfrom(65536)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            if len(data) > 1514:      # a whole datagram (fragments are at most 1514)
                got += 1
                last = time.perf_counter()
            else:
                other += 1            # a fragment passed on unreassembled
        wall = last - t0
        sw = proc_cpu(lab.switch.pid) - sw0
        en = (proc_cpu(engine.pid) - en0) if engine else 0.0
        ev = {k: v[0] for k, v in reassembly_counters(drv).items()}
        return {"delivered": got, "fragments_passed_on": other,
                "per_s": got / wall if wall > 0 else 0.0,
                "switch_us": sw / max(got, 1) * 1e6, "engine_us": en / max(got, 1) * 1e6,
                "passes": passes, "slot_busy": ev["slot_busy"], "reassembled": ev["reassembled"]}
    finally:
        if drv is not None:
            drv.close()
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="fragment reassembly through the NIC")
    ap.add_argument("--datagrams", type=int, default=300)
    args = ap.parse_args(argv)
    build = veth_bench_build("reassembly")
    if isinstance(build, int):
        return build
    json_path, p4info = build
    for esp in (False, True):
        r = run(args.datagrams, esp, json_path, p4info)
        what = "ESP (AES-GCM-128) reassembled, then decrypted" if esp else "UDP reassembled"
        print(f"fragment reassembly through the NIC (pybm-switch, {what}; 2980-byte datagrams "
              f"in 3 fragments, {args.datagrams} datagrams, {IN_FLIGHT} in flight)")
        print(f"  {r['per_s']:8.0f} datagrams/s delivered whole ({r['delivered']}; "
              f"{r['fragments_passed_on']} fragments passed on, {r['slot_busy']} for a busy "
              f"slot)")
        print(f"  {r['switch_us']:8.0f} us switch CPU per datagram "
              f"({r['passes']} recirculation/loopback passes + 3 arrivals"
              f"{' + engine answer' if esp else ''})")
        if esp:
            print(f"  {r['engine_us']:8.1f} us engine CPU per datagram")
    return 0


if __name__ == "__main__":
    sys.exit(main())
