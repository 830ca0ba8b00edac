"""End to end in Mininet (topo/bottleneck.py): the path capacity from the NIC's
arrival timestamps, and the protocol it selects applied to a real TCP transfer
(seed 002).

The sender is behind a link that Mininet's ``TCLink(bw=)`` shapes with htb,
set to 50 and then to 200 Mbit/s (the rate read back from ``tc``). It sends
12 trains of 200 UDP datagrams back to back (``topo/traffic.py trains``:
1514-byte frames handed to the kernel far faster than the link, so they leave
the shaper spaced by their transmission time; the next train starts once the
last one has left). The NIC stamps each on arrival (flow in MONITOR,
timestamp in front of the packet, consumer port). ``p4nic netprops`` on the
receiver reads them and estimates the capacity with seed 002's dispersion
method, per train, median over the trains (netprops.robust_capacity): it must
be within 5% of the rate set. That is the only timing the tests check.

netprops ``--apply`` then writes the congestion control the selection table
picks (netprops.SELECTION_TABLE: below 100 Mbit/s reno, from 100 Mbit/s
cubic, with no loss and no RTT known) on the receiver's route to the sender
(``ip route replace 10.0.0.2 ... congctl NAME``). The receiver's namespace
default is another algorithm (made so if need be), so a TCP transfer from the
receiver to the sender (``topo/traffic.py tcp-send``/``tcp-sink``, through
the NIC both ways) shows the route's choice, not the default: in
``TCP_CONGESTION`` and in ``ss -tin``'s line for the connection.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest
from p4nic.netprops import NetworkProperties, select_protocol

from .conftest import TARGET, TOPO, Build, need_mininet

RATES_MBIT = (50, 200)
TOLERANCE = 0.05
TRAINS, LENGTH = 12, 200
FLOWS = {50: (1, 5050), 200: (2, 5200)}      # rate -> flow id, UDP source port
DPORT = 5001
TCP_BYTES = 2_000_000
WAIT = 60.0          # upper bound of bounded waits, not a timing check
TRAFFIC = os.path.join(TOPO, "traffic.py")


@pytest.fixture(scope="module")
def bottleneck_net(nic_build: Build) -> Iterator[tuple]:
    need_mininet()
    import p4switch
    from bottleneck import RECEIVER, BottleneckTopo, configure

    workdir = tempfile.mkdtemp(prefix="p4nic-bottleneck-")
    try:
        topo = BottleneckTopo(target=TARGET, workdir=workdir, bw=RATES_MBIT[0])
        with p4switch.running(topo) as net:
            configure(net)
            daemon = p4switch.start_daemon(net.get(RECEIVER), net.get("nic"),
                                           os.path.join(workdir, "state"), nic_build.p4info,
                                           nic_build.json)
            try:
                yield net, daemon, workdir
            finally:
                daemon.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def wait_line(proc: subprocess.Popen, stream: str, text: str) -> None:
    """Until ``proc`` writes a line containing ``text`` on ``stream`` (bounded)."""
    pipe = getattr(proc, stream)
    seen = ""
    deadline = time.monotonic() + WAIT
    while text not in seen:
        assert proc.poll() is None, f"exited ({proc.returncode}) before '{text}': {seen}"
        assert time.monotonic() < deadline, f"no '{text}' within {WAIT:.0f} s: {seen}"
        if select.select([pipe], [], [], 0.5)[0]:
            seen += pipe.readline()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def default_other_than(host, chosen: str) -> str:  # noqa: ANN001  (a Mininet host)
    """Make the namespace's default congestion control one other than ``chosen``
    (a namespace may only pick one of net.ipv4.tcp_allowed_congestion_control)."""
    sysctl = "net.ipv4.tcp_congestion_control"
    current = host.cmd(f"sysctl -n {sysctl}").strip()
    if current != chosen:
        return current
    for cc in host.cmd("cat /proc/sys/net/ipv4/tcp_available_congestion_control").split():
        if cc != chosen:
            host.cmd(f"sysctl -qw {sysctl}={cc}")
            if host.cmd(f"sysctl -n {sysctl}").strip() == cc:
                return cc
    pytest.fail(f"the default congestion control cannot be other than {chosen}")


@pytest.mark.parametrize("mbit", RATES_MBIT)
def test_capacity_from_nic_timestamps_and_protocol_applied(bottleneck_net, mbit: int) -> None:
    from bottleneck import RECEIVER, RECEIVER_IP, SENDER, SENDER_IP, link_rate, set_rate
    net, daemon, workdir = bottleneck_net
    snd, rcv = net.get(SENDER), net.get(RECEIVER)
    set_rate(net, mbit)
    assert link_rate(net) == (mbit * 1e6, mbit * 1e6), snd.cmd("tc class show dev p4nic0")
    flow_id, sport = FLOWS[mbit]
    daemon.json("flow", "add", "--src", SENDER_IP, "--dst", RECEIVER_IP, "--proto", "udp",
                "--sport", str(sport), "--dport", str(DPORT), "--flow-id", str(flow_id),
                "--state", "MONITOR", "--ts-mode", "in_packet")

    # p4nic netprops on the NIC's host reads the stamped packets on the consumer port
    packets = TRAINS * LENGTH
    netprops = rcv.popen([sys.executable, "-m", "p4nic.cli", "--state-dir", daemon.state_dir,
                          "--json", "netprops", "--iface", "p4nic3", "--flow-id", str(flow_id),
                          "--count", str(packets), "--timeout", str(WAIT), "--apply",
                          f"{SENDER_IP}/32"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        wait_line(netprops, "stderr", "reading p4nic3")
        sent = json.loads(snd.cmd(f"{sys.executable} {TRAFFIC} trains --dst {RECEIVER_IP} "
                                  f"--src {SENDER_IP} --sport {sport} --dport {DPORT} "
                                  f"--trains {TRAINS} --length {LENGTH}").strip().splitlines()[-1])
        assert sent["packets"] == packets and sent["not_drained"] == 0, sent
        out, err = netprops.communicate(timeout=WAIT + 30)
    finally:
        stop(netprops)
    assert netprops.returncode == 0, err
    (result,) = json.loads(out)

    # the capacity, from the NIC's timestamps: within 5% of the rate set
    assert result["packets"] >= 0.9 * packets, result
    assert result["capacity_method"] == "trains" and result["trains"] >= TRAINS // 2, result
    error = result["capacity_bps"] / (mbit * 1e6) - 1
    print(f"{mbit} Mbit/s: estimate {result['capacity_bps'] / 1e6:.2f} Mbit/s "
          f"({100 * error:+.2f}%), {result['packets']} packets, {result['trains']} trains, "
          f"{result['disturbed_trains']} disturbed; {result['protocol']}")
    assert abs(error) < TOLERANCE, result

    # the selection: the table's row for these properties, on the route to the sender
    props = NetworkProperties(**{k: v for k, v in result.items()
                                 if k in NetworkProperties.__dataclass_fields__})
    chosen = result["protocol"]
    assert chosen == select_protocol(props).protocol == ("cubic" if mbit >= 100 else "reno")
    route = json.loads(rcv.cmd(f"ip -j route show exact {SENDER_IP}/32"))
    assert route[0]["metrics"] == [{"congestion": chosen}], route
    assert route[0]["dev"] == "p4nic2" and route[0]["prefsrc"] == RECEIVER_IP, route

    # a TCP transfer from the NIC's host to the sender uses it, not the namespace default
    default = default_other_than(rcv, chosen)
    sink = snd.popen([sys.executable, TRAFFIC, "tcp-sink", "--bind", SENDER_IP],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     stdin=subprocess.DEVNULL, text=True)
    try:
        wait_line(sink, "stdout", "listening")
        sender = rcv.popen([sys.executable, TRAFFIC, "tcp-send", "--dst", SENDER_IP,
                            "--bytes", str(TCP_BYTES)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            s_out, s_err = sender.communicate(timeout=WAIT)
        finally:
            stop(sender)
        assert sender.returncode == 0, s_err
        k_out, k_err = sink.communicate(timeout=WAIT)
    finally:
        stop(sink)
    tcp = json.loads(s_out.strip().splitlines()[-1])
    assert json.loads(k_out.strip().splitlines()[-1]) == {"received": TCP_BYTES}, k_err
    assert tcp["congestion"] == chosen, tcp
    ss_lines = tcp["ss"].splitlines()
    assert any(line.startswith("ESTAB") and tcp["local"] in line and f"{SENDER_IP}:5201" in line
               for line in ss_lines), tcp["ss"]
    info = " ".join(line for line in ss_lines if line[:1].isspace())
    assert chosen in info.split() and default not in info.split(), tcp["ss"]
