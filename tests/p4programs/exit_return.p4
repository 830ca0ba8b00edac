// exit inside an action and in the apply body; return in the apply body and in an action.
#include "include/testlib.p4"

header z_t { bit<8> k; bit<8> a; bit<8> b; bit<8> c; }
struct headers { ethernet_t eth; z_t z; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.z); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action stop() { hdr.z.a = 0xA1; exit; }
    action maybe(bit<8> v) {
        hdr.z.a = v;
        if (v == 0x55) {
            return;
        }
        hdr.z.b = v;
    }
    table t {
        key = { hdr.z.k : exact; }
        actions = { stop; maybe; }
        const entries = { 1 : stop(); 2 : maybe(0x55); 3 : maybe(0x66); }
        default_action = maybe(0);
    }
    apply {
        sm.egress_spec = 1;
        t.apply();
        if (hdr.z.k == 3) {
            hdr.z.c = 0x33;
            return;
        }
        if (hdr.z.k == 4) {
            exit;
        }
        hdr.z.c = 0xCC;
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { hdr.z.k = hdr.z.k + 0x10; }
}
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
