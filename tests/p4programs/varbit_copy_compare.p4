// A varbit header extracted with the two-argument extract, copied whole, changed,
// compared (== with varbit fields) and deparsed with the rest: no varbit byte is lost.
#include "include/testlib.p4"
header base_t { bit<4> ver; bit<4> words; bit<8> tag; }
header opts_t { bit<8> kind; varbit<160> data; }
struct headers { ethernet_t eth; base_t base; opts_t opts; opts_t copy; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.base);
        pkt.extract(hdr.opts, (bit<32>)hdr.base.words * 32);
        transition accept;
    }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hdr.copy = hdr.opts;
        hdr.copy.kind = 7;
        hdr.base.tag = hdr.opts == hdr.copy ? 8w1 : 8w2;
        sm.egress_spec = 2;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) {
    apply { pkt.emit(hdr); }
}
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
