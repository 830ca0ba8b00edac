// expect: 9:39: error: Expected 1 argument for mark_to_drop(). Are you using an up-to-date v1model.p4?
#include "include/testlib.p4"
struct headers { ethernet_t eth; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); transition accept; }
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { if (hdr.eth.etype == 0) { mark_to_drop(); } }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
