// Default actions with arguments (const and settable), direct action calls with constant
// arguments (p4c-style tbl_ tables), @defaultonly / @tableonly action scopes, setdefault.
#include "include/testlib.p4"

header d_t { bit<8> k; bit<8> v; bit<16> w; }
struct headers { ethernet_t eth; d_t d; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.d); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set_v(bit<8> v) { hdr.d.v = v; }
    action set_w(bit<16> w, bit<9> port) { hdr.d.w = w; sm.egress_spec = port; }
    table t1 {
        key = { hdr.d.k : exact; }
        actions = { @tableonly set_v; @defaultonly NoAction; }
        default_action = NoAction();
    }
    table t2 {
        key = { hdr.d.k : exact; }
        actions = { set_w; }
        default_action = set_w(0xBEEF, 2);
    }
    apply {
        set_v(0x77);
        t1.apply();
        t2.apply();
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
