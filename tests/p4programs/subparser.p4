// A sub-parser instantiated in the main parser; its accept continues the caller's state.
#include "include/testlib.p4"

header tag_t { bit<8> kind; bit<8> val; }
header tail_t { bit<8> t; }
struct headers { ethernet_t eth; tag_t tag; tail_t tail; }
struct meta_t { bit<8> seen; }

parser TagParser(packet_in pkt, out tag_t tag, inout bit<8> seen) {
    state start {
        pkt.extract(tag);
        transition select(tag.kind) { 1: one; default: accept; }
    }
    state one { seen = tag.val; transition accept; }
}

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    TagParser() tp;
    state start {
        pkt.extract(hdr.eth);
        meta.seen = 0;
        tp.apply(pkt, hdr.tag, meta.seen);
        pkt.extract(hdr.tail);
        transition accept;
    }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { hdr.tail.t = meta.seen; sm.egress_spec = 1; }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
