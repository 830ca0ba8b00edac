// Table keys that are not plain fields: masked fields (key & mask), isValid(),
// a slice, an expression (computed into a temporary), @name on keys; lpm + exact.
#include "include/testlib.p4"

header k_t { bit<16> a; bit<8> b; bit<8> r; }
header opt_t { bit<8> o; }
struct headers { ethernet_t eth; k_t k; opt_t opt; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.k);
        transition select(hdr.k.b) { 0xFF: opt; default: accept; }
    }
    state opt { pkt.extract(hdr.opt); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set(bit<8> r) { hdr.k.r = r; }
    table t {
        key = {
            hdr.k.a & 0xFF00 : exact @name("a_high");
            hdr.opt.isValid() : exact;
            hdr.k.a[3:0] : exact @name("a_low");
            hdr.k.b + 1 : lpm @name("b_plus_one");
        }
        actions = { set; NoAction; }
        default_action = NoAction();
        const entries = {
            (0x1200, false, 0x4, 0x10 &&& 0xF0) : set(1);
            (0x1200, true,  0x4, 0x00 &&& 0x00) : set(2);
            (0x1200, false, 0x4, 0x21)          : set(3);
        }
    }
    apply { t.apply(); sm.egress_spec = 1; }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
