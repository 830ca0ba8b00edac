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
        // only first fragments carry the transport header
        transition select(hdr.ipv4.frag_offset, hdr.ipv4.protocol) {
            (0, IP_PROTO_TCP): parse_tcp;
            (0, IP_PROTO_UDP): parse_udp;
            (0, IP_PROTO_ESP): parse_esp;
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
            IP_PROTO_TCP: parse_tcp;
            IP_PROTO_UDP: parse_udp;
            IP_PROTO_ESP: parse_esp;
            default: accept;
        }
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
        // Rewritten IPv4 headers (NIC-generated ACKs) get a fresh checksum;
        // headers passed through unchanged keep theirs.
        update_checksum(hdr.ipv4.isValid() && meta.ack_out == 1,
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
        pkt.emit(hdr.vlan);
        pkt.emit(hdr.crypto);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.ipv4_options);
        pkt.emit(hdr.ipv6);
        pkt.emit(hdr.tcp);
        pkt.emit(hdr.tcp_options);
        pkt.emit(hdr.udp);
        pkt.emit(hdr.esp);
        pkt.emit(hdr.rtp);
    }
}

#endif
