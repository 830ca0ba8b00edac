/* Benchmark program: one ternary table forwarding on the destination MAC.
 * Entries are const so the same JSON forwards under `simple_switch --use-files`
 * and `pybm-switch --use-files` with no control plane, for side-by-side timing.
 */
#include <core.p4>
#include <v1model.p4>

header ethernet_t {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

struct headers_t { ethernet_t ethernet; }
struct metadata_t { }

parser L2Parser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.ethernet);
        transition accept;
    }
}

control L2VerifyChecksum(inout headers_t hdr, inout metadata_t meta) { apply { } }

control L2Ingress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t sm) {
    action forward(bit<9> port) { sm.egress_spec = port; }
    action drop() { mark_to_drop(sm); }

    table l2_fwd {
        key = { hdr.ethernet.dst_addr : ternary; }
        actions = { forward; drop; }
        default_action = drop();
        const entries = {
            0x000000000001 &&& 0xffffffffffff : forward(0);
            0x000000000002 &&& 0xffffffffffff : forward(1);
            0x020000000000 &&& 0xff0000000000 : forward(1);
        }
    }

    apply { l2_fwd.apply(); }
}

control L2Egress(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t sm) { apply { } }
control L2ComputeChecksum(inout headers_t hdr, inout metadata_t meta) { apply { } }

control L2Deparser(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.ethernet); }
}

V1Switch(L2Parser(), L2VerifyChecksum(), L2Ingress(), L2Egress(), L2ComputeChecksum(),
         L2Deparser()) main;
