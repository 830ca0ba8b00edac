// update_checksum_with_payload: UDP checksum over a pseudo header, the UDP header and payload.
#include "include/testlib.p4"

header ip_t { ip4_t src; ip4_t dst; bit<8> zero; bit<8> proto; }
header udp_t { bit<16> sport; bit<16> dport; bit<16> len; bit<16> csum; }
struct headers { ethernet_t eth; ip_t ip; udp_t udp; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.ip);
        transition select(hdr.ip.proto) { 17: udp; default: accept; }
    }
    state udp { pkt.extract(hdr.udp); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { sm.egress_spec = 1; }
}
NO_EGRESS(headers, meta_t)
control CC(inout headers hdr, inout meta_t meta) {
    apply {
        update_checksum_with_payload(hdr.udp.isValid(),
            { hdr.ip.src, hdr.ip.dst, 8w0, hdr.ip.proto, hdr.udp.len,
              hdr.udp.sport, hdr.udp.dport, hdr.udp.len, 16w0 },
            hdr.udp.csum, HashAlgorithm.csum16);
    }
}
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
