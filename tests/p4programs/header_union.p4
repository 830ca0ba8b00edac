// header_union parsed by a select, checked with isValid on the union and members, emitted.
#include "include/testlib.p4"

header v4_t { bit<32> addr; }
header v6_t { bit<64> addr; }
header_union ip_u { v4_t v4; v6_t v6; }
header r_t { bit<8> kind; }
struct headers { ethernet_t eth; ip_u ip; r_t r; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.etype) { 0x0800: v4; 0x86dd: v6; default: rest; }
    }
    state v4 { pkt.extract(hdr.ip.v4); transition rest; }
    state v6 { pkt.extract(hdr.ip.v6); transition rest; }
    state rest { pkt.extract(hdr.r); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        if (!hdr.ip.isValid()) {
            hdr.r.kind = 0;
        } else if (hdr.ip.v4.isValid()) {
            hdr.r.kind = 4;
            hdr.ip.v4.addr = hdr.ip.v4.addr + 1;
        } else {
            hdr.r.kind = 6;
        }
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
