// expect: 5:14: error: Re-declaration of h_t with different type
// p4c also refuses it here ([--Werror=duplicate]): at top level a name is a type or an object, not both
#include "include/testlib.p4"
header h_t { bit<8> a; }
const bit<8> h_t = 1;
struct headers { ethernet_t eth; h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) { state start { pkt.extract(hdr.eth); transition accept; } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
