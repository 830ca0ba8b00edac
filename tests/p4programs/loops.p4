// for loops with break/continue (run inside one action with _jump/_jump_if_zero): in the
// apply body and in an action.
#include "include/testlib.p4"

header c_t { bit<8> n; bit<8> sum; bit<16> pow; }
struct headers { ethernet_t eth; c_t c; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.c); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action powers(bit<8> limit) {
        bit<16> p = 1;
        for (bit<8> i = 0; i < limit && i < 15; i = i + 1) {
            p = p << 1;
        }
        hdr.c.pow = p;
    }
    table t {
        key = { hdr.eth.etype : exact; }
        actions = { powers; }
        default_action = powers(4);
    }
    apply {
        bit<8> acc = 0;
        for (bit<8> i = 1; i <= hdr.c.n; i = i + 1) {
            if (i == 10) {
                break;
            }
            if (i == 3) {
                continue;
            }
            acc = acc + i;
        }
        hdr.c.sum = acc;
        t.apply();
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
