// if/else inside parser states (split into select states), a parser-local variable,
// assignments in the parser, and a value_set that falls back to default when empty.
#include "include/testlib.p4"

header p_t { bit<8> kind; bit<8> len; bit<8> note; }
header x_t { bit<8> v; }
struct headers { ethernet_t eth; p_t p; x_t x; }
struct meta_t { bit<8> score; }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    value_set<bit<16>>(4) special;
    bit<8> acc = 1;
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.p);
        if (hdr.p.kind > 10) {
            acc = acc + 10;
            if (hdr.p.len == 0) {
                acc = acc + 100;
            }
        } else {
            acc = acc + 2;
        }
        meta.score = acc;
        transition select(hdr.eth.etype) { special: with_x; 0x9999: with_x; default: accept; }
    }
    state with_x { pkt.extract(hdr.x); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hdr.p.note = meta.score;
        if (hdr.x.isValid()) { hdr.p.note = hdr.p.note + hdr.x.v; }
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
