#!/usr/bin/env python3
"""Mininet topology ``bottleneck``: a sender behind a rate-limited link to the NIC.

    python3 topo/bottleneck.py [--target pybm|bmv2] [--bw MBIT]   # Mininet CLI, NIC + p4nic start

    +-------------+  p4nic0 -- sw0   +-------------------+  sw2 -- p4nic2  +------------------+
    | snd         |  TCLink bw=MBIT  | nic (P4NicSwitch) |  host stack     | rcv (NIC's host) |
    | 10.0.0.2/24 |  (htb, both      | wire port 0       |  sw3..sw6 --    | 10.0.0.1/24 on   |
    | packet      |   directions)    |                   |  p4nic3..p4nic6 | p4nic2, NIC MAC; |
    | trains      |                  |                   |                 | p4nic start,     |
    +-------------+                  +-------------------+                 | p4nic netprops   |
                                                                           +------------------+

The link between ``snd`` and the NIC's wire port 0 is the narrowest link of
the path: Mininet's ``TCLink`` with ``bw=`` puts an htb qdisc on both of its
ends (``tc qdisc add dev p4nic0 root handle 5:0 htb default 1``, class
``5:1 htb rate MBITMbit burst 15k``; this kernel has no netem, DESIGN.md
section 4, so no delay or loss is asked for). ``tc class show`` gives
``rate MBITMbit ceil MBITMbit burst 15Kb cburst 1600b``: tc makes the ceiling
equal to the rate with a bucket of about one frame, and an htb class sends
only while both buckets allow, so after an idle period at most one frame
leaves early on saved credit (the 15 kB of the rate bucket never do), and
after that frames leave spaced by their transmission time at MBIT Mbit/s. A
train of packets sent back to back much faster than that leaves spaced the
same way, which is what seed 002's dispersion method measures from the NIC's
arrival timestamps (the one early frame shortens a train of n frames by one
gap of n - 1: 0.5% for 200). ``link_rate`` reads the rate the kernel applies
back from ``tc``; ``set_rate`` changes it (Mininet's ``TCIntf.config(bw=)``
on both ends). Mininet logs tc's "quantum of class 50001 is big" as an error:
it concerns sharing between sibling classes, and this class has none.

The NIC stamps each frame with the time it arrived at the switch's port
(pybm-switch: the kernel's receive time of the frame, as simple_switch stamps
in its receive thread), not the time its pipeline gets to it: pybm-switch
spends about 85 us on a frame of this flow, longer than a 1514-byte frame
takes at 200 Mbit/s (60.6 us), so stamps taken at processing would measure
the switch, not the link.

``rcv`` is the NIC's host: its host-stack interface p4nic2 carries the NIC's
MAC and 10.0.0.1; the other host-side ports (3 consumer, 4 placement, 5
records, 6 capture) are its p4nic3..p4nic6. Each host reaches the other by a
host route (``ip route ... 10.0.0.x/32``) that protocol selection can give a
congestion control (``ip route replace ... congctl``). IPv6 is off and ARP
entries are static: the only frames on the link are the ones the hosts'
applications make.
"""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import p4switch  # noqa: E402, F401  (first: it makes Mininet importable, or runs this under the venv)
from mininet.link import TCLink  # noqa: E402
from p4switch import (  # noqa: E402
    NIC_MAC,
    Host,
    Mininet,
    NicHost,
    P4NicSwitch,
    Topo,
    TopoError,
    interactive,
    interactive_args,
)

SENDER, RECEIVER = "snd", "rcv"
SENDER_IP, RECEIVER_IP = "10.0.0.2", "10.0.0.1"
SENDER_MAC = "02:00:00:00:00:02"
HOST_SIDE = (2, 3, 4, 5, 6)
CONSUMER = 3
DEFAULT_BW = 50.0


class BottleneckTopo(Topo):
    """snd:p4nic0 -(bw Mbit/s)-> nic wire port 0; nic ports 2..6 -> rcv:p4nic2..p4nic6."""

    def build(self, target: str = "pybm", json_path: str | None = None,
              workdir: str | None = None, log_console: bool = False,
              bw: float = DEFAULT_BW) -> None:
        self.addSwitch("nic", cls=P4NicSwitch, target=target, json_path=json_path,
                       workdir=workdir, log_console=log_console)
        self.addHost(SENDER, cls=NicHost, ip=f"{SENDER_IP}/24", mac=SENDER_MAC)
        self.addHost(RECEIVER, cls=NicHost, ip=None)
        # the rate-limited link: NIC port 0 (sw0) <-> snd's p4nic0
        self.addLink("nic", SENDER, port1=0, intfName1="sw0", intfName2="p4nic0",
                     cls=TCLink, bw=bw, txo=False, rxo=False)
        for port in HOST_SIDE:
            self.addLink("nic", RECEIVER, port1=port, intfName1=f"sw{port}",
                         intfName2=f"p4nic{port}")


def configure(net: Mininet) -> None:
    """Addresses after start: rcv's host-stack interface carries the NIC's MAC and
    address; host routes to each other (what congctl is set on); static ARP both ways."""
    snd, rcv = net.get(SENDER), net.get(RECEIVER)
    rcv.cmd(f"ip link set p4nic2 address {NIC_MAC}")
    rcv.cmd(f"ip addr add {RECEIVER_IP}/24 dev p4nic2")
    rcv.cmd(f"ip route replace {SENDER_IP}/32 dev p4nic2 src {RECEIVER_IP}")
    snd.cmd(f"ip route replace {RECEIVER_IP}/32 dev p4nic0 src {SENDER_IP}")
    snd.cmd(f"ip neigh replace {RECEIVER_IP} lladdr {NIC_MAC} dev p4nic0 nud permanent")
    rcv.cmd(f"ip neigh replace {SENDER_IP} lladdr {SENDER_MAC} dev p4nic2 nud permanent")


_RATE = re.compile(r"\brate (\d+(?:\.\d+)?)([KMG]?)bit\b")
_UNIT = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9}


def parse_tc_rate(text: str) -> float | None:
    """The first ``rate NNNMbit`` of ``tc class show`` / ``tc qdisc show`` output, in bit/s."""
    m = _RATE.search(text)
    return float(m.group(1)) * _UNIT[m.group(2)] if m else None


def _link_ends(net: Mininet) -> list[tuple[Host, str]]:
    return [(net.get(SENDER), "p4nic0"), (net.get("nic"), "sw0")]


def link_rate(net: Mininet) -> tuple[float, float]:
    """The rates (bit/s) the kernel shapes the bottleneck link to: snd -> NIC, NIC -> snd."""
    rates = []
    for node, name in _link_ends(net):
        out = node.cmd(f"tc class show dev {name}")
        rate = parse_tc_rate(out)
        if rate is None:
            raise TopoError(f"no rate-limited class on {node.name}:{name}:\n{out}")
        rates.append(rate)
    return rates[0], rates[1]


def set_rate(net: Mininet, mbit: float) -> None:
    """Set the bottleneck link to ``mbit`` Mbit/s both ways (Mininet's TCLink ``bw=``).

    Checksum offloads stay off (TCIntf.config turns them on unless told): with tx
    checksum offload a veth hands the switch's packet socket TCP and UDP segments
    whose checksum is still to be filled in, and the receiver drops them.
    """
    for node, name in _link_ends(net):
        node.intf(name).config(bw=mbit, txo=False, rxo=False)


TRAFFIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "traffic.py")
BANNER = f"""
Packet trains over the bottleneck, stamped by the NIC (flow 1: UDP 5000 -> 5001, in_packet);
netprops estimates the capacity and sets the congestion control it picks on rcv's route:
  rcv p4nic flow add --src {SENDER_IP} --dst {RECEIVER_IP} --proto udp --sport 5000 \\
      --dport 5001 --flow-id 1 --state MONITOR --ts-mode in_packet
  rcv p4nic netprops --iface p4nic{CONSUMER} --flow-id 1 --count 2400 --timeout 30 \\
      --apply {SENDER_IP}/32 &
  snd python3 {TRAFFIC} trains --dst {RECEIVER_IP} --sport 5000 --dport 5001
  rcv ip route show {SENDER_IP}
  snd python3 {TRAFFIC} tcp-sink --bind {SENDER_IP} &
  rcv python3 {TRAFFIC} tcp-send --dst {SENDER_IP}        (congestion control and ss -tin)
  snd tc -s class show dev p4nic0                   (the shaper: rate, bursts, backlog)
  py __import__("bottleneck").set_rate(net, 200)    (another rate)"""


def main() -> int:
    import argparse
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--bw", type=float, default=DEFAULT_BW,
                       help="bottleneck rate in Mbit/s (default 50)")
    known, rest = extra.parse_known_args()
    sys.argv[1:] = rest
    args = interactive_args(__doc__.splitlines()[1])
    topo = BottleneckTopo(target=args.target, workdir=args.workdir,
                          log_console=args.log_console, bw=known.bw)
    return interactive(topo, args, daemon_host=RECEIVER, configure=configure,
                       banner=BANNER)


if __name__ == "__main__":
    sys.exit(main())
