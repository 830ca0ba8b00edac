"""Port back ends: Linux interfaces (raw sockets), pcap files, in-process queues.

A :class:`PortManager` owns the ports of one switch. It delivers received
frames with ``switch.receive(port, data)`` and installs itself as the
switch's ``transmit`` callback; frames for the CPU port go to the packet-in
handler (the P4Runtime server), frames for ports that do not exist are
dropped and counted, as simple_switch does.
"""

from __future__ import annotations

import logging
import os
import queue
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from pybm.switch.pcap import PcapWriter, read_pcap

log = logging.getLogger("pybm.ports")

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_OUTGOING = 4
PACKET_AUXDATA = 8
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = 35        # SO_TIMESTAMPNS_OLD; its control message is SCM_TIMESTAMPNS
_TIMESPEC = struct.Struct("=qq")
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
ETH_P_8021Q = 0x8100
# struct tpacket_auxdata: status, len, snaplen (u32); mac, net, vlan_tci, vlan_tpid (u16)
_AUXDATA = struct.Struct("=IIIHHHH")
MAX_FRAME = 65535


def restore_vlan_tag(data: bytes, ancdata: list[tuple[int, int, bytes]]) -> bytes:
    """Put back the 802.1Q tag the kernel moved into PACKET_AUXDATA.

    Linux strips the outermost VLAN tag of every received frame
    (skb_vlan_untag) before packet sockets see it, whatever the NIC's
    rx-vlan offload says, and reports it in the auxiliary data instead.
    libpcap, and therefore simple_switch, re-inserts it; so do we.
    """
    for level, kind, raw in ancdata:
        if level != SOL_PACKET or kind != PACKET_AUXDATA or len(raw) < _AUXDATA.size:
            continue
        status, _len, _snap, _mac, _net, tci, tpid = _AUXDATA.unpack_from(raw)
        if tci or status & TP_STATUS_VLAN_VALID:
            if not (tpid or status & TP_STATUS_VLAN_TPID_VALID):
                tpid = ETH_P_8021Q
            return data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    return data


def arrival_monotonic_ns(ancdata: list[tuple[int, int, bytes]]) -> int | None:
    """The kernel's receive time of a frame (SCM_TIMESTAMPNS, CLOCK_REALTIME) as a
    CLOCK_MONOTONIC time, or None when the frame carries no timestamp."""
    for level, kind, raw in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(raw)
            if sec == 0 and nsec == 0:
                return None
            return sec * 1_000_000_000 + nsec + time.monotonic_ns() - time.time_ns()
    return None


class SwitchLike(Protocol):
    def receive(self, port: int, data: bytes, arrival_ns: int | None = None) -> None: ...


class Port:
    """One switch port; subclasses move frames to and from something real."""

    def __init__(self, number: int, name: str):
        self.number = number
        self.name = name
        self.rx = 0
        self.tx = 0
        self.tx_errors = 0
        self.pcap_in: PcapWriter | None = None
        self.pcap_out: PcapWriter | None = None

    def start(self, deliver: Callable[[int, bytes], None]) -> None:
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        for w in (self.pcap_in, self.pcap_out):
            if w is not None:
                w.close()


class InterfacePort(Port):
    """A Linux network interface opened as an AF_PACKET raw socket."""

    def __init__(self, number: int, ifname: str):
        super().__init__(number, ifname)
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind((ifname, 0))
            # absorb bursts while a packet is being processed (BMv2 has deeper queues too);
            # forced as root: SO_RCVBUF alone stops at net.core.rmem_max (208 KiB by default)
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
            except PermissionError:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            # VLAN tags the kernel strips come back as auxiliary data
            self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            # the kernel's receive time of each frame: the ingress timestamp is when a
            # frame arrived, not when the (single-threaded) pipeline got to it
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError as e:
            raise OSError(f"cannot open interface '{ifname}' for port {number}: {e.strerror}") from e
        ifindex = socket.if_nametoindex(ifname)
        mreq = ifindex.to_bytes(4, "little") + PACKET_MR_PROMISC.to_bytes(2, "little") + bytes(10)
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        except OSError as e:  # not fatal: the interface may already be promiscuous
            log.warning("port %d (%s): cannot enable promiscuous mode: %s", number, ifname, e)

    def start(self, deliver: Callable[[int, bytes, int | None], None]) -> None:
        pass  # the manager's receive thread reads every interface port (read_one)

    def read_one(self) -> tuple[bytes, int | None] | None:
        """The next received frame and its kernel receive time (our own transmissions
        skipped); None when there is none ready."""
        while True:
            try:
                data, ancdata, _flags, addr = self.sock.recvmsg(MAX_FRAME, socket.CMSG_SPACE(128),
                                                                socket.MSG_DONTWAIT)
            except OSError:       # nothing ready (EAGAIN), or the port is going away
                return None
            if addr[2] != PACKET_OUTGOING:
                break
        arrival = arrival_monotonic_ns(ancdata)
        data = restore_vlan_tag(data, ancdata)
        self.rx += 1
        if self.pcap_in is not None:
            self.pcap_in.write(data)
        return data, arrival

    def send(self, data: bytes) -> None:
        try:
            self.sock.send(data)
            self.tx += 1
        except OSError as e:
            self.tx_errors += 1
            log.warning("port %d (%s): transmit of %d bytes failed: %s",
                        self.number, self.name, len(data), e.strerror)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        super().close()


class FilePort(Port):
    """simple_switch --use-files: reads NAME_in.pcap, writes NAME_out.pcap."""

    def __init__(self, number: int, name: str, directory: str = "."):
        super().__init__(number, name)
        self.in_path = os.path.join(directory, f"{name}_in.pcap")
        self.out = PcapWriter(os.path.join(directory, f"{name}_out.pcap"))
        self.done = threading.Event()

    def start(self, deliver: Callable[[int, bytes], None]) -> None:
        pass  # the manager feeds all file ports from one thread, in file order

    def send(self, data: bytes) -> None:
        self.out.write(data)
        self.tx += 1

    def close(self) -> None:
        self.out.close()
        super().close()


class QueuePort(Port):
    """In-process port for unit tests: ``inject`` frames in, ``get`` frames out."""

    def __init__(self, number: int, name: str | None = None):
        super().__init__(number, name or f"q{number}")
        self.outq: queue.Queue[bytes] = queue.Queue()
        self._deliver: Callable[[int, bytes], None] | None = None

    def start(self, deliver: Callable[[int, bytes], None]) -> None:
        self._deliver = deliver

    def inject(self, data: bytes) -> None:
        assert self._deliver is not None, "port not started"
        self.rx += 1
        self._deliver(self.number, data)

    def send(self, data: bytes) -> None:
        self.tx += 1
        self.outq.put(data)

    def get(self, timeout: float = 1.0) -> bytes | None:
        try:
            return self.outq.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list[bytes]:
        out = []
        while True:
            try:
                out.append(self.outq.get_nowait())
            except queue.Empty:
                return out


class PortManager:
    def __init__(self, switch: Any, cpu_port: int | None = None):
        self.switch = switch
        self.cpu_port = cpu_port
        self.ports: dict[int, Port] = {}
        self.packet_in: Callable[[bytes], None] | None = None
        self.tx_no_port = 0
        self.pcap_dir: str | None = None
        self._receiver: threading.Thread | None = None
        self._closing = False
        switch.transmit = self.transmit

    def add(self, port: Port) -> Port:
        if port.number in self.ports:
            raise ValueError(f"port {port.number} is already bound to {self.ports[port.number].name}")
        if self.cpu_port is not None and port.number == self.cpu_port:
            raise ValueError(f"port {port.number} is the CPU port")
        if self.pcap_dir is not None:
            port.pcap_in = PcapWriter(os.path.join(self.pcap_dir, f"{port.name}_in.pcap"))
            port.pcap_out = PcapWriter(os.path.join(self.pcap_dir, f"{port.name}_out.pcap"))
        self.ports[port.number] = port
        return port

    def start(self) -> None:
        interfaces = [p for p in self.ports.values() if isinstance(p, InterfacePort)]
        for p in self.ports.values():
            p.start(self._deliver)
        if interfaces:
            self._receiver = threading.Thread(target=self._receive_loop, args=(interfaces,),
                                              name="receive", daemon=True)
            self._receiver.start()

    def _receive_loop(self, interfaces: list[InterfacePort]) -> None:
        """One thread reads every interface and runs the pipeline: round after round one
        frame from each port that has one, as BMv2's port manager reads them, so a port
        with a backlog cannot keep another waiting (ports each in their own thread, taking
        turns at the switch's lock, did: the one with the backlog got it again and again);
        when no port has a frame left, wait for one. Frames wait in the sockets' buffers
        meanwhile (the kernel drops beyond them, as for simple_switch)."""
        by_fd = {p.sock.fileno(): p for p in interfaces}
        poller = select.poll()
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        receive = self.switch.receive
        while not self._closing:
            try:
                ready = [by_fd[fd] for fd, _ev in poller.poll(100)]
            except OSError:
                return
            rounds = 0
            while ready and not self._closing:
                still = []
                for port in ready:
                    got = port.read_one()
                    if got is None:
                        continue
                    still.append(port)
                    try:
                        receive(port.number, got[0], got[1])
                    except Exception:  # never let one frame stop the switch
                        log.exception("frame of %d bytes from port %d", len(got[0]), port.number)
                ready = still
                rounds += 1
                if ready and rounds % 8 == 0:   # a port that has a frame since joins in
                    ready += [p for p in (by_fd[fd] for fd, _ev in poller.poll(0)) if p not in ready]

    def _deliver(self, port: int, data: bytes, arrival_ns: int | None = None) -> None:
        self.switch.receive(port, data, arrival_ns)

    def transmit(self, port: int, data: bytes) -> None:
        if port == self.cpu_port and self.cpu_port is not None:
            if self.packet_in is not None:
                self.packet_in(data)
            return
        p = self.ports.get(port)
        if p is None:
            self.tx_no_port += 1
            return
        if p.pcap_out is not None:
            p.pcap_out.write(data)
        p.send(data)

    def run_files(self, wait: float = 0.0) -> int:
        """Feed every FilePort's input to the switch; -> number of frames fed.

        Frames are interleaved across ports in timestamp order, as fast as the
        switch takes them (simple_switch does not pace file input either).
        """
        if wait:
            time.sleep(wait)
        feed: list[tuple[float, int, int, bytes]] = []
        for p in self.ports.values():
            if isinstance(p, FilePort):
                for i, (ts, data) in enumerate(read_pcap(p.in_path) if os.path.exists(p.in_path) else []):
                    feed.append((ts, p.number, i, data))
        feed.sort(key=lambda x: (x[0], x[1], x[2]))
        for _ts, number, _i, data in feed:
            port = self.ports[number]
            port.rx += 1
            if port.pcap_in is not None:
                port.pcap_in.write(data)
            self.switch.receive(number, data)
        for p in self.ports.values():
            if isinstance(p, FilePort):
                p.done.set()
        return len(feed)

    def close(self) -> None:
        self._closing = True
        if self._receiver is not None:
            self._receiver.join(timeout=5)
            self._receiver = None
        for p in self.ports.values():
            p.close()
