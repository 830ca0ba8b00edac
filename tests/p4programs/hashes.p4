// hash() with crc16, crc32, csum16, xor16 and identity, with base and max (calculations).
#include "include/testlib.p4"

header h_t {
    bit<8> a; bit<16> b;
    bit<16> crc16; bit<32> crc32; bit<16> csum; bit<16> xr; bit<16> ident; bit<16> ranged;
}
struct headers { ethernet_t eth; h_t h; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.h); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hash(hdr.h.crc16, HashAlgorithm.crc16, 16w0, { hdr.h.a, hdr.h.b }, 32w65536);
        hash(hdr.h.crc32, HashAlgorithm.crc32, 32w0, { hdr.h.a, hdr.h.b }, 64w4294967296);
        hash(hdr.h.csum, HashAlgorithm.csum16, 16w0, { hdr.h.b, hdr.h.a, 8w0 }, 32w65536);
        hash(hdr.h.xr, HashAlgorithm.xor16, 16w0, { hdr.h.b, hdr.h.a, 8w0 }, 32w65536);
        hash(hdr.h.ident, HashAlgorithm.identity, 16w0, { hdr.h.b }, 32w65536);
        hash(hdr.h.ranged, HashAlgorithm.identity, 16w100, { hdr.h.b }, 32w10);
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
