// select on tuples with masks, ranges, don't-care and default; lookahead, advance,
// verify with a user error, and parser_error seen in ingress.
#include "include/testlib.p4"

error { BadY }
header a_t { bit<8> x; bit<8> y; }
header b_t { bit<8> v; }
struct headers { ethernet_t eth; a_t a; b_t b; }
struct meta_t { bit<8> path; }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.a);
        meta.path = 0;
        transition select(hdr.a.x, hdr.a.y) {
            (0x10 &&& 0xF0, _): p_mask;
            (0x20 .. 0x2F, 0x01): p_range;
            (0x30, 0x00 .. 0x7F): p_look;
            (0x40, _): p_verify;
            default: accept;
        }
    }
    state p_mask { meta.path = 1; transition accept; }
    state p_range { meta.path = 2; transition accept; }
    state p_look {
        transition select(pkt.lookahead<bit<8>>()) { 0xAA: p_adv; default: p_b; }
    }
    state p_adv { pkt.advance(8); meta.path = 3; transition p_b; }
    state p_b { pkt.extract(hdr.b); transition accept; }
    state p_verify { verify(hdr.a.y == 0, error.BadY); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hdr.a.y = meta.path;
        if (sm.parser_error == error.BadY) {
            hdr.a.y = 0xEE;
        }
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
