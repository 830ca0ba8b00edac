// varbit field extracted with a run-time length (extract_VL) and emitted again.
#include "include/testlib.p4"

header base_t { bit<4> ver; bit<4> words; bit<8> tag; }
header opts_t { varbit<120> data; }
struct headers { ethernet_t eth; base_t base; opts_t opts; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.base);
        pkt.extract(hdr.opts, (bit<32>)hdr.base.words * 32);
        transition accept;
    }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hdr.base.tag = hdr.opts.isValid() ? 8w0x55 : 8w0x66;
        sm.egress_spec = 2;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) {
    apply { pkt.emit(hdr.eth); pkt.emit(hdr.base); pkt.emit(hdr.opts); }
}
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
