// Table applies inside expressions (p4c moves them into the control flow, keeping
// short-circuit and ?: evaluation); exit inside an action that also names its inout
// argument's storage (the copy-out still happens); statements after exit never run.
#include "include/testlib.p4"

header r_t { bit<8> k; bit<8> a; bit<8> b; bit<8> c; bit<8> d; }
struct headers { ethernet_t eth; r_t r; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.r); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)

bit<8> ident(in bit<8> v) { return v; }

control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action hit_a() { }
    action leave(inout bit<8> v) {
        v = 0xee;
        hdr.r.d = hdr.r.d + 1;
        exit;
        hdr.r.d = 0xff;
    }
    table t1 { key = { hdr.r.k : exact; } actions = { hit_a; NoAction; } default_action = NoAction();
               const entries = { 1 : hit_a(); 2 : hit_a(); } }
    table t2 { key = { hdr.r.k : exact; } actions = { hit_a; NoAction; } default_action = NoAction();
               const entries = { 2 : hit_a(); } }
    table t3 { key = { hdr.r.k : exact; } actions = { hit_a; NoAction; } default_action = NoAction();
               const entries = { 1 : hit_a(); } }
    apply {
        sm.egress_spec = 1;
        hdr.r.a = ident(t1.apply().hit ? 8w1 : 8w2);
        bool small = hdr.r.k < 2;
        bit<8> v = small || t2.apply().hit ? 8w3 : 8w4;
        hdr.r.b = v;
        hdr.r.c = hdr.r.k == 3 ? (t3.apply().hit ? 8w5 : 8w6) : 8w7;
        if (hdr.r.k == 4) {
            leave(hdr.r.d);
        }
        hdr.r.d = 0x11;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) {
    apply { pkt.emit(hdr.eth); pkt.emit(hdr.r); }
}
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
