// expect: 7:19: error: extracting a header with a varbit field needs a size argument
#include "include/testlib.p4"
header opt_t { bit<8> len; varbit<64> data; }
struct headers { ethernet_t eth; opt_t opt; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.opt); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
