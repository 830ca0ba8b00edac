// expect: 7:9: error: syntax error, unexpected 'exit'
#include "include/testlib.p4"
struct headers { ethernet_t eth; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        exit;
        transition accept;
    }
}
