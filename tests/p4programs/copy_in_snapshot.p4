// P4_16 copy-in: an 'in' header argument is a copy taken at the call, even when the
// callee changes the argument's storage meanwhile (by naming it, or through an inout
// argument rooted at the same variable; for actions and for a sub-control).
#include "include/testlib.p4"

header h_t { bit<8> a; bit<8> b; bit<8> c; }
struct headers { ethernet_t eth; h_t h; h_t g; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.h); pkt.extract(hdr.g); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)

control Sub(inout headers hs, in h_t snap) {
    apply { hs.g.a = hs.g.a + 1; hs.g.b = snap.a; }
}

control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Sub() sub;
    action named(in h_t old) { hdr.h.a = 0x99; hdr.h.b = old.a; }
    action through(inout h_t w, in h_t r) { w.c = 0x55; w.a = r.c; }
    apply {
        named(hdr.h);            // h.b = old h.a
        through(hdr.h, hdr.h);   // h.a = old h.c
        sub.apply(hdr, hdr.g);   // g.b = old g.a
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
