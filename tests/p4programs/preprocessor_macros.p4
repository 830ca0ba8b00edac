// Preprocessor: object-like and function-like macros, #if/#elif/#else, defined(),
// #ifdef/#ifndef, #undef, nested conditionals and an include guard (testlib.p4 twice).
#include "include/testlib.p4"
#include "include/testlib.p4"

#define WIDTH 8
#define FLAG_A
#define ADD3(x, y, z) ((x) + (y) + (z))
#define LEVEL 2

header m_t { bit<WIDTH> a; bit<WIDTH> b; bit<WIDTH> c; }
struct headers { ethernet_t eth; m_t m; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.m); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hdr.m.a = ADD3(hdr.m.a, 1, WIDTH);
#if LEVEL == 1
        hdr.m.b = 1;
#elif LEVEL == 2 && defined(FLAG_A)
#ifdef FLAG_B
        hdr.m.b = 2;
#else
        hdr.m.b = 3;
#endif
#else
        hdr.m.b = 4;
#endif
#undef FLAG_A
#ifndef FLAG_A
        hdr.m.c = 0x0C;
#endif
        sm.egress_spec = 1;
        ETH_DROP_UNLESS(hdr.eth.etype == 0x0800)
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
