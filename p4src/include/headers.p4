/* p4nic — packet headers, p4nic host-side headers, metadata and digests. */
#ifndef _P4NIC_HEADERS_P4_
#define _P4NIC_HEADERS_P4_

#include "defines.p4"

// ---- controller headers (P4Runtime PacketIn / PacketOut on CPU_PORT) -------
@controller_header("packet_in")
header packet_in_t {
    bit<9> ingress_port;
    bit<7> reason;
}

@controller_header("packet_out")
header packet_out_t {
    bit<9> egress_port;
    bit<7> op;
}

// ---- network headers --------------------------------------------------------
header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

header vlan_t {
    bit<3>  pcp;
    bit<1>  dei;
    bit<12> vid;
    bit<16> ether_type;
}

header ipv4_t {
    bit<4>      version;
    bit<4>      ihl;
    bit<8>      dscp_ecn;
    bit<16>     total_len;
    bit<16>     identification;
    bit<3>      flags;
    bit<13>     frag_offset;
    bit<8>      ttl;
    bit<8>      protocol;
    bit<16>     hdr_checksum;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
}

header ipv4_options_t {
    varbit<320> options;   // up to 40 bytes (IHL 15)
}

header ipv6_t {
    bit<4>      version;
    bit<8>      traffic_class;
    bit<20>     flow_label;
    bit<16>     payload_len;
    bit<8>      next_hdr;
    bit<8>      hop_limit;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
}

// IPv6 Fragment extension header (RFC 8200 4.5)
header ipv6_frag_t {
    bit<8>  next_hdr;
    bit<8>  reserved;
    bit<13> frag_offset;   // 8-byte units
    bit<2>  res;
    bit<1>  more;          // M flag
    bit<32> identification;
}

header tcp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<32> seq_no;
    bit<32> ack_no;
    bit<4>  data_offset;
    bit<4>  res;
    bit<8>  flags;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgent_ptr;
}

header tcp_options_t {
    varbit<320> options;   // up to 40 bytes (data offset 15)
}

header udp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> length;
    bit<16> checksum;
}

header esp_t {
    bit<32> spi;
    bit<32> seq_no;
}

// RTP fixed header (RFC 3550). Parsed opportunistically when a UDP payload
// starts like RTP version 2; ingress decides from rtp_ports whether the UDP
// port really carries RTP. Extracting and re-emitting it changes nothing.
header rtp_t {
    bit<2>  version;
    bit<1>  padding;
    bit<1>  extension;
    bit<4>  csrc_count;
    bit<1>  marker;
    bit<7>  payload_type;
    bit<16> sequence;
    bit<32> timestamp;
    bit<32> ssrc;
}

// ---- p4nic host-side headers (all start with magic, type, version) -------

// In front of a packet delivered to a host port (flows in TS_IN_PACKET mode,
// ESP packets with key-memory results).
header p4nic_rx_t {
    bit<16>   magic;
    bit<8>    type;        // PT_RX_META
    bit<8>    version;
    bit<16>   flags;       // RXF_*
    bit<16>   key_index;
    flow_id_t flow_id;
    nic_ts_t  arrival_ts;  // NIC clock, microseconds
    bit<16>   in_port;
    bit<32>   gap_us;      // arrival_ts minus the flow's previous arrival
    bit<32>   flow_packets;
    bit<32>   flow_bytes;
}

// Separate arrival-timestamp record; the packet itself goes unchanged.
header p4nic_ts_record_t {
    bit<16>   magic;
    bit<8>    type;        // PT_TS_RECORD
    bit<8>    version;
    flow_id_t flow_id;
    bit<32>   seq;         // per-flow packet sequence (= flow_packets)
    nic_ts_t  arrival_ts;
    bit<16>   length;      // frame length in bytes
    bit<32>   gap_us;
    bit<32>   flow_packets;
    bit<32>   flow_bytes;
}

// Direct placement: write `length` payload bytes that follow at host buffer
// address `addr`. Shared with the redundant-stream placement offload.
header p4nic_placement_t {
    bit<16>   magic;
    bit<8>    type;        // PT_PLACEMENT
    bit<8>    version;
    flow_id_t flow_id;
    bit<64>   addr;
    bit<32>   seq;         // TCP sequence number / RTP PSN of the payload
    bit<16>   length;
    bit<16>   flags;
}

// Redundant-stream merge (seed 000): write `length` slice bytes at `addr` of
// memory region `mkey`. What follows is the RTP payload: `skip` bytes of
// payload header (not placed), then the slice.
header p4nic_merge_place_t {
    bit<16>   magic;
    bit<8>    type;        // PT_MERGE_PLACE
    bit<8>    version;
    bit<16>   group;
    bit<8>    stream;
    bit<8>    flags;       // MPF_*
    bit<32>   mkey;
    bit<64>   addr;
    bit<32>   psn;         // extended (32-bit) PSN in the group's sequence space
    bit<32>   frame;       // work item (frame) tag
    bit<16>   length;
    bit<16>   skip;
}

// Completion of a merge work item: every slice placed once (CQE_OK), or the
// window moved past the frame with `missing` slices absent (CQE_MISSING).
header p4nic_completion_t {
    bit<16>   magic;
    bit<8>    type;        // PT_COMPLETION
    bit<8>    version;
    bit<16>   group;
    bit<8>    status;
    bit<8>    stream;      // stream of the last slice (0xff for errors)
    bit<32>   frame;
    bit<32>   first_psn;
    bit<16>   slices;
    bit<16>   missing;
    bit<32>   mkey;
    bit<64>   addr;        // frame buffer base
    nic_ts_t  nic_ts;      // NIC time of the last slice (of the expiring packet for errors)
    bit<16>   marker;      // 1 + offset of the slice with the RTP marker bit (0: none)
}

// Captured packet on the capture port: header + the packet cut to snaplen.
header p4nic_capture_t {
    bit<16>  magic;
    bit<8>   type;         // PT_CAPTURE
    bit<8>   version;
    bit<16>  capture_id;
    bit<8>   direction;    // DIR_RX / DIR_TX
    bit<8>   port;         // port the packet was seen on
    nic_ts_t ts;           // NIC clock, microseconds
    bit<32>  orig_len;     // frame length before truncation
    bit<16>  snaplen;      // the trigger's snap length
}

// Command header between the NIC and its lookaside crypto engine (seed 004),
// after an Ethernet header with ethertype ETHERTYPE_P4NIC_CRYPTO. The engine
// answers with the same header (status, mode, next_hdr filled in) and the
// decrypted datagram; context comes back as sent.
header p4nic_crypto_t {
    bit<16>  magic;
    bit<8>   type;         // PT_CRYPTO
    bit<8>   version;
    bit<8>   op;           // CRYPTO_OP_*
    bit<8>   status;       // CRYPTO_ST_* (0 in requests)
    bit<8>   mode;         // answer: 1 transport, 2 tunnel
    bit<8>   next_hdr;     // answer: the ESP trailer's next header
    bit<16>  key_index;
    bit<8>   passes;       // tunnel layer came off (1) ++ reassembled (1) ++ engine passes (6)
    bit<8>   flags;        // SA generation (7) ++ the packet hit a flow (1)
    bit<32>  spi;
    bit<32>  seq;
    bit<32>  context;      // flow id (14) ++ wire port (9) ++ deliver port (9)
    bit<32>  seq_hi;       // extended sequence numbers: the high 32 bits (RFC 4303 A2)
}

// Between passes of a reassembly (reassembly.p4), after the Ethernet header
// (ethertype ETHERTYPE_P4NIC_CRYPTO, type PT_REASM): what the next pass does,
// and the datagram's metadata (emit passes go through the loopback ports,
// where metadata does not survive).
// The parser reads lane_first / lane_count / tail_now to extract the units
// behind the IP header into the lanes that hold them. Never leaves the NIC.
header p4nic_reasm_t {
    bit<16>  magic;
    bit<8>   type;         // PT_REASM
    bit<8>   version;
    bit<8>   op;           // REASM_OP_STORE / REASM_OP_EMIT
    bit<8>   lane_first;   // store: lane of the first unit behind the IP header
    bit<8>   lane_count;   // store: full units this pass (0..16)
    bit<8>   tail_now;     // store: bytes of a last partial unit this pass (0..7)
    bit<16>  slot;
    bit<16>  gen;          // the slot's generation when the datagram took it
    bit<16>  unit;         // store: next unit to store; emit: row to emit
    bit<16>  units;        // store: units of the fragment still to store
    bit<16>  tail;         // bytes of the fragment's last partial unit (0: none)
    bit<8>   trailer;      // bytes after the fragment's data (Ethernet padding)
    bit<8>   trailer_now;  // store: trailer bytes to drop this pass (the last one)
    bit<16>  loop_port;    // emit passes leave here and come back on its peer
    bit<16>  in_port;      // the wire port the datagram arrived on
    bit<16>  key_index;    // the SA that decrypted it (fragments made before encryption)
    bit<8>   sec;          // RSEC_* flags
    bit<8>   passes;       // crypto engine passes so far
    bit<16>  ether_type;   // the frame's ethertype behind this header
}

// 8 payload bytes: unit u of a datagram goes to lane u % 16
header reasm_lane_t {
    bit<64> data;
}

header reasm_byte_t {
    bit<8> data;
}

// bytes after a fragment's data (Ethernet padding), dropped by its last store pass
header reasm_trailer_t {
    varbit<512> bytes;
}

// NIC clock probe carried in packet-out / packet-in (driver clock mapping).
header p4nic_clock_t {
    bit<16>  magic;
    bit<8>   type;         // PT_CLOCK
    bit<8>   version;
    bit<32>  probe_id;
    nic_ts_t nic_ts;
    bit<16>  pad;
}

struct headers_t {
    packet_out_t      packet_out;
    packet_in_t       packet_in;
    p4nic_clock_t     clock;
    p4nic_capture_t   capture;
    p4nic_placement_t placement;
    p4nic_completion_t cq_err;       // merge: error completion of an older frame
    p4nic_merge_place_t merge_place;
    p4nic_completion_t cq_ok;        // merge: completion of the placed slice's frame
    p4nic_ts_record_t ts_record;
    p4nic_rx_t        rx_meta;
    ethernet_t        ethernet;
    p4nic_reasm_t     reasm;
    vlan_t[2]         vlan;
    p4nic_crypto_t    crypto;
    ipv4_t            ipv4;
    ipv4_options_t    ipv4_options;
    ipv6_t            ipv6;
    ipv6_frag_t       ipv6_frag;
    reasm_lane_t[16]  lanes;         // reassembly: one row of payload units
    reasm_byte_t[7]   tail;          // reassembly: a datagram's last partial unit
    reasm_trailer_t   trailer;       // reassembly: padding behind a fragment
    tcp_t             tcp;
    tcp_options_t     tcp_options;
    udp_t             udp;
    esp_t             esp;
    rtp_t             rtp;
}

// ---- metadata -----------------------------------------------------------------
struct metadata_t {
    // receive side
    bit<9>    in_port;        // ingress port (or the port an injected frame stands for)
    bit<8>    role;
    bit<8>    direction;
    bit<32>   drop_reason;
    bit<1>    l3_valid;
    ipv4_addr_t ip_src;       // IPv4 addresses (zero for IPv6) for triggers
    ipv4_addr_t ip_dst;
    bit<8>    ip_proto;
    bit<16>   l4_src_port;
    bit<16>   l4_dst_port;
    bit<64>   l4_payload_head; // first 8 bytes of the L4 payload (0 if shorter)
    bit<16>   l4_payload_len;
    bit<16>   l3_len;          // IP datagram length from the IP header
    bit<16>   l3_hdr_len;      // IP header length (with IPv4 options)
    bit<16>   l4_hdr_len;      // transport header length (with TCP options)
    bit<16>   l2_len;          // Ethernet + VLAN bytes
    bit<32>   parsed_len;      // bytes in front of the Ethernet header (packet-out)
    bit<32>   frame_len;       // Ethernet frame length (set at the start of ingress)
    bit<1>    head_ok;         // the first 8 L4 payload bytes are present
    bit<1>    rtp_candidate;   // UDP payload that starts like RTP version 2
    bit<1>    is_rtp;
    // flow association
    bit<1>    flow_hit;
    flow_id_t flow_id;
    bit<8>    flow_state;
    bit<9>    deliver_port;
    bit<8>    ts_mode;
    bit<1>    place;           // make a placement record
    bit<64>   place_addr;
    bit<1>    gen_ack;
    bit<32>   ack_no;          // acknowledgment number of the NIC-generated ACK
    bit<1>    ack_out;         // egress: this copy is the NIC-generated ACK
    bit<9>    peer_port;       // from port_config: host-stack port (wire) / wire port (host)
    bit<3>    regular_prio;    // from port_config: egress priority of regular traffic
    bit<16>   flow_gen;        // generation of the flow entry (tags per-flow register state)
    // key memory (kept across recirculation: a decrypted fragment's SA)
    @field_list(2)
    bit<1>    key_valid;
    bit<1>    no_key;
    @field_list(2)
    bit<16>   key_index;
    // timestamps
    nic_ts_t  arrival_ts;
    bit<32>   gap_us;
    bit<32>   flow_packets;
    bit<32>   flow_bytes;
    // capture (preserved into the clone)
    @field_list(1)
    bit<16>   capture_id;
    @field_list(1)
    bit<16>   snaplen;
    @field_list(1)
    bit<8>    cap_direction;
    @field_list(1)
    bit<8>    cap_port;
    @field_list(1)
    nic_ts_t  cap_ts;
    @field_list(1)
    bit<32>   cap_orig_len;
    bit<1>    do_capture;
    // redundant-stream merge (merge.p4 -> egress records)
    bit<1>    rtp_esn_ok;      // 2 more payload bytes after the RTP header (RFC 4175 ESN)
    bit<16>   rtp_esn;
    bit<1>    merge_hit;       // the packet belongs to a merge group: merge_out says what it makes
    bit<3>    merge_out;       // MO_*: what the record frame holds
    bit<16>   merge_group;
    bit<8>    merge_stream;
    bit<8>    merge_flags;     // MPF_* of the placement record
    bit<32>   merge_psn;
    bit<9>    merge_port;      // where records go (the placement port)
    bit<16>   merge_len;       // slice bytes
    bit<16>   merge_skip;      // payload header bytes after RTP, not placed
    bit<32>   place_mkey;
    bit<64>   merge_addr;
    bit<32>   frame_tag;       // the packet's work item
    bit<32>   frame_first;
    bit<16>   frame_slices;
    bit<32>   frame_mkey;
    bit<64>   frame_base;
    bit<16>   frame_marker;    // 1 + offset of the frame's marker slice (0: none seen)
    bit<16>   exp_marker;
    bit<32>   exp_tag;         // the work item the window moved past (error completion)
    bit<32>   exp_first;
    bit<16>   exp_slices;
    bit<16>   exp_missing;
    // lookaside crypto engine (crypto.p4)
    bit<1>    decrypt;         // the SA's datagrams go to the engine
    bit<1>    esn;             // the SA uses 64-bit extended sequence numbers
    bit<16>   sa_gen;          // generation of the SA entry (tags anti-replay state)
    @field_list(2)
    bit<1>    decrypted;       // a datagram the engine returned decrypted (ICV good)
    @field_list(2)
    bit<1>    tunnel;          // a tunnel-mode layer was removed (kept across passes)
    @field_list(2)
    bit<8>    passes;          // crypto engine passes so far (kept across recirculation)
    @field_list(2)
    bit<9>    recirc_in_port;  // the wire port of a packet fed back by recirculation
    bit<8>    crypto_out;      // CRYPTO_OUT_* (crypto.p4)
    bit<9>    engine_port;     // from the SA: the crypto engine's port
    bit<32>   exp_mkey;
    bit<64>   exp_base;
    // fragment reassembly (reassembly.p4)
    bit<1>    is_fragment;     // IPv4 MF or offset, or an IPv6 Fragment header
    bit<8>    reasm_op;        // parser: the pass header's op (0: none)
    bit<8>    lane_first;      // parser: lanes lane_first .. lane_end - 1 to extract
    bit<8>    lane_end;
    bit<8>    tail_now;        // parser: bytes of a partial unit after them
    bit<8>    trailer_now;     // parser: then bytes of padding to drop
    bit<8>    reasm_out;       // REASM_OUT_*
    @field_list(2)
    bit<1>    reassembled;     // this datagram was put together by the NIC
}

// ---- digests ------------------------------------------------------------------
struct psh_notify_t {        // TCP PSH seen on a flow (seed 001)
    flow_id_t flow_id;
    bit<32>   seq_no;
    nic_ts_t  arrival_ts;
}

struct key_request_t {       // ESP packet without an SA in key memory
    bit<32>     spi;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
}

struct key_request_v6_t {    // the same over IPv6
    bit<32>     spi;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
}

#endif
