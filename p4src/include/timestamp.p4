/* p4nic — NIC arrival timestamps (seed 002).
 *
 * Every packet's arrival time comes from the NIC clock
 * (ingress_global_timestamp, microseconds since the switch started). For
 * flows the NIC also keeps the previous arrival and packet/byte totals, so
 * each delivery carries the inter-arrival gap (the dispersion the host turns
 * into path capacity and arrival rate). One read-modify-write per register
 * per packet.
 */
#ifndef _P4NIC_TIMESTAMP_P4_
#define _P4NIC_TIMESTAMP_P4_

#include "headers.p4"

control ArrivalTimestamp(inout headers_t hdr,
                         inout metadata_t meta,
                         in standard_metadata_t sm) {

    register<bit<48>>(MAX_FLOWS) last_arrival;
    register<bit<32>>(MAX_FLOWS) flow_packets;
    register<bit<32>>(MAX_FLOWS) flow_bytes;

    apply {
        meta.arrival_ts = sm.ingress_global_timestamp;
        if (meta.flow_hit == 1) {
            bit<48> last;
            last_arrival.read(last, meta.flow_id);
            if (last == 0) {
                meta.gap_us = 0;   // first packet of the flow
            } else {
                meta.gap_us = (bit<32>)(meta.arrival_ts - last);
            }
            last_arrival.write(meta.flow_id, meta.arrival_ts);

            bit<32> packets;
            flow_packets.read(packets, meta.flow_id);
            meta.flow_packets = packets + 1;
            flow_packets.write(meta.flow_id, meta.flow_packets);

            bit<32> bytes;
            flow_bytes.read(bytes, meta.flow_id);
            meta.flow_bytes = bytes + meta.frame_len;
            flow_bytes.write(meta.flow_id, meta.flow_bytes);
        }
    }
}

#endif
