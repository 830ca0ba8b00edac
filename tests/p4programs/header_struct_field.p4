/* A struct inside a header: BMv2 gets the flattened fields p4c names _row_e0, _row_nib_p1, ...
   A direct call of an action with constant arguments: the constants are inlined (p4c's
   RemoveActionParameters), so the action has no control-plane parameter. */
#include "include/testlib.p4"
struct inner_t { bit<4> p; bit<4> q; }
struct row_t { bit<8> e; inner_t nib; }
header rec_t { bit<8> tag; row_t row; bit<8> res; }
struct headers { ethernet_t eth; rec_t rec; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.rec); transition accept; }
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action fwd(bit<9> port) { sm.egress_spec = port; }
    action mark(bit<8> v) { hdr.rec.res = v; }
    table by_row {
        key = { hdr.rec.row.e : exact; hdr.rec.row.nib.q : exact; }
        actions = { fwd; NoAction; }
        const entries = { (0x11, 0x2) : fwd(3); }
        default_action = NoAction();
    }
    apply {
        sm.egress_spec = 1;
        hdr.rec.row.nib.p = hdr.rec.tag[3:0];
        by_row.apply();
        if (hdr.rec.row.nib.p == 0xf) {
            mark(0x5a);
        }
    }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
