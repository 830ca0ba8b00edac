/* p4nic — egress: what a packet becomes on its way to the host or the wire.
 *
 * Multicast replicas (egress_rid) of one received packet become the packet
 * itself (optionally behind an rx descriptor, or as a placement record), its
 * arrival-timestamp record, and the NIC-generated TCP ACK.
 */
#ifndef _P4NIC_DELIVERY_P4_
#define _P4NIC_DELIVERY_P4_

#include "headers.p4"

const bit<32> RX_META_BYTES   = 32;
const bit<32> TS_RECORD_BYTES = 32;
const bit<32> PLACEMENT_BYTES = 24;

control Delivery(inout headers_t hdr,
                 inout metadata_t meta,
                 inout standard_metadata_t sm) {

    bit<1> bare = 0;

    // Ports whose receiver is a kernel stack, not p4nic software: frames go
    // out without an rx descriptor (decrypted plaintext as the stack takes it;
    // ESP without a key as the stack's own IPsec takes it).
    action no_descriptor() {
        bare = 1;
    }

    table port_descriptors {
        key = { sm.egress_port : exact; }
        actions = { no_descriptor; @defaultonly NoAction; }
        default_action = NoAction();
        size = 64;
    }

    // Records replace the packet: its headers go, the rest is cut by truncate().
    action strip_packet_headers() {
        hdr.ethernet.setInvalid();
        hdr.vlan[0].setInvalid();
        hdr.vlan[1].setInvalid();
        hdr.ipv4.setInvalid();
        hdr.ipv4_options.setInvalid();
        hdr.ipv6.setInvalid();
        hdr.tcp.setInvalid();
        hdr.tcp_options.setInvalid();
        hdr.udp.setInvalid();
        hdr.esp.setInvalid();
        hdr.rtp.setInvalid();
        hdr.ipv6_frag.setInvalid();
    }

    action make_ts_record() {
        strip_packet_headers();
        hdr.ts_record.setValid();
        hdr.ts_record.magic = P4NIC_MAGIC;
        hdr.ts_record.type = PT_TS_RECORD;
        hdr.ts_record.version = P4NIC_VERSION;
        hdr.ts_record.flow_id = meta.flow_id;
        hdr.ts_record.seq = meta.flow_packets;
        hdr.ts_record.arrival_ts = meta.arrival_ts;
        hdr.ts_record.length = (bit<16>)meta.frame_len;
        hdr.ts_record.gap_us = meta.gap_us;
        hdr.ts_record.flow_packets = meta.flow_packets;
        hdr.ts_record.flow_bytes = meta.flow_bytes;
        truncate(TS_RECORD_BYTES);
    }

    action make_placement() {
        bit<32> seq = hdr.tcp.seq_no;   // read before the TCP header goes
        strip_packet_headers();
        hdr.placement.setValid();
        hdr.placement.magic = P4NIC_MAGIC;
        hdr.placement.type = PT_PLACEMENT;
        hdr.placement.version = P4NIC_VERSION;
        hdr.placement.flow_id = meta.flow_id;
        hdr.placement.addr = meta.place_addr;
        hdr.placement.seq = seq;
        hdr.placement.length = meta.l4_payload_len;
        hdr.placement.flags = 0;
        // cut Ethernet padding after the payload
        truncate(PLACEMENT_BYTES + (bit<32>)meta.l4_payload_len);
    }

    // flags is computed in the apply block, so it is an `in` parameter: a
    // directionless one would be control-plane data (and appear in P4Info)
    action add_rx_meta(in bit<16> flags) {
        hdr.rx_meta.setValid();
        hdr.rx_meta.magic = P4NIC_MAGIC;
        hdr.rx_meta.type = PT_RX_META;
        hdr.rx_meta.version = P4NIC_VERSION;
        hdr.rx_meta.flags = flags;
        hdr.rx_meta.key_index = meta.key_index;
        hdr.rx_meta.flow_id = meta.flow_id;
        hdr.rx_meta.arrival_ts = meta.arrival_ts;
        hdr.rx_meta.in_port = (bit<16>)meta.in_port;
        hdr.rx_meta.gap_us = meta.gap_us;
        hdr.rx_meta.flow_packets = meta.flow_packets;
        hdr.rx_meta.flow_bytes = meta.flow_bytes;
    }

    // The acknowledgment the NIC sends back for the sender (seed 001): built
    // from a replica of the received segment, addresses and ports swapped.
    action make_tcp_ack() {
        mac_addr_t mac = hdr.ethernet.dst_addr;
        hdr.ethernet.dst_addr = hdr.ethernet.src_addr;
        hdr.ethernet.src_addr = mac;
        bit<16> port = hdr.tcp.dst_port;
        hdr.tcp.dst_port = hdr.tcp.src_port;
        hdr.tcp.src_port = port;
        hdr.tcp.seq_no = hdr.tcp.ack_no;
        hdr.tcp.ack_no = meta.ack_no;
        hdr.tcp.data_offset = 5;
        hdr.tcp.res = 0;
        hdr.tcp.flags = TCP_ACK;
        hdr.tcp.window = NIC_ACK_WINDOW;
        hdr.tcp.urgent_ptr = 0;
        hdr.tcp_options.setInvalid();
        hdr.rtp.setInvalid();
        meta.ack_out = 1;
    }

    apply {
        bool replica = sm.instance_type == PKT_INSTANCE_TYPE_REPLICATION;
        if (replica && sm.egress_rid == RID_RECORD) {
            make_ts_record();
        } else if (replica && sm.egress_rid == RID_ACK) {
            make_tcp_ack();
            bit<32> l3 = 0;
            if (hdr.ipv4.isValid()) {
                ipv4_addr_t a = hdr.ipv4.dst_addr;
                hdr.ipv4.dst_addr = hdr.ipv4.src_addr;
                hdr.ipv4.src_addr = a;
                hdr.ipv4.ihl = 5;
                hdr.ipv4_options.setInvalid();
                hdr.ipv4.dscp_ecn = 0;
                hdr.ipv4.total_len = 40;
                hdr.ipv4.identification = 0;
                hdr.ipv4.flags = 2;   // don't fragment
                hdr.ipv4.frag_offset = 0;
                hdr.ipv4.ttl = 64;
                l3 = 40;
            } else {
                ipv6_addr_t b = hdr.ipv6.dst_addr;
                hdr.ipv6.dst_addr = hdr.ipv6.src_addr;
                hdr.ipv6.src_addr = b;
                hdr.ipv6.payload_len = 20;
                hdr.ipv6.hop_limit = 64;
                l3 = 60;
            }
            truncate((bit<32>)meta.l2_len + l3);
        } else if (meta.place == 1) {
            make_placement();
        } else {
            bit<16> flags = 0;
            if (meta.flow_hit == 1) {
                flags = flags | RXF_FLOW_HIT;
            }
            if (meta.flow_hit == 1 && meta.ts_mode == TS_IN_PACKET) {
                flags = flags | RXF_TS_VALID;
            }
            if (meta.key_valid == 1) {
                flags = flags | RXF_KEY_VALID;
            }
            if (meta.no_key == 1) {
                flags = flags | RXF_NO_KEY;
            }
            if (meta.is_rtp == 1) {
                flags = flags | RXF_RTP;
            }
            if (meta.decrypted == 1) {
                flags = flags | RXF_DECRYPTED | RXF_ICV_OK | ((bit<16>)meta.passes[3:0] << 12);
            }
            if (meta.tunnel == 1) {
                flags = flags | RXF_TUNNEL;
            }
            if (meta.reassembled == 1) {
                flags = flags | RXF_REASSEMBLED;
            }
            if ((flags & (RXF_TS_VALID | RXF_KEY_VALID | RXF_NO_KEY)) != 0) {
                port_descriptors.apply();
                if (bare == 0) {
                    add_rx_meta(flags);
                }
            }
        }
    }
}

#endif
