/* Varbit headers extracted with the two-argument extract into a stack element and,
   in a sub-parser, into an out argument, with sizes from a field and from lookahead. */
#include "include/testlib.p4"
header opt_t { bit<8> len; varbit<256> data; }
struct headers { ethernet_t eth; opt_t[2] st; opt_t o; }
struct meta_t { bit<8> n; }
parser Sub(packet_in pkt, out opt_t o, in bit<8> n) {
    state start { pkt.extract(o, (bit<32>)n * 8); transition accept; }
}
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Sub() sub;
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.st.next, (bit<32>)hdr.eth.etype[7:0] * 8);
        meta.n = pkt.lookahead<bit<8>>();
        sub.apply(pkt, hdr.o, meta.n);
        transition accept;
    }
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { sm.egress_spec = 1; }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
