// clone_preserving_field_list I2E: the clone keeps only @field_list(1) metadata.
#include "include/testlib.p4"

header x_t { bit<8> keep; bit<8> other; bit<8> inst; }
struct headers { ethernet_t eth; x_t x; }
struct meta_t {
    @field_list(1) bit<8> keep;
    bit<8> other;
}

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.x); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        meta.keep = 0x11;
        meta.other = 0x22;
        sm.egress_spec = 1;
        clone_preserving_field_list(CloneType.I2E, 5, 1);
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hdr.x.keep = meta.keep;
        hdr.x.other = meta.other;
        hdr.x.inst = (bit<8>)sm.instance_type;
    }
}
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
