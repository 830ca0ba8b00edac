// Left-to-right evaluation with side effects: functions that modify their inout arguments
// inside expressions, short-circuit && / ||, and ?: with calls.
#include "include/testlib.p4"

header s_t { bit<8> x; bit<8> r1; bit<8> r2; bit<8> r3; bit<8> calls; }
struct headers { ethernet_t eth; s_t s; }
struct meta_t { }

bit<8> bump(inout bit<8> v) {
    v = v + 1;
    return v;
}

bool touch(inout bit<8> calls, in bool result) {
    calls = calls + 1;
    return result;
}

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.s); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        // x is read before bump() changes it: r1 = x + (x + 1)
        hdr.s.r1 = hdr.s.x + bump(hdr.s.x);
        // the second touch() runs only when the first returns true
        if (touch(hdr.s.calls, hdr.s.x > 5) && touch(hdr.s.calls, true)) {
            hdr.s.r2 = 1;
        }
        if (touch(hdr.s.calls, true) || touch(hdr.s.calls, true)) {
            hdr.s.r3 = hdr.s.x > 10 ? bump(hdr.s.x) : 8w0;
        }
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
