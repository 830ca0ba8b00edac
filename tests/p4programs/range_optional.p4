// Range and optional keys, explicit entry priorities (priority = / @priority; smallest wins as in p4c-bm2-ss).
#include "include/testlib.p4"

header k_t { bit<16> port; bit<8> proto; bit<8> res; }
struct headers { ethernet_t eth; k_t k; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.k); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set(bit<8> r) { hdr.k.res = r; sm.egress_spec = 1; }
    table acl {
        key = { hdr.k.port : range; hdr.k.proto : optional; }
        actions = { set; NoAction; }
        const entries = {
            priority = 10: (0 .. 1023, 6)     : set(1);
            priority = 20: (80 .. 80, _)      : set(2);
            @priority(5) (1024 .. 0xFFFF, _)  : set(3);
            priority = 1: (_, 17)             : set(4);
        }
        default_action = set(0xFF);
    }
    apply { acl.apply(); }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.k); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
