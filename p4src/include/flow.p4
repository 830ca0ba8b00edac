/* p4nic — flow association (seed 001).
 *
 * Flow tuples live in four tables: IPv4 and IPv6 five-tuples, and
 * (IPv4 / IPv6 destination, SPI) for ESP. A hit gives the packet its flow id and the
 * flow's handling; a miss leaves it for the host stack, unchanged. For TCP
 * flows the NIC keeps the connection control with the host (SYN/FIN/RST go to
 * the host stack), raises PSH to the driver, acknowledges every N data
 * segments itself (cumulatively: up to the first missing byte) and, in
 * ZERO_COPY state, places payload by sequence number.
 */
#ifndef _P4NIC_FLOW_P4_
#define _P4NIC_FLOW_P4_

#include "headers.p4"

control FlowAssociation(inout headers_t hdr,
                        inout metadata_t meta,
                        in standard_metadata_t sm) {

    direct_counter(CounterType.packets_and_bytes) flow_v4_counter;
    direct_counter(CounterType.packets_and_bytes) flow_v6_counter;
    direct_counter(CounterType.packets_and_bytes) esp_flow_counter;
    direct_counter(CounterType.packets_and_bytes) esp_flow_v6_counter;

    // Per-flow state is tagged with the flow entry's generation in its top 16
    // bits: a flow id the driver installs again (new generation) reads as
    // zero, since the driver cannot reset registers over P4Runtime.
    // ack_pending: generation ++ 8w0 ++ data segments since the NIC's last ACK
    register<bit<32>>(MAX_FLOWS) ack_pending;
    // rcv_next: generation ++ 15w0 ++ valid ++ the next sequence number the
    // NIC expects, everything before it having arrived (what its ACKs acknowledge)
    register<bit<64>>(MAX_FLOWS) rcv_next;

    bit<8>  ack_every = 0;
    bit<64> buf_base = 0;
    bit<32> buf_size = 0;
    bit<32> start_seq = 0;

    // Per-flow handling. deliver_port: the flow's consumer queue (MONITOR) or
    // the placement port (ZERO_COPY). ack_every: 0 = the NIC never ACKs.
    // buf_base/buf_size/start_seq: the zero-copy buffer, where payload with
    // sequence number start_seq lands at buf_base. flow_generation: changes
    // each time the driver installs the flow id anew (never 0).
    action set_flow(flow_id_t flow_id, bit<8> state, port_t deliver_port,
                    bit<8> ack_every_n, bit<8> ts_mode,
                    bit<64> zc_buf_base, bit<32> zc_buf_size, bit<32> zc_start_seq,
                    bit<16> flow_generation_) {
        meta.flow_hit = 1;
        meta.flow_id = flow_id;
        meta.flow_state = state;
        meta.deliver_port = deliver_port;
        meta.ts_mode = ts_mode;
        ack_every = ack_every_n;
        buf_base = zc_buf_base;
        buf_size = zc_buf_size;
        start_seq = zc_start_seq;
        meta.flow_gen = flow_generation_;
    }

    table flow_v4 {
        key = {
            hdr.ipv4.src_addr : exact;
            hdr.ipv4.dst_addr : exact;
            hdr.ipv4.protocol : exact;
            meta.l4_src_port  : exact;
            meta.l4_dst_port  : exact;
        }
        actions = { set_flow; @defaultonly NoAction; }
        default_action = NoAction();
        counters = flow_v4_counter;
        size = 1024;
    }

    table flow_v6 {
        key = {
            hdr.ipv6.src_addr : exact;
            hdr.ipv6.dst_addr : exact;
            hdr.ipv6.next_hdr : exact;
            meta.l4_src_port  : exact;
            meta.l4_dst_port  : exact;
        }
        actions = { set_flow; @defaultonly NoAction; }
        default_action = NoAction();
        counters = flow_v6_counter;
        size = 1024;
    }

    table esp_flow {
        key = {
            hdr.ipv4.dst_addr : exact;
            hdr.esp.spi       : exact;
        }
        actions = { set_flow; @defaultonly NoAction; }
        default_action = NoAction();
        counters = esp_flow_counter;
        size = 1024;
    }

    table esp_flow_v6 {
        key = {
            hdr.ipv6.dst_addr : exact;
            hdr.esp.spi       : exact;
        }
        actions = { set_flow; @defaultonly NoAction; }
        default_action = NoAction();
        counters = esp_flow_v6_counter;
        size = 1024;
    }

    apply {
        if (hdr.esp.isValid() && hdr.ipv4.isValid()) {
            esp_flow.apply();
        } else if (hdr.esp.isValid() && hdr.ipv6.isValid()) {
            esp_flow_v6.apply();
        } else if (hdr.tcp.isValid() || hdr.udp.isValid()) {
            if (hdr.ipv4.isValid()) {
                flow_v4.apply();
            } else if (hdr.ipv6.isValid()) {
                flow_v6.apply();
            }
        }
        if (meta.flow_hit == 0) {
            return;
        }
        if (meta.flow_state == FLOW_IDLE) {
            // the host stack owns this flow for now
            meta.deliver_port = meta.peer_port;
            return;
        }
        if (!hdr.tcp.isValid()) {
            return;
        }
        if ((hdr.tcp.flags & (TCP_SYN | TCP_FIN | TCP_RST)) != 0) {
            // connection control stays with the host stack
            meta.deliver_port = meta.peer_port;
            return;
        }
        if ((hdr.tcp.flags & TCP_PSH) != 0) {
            digest<psh_notify_t>(1, { meta.flow_id, hdr.tcp.seq_no, sm.ingress_global_timestamp });
        }
        if (ack_every != 0 && meta.l4_payload_len != 0) {
            // The ACK is cumulative: it acknowledges the data that arrived in
            // order, never a segment beyond a missing one (the sender would not
            // retransmit the hole). Segments after a hole leave rcv_next alone
            // (the NIC ACKs rcv_next again, the sender retransmits from there);
            // pure ACKs of the peer neither count nor get acknowledged.
            bit<64> rcv;
            rcv_next.read(rcv, meta.flow_id);
            if (rcv[63:48] != meta.flow_gen) {
                rcv = 0;   // state of an earlier flow with this id
            }
            bit<32> nxt = rcv[31:0];
            if (rcv[32:32] == 0) {
                // the first data segment the NIC sees: a zero-copy flow starts at
                // its start sequence number, any other flow at this segment
                if (meta.flow_state == FLOW_ZERO_COPY) {
                    nxt = start_seq;
                } else {
                    nxt = hdr.tcp.seq_no;
                }
            }
            bit<32> seg_end = hdr.tcp.seq_no + (bit<32>)meta.l4_payload_len;
            bit<32> from_nxt = hdr.tcp.seq_no - nxt;   // 0 or "negative": starts at or before nxt
            bit<32> past_nxt = seg_end - nxt;          // "positive": ends after nxt
            if ((from_nxt == 0 || from_nxt[31:31] == 1) && past_nxt != 0
                    && past_nxt[31:31] == 0) {
                nxt = seg_end;
            }
            rcv_next.write(meta.flow_id, meta.flow_gen ++ 15w0 ++ 1w1 ++ nxt);

            bit<32> pending_reg;
            ack_pending.read(pending_reg, meta.flow_id);
            bit<8> pending = pending_reg[7:0];
            if (pending_reg[31:16] != meta.flow_gen) {
                pending = 0;
            }
            pending = pending + 1;
            if (pending >= ack_every) {
                meta.gen_ack = 1;
                meta.ack_no = nxt;
                pending = 0;
            }
            ack_pending.write(meta.flow_id, meta.flow_gen ++ 8w0 ++ pending);
        }
        if (meta.flow_state == FLOW_ZERO_COPY) {
            if (meta.l4_payload_len == 0) {
                // nothing to place (a pure ACK from the peer): host stack
                meta.deliver_port = meta.peer_port;
            } else {
                // address = buffer base + (seq - start seq); a missing segment
                // leaves its hole reserved (seed 001, Fig. 10-12)
                bit<32> offset = hdr.tcp.seq_no - start_seq;
                if ((bit<64>)offset + (bit<64>)meta.l4_payload_len <= (bit<64>)buf_size) {
                    meta.place = 1;
                    meta.place_addr = buf_base + (bit<64>)offset;
                } else {
                    // outside the posted buffer: software receive path
                    meta.deliver_port = meta.peer_port;
                }
            }
        }
    }
}

#endif
