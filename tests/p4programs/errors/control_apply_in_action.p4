// expect: 25:9: error: sub.apply(hdr): apply cannot be called from actions
// p4c refuses it the same way: no control apply inside an action either
#include "include/testlib.p4"

header s_t { bit<8> k; bit<8> r; bit<8> h; }
struct headers { ethernet_t eth; s_t s; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.s); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control Sub(inout headers hdr) { apply { hdr.s.h = 7; } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set_r(bit<8> v) { hdr.s.r = v; }
    table t {
        key = { hdr.s.k : exact; }
        actions = { set_r; NoAction; }
        const entries = { 1 : set_r(0x11); 2 : set_r(0x22); }
        default_action = NoAction();
    }
    Sub() sub;
    action do_lookup() {
        hdr.s.h = 1;
        sub.apply(hdr);
        t.apply();
        hdr.s.h = hdr.s.h + hdr.s.r;
    }
    apply {
        do_lookup();
        t.apply();
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
