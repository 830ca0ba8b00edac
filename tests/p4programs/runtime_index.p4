// Header stack elements at run-time indices (read, write, isValid), stack size.
#include "include/testlib.p4"

header e_t { bit<8> v; }
header i_t { bit<8> idx; bit<8> got; bit<8> valid; bit<8> size; }
struct headers { ethernet_t eth; i_t i; e_t[3] es; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.i);
        pkt.extract(hdr.es[0]);
        pkt.extract(hdr.es[1]);
        transition accept;
    }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        bit<8> i = hdr.i.idx;
        hdr.i.size = (bit<8>)hdr.es.size;
        hdr.i.valid = hdr.es[i].isValid() ? 8w1 : 8w0;
        if (hdr.es[i].isValid()) {
            hdr.i.got = hdr.es[i].v;
            hdr.es[i].v = hdr.es[i].v + 1;
        }
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
