/* p4nic — receive-side SmartNIC offloads for v1model (BMv2).
 *
 * Ingress: port role -> capture triggers -> receive checks -> fragment
 * reassembly (over recirculation passes) -> flow association -> key memory
 * -> arrival timestamps -> decryption through the crypto engine (or its
 * answers) -> redundant-stream merge
 * -> delivery (unicast, or multicast when the packet also yields a timestamp
 * record or a NIC ACK).
 * Egress: capture records for clones, records/ACKs/placement for replicas,
 * merge placement and completion records.
 *
 * Egress priority: capture copies leave at priority 0; regular traffic at the
 * priority port_config gives its ingress port. The driver sets that to the
 * highest queue the switch has (7 with simple_switch --priority-queues 8, 0 on
 * a one-queue switch such as simple_switch_grpc, where everything shares it).
 */
#include <core.p4>
#include <v1model.p4>

#include "include/defines.p4"
#include "include/headers.p4"
#include "include/parser.p4"
#include "include/checks.p4"
#include "include/flow.p4"
#include "include/keymem.p4"
#include "include/timestamp.p4"
#include "include/capture.p4"
#include "include/merge.p4"
#include "include/crypto.p4"
#include "include/reassembly.p4"
#include "include/delivery.p4"

control NicIngress(inout headers_t hdr,
                   inout metadata_t meta,
                   inout standard_metadata_t sm) {

    counter(NUM_DROP_REASONS, CounterType.packets_and_bytes) drop_reasons;

    RxChecks() rx_checks;
    FlowAssociation() flow_assoc;
    KeyMemory() key_memory;
    ArrivalTimestamp() arrival;
    CaptureTrigger() capture;
    RedundantMerge() merge;
    IpsecDecrypt() ipsec;
    FragmentReassembly() reassembly;

    // role: ROLE_WIRE (network side) or ROLE_HOST; peer_port: for a wire
    // port the host-stack port its misses go to, for a host port the wire
    // port its transmissions leave on; priority: egress priority of the
    // regular traffic entering here (must be below the switch's queue count).
    action set_port_role(bit<8> role, port_t peer_port, bit<3> priority) {
        meta.role = role;
        meta.peer_port = peer_port;
        meta.regular_prio = priority;
    }

    table port_config {
        key = { meta.in_port : exact; }
        actions = { set_port_role; @defaultonly NoAction; }
        default_action = NoAction();
        size = 64;
    }

    action mark_rtp() {
        meta.is_rtp = 1;
    }

    // UDP destination ports that carry RTP
    table rtp_ports {
        key = { hdr.udp.dst_port : exact; }
        actions = { mark_rtp; @defaultonly NoAction; }
        default_action = NoAction();
        size = 64;
    }

    action drop_with_reason() {
        drop_reasons.count(meta.drop_reason);
        mark_to_drop(sm);
    }

    apply {
        if (hdr.packet_out.isValid()) {
            if (hdr.packet_out.op == OUT_OP_CLOCK_PROBE && hdr.clock.isValid()) {
                // return the probe to the driver stamped with the NIC clock
                hdr.clock.nic_ts = sm.ingress_global_timestamp;
                hdr.packet_out.setInvalid();
                hdr.packet_in.setValid();
                hdr.packet_in.ingress_port = sm.ingress_port;
                hdr.packet_in.reason = IN_REASON_CLOCK;
                sm.egress_spec = CPU_PORT;
                exit;
            }
            if (hdr.packet_out.op == OUT_OP_TX) {
                sm.egress_spec = hdr.packet_out.egress_port;
                hdr.packet_out.setInvalid();
                exit;   // priority 0: valid on any switch
            }
            // OUT_OP_INJECT_RX: continue as if received on meta.in_port
            hdr.packet_out.setInvalid();
        }

        // The frame without the packet-out header. Computed here, in ingress: in
        // egress standard_metadata.packet_length already lacks the packet-out
        // header removed above (setInvalid lowers the packet length register on
        // simple_switch and pybm alike), so egress must not subtract it again.
        meta.frame_len = sm.packet_length - meta.parsed_len;

        if (sm.instance_type == PKT_INSTANCE_TYPE_RECIRC) {
            meta.in_port = meta.recirc_in_port;   // fed back: as received on the wire
        }
        port_config.apply();
        // a store / emit pass of a datagram being reassembled (reassembly.p4):
        // recirculated, or back from the loopback ports
        bool reasm_pass = hdr.reasm.isValid()
            && (sm.instance_type == PKT_INSTANCE_TYPE_RECIRC || meta.role == ROLE_LOOP);
        if (meta.role == ROLE_WIRE || reasm_pass) {
            meta.direction = DIR_RX;
        } else if (meta.role == ROLE_HOST) {
            meta.direction = DIR_TX;
        } else if (meta.role == ROLE_CRYPTO) {
            meta.direction = DIR_RX;   // the engine's answers: crypto.p4 below
        } else {
            meta.drop_reason = DROP_PORT_UNCONFIGURED;
            drop_with_reason();
            exit;
        }

        if (meta.role != ROLE_CRYPTO) {
            if (!reasm_pass) {
                if (sm.instance_type != PKT_INSTANCE_TYPE_RECIRC) {
                    capture.apply(hdr, meta, sm);   // both directions, before any drop
                }
                if (meta.direction == DIR_TX) {
                    sm.egress_spec = meta.peer_port;
                    sm.priority = meta.regular_prio;
                    exit;
                }

                rx_checks.apply(hdr, meta, sm);
                if (meta.drop_reason != DROP_NONE) {
                    drop_with_reason();
                    exit;
                }
            }

            // fragments are put together first: the whole datagram comes back
            // by recirculation and takes the path below
            if (reasm_pass || meta.is_fragment == 1) {
                reassembly.apply(hdr, meta, sm);
                if (meta.reasm_out == REASM_OUT_RECIRC) {
                    sm.egress_spec = sm.ingress_port;   // recirculated in egress, never sent
                    exit;
                }
                if (meta.reasm_out == REASM_OUT_LOOP) {
                    sm.egress_spec = (port_t)hdr.reasm.loop_port;
                    exit;
                }
                if (meta.reasm_out == REASM_OUT_DROP) {
                    mark_to_drop(sm);   // consumed into a slot, or refused: counted
                    exit;
                }
            }

            sm.priority = meta.regular_prio;
            meta.deliver_port = meta.peer_port;   // host stack unless a flow says otherwise
            if (hdr.rtp.isValid()) {
                // an RTP version 2 header was parsed (UDP payload of 12+ bytes); the
                // port decides whether it really is RTP
                rtp_ports.apply();
            }
            flow_assoc.apply(hdr, meta, sm);
            key_memory.apply(hdr, meta, sm);
            if (meta.no_key == 1) {
                meta.deliver_port = meta.peer_port;   // software decrypts it
                meta.place = 0;
            }
            arrival.apply(hdr, meta, sm);
        }

        // ESP of an SA with decrypt set goes to the crypto engine; the engine's
        // answers come back here (seed 004's feedback path)
        if (meta.role == ROLE_CRYPTO || (meta.key_valid == 1 && meta.decrypt == 1)) {
            ipsec.apply(hdr, meta, sm);
            if (meta.crypto_out == CRYPTO_OUT_ENGINE) {
                sm.egress_spec = meta.engine_port;
            } else if (meta.crypto_out == CRYPTO_OUT_CPU) {
                sm.egress_spec = CPU_PORT;
            } else if (meta.crypto_out == CRYPTO_OUT_FEEDBACK) {
                sm.egress_spec = sm.ingress_port;   // recirculated in egress, never sent
            } else if (meta.crypto_out == CRYPTO_OUT_DELIVER) {
                sm.priority = meta.regular_prio;
                sm.egress_spec = meta.deliver_port;
            } else {
                mark_to_drop(sm);   // counted in ipsec_events
            }
            exit;
        }

        merge.apply(hdr, meta, sm);
        if (meta.merge_hit == 1) {
            if (meta.merge_out == 0) {
                mark_to_drop(sm);   // duplicate, late or no buffer: counted by the merge
            } else {
                sm.egress_spec = meta.merge_port;   // one record frame (MergeRecords)
            }
            exit;
        }

        // The PRE makes the extra copies: a timestamp record and/or the ACK.
        bit<16> with_record = 0;
        if (meta.flow_hit == 1 && meta.ts_mode == TS_RECORD) {
            with_record = 1;
        }
        bit<16> ack_code = 0;
        if (meta.gen_ack == 1) {
            ack_code = (bit<16>)meta.in_port + 1;
        }
        if (with_record != 0 || ack_code != 0) {
            sm.mcast_grp = MCAST_BASE | ((bit<16>)meta.deliver_port << 4)
                           | (with_record << 3) | ack_code;
        } else {
            sm.egress_spec = meta.deliver_port;
        }
    }
}

control NicEgress(inout headers_t hdr,
                  inout metadata_t meta,
                  inout standard_metadata_t sm) {
    CaptureFormat() capture_format;
    Delivery() delivery;
    MergeRecords() merge_records;

    apply {
        if (sm.instance_type == PKT_INSTANCE_TYPE_INGRESS_CLONE) {
            capture_format.apply(hdr, meta, sm);
        } else if (meta.crypto_out == CRYPTO_OUT_FEEDBACK || meta.reasm_out == REASM_OUT_RECIRC) {
            recirculate_preserving_field_list(FEEDBACK_FIELD_LIST);
        } else if (meta.crypto_out == CRYPTO_OUT_ENGINE || meta.crypto_out == CRYPTO_OUT_CPU
                   || meta.reasm_out == REASM_OUT_LOOP) {
            // command frames for the engine / the driver, reassembly passes to the
            // loopback ports: they leave as they are
        } else if (meta.direction == DIR_RX && meta.merge_hit == 1) {
            merge_records.apply(hdr, meta, sm);
        } else if (meta.direction == DIR_RX) {
            delivery.apply(hdr, meta, sm);
        }
    }
}

V1Switch(NicParser(),
         NicVerifyChecksum(),
         NicIngress(),
         NicEgress(),
         NicComputeChecksum(),
         NicDeparser()) main;
