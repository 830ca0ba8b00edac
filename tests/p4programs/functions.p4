// Functions with early returns, in/out/inout parameters (copy-in/copy-out) and nested calls.
#include "include/testlib.p4"

header f_t { bit<8> a; bit<8> b; bit<8> r1; bit<8> r2; bit<8> r3; }
struct headers { ethernet_t eth; f_t f; }
struct meta_t { }

bit<8> clamp(in bit<8> x, in bit<8> hi) {
    if (x > hi) {
        return hi;
    }
    return x;
}

bit<8> add_and_count(inout bit<8> cnt, in bit<8> v) {
    cnt = cnt + 1;
    return v + clamp(v, 8w10);
}

void swap(inout bit<8> x, inout bit<8> y) {
    bit<8> t = x;
    x = y;
    y = t;
}

void split(in bit<8> v, out bit<8> hi, out bit<8> lo) {
    hi = v >> 4;
    lo = v & 0x0F;
}

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.f); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action act() {
        hdr.f.r1 = clamp(hdr.f.a, 50);
        hdr.f.r2 = add_and_count(hdr.f.r3, hdr.f.b);
    }
    apply {
        act();
        swap(hdr.f.a, hdr.f.b);
        split(hdr.f.r1, hdr.f.r3, hdr.f.r1);
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
