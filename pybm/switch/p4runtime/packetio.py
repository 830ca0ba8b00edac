"""PacketOut / PacketIn <-> frames on the CPU port (spec "Packet I/O").

A PacketOut becomes the bytes of the ``@controller_header("packet_out")``
header (its fields packed MSB first, in P4Info order, as the P4 parser will
extract them) followed by the payload, received by the switch on the CPU
port. A frame the switch sends to the CPU port starts with the
``@controller_header("packet_in")`` header: it is stripped and its fields
become the PacketIn metadata. This is what BMv2's PI layer does.
"""

from __future__ import annotations

from p4.v1 import p4runtime_pb2

from pybm.switch.p4runtime import convert
from pybm.switch.p4runtime.errors import INVALID_ARGUMENT, P4RTError
from pybm.switch.p4runtime.pipeline import ControllerHeader


def packet_out_frame(header: ControllerHeader | None, msg: p4runtime_pb2.PacketOut) -> bytes:
    """The frame to inject for a PacketOut; P4RTError if its metadata does not match P4Info."""
    if header is None:
        if msg.metadata:
            raise P4RTError(INVALID_ARGUMENT,
                            "PacketOut carries metadata but the P4Info has no "
                            "@controller_header(\"packet_out\")")
        return msg.payload
    ids = {fid: (name, width) for fid, name, width in header.fields}
    values: dict[int, int] = {}
    for md in msg.metadata:
        if md.metadata_id not in ids:
            raise P4RTError(INVALID_ARGUMENT, f"PacketOut: unknown metadata id {md.metadata_id}")
        if md.metadata_id in values:
            raise P4RTError(INVALID_ARGUMENT,
                            f"PacketOut: metadata '{ids[md.metadata_id][0]}' given twice")
        name, width = ids[md.metadata_id]
        values[md.metadata_id] = convert.decode_uint(md.value, width, f"PacketOut metadata '{name}'")
    missing = [name for fid, name, _ in header.fields if fid not in values]
    if missing:
        raise P4RTError(INVALID_ARGUMENT, f"PacketOut: missing metadata {', '.join(missing)}")
    acc = 0
    for fid, _, width in header.fields:
        acc = (acc << width) | values[fid]
    acc <<= header.nbytes * 8 - header.nbits  # a header that is not byte-aligned ends padded
    return acc.to_bytes(header.nbytes, "big") + msg.payload


def packet_in_message(header: ControllerHeader | None, frame: bytes
                      ) -> p4runtime_pb2.PacketIn | None:
    """The PacketIn for a frame sent to the CPU port; None if it is too short for the header."""
    if header is None:
        return p4runtime_pb2.PacketIn(payload=frame)
    n = header.nbytes
    if len(frame) < n:
        return None
    acc = int.from_bytes(frame[:n], "big") >> (n * 8 - header.nbits)
    values = []
    for _, _, width in reversed(header.fields):
        values.append(acc & ((1 << width) - 1))
        acc >>= width
    msg = p4runtime_pb2.PacketIn(payload=frame[n:])
    for (fid, _, _), v in zip(header.fields, reversed(values)):
        msg.metadata.add(metadata_id=fid, value=convert.encode_uint(v))
    return msg
