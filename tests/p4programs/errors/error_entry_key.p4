// expect: 10:80: error: error.NoError: unsupported exact key expression
#include "include/testlib.p4"
struct headers { ethernet_t eth; }
struct meta_t { error err; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); transition accept; }
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action fwd() { sm.egress_spec = 1; }
    table t { key = { meta.err : exact; } actions = { fwd; } const entries = { error.NoError : fwd(); } }
    apply { meta.err = sm.parser_error; t.apply(); }
}
NO_CHECKSUM(VC, headers, meta_t)
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
