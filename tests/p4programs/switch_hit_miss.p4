// switch on action_run (with fall-through and default) and if on hit/miss.
#include "include/testlib.p4"

header s_t { bit<8> k; bit<8> r; bit<8> h; }
struct headers { ethernet_t eth; s_t s; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.s); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action a1() { hdr.s.r = 1; }
    action a2() { hdr.s.r = 2; }
    action a3() { hdr.s.r = 3; }
    table t1 {
        key = { hdr.s.k : exact; }
        actions = { a1; a2; a3; NoAction; }
        const entries = { 1 : a1(); 2 : a2(); 3 : a3(); }
        default_action = NoAction();
    }
    table t2 {
        key = { hdr.s.k : exact; }
        actions = { NoAction; }
        const entries = { 2 : NoAction(); }
    }
    apply {
        switch (t1.apply().action_run) {
            a1:
            a2: { hdr.s.r = hdr.s.r + 0x10; }
            default: { hdr.s.r = hdr.s.r + 0x40; }
        }
        if (t2.apply().miss) {
            hdr.s.h = 0xAA;
        } else {
            hdr.s.h = 0xBB;
        }
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
