"""The ingress timestamp is when a frame arrived: interface ports read the kernel's
receive time of each frame (SO_TIMESTAMPNS), the switch stamps it as
ingress_global_timestamp (as simple_switch stamps in its receive thread, before
the ingress queue, and a hardware NIC at the MAC), never earlier than the
previous ingress timestamp and never later than now."""

from __future__ import annotations

import socket
import struct
import time

from pybm.switch import externs
from pybm.switch.ports import SO_TIMESTAMPNS, arrival_monotonic_ns

from .bmv2 import Harness, Program, assign, extract, fld, set_port, sm


def test_the_kernel_receive_time_on_the_monotonic_clock() -> None:
    # a UDP socket on loopback carries the same SCM_TIMESTAMPNS as a packet socket
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        rx.bind(("127.0.0.1", 0))
        # The kernel turns receive timestamping on lazily (a static key, flipped by
        # a work item) the first time any socket asks for it; until then it stamps
        # at recvmsg(). One datagram through first, as a switch's ports are open
        # before traffic comes.
        deadline = time.monotonic() + 5
        while True:
            tx.sendto(b"w", rx.getsockname())
            t_sent = time.monotonic_ns()
            time.sleep(0.02)
            _d, warm, _f, _a = rx.recvmsg(16, socket.CMSG_SPACE(64))
            stamped = arrival_monotonic_ns(warm)
            if stamped is not None and stamped <= t_sent + 1_000_000:
                break
            assert time.monotonic() < deadline, "the kernel never stamps at arrival"
        before = time.monotonic_ns()
        tx.sendto(b"x", rx.getsockname())
        after = time.monotonic_ns()
        time.sleep(0.05)         # read late: the arrival time is still the send's
        _data, ancdata, _flags, _addr = rx.recvmsg(16, socket.CMSG_SPACE(64))
    finally:
        rx.close()
        tx.close()
    arrival = arrival_monotonic_ns(ancdata)
    assert arrival is not None
    slack = 1_000_000            # realtime -> monotonic conversion (an NTP slew), 1 ms
    assert before - slack <= arrival <= after + slack
    assert arrival_monotonic_ns([]) is None
    assert arrival_monotonic_ns([(socket.SOL_SOCKET, SO_TIMESTAMPNS,
                                  struct.pack("=qq", 0, 0))]) is None


def _stamp_program() -> Program:
    p = Program()
    p.header_type("t_t", [["ig", 48]])
    p.header("t", "t_t")
    p.state("start", [extract("t")])
    p.deparse("t")
    p.run("ingress", [assign(fld("t", "ig"), sm("ingress_global_timestamp")), set_port(1)])
    return p


def test_ingress_timestamp_is_the_arrival_kept_monotonic() -> None:
    h = Harness(_stamp_program())

    def stamp(arrival_ns: int | None) -> int:
        h.out.clear()
        h.sw.receive(0, bytes(6), arrival_ns)
        ((_, out),) = h.out
        return int.from_bytes(out[:6], "big")

    time.sleep(0.02)
    earlier = time.monotonic_ns() - 10_000_000           # arrived 10 ms ago
    assert stamp(earlier) == externs.us_of_monotonic_ns(earlier)
    # arrived before the last one (another port's frame, processed later): not before it
    assert stamp(earlier - 5_000_000) == externs.us_of_monotonic_ns(earlier)
    # a time in the future is now at most
    before = h.sw.now_us()
    got = stamp(time.monotonic_ns() + 10_000_000_000)
    assert before <= got <= h.sw.now_us()
    # no arrival time (in-process ports, pcap files, packet-out): now
    before = h.sw.now_us()
    got = stamp(None)
    assert before <= got <= h.sw.now_us()
