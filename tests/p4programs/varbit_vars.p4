// varbit: a varbit local variable (p4c's '$varbitN' metadata header), equality of
// headers that contain varbit fields, lookahead of a header type and of a typedef.
#include "include/testlib.p4"

typedef bit<8> len_t;
header vh_t { bit<8> tag; bit<8> len; varbit<64> data; }
header peek_t { bit<8> tag; bit<8> len; }
header res_t { bit<8> same_hdr; bit<8> same_field; bit<8> peeked; }
struct headers { ethernet_t eth; res_t res; vh_t a; vh_t b; }
struct meta_t { bit<8> peek; }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.res);
        meta.peek = pkt.lookahead<len_t>();
        pkt.extract(hdr.a, (bit<32>)pkt.lookahead<peek_t>().len * 8);
        pkt.extract(hdr.b, (bit<32>)pkt.lookahead<peek_t>().len * 8);
        transition accept;
    }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    varbit<64> tmp;
    apply {
        hdr.res.same_hdr = hdr.a == hdr.b ? 8w1 : 8w0;
        hdr.res.same_field = hdr.a.data == hdr.b.data ? 8w1 : 8w0;
        hdr.res.peeked = meta.peek;
        // swap the varbit fields through the local variable
        tmp = hdr.a.data;
        hdr.a.data = hdr.b.data;
        hdr.b.data = tmp;
        sm.egress_spec = 2;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) {
    apply { pkt.emit(hdr.eth); pkt.emit(hdr.res); pkt.emit(hdr.a); pkt.emit(hdr.b); }
}
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
