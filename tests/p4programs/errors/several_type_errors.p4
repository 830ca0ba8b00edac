// expect: 10:9: error: 'h_t' has no field 'zz'
// p4c also reports the three type errors (lines 10, 11, 12) and exits 1; pybm-p4c lists all three
#include "include/testlib.p4"
header h_t { bit<8> a; bit<8> b; }
struct headers { ethernet_t eth; h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) { state start { pkt.extract(hdr.eth); transition accept; } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hdr.h.zz = 1;
        bool x = 8w1;
        hdr.h.a = hdr.h.b ++ hdr.h.a;
    }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
