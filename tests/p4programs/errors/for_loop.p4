// expect: 17:13: error: unsupported by pybm-p4c: table or control apply inside a for loop
#include "include/testlib.p4"
header h_t { bit<8> a; bit<16> b; }
struct headers { ethernet_t eth; h_t h; }
struct meta_t { bit<8> m; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.h); transition accept; }
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    table t {
        key = { hdr.h.a : exact; }
        actions = { NoAction; }
    }
    apply {
        for (bit<8> i = 0; i < 4; i = i + 1) {
            hdr.h.a = hdr.h.a + 1;
            t.apply();
        }
    }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
