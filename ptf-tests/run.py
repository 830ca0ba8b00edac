#!/usr/bin/env python3
"""Run the p4nic PTF suite against a switch in a private network namespace.

    ptf-tests/run.py --target pybm|bmv2 --p4c pybm-p4c|p4c-bm2-ss \
        --json out/p4nic.json --p4info out/p4nic.p4info.txtpb [TEST ...]

What it does, in order (always undone, whatever happens in between):

1. creates a network namespace with a unique name (p4nic-ptf-<pid>-<rand>),
   IPv6 off (no router solicitations or neighbour discovery on the ports);
2. creates one veth pair per NIC port 0..6 inside it: ``swN`` is the switch's
   port N, ``tpN`` the test's; MTU 9000, checksum/segmentation/VLAN offloads
   off on both ends, so frames cross byte for byte;
3. starts the switch inside the namespace with its P4Runtime server on
   127.0.0.1 (the namespace's own loopback, so nothing collides with
   switches outside): ``pybm-switch`` from the venv (TARGET=pybm) or
   ``simple_switch_grpc --no-p4`` from PATH (TARGET=bmv2);
4. runs ``ptf`` inside the namespace on the test ends; the tests connect
   p4nic's NicDriver, load the pipeline and program the NIC themselves;
5. stops the switch (by its PID) and deletes the namespace (which deletes
   the veths).

Exit status: PTF's (non-zero when a test failed or errored, or when a test
was skipped: --fail-skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

from p4nic.lab import priority_queues_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_DIR = os.path.join(ROOT, "ptf-tests")
NUM_PORTS = 8            # NIC ports 0..7 (PortMap: wire 0,1; host 2,3; placement 4; records 5;
                         # capture 6; crypto engine 7)
PTF_PORTS = 7            # PTF drives ports 0..6; port 7 is the crypto engine's
CRYPTO_PORT = 7
LOOP_PORTS = (8, 9)      # one veth pair, both ends on the switch: the reassembly's
                         # loopback (a frame out of 8 comes back in on 9)
GRPC_PORT = 9559
CPU_PORT = 255
MTU = 9000
OFFLOADS = ("rx", "tx", "sg", "tso", "gso", "gro", "lro", "rxvlan", "txvlan",
            "rx-vlan-stag-hw-parse", "tx-vlan-stag-hw-insert")


def log(msg: str) -> None:
    print(f"[ptf-run] {msg}", flush=True)


def run(cmd: list[str], check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stdout.strip()}")
    if res.returncode != 0 and not quiet:
        log(f"warning: {' '.join(cmd)}: {res.stdout.strip()}")
    return res


class Namespace:
    """A network namespace with NUM_PORTS veth pairs; delete() undoes everything."""

    def __init__(self) -> None:
        self.name = f"p4nic-ptf-{os.getpid()}-{secrets.token_hex(3)}"
        self.created = False

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def create(self) -> None:
        run(["ip", "netns", "add", self.name])
        self.created = True
        ns = self.exec_prefix()
        run(ns + ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                  "net.ipv6.conf.default.disable_ipv6=1"])
        run(["ip", "-n", self.name, "link", "set", "lo", "up"])
        pairs = [(f"sw{p}", f"tp{p}") for p in range(NUM_PORTS)]
        pairs.append(tuple(f"sw{p}" for p in LOOP_PORTS))
        for sw, tp in pairs:
            run(["ip", "-n", self.name, "link", "add", sw, "type", "veth", "peer", "name", tp])
            for ifc in (sw, tp):
                run(["ip", "-n", self.name, "link", "set", ifc, "mtu", str(MTU)])
                # one feature at a time: a feature a kernel cannot change must
                # not keep the others on
                for feature in OFFLOADS:
                    run(ns + ["ethtool", "-K", ifc, feature, "off"], check=False, quiet=True)
                run(["ip", "-n", self.name, "link", "set", ifc, "up"])

    def delete(self) -> None:
        if self.created:
            run(["ip", "netns", "delete", self.name], check=False)
            self.created = False


def switch_command(args: argparse.Namespace) -> list[str]:
    ports: list[str] = []
    for p in (*range(NUM_PORTS), *LOOP_PORTS):
        ports += ["-i", f"{p}@sw{p}"]
    addr = f"127.0.0.1:{GRPC_PORT}"
    if args.target == "pybm":
        exe = os.path.join(ROOT, ".venv", "bin", "pybm-switch")
        if not os.path.exists(exe):
            exe = shutil.which("pybm-switch") or exe
        return [exe, args.json, *ports, "--grpc-addr", addr, "--cpu-port", str(CPU_PORT),
                "--priority-queues", str(priority_queues(args))]
    exe = shutil.which("simple_switch_grpc")
    if exe is None:
        raise SystemExit("TARGET=bmv2 needs simple_switch_grpc on PATH (behavioral-model "
                         "built with --with-pi); it was not found. Use TARGET=pybm for the "
                         "embedded switch.")
    cmd = [exe, "--no-p4", *ports, "--", "--grpc-server-addr", addr, "--cpu-port", str(CPU_PORT)]
    if priority_queues(args) > 1:
        cmd += ["--priority-queues", str(priority_queues(args))]
    return cmd


def crypto_engine_command(iface: str) -> list[str]:
    """The lookaside crypto engine (seed 004) on the outside end of the NIC's crypto port."""
    exe = os.path.join(ROOT, ".venv", "bin", "p4nic")
    if not os.path.exists(exe):
        exe = shutil.which("p4nic") or exe
    return [exe, "crypto-engine", "--iface", iface]


def priority_queues(args: argparse.Namespace) -> int:
    """8 strict-priority queues where the switch has the option (pybm-switch,
    simple_switch builds with --priority-queues), else 1: the driver then gives
    regular traffic priority 0 so that nothing is out of range."""
    exe = "pybm-switch" if args.target == "pybm" else (shutil.which("simple_switch_grpc") or "")
    return priority_queues_of(args.target, exe)


def wait_for_grpc(ns: Namespace, proc: subprocess.Popen, timeout: float) -> None:
    """Until the switch accepts TCP connections on its gRPC port (or dies)."""
    probe = ("import socket,sys\n"
             "try:\n"
             f"    socket.create_connection(('127.0.0.1', {GRPC_PORT}), 1).close()\n"
             "except OSError:\n"
             "    sys.exit(1)\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the switch exited with status {proc.returncode} before "
                               f"serving P4Runtime")
        if run(ns.exec_prefix() + [sys.executable, "-c", probe], check=False,
               quiet=True).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the switch did not serve P4Runtime on 127.0.0.1:{GRPC_PORT} "
                       f"within {timeout:.0f} s")


def stop(proc: subprocess.Popen | None, what: str) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log(f"{what} (pid {proc.pid}) ignored SIGTERM; killing it")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def ptf_command(args: argparse.Namespace, grpc_addr: str, ifaces: dict[int, str],
                queues: int) -> list[str]:
    """The ``ptf`` command line: the suite in TEST_DIR on ``ifaces`` (port -> interface),
    told where P4Runtime is and what was built; skipped tests fail (--fail-skipped).
    ``args`` carries p4info, json, target, p4c, log_dir, timeout, negative_timeout,
    ptf_arg and tests (this script's options; topo/ptf.py has the same)."""
    params = {"grpc_addr": grpc_addr, "p4info": args.p4info,
              "json": args.json, "target": args.target, "p4c": args.p4c,
              "artifacts": os.path.abspath(args.log_dir), "num_ports": len(ifaces),
              "priority_queues": queues}
    test_params = ";".join(f"{k}={v!r}" for k, v in params.items())
    ptf = [os.path.join(ROOT, ".venv", "bin", "ptf")]
    if not os.path.exists(ptf[0]):
        ptf = [sys.executable, shutil.which("ptf") or "ptf"]
    cmd = ptf + [
        "--test-dir", TEST_DIR,
        "--pypath", os.path.join(ROOT, "controlplane"),
        "--pypath", TEST_DIR,
        "--log-dir", os.path.join(os.path.abspath(args.log_dir), "ptf-logs"),
        "--test-params", test_params,
        "--default-timeout", str(args.timeout),
        "--default-negative-timeout", str(args.negative_timeout),
        "--socket-recv-size", "16384",
        "--fail-skipped",
        "--test-case-timeout", "300",
    ]
    for p, iface in sorted(ifaces.items()):
        cmd += ["-i", f"{p}@{iface}"]
    return cmd + args.ptf_arg + args.tests


def built_by(json_path: str) -> str:
    """Which compiler wrote a BMv2 JSON: 'pybm-p4c' or 'p4c-bm2-ss' (from __meta__)."""
    with open(json_path) as f:
        meta = json.load(f).get("__meta__", {})
    return "pybm-p4c" if "pybm" in str(meta.get("compiler", "")) else "p4c-bm2-ss"


def compiler_name(p4c: str) -> str:
    return "pybm-p4c" if "pybm" in os.path.basename(p4c) else "p4c-bm2-ss"


def add_run_arguments(ap: argparse.ArgumentParser) -> None:
    """Options shared with topo/ptf.py (the same suite through Mininet)."""
    ap.add_argument("--target", choices=("pybm", "bmv2"), default="pybm")
    ap.add_argument("--p4c", default="pybm-p4c",
                    help="compiler that built --json/--p4info (reported to the tests)")
    ap.add_argument("--json", default=os.path.join(ROOT, "out", "p4nic.json"))
    ap.add_argument("--p4info", default=os.path.join(ROOT, "out", "p4nic.p4info.txtpb"))
    ap.add_argument("--log-dir", default=os.path.join(ROOT, "out", "ptf"),
                    help="switch log, PTF logs (ptf-logs/) and test artefacts (pcapng)")
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="PTF wait for an expected packet (upper bound, not a timing check)")
    ap.add_argument("--negative-timeout", type=float, default=0.5,
                    help="PTF wait before concluding a packet did not come")
    ap.add_argument("--ptf-arg", action="append", default=[],
                    help="extra argument passed to ptf (repeatable)")
    ap.add_argument("tests", nargs="*", help="PTF test specs (default: all)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_arguments(ap)
    ap.add_argument("--check-compiler", action="store_true",
                    help="only check that --json was built by --p4c (exit 0) or not (exit 1)")
    args = ap.parse_args(argv)

    if args.check_compiler:
        try:
            return 0 if built_by(args.json) == compiler_name(args.p4c) else 1
        except (OSError, ValueError):
            return 1

    if os.geteuid() != 0:
        raise SystemExit("ptf-tests/run.py needs root (network namespaces, raw sockets)")
    args.json = os.path.abspath(args.json)
    args.p4info = os.path.abspath(args.p4info)
    for path in (args.json, args.p4info):
        if not os.path.exists(path):
            raise SystemExit(f"{path} does not exist: run `make build` first")
    if built_by(args.json) != compiler_name(args.p4c):
        raise SystemExit(f"{args.json} was compiled by {built_by(args.json)}, not "
                         f"{compiler_name(args.p4c)}: rebuild it (make ptf P4C=... does)")
    os.makedirs(args.log_dir, exist_ok=True)
    cmd = switch_command(args)

    # SIGTERM (CI cancelling the job) unwinds like Ctrl-C: the finally block below
    # stops what was started and deletes the namespace
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    ns = Namespace()
    switch: subprocess.Popen | None = None
    engine: subprocess.Popen | None = None
    ptf_proc: subprocess.Popen | None = None
    switch_log = None
    engine_log = None
    try:
        ns.create()
        log(f"namespace {ns.name}: ports " + ", ".join(
            f"{p}=sw{p}/tp{p}" for p in range(NUM_PORTS))
            + f", loopback {LOOP_PORTS[0]}=sw{LOOP_PORTS[0]}/sw{LOOP_PORTS[1]}={LOOP_PORTS[1]}")
        switch_log = open(os.path.join(args.log_dir, f"switch-{args.target}.log"), "w")
        # `ip netns exec` execs the command: the child's PID is the switch's PID
        switch = subprocess.Popen(ns.exec_prefix() + cmd, stdout=switch_log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        log(f"started {os.path.basename(cmd[0])} (pid {switch.pid}), log in "
            f"{switch_log.name}")
        wait_for_grpc(ns, switch, timeout=60)
        engine_log = open(os.path.join(args.log_dir, "crypto-engine.log"), "w")
        engine = subprocess.Popen(ns.exec_prefix() + crypto_engine_command(f"tp{CRYPTO_PORT}"),
                                  stdout=engine_log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        log(f"started the crypto engine on tp{CRYPTO_PORT} (pid {engine.pid})")

        ptf_cmd = ns.exec_prefix() + ptf_command(
            args, f"127.0.0.1:{GRPC_PORT}", {p: f"tp{p}" for p in range(PTF_PORTS)},
            priority_queues(args))
        log("running: " + " ".join(ptf_cmd[len(ns.exec_prefix()):]))
        ptf_proc = subprocess.Popen(ptf_cmd)
        rc = ptf_proc.wait()
        if switch.poll() is not None:
            log(f"the switch exited during the tests (status {switch.returncode})")
            rc = rc or 1
        log(f"ptf exit status {rc}")
        return rc
    finally:
        stop(ptf_proc, "ptf")
        stop(engine, "crypto engine")
        stop(switch, "switch")
        for f in (switch_log, engine_log):
            if f is not None:
                f.close()
        ns.delete()
        log(f"switch stopped, namespace {ns.name} deleted")


if __name__ == "__main__":
    sys.exit(main())
