// resubmit_preserving_field_list in ingress, recirculate_preserving_field_list in egress.
#include "include/testlib.p4"

header c_t { bit<8> n; bit<8> rounds; bit<8> res; }
struct headers { ethernet_t eth; c_t c; }
struct meta_t {
    @field_list(0) bit<8> rounds;
    @field_list(1) bit<8> res;
}

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.c); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 3;
        if (sm.instance_type == 0 && meta.res == 0) {
            meta.res = 7;
            resubmit_preserving_field_list(1);
        } else if (sm.instance_type == 6) {
            hdr.c.res = meta.res;
        }
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        if (hdr.c.n < 3) {
            hdr.c.n = hdr.c.n + 1;
            meta.rounds = meta.rounds + 1;
            recirculate_preserving_field_list(0);
        } else {
            hdr.c.rounds = meta.rounds;
        }
    }
}
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
