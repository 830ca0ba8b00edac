/* Shared declarations of the pybm-p4c test corpus. */
#ifndef TESTLIB_P4
#define TESTLIB_P4
#include <core.p4>
#include <v1model.p4>

typedef bit<48> mac_t;
typedef bit<32> ip4_t;

header ethernet_t {
    mac_t    dst;
    mac_t    src;
    bit<16>  etype;
}

/* Empty controls for programs that do not need every v1model block. */
#define NO_CHECKSUM(NAME, H, M) control NAME(inout H hdr, inout M meta) { apply { } }
#define NO_EGRESS(H, M) control NoEgress(inout H hdr, inout M meta, inout standard_metadata_t sm) { apply { } }

#define ETH_DROP_UNLESS(cond) if (!(cond)) { mark_to_drop(sm); }
#endif
