#!/usr/bin/env python3
"""Mininet topology ``redundant``: a sender with two paths to the NIC's wire ports.

    python3 topo/redundant.py [--target pybm|bmv2]   # Mininet CLI, NIC + p4nic start running

    +-----------+  p4nic0 -- sw0  +--------------------+  sw2..sw6 -- p4nic2..p4nic6  +--------+
    | snd       |                 | nic (P4NicSwitch)  |                              | host   |
    | merge-send|  p4nic1 -- sw1  | wire 0, 1          |  (4 = placement records)     | p4nic  |
    +-----------+                 +--------------------+                              | start, |
                                                                                      | merge- |
                                                                                      | recv   |
                                                                                      +--------+

Host ``snd`` is the camera side: ``p4nic merge-send`` sends the redundant RTP
streams, one per interface, with its own seeded per-path loss, reordering,
duplication and delay (user-space: this kernel has no netem, DESIGN.md
section 4), so the two links are plain. Host ``host`` is the NIC's host
computer: it holds the NIC's host-side ports (2 host stack, 3 consumer, 4
placement, 5 records, 6 capture) and runs ``p4nic start`` and the receiving
application ``p4nic merge-recv`` on the placement port. Neither host has an
IP address: every frame on these links is one the test or the NIC made.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from p4switch import (  # noqa: E402
    NIC_MAC,
    NicHost,
    P4NicSwitch,
    Topo,
    interactive,
    interactive_args,
    nic_link,
)

SENDER, HOST = "snd", "host"
WIRE = (0, 1)
HOST_SIDE = (2, 3, 4, 5, 6)
PLACEMENT = 4


class RedundantTopo(Topo):
    """snd:p4nic0,p4nic1 -> nic wire ports 0, 1; nic ports 2..6 -> host:p4nic2..p4nic6."""

    def build(self, target: str = "pybm", json_path: str | None = None,
              workdir: str | None = None, log_console: bool = False) -> None:
        self.addSwitch("nic", cls=P4NicSwitch, target=target, json_path=json_path,
                       workdir=workdir, log_console=log_console)
        self.addHost(SENDER, cls=NicHost, ip=None)
        self.addHost(HOST, cls=NicHost, ip=None)
        for port in WIRE:
            nic_link(self, "nic", SENDER, port)
        for port in HOST_SIDE:
            nic_link(self, "nic", HOST, port)


BANNER = f"""
Merge two redundant streams (NIC MAC {NIC_MAC}); the frames land in /tmp/frames:
  host p4nic merge-recv --iface p4nic{PLACEMENT} --out /tmp/frames --group 1 --slice-size 1200 \\
      --slices 20 --window 64 --dst 10.0.0.1 --stream src=10.0.1.2 --stream src=10.0.2.2 \\
      --frames 100 --png-width 400 &
  snd p4nic merge-send --iface p4nic0 --iface p4nic1 --src 10.0.1.2 --src 10.0.2.2 \\
      --dst 10.0.0.1 --frames 100 --slices 20 --slice-size 1200 --loss 0.05 --reorder 0.1 \\
      --dup 0.02 --rate 1000
  host p4nic merge counters --group 1      (while merge-recv runs)"""


def main() -> int:
    args = interactive_args(__doc__.splitlines()[1])
    topo = RedundantTopo(target=args.target, workdir=args.workdir,
                         log_console=args.log_console)
    return interactive(topo, args, daemon_host=HOST, banner=BANNER)


if __name__ == "__main__":
    sys.exit(main())
