// Expressions p4c settles at compile time or reorders, which pybm-p4c must too:
// 0 / x and 0 % x (the operand's side effects kept), x / 2^k, x % 2^k; an integer
// literal too wide for its type (p4c warns and keeps the low bits); a slice of a
// slice as an l-value; a slice as an inout argument; a run-time stack index on the
// left of an assignment whose value changes that index (p4c reads a plain index after
// the calls on the right, an index computed by a call before them); serializable enum header
// fields matched by const entries with a mask of the underlying type.
#include "include/testlib.p4"

enum bit<8> Kind { A = 1, B = 0x20 }
enum bit<16> Kind2 { X = 10, Y = 0xab00 }
header r_t { bit<8> zdiv; bit<8> zmod; bit<8> div4; bit<8> mod8; bit<8> lit; bit<8> nest; bit<8> sl; bit<8> cnt; }
header e_t { Kind k; Kind2 k2; bit<8> idx; }
header s_t { bit<8> v; }
struct headers { ethernet_t eth; r_t r; e_t e; s_t[2] s; }
struct meta_t { bit<8> calls; }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.r);
        pkt.extract(hdr.e);
        pkt.extract(hdr.s.next);
        pkt.extract(hdr.s.next);
        transition accept;
    }
}
NO_CHECKSUM(VC, headers, meta_t)

bit<8> count(inout bit<8> calls, in bit<8> v) {
    calls = calls + 1;
    return v;
}
bit<8> take_idx(inout bit<8> idx) {
    idx = 0;
    return 0x77;
}

control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action bump(inout bit<4> nib) { nib = nib + 1; }
    action set_port(bit<9> p) { sm.egress_spec = p; }
    table by_kind {
        key = { hdr.e.k : exact; hdr.e.k2 : ternary; }
        actions = { set_port; NoAction; }
        const entries = {
            (Kind.A, _) : set_port(2);
            (Kind.B, Kind2.Y &&& 0xff00) : set_port(3);
        }
        default_action = NoAction();
    }
    apply {
        meta.calls = 0;
        hdr.r.zdiv = 8w0 / count(meta.calls, hdr.r.zdiv);
        hdr.r.zmod = 8w0 % count(meta.calls, hdr.r.zmod);
        hdr.r.div4 = hdr.r.div4 / 4;
        hdr.r.mod8 = hdr.r.mod8 % 8;
        hdr.r.lit = hdr.r.lit + 0x1ff;
        hdr.r.nest[7:4][2:1] = 2w3;
        bump(hdr.r.sl[5:2]);
        hdr.r.cnt = meta.calls;
        hdr.s[hdr.e.idx].v = take_idx(hdr.e.idx);
        hdr.s[count(meta.calls, hdr.r.mod8)[0:0]].v = take_idx(hdr.r.mod8);
        sm.egress_spec = 1;
        by_kind.apply();
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) {
    apply { pkt.emit(hdr); }
}
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
