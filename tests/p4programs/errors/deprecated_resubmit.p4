// expect: 9:39: error: resubmit: unknown extern function
#include "include/testlib.p4"
struct headers { ethernet_t eth; }
struct meta_t { bit<8> x; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); transition accept; }
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { if (hdr.eth.etype == 1) { resubmit({meta.x}); } }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
