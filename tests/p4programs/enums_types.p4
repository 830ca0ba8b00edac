// enum, serializable enum (in a header and as table key), typedef, type (new type), error.
#include "include/testlib.p4"

enum Mode { OFF, ON, AUTO }
enum bit<8> Proto { TCP = 6, UDP = 17, ICMP = 1 }
type bit<16> PortId_t;
typedef bit<8> byte_t;

header e_t { Proto proto; byte_t res; bit<16> port; }
struct headers { ethernet_t eth; e_t e; }
struct meta_t { Mode mode; }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        pkt.extract(hdr.e);
        transition select(hdr.e.proto) {
            Proto.TCP: tcp;
            Proto.UDP: udp;
            default: accept;
        }
    }
    state tcp { meta.mode = Mode.ON; transition accept; }
    state udp { meta.mode = Mode.AUTO; transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set(byte_t v) { hdr.e.res = hdr.e.res | v; }
    table by_proto {
        key = { hdr.e.proto : exact; }
        actions = { set; NoAction; }
        const entries = { Proto.ICMP : set(0x80); Proto.UDP : set(0x40); }
        default_action = NoAction();
    }
    apply {
        PortId_t p = (PortId_t)hdr.e.port;
        if (meta.mode == Mode.ON) {
            hdr.e.res = 1;
        } else if (meta.mode == Mode.AUTO) {
            hdr.e.res = 2;
        } else {
            hdr.e.res = 3;
        }
        by_proto.apply();
        hdr.e.port = (bit<16>)p + 1;
        sm.egress_spec = 1;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
