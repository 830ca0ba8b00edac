// @controller_header packet_in / packet_out headers (P4Runtime PacketIn/PacketOut metadata):
// packets from the CPU port carry packet_out, packets sent to the CPU get packet_in.
#include "include/testlib.p4"

#define CPU_PORT 64

@controller_header("packet_in")
header packet_in_t { bit<9> ingress_port; bit<7> pad; }
@controller_header("packet_out")
header packet_out_t { bit<9> egress_port; bit<7> pad; }

struct headers { packet_out_t pout; packet_in_t pin; ethernet_t eth; }
struct meta_t { }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        transition select(sm.ingress_port) { CPU_PORT: from_cpu; default: eth; }
    }
    state from_cpu { pkt.extract(hdr.pout); transition eth; }
    state eth { pkt.extract(hdr.eth); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        if (hdr.pout.isValid()) {
            sm.egress_spec = hdr.pout.egress_port;
            hdr.pout.setInvalid();
        } else {
            sm.egress_spec = CPU_PORT;
            hdr.pin.setValid();
            hdr.pin.ingress_port = sm.ingress_port;
            hdr.pin.pad = 0;
        }
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.pin); pkt.emit(hdr.eth); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
