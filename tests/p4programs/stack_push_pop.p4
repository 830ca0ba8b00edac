// Header stack push_front / pop_front (P4_16 8.18): push_front(n) shifts the elements
// up by n, the first n become invalid; pop_front(n) shifts them down by n, the last n
// become invalid. Two ops per packet (in a sub-control, whose op argument is read from
// the headers it also changes), then the valid bits and the deparsed stack show it.
#include "include/testlib.p4"

header ops_t { bit<8> op1; bit<8> op2; bit<8> valid_bits; }
header e_t { bit<8> f; }
struct headers { ethernet_t eth; ops_t ops; e_t[4] st; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.ops); transition parse_e; }
    state parse_e {
        pkt.extract(hdr.st.next);
        transition select(hdr.st.last.f) { 0: accept; default: parse_e; }
    }
}
NO_CHECKSUM(VC, headers, meta_t)

control DoOp(inout headers hdr, in bit<8> op) {
    apply {
        if (op == 0x11) { hdr.st.push_front(1); }
        else if (op == 0x12) { hdr.st.push_front(2); }
        else if (op == 0x15) { hdr.st.push_front(5); }
        else if (op == 0x21) { hdr.st.pop_front(1); }
        else if (op == 0x22) { hdr.st.pop_front(2); }
        else if (op == 0x25) { hdr.st.pop_front(5); }
        else if (op == 0x30) { hdr.st[0].setValid(); hdr.st[0].f = 0xa0; }
    }
}

control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    DoOp() do_op;
    apply {
        do_op.apply(hdr, hdr.ops.op1);
        do_op.apply(hdr, hdr.ops.op2);
        bit<8> v = 0;
        if (hdr.st[0].isValid()) { v[0:0] = 1; }
        if (hdr.st[1].isValid()) { v[1:1] = 1; }
        if (hdr.st[2].isValid()) { v[2:2] = 1; }
        if (hdr.st[3].isValid()) { v[3:3] = 1; }
        hdr.ops.valid_bits = v;
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
