// expect: 11:13: error: action 'a': missing argument for parameter 'y'
#include "include/testlib.p4"
header h_t { bit<8> a; bit<16> b; }
struct headers { ethernet_t eth; h_t h; }
struct meta_t { bit<8> m; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.h); transition accept; }
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action a(bit<8> x, bit<8> y) { hdr.h.a = x + y; }
    apply { a(1); }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
