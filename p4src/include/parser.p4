/* p4nic — parser, deparser and checksum controls.
 *
 * The parser never rejects: failures end parsing with a parser error that the
 * receive checks turn into a counted drop reason (v1model passes the error to
 * ingress in standard_metadata.parser_error).
 */
#ifndef _P4NIC_PARSER_P4_
#define _P4NIC_PARSER_P4_

#include "headers.p4"

error {
    IPv4BadVersion,
    IPv4BadIHL,
    IPv6BadVersion,
    TcpBadDataOffset
}

parser NicParser(packet_in pkt,
                 out headers_t hdr,
                 inout metadata_t meta,
                 inout standard_metadata_t sm) {

    state start {
        meta.in_port = sm.ingress_port;
        meta.parsed_len = 0;
        transition select(sm.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }

    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        meta.parsed_len = 2;
        transition select(hdr.packet_out.op) {
            OUT_OP_CLOCK_PROBE: parse_clock;
            OUT_OP_INJECT_RX: parse_injected;
            default: parse_ethernet;
        }
    }

    state parse_clock {
        pkt.extract(hdr.clock);
        transition accept;
    }

    state parse_injected {
        // a replayed frame stands for one received on packet_out.egress_port
        meta.in_port = hdr.packet_out.egress_port;
        transition parse_ethernet;
    }

    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        meta.l2_len = 14;
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_VLAN: parse_vlan;
            ETHERTYPE_QINQ: parse_vlan;
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            ETHERTYPE_P4NIC_CRYPTO: parse_crypto;
            default: accept;
        }
    }

    // The crypto engine's answers (and anything that claims to be one: ingress
    // checks the port). Only decrypt answers carry a datagram.
    // 0x88b5 is the IEEE's local experimental ethertype: only frames that start
    // like a p4nic command header are the engine's; others pass as any ethertype
    state parse_crypto {
        transition select(pkt.lookahead<bit<32>>()) {
            0x504e0801: parse_crypto_header;   // magic "PN", PT_CRYPTO, version 1
            0x504e0901: parse_reasm;           // magic "PN", PT_REASM, version 1
            default: accept;
        }
    }

    // A reassembly pass (reassembly.p4): the pass header, the frame's own
    // headers, then, when storing, the units the header names.
    state parse_reasm {
        pkt.extract(hdr.reasm);
        meta.reasm_op = hdr.reasm.op;
        meta.lane_first = hdr.reasm.lane_first;
        meta.lane_end = hdr.reasm.lane_first + hdr.reasm.lane_count;
        meta.tail_now = hdr.reasm.tail_now;
        meta.trailer_now = hdr.reasm.trailer_now;
        transition select(hdr.reasm.ether_type) {
            ETHERTYPE_VLAN: parse_vlan;
            ETHERTYPE_QINQ: parse_vlan;
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    state parse_crypto_header {
        pkt.extract(hdr.crypto);
        transition select(hdr.crypto.op) {
            CRYPTO_OP_DECRYPT: parse_crypto_body;
            default: accept;
        }
    }

    state parse_crypto_body {
        transition select(pkt.lookahead<bit<4>>()) {
            4: parse_ipv4;
            6: parse_ipv6;
            default: accept;
        }
    }

    // Up to two tags (802.1Q, or QinQ outer + inner); unrolled, no loop.
    state parse_vlan {
        pkt.extract(hdr.vlan[0]);
        meta.l2_len = 18;
        transition select(hdr.vlan[0].ether_type) {
            ETHERTYPE_VLAN: parse_vlan_inner;
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    state parse_vlan_inner {
        pkt.extract(hdr.vlan[1]);
        meta.l2_len = 22;
        transition select(hdr.vlan[1].ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        verify(hdr.ipv4.version == 4, error.IPv4BadVersion);
        verify(hdr.ipv4.ihl >= 5, error.IPv4BadIHL);
        pkt.extract(hdr.ipv4_options, ((bit<32>)hdr.ipv4.ihl - 5) << 5);
        meta.l3_valid = 1;
        meta.ip_src = hdr.ipv4.src_addr;
        meta.ip_dst = hdr.ipv4.dst_addr;
        meta.ip_proto = hdr.ipv4.protocol;
        meta.l3_len = hdr.ipv4.total_len;
        meta.l3_hdr_len = (bit<16>)hdr.ipv4.ihl << 2;
        meta.is_fragment = (bit<1>)(hdr.ipv4.flags[0:0] == 1 || hdr.ipv4.frag_offset != 0);
        // only first fragments carry the transport header
        transition select(meta.reasm_op, hdr.ipv4.frag_offset, hdr.ipv4.protocol) {
            (REASM_OP_STORE, _, _): parse_lanes;
            (REASM_OP_EMIT, _, _): accept;
            (0, 0, IP_PROTO_TCP): parse_tcp;
            (0, 0, IP_PROTO_UDP): parse_udp;
            (0, 0, IP_PROTO_ESP): parse_esp;
            default: accept;
        }
    }

    state parse_ipv6 {
        pkt.extract(hdr.ipv6);
        verify(hdr.ipv6.version == 6, error.IPv6BadVersion);
        meta.l3_valid = 1;
        meta.ip_proto = hdr.ipv6.next_hdr;
        meta.l3_len = hdr.ipv6.payload_len + 40;
        meta.l3_hdr_len = 40;
        transition select(hdr.ipv6.next_hdr) {
            IP_PROTO_IPV6_FRAG: parse_ipv6_frag;
            IP_PROTO_TCP: parse_tcp;
            IP_PROTO_UDP: parse_udp;
            IP_PROTO_ESP: parse_esp;
            default: accept;
        }
    }

    // A Fragment header right after the fixed header (other extension headers
    // in front of it are not parsed: such fragments pass as they are).
    state parse_ipv6_frag {
        pkt.extract(hdr.ipv6_frag);
        meta.is_fragment = 1;
        meta.ip_proto = hdr.ipv6_frag.next_hdr;
        meta.l3_hdr_len = 48;
        transition select(meta.reasm_op, hdr.ipv6_frag.frag_offset, hdr.ipv6_frag.next_hdr) {
            (REASM_OP_STORE, _, _): parse_lanes;
            (REASM_OP_EMIT, _, _): accept;
            (0, 0, IP_PROTO_TCP): parse_tcp;
            (0, 0, IP_PROTO_UDP): parse_udp;
            (0, 0, IP_PROTO_ESP): parse_esp;
            default: accept;
        }
    }

    // Store pass: lane_count full units into lanes lane_first.., then tail_now
    // bytes of a last partial unit. Unrolled: lane k is always lanes[k].
    state parse_lanes {
        transition select(meta.lane_end == meta.lane_first, meta.lane_first) {
            (true, _): parse_tail;
            (_, 0): parse_lane_0;
            (_, 1): parse_lane_1;
            (_, 2): parse_lane_2;
            (_, 3): parse_lane_3;
            (_, 4): parse_lane_4;
            (_, 5): parse_lane_5;
            (_, 6): parse_lane_6;
            (_, 7): parse_lane_7;
            (_, 8): parse_lane_8;
            (_, 9): parse_lane_9;
            (_, 10): parse_lane_10;
            (_, 11): parse_lane_11;
            (_, 12): parse_lane_12;
            (_, 13): parse_lane_13;
            (_, 14): parse_lane_14;
            (_, 15): parse_lane_15;
            default: accept;
        }
    }

    state parse_lane_0 {
        pkt.extract(hdr.lanes[0]);
        transition select(meta.lane_end) {
            1: parse_tail;
            default: parse_lane_1;
        }
    }

    state parse_lane_1 {
        pkt.extract(hdr.lanes[1]);
        transition select(meta.lane_end) {
            2: parse_tail;
            default: parse_lane_2;
        }
    }

    state parse_lane_2 {
        pkt.extract(hdr.lanes[2]);
        transition select(meta.lane_end) {
            3: parse_tail;
            default: parse_lane_3;
        }
    }

    state parse_lane_3 {
        pkt.extract(hdr.lanes[3]);
        transition select(meta.lane_end) {
            4: parse_tail;
            default: parse_lane_4;
        }
    }

    state parse_lane_4 {
        pkt.extract(hdr.lanes[4]);
        transition select(meta.lane_end) {
            5: parse_tail;
            default: parse_lane_5;
        }
    }

    state parse_lane_5 {
        pkt.extract(hdr.lanes[5]);
        transition select(meta.lane_end) {
            6: parse_tail;
            default: parse_lane_6;
        }
    }

    state parse_lane_6 {
        pkt.extract(hdr.lanes[6]);
        transition select(meta.lane_end) {
            7: parse_tail;
            default: parse_lane_7;
        }
    }

    state parse_lane_7 {
        pkt.extract(hdr.lanes[7]);
        transition select(meta.lane_end) {
            8: parse_tail;
            default: parse_lane_8;
        }
    }

    state parse_lane_8 {
        pkt.extract(hdr.lanes[8]);
        transition select(meta.lane_end) {
            9: parse_tail;
            default: parse_lane_9;
        }
    }

    state parse_lane_9 {
        pkt.extract(hdr.lanes[9]);
        transition select(meta.lane_end) {
            10: parse_tail;
            default: parse_lane_10;
        }
    }

    state parse_lane_10 {
        pkt.extract(hdr.lanes[10]);
        transition select(meta.lane_end) {
            11: parse_tail;
            default: parse_lane_11;
        }
    }

    state parse_lane_11 {
        pkt.extract(hdr.lanes[11]);
        transition select(meta.lane_end) {
            12: parse_tail;
            default: parse_lane_12;
        }
    }

    state parse_lane_12 {
        pkt.extract(hdr.lanes[12]);
        transition select(meta.lane_end) {
            13: parse_tail;
            default: parse_lane_13;
        }
    }

    state parse_lane_13 {
        pkt.extract(hdr.lanes[13]);
        transition select(meta.lane_end) {
            14: parse_tail;
            default: parse_lane_14;
        }
    }

    state parse_lane_14 {
        pkt.extract(hdr.lanes[14]);
        transition select(meta.lane_end) {
            15: parse_tail;
            default: parse_lane_15;
        }
    }

    state parse_lane_15 {
        pkt.extract(hdr.lanes[15]);
        transition parse_tail;
    }

    state parse_tail {
        transition select(meta.tail_now) {
            0: parse_trailer_check;
            default: parse_tail_0;
        }
    }

    state parse_tail_0 {
        pkt.extract(hdr.tail[0]);
        transition select(meta.tail_now) {
            1: parse_trailer_check;
            default: parse_tail_1;
        }
    }

    state parse_tail_1 {
        pkt.extract(hdr.tail[1]);
        transition select(meta.tail_now) {
            2: parse_trailer_check;
            default: parse_tail_2;
        }
    }

    state parse_tail_2 {
        pkt.extract(hdr.tail[2]);
        transition select(meta.tail_now) {
            3: parse_trailer_check;
            default: parse_tail_3;
        }
    }

    state parse_tail_3 {
        pkt.extract(hdr.tail[3]);
        transition select(meta.tail_now) {
            4: parse_trailer_check;
            default: parse_tail_4;
        }
    }

    state parse_tail_4 {
        pkt.extract(hdr.tail[4]);
        transition select(meta.tail_now) {
            5: parse_trailer_check;
            default: parse_tail_5;
        }
    }

    state parse_tail_5 {
        pkt.extract(hdr.tail[5]);
        transition select(meta.tail_now) {
            6: parse_trailer_check;
            default: parse_tail_6;
        }
    }

    state parse_tail_6 {
        pkt.extract(hdr.tail[6]);
        transition parse_trailer_check;
    }

    state parse_trailer_check {
        transition select(meta.trailer_now) {
            0: accept;
            default: parse_trailer;
        }
    }

    state parse_trailer {
        pkt.extract(hdr.trailer, (bit<32>)meta.trailer_now << 3);
        transition accept;
    }

    state parse_tcp {
        pkt.extract(hdr.tcp);
        verify(hdr.tcp.data_offset >= 5, error.TcpBadDataOffset);
        pkt.extract(hdr.tcp_options, ((bit<32>)hdr.tcp.data_offset - 5) << 5);
        meta.l4_src_port = hdr.tcp.src_port;
        meta.l4_dst_port = hdr.tcp.dst_port;
        meta.l4_hdr_len = (bit<16>)hdr.tcp.data_offset << 2;
        transition check_payload;
    }

    state parse_udp {
        pkt.extract(hdr.udp);
        meta.l4_src_port = hdr.udp.src_port;
        meta.l4_dst_port = hdr.udp.dst_port;
        meta.l4_hdr_len = 8;
        transition check_payload;
    }

    state parse_esp {
        pkt.extract(hdr.esp);
        meta.l4_hdr_len = 8;
        transition accept;
    }

    // The first 8 payload bytes (capture triggers) are only read when the IP
    // lengths say they are payload and the frame really holds them, so a
    // short or padded frame never turns into a parser error here.
    state check_payload {
        meta.l4_payload_len = meta.l3_len - meta.l3_hdr_len - meta.l4_hdr_len;
        meta.head_ok = (bit<1>)(meta.l3_len >= meta.l3_hdr_len + meta.l4_hdr_len + 8
            && (bit<32>)meta.l2_len + (bit<32>)meta.l3_len <= sm.packet_length - meta.parsed_len);
        transition select(meta.head_ok) {
            1: parse_payload_head;
            default: accept;
        }
    }

    state parse_payload_head {
        meta.l4_payload_head = pkt.lookahead<bit<64>>();
        // RTP version 2 with room for its 12-byte header: ingress decides from
        // the UDP port (rtp_ports table) whether it really is RTP
        meta.rtp_candidate = (bit<1>)(hdr.udp.isValid() && meta.l4_payload_len >= 12
                                      && meta.l4_payload_head[63:62] == 2);
        transition select(meta.rtp_candidate) {
            1: parse_rtp;
            default: accept;
        }
    }

    state parse_rtp {
        pkt.extract(hdr.rtp);
        // RFC 4175 puts the high 16 bits of a 32-bit sequence number right after
        // the RTP header; merge groups in MGF_ESN mode use it (merge.p4)
        meta.rtp_esn_ok = (bit<1>)(meta.l4_payload_len >= 14);
        transition select(meta.rtp_esn_ok) {
            1: parse_rtp_esn;
            default: accept;
        }
    }

    state parse_rtp_esn {
        meta.rtp_esn = pkt.lookahead<bit<16>>();
        transition accept;
    }
}

control NicVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp_ecn, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr,
              hdr.ipv4_options.options },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

control NicComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        // Rewritten IPv4 headers (NIC-generated ACKs, reassembled datagrams)
        // get a fresh checksum; headers passed through unchanged keep theirs.
        update_checksum(hdr.ipv4.isValid() && (meta.ack_out == 1 || meta.reassembled == 1),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp_ecn, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        // The ACK carries no payload: the TCP checksum covers the pseudo
        // header and the 20-byte TCP header only (the original payload is cut
        // off by truncate() in egress).
        update_checksum(hdr.ipv4.isValid() && meta.ack_out == 1,
            { hdr.ipv4.src_addr, hdr.ipv4.dst_addr, 8w0, hdr.ipv4.protocol, 16w20,
              hdr.tcp.src_port, hdr.tcp.dst_port, hdr.tcp.seq_no, hdr.tcp.ack_no,
              hdr.tcp.data_offset, hdr.tcp.res, hdr.tcp.flags, hdr.tcp.window,
              hdr.tcp.urgent_ptr },
            hdr.tcp.checksum, HashAlgorithm.csum16);
        update_checksum(hdr.ipv6.isValid() && meta.ack_out == 1,
            { hdr.ipv6.src_addr, hdr.ipv6.dst_addr, 32w20, 24w0, 8w6,
              hdr.tcp.src_port, hdr.tcp.dst_port, hdr.tcp.seq_no, hdr.tcp.ack_no,
              hdr.tcp.data_offset, hdr.tcp.res, hdr.tcp.flags, hdr.tcp.window,
              hdr.tcp.urgent_ptr },
            hdr.tcp.checksum, HashAlgorithm.csum16);
    }
}

control NicDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.clock);
        pkt.emit(hdr.capture);
        pkt.emit(hdr.placement);
        pkt.emit(hdr.cq_err);
        pkt.emit(hdr.merge_place);
        pkt.emit(hdr.cq_ok);
        pkt.emit(hdr.ts_record);
        pkt.emit(hdr.rx_meta);
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.reasm);
        pkt.emit(hdr.vlan);
        pkt.emit(hdr.crypto);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.ipv4_options);
        pkt.emit(hdr.ipv6);
        pkt.emit(hdr.ipv6_frag);
        pkt.emit(hdr.lanes);
        pkt.emit(hdr.tail);
        pkt.emit(hdr.trailer);
        pkt.emit(hdr.tcp);
        pkt.emit(hdr.tcp_options);
        pkt.emit(hdr.udp);
        pkt.emit(hdr.esp);
        pkt.emit(hdr.rtp);
    }
}

#endif
