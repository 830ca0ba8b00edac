// direct_counter and direct_meter attached to a table (counters/meters properties).
#include "include/testlib.p4"

header m_t { bit<8> k; bit<8> color; }
struct headers { ethernet_t eth; m_t m; }
struct meta_t { bit<8> color; }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.m); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    direct_counter(CounterType.packets) hits;
    direct_meter<bit<8>>(MeterType.packets) policer;
    action fwd(bit<9> port) {
        sm.egress_spec = port;
        policer.read(meta.color);
        hits.count();
    }
    action deny() { policer.read(meta.color); mark_to_drop(sm); }
    table acl {
        key = { hdr.m.k : exact; }
        actions = { fwd; deny; }
        default_action = deny();
        counters = hits;
        meters = policer;
    }
    apply {
        meta.color = 0xFF;
        acl.apply();
        hdr.m.color = meta.color;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
