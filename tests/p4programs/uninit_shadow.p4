// p4c's uninitialized-use and shadow warnings (tests/p4c/test_vs_real_p4c.py compares them):
// reads that may see an uninitialized value (a parser's out header not extracted on every
// path, locals, an action's out parameter, a struct with a field left unset) and names
// that shadow outer ones; the packets check which declaration each name reaches.
#include "include/testlib.p4"

header s_t { bit<8> k; bit<8> r; bit<8> h; }
header o_t { bit<8> v; }
struct headers { ethernet_t eth; s_t s; o_t o; }
struct pair_t { bit<8> a; bit<8> b; }
struct meta_t { bit<8> m; bit<8> n; }

const bit<8> BASE = 0x10;

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.etype) {
            0x0800: parse_s;
            default: check;
        }
    }
    state parse_s {
        pkt.extract(hdr.s);
        transition check;
    }
    state check {
        // hdr.s is extracted on one path only
        transition select(hdr.s.k) {
            7: parse_o;
            default: accept;
        }
    }
    state parse_o {
        pkt.extract(hdr.o);
        transition accept;
    }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    bit<8> BASE = 0x20;  // shadows the global constant
    bit<8> scratch;
    bit<8> step = 1;
    action bump(bit<8> step) {  // shadows the control's 'step'
        hdr.s.r = hdr.s.r + step;
    }
    action twice(out bit<8> y) {
        y = y + 1;  // y is an out parameter: uninitialized here
        y = 2;
    }
    table t {
        key = { hdr.s.k : exact; }
        actions = { bump; NoAction; }
        const entries = { 1 : bump(5); }
        default_action = NoAction();
    }
    apply {
        sm.egress_spec = 1;
        if (!hdr.s.isValid()) {
            exit;
        }
        bit<8> w;
        if (hdr.s.k == 2) {
            w = 3;
        }
        meta.m = w;  // w is set on one path only
        pair_t p;
        p.a = hdr.s.k;
        meta.n = p.b;  // p.b is never set
        twice(meta.n);
        meta.m = scratch;  // a control local never written
        bit<8> v = BASE;
        if (hdr.s.k == 3) {
            bit<8> v = step + 1;  // shadows the block's 'v'
            hdr.s.h = v;
        } else {
            hdr.s.h = v;
        }
        t.apply();
        if (hdr.o.isValid()) {
            hdr.o.v = meta.n;
        }
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
