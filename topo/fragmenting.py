#!/usr/bin/env python3
"""Mininet topology ``fragmenting``: a sender behind a router whose link to the NIC has a small MTU.

    python3 topo/fragmenting.py [--target pybm|bmv2]     # Mininet CLI, NIC + p4nic start running

    snd 10.0.1.2/24 --(MTU 9000)-- rtr 10.0.1.1/24, ip_forward
                                   rtr 10.0.0.254/24 on p4nic0, MTU 576 --> nic wire port 0 (sw0)
    nic host stack sw2 -- p4nic2 rcv 10.0.0.1/24 with the NIC's MAC; p4nic start
    nic sw3..sw7 -- rcv p4nic3..p4nic7 (consumer, placement, records, capture, crypto engine)
    nic sw8 -- sw9: the loopback pair (a link from the NIC to itself)

The sender's datagrams (DF clear) fit its own link; the router's kernel
fragments them for its 576-byte egress link towards the NIC. The NIC is the
receiver's NIC: fragments (first fragments of unknown flows and non-first
ones, which carry no transport header) go to the host-stack port unchanged,
and the receiver's kernel reassembles them, unless the NIC is told to
(``rcv p4nic reasm enable icmp,udp``: the daemon's port map has the loopback
pair, and the host-side ports have MTU 9000, so whole datagrams reach p4nic2).
Its answers leave through the NIC
(host stack -> wire port 0, direction tx); its route back to the sender has
the same small MTU, so they are fragmented on the way out as well. IPv6 is off
and ARP entries on the NIC's link are static.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from p4switch import (  # noqa: E402
    NIC_MAC,
    Mininet,
    NicHost,
    P4NicSwitch,
    Topo,
    _quiet_intf,
    interactive,
    interactive_args,
    nic_link,
    nic_loop,
)

SENDER, ROUTER, RECEIVER = "snd", "rtr", "rcv"
SENDER_IP, ROUTER_IN_IP, ROUTER_OUT_IP, RECEIVER_IP = "10.0.1.2", "10.0.1.1", "10.0.0.254", \
    "10.0.0.1"
HOST_SIDE = (2, 3, 4, 5, 6, 7)   # 7: the crypto engine, in rcv (p4nic start --crypto-iface)
SMALL_MTU = 576
BIG_MTU = 9000


class FragmentingTopo(Topo):
    """snd -- rtr:p4nic0 -> nic wire port 0; nic ports 2..6 -> rcv:p4nic2..p4nic6; nic
    ports 8 <-> 9 (the loopback pair: the NIC can reassemble)."""

    def build(self, target: str = "pybm", json_path: str | None = None,
              workdir: str | None = None, log_console: bool = False) -> None:
        self.addSwitch("nic", cls=P4NicSwitch, target=target, json_path=json_path,
                       workdir=workdir, log_console=log_console)
        for name in (SENDER, ROUTER, RECEIVER):
            self.addHost(name, cls=NicHost, ip=None)
        self.addLink(SENDER, ROUTER, intfName1="snd-eth0", intfName2="rtr-eth0")
        nic_link(self, "nic", ROUTER, 0)
        for port in HOST_SIDE:
            nic_link(self, "nic", RECEIVER, port)
        nic_loop(self, "nic")


def configure(net: Mininet, mtu: int = SMALL_MTU) -> None:
    """Addresses, routes, forwarding and the small MTU (after start: the NIC switch
    sets its links' MTUs when it starts)."""
    snd, rtr, rcv = net.get(SENDER), net.get(ROUTER), net.get(RECEIVER)
    _quiet_intf(snd, "snd-eth0", BIG_MTU)
    _quiet_intf(rtr, "rtr-eth0", BIG_MTU)
    snd.cmd(f"ip addr add {SENDER_IP}/24 dev snd-eth0")
    snd.cmd(f"ip route add default via {ROUTER_IN_IP}")
    rtr.cmd(f"ip addr add {ROUTER_IN_IP}/24 dev rtr-eth0")
    rtr.cmd(f"ip link set p4nic0 mtu {mtu}")
    rtr.cmd(f"ip addr add {ROUTER_OUT_IP}/24 dev p4nic0")
    rtr.cmd("sysctl -qw net.ipv4.ip_forward=1")
    rtr.cmd(f"ip neigh replace {RECEIVER_IP} lladdr {NIC_MAC} dev p4nic0 nud permanent")
    router_mac = rtr.cmd("cat /sys/class/net/p4nic0/address").strip()
    rcv.cmd(f"ip link set p4nic2 address {NIC_MAC}")
    rcv.cmd(f"ip addr add {RECEIVER_IP}/24 dev p4nic2")
    rcv.cmd(f"ip route add {SENDER_IP.rsplit('.', 1)[0]}.0/24 via {ROUTER_OUT_IP} mtu lock {mtu}")
    rcv.cmd(f"ip neigh replace {ROUTER_OUT_IP} lladdr {router_mac} dev p4nic2 nud permanent")


BANNER = f"""
Datagrams from snd are fragmented by rtr (MTU {SMALL_MTU} towards the NIC) and reassembled by rcv:
  snd ping -c 3 -M dont -s 2000 {RECEIVER_IP}
  rcv tshark -c 10 -i p4nic2 -f ip -T fields -e ip.id -e ip.flags.mf -e ip.frag_offset -e ip.len &
  host p4nic counters
and by the NIC, so that rcv gets whole datagrams:
  host p4nic reasm enable icmp,udp
  snd ping -c 3 -M dont -s 2000 {RECEIVER_IP}
  host p4nic reasm counters"""


def main() -> int:
    args = interactive_args(__doc__.splitlines()[1])
    topo = FragmentingTopo(target=args.target, workdir=args.workdir,
                           log_console=args.log_console)
    return interactive(topo, args, daemon_host=RECEIVER, configure=configure,
                       banner=BANNER.replace("host p4nic", "rcv p4nic"))


if __name__ == "__main__":
    sys.exit(main())
