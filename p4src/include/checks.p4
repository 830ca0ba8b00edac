/* p4nic — receive checks (seed 001, "end of packet checks").
 *
 * Data-link checks first (frame length, destination MAC), then network and
 * transport header sanity. The first failing check names the drop reason;
 * each reason has its own index in the drop_reasons counter.
 */
#ifndef _P4NIC_CHECKS_P4_
#define _P4NIC_CHECKS_P4_

#include "headers.p4"

control RxChecks(inout headers_t hdr,
                 inout metadata_t meta,
                 in standard_metadata_t sm) {

    action accept_mac() { }
    action accept_proto() { }

    // Destination MACs the NIC accepts: its own address(es), broadcast,
    // chosen multicast groups; a wildcard entry means promiscuous.
    table mac_filter {
        key = { hdr.ethernet.dst_addr : ternary; }
        actions = { accept_mac; @defaultonly NoAction; }
        default_action = NoAction();
        size = 64;
    }

    // Transport protocols the NIC knows (driver installs TCP, UDP, ESP, ICMP).
    table l4_proto_allowed {
        key = { meta.ip_proto : exact; }
        actions = { accept_proto; @defaultonly NoAction; }
        default_action = NoAction();
        size = 32;
    }

    apply {
        bit<32> frame_len = meta.frame_len;
        if (frame_len < MIN_FRAME_LEN && sm.instance_type != PKT_INSTANCE_TYPE_RECIRC) {
            // (a fed-back plaintext is no wire frame: no minimum)
            meta.drop_reason = DROP_RUNT;
        } else if (frame_len > (bit<32>)meta.l2_len + MAX_L2_PAYLOAD && meta.reassembled == 0) {
            // (a datagram the NIC reassembled may be longer than any frame)
            meta.drop_reason = DROP_GIANT;
        } else if (!mac_filter.apply().hit) {
            meta.drop_reason = DROP_DMAC;
        } else if (sm.parser_error == error.PacketTooShort) {
            meta.drop_reason = DROP_TRUNCATED;
        } else if (sm.parser_error == error.IPv4BadVersion) {
            meta.drop_reason = DROP_IPV4_VERSION;
        } else if (sm.parser_error == error.IPv4BadIHL) {
            meta.drop_reason = DROP_IPV4_IHL;
        } else if (sm.parser_error == error.IPv6BadVersion) {
            meta.drop_reason = DROP_IPV6_VERSION;
        } else if (sm.parser_error == error.TcpBadDataOffset) {
            meta.drop_reason = DROP_TCP_HEADER;
        } else if (sm.parser_error != error.NoError) {
            meta.drop_reason = DROP_PARSER_OTHER;
        } else if (hdr.crypto.isValid() || hdr.reasm.isValid()) {
            // crypto engine frames belong on the engine's port only, reassembly
            // pass headers inside the NIC
            meta.drop_reason = DROP_PARSER_OTHER;
        } else if (hdr.ipv4.isValid()
                   && (hdr.ipv4.total_len < meta.l3_hdr_len
                       || (bit<32>)meta.l2_len + (bit<32>)hdr.ipv4.total_len > frame_len)) {
            meta.drop_reason = DROP_IPV4_TOTAL_LEN;
        } else if (hdr.ipv4.isValid() && sm.checksum_error == 1) {
            meta.drop_reason = DROP_IPV4_CHECKSUM;
        } else if (hdr.ipv6.isValid()
                   && (bit<32>)meta.l2_len + (bit<32>)meta.l3_len > frame_len) {
            meta.drop_reason = DROP_IPV6_LENGTH;
        } else if (meta.l3_valid == 1 && !l4_proto_allowed.apply().hit) {
            meta.drop_reason = DROP_UNKNOWN_PROTO;
        } else if (hdr.tcp.isValid() && meta.is_fragment == 0
                   && meta.l3_len < meta.l3_hdr_len + meta.l4_hdr_len) {
            // (a first fragment too short for its TCP header: reassembly.p4's tiny check)
            meta.drop_reason = DROP_TCP_HEADER;
        } else if (hdr.udp.isValid() && meta.is_fragment == 0
                   && (hdr.udp.length < 8 || hdr.udp.length > meta.l3_len - meta.l3_hdr_len)) {
            // (a first fragment's UDP length counts the whole datagram: not checkable here)
            meta.drop_reason = DROP_UDP_LENGTH;
        }
    }
}

#endif
