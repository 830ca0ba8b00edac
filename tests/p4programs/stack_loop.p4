// Header stack: parser loop with next/last, push_front/pop_front, setValid on an element.
#include "include/testlib.p4"

header lbl_t { bit<7> val; bit<1> bos; }
struct headers { ethernet_t eth; lbl_t[4] lbls; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.etype) { 0x8847: parse_lbl; default: accept; }
    }
    state parse_lbl {
        pkt.extract(hdr.lbls.next);
        transition select(hdr.lbls.last.bos) { 1: accept; default: parse_lbl; }
    }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        if (hdr.lbls[0].isValid() && hdr.lbls[0].val == 5) {
            hdr.lbls.pop_front(1);
        } else {
            hdr.lbls.push_front(1);
            hdr.lbls[0].setValid();
            hdr.lbls[0].val = 9;
            hdr.lbls[0].bos = 0;
        }
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
