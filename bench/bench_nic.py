"""The NIC program on pybm-switch and on the real simple_switch_grpc, side by side.

Both switches run out/p4nic.json (whichever compiler built it) reading the same
pcap file (``--use-files``): TCP segments of one MONITOR flow (timestamp in
front, a NIC ACK every 2 segments), programmed by NicDriver over P4Runtime
while the switch waits to start reading. Once with plain segments, once with
PSH on every segment (one psh_notify_t digest per packet), and that once more
with the driver asking for digests one at a time (max_list_size 1, as before
digests were batched) to show what batching saves. Printed: switch CPU per
packet (the switch process's CPU while it processes, from /proc), digests the
driver received, and the pybm/real ratio. The real switch is measured only
where simple_switch_grpc is on PATH (`source /opt/p4/ENV.sh`).

Run: .venv/bin/python bench/bench_nic.py [--packets N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "controlplane"))

from benchutil import proc_cpu  # noqa: E402
from p4nic import p4names as n  # noqa: E402
from p4nic.driver import PSH_DIGEST_BATCH, Flow, NicDriver, PortMap  # noqa: E402
from scapy.all import IP, TCP, Ether, raw  # noqa: E402

from pybm.switch.pcap import PcapWriter  # noqa: E402

VENV_BIN = Path(sys.executable).parent
NIC_MAC, PEER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
WAIT = 8          # seconds the switch waits before reading its input files (an integer: BMv2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_input(workdir: Path, packets: int, psh: bool) -> None:
    w = PcapWriter(str(workdir / "p0_in.pcap"))
    for i in range(packets):
        seg = raw(Ether(src=PEER_MAC, dst=NIC_MAC) / IP(src="10.0.0.2", dst="10.0.0.1")
                  / TCP(sport=40000, dport=80, seq=1000 + 100 * i, ack=1,
                        flags="PA" if psh else "A") / (b"d" * 100))
        w.write(seg, ts=1_700_000_000 + i * 1e-5)
    w.close()
    for p in range(1, 8):
        PcapWriter(str(workdir / f"p{p}_in.pcap")).close()


def switch_command(target: str, addr: str, json_path: str) -> list[str]:
    ports = [a for p in range(8) for a in ("-i", f"{p}@p{p}")]
    if target == "pybm":
        return [str(VENV_BIN / "pybm-switch"), json_path, *ports, "--use-files", str(WAIT),
                "--grpc-addr", addr, "--cpu-port", "255", "--log-level", "error"]
    return ["simple_switch_grpc", "--no-p4", "--use-files", str(WAIT), *ports, "--",
            "--grpc-server-addr", addr, "--cpu-port", "255"]


def run_one(target: str, json_path: str, p4info: str, packets: int, psh: bool,
            batch: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="p4nic-bench-nic-") as d:
        work = Path(d)
        write_input(work, packets, psh)
        addr = f"127.0.0.1:{free_port()}"
        log = open(work / "switch.log", "w")
        sw = subprocess.Popen(switch_command(target, addr, json_path), cwd=work, stdout=log,
                              stderr=subprocess.STDOUT)
        start = time.monotonic()
        drv = NicDriver(grpc_addr=addr)
        try:
            drv.connect(timeout=WAIT)
            drv.load_pipeline(p4info, json_path)
            drv.setup(PortMap(), nic_macs=[NIC_MAC], clock=False,
                      psh_batch=PSH_DIGEST_BATCH if batch else (1, 0))
            h = drv.add_flow(Flow(src="10.0.0.2", dst="10.0.0.1", proto=6, sport=40000,
                                  dport=80, flow_id=1, ts_mode="in_packet", ack_every=2))
            digests = []
            drv.on_psh(lambda fid, seq, ts: digests.append(seq))
            cpu0 = proc_cpu(sw.pid)
            if time.monotonic() - start > WAIT - 0.5:
                raise RuntimeError(f"programming took longer than the switch's {WAIT} s wait")
            deadline = time.monotonic() + 600
            got = 0
            while time.monotonic() < deadline:
                time.sleep(0.5)
                got = drv.flow_counters(h)[0]
                if got >= packets and (not psh or len(digests) >= packets):
                    break
            cpu = proc_cpu(sw.pid) - cpu0
            if got < packets:
                raise RuntimeError(f"{target}: only {got} of {packets} packets processed")
            return {"cpu_us": cpu / packets * 1e6, "digests": len(digests)}
        finally:
            drv.close()
            sw.terminate()
            try:
                sw.wait(10)
            except subprocess.TimeoutExpired:
                sw.kill()
                sw.wait()
            log.close()


def compile_figures(compiler: str) -> tuple[float, float]:
    """(wall seconds, peak MB) of one compile of p4src/p4nic.p4."""
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        proc = subprocess.Popen([compiler, "--arch", "v1model", "-I", str(ROOT / "p4src"),
                                 "-o", f"{d}/p.json", "--p4runtime-files", f"{d}/p.p4info.txtpb",
                                 str(ROOT / "p4src" / "p4nic.p4")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _pid, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if status != 0:
            raise RuntimeError(f"{compiler} failed on p4src/p4nic.p4")
        return wall, ru.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="NIC program: pybm-switch vs simple_switch_grpc")
    ap.add_argument("--packets", type=int, default=3000)
    args = ap.parse_args(argv)
    json_path, p4info = str(ROOT / "out" / "p4nic.json"), str(ROOT / "out" / "p4nic.p4info.txtpb")
    if not os.path.exists(json_path):
        print("nic bench: run `make build` first")
        return 1
    targets = ["pybm"] + (["bmv2"] if shutil.which("simple_switch_grpc") else [])
    print(f"NIC program ({json_path}), {args.packets} TCP segments of a MONITOR flow, "
          f"timestamp in front, ACK every 2, from pcap files; switch CPU per packet")
    if "bmv2" not in targets:
        print("  (simple_switch_grpc is not on PATH: pybm-switch only; "
              "`source /opt/p4/ENV.sh` where the real BMv2 is installed)")
    results: dict[tuple[str, str], dict[str, float]] = {}
    cases = (("no PSH", False, True), ("PSH on every segment, batched digests", True, True),
             ("PSH on every segment, one digest per list", True, False))
    for label, psh, batch in cases:
        for t in targets:
            r = run_one(t, json_path, p4info, args.packets, psh, batch)
            results[(label, t)] = r
        line = f"  {label:44}"
        for t in targets:
            r = results[(label, t)]
            name = "pybm-switch" if t == "pybm" else "simple_switch_grpc"
            line += f"  {name} {r['cpu_us']:7.1f} us"
            if psh:
                line += f" ({r['digests']} digests)"
        if len(targets) == 2:
            ratio = results[(label, "bmv2")]["cpu_us"] / results[(label, "pybm")]["cpu_us"]
            line += f"  real/pybm {ratio:.1f}x"
        print(line, flush=True)
    _ = n
    real = shutil.which("p4c-bm2-ss")
    pw, pm = compile_figures(str(VENV_BIN / "pybm-p4c"))
    line = f"compile p4src/p4nic.p4: pybm-p4c {pw:.2f} s, {pm:.0f} MB peak"
    if real:
        rw, rm = compile_figures(real)
        line += f"; p4c-bm2-ss {rw:.2f} s, {rm:.0f} MB peak (pybm/real time {pw / rw:.2f}x)"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
