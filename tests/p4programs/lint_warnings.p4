// p4c's warnings beyond unused/def-use: constant table keys (ignore-prop and
// mismatch), an out argument overlapping another one (ordering), constant shifts and
// literals that do not fit (overflow), select cases that do not matter
// (parser-transition), an explicit reject (unsupported), and the info about a table
// whose apply is dead code (removed).
#include "include/testlib.p4"

header a_t { bit<8> x; bit<8> y; }
header b_t { bit<8> v; bit<8> w; bit<8> z; }
struct headers { ethernet_t eth; a_t a; b_t b; }
struct meta_t { bit<8> k; }

const bool DEBUG = false;
const bit<8> SEVEN = 7;

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.etype) { 0x0800: p_a; 0x86dd: reject; default: accept; }
    }
    state p_a {
        pkt.extract(hdr.a);
        transition select(hdr.a.x) { 1: p_b; 2: p_b; default: p_b; }
    }
    state p_b { pkt.extract(hdr.b); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set_w(bit<8> v) { hdr.b.w = v; }
    action twice(inout bit<8> a, inout bit<8> b) { a = b + 1; b = b + 2; }
    table tk {
        key = { hdr.a.x : exact; SEVEN : exact @name("seven"); }
        actions = { set_w; NoAction; }
        default_action = NoAction();
    }
    table t_debug {
        key = { hdr.a.x : exact; }
        actions = { set_w; NoAction; }
        default_action = set_w(0xDD);
    }
    apply {
        tk.apply();
        if (DEBUG) { t_debug.apply(); }
        twice(hdr.a.y, hdr.a.y);
        hdr.b.v = (bit<8>)(4w3 << 3);
        hdr.a.x = hdr.a.x + 300;
        hdr.b.z = hdr.b.z + (8w1 << 8);
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
