// random() with lo == hi (deterministic), log_msg with and without data, assert/assume.
#include "include/testlib.p4"

header g_t { bit<8> a; bit<16> r; }
struct headers { ethernet_t eth; g_t g; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.g); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        random(hdr.g.r, 16w0x1234, 16w0x1234);
        log_msg("packet with a={}", { hdr.g.a });
        log_msg("plain message");
        assert(hdr.g.r == 0x1234);
        assume(hdr.eth.etype != 0);
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
