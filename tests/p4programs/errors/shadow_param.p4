// expect: 10:16: error: declaration of 'sm' shadows a parameter 'sm'
// p4c refuses it the same way: a variable may not hide a parameter (its checkShadowing)
#include "include/testlib.p4"
header h_t { bit<8> a; }
struct headers { ethernet_t eth; h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) { state start { pkt.extract(hdr.eth); transition accept; } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        bit<9> sm = 1;
        hdr.h.a = (bit<8>)sm;
    }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
