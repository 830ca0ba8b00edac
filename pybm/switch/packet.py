"""Per-packet state that is not part of the PHV (BMv2's Packet object)."""

from __future__ import annotations

# v1model instance_type values (simple_switch's PktInstanceType).
NORMAL = 0
INGRESS_CLONE = 1
EGRESS_CLONE = 2
COALESCED = 3
RECIRC = 4
REPLICATION = 5
RESUBMIT = 6

NO_TRUNCATE = 1 << 62
# simple_switch gives a received packet a buffer of its length + 512 bytes, and
# every copy (clone, replica, resubmit, recirculation) keeps that buffer size: a
# packet can never grow by more than 512 bytes over what it was received as.
BUFFER_HEADROOM = 512


class Packet:
    """One packet instance in flight.

    ``data`` holds the bytes the parser reads; ``off`` is where parsing stopped,
    so ``data[off:]`` is the payload the deparser appends. The flags mirror the
    simple_switch packet registers (clone, resubmit, recirculate, digest,
    truncation, packet length).
    """

    __slots__ = (
        "F", "data", "off", "ingress_port", "egress_port", "ilen", "plen",
        "exit", "clone_session", "clone_fl", "resubmit_fl", "recirc_fl",
        "learn_id", "trunc", "priority_q", "enq_ts", "packet_id", "copy_id",
        "parser_error", "checksum_error", "ingress_data", "capacity",
    )

    def __init__(self, data: bytes, ingress_port: int, packet_id: int = 0, copy_id: int = 0):
        self.F: list[int] = []
        self.data = data
        self.off = 0
        self.ingress_port = ingress_port
        self.egress_port = 0
        self.ilen = len(data)  # ingress length: what counters count
        self.plen = len(data)  # packet length register (add/remove_header adjust it)
        self.exit = False
        self.clone_session: int | None = None
        self.clone_fl = 0
        self.resubmit_fl = 0
        self.recirc_fl = 0
        self.learn_id = 0
        self.trunc = NO_TRUNCATE
        self.priority_q = 0
        self.enq_ts = 0
        self.packet_id = packet_id
        self.copy_id = copy_id
        self.parser_error = 0
        self.checksum_error = False
        self.ingress_data = data  # the bytes as they entered this ingress pass
        self.capacity = len(data) + BUFFER_HEADROOM   # copies inherit it (see above)

    def clear_flags(self) -> None:
        self.exit = False
        self.clone_session = None
        self.clone_fl = 0
        self.resubmit_fl = 0
        self.recirc_fl = 0
        self.learn_id = 0
        self.trunc = NO_TRUNCATE

    def __repr__(self) -> str:
        return f"<Packet {self.packet_id}.{self.copy_id} in={self.ingress_port} len={len(self.data)}>"
