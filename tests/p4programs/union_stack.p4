// A stack of header unions: elements parsed with .next into either member, read back by
// index, validity per member, emitted. (No push_front/pop_front here: the real
// simple_switch leaves the vacated union elements valid, unlike the P4 spec and pybm.)
#include "include/testlib.p4"

header a_t { bit<8> tag; bit<8> a; }
header b_t { bit<8> tag; bit<16> b; }
header_union ab_u { a_t a; b_t b; }
header n_t { bit<8> count; bit<8> kinds; bit<8> spare; }
struct headers { ethernet_t eth; n_t n; ab_u[3] s; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    bit<8> left;
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.n);
        left = hdr.n.count;
        transition select(left) { 0: accept; default: elem; }
    }
    state elem {
        transition select(pkt.lookahead<bit<8>>()) { 0xaa: elem_a; default: elem_b; }
    }
    state elem_a { pkt.extract(hdr.s.next.a); transition more; }
    state elem_b { pkt.extract(hdr.s.next.b); transition more; }
    state more {
        left = left - 1;
        transition select(left) { 0: accept; default: elem; }
    }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        // kinds: two bits per element, 01 = a, 10 = b, 00 = invalid
        bit<8> k = 0;
        if (hdr.s[0].a.isValid()) { k[1:0] = 1; } else if (hdr.s[0].b.isValid()) { k[1:0] = 2; }
        if (hdr.s[1].a.isValid()) { k[3:2] = 1; } else if (hdr.s[1].b.isValid()) { k[3:2] = 2; }
        if (hdr.s[2].a.isValid()) { k[5:4] = 1; } else if (hdr.s[2].b.isValid()) { k[5:4] = 2; }
        hdr.n.kinds = k;
        if (hdr.s[0].a.isValid()) { hdr.s[0].a.a = hdr.s[0].a.a + 1; }
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
