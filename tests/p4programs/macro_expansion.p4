// Macros as cpp expands them: arguments over several lines, # and ##, variadic
// arguments, __LINE__; warnings inside an expansion show the expanded line, as p4c's do.
#include "include/testlib.p4"

#define FIELD(kind, n) bit<8> kind ## _ ## n;
#define DECLARE_TWO(a, b) \
    bit<8> a = 2; \
    bit<8> b = 3;
#define CALL(f, ...) f(__VA_ARGS__)
#define TAG(x) @name(#x)

header opt_t { FIELD(f, 0) FIELD(f, 1) }
struct headers { ethernet_t eth; opt_t opt; }
struct meta_t { }

bit<8> add3(in bit<8> a, in bit<8> b, in bit<8> c) { return a + b + c; }

parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.opt); transition accept; }
}
NO_CHECKSUM(VC, headers, meta_t)
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    TAG(renamed_counter) counter(4, CounterType.packets) hits;
    apply {
        DECLARE_TWO(unused_a,
                    unused_b)
        hdr.opt.f_0 = CALL(add3, hdr.opt.f_0, hdr.opt.f_1, 8w1);
        hdr.opt.f_1 = (bit<8>)__LINE__;
        hits.count(0);
        sm.egress_spec = 2;
    }
}
NO_EGRESS(headers, meta_t)
NO_CHECKSUM(CC, headers, meta_t)
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
