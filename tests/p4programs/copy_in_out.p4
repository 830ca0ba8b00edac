// Copy-in/copy-out of out/inout arguments (P4_16 6.8) where the argument's storage is
// also reachable another way: an action that names the header its argument lives in,
// the same field passed twice (copied out left to right), and a function.
#include "include/testlib.p4"

header d_t { bit<8> a; bit<8> b; bit<8> c; bit<8> d; }
struct headers { ethernet_t eth; d_t d; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.d); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)

bit<8> bump_both(inout bit<8> x, inout bit<8> y) {
    x = x + 1;
    y = y + 2;
    return x;
}

control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    // v is a copy of hdr.d.a: the body still reads the old hdr.d.a
    action set_and_read(inout bit<8> v) {
        v = 0x01;
        hdr.d.b = hdr.d.a;
    }
    action twice(inout bit<8> x, inout bit<8> y) {
        x = x + 0x10;
        y = y + 0x20;
    }
    apply {
        set_and_read(hdr.d.a);
        twice(hdr.d.c, hdr.d.c);          // both copies start at c; y is copied out last
        hdr.d.d = bump_both(hdr.d.d, hdr.d.d);
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
