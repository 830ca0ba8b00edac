/* '_' for an extern's out argument (extract<T>(_) skips a header: p4c's temporary 'arg'),
   'a op= b' evaluating a call-computed index of a once, lookahead of a struct, and an
   error-typed table key (P4Info: no bitwidth, the error members in type_info). */
#include "include/testlib.p4"
header skip_t { bit<16> junk; }
header word_t { bit<8> x; }
struct peek_t { bit<4> hi; bit<4> lo; }
struct headers { ethernet_t eth; word_t[4] w; }
struct meta_t { bit<8> i; bit<8> peeked; error err; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract<skip_t>(_);
        meta.peeked = (bit<8>)pkt.lookahead<peek_t>().lo;
        pkt.extract(hdr.w.next);
        pkt.extract(hdr.w.next);
        pkt.extract(hdr.w.next);
        pkt.extract(hdr.w.next);
        transition accept;
    }
}
bit<8> postincr(inout bit<8> v) {
    bit<8> old = v;
    v = v + 1;
    return old;
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set_port(bit<9> port) { sm.egress_spec = port; }
    table by_error {
        key = { meta.err : exact; }
        actions = { set_port; NoAction; }
        default_action = set_port(2);
    }
    apply {
        meta.i = hdr.eth.etype[7:0];
        hdr.w[postincr(meta.i) & 3].x |= 8w0x80;
        hdr.w[postincr(meta.i) & 3].x += meta.peeked;
        hdr.eth.etype[7:0] = meta.i;
        meta.err = sm.parser_error;
        sm.egress_spec = 1;
        by_error.apply();
    }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
