"""End to end in Mininet (topo/tap.py): a real TCP exchange through the NIC,
captured in both directions, read back by tshark, replayed at its original timing.

Host cli runs curl against ``python3 -m http.server`` on srv, the NIC's host.
Two capture triggers (TCP destination port 8000 = rx, source port 8000 = tx)
copy every segment to the capture port, where ``p4nic start``'s capture agent
writes pcapng. A tshark on the client's own interface is the independent
witness: the NIC's capture holds exactly the frames the client sent and
received (cut to the snap length), per direction in the same order; tshark
reads the NIC's file and shows each handshake in order with increasing NIC
timestamps. ``p4nic replay`` then sends the received (rx) frames through the
receive path again, padded back to their length; the capture agent sees them
a second time, and their timeline on the NIC clock must match the captured
one: aligned at the median shift (the replay starts when it starts), the
median of each frame's deviation relative to its offset from the first frame
is below 1% (the requests are 0.5 s apart, so most offsets are long next to
the scheduling noise of a loaded machine).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest
from p4nic.pcapng import read_pcapng

from .conftest import TARGET, Build, need_mininet, plot

SNAPLEN = 128
REQUESTS = 4
PAGE = b"<html><body>" + b"p4nic tap test " * 200 + b"</body></html>\n"   # > one segment
PORT = (8000).to_bytes(2, "big")
WAIT = 30.0        # upper bound of bounded waits, not a timing check


def nic_ts(rec) -> int:  # noqa: ANN001  (a p4nic.pcapng.PacketRecord)
    for c in rec.comments:
        for word in c.split():
            if word.startswith("nic_ts="):
                return int(word[7:])
    raise AssertionError(f"no nic_ts in {rec.comments}")


def direction(rec) -> str:  # noqa: ANN001
    return "rx" if "dir=rx" in " ".join(rec.comments) else "tx"


@pytest.fixture(scope="module")
def tap_net(nic_build: Build) -> Iterator[tuple]:
    need_mininet()
    for tool in ("tshark", "curl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (make setup installs it)")
    import p4switch
    from tap import SERVER, TapTopo, configure

    workdir = tempfile.mkdtemp(prefix="p4nic-tap-")
    capture = os.path.join(workdir, "nic.pcapng")
    try:
        with p4switch.running(TapTopo(target=TARGET, workdir=workdir)) as net:
            configure(net)
            daemon = p4switch.start_daemon(
                net.get(SERVER), net.get("nic"), os.path.join(workdir, "state"),
                nic_build.p4info, nic_build.json,
                ["--clock-interval", "1", "--capture-iface", "p4nic6", "--capture-out", capture])
            try:
                yield net, daemon, capture, workdir
            finally:
                daemon.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def capture_written(daemon) -> int:  # noqa: ANN001
    return daemon.json("status")["capture"]["written"]


def wait_written(daemon, n: int) -> None:  # noqa: ANN001
    deadline = time.monotonic() + WAIT
    while capture_written(daemon) < n:
        assert time.monotonic() < deadline, f"the capture agent wrote {capture_written(daemon)}" \
                                            f" of {n} frames"
        time.sleep(0.2)


def test_http_exchange_captured_both_ways_and_replayed(tap_net) -> None:
    net, daemon, capture, workdir = tap_net
    cli, srv = net.get("cli"), net.get("srv")
    daemon.json("trigger", "add", "--capture-id", "1", "--snaplen", str(SNAPLEN),
                "--proto", "tcp", "--dport", "8000")
    daemon.json("trigger", "add", "--capture-id", "2", "--snaplen", str(SNAPLEN),
                "--proto", "tcp", "--sport", "8000")
    site = os.path.join(workdir, "site")
    os.makedirs(site)
    with open(os.path.join(site, "index.html"), "wb") as f:
        f.write(PAGE)
    witness_file = os.path.join(workdir, "client.pcapng")
    server = srv.popen([sys.executable, "-m", "http.server", "8000", "--bind", "10.0.0.1",
                        "--directory", site], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    # tshark on the client's interface; -P prints a line per packet as well, so the
    # test knows when it really captures (a probe to port 8001, which the NIC's
    # triggers ignore, shows up)
    witness = cli.popen(["tshark", "-n", "-l", "-P", "-i", "p4nic0", "-f",
                         "tcp port 8000 or tcp port 8001", "-s", str(SNAPLEN), "-w",
                         witness_file], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                        stdin=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + WAIT
        while ":8000" not in srv.cmd("ss -ltnH"):
            assert server.poll() is None and time.monotonic() < deadline, "no http.server"
            time.sleep(0.1)
        while True:
            assert witness.poll() is None, "tshark on the client exited"
            assert time.monotonic() < deadline, "tshark on the client captures nothing"
            cli.cmd("curl -s --max-time 1 http://10.0.0.1:8001/ >/dev/null")
            if select.select([witness.stdout], [], [], 0.5)[0] and witness.stdout.readline():
                break
        for i in range(REQUESTS):
            got = os.path.join(workdir, f"got-{i}.html")
            cli.cmd(f"curl -s --max-time 20 -o {got} http://10.0.0.1:8000/index.html")
            with open(got, "rb") as f:
                assert f.read() == PAGE, f"request {i}"
            time.sleep(0.5)      # spacing of the exchanges (not checked)
    finally:
        server.terminate()
        server.wait(10)
        if witness.poll() is None:
            os.kill(witness.pid, signal.SIGINT)      # tshark finishes its file on SIGINT
            witness.wait(20)

    # the client's own view: what it sent (to the NIC: rx) and received (tx)
    seen = [r for r in read_pcapng(witness_file) if PORT in (r.data[34:36], r.data[36:38])]
    client_rx = [r.data for r in seen if r.data[0:6] == bytes.fromhex("020000000001")]
    client_tx = [r.data for r in seen if r.data[0:6] != bytes.fromhex("020000000001")]
    assert len(client_rx) >= 4 * REQUESTS and len(client_tx) >= 4 * REQUESTS
    n = len(seen)
    wait_written(daemon, n)

    nic = sorted(read_pcapng(capture), key=nic_ts)
    assert len(nic) == n, f"NIC captured {len(nic)}, the client saw {n}"
    assert [r.data for r in nic if direction(r) == "rx"] == client_rx
    assert [r.data for r in nic if direction(r) == "tx"] == client_tx
    assert all(r.orig_len >= len(r.data) and len(r.data) <= SNAPLEN for r in nic)

    # tshark reads the NIC's pcapng: handshakes in order, NIC timestamps increasing
    done = subprocess.run(["tshark", "-r", capture, "-T", "fields", "-E", "separator=|",
                           "-e", "frame.time_epoch", "-e", "tcp.flags.str", "-e", "ip.src",
                           "-e", "frame.comment"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = [r.split("|") for r in done.stdout.splitlines()]
    assert len(rows) == n
    times = [int(r[3].split("nic_ts=")[1].split()[0]) for r in rows]
    rows = [r for _, r in sorted(zip(times, rows), key=lambda x: x[0])]
    flags = [r[1].replace("\u00b7", "") for r in rows]       # "··········S·" -> "S"
    syns = [i for i, f in enumerate(flags) if f == "S"]
    assert len(syns) == REQUESTS, flags
    for i in syns:      # SYN in, SYN-ACK out, ACK in: the NIC's clock orders the handshake
        assert [(flags[j], rows[j][2], rows[j][3].split()[2]) for j in (i, i + 1, i + 2)] == [
            ("S", "10.0.0.2", "dir=rx"), ("AS", "10.0.0.1", "dir=tx"),
            ("A", "10.0.0.2", "dir=rx")], rows[i:i + 3]
    epoch = [float(r[0]) for r in rows]
    assert epoch == sorted(epoch)

    # replay the received frames through the receive path at their original timing
    original = [r for r in nic if direction(r) == "rx"]
    done = daemon.cli("replay", capture, "--port", "0", timeout=120)
    assert done.returncode == 0, done.stderr
    wait_written(daemon, n + len(original))
    again = sorted(list(read_pcapng(capture))[n:], key=nic_ts)
    replayed, used = [], set()
    for rec in original:     # the replayed copy of each: same bytes, rx on port 0
        k = next(k for k, r in enumerate(again) if k not in used and r.data == rec.data
                 and direction(r) == "rx" and " port=0 " in f" {' '.join(r.comments)} ")
        used.add(k)
        replayed.append(again[k])
    assert [nic_ts(b) for b in replayed] == sorted(nic_ts(b) for b in replayed)
    # the replayed timeline against the captured one, aligned at the median shift (the
    # first injection may start late as a whole): each frame's deviation relative to
    # its offset from the first frame
    shift = statistics.median(nic_ts(b) - nic_ts(a) for a, b in zip(original, replayed))
    t0 = nic_ts(original[0])
    errors = [abs(nic_ts(b) - nic_ts(a) - shift) / (nic_ts(a) - t0)
              for a, b in zip(original[1:], replayed[1:])]
    assert statistics.median(errors) < 0.01, errors

    # p4nic plot: the capture's timeline, each direction of the exchanges a flow
    # (the hosts answer the replayed segments too, and the capture goes on meanwhile)
    before = len(list(read_pcapng(capture)))
    drawn = plot(workdir, "timeline", "timeline", capture)
    assert sum(drawn["flows"].values()) == drawn["packets"] >= before >= n + len(original)
    assert all(k.startswith(("10.0.0.2:", "10.0.0.1:8000 ")) for k in drawn["flows"])
