/* Varbit headers: a size computed from lookahead (BMv2 takes a lookahead only as the source
   of a 'set': pybm-p4c reads it into a temporary first), through a sub-control and an
   action's inout, and copied to another header before the deparser emits both. */
#include "include/testlib.p4"
header opt_t { bit<8> len; varbit<256> data; }
struct headers { ethernet_t eth; opt_t o; opt_t copy; opt_t[2] st; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.o, (bit<32>)pkt.lookahead<bit<8>>() * 8 + 0);
        transition accept;
    }
}
control Sub(inout opt_t x, inout bit<16> t) { apply { t = t + 1; } }
action keep(inout opt_t v) { v.len = v.len; }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Sub() s;
    apply {
        sm.egress_spec = 1;
        s.apply(hdr.o, hdr.eth.etype);
        keep(hdr.o);
        if (hdr.eth.etype == 2) { hdr.copy = hdr.o; }
        if (hdr.eth.etype == 3) { hdr.st[1] = hdr.o; }
    }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
