"""Progress lines on a TTY: p4nic.progress itself, and ``p4nic netprops`` / ``p4nic
capture`` against a real pybm-switch with their stderr on a pseudo-terminal (and
not a word of progress when stderr is a pipe)."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time

from p4nic.driver import NicDriver
from p4nic.model import CaptureTrigger, Flow
from p4nic.pcapng import read_pcapng
from p4nic.progress import Progress, timed
from scapy.all import IP, UDP, Ether, raw

from .conftest import NIC_MAC, PEER_MAC

P4NIC = os.path.join(os.path.dirname(sys.executable), "p4nic")


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_tty() -> None:
    tty, pipe = FakeTty(), io.StringIO()
    for stream in (tty, pipe):
        p = Progress("work", stream, rate=1000)
        for i in range(1, 4):
            p(i, 3, "(0 dropped)")
            time.sleep(0.002)
        p.end()
    assert tty.getvalue() == ("\rwork: 1/3 (0 dropped)\033[K\rwork: 2/3 (0 dropped)\033[K"
                              "\rwork: 3/3 (0 dropped)\033[K\n")
    assert pipe.getvalue() == ""
    quiet = FakeTty()
    slow = Progress("x", quiet, rate=1)
    for i in range(1, 101):
        slow(i, 100)
    assert quiet.getvalue().count("\r") == 2        # the first and the last
    tty = FakeTty()
    assert timed("replay", 2.0, lambda: time.sleep(0.5) or 42, tty, tick=0.1) == 42
    lines = tty.getvalue().split("\r")[1:]
    assert len(lines) >= 3 and all(x.startswith("replay: ") and "/2.0 s" in x for x in lines)
    assert tty.getvalue().endswith("\n")
    assert timed("replay", 2.0, lambda: 7, io.StringIO()) == 7


def read_pty(fd: int, until: str | None, timeout: float = 30.0) -> str:
    """What a child wrote to the pty, until ``until`` shows up (None: until it closes)."""
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if until is not None and until.encode() in out:
            break
        if not select.select([fd], [], [], 0.2)[0]:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:         # EIO: the child closed its end
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def run_on_pty(args: list[str], ready: str, feed, tty: bool) -> tuple[int, str]:  # noqa: ANN001
    """Run ``p4nic ARGS`` with stderr on a pty (or a pipe), call feed() once it says
    ``ready`` (it reads the port then)."""
    if tty:
        master, slave = pty.openpty()
        p = subprocess.Popen([P4NIC, *args], stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        try:
            head = read_pty(master, ready)
            assert ready in head, head
            feed()
            return p.wait(30), head + read_pty(master, None)
        finally:
            os.close(master)
            if p.poll() is None:
                p.kill()
                p.wait()
    p = subprocess.Popen([P4NIC, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    assert p.stderr is not None
    try:
        head = ""
        while ready not in head:
            line = p.stderr.readline()
            assert line, head
            head += line
        feed()
        _, err = p.communicate(timeout=30)
        return p.returncode, head + err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_netprops_and_capture_show_progress_on_a_tty(driver: NicDriver, lab, taps,
                                                    tmp_path) -> None:
    driver.add_flow(Flow(src="10.0.0.1", dst="10.0.0.2", proto="udp", sport=5000, dport=5004,
                         flow_id=6, ts_mode="record"))
    driver.add_capture_trigger(CaptureTrigger(capture_id=1, snaplen=64, dport=5004))
    frame = raw(Ether(dst=NIC_MAC, src=PEER_MAC) / IP(src="10.0.0.1", dst="10.0.0.2")
                / UDP(sport=5000, dport=5004) / (b"p" * 100))

    def feed() -> None:
        time.sleep(0.3)
        for _ in range(12):
            taps[0].send(frame)
            time.sleep(0.01)

    for tty in (True, False):
        rc, err = run_on_pty(["netprops", "--iface", lab.outside(5), "--count", "12",
                              "--timeout", "20"], "reading", feed, tty)
        assert rc == 0, err
        assert ("\rp4nic netprops: frames: 12/12" in err) is tty, err
        out = str(tmp_path / f"cap-{tty}.pcapng")
        rc, err = run_on_pty(["--state-dir", str(tmp_path), "capture", "--iface",
                              lab.outside(6), "--out", out, "--count", "12"], "->", feed, tty)
        assert rc == 0, err
        assert ("\rp4nic capture: written: 12/12 (0 dropped)" in err) is tty, err
        assert "12 written" in err and len(list(read_pcapng(out))) == 12
