// Const entries on exact+ternary keys: first matching entry wins; default action with arguments.
#include "include/testlib.p4"

header op_t { bit<8> kind; bit<8> flags; bit<8> res; }
struct headers { ethernet_t eth; op_t op; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.op); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action mark(bit<8> v, bit<9> port) { hdr.op.res = v; sm.egress_spec = port; }
    table classify {
        key = { hdr.op.kind : exact; hdr.op.flags : ternary; }
        actions = { mark; }
        const default_action = mark(0xEE, 9w7);
        const entries = {
            (1, 0x01 &&& 0x01) : mark(0x11, 1);
            (1, _)             : mark(0x10, 1);
            (2, 0xF0 &&& 0xF0) : mark(0x22, 2);
            (2, 0x0F)          : mark(0x20, 2);
        }
    }
    apply { classify.apply(); }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
