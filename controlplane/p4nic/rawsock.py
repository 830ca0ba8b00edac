"""Raw packet sockets that return frames exactly as they were on the wire.

Linux moves the outermost 802.1Q tag of every received frame into the
socket's PACKET_AUXDATA before a packet socket sees it. Host-side records
(capture, placement, timestamp records) are not Ethernet frames: whenever
their bytes 12-13 happen to read 0x8100 or 0x88a8 the kernel would cut four
bytes out of them. Reading with recvmsg and putting the tag back, as libpcap
does, keeps every frame intact. (pybm-switch's ports do the same; p4nic does
not import pybm, so the few lines live here too.)
"""

from __future__ import annotations

import ctypes
import logging
import os
import select
import socket
import struct
import threading

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
ETH_P_8021Q = 0x8100
_AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata
MAX_FRAME = 65536
PACKET_STATISTICS = 6
SO_RCVBUFFORCE = 33
CLONE_NEWNET = 0x40000000

log = logging.getLogger("p4nic.rawsock")


def open_raw(iface: str, rcvbuf: int | None = None, promiscuous: bool = False) -> socket.socket:
    """A bound AF_PACKET socket on ``iface`` with auxiliary data enabled.

    Created with protocol 0 (it receives nothing) and given ETH_P_ALL only by bind():
    a socket created with ETH_P_ALL queues frames of every interface (loopback's
    gRPC traffic, say) until it is bound, and those would be read as if they had
    come from ``iface``."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        s.bind((iface, ETH_P_ALL))      # (Python puts it in network order)
        if promiscuous:
            ifindex = socket.if_nametoindex(iface)
            mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
            s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    except OSError:
        s.close()
        raise
    return s


def recv_frame(sock: socket.socket) -> tuple[bytes, int]:
    """-> (frame with any VLAN tag the kernel stripped put back, packet type)."""
    data, ancdata, _flags, addr = sock.recvmsg(MAX_FRAME, socket.CMSG_SPACE(64))
    for level, kind, raw in ancdata:
        if level != SOL_PACKET or kind != PACKET_AUXDATA or len(raw) < _AUXDATA.size:
            continue
        status, _len, _snap, _mac, _net, tci, tpid = _AUXDATA.unpack_from(raw)
        if tci or status & TP_STATUS_VLAN_VALID:
            if not (tpid or status & TP_STATUS_VLAN_TPID_VALID):
                tpid = ETH_P_8021Q
            data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
        break
    return data, addr[2]


def open_raw_in_netns(iface: str, netns: str | None = None, rcvbuf: int | None = None,
                      promiscuous: bool = False) -> socket.socket:
    """``rawsock.open_raw`` on ``iface`` of network namespace ``netns`` (``ip netns`` name).

    A socket belongs to the namespace it was created in for its whole life, so
    a short-lived thread enters the namespace (setns changes only the calling
    thread's), opens the socket there and exits; the caller's threads stay put.
    """
    if netns is None:
        return open_raw(iface, rcvbuf=rcvbuf, promiscuous=promiscuous)
    result: dict[str, object] = {}

    def enter_and_open() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({netns}): {os.strerror(err)}")
            finally:
                os.close(fd)
            result["sock"] = open_raw(iface, rcvbuf=rcvbuf, promiscuous=promiscuous)
        except BaseException as e:  # handed to the caller's thread
            result["error"] = e

    t = threading.Thread(target=enter_and_open, name=f"netns-{netns}")
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["sock"]  # type: ignore[return-value]


class RawPortWorker:
    """A raw socket on one interface served by a reader thread (the placement agent,
    the crypto engine): opening it (in a namespace, with a receive buffer beyond
    net.core.rmem_max where root may), reading it in bursts (``_frame`` per frame),
    stopping, the kernel's drop count."""

    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _kernel_drops: int = 0

    THREAD_NAME = "raw-port"
    iface: str | None
    netns: str | None
    rcvbuf: int
    promiscuous: bool

    BURST = 256          # frames read in a row before looking at stop (and _idle) again

    def _frame(self, data: bytes) -> None:
        """Serve one received frame (not our own transmissions)."""
        raise NotImplementedError

    def _frame_failed(self, data: bytes) -> None:
        """_frame raised: count it (the subclass) and go on with the next frame."""
        log.exception("%s: frame of %d bytes", self.THREAD_NAME, len(data))

    def _idle(self) -> None:
        """Called before each wait for frames."""

    def _read(self) -> None:
        sock = self._sock
        assert sock is not None
        serve = self._frame
        while not self._stop.is_set():
            self._idle()
            ready, _, _ = select.select([sock], [], [], 0.05)
            if not ready:
                continue
            for _ in range(self.BURST):
                try:
                    data, pkttype = recv_frame(sock)
                except BlockingIOError:
                    break
                except OSError as e:
                    if not self._stop.is_set():
                        log.error("%s socket %s: %s", self.THREAD_NAME, self.iface, e)
                    return
                if pkttype == PACKET_OUTGOING:        # our own transmissions
                    continue
                try:
                    serve(data)
                except Exception:                     # never let one frame stop the reader
                    self._frame_failed(data)

    def start(self) -> None:
        """Open the interface and serve its frames in the reader thread (``_read``)."""
        if self.iface is None:
            raise ValueError(f"{type(self).__name__} without an interface: call it per frame")
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._open(self.iface, self.netns, self.rcvbuf, self.promiscuous)
        self._thread = threading.Thread(target=self._read, name=self.THREAD_NAME, daemon=True)
        self._thread.start()

    def _open(self, iface: str, netns: str | None, rcvbuf: int, promiscuous: bool) -> None:
        sock = open_raw_in_netns(iface, netns, rcvbuf=rcvbuf, promiscuous=promiscuous)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
        except OSError:
            pass
        sock.setblocking(False)
        self._sock = sock
        self._stop.clear()

    def kernel_drops(self) -> int:
        """Frames the kernel dropped because the socket buffer was full."""
        if self._sock is not None:
            try:
                raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
                self._kernel_drops += struct.unpack("II", raw)[1]   # reset by each read
            except OSError:
                pass
        return self._kernel_drops

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.kernel_drops()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self):  # noqa: ANN204 (the subclass)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
