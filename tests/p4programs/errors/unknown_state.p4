// expect: 6:5: error: unknown parser state 'parse_nothing'
#include "include/testlib.p4"
struct headers { ethernet_t eth; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); transition parse_nothing; }
}
