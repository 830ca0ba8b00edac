// truncate() the outgoing packet; digest() a struct to the control plane.
#include "include/testlib.p4"

struct learn_t { mac_t src; bit<9> port; }
struct headers { ethernet_t eth; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        digest<learn_t>(1, { hdr.eth.src, sm.ingress_port });
        if (hdr.eth.etype == 0x88b5) {
            truncate(16);
        }
        sm.egress_spec = 4;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.eth); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
