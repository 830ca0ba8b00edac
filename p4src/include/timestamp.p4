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

    // Each cell: the flow entry's generation (top 16 bits) ++ the value, so a
    // flow id installed again starts from zero (see flow.p4).
    register<bit<64>>(MAX_FLOWS) last_arrival;   // generation ++ arrival time
    register<bit<48>>(MAX_FLOWS) flow_packets;   // generation ++ packets
    register<bit<48>>(MAX_FLOWS) flow_bytes;     // generation ++ bytes

    apply {
        meta.arrival_ts = sm.ingress_global_timestamp;
        if (meta.flow_hit == 1) {
            bit<64> last;
            last_arrival.read(last, meta.flow_id);
            if (last[63:48] != meta.flow_gen) {
                meta.gap_us = 0;   // first packet of the flow
            } else {
                meta.gap_us = (bit<32>)(meta.arrival_ts - last[47:0]);
            }
            last_arrival.write(meta.flow_id, meta.flow_gen ++ meta.arrival_ts);

            bit<48> packets;
            flow_packets.read(packets, meta.flow_id);
            if (packets[47:32] != meta.flow_gen) {
                packets = 0;
            }
            meta.flow_packets = packets[31:0] + 1;
            flow_packets.write(meta.flow_id, meta.flow_gen ++ meta.flow_packets);

            bit<48> bytes;
            flow_bytes.read(bytes, meta.flow_id);
            if (bytes[47:32] != meta.flow_gen) {
                bytes = 0;
            }
            meta.flow_bytes = bytes[31:0] + meta.frame_len;
            flow_bytes.write(meta.flow_id, meta.flow_gen ++ meta.flow_bytes);
        }
    }
}

#endif
