"""End to end in Mininet (topo/tap.py): ``p4nic start`` is killed (SIGKILL) and
started again (``--no-load``) while traffic flows through the NIC.

The client sends two UDP flows (sports 5000 and 5001 -> 10.0.0.1:7000, 100
datagrams/s each, a sequence number in each) that the NIC's flow table sends
to the consumer port with an rx descriptor in front (MONITOR, ts_mode
in_packet); a reader on the server's consumer port (p4nic3) records every
descriptor. Flow 1 comes from the daemon's configuration, flow 9 was added at
run time; so were a second SA, capture trigger, RTP port and a merge group
with a stream and a work item. The daemon is killed by its PID, the data plane
goes on alone for a second, and a new daemon with the same configuration and
``--no-load`` reads the switch's state back. Checked:

* the device's tables as ``p4nic flow list``, ``sa list``, ``trigger list`` and
  ``merge groups`` print them are the same before and after (nothing lost,
  nothing doubled), apart from the per-flow counters, which only grow, and
  the new daemon tracks all of it (``status``, then removing flow 9 works);
* the traffic saw no change: every datagram sent arrived once, in order, at
  the consumer port behind a descriptor of its flow whose per-flow packet
  total counts on without a restart (the generation that tags the flow's
  NIC state was kept), and the final direct counters equal what was sent.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest

from .conftest import TARGET, Build, need_mininet

CLIENT_IP, SERVER_IP = "10.0.0.2", "10.0.0.1"
RATE = 200.0        # datagrams/s, both flows together
WAIT = 30.0         # upper bound of bounded waits, not a timing check

SENDER = r"""
import signal, socket, sys, time
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
socks = []
for port in (5000, 5001):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], port))
    socks.append(s)
sent, rate, t0, i = [0, 0], float(sys.argv[3]), time.monotonic(), 0
while not stop:
    k = i % 2
    socks[k].sendto(b"seq=%08d " % sent[k] + b"x" * 100, (sys.argv[2], 7000))
    sent[k] += 1
    i += 1
    delay = t0 + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(sent[0], sent[1], flush=True)
"""

READER = r"""
import signal, socket, sys
from p4nic.records import parse_rx_meta
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.settimeout(0.2)
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
out = open(sys.argv[2], "w", buffering=1)
print("ready", flush=True)
while not stop:
    try:
        data, addr = s.recvfrom(65536)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    try:
        meta, pkt = parse_rx_meta(data)
    except Exception as e:
        out.write(f"bad {e} {data[:16].hex()}\n")
        continue
    sport = int.from_bytes(pkt[34:36], "big")
    out.write(f"{meta.flow_id} {meta.flow_packets} {sport} {pkt[42:54].decode()}\n")
out.close()
"""

CONFIG = {
    "flows": [{"src": CLIENT_IP, "dst": SERVER_IP, "proto": "udp", "sport": 5000,
               "dport": 7000, "flow_id": 1, "ts_mode": "in_packet"},
              {"src": CLIENT_IP, "dst": SERVER_IP, "proto": "tcp", "sport": 1234,
               "dport": 80, "flow_id": 2, "ack_every": 2}],
    "sas": [{"dst": SERVER_IP, "spi": 0x1001, "key": "00" * 16, "install": True}],
    "triggers": [{"capture_id": 1, "snaplen": 64, "dport": 7000}],
    "rtp_ports": [5004],
}


@pytest.fixture(scope="module")
def tap_net(nic_build: Build) -> Iterator[tuple]:
    need_mininet()
    import p4switch
    from tap import TapTopo, configure

    workdir = tempfile.mkdtemp(prefix="p4nic-restart-")
    try:
        with p4switch.running(TapTopo(target=TARGET, workdir=workdir)) as net:
            configure(net)
            yield net, workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def tables(daemon) -> dict:  # noqa: ANN001  (p4switch.Daemon)
    flows = sorted(daemon.json("flow", "list"), key=lambda r: r["flow_id"])
    sas = daemon.json("sa", "list")
    return {"flows": [{k: v for k, v in r.items() if k not in ("packets", "bytes")}
                      for r in flows],
            "flow_packets": {r["flow_id"]: r["packets"] for r in flows},
            "key_memory": sorted((r["dst"], r["spi"], r["key_index"])
                                 for r in sas["key_memory"]),
            "triggers": sorted(map(str, daemon.json("trigger", "list"))),
            "groups": daemon.json("merge", "groups")}


def test_daemon_killed_and_restarted_while_traffic_flows(tap_net, nic_build: Build) -> None:
    import p4switch
    net, workdir = tap_net
    cli, srv, nic = net.get("cli"), net.get("srv"), net.get("nic")
    state = os.path.join(workdir, "state")
    daemon = p4switch.start_daemon(srv, nic, state, nic_build.p4info, nic_build.json,
                                   ["--clock-interval", "1"], config=CONFIG)
    procs: list[subprocess.Popen] = []
    try:
        # what users added at run time
        daemon.json("flow", "add", "--src", CLIENT_IP, "--dst", SERVER_IP, "--proto", "udp",
                    "--sport", "5001", "--dport", "7000", "--flow-id", "9", "--ts-mode",
                    "in_packet")
        daemon.json("sa", "add", "--dst", SERVER_IP, "--spi", "0x2002", "--key", "11" * 16,
                    "--install")
        daemon.json("trigger", "add", "--capture-id", "2", "--snaplen", "0", "--sport", "7000")
        daemon.json("rtp-port", "add", "6000")
        daemon.json("merge", "group-add", "--group", "5", "--slice-size", "1000", "--slices",
                    "8", "--window", "32")
        daemon.json("merge", "stream-add", "--group", "5", "--dst", SERVER_IP, "--dport",
                    "5004", "--in-port", "0")
        daemon.json("merge", "post", "--group", "5", "--frame", "0", "--mkey", "1",
                    "--buf-base", "0x100000")

        got = os.path.join(workdir, "consumer.txt")
        reader = srv.popen([sys.executable, "-c", READER, "p4nic3", got],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(reader)
        assert reader.stdout.readline().strip() == "ready", reader.stderr.read()
        sender = cli.popen([sys.executable, "-c", SENDER, CLIENT_IP, SERVER_IP, str(RATE)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(sender)
        time.sleep(2.0)
        before = tables(daemon)
        installed = daemon.json("status")["installed"]
        assert installed == {"flow": 3, "esp_flow": 0, "sa": 2, "trigger": 2, "rtp_port": 2,
                             "reasm_policy": 0}
        assert before["flow_packets"][1] > 0 and before["flow_packets"][9] > 0

        os.kill(daemon.proc.pid, signal.SIGKILL)
        assert daemon.proc.wait(10) == -signal.SIGKILL
        time.sleep(1.0)          # the data plane alone
        daemon = p4switch.start_daemon(srv, nic, state, nic_build.p4info, nic_build.json,
                                       ["--clock-interval", "1", "--no-load"], config=CONFIG)
        after = tables(daemon)
        for key in ("flows", "key_memory", "triggers", "groups"):
            assert after[key] == before[key], key
        assert all(after["flow_packets"][f] >= before["flow_packets"][f] for f in (1, 2, 9))
        assert daemon.json("status")["installed"] == installed
        with open(daemon.log) as f:
            log = f.read()
        assert ("adopted from the device: {'flow': 3, 'esp_flow': 0, 'sa': 2, 'trigger': 2, "
                "'rtp_port': 2, 'mac': 0, 'reasm_policy': 0, 'merge_group': 1}") in log, log
        assert "configuration entries: {'added': 0, 'adopted': 5, 'modified': 0}" in log, log
        time.sleep(2.0)          # traffic under the new daemon
        sender.send_signal(signal.SIGTERM)
        out, err = sender.communicate(timeout=WAIT)
        assert sender.returncode == 0, err
        sent = dict(zip((1, 9), map(int, out.split())))
        counters = {}
        deadline = time.monotonic() + WAIT
        while counters != sent:      # the switch may still be forwarding the last ones
            assert time.monotonic() < deadline, (counters, sent)
            time.sleep(0.3)
            counters = {r["flow_id"]: r["packets"] for r in daemon.json("flow", "list")
                        if r["flow_id"] in sent}
        time.sleep(0.5)
        reader.send_signal(signal.SIGTERM)
        reader.wait(WAIT)
        # the run-time flow is the new daemon's to remove
        daemon.json("flow", "del", "--flow-id", "9")
        assert [r["flow_id"] for r in daemon.json("flow", "list")] == [1, 2]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        daemon.stop()

    with open(got) as f:
        rows = [line.split() for line in f]
    assert not [r for r in rows if r[0] == "bad"], rows[:5]
    for flow_id, sport in ((1, 5000), (9, 5001)):
        mine = [r for r in rows if int(r[2]) == sport]
        assert [int(r[0]) for r in mine] == [flow_id] * len(mine)
        # every datagram once, in order, behind a descriptor whose per-flow total
        # counts on across the restart
        assert [r[3] for r in mine] == [f"seq={i:08d}" for i in range(sent[flow_id])]
        assert [int(r[1]) for r in mine] == list(range(1, sent[flow_id] + 1))
