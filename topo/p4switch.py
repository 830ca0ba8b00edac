"""The p4nic NIC as a Mininet switch, and what every topology in topo/ shares.

``P4NicSwitch`` is to p4nic what p4lang's tutorials' P4RuntimeSwitch is to
their exercises: a Mininet switch node that runs ``pybm-switch``
(``target="pybm"``) or ``simple_switch_grpc`` (``target="bmv2"``, from PATH)
with the node's Mininet links as its ports. Differences that matter here:

* the switch lives in a network namespace of its own (``inNamespace`` is
  forced on), so its interfaces never show up in the root namespace and two
  runs on one machine do not collide;
* port numbers start at 0 and follow the link order (or ``port1=`` of
  ``addLink``): NIC port N is ``swN`` on the switch, ``p4nicN`` on the peer
  (``nic_link``), as the README's port map says;
* a link from the switch to itself (``nic_loop``: ``addLink(nic, nic)``, one
  veth pair with both ends in the switch's namespace, ``sw8``/``sw9``) is the
  loopback pair fragment reassembly needs (``PortMap.loop``); ``start_daemon``
  puts it into the daemon's port map, and the host-side ports of such a NIC
  get MTU 9000 (a reassembled datagram is up to 4096 bytes of IP payload);
* P4Runtime is served on a Unix socket, ``WORKDIR/p4rt.sock`` (a filesystem
  path reaches the switch from every namespace; a TCP port would be in the
  switch's namespace only), the switch log is ``WORKDIR/switch.log``;
* the command line comes from ``p4nic.lab.switch_command`` and the queue count
  from ``p4nic.lab.priority_queues_of`` (the same as ``make run``), and the
  switch is stopped by its PID.

``running(topo)`` builds and starts a Mininet network (no controller, no
OpenFlow switch: the NIC is the only switch) and always stops it.
``start_daemon`` runs ``p4nic start`` on a Mininet host, and ``interactive``
is the ``python3 topo/NAME.py`` entry point: NIC, daemon, Mininet CLI.

Run as ``python3 topo/NAME.py`` under any python3: when p4nic or Mininet cannot
be imported, the script runs itself again with the project's venv.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")


def _ensure_imports() -> None:
    """p4nic and Mininet importable, or (a topology started as ``python3 topo/NAME.py``
    by another python) this script run again with the venv's python."""
    try:
        import mininet.net  # noqa: F401
        import p4nic.lab  # noqa: F401
    except ImportError as e:
        script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        in_venv = os.path.realpath(sys.prefix) == os.path.realpath(os.path.join(ROOT, ".venv"))
        if (os.path.dirname(script) == os.path.dirname(os.path.abspath(__file__))
                and os.path.exists(VENV_PYTHON) and not in_venv):
            os.execv(VENV_PYTHON, [VENV_PYTHON, script, *sys.argv[1:]])
        raise ImportError(f"topo: {e} (make setup installs Debian's mininet and the venv, "
                          f"which sees it)") from e


_ensure_imports()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from mininet.cli import CLI  # noqa: E402
from mininet.log import setLogLevel  # noqa: E402
from mininet.net import Mininet  # noqa: E402
from mininet.node import Host, Switch  # noqa: E402
from mininet.topo import Topo  # noqa: E402
from p4nic.control import ControlClient, DaemonNotRunning  # noqa: E402
from p4nic.lab import (  # noqa: E402
    HOST_MTU,
    REASM_MTU,
    LabError,
    priority_queues_of,
    stop_process,
    switch_command,
    wait_unix_socket,
)

NIC_MAC = "02:00:00:00:00:01"
WIRE_PORTS = (0, 1)
LOOP_PORTS = (8, 9)     # the loopback pair of the topologies that reassemble
WIRE_MTU = 1500
CPU_PORT = 255
OFFLOADS = ("tso", "gso", "gro", "tx", "rx", "sg", "rxvlan", "txvlan")
DEFAULT_JSON = os.path.join(ROOT, "out", "p4nic.json")
DEFAULT_P4INFO = os.path.join(ROOT, "out", "p4nic.p4info.txtpb")


class TopoError(RuntimeError):
    pass


def _no_ipv6(node: Host | Switch) -> None:
    """No router solicitations, MLD or DAD frames from this namespace's ports:
    for interfaces created from now on (default) and those already there (all)."""
    node.cmd("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")


def _quiet_intf(node: Host | Switch, name: str, mtu: int) -> None:
    """MTU, IPv6 off and no checksum/segmentation/VLAN offloads: frames cross as sent."""
    node.cmd(f"sysctl -qw net.ipv6.conf.{name}.disable_ipv6=1")
    node.cmd(f"ip link set {name} mtu {mtu}")
    for feature in OFFLOADS:     # one at a time: one a kernel cannot change keeps no other on
        node.cmd(f"ethtool -K {name} {feature} off 2>/dev/null")


class NicHost(Host):
    """A Mininet host with IPv6 off from the start (nothing unasked-for on NIC ports)."""

    def __init__(self, name: str, **params: object) -> None:
        super().__init__(name, **params)
        _no_ipv6(self)


class P4NicSwitch(Switch):
    """The NIC: pybm-switch or simple_switch_grpc on this node's Mininet links.

    Parameters (``Topo.addSwitch(name, cls=P4NicSwitch, ...)``):
    target: "pybm" or "bmv2"; json_path: BMv2 JSON loaded at start (None: the
    switch waits for the driver's SetForwardingPipelineConfig); workdir:
    directory of p4rt.sock and switch.log (log_file: the log elsewhere); mtu:
    one MTU for every port, or None for 1500 on the wire ports, REASM_MTU on a
    loopback pair and host_mtu on the others (both ends of each link; default
    REASM_MTU when the switch has a loopback pair, p4nic.lab.HOST_MTU when
    not); log_console: the switch logs every packet.
    """

    portBase = 0        # NIC port numbers start at 0 (OpenFlow switches start at 1)

    def __init__(self, name: str, target: str = "pybm", json_path: str | None = None,
                 workdir: str | None = None, mtu: int | None = None,
                 log_console: bool = False, cpu_port: int = CPU_PORT,
                 log_file: str | None = None, host_mtu: int | None = None,
                 **params: object) -> None:
        params["inNamespace"] = True
        super().__init__(name, **params)
        _no_ipv6(self)
        if target not in ("pybm", "bmv2"):
            raise TopoError(f"unknown target '{target}' (pybm or bmv2)")
        self.target = target
        self.json_path = json_path
        self.workdir = workdir or os.path.join("/run", "p4nic-mn", name)
        self.mtu = mtu
        self.host_mtu = host_mtu
        self.log_console = log_console
        self.cpu_port = cpu_port
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None

    def defaultDpid(self, dpid: str | None = None) -> str:  # noqa: N802  (Mininet's name)
        return dpid or "1"      # no OpenFlow; Switch wants a datapath id all the same

    @property
    def grpc_socket(self) -> str:
        return os.path.join(self.workdir, "p4rt.sock")

    @property
    def grpc_addr(self) -> str:
        return f"unix:{self.grpc_socket}"

    @property
    def switch_log(self) -> str:
        return self.log_file or os.path.join(self.workdir, "switch.log")

    @property
    def priority_queues(self) -> int:
        """Egress queues per port the switch runs with (PortMap.priority_queues)."""
        return priority_queues_of(self.target, shutil.which("simple_switch_grpc") or "")

    def port_map(self) -> dict[int, str]:
        """NIC port number -> this switch's interface name."""
        return {self.ports[intf]: intf.name for intf in self.intfList() if intf.name != "lo"}

    def peer(self, port: int) -> tuple[Host, str]:
        """The node and interface name at the other end of NIC port ``port``."""
        for intf in self.intfList():
            if intf.name != "lo" and self.ports[intf] == port and intf.link is not None:
                other = intf.link.intf2 if intf.link.intf1 is intf else intf.link.intf1
                return other.node, other.name
        raise TopoError(f"{self.name} has no link on port {port}")

    @property
    def loop(self) -> tuple[int, int] | None:
        """The loopback pair (out, in): the ports of a link from this switch to itself."""
        for intf in self.intfList():
            link = intf.link
            if (intf.name != "lo" and link is not None and link.intf1.node is self
                    and link.intf2.node is self):
                return self.ports[link.intf1], self.ports[link.intf2]
        return None

    def port_mtu(self, port: int) -> int:
        if self.mtu is not None:
            return self.mtu
        loop = self.loop
        if loop is not None and port in loop:
            return REASM_MTU
        if port in WIRE_PORTS:
            return WIRE_MTU
        return self.host_mtu or (REASM_MTU if loop is not None else HOST_MTU)

    def start(self, controllers: list) -> None:
        """Configure both ends of every port, start the switch, wait for P4Runtime."""
        if self.proc is not None and self.proc.poll() is None:
            return
        os.makedirs(self.workdir, exist_ok=True)
        ports = self.port_map()
        for port, name in ports.items():
            _quiet_intf(self, name, self.port_mtu(port))
            node, peer_name = self.peer(port)
            _quiet_intf(node, peer_name, self.port_mtu(port))
        if os.path.exists(self.grpc_socket):
            os.unlink(self.grpc_socket)
        cmd = switch_command(self.target, ports, self.grpc_addr, self.cpu_port,
                             self.json_path, self.log_console)
        with open(self.switch_log, "w") as log:
            # mnexec -a execs the switch in this node's namespace: the PID is the switch's
            self.proc = self.popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        try:
            wait_unix_socket(self.grpc_socket, 60, self.proc)
        except LabError as e:
            with open(self.switch_log) as f:
                tail = f.read()[-2000:]
            self.stop_switch()
            raise TopoError(f"{self.name}: {e}\n--- {self.switch_log} ---\n{tail}") from None

    def stop_switch(self) -> None:
        """Stop the switch process (by PID); the node and its links stay."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        if os.path.exists(self.grpc_socket):
            os.unlink(self.grpc_socket)

    def stop(self, deleteIntfs: bool = True) -> None:  # noqa: N803  (Mininet's name)
        self.stop_switch()
        super().stop(deleteIntfs)


def nic_link(topo: Topo, nic: str, node: str, port: int) -> None:
    """Link NIC port ``port`` (``swN``) to ``node`` (interface ``p4nicN`` there)."""
    topo.addLink(nic, node, port1=port, intfName1=f"sw{port}", intfName2=f"p4nic{port}")


def nic_loop(topo: Topo, nic: str, ports: tuple[int, int] = LOOP_PORTS) -> None:
    """The loopback pair: NIC port ``ports[0]`` (``swOUT``) linked to NIC port
    ``ports[1]`` (``swIN``), one veth pair in the switch's namespace; what the NIC
    sends out of the one it receives on the other."""
    out, in_ = ports
    topo.addLink(nic, nic, port1=out, port2=in_, intfName1=f"sw{out}", intfName2=f"sw{in_}")


def need_mininet() -> None:
    """Fail with the reason when Mininet cannot run here (tests call it: no skipping)."""
    if os.geteuid() != 0:
        raise TopoError("Mininet needs root")
    for tool in ("mnexec", "ip", "ethtool"):
        if shutil.which(tool) is None:
            raise TopoError(f"{tool} is not on PATH (make setup installs Debian's mininet)")


@contextlib.contextmanager
def running(topo: Topo) -> Iterator[Mininet]:
    """Build and start ``topo`` (no controller); stop the NIC switches, then Mininet."""
    need_mininet()
    net = Mininet(topo=topo, controller=None, build=False, autoSetMacs=False,
                  waitConnected=False)
    try:
        net.build()
        net.start()
        yield net
    finally:
        for sw in net.switches:
            if isinstance(sw, P4NicSwitch):
                sw.stop_switch()
        net.stop()


# ---- p4nic start on a Mininet host -------------------------------------------------------
@dataclass
class Daemon:
    """A ``p4nic start`` process; ``cli()`` runs a one-shot ``p4nic`` command against it."""
    proc: subprocess.Popen
    state_dir: str
    log: str

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "p4nic.cli", "--state-dir",
                               self.state_dir, *args], capture_output=True, text=True,
                              timeout=timeout)

    def json(self, *args: str) -> object:
        done = self.cli("--json", *args)
        if done.returncode != 0:
            raise TopoError(f"p4nic {' '.join(args)}: {done.stderr.strip()}")
        return json.loads(done.stdout)

    def stop(self) -> None:
        stop_process(self.proc, timeout=10)


def start_daemon(host: Host, nic: P4NicSwitch, state_dir: str, p4info: str, json_path: str,
                 extra: list[str] | tuple[str, ...] = (), timeout: float = 60,
                 config: dict | None = None) -> Daemon:
    """``p4nic start`` in ``host``'s namespace (its capture agent, if any, opens
    an interface there), connected to ``nic``; returns once its control socket
    answers ``status``. ``config``: more of the configuration file (flows, sas,
    triggers, ...; see p4nic.config)."""
    os.makedirs(state_dir, exist_ok=True)
    log = os.path.join(state_dir, "p4nic.log")
    cfg = os.path.join(state_dir, "mininet-nic.json")
    ports = {**(config or {}).get("ports", {}), "priority_queues": nic.priority_queues}
    if nic.loop is not None:
        ports.setdefault("loop", list(nic.loop))    # reassembly can be enabled
    with open(cfg, "w") as f:    # the queue count the switch runs with (flags have no option)
        json.dump({**(config or {}), "ports": ports}, f)
    cmd = [sys.executable, "-m", "p4nic.cli", "--state-dir", state_dir, "--grpc-addr",
           nic.grpc_addr, "--log-level", "info", "start", "--p4info", p4info,
           "--p4-json", json_path, "--mac", NIC_MAC, "--config", cfg, *extra]
    with open(log, "w") as f:
        proc = host.popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    daemon = Daemon(proc, state_dir, log)
    sock = os.path.join(state_dir, "p4nic.sock")
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            with open(log) as f:
                raise TopoError(f"p4nic start exited ({proc.returncode}):\n{f.read()[-3000:]}")
        try:
            with ControlClient(sock, timeout=10) as c:
                c.call("status")
            return daemon
        except (DaemonNotRunning, OSError):
            if time.monotonic() > deadline:
                daemon.stop()
                raise TopoError(f"p4nic start did not answer within {timeout:.0f} s") from None
            time.sleep(0.1)


# ---- python3 topo/NAME.py ------------------------------------------------------------------
def interactive_args(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--target", choices=("pybm", "bmv2"), default=os.environ.get("TARGET", "pybm"))
    ap.add_argument("--json", default=DEFAULT_JSON, help="BMv2 JSON of the NIC (make build)")
    ap.add_argument("--p4info", default=DEFAULT_P4INFO)
    ap.add_argument("--workdir", default="/run/p4nic",
                    help="P4Runtime socket, switch log, daemon state (p4nic commands find "
                         "the daemon there)")
    ap.add_argument("--log-console", action="store_true", help="switch logs every packet")
    return ap.parse_args()


def interactive(topo: Topo, args: argparse.Namespace, daemon_host: str,
                daemon_extra: list[str] | tuple[str, ...] = (), banner: str = "",
                configure: Callable[[Mininet], None] | None = None) -> int:
    """Start ``topo`` with the NIC named ``nic`` (then ``configure(net)``), ``p4nic
    start`` on ``daemon_host``, then the Mininet CLI; everything is stopped when the
    CLI exits."""
    for path in (args.json, args.p4info):
        if not os.path.isfile(path):
            print(f"topo: {path}: no such file (make build)", file=sys.stderr)
            return 1
    sock = os.path.join(args.workdir, "p4nic.sock")
    if os.path.exists(sock):
        try:
            with ControlClient(sock, timeout=2) as c:
                c.call("status")
            print(f"topo: a p4nic daemon already answers on {sock} (make run?); stop it or "
                  f"pass --workdir", file=sys.stderr)
            return 1
        except (DaemonNotRunning, OSError):
            pass
    # p4nic commands typed at the Mininet CLI find this daemon and the venv's tools
    os.environ["P4NIC_STATE_DIR"] = args.workdir
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    setLogLevel("info")
    with running(topo) as net:
        nic = net.get("nic")
        if configure is not None:
            configure(net)
        daemon = start_daemon(net.get(daemon_host), nic, args.workdir,
                              os.path.abspath(args.p4info), os.path.abspath(args.json),
                              daemon_extra)
        try:
            print(f"\nNIC {nic.name}: {nic.target}, P4Runtime {nic.grpc_addr}, switch log "
                  f"{nic.switch_log}\np4nic start on {daemon_host} (log {daemon.log})")
            for port, name in sorted(nic.port_map().items()):
                node, peer = nic.peer(port)
                print(f"  port {port}: {name} <-> {node.name}:{peer}")
            if banner:
                print(banner)
            CLI(net)
        finally:
            daemon.stop()
    return 0
