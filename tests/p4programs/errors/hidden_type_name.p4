// expect: 11:13: error: syntax error, unexpected 'x'
// p4c also refuses it at 'x' ("unexpected IDENTIFIER"): from its ';' to the end of its block, the variable h_t hides the header type h_t
#include "include/testlib.p4"
header h_t { bit<8> a; }
struct headers { ethernet_t eth; h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) { state start { pkt.extract(hdr.eth); transition accept; } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        bit<8> h_t = hdr.h.a;
        h_t x = hdr.h;
        hdr.h = x;
    }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
