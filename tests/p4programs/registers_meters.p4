// register read-modify-write per index, indexed meter (unconfigured: green), indexed counter.
#include "include/testlib.p4"

header r_t { bit<8> idx; bit<32> val; bit<8> color; }
struct headers { ethernet_t eth; r_t r; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.r); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    register<bit<32>>(8) regs;
    meter(8, MeterType.packets) rate;
    counter(8, CounterType.packets_and_bytes) seen;
    apply {
        bit<32> cur;
        regs.read(cur, (bit<32>)hdr.r.idx);
        cur = cur + 1;
        regs.write((bit<32>)hdr.r.idx, cur);
        hdr.r.val = cur;
        rate.execute_meter((bit<32>)hdr.r.idx, hdr.r.color);
        seen.count((bit<32>)hdr.r.idx);
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
