// A control instantiated twice inside ingress (inlined twice, tables named per instance),
// with a constructor parameter and a table per instance.
#include "include/testlib.p4"

header v_t { bit<8> first; bit<8> second; }
struct headers { ethernet_t eth; v_t v; }
struct meta_t { }

control Stage(inout bit<8> value)(bit<8> bump) {
    action add(bit<8> d) { value = value + d + bump; }
    table tab {
        key = { value : exact; }
        actions = { add; NoAction; }
        default_action = NoAction();
    }
    apply { tab.apply(); }
}

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.v); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Stage(1) s1;
    Stage(100) s2;
    apply {
        s1.apply(hdr.v.first);
        s2.apply(hdr.v.second);
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
