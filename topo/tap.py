#!/usr/bin/env python3
"""Mininet topology ``tap``: a client and the NIC's host talk through the NIC.

    python3 topo/tap.py [--target pybm|bmv2]     # Mininet CLI, NIC + p4nic start running

    +--------------+  p4nic0 -- sw0  +-------------------+  sw2 -- p4nic2  +------------------+
    | cli          |                 | nic (P4NicSwitch) |  host stack     | srv (NIC's host) |
    | 10.0.0.2/24  |                 | wire port 0       |  sw3..sw6 --    | 10.0.0.1/24 on   |
    | curl         |                 |                   |  p4nic3..p4nic6 | p4nic2, NIC MAC; |
    +--------------+                 +-------------------+                 | p4nic start,     |
                                                                           | capture agent    |
                                                                           | (p4nic6)         |
                                                                           +------------------+

The NIC is the server's NIC: what ``cli`` sends arrives on wire port 0,
passes the receive checks (destination MAC = the NIC's, which ``srv``'s
interface carries) and, missing every flow, goes to the host stack port, the
server's p4nic2; what the server sends into p4nic2 leaves on wire port 0
(direction tx). Capture triggers see both directions; the daemon's capture
agent writes them to pcapng on srv's capture port (p4nic6). IPv6 is off and
the client's ARP entry for the server is static, so the only frames on the
wire are the IPv4 ones the hosts' applications make.
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
    interactive,
    interactive_args,
    nic_link,
)

CLIENT, SERVER = "cli", "srv"
CLIENT_IP, SERVER_IP = "10.0.0.2", "10.0.0.1"
CLIENT_MAC = "02:00:00:00:00:02"
HOST_SIDE = (2, 3, 4, 5, 6)
CAPTURE_PORT = 6


class TapTopo(Topo):
    """cli:p4nic0 -> nic wire port 0; nic ports 2..6 -> srv:p4nic2..p4nic6 (2 = host stack)."""

    def build(self, target: str = "pybm", json_path: str | None = None,
              workdir: str | None = None, log_console: bool = False) -> None:
        self.addSwitch("nic", cls=P4NicSwitch, target=target, json_path=json_path,
                       workdir=workdir, log_console=log_console)
        self.addHost(CLIENT, cls=NicHost, ip=f"{CLIENT_IP}/24", mac=CLIENT_MAC)
        self.addHost(SERVER, cls=NicHost, ip=None)
        nic_link(self, "nic", CLIENT, 0)
        for port in HOST_SIDE:
            nic_link(self, "nic", SERVER, port)


def configure(net: Mininet) -> None:
    """Addresses after start: srv's host-stack interface carries the NIC's MAC and
    address; static ARP entries both ways (no ARP broadcasts through the NIC)."""
    cli, srv = net.get(CLIENT), net.get(SERVER)
    srv.cmd(f"ip link set p4nic2 address {NIC_MAC}")
    srv.cmd(f"ip addr add {SERVER_IP}/24 dev p4nic2")
    cli.cmd(f"ip neigh replace {SERVER_IP} lladdr {NIC_MAC} dev p4nic0 nud permanent")
    srv.cmd(f"ip neigh replace {CLIENT_IP} lladdr {CLIENT_MAC} dev p4nic2 nud permanent")


BANNER = f"""
A web server on srv, a client on cli, captured both ways (triggers on TCP port 8000):
  host p4nic trigger add --capture-id 1 --snaplen 128 --dport 8000
  host p4nic trigger add --capture-id 2 --snaplen 128 --sport 8000
  srv python3 -m http.server 8000 --bind {SERVER_IP} &
  cli curl -s http://{SERVER_IP}:8000/ | head -3
  srv tshark -r CAPTURE -Y tcp -T fields -e frame.time_epoch -e tcp.flags.str -e frame.comment
  srv p4nic replay CAPTURE --port 0"""


def main() -> int:
    args = interactive_args(__doc__.splitlines()[1])
    topo = TapTopo(target=args.target, workdir=args.workdir, log_console=args.log_console)
    capture = os.path.join(args.workdir, "tap.pcapng")
    return interactive(topo, args, daemon_host=SERVER, configure=configure,
                       daemon_extra=["--capture-iface", f"p4nic{CAPTURE_PORT}",
                                     "--capture-out", capture],
                       banner=BANNER.replace("host p4nic", "srv p4nic").replace(
                           "CAPTURE", capture))


if __name__ == "__main__":
    sys.exit(main())
