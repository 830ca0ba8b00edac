// Arithmetic: wrap-around, slices (read and write), concatenation, shifts, saturating
// ops, signed int<W> with casts, bitwise ops, comparisons, ?:.
#include "include/testlib.p4"

header n_t {
    bit<8> a; bit<8> b;
    bit<8> sum; bit<8> diff; bit<8> sat_add; bit<8> sat_sub;
    bit<16> cat; bit<8> slc; bit<8> shl; bit<8> shr; bit<8> bits;
    bit<8> sgn; bit<8> mx; bit<8> mul;
}
struct headers { ethernet_t eth; n_t n; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.n); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        bit<8> a = hdr.n.a;
        bit<8> b = hdr.n.b;
        hdr.n.sum = a + b;
        hdr.n.diff = a - b;
        hdr.n.sat_add = a |+| b;
        hdr.n.sat_sub = a |-| b;
        hdr.n.cat = a[3:0] ++ b ++ 4w0xF;
        hdr.n.slc = 0;
        hdr.n.slc[7:4] = b[3:0];
        hdr.n.slc[1:0] = 2w3;
        hdr.n.shl = a << 3;
        hdr.n.shr = a >> b[2:0];
        hdr.n.bits = (a & 0xF0) | (~b & 0x0F) ^ 0x01;
        int<8> s = (int<8>)a;
        s = s - 8s100;
        hdr.n.sgn = (bit<8>)(s < 0 ? -s : s);
        hdr.n.mx = a > b ? a : b;
        hdr.n.mul = a * 3;
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
