"""Shared base of the p4nic PTF tests.

`ptf-tests/run.py` starts the switch (pybm-switch or simple_switch_grpc) in
a network namespace and runs PTF there; this module does the rest:

* one ``NicDriver`` per PTF run (connect, primary, pipeline loaded once);
* per test: ``setup()`` with the port map below, ``clear_all()`` afterwards,
  queues of digests/PSH/key-request events emptied;
* packet helpers: frames are scapy-built bytes, and the expected output is
  built independently here from the wire formats documented in
  p4src/include/headers.p4 (never from the driver's record parsers);
* ``expect()`` takes the next frame of a port and compares it with the
  expected bytes through a ``ptf.mask.Mask`` that ignores only the bytes
  named as non-deterministic (NIC arrival timestamps and the gaps derived
  from them); it returns the received frame so the test checks those bytes
  for consistency itself (gap == difference of consecutive timestamps ...);
* bounded waits for counters and digests: poll until the expected value is
  there or a deadline passes. Nothing here asserts on how long anything
  took.

Per-flow registers of the data plane (ACK counts, last arrival, packet and
byte totals) cannot be reset from the control plane (DESIGN.md section 4),
so every test takes fresh flow ids from ``new_flow_id()``.
"""

from __future__ import annotations

import binascii
import dataclasses
import logging
import queue
import struct
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import ptf
import ptf.testutils as tu
from p4nic.driver import NicDriver, PortMap
from ptf.base_tests import BaseTest
from ptf.mask import Mask
from scapy.layers.inet import IP, TCP, UDP, IPOption
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

log = logging.getLogger("p4nic.ptf")

# ---- the NIC under test ---------------------------------------------------------------
PORTS = PortMap(wire=(0, 1), host_stack=2, consumer=3, placement=4, records=5, capture=6,
                crypto=7, loop=(8, 9), cpu=255)
WIRE0, WIRE1 = PORTS.wire
HOST_STACK = PORTS.host_stack
CONSUMER = PORTS.consumer
PLACEMENT = PORTS.placement
RECORDS = PORTS.records
CAPTURE = PORTS.capture
ALL_PORTS = (WIRE0, WIRE1, HOST_STACK, CONSUMER, PLACEMENT, RECORDS, CAPTURE)
CRYPTO = PORTS.crypto      # the crypto engine's port: the runner's engine, not PTF, is on it

NIC_MAC = "02:00:00:00:00:01"
PEER_MAC = "02:00:00:00:00:02"
OTHER_MAC = "02:00:00:00:00:99"
NIC_IP = "10.0.0.1"
PEER_IP = "10.0.0.2"
NIC_IP6 = "2001:db8::1"
PEER_IP6 = "2001:db8::2"

WAIT = 5.0          # upper bound of bounded waits (counters, digests); not a timing check

# ---- p4nic host-side headers (p4src/include/headers.p4), big-endian --------------------
MAGIC = 0x504E
VERSION = 1
PT_RX_META, PT_TS_RECORD, PT_PLACEMENT, PT_CAPTURE = 1, 2, 3, 4
RXF_TS_VALID, RXF_KEY_VALID, RXF_NO_KEY, RXF_FLOW_HIT, RXF_RTP = 0x1, 0x2, 0x4, 0x8, 0x10
DIR_RX, DIR_TX = 0, 1

# p4nic_rx_t: magic type version flags key_index flow_id arrival_ts(48) in_port gap packets bytes
RX_META_FMT = "!HBBHHI6sHIII"
RX_META_LEN = struct.calcsize(RX_META_FMT)          # 32
RX_META_TS = (12, 6)                                # (offset, bytes) of arrival_ts
RX_META_GAP = (20, 4)
# p4nic_ts_record_t: magic type version flow_id seq arrival_ts length gap packets bytes
TS_RECORD_FMT = "!HBBII6sHIII"
TS_RECORD_LEN = struct.calcsize(TS_RECORD_FMT)      # 32
TS_RECORD_TS = (12, 6)
TS_RECORD_GAP = (20, 4)
# p4nic_placement_t: magic type version flow_id addr seq length flags
PLACEMENT_FMT = "!HBBIQIHH"
PLACEMENT_LEN = struct.calcsize(PLACEMENT_FMT)      # 24
# p4nic_capture_t: magic type version capture_id direction port ts orig_len snaplen
CAPTURE_FMT = "!HBBHBB6sIH"
CAPTURE_LEN = struct.calcsize(CAPTURE_FMT)          # 20
CAPTURE_TS = (8, 6)

DROP_REASONS = ("dmac", "runt", "giant", "truncated", "ipv4_version", "ipv4_ihl",
                "ipv4_total_len", "ipv4_checksum", "unknown_proto", "tcp_header",
                "udp_length", "ipv6_version", "ipv6_length", "port_unconfigured",
                "parser_other")


def u48(value: int) -> bytes:
    return value.to_bytes(6, "big")


def rx_meta_bytes(flags: int, flow_id: int, in_port: int, packets: int, nbytes: int,
                  key_index: int = 0, arrival_ts: int = 0, gap: int = 0) -> bytes:
    return struct.pack(RX_META_FMT, MAGIC, PT_RX_META, VERSION, flags, key_index, flow_id,
                       u48(arrival_ts), in_port, gap, packets, nbytes)


def ts_record_bytes(flow_id: int, seq: int, length: int, packets: int, nbytes: int,
                    arrival_ts: int = 0, gap: int = 0) -> bytes:
    return struct.pack(TS_RECORD_FMT, MAGIC, PT_TS_RECORD, VERSION, flow_id, seq,
                       u48(arrival_ts), length, gap, packets, nbytes)


def placement_bytes(flow_id: int, addr: int, seq: int, length: int, flags: int = 0) -> bytes:
    return struct.pack(PLACEMENT_FMT, MAGIC, PT_PLACEMENT, VERSION, flow_id, addr, seq,
                       length, flags)


def capture_bytes(capture_id: int, direction: int, port: int, orig_len: int, snaplen: int,
                  ts: int = 0) -> bytes:
    return struct.pack(CAPTURE_FMT, MAGIC, PT_CAPTURE, VERSION, capture_id, direction, port,
                       u48(ts), orig_len, snaplen)


def field(frame: bytes, where: tuple[int, int], base: int = 0) -> int:
    """Big-endian integer of ``frame[base+off : base+off+size]`` for where=(off, size)."""
    off, size = where
    return int.from_bytes(frame[base + off:base + off + size], "big")


# IPv4 / TCP options for parser tests
RR_OPTION_40 = IPOption(b"\x07\x27\x04" + bytes(36) + b"\x00")     # record route: IHL 15
ROUTER_ALERT = IPOption(b"\x94\x04\x00\x00")                       # IHL 6
TCP_OPTIONS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 654321)),
               ("NOP", None), ("WScale", 7)]                     # data offset 10


# ---- test frames ----------------------------------------------------------------------------
def pad(frame: bytes, size: int = 60) -> bytes:
    """Ethernet minimum frame (without FCS): zero padding as a NIC's MAC adds it."""
    return frame + bytes(max(0, size - len(frame)))


def payload(n: int, seed: int = 0) -> bytes:
    """n deterministic, non-repeating-looking payload bytes."""
    return bytes((seed * 31 + i * 7 + (i >> 8)) & 0xFF for i in range(n))


def tcp4(src: str = PEER_IP, dst: str = NIC_IP, sport: int = 40000, dport: int = 80,
         seq: int = 1000, ack: int = 5000, flags: str = "A", data: bytes = b"",
         options: list | None = None, ip_options: Any = None, vlans: Iterable[int] = (),
         smac: str = PEER_MAC, dmac: str = NIC_MAC, ttl: int = 64, ident: int = 1) -> bytes:
    ip = IP(src=src, dst=dst, ttl=ttl, id=ident)
    if ip_options is not None:
        ip.options = ip_options
    t = TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags, window=8192)
    if options:
        t.options = options
    return pad(bytes(l2(smac, dmac, vlans) / ip / t / Raw(data)))


def tcp6(src: str = PEER_IP6, dst: str = NIC_IP6, sport: int = 40000, dport: int = 80,
         seq: int = 1000, ack: int = 5000, flags: str = "A", data: bytes = b"",
         vlans: Iterable[int] = (), smac: str = PEER_MAC, dmac: str = NIC_MAC) -> bytes:
    t = TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags, window=8192)
    return pad(bytes(l2(smac, dmac, vlans) / IPv6(src=src, dst=dst, tc=0x20, fl=0x12345)
                     / t / Raw(data)))


def udp4(src: str = PEER_IP, dst: str = NIC_IP, sport: int = 5000, dport: int = 6000,
         data: bytes = b"", vlans: Iterable[int] = (), smac: str = PEER_MAC,
         dmac: str = NIC_MAC, ip_options: Any = None) -> bytes:
    ip = IP(src=src, dst=dst, id=7)
    if ip_options is not None:
        ip.options = ip_options
    return pad(bytes(l2(smac, dmac, vlans) / ip / UDP(sport=sport, dport=dport) / Raw(data)))


def udp6(src: str = PEER_IP6, dst: str = NIC_IP6, sport: int = 5000, dport: int = 6000,
         data: bytes = b"", vlans: Iterable[int] = ()) -> bytes:
    return pad(bytes(l2(PEER_MAC, NIC_MAC, vlans) / IPv6(src=src, dst=dst)
                     / UDP(sport=sport, dport=dport) / Raw(data)))


def esp4(spi: int, src: str = PEER_IP, dst: str = NIC_IP, seq: int = 1,
         data: bytes | None = None) -> bytes:
    """An ESP datagram; the 'ciphertext' is opaque bytes the NIC must not touch."""
    body = payload(48, seed=spi & 0xFF) if data is None else data
    return pad(bytes(Ether(src=PEER_MAC, dst=NIC_MAC) / IP(src=src, dst=dst, proto=50, id=9)
                     / ESP(spi=spi, seq=seq) / Raw(body)))


def l2(smac: str, dmac: str, vlans: Iterable[int] = (), qinq: bool = False):
    """Ethernet with 0..2 VLAN tags (vid list, outermost first)."""
    vlans = list(vlans)
    pkt = Ether(src=smac, dst=dmac)
    for i, vid in enumerate(vlans):
        if i == 0 and qinq and len(vlans) == 2:
            pkt = Ether(src=smac, dst=dmac, type=0x88A8) / Dot1AD(vlan=vid, prio=3)
        else:
            pkt = pkt / Dot1Q(vlan=vid, prio=i + 1)
    return pkt


def split_l2(frame: bytes) -> tuple[bytes, int]:
    """(VLAN tags, offset of the L3 header) of an Ethernet frame."""
    off = 12
    while frame[off:off + 2] in (b"\x81\x00", b"\x88\xa8"):
        off += 4
    return frame[12:off], off + 2


def tcp_segment_info(frame: bytes) -> dict:
    """Addresses, ports, seq/ack and payload length of a TCP segment in ``frame``."""
    _, l3 = split_l2(frame)
    if frame[l3] >> 4 == 4:
        ip = IP(frame[l3:])
        plen = ip.len - ip.ihl * 4 - ip[TCP].dataofs * 4
        info = {"v": 4, "src": ip.src, "dst": ip.dst, "ip": ip}
    else:
        ip = IPv6(frame[l3:])
        plen = ip.plen - ip[TCP].dataofs * 4
        info = {"v": 6, "src": ip.src, "dst": ip.dst, "ip": ip}
    t = ip[TCP]
    info.update(sport=t.sport, dport=t.dport, seq=t.seq, ack=t.ack, payload_len=plen,
                payload=bytes(t.payload)[:plen])
    return info


def expected_nic_ack(frame: bytes, ack: int | None = None) -> bytes:
    """The acknowledgment the NIC sends for the received TCP segment ``frame``:
    MACs, addresses and ports swapped, VLAN tags kept, no IP or TCP options, seq = the
    segment's ack, ack = ``ack`` (default: the segment's seq + payload length, i.e.
    the segment completed the in-order data), flags ACK, window 65535; IPv4: TOS 0,
    id 0, DF, TTL 64; IPv6: traffic class and flow label kept, hop limit 64. The
    checksums are scapy's own."""
    tags, l3 = split_l2(frame)
    s = tcp_segment_info(frame)
    eth = frame[6:12] + frame[0:6] + tags + frame[l3 - 2:l3]
    tcp = TCP(sport=s["dport"], dport=s["sport"], seq=s["ack"],
              ack=(s["seq"] + s["payload_len"]) & 0xFFFFFFFF if ack is None else ack,
              dataofs=5, reserved=0,
              flags="A", window=65535, urgptr=0)
    if s["v"] == 4:
        ip = IP(version=4, ihl=5, tos=0, len=40, id=0, flags="DF", frag=0, ttl=64,
                proto=6, src=s["dst"], dst=s["src"])
    else:
        ip = IPv6(version=6, tc=s["ip"].tc, fl=s["ip"].fl, plen=20, nh=6, hlim=64,
                  src=s["dst"], dst=s["src"])
    return eth + bytes(ip / tcp)


def scapy_checksums_ok(frame: bytes) -> bool:
    """scapy's own check: recompute the IPv4 header and TCP checksums of ``frame``."""
    pkt = Ether(frame)
    got = []
    want = []
    if IP in pkt:
        got.append(pkt[IP].chksum)
        del pkt[IP].chksum
    got.append(pkt[TCP].chksum)
    del pkt[TCP].chksum
    rebuilt = Ether(bytes(pkt))
    if IP in rebuilt:
        want.append(rebuilt[IP].chksum)
    want.append(rebuilt[TCP].chksum)
    return got == want


def hexdiff(expected: bytes, got: bytes, care: list[int] | None = None) -> str:
    """Side-by-side hex of expected vs received, marking differing bytes."""
    lines = [f"expected {len(expected)} bytes, received {len(got)} bytes"]
    n = max(len(expected), len(got))
    for off in range(0, n, 16):
        e = expected[off:off + 16]
        g = got[off:off + 16]
        marks = ""
        for i in range(16):
            j = off + i
            if j >= n:
                break
            eb = expected[j] if j < len(expected) else None
            gb = got[j] if j < len(got) else None
            mask = care[j] if care is not None and j < len(care) else 0xFF
            if eb is None or gb is None or (eb & mask) != (gb & mask):
                marks += "^^ "
            else:
                marks += "   "
        lines.append(f"{off:04x}  exp {binascii.hexlify(e, ' ').decode():47}  "
                     f"got {binascii.hexlify(g, ' ').decode()}")
        if marks.strip():
            lines.append(" " * 10 + " " * 48 + "    " + marks)
    return "\n".join(lines)


# ---- one driver per PTF run -------------------------------------------------------------------
class _Session:
    """The NicDriver every test shares, and its event queues."""

    def __init__(self) -> None:
        self.drv: NicDriver | None = None
        self.error: str | None = None
        self.next_flow_id = 1
        self.psh: queue.Queue = queue.Queue()
        self.key_requests: queue.Queue = queue.Queue()
        self.lock = threading.Lock()

    def driver(self, params: dict) -> NicDriver:
        if self.error is not None:
            raise RuntimeError(f"the NIC could not be brought up for this run: {self.error}")
        if self.drv is None:
            drv = NicDriver(grpc_addr=params.get("grpc_addr", "127.0.0.1:9559"), device_id=0,
                            election_id=1)
            try:
                drv.connect()
                drv.load_pipeline(params["p4info"], params["json"])
            except Exception as e:
                # every later test fails with the same reason instead of a second
                # controller fighting for the same election id
                self.error = f"{type(e).__name__}: {e}"
                drv.close()
                raise
            drv.on_psh(lambda flow_id, seq, ts: self.psh.put((flow_id, seq, ts)))
            drv.on_key_request(lambda spi, src, dst: self.key_requests.put((spi, src, dst)))
            self.drv = drv
        return self.drv

    def flow_id(self) -> int:
        with self.lock:
            fid = self.next_flow_id
            self.next_flow_id += 1
        return fid


SESSION = _Session()


class P4nicTest(BaseTest):
    """Base of every p4nic PTF test: a programmed NIC, helpers, clean-up."""

    PROMISCUOUS = False

    def setUp(self) -> None:
        BaseTest.setUp(self)
        self.dataplane = ptf.dataplane_instance
        self.params = tu.test_params_get()
        self.drv = None
        self.drv = SESSION.driver(self.params)
        ports = dataclasses.replace(PORTS, priority_queues=int(self.params.get("priority_queues", 1)))
        self.drv.setup(ports, nic_macs=[NIC_MAC], promiscuous=self.PROMISCUOUS)
        for q in (self.drv.digests, SESSION.psh, SESSION.key_requests):
            _drain(q)
        self.dataplane.flush()

    def tearDown(self) -> None:
        try:
            if self.drv is not None:
                self.drv.clear_all()
        finally:
            BaseTest.tearDown(self)

    # ---- flows ---------------------------------------------------------------------------
    @staticmethod
    def new_flow_id() -> int:
        return SESSION.flow_id()

    # ---- packets ---------------------------------------------------------------------------
    def send(self, port: int, frame: bytes) -> None:
        tu.send_packet(self, port, bytes(frame))

    def expect(self, port: int, expected: bytes, dont_care: Iterable[tuple[int, int]] = (),
               what: str = "") -> bytes:
        """The next frame on ``port`` must equal ``expected`` except the byte ranges
        (offset, length) of ``dont_care``; returns the received frame."""
        m = Mask(bytes(expected))
        for off, size in dont_care:
            m.set_do_not_care(off * 8, size * 8)
        res = tu.dp_poll(self, device_number=0, port_number=port, timeout=WAIT)
        if isinstance(res, self.dataplane.PollFailure):
            self.fail(f"{what or 'expected frame'}: nothing arrived on port {port}\n"
                      + hexdiff(bytes(expected), b""))
        got = bytes(res.packet)
        if not m.pkt_match(got):
            self.fail(f"{what or 'frame'} on port {port} differs from the expected bytes\n"
                      + hexdiff(bytes(expected), got, m.mask))
        return got

    def expect_unchanged(self, port: int, frame: bytes, what: str = "") -> bytes:
        return self.expect(port, frame, what=what or "unchanged frame")

    def no_other_packets(self) -> None:
        tu.verify_no_other_packets(self)

    def no_packet_on(self, port: int) -> None:
        res = tu.dp_poll(self, device_number=0, port_number=port,
                         timeout=ptf.ptfutils.default_negative_timeout)
        if isinstance(res, self.dataplane.PollSuccess):
            self.fail(f"unexpected frame on port {port}:\n"
                      + hexdiff(b"", bytes(res.packet)))

    # ---- counters --------------------------------------------------------------------------
    def drops(self) -> dict[str, tuple[int, int]]:
        return self.drv.drop_counters()

    def wait_drop(self, before: dict[str, tuple[int, int]], reason: str, packets: int,
                  nbytes: int) -> dict[str, tuple[int, int]]:
        """Wait until ``reason`` counted ``packets``/``nbytes`` more than ``before``; every
        other reason must stay where it was."""
        want = (before[reason][0] + packets, before[reason][1] + nbytes)
        now = self._wait_value(self.drops, lambda d: d[reason][0] >= want[0])
        self.assertEqual(now[reason], want, f"drop counter '{reason}' (packets, bytes)")
        for r, v in now.items():
            if r != reason:
                self.assertEqual(v, before.get(r, (0, 0)),
                                 f"drop counter '{r}' moved while testing '{reason}'")
        return now

    def assert_no_drops(self, before: dict[str, tuple[int, int]]) -> None:
        self.assertEqual(self.drops(), before, "a drop counter moved")

    def wait_flow_counters(self, handle: Any, packets: int) -> tuple[int, int]:
        return self._wait_value(lambda: self.drv.flow_counters(handle),
                                lambda v: v[0] >= packets)

    def _wait_value(self, read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
        deadline = time.monotonic() + WAIT
        value = read()
        while not done(value) and time.monotonic() < deadline:
            time.sleep(0.05)
            value = read()
        return value

    # ---- digests ----------------------------------------------------------------------------
    def next_event(self, q: queue.Queue, what: str) -> Any:
        try:
            return q.get(timeout=WAIT)
        except queue.Empty:
            self.fail(f"no {what} within the bounded wait")

    def next_digest(self, name: str) -> dict:
        """The next digest (of any name) must be ``name``; returns its fields."""
        d = self.next_event(self.drv.digests, f"digest {name}")
        self.assertEqual(d.name, name, f"expected digest {name}, got {d.name} {d.fields}")
        return d.fields

    def assert_no_event(self, q: queue.Queue, what: str) -> None:
        try:
            item = q.get_nowait()
        except queue.Empty:
            return
        self.fail(f"unexpected {what}: {item}")


def _drain(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return

