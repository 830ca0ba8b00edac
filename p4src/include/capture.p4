/* p4nic — in-NIC packet capture (seed 003).
 *
 * Triggers (ternary, with priorities) pick packets in both directions. A
 * match is duplicated with a mirror session; the original goes on untouched.
 * In egress the duplicate gets a capture header (NIC timestamp, original
 * length, capture id, direction) and is cut to the trigger's snap length. It
 * leaves with priority 0 (clones start with reset metadata), below the
 * priority port_config gives real traffic.
 */
#ifndef _P4NIC_CAPTURE_P4_
#define _P4NIC_CAPTURE_P4_

#include "headers.p4"

const bit<32> CAPTURE_HDR_BYTES = 20;

control CaptureTrigger(inout headers_t hdr,
                       inout metadata_t meta,
                       in standard_metadata_t sm) {

    action capture(bit<16> capture_id, bit<16> snaplen) {
        meta.do_capture = 1;
        meta.capture_id = capture_id;
        meta.snaplen = snaplen;
    }

    table capture_trigger {
        key = {
            meta.direction       : ternary;
            meta.in_port         : ternary;
            meta.ip_src          : ternary;
            meta.ip_dst          : ternary;
            meta.ip_proto        : ternary;
            meta.l4_src_port     : ternary;
            meta.l4_dst_port     : ternary;
            meta.l4_payload_head : ternary;
        }
        actions = { capture; @defaultonly NoAction; }
        default_action = NoAction();
        size = 256;
    }

    apply {
        capture_trigger.apply();
        if (meta.do_capture == 1) {
            meta.cap_direction = meta.direction;
            meta.cap_port = (bit<8>)meta.in_port;
            meta.cap_ts = sm.ingress_global_timestamp;
            meta.cap_orig_len = meta.frame_len;
            clone_preserving_field_list(CloneType.I2E, CAPTURE_SESSION, 1);
        }
    }
}

// Egress side: turn the ingress clone into a capture record.
control CaptureFormat(inout headers_t hdr,
                      inout metadata_t meta,
                      in standard_metadata_t sm) {
    apply {
        hdr.packet_out.setInvalid();
        hdr.capture.setValid();
        hdr.capture.magic = P4NIC_MAGIC;
        hdr.capture.type = PT_CAPTURE;
        hdr.capture.version = P4NIC_VERSION;
        hdr.capture.capture_id = meta.capture_id;
        hdr.capture.direction = meta.cap_direction;
        hdr.capture.port = meta.cap_port;
        hdr.capture.ts = meta.cap_ts;
        hdr.capture.orig_len = meta.cap_orig_len;
        hdr.capture.snaplen = meta.snaplen;
        truncate(CAPTURE_HDR_BYTES + (bit<32>)meta.snaplen);
    }
}

#endif
