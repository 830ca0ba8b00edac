"""pybm-switch benchmarks: packets per second, CPU microseconds per packet and
per-packet latency, in process, from pcap files (--use-files) and over veth.

Programs: two from the conformance corpus (compiled by the real p4c) and a
one-ternary-table forwarding program (bench/programs/l2_ternary.p4, compiled
here). Reference point: the real BMv2 (default build) spends about 70 us of
CPU per packet on a one-table program read from a pcap file on this kind of
2-core machine (about 25,000 packets/s).

Run: .venv/bin/python bench/bench_switch.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pybm.switch.engine import Switch  # noqa: E402
from pybm.switch.pcap import PcapWriter  # noqa: E402

CONFORMANCE = ROOT.parent / "shared" / "conformance" / "v1model"
VENV_BIN = Path(sys.executable).parent
BENCH_OUT = ROOT / "out" / "bench"

# Ethernet/IPv4/UDP frame for 10.1.0.101 (special-ops forwarding path).
SPECIAL_OPS_FRAME = bytes.fromhex(
    "525400123502080027f87bea08004500001c000100004011645c0a00020f0a010065"
    "16a100500008d278") + bytes(18)
L2_FRAME = bytes.fromhex("000000000002" "000000000001" "0800") + bytes(50)
TERNARY_FRAME = bytes.fromhex("01" "1111" "00" "00" "b0") + bytes(58)


def compile_l2_ternary() -> Path:
    """Compile the benchmark's own P4 program with pybm-p4c (or $P4C)."""
    BENCH_OUT.mkdir(parents=True, exist_ok=True)
    out = BENCH_OUT / "l2_ternary.json"
    p4c = os.environ.get("P4C", str(VENV_BIN / "pybm-p4c"))
    if p4c == "pybm-p4c":
        p4c = str(VENV_BIN / "pybm-p4c")
    subprocess.run([p4c, "--arch", "v1model", "-o", str(out), "--p4runtime-files",
                    str(BENCH_OUT / "l2_ternary.p4info.txtpb"),
                    str(ROOT / "bench" / "programs" / "l2_ternary.p4")], check=True)
    return out


def _special_ops_setup(sw: Switch) -> None:
    sw.table_add("ingress.ipv4_da_lpm", [(0x0A010065, 32)], "ingress.set_l2ptr", [0xE50B])
    sw.table_add("ingress.mac_da", [0xE50B], "ingress.set_bd_dmac_intf", [9, 0x0213570BE5FF, 2])
    sw.table_add("egress.send_frame", [9], "egress.rewrite_mac", [0x001122334455])


def programs() -> list[tuple[str, Path, object, bytes, int]]:
    """(name, json, setup, frame, expected egress port)."""
    return [
        ("special-ops (8 tables, conformance)", CONFORMANCE / "v1model-special-ops-bmv2.json",
         _special_ops_setup, SPECIAL_OPS_FRAME, 2),
        ("table-entries-ternary (conformance)", CONFORMANCE / "table-entries-ternary-bmv2.json",
         None, TERNARY_FRAME, 1),
        ("l2_ternary (one ternary table)", compile_l2_ternary(), None, L2_FRAME, 1),
    ]


def bench_in_process(path: Path, setup: object, frame: bytes, port: int, n: int) -> dict:
    sw = Switch()
    sw.load_config(path.read_bytes())
    if setup is not None:
        setup(sw)  # type: ignore[operator]
    got: list[int] = []
    sw.transmit = lambda p, d: got.append(p)
    for _ in range(200):  # warm-up
        sw.receive(0, frame)
    got.clear()
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        sw.receive(0, frame)
    cpu, wall = time.process_time() - t_cpu, time.perf_counter() - t_wall
    if len(got) != n or any(p != port for p in got[:10]):
        raise RuntimeError(f"{path.name}: expected {n} packets on port {port}, got {len(got)}")
    lat = []
    for _ in range(min(n, 2000)):
        t0 = time.perf_counter_ns()
        sw.receive(0, frame)
        lat.append((time.perf_counter_ns() - t0) / 1000)
    lat.sort()
    return {"pps": n / wall, "cpu_us": cpu / n * 1e6,
            "lat_p50_us": lat[len(lat) // 2], "lat_p99_us": lat[int(len(lat) * 0.99)]}


def _run_files(json_path: Path, frames: int, frame: bytes, workdir: Path) -> tuple[float, int]:
    w = PcapWriter(str(workdir / "p0_in.pcap"))
    for i in range(frames):
        w.write(frame, ts=1_700_000_000 + i * 1e-5)
    w.close()
    cmd = [str(VENV_BIN / "pybm-switch"), "--no-grpc", "--use-files", "0", "--exit-when-done",
           "--log-level", "error", "-i", "0@p0", "-i", "1@p1", str(json_path)]
    proc = subprocess.Popen(cmd, cwd=workdir)
    _pid, status, ru = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"pybm-switch --use-files exited with status {status}")
    out = (workdir / "p1_out.pcap").stat().st_size
    return ru.ru_utime + ru.ru_stime, out


def bench_files(json_path: Path, frame: bytes, n: int) -> dict:
    """Whole-process CPU per packet, like timing simple_switch --use-files."""
    with tempfile.TemporaryDirectory() as d0, tempfile.TemporaryDirectory() as d1:
        base, _ = _run_files(json_path, 0, frame, Path(d0))
        t0 = time.perf_counter()
        cpu, size = _run_files(json_path, n, frame, Path(d1))
        wall = time.perf_counter() - t0
    expected = 24 + n * (16 + len(frame))
    if size != expected:
        raise RuntimeError(f"--use-files wrote {size} bytes, expected {expected}")
    return {"cpu_us": (cpu - base) / n * 1e6, "startup_cpu_s": base, "wall_s": wall}


VETH_DRIVER = ROOT / "bench" / "veth_driver.py"


def bench_veth(json_path: Path, frame: bytes, n: int) -> dict | None:
    """Switch process on veth pairs in a private network namespace."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        return None
    ns = f"pybm-bench-{os.getpid()}"
    sw = None
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        for a, b in (("bsw0", "bext0"), ("bsw1", "bext1")):
            subprocess.run(["ip", "-n", ns, "link", "add", a, "type", "veth", "peer", "name", b],
                           check=True)
            for ifc in (a, b):
                subprocess.run(["ip", "-n", ns, "link", "set", ifc, "up"], check=True)
                if shutil.which("ethtool"):
                    subprocess.run(["ip", "netns", "exec", ns, "ethtool", "-K", ifc, "tx", "off",
                                    "rx", "off", "tso", "off", "gso", "off", "gro", "off"],
                                   capture_output=True)
        sw = subprocess.Popen(["ip", "netns", "exec", ns, str(VENV_BIN / "pybm-switch"),
                               "--no-grpc", "--log-level", "error", "-i", "0@bsw0", "-i", "1@bsw1",
                               str(json_path)])
        time.sleep(1.5)
        res = subprocess.run(["ip", "netns", "exec", ns, sys.executable, str(VETH_DRIVER),
                              "--tx", "bext0", "--rx", "bext1", "--frame", frame.hex(), "-n", str(n),
                              "--switch-pid", str(sw.pid)],
                             capture_output=True, text=True, timeout=600)
        if res.returncode != 0:
            raise RuntimeError(f"veth driver failed: {res.stderr.strip()}")
        return json.loads(res.stdout)
    finally:
        if sw is not None:
            sw.terminate()
            try:
                sw.wait(5)
            except subprocess.TimeoutExpired:
                sw.kill()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="pybm-switch benchmarks")
    ap.add_argument("--quick", action="store_true", help="fewer packets")
    args = ap.parse_args(argv)
    n = 5000 if args.quick else 30000
    print("pybm-switch benchmarks (CPU us/packet: lower is better; real BMv2 ~70 us/packet "
          "on a one-table program from pcap)")
    print(f"{'program':40} {'mode':12} {'pkts/s':>10} {'CPU us/pkt':>11} {'lat p50 us':>11} "
          f"{'lat p99 us':>11}")
    progs = programs()
    for name, path, setup, frame, port in progs:
        r = bench_in_process(path, setup, frame, port, n)
        print(f"{name:40} {'in-process':12} {r['pps']:10.0f} {r['cpu_us']:11.1f} "
              f"{r['lat_p50_us']:11.1f} {r['lat_p99_us']:11.1f}")
    l2 = progs[-1]
    r = bench_files(l2[1], l2[3], n)
    print(f"{l2[0]:40} {'--use-files':12} {'':>10} {r['cpu_us']:11.1f} {'':>11} {'':>11}"
          f"   (process start-up {r['startup_cpu_s']:.2f} s CPU excluded)")
    v = bench_veth(l2[1], l2[3], min(n, 20000))
    if v is None:
        print(f"{l2[0]:40} {'veth':12} (skipped: needs root and iproute2)")
    else:
        print(f"{l2[0]:40} {'veth':12} {v['pps']:10.0f} {v['cpu_us']:11.1f} "
              f"{v['lat_p50_us']:11.1f} {v['lat_p99_us']:11.1f}   "
              f"({v['received']}/{v['sent']} delivered)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
