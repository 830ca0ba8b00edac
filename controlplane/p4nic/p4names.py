"""Every name and constant of p4src/ the host software depends on, in one place.

Names are the fully qualified P4Info names p4c (and pybm-p4c) give the
objects of p4src/p4nic.p4; constants mirror p4src/include/defines.p4. When
the P4 program changes, this is the one module to update.
"""

from __future__ import annotations

# ---- tables ---------------------------------------------------------------------
PORT_CONFIG = "NicIngress.port_config"
RTP_PORTS = "NicIngress.rtp_ports"
MAC_FILTER = "NicIngress.rx_checks.mac_filter"
L4_PROTO_ALLOWED = "NicIngress.rx_checks.l4_proto_allowed"
FLOW_V4 = "NicIngress.flow_assoc.flow_v4"
FLOW_V6 = "NicIngress.flow_assoc.flow_v6"
ESP_FLOW = "NicIngress.flow_assoc.esp_flow"
SA_V4 = "NicIngress.key_memory.sa_v4"
SA_V6 = "NicIngress.key_memory.sa_v6"
ESP_FLOW_V6 = "NicIngress.flow_assoc.esp_flow_v6"
CAPTURE_TRIGGER = "NicIngress.capture.capture_trigger"
MERGE_STREAM_V4 = "NicIngress.merge.merge_stream_v4"
MERGE_STREAM_V6 = "NicIngress.merge.merge_stream_v6"
MERGE_GROUP = "NicIngress.merge.merge_group"
MERGE_WQE = "NicIngress.merge.merge_wqe"
REASM_POLICY = "NicIngress.reassembly.reasm_policy"
PORT_DESCRIPTORS = "NicEgress.delivery.port_descriptors"

FLOW_TABLES = (FLOW_V4, FLOW_V6, ESP_FLOW, ESP_FLOW_V6)
SA_TABLES = (SA_V4, SA_V6)

# ---- match fields (P4Info names) ---------------------------------------------------
MF_IN_PORT = "meta.in_port"
MF_EGRESS_PORT = "sm.egress_port"
MF_UDP_DST_PORT = "hdr.udp.dst_port"
MF_ETH_DST = "hdr.ethernet.dst_addr"
MF_IP_PROTO = "meta.ip_proto"
MF_IPV4_SRC = "hdr.ipv4.src_addr"
MF_IPV4_DST = "hdr.ipv4.dst_addr"
MF_IPV4_PROTO = "hdr.ipv4.protocol"
MF_IPV6_SRC = "hdr.ipv6.src_addr"
MF_IPV6_DST = "hdr.ipv6.dst_addr"
MF_IPV6_NEXT_HDR = "hdr.ipv6.next_hdr"
MF_L4_SRC_PORT = "meta.l4_src_port"
MF_L4_DST_PORT = "meta.l4_dst_port"
MF_ESP_SPI = "hdr.esp.spi"
MF_MERGE_GROUP = "meta.merge_group"
MF_MERGE_PSN = "meta.merge_psn"
# capture_trigger keys
MF_DIRECTION = "meta.direction"
MF_CAP_IN_PORT = "meta.in_port"
MF_CAP_IP_SRC = "meta.ip_src"
MF_CAP_IP_DST = "meta.ip_dst"
MF_CAP_IP_PROTO = "meta.ip_proto"
MF_CAP_L4_SRC = "meta.l4_src_port"
MF_CAP_L4_DST = "meta.l4_dst_port"
MF_CAP_PAYLOAD_HEAD = "meta.l4_payload_head"

# ---- actions ----------------------------------------------------------------------
SET_PORT_ROLE = "NicIngress.set_port_role"
MARK_RTP = "NicIngress.mark_rtp"
ACCEPT_MAC = "NicIngress.rx_checks.accept_mac"
ACCEPT_PROTO = "NicIngress.rx_checks.accept_proto"
SET_FLOW = "NicIngress.flow_assoc.set_flow"
SET_KEY = "NicIngress.key_memory.set_key"
CAPTURE = "NicIngress.capture.capture"
SET_STREAM = "NicIngress.merge.set_stream"
SET_GROUP = "NicIngress.merge.set_group"
POST_FRAME = "NicIngress.merge.post_frame"
REASSEMBLE = "NicIngress.reassembly.reassemble"
NO_DESCRIPTOR = "NicEgress.delivery.no_descriptor"

# ---- counters -----------------------------------------------------------------------
DROP_REASONS = "NicIngress.drop_reasons"
IPSEC_EVENTS = "NicIngress.ipsec.ipsec_events"
REASM_EVENTS = "NicIngress.reassembly.reasm_events"
MERGE_PACKETS = "NicIngress.merge.merge_packets"        # index group << 3 | MS_*
MERGE_COMPLETIONS = "NicIngress.merge.merge_completions"
MERGE_ERRORS = "NicIngress.merge.merge_errors"
MERGE_JUMPS = "NicIngress.merge.merge_jumps"

# ---- digests ------------------------------------------------------------------------
DIGEST_PSH = "psh_notify_t"
DIGEST_KEY_REQUEST = "key_request_t"
DIGEST_KEY_REQUEST_V6 = "key_request_v6_t"

# ---- controller headers ---------------------------------------------------------------
PACKET_OUT = "packet_out"
PACKET_IN = "packet_in"

# ---- constants of defines.p4 -----------------------------------------------------------
CPU_PORT = 255

ROLE_NONE = 0
ROLE_WIRE = 1
ROLE_HOST = 2
ROLE_CRYPTO = 3
ROLE_LOOP = 4

DIR_RX = 0
DIR_TX = 1
DIRECTIONS = {"rx": DIR_RX, "tx": DIR_TX}

IP_PROTO_ICMP = 1
IP_PROTO_TCP = 6
IP_PROTO_UDP = 17
IP_PROTO_ESP = 50
IP_PROTO_ICMPV6 = 58
# what the NIC accepts by default (l4_proto_allowed)
DEFAULT_L4_PROTOCOLS = (IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP, IP_PROTO_ESP, IP_PROTO_ICMPV6)

FLOW_STATES = {"IDLE": 0, "MONITOR": 1, "ZERO_COPY": 2}
TS_MODES = {"none": 0, "in_packet": 1, "record": 2}

MAX_FLOWS = 1024          # per-flow registers are indexed by flow id

# drop_reasons counter index -> name (DROP_* of defines.p4)
DROP_REASON_NAMES = {
    0: "none",
    1: "dmac",
    2: "runt",
    3: "giant",
    4: "truncated",
    5: "ipv4_version",
    6: "ipv4_ihl",
    7: "ipv4_total_len",
    8: "ipv4_checksum",
    9: "unknown_proto",
    10: "tcp_header",
    11: "udp_length",
    12: "ipv6_version",
    13: "ipv6_length",
    14: "port_unconfigured",
    15: "parser_other",
}
NUM_DROP_REASONS = 16

# multicast group encoding (NicIngress apply block):
#   mgid = MCAST_BASE | deliver_port << 4 | with_record << 3 | ack_code
#   ack_code: 0 = no NIC ACK, else 1 + the wire port the ACK leaves on
MCAST_BASE = 0x1000
RID_DELIVER = 0
RID_RECORD = 1
RID_ACK = 2
MAX_ACK_CODE = 7          # ack_code shares bits 0..2 with nothing else: wire ports 0..6
MAX_DELIVER_PORT = 255    # deliver_port << 4 must stay below MCAST_BASE

CAPTURE_SESSION = 64

# redundant-stream merge (merge.p4)
MERGE_GROUPS = 64
MERGE_WINDOW_MAX = 480     # (WINDOW_WORDS - 1) * 32 PSNs
MERGE_FRAME_SLOTS = 32     # frame counters per group and parity
MGF_OVERWRITE = 0x01
MGF_ESN = 0x02
MGF_CYCLIC = 0x04
MO_PLACE = 1
MO_CQ_OK = 2
MO_CQ_ERR = 4

PRIO_REGULAR = 7

# packet-out operations / packet-in reasons
OUT_OP_TX = 0
OUT_OP_CLOCK_PROBE = 1
OUT_OP_INJECT_RX = 2
IN_REASON_CLOCK = 1
IN_REASON_CRYPTO = 2
MAX_SAS = 1024            # anti-replay state per key index (crypto.p4)

# p4nic host-side header types (magic "PN")
P4NIC_MAGIC = 0x504E
P4NIC_VERSION = 1
PT_RX_META = 1
PT_TS_RECORD = 2
PT_PLACEMENT = 3
PT_CAPTURE = 4
PT_CLOCK = 5
PT_MERGE_PLACE = 6
PT_COMPLETION = 7

# merge placement record flags
MPF_OVERWRITE = 0x01      # a duplicate written again (overwrite mode)
MPF_MARKER = 0x02         # the RTP marker bit was set
MPF_JUMP = 0x04           # the group resynchronised at this packet
MPF_COMPLETES = 0x08      # the frame's completion header follows the placement header
# completion status
CQE_OK = 0
CQE_MISSING = 1

RXF_TS_VALID = 0x0001
RXF_KEY_VALID = 0x0002
RXF_NO_KEY = 0x0004
RXF_FLOW_HIT = 0x0008
RXF_RTP = 0x0010
RXF_DECRYPTED = 0x0020
RXF_ICV_OK = 0x0040
RXF_TUNNEL = 0x0080
RXF_REASSEMBLED = 0x0100
RXF_PASSES_SHIFT = 12     # flags bits 15..12: crypto engine passes


def mcast_group_id(deliver_port: int, with_record: bool, ack_port: int | None) -> int:
    """The multicast group NicIngress picks for a delivery (see the P4 apply block)."""
    ack_code = 0 if ack_port is None else ack_port + 1
    return MCAST_BASE | (deliver_port << 4) | (int(with_record) << 3) | ack_code


# lookaside crypto engine (seed 004): command frames on the crypto port, in both directions
ETHERTYPE_P4NIC_CRYPTO = 0x88B5   # IEEE local experimental ethertype 1
PT_CRYPTO = 8                     # p4nic_crypto_t, 28 bytes after the Ethernet header
CRYPTO_HDR_SIZE = 28
CRYPTO_OP_DECRYPT = 1             # body: an IP datagram carrying ESP
CRYPTO_OP_KEY_LOAD = 2            # body: cipher, key_len, salt_len, pad, key, salt
CRYPTO_OP_KEY_DELETE = 3          # no body
CRYPTO_ST_REQUEST = 0
CRYPTO_ST_OK = 1                  # ICV verified / key loaded or deleted
CRYPTO_ST_BAD_ICV = 2
CRYPTO_ST_NO_KEY = 3
CRYPTO_ST_MALFORMED = 4
CRYPTO_ST_UNSUPPORTED = 5
CRYPTO_MODE_NONE = 0              # requests and error answers
CRYPTO_MODE_TRANSPORT = 1
CRYPTO_MODE_TUNNEL = 2            # the trailer's next header was 4 (IPv4) or 41 (IPv6)
CRYPTO_CIPHER_AES_GCM_128 = 1
CRYPTO_CIPHER_AES_GCM_256 = 2
CRYPTO_CIPHER_CHACHA20_POLY1305 = 3
CRYPTO_CIPHER_AES_CBC_HMAC_SHA256 = 4   # RFC 3602 AES-128-CBC + RFC 4868 HMAC-SHA-256-128


# ---- fragment reassembly (reassembly.p4) ------------------------------------------
REASM_SLOTS = 64
REASM_MAX_BYTES = 4096      # IP payload of a datagram the NIC reassembles
# reasm_events indexes, in order (RE_* in defines.p4)
REASM_EVENT_NAMES = ("accepted", "reassembled", "duplicate", "overlap", "tiny", "timeout",
                     "slot_busy", "too_big", "bad_length", "unsupported", "stale", "passes",
                     "not_enabled")
