// expect: 8:12: error: parameter 'hdr' of 'VC' must have direction 'inout' as in 'VerifyChecksum'
#include "include/testlib.p4"
struct headers { ethernet_t eth; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); transition accept; }
}
control VC(in headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
