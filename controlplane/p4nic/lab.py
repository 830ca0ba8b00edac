"""A NIC on veth pairs in a network namespace (``make run``, integration tests).

The switch runs inside its own network namespace with one end of each veth
pair as its port; the other ends stay in the caller's namespace under
predictable names (``PREFIX0``, ``PREFIX1``, ...), so tools attach to them
directly. The P4Runtime server listens on a Unix socket: a filesystem path
is reachable from every network namespace, a loopback TCP port is not.

Ports other than wire ports get a larger MTU on both ends: deliveries carry
a p4nic header in front of a full-size frame (DESIGN.md section 4).
Everything started is stopped by its PID, and the namespace (with its veth
ends, which takes the peers with it) is deleted on :meth:`stop`.

A lab with a loopback pair (``loop=(OUT, IN)``) has one more veth pair whose
two ends are both switch ports inside the namespace (``swOUT``, ``swIN``):
fragment reassembly sends its emit passes out of one and receives them on the
other (``PortMap.loop``, p4nic.reasm). That pair has MTU 9000, and so have the
host-side ports (a reassembled datagram is up to 4096 bytes of IP payload).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

HOST_MTU = 1600
# the loopback pair, and host-side ports of a NIC that reassembles: an emit pass
# carries the datagram built so far, and a reassembled datagram (up to
# p4names.REASM_MAX_BYTES of IP payload) goes to the host behind its headers
# and a p4nic header; jumbo, as on the PTF runner's ports
REASM_MTU = 9000
OFFLOADS = ("tso", "gso", "gro", "tx", "rx")


class LabError(RuntimeError):
    pass


def run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(cmd)}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def netns_exists(name: str) -> bool:
    return os.path.exists(f"/run/netns/{name}")


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def supports_option(exe: str, option: str) -> bool:
    """Whether ``exe --help`` mentions ``option`` (target options vary across BMv2 builds)."""
    try:
        done = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in done.stdout + done.stderr


PRIORITY_QUEUES = 8


def priority_queues_of(target: str, exe: str) -> int:
    """Egress queues per port the switch will run with.

    The NIC wants 8 strict-priority queues (capture copies leave at priority 0,
    below regular traffic). simple_switch_grpc builds without the
    --priority-queues target option have one queue: then everything shares it
    and the driver must give regular traffic priority 0 (PortMap.priority_queues).
    """
    if target == "pybm" or supports_option(exe, "priority-queues"):
        return PRIORITY_QUEUES
    return 1


def switch_command(target: str, ports: dict[int, str], grpc_addr: str, cpu_port: int,
                   json_path: str | None = None, log_console: bool = False) -> list[str]:
    """Command line of pybm-switch or simple_switch_grpc (same shape)."""
    if target == "pybm":
        exe = os.path.join(os.path.dirname(sys.executable), "pybm-switch")
        if not os.path.exists(exe):
            exe = shutil.which("pybm-switch") or "pybm-switch"
    elif target == "bmv2":
        exe = shutil.which("simple_switch_grpc")
        if exe is None:
            raise LabError("TARGET=bmv2 needs simple_switch_grpc on PATH")
    else:
        raise LabError(f"unknown target '{target}' (pybm or bmv2)")
    cmd = [exe]
    cmd += [json_path] if json_path else ["--no-p4"]
    for number, iface in sorted(ports.items()):
        cmd += ["-i", f"{number}@{iface}"]
    if log_console:
        cmd.append("--log-console")
    # simple_switch_grpc takes these as target options after "--"; pybm-switch too
    cmd += ["--", "--grpc-server-addr", grpc_addr, "--cpu-port", str(cpu_port)]
    if priority_queues_of(target, exe) > 1:
        cmd += ["--priority-queues", str(PRIORITY_QUEUES)]
    else:
        print(f"lab: {exe} has no --priority-queues: capture copies share the regular "
              f"egress queue", file=sys.stderr)
    return cmd


def wait_unix_socket(path: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise LabError(f"the switch exited with status {proc.returncode} before serving "
                           f"P4Runtime")
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.05)
    raise LabError(f"nothing listens on {path} after {timeout} s")


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL, by PID."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
    except ProcessLookupError:
        pass


def _quiet(prefix: list[str], dev: str, mtu: int | None) -> None:
    """Up, with ``mtu`` (None: the default), IPv6 and offloads off."""
    # no IPv6 autoconfiguration chatter (router solicitations, MLD) on NIC ports
    run(prefix + ["sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1"], check=False)
    run(prefix + ["ip", "link", "set", dev, *([] if mtu is None else ["mtu", str(mtu)]), "up"])
    # frames as they are on the wire: no segmentation/checksum offloads
    off = [x for f in OFFLOADS for x in (f, "off")]
    run(prefix + ["ethtool", "-K", dev, *off], check=False)


@dataclass
class NicLab:
    """Namespace ``netns`` with switch ports ``swN``; outside ends ``PREFIXN``;
    ``loop``: two more switch ports, the two ends of one veth pair inside the
    namespace (no outside end). ``host_mtu``: MTU of the ports other than wire
    ports (default REASM_MTU with a loop pair, HOST_MTU without)."""
    netns: str = "p4nic-sw"
    prefix: str = "p4nic"
    ports: Iterable[int] = range(7)
    wire: Iterable[int] = (0, 1)
    loop: tuple[int, int] | None = None
    host_mtu: int | None = None
    target: str = "pybm"
    cpu_port: int = 255
    workdir: str = "/run/p4nic"
    log_console: bool = False
    procs: list[subprocess.Popen] = field(default_factory=list)
    switch: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.ports = list(self.ports)
        self.wire = list(self.wire)
        if len(self.prefix) + len(str(max(self.ports))) > 15:
            raise LabError(f"interface names '{self.prefix}N' exceed 15 characters")
        if self.loop is not None:
            self.loop = (int(self.loop[0]), int(self.loop[1]))
            if self.loop[0] == self.loop[1] or set(self.loop) & set(self.ports):
                raise LabError(f"loop ports {list(self.loop)}: two ports other than "
                               f"{self.ports}")
        if self.host_mtu is None:
            self.host_mtu = REASM_MTU if self.loop else HOST_MTU

    @property
    def switch_ports(self) -> list[int]:
        """Every port of the switch: the outside-facing ones and the loop pair."""
        return [*self.ports, *(self.loop or ())]

    def outside(self, port: int) -> str:
        """Interface name (caller's namespace) of switch port ``port``."""
        return f"{self.prefix}{port}"

    def inside(self, port: int) -> str:
        return f"sw{port}"

    @property
    def grpc_socket(self) -> str:
        return os.path.join(self.workdir, "p4rt.sock")

    @property
    def grpc_addr(self) -> str:
        return f"unix:{self.grpc_socket}"

    @property
    def switch_log(self) -> str:
        return os.path.join(self.workdir, "switch.log")

    # ---- topology ----------------------------------------------------------------------
    def remove_stale(self) -> list[str]:
        """Delete a namespace / interfaces with our names left by an earlier run."""
        removed = []
        if netns_exists(self.netns):
            run(["ip", "netns", "del", self.netns], check=False)
            removed.append(f"netns {self.netns}")
        for p in self.ports:
            if link_exists(self.outside(p)):
                run(["ip", "link", "del", self.outside(p)], check=False)
                removed.append(self.outside(p))
        return removed

    def create(self) -> None:
        if os.geteuid() != 0:
            raise LabError("creating network namespaces needs root")
        if netns_exists(self.netns):
            raise LabError(f"network namespace {self.netns} already exists")
        os.makedirs(self.workdir, exist_ok=True)
        run(["ip", "netns", "add", self.netns])
        ns = ["ip", "netns", "exec", self.netns]
        run(ns + ["ip", "link", "set", "lo", "up"])
        for p in self.ports:
            out, ins = self.outside(p), self.inside(p)
            run(["ip", "link", "add", out, "type", "veth", "peer", "name", ins,
                 "netns", self.netns])
            mtu = None if p in self.wire else self.host_mtu
            _quiet(ns, ins, mtu)
            _quiet([], out, mtu)
        if self.loop is not None:
            # both ends on the switch: what leaves on loop[0] comes back on loop[1]
            a, b = (self.inside(p) for p in self.loop)
            run(ns + ["ip", "link", "add", a, "type", "veth", "peer", "name", b])
            for dev in (a, b):
                _quiet(ns, dev, REASM_MTU)

    def start_switch(self, json_path: str | None = None, timeout: float = 30.0) -> None:
        if os.path.exists(self.grpc_socket):
            os.unlink(self.grpc_socket)
        cmd = ["ip", "netns", "exec", self.netns] + switch_command(
            self.target, {p: self.inside(p) for p in self.switch_ports}, self.grpc_addr,
            self.cpu_port, json_path, self.log_console)
        log = open(self.switch_log, "w")
        # ip netns exec execs the switch: this PID is the switch's
        # own session: Ctrl-C in the terminal reaches the runner, which stops the
        # driver before the switch
        self.switch = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.procs.append(self.switch)
        try:
            wait_unix_socket(self.grpc_socket, timeout, self.switch)
        except LabError as e:
            with open(self.switch_log) as f:
                tail = f.read()[-2000:]
            raise LabError(f"{e}\n--- {self.switch_log} ---\n{tail}") from None

    def spawn(self, cmd: list[str], log_path: str, env: dict | None = None) -> subprocess.Popen:
        """Start a helper process (e.g. p4nic start) that stop() will end."""
        log = open(log_path, "w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        """Stop what we started (newest first, by PID) and delete the namespace."""
        for proc in reversed(self.procs):
            stop_process(proc)
        self.procs.clear()
        if netns_exists(self.netns):
            run(["ip", "netns", "del", self.netns], check=False)
        for p in self.ports:
            if link_exists(self.outside(p)):
                run(["ip", "link", "del", self.outside(p)], check=False)
        if os.path.exists(self.grpc_socket):
            os.unlink(self.grpc_socket)

    def __enter__(self) -> NicLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
