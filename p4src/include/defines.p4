/* p4nic — constants shared by every control.
 *
 * Port map (also in README.md). Ports are configured at run time through the
 * port_config table; these are the numbers the driver uses by default.
 */
#ifndef _P4NIC_DEFINES_P4_
#define _P4NIC_DEFINES_P4_

typedef bit<9>  port_t;
typedef bit<48> mac_addr_t;
typedef bit<32> ipv4_addr_t;
typedef bit<128> ipv6_addr_t;
typedef bit<32> flow_id_t;
typedef bit<48> nic_ts_t;   // v1model clock: microseconds since the switch started

const port_t CPU_PORT = 255;

// ---- port roles (port_config table) -------------------------------------
const bit<8> ROLE_NONE      = 0;  // unconfigured: dropped
const bit<8> ROLE_WIRE      = 1;  // network side: receive path (direction rx)
const bit<8> ROLE_HOST      = 2;  // host side: transmit path (direction tx)
const bit<8> ROLE_CRYPTO    = 3;  // the lookaside crypto engine (seed 004): its answers
const bit<8> ROLE_LOOP      = 4;  // a loopback port pair: reassembly emit passes come back here

// ---- directions (capture triggers, capture headers) -----------------------
const bit<8> DIR_RX = 0;
const bit<8> DIR_TX = 1;

// ---- ether types / IP protocols -----------------------------------------
const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_IPV6 = 0x86dd;
const bit<16> ETHERTYPE_VLAN = 0x8100;
const bit<16> ETHERTYPE_QINQ = 0x88a8;
const bit<16> ETHERTYPE_P4NIC_CRYPTO = 0x88b5;  // command frames to/from the crypto engine
const bit<8>  IP_PROTO_ICMP = 1;
const bit<8>  IP_PROTO_TCP  = 6;
const bit<8>  IP_PROTO_UDP  = 17;
const bit<8>  IP_PROTO_ESP  = 50;
const bit<8>  IP_PROTO_IPV6_FRAG = 44;   // IPv6 Fragment extension header
const bit<8>  IP_PROTO_ICMPV6 = 58;

// ---- flow states (seed 001, Fig. 11) -------------------------------------
const bit<8> FLOW_IDLE      = 0;  // known flow, handled by the host stack
const bit<8> FLOW_MONITOR   = 1;  // checked and delivered to the flow's consumer queue
const bit<8> FLOW_ZERO_COPY = 2;  // TCP payload placed by sequence number

// ---- timestamp modes (seed 002, Fig. 2B/2C) ------------------------------
const bit<8> TS_NONE      = 0;
const bit<8> TS_IN_PACKET = 1;   // p4nic rx header in front of the packet
const bit<8> TS_RECORD    = 2;   // separate record on the records port

// ---- TCP flags ------------------------------------------------------------
const bit<8> TCP_FIN = 0x01;
const bit<8> TCP_SYN = 0x02;
const bit<8> TCP_RST = 0x04;
const bit<8> TCP_PSH = 0x08;
const bit<8> TCP_ACK = 0x10;
const bit<16> NIC_ACK_WINDOW = 65535;

// ---- receive checks: one counter index per drop reason -------------------
const bit<32> DROP_NONE            = 0;
const bit<32> DROP_DMAC            = 1;   // destination MAC not accepted
const bit<32> DROP_RUNT            = 2;   // frame shorter than MIN_FRAME_LEN
const bit<32> DROP_GIANT           = 3;   // more than MAX_L2_PAYLOAD after the L2 header
const bit<32> DROP_TRUNCATED       = 4;   // headers cut short (parser PacketTooShort)
const bit<32> DROP_IPV4_VERSION    = 5;
const bit<32> DROP_IPV4_IHL        = 6;
const bit<32> DROP_IPV4_TOTAL_LEN  = 7;
const bit<32> DROP_IPV4_CHECKSUM   = 8;
const bit<32> DROP_UNKNOWN_PROTO   = 9;
const bit<32> DROP_TCP_HEADER      = 10;  // TCP data offset < 5 or beyond the datagram
const bit<32> DROP_UDP_LENGTH      = 11;
const bit<32> DROP_IPV6_VERSION    = 12;
const bit<32> DROP_IPV6_LENGTH     = 13;
const bit<32> DROP_PORT_UNCONFIGURED = 14;
const bit<32> DROP_PARSER_OTHER    = 15;
const bit<32> NUM_DROP_REASONS     = 16;

// Frame lengths are counted without the FCS (the switch never sees it):
// 60..1514 bytes untagged (64..1518 on the wire), 4 more per VLAN tag.
const bit<32> MIN_FRAME_LEN = 60;
const bit<32> MAX_L2_PAYLOAD = 1500; // after the Ethernet header and its VLAN tags

// ---- sizes ------------------------------------------------------------------
const bit<32> MAX_FLOWS = 1024;      // per-flow registers are indexed by flow id

// ---- multicast groups the driver installs (see controlplane/p4nic/nic.py) --
// mgid = MCAST_BASE | deliver_port << 4 | with_record << 3 | ack_code
// ack_code: 0 = no NIC-generated ACK, else 1 + wire port the ACK leaves on.
const bit<16> MCAST_BASE  = 0x1000;
const bit<16> RID_DELIVER = 0;       // the packet itself
const bit<16> RID_RECORD  = 1;       // arrival-timestamp record (TS_RECORD flows)
const bit<16> RID_ACK     = 2;       // NIC-generated TCP acknowledgment

// ---- redundant-stream merge (seed 000, merge.p4) ----------------------------
const bit<32> MERGE_GROUPS  = 64;    // merge groups (the seed's QPs); registers per group
const bit<32> WINDOW_WORDS  = 16;    // PSN window words per group: 32 PSNs each
// a window holds up to (WINDOW_WORDS - 1) * 32 = 480 PSNs (the driver checks window_psns)
const bit<32> FRAME_SLOTS   = 32;    // frame counters per group and parity (64 in flight)
// group context flags
const bit<8>  MGF_OVERWRITE = 0x01;  // duplicates are placed again (seed [0010] alternative)
const bit<8>  MGF_ESN       = 0x02;  // 32-bit PSN: RFC 4175 extended sequence number ++ RTP seq
const bit<8>  MGF_CYCLIC    = 0x04;  // cyclic buffer in the group context, no work items
// merge_packets counter: index group << 3 | MS_*
const bit<32> MS_PLACED     = 0;     // first copies placed
const bit<32> MS_DUPLICATE  = 1;     // PSN already in the window (dropped, or overwritten)
const bit<32> MS_LATE       = 2;     // PSN behind the window: dropped, never placed
const bit<32> MS_WRONG_SIZE = 3;     // payload not the group's size: to the host stack
const bit<32> MS_NO_BUFFER  = 4;     // no work item covers the PSN: dropped
// what a merged packet's record frame holds (bits of meta.merge_out)
const bit<3>  MO_PLACE  = 1;         // placement record
const bit<3>  MO_CQ_OK  = 2;         // completion of the packet's frame (after the placement)
const bit<3>  MO_CQ_ERR = 4;         // error completion of a frame the window moved past (first)
// placement record flags / completion status
const bit<8>  MPF_OVERWRITE = 0x01;
const bit<8>  MPF_MARKER    = 0x02;
const bit<8>  MPF_JUMP      = 0x04;
const bit<8>  MPF_COMPLETES = 0x08;  // a completion header follows the placement header
const bit<8>  CQE_OK        = 0;
const bit<8>  CQE_MISSING   = 1;

// ---- mirror sessions the driver installs -----------------------------------
const bit<32> CAPTURE_SESSION = 64;  // -> capture port

// ---- standard_metadata.instance_type values (simple_switch) --------------
const bit<32> PKT_INSTANCE_TYPE_NORMAL        = 0;
const bit<32> PKT_INSTANCE_TYPE_INGRESS_CLONE = 1;
const bit<32> PKT_INSTANCE_TYPE_EGRESS_CLONE  = 2;
const bit<32> PKT_INSTANCE_TYPE_RECIRC        = 4;
const bit<32> PKT_INSTANCE_TYPE_REPLICATION   = 5;
const bit<32> PKT_INSTANCE_TYPE_RESUBMIT      = 6;

// Egress priorities: capture copies get 0 (clones start with reset metadata),
// regular traffic the priority port_config gives its ingress port.

// ---- p4nic host-side headers: magic "PN", type ----------------------------
const bit<16> P4NIC_MAGIC = 0x504e;
const bit<8>  P4NIC_VERSION = 1;
const bit<8>  PT_RX_META   = 1;   // packet descriptor in front of a delivered packet
const bit<8>  PT_TS_RECORD = 2;   // arrival timestamp record
const bit<8>  PT_PLACEMENT = 3;   // payload + host buffer address (direct placement)
const bit<8>  PT_CAPTURE   = 4;   // captured packet (capture port)
const bit<8>  PT_CLOCK     = 5;   // NIC clock probe (CPU port)
const bit<8>  PT_MERGE_PLACE = 6; // redundant-stream merge: slice + host address (seed 000)
const bit<8>  PT_COMPLETION  = 7; // merge work item completed (or given up)
const bit<8>  PT_CRYPTO      = 8; // crypto engine command / answer (seed 004)
const bit<8>  PT_REASM       = 9; // reassembly pass header (never leaves the NIC)

// rx descriptor flags
const bit<16> RXF_TS_VALID   = 0x0001;
const bit<16> RXF_KEY_VALID  = 0x0002;
const bit<16> RXF_NO_KEY     = 0x0004;  // ESP with no SA in key memory: still encrypted
const bit<16> RXF_FLOW_HIT   = 0x0008;
const bit<16> RXF_RTP        = 0x0010;
const bit<16> RXF_DECRYPTED  = 0x0020;  // ESP decrypted by the crypto engine
const bit<16> RXF_ICV_OK     = 0x0040;  // ... and its ICV verified
const bit<16> RXF_TUNNEL     = 0x0080;  // tunnel mode: the inner packet is delivered
const bit<16> RXF_REASSEMBLED = 0x0100; // reassembled from IP fragments by the NIC
// bits 15..12 of the flags: crypto engine passes the packet took

// ---- lookaside crypto engine (crypto.p4) -------------------------------------
const bit<8>  CRYPTO_OP_DECRYPT    = 1;
// ops 2 (KEY_LOAD) and 3 (KEY_DELETE) come from the driver; the pipeline only passes
// their answers to the CPU port (p4nic/p4names.py has the values)
const bit<8>  CRYPTO_ST_REQUEST    = 0;
const bit<8>  CRYPTO_ST_OK         = 1;
const bit<8>  CRYPTO_ST_BAD_ICV    = 2;
const bit<8>  CRYPTO_ST_NO_KEY     = 3;
const bit<8>  CRYPTO_MODE_TUNNEL   = 2;
const bit<32> MAX_SAS              = 1024;  // anti-replay state per key index
const bit<32> REPLAY_WINDOW        = 64;    // RFC 4303 3.4.3: at least 32, 64 recommended
const bit<8>  FEEDBACK_FIELD_LIST  = 2;     // metadata a recirculated packet keeps
// ipsec_events counter indexes
const bit<32> IE_TO_ENGINE   = 0;   // datagrams sent to the engine
const bit<32> IE_DECRYPTED   = 1;   // came back decrypted, ICV good, delivered
const bit<32> IE_BAD_ICV     = 2;
const bit<32> IE_REPLAY      = 3;   // sequence number already seen
const bit<32> IE_TOO_OLD     = 4;   // behind the anti-replay window (or 0)
const bit<32> IE_ENGINE_NO_KEY = 5; // the engine has no key for the index
const bit<32> IE_ENGINE_ERROR  = 6; // malformed / unsupported, as the engine says
const bit<32> IE_FOREIGN     = 7;   // a crypto frame from a port that is not the engine's
const bit<32> IE_FRAGMENT    = 8;   // an ESP fragment: to the host stack, not the engine
const bit<32> NUM_IPSEC_EVENTS = 9;

// ---- fragment reassembly (reassembly.p4) -------------------------------------
// Datagrams of up to REASM_MAX_BYTES of IP payload, kept in REASM_SLOTS slots.
// Payload lives in 16 lane arrays of 64-bit units: unit u of a slot is in lane
// u % 16, row u / 16; a pass stores or emits one row (128 bytes).
const bit<32> REASM_SLOTS      = 64;
const bit<32> REASM_MAX_BYTES  = 4096;
// 512 units of 8 bytes, 32 rows per slot: cell = slot << 5 | row
const bit<32> REASM_LANE_CELLS = 2048;   // REASM_SLOTS * 32 rows
const bit<8>  REASM_OP_STORE   = 1;      // pass header: store the units behind it
const bit<8>  REASM_OP_EMIT    = 2;      // pass header: emit one row in front of the payload
const bit<8>  REASM_OUT_PASS   = 0;      // not reassembled: the fragment goes on as it is
const bit<8>  REASM_OUT_RECIRC = 1;      // another pass (egress recirculates)
const bit<8>  REASM_OUT_DROP   = 2;      // consumed or refused (counted)
const bit<8>  REASM_OUT_LOOP   = 3;      // another pass through the loopback ports
// pass header flags (p4nic_reasm_t.sec): the datagram's metadata across the loop
const bit<8>  RSEC_DECRYPTED   = 0x01;
const bit<8>  RSEC_TUNNEL      = 0x02;
const bit<8>  RSEC_KEY_VALID   = 0x04;
// reasm_events counter indexes: what became of each fragment / datagram
const bit<32> RE_ACCEPTED    = 0;   // fragment taken into a slot
const bit<32> RE_REASSEMBLED = 1;   // datagram complete, fed back into the pipeline
const bit<32> RE_DUPLICATE   = 2;   // every unit already held: dropped, datagram kept
const bit<32> RE_OVERLAP     = 3;   // overlaps held units (RFC 5722): datagram dropped
const bit<32> RE_TINY        = 4;   // first fragment splits the L4 header (RFC 1858/8200)
const bit<32> RE_TIMEOUT     = 5;   // not complete within the timeout: slot taken back
const bit<32> RE_SLOT_BUSY   = 6;   // slot held by another datagram: passed on whole
const bit<32> RE_TOO_BIG     = 7;   // ends beyond REASM_MAX_BYTES: passed on
const bit<32> RE_BAD_LENGTH  = 8;   // empty / not a multiple of 8 / beyond the end: dropped
const bit<32> RE_UNSUPPORTED = 9;   // IPv4 options, > 64 bytes after the datagram: passed on
const bit<32> RE_STALE       = 10;  // pass of a slot freed meanwhile: dropped
const bit<32> RE_PASSES      = 11;  // recirculation passes (store, emit, feed back)
const bit<32> RE_NOT_ENABLED = 12;  // no reassembly policy for the protocol: passed on
const bit<32> NUM_REASM_EVENTS = 13;

// ---- packet-out operations (CPU port) ---------------------------------------
const bit<7> OUT_OP_TX          = 0;  // send the frame out of packet_out.egress_port
const bit<7> OUT_OP_CLOCK_PROBE = 1;  // stamp a clock probe and return it to the CPU
const bit<7> OUT_OP_INJECT_RX   = 2;  // run the frame through the receive path as if
                                      // it arrived on packet_out.egress_port (replay)
// packet-in reasons
const bit<7> IN_REASON_CLOCK = 1;
const bit<7> IN_REASON_CRYPTO = 2;   // the engine's answer to a key load / delete

#endif
