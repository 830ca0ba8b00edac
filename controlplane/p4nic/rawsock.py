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

import socket
import struct

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


def open_raw(iface: str, rcvbuf: int | None = None, promiscuous: bool = False) -> socket.socket:
    """A bound AF_PACKET socket on ``iface`` with auxiliary data enabled."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        s.bind((iface, 0))
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
