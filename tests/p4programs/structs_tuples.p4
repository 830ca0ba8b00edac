// Structure initializers, list expressions, tuples, struct and header assignment, header
// initializer (makes the header valid), struct comparison.
#include "include/testlib.p4"

header p_t { bit<8> x; bit<8> y; }
header q_t { bit<8> u; bit<8> v; }
struct pair_t { bit<8> first; bit<8> second; }
struct headers { ethernet_t eth; p_t p; q_t q; }
struct meta_t { pair_t pr; }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.p); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        pair_t a = { first = hdr.p.x, second = hdr.p.y };
        pair_t b = { hdr.p.y, hdr.p.x };
        meta.pr = b;
        if (a == b) {
            hdr.q = { 0xEE, 0xEE };
        } else {
            hdr.q = { u = meta.pr.first, v = meta.pr.second };
        }
        p_t copy = hdr.p;
        tuple<bit<8>, bit<8>> tp = { copy.x, 8w1 };
        copy.x = tp[0] + tp[1];
        hdr.p = copy;
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
