/* p4nic — redundant-stream merge with direct packet placement (seed 000).
 *
 * Two or more redundant RTP streams (SMPTE 2022-7 style) belong to one merge
 * group (the seed's QP). Each stream maps its RTP sequence number into the
 * group's sequence space (its own PSN offset, the seed's Y - X) and the NIC
 * keeps a 32-bit extended PSN per group (RFC 3550 A.1: the 16-bit number is
 * taken as the one nearest the highest PSN seen). A bitmap window of PSNs in
 * registers drops (or, in overwrite mode, re-places) duplicates, drops late
 * packets behind the window and resynchronises on jumps beyond a bound.
 *
 * Cyclic mode (seed [0040]) needs no work items: the group context holds a
 * ring of 2^n slices and slices land at their PSN's place in it; completions
 * cover chunks of 2^m slices and, like every completion, say where the RTP
 * marker (end of a video frame) fell, so frames of any packet count can be
 * cut out of the ring.
 *
 * Work items (WQEs) are range entries of merge_wqe: frame tag, buffer base A,
 * first PSN X and slice count. A slice goes to A + (PSN - X) * B (seed
 * [0008]), B the group's fixed payload size. Per-frame counters count first
 * copies; the last missing slice adds a completion to its record. The same entry
 * names the frame the window has moved past by the time packets of this
 * frame arrive (the driver picks it: first PSN of this frame >= last PSN of
 * that one + window): its counter is checked and, if incomplete, an error
 * completion says how many slices are missing. Frame counters alternate
 * between two register arrays by frame parity and the expiring frame always
 * has the other parity, so each array is touched once per pass.
 *
 * Tofino-style: one read-modify-write per register array per pass, no
 * division, (PSN - X) * B by shifts and adds over B's bits. Shifts by a
 * run-time amount remain (the PSN's bit in its window word, the cyclic
 * buffer's chunk and ring sizes); a Tofino-style target does those with a
 * small table from the shift amount to a mask or factor.
 */
#ifndef _P4NIC_MERGE_P4_
#define _P4NIC_MERGE_P4_

#include "headers.p4"

const bit<32> MERGE_PLACE_BYTES = 32;
const bit<32> COMPLETION_BYTES  = 40;
const bit<16> RTP_HDR_BYTES     = 12;

control RedundantMerge(inout headers_t hdr,
                       inout metadata_t meta,
                       in standard_metadata_t sm) {

    direct_counter(CounterType.packets_and_bytes) stream_v4_counter;
    direct_counter(CounterType.packets_and_bytes) stream_v6_counter;
    counter(MERGE_GROUPS << 3, CounterType.packets_and_bytes) merge_packets; // group << 3 | MS_*
    counter(MERGE_GROUPS, CounterType.packets) merge_completions;
    counter(MERGE_GROUPS, CounterType.packets) merge_errors;
    counter(MERGE_GROUPS, CounterType.packets) merge_jumps;

    // group generation ++ 15w0 ++ valid ++ highest extended PSN seen
    register<bit<64>>(MERGE_GROUPS) psn_head;
    // window word: tag (generation[4:0] ++ PSN[31:5]) ++ one bit per PSN[4:0]
    register<bit<64>>(MERGE_GROUPS * WINDOW_WORDS) psn_window;
    // frame counter: frame tag ++ reported ++ 15w0 ++ first copies placed
    register<bit<64>>(MERGE_GROUPS * FRAME_SLOTS) frames_even;
    register<bit<64>>(MERGE_GROUPS * FRAME_SLOTS) frames_odd;

    bool      stream_hit = false;
    bit<32>   psn_offset = 0;
    bit<8>    group_flags = 0;
    bit<16>   hdr_size = 0;
    bit<16>   slice_size = 0;
    bit<32>   base_psn = 0;
    bit<32>   window = 0;
    bit<32>   jump_bound = 0;
    bit<16>   group_gen = 0;
    bit<16>   frame_slot = 0;
    bit<1>    exp_valid = 0;
    bit<16>   exp_slot = 0;
    bit<64>   ring = 0;
    bit<32>   ring_key = 0;
    bit<8>    ring_bits = 0;
    bit<8>    chunk_bits = 0;
    bit<32>   exp_chunks = 0;

    // x * B (the group's slice size) as shifts and adds over the bits of B: no
    // multiplier on a Tofino-style target
    action times_slice_size(in bit<64> x, out bit<64> r) {
        r = 0;
        if (slice_size[0:0] == 1)   { r = r + x; }
        if (slice_size[1:1] == 1)   { r = r + (x << 1); }
        if (slice_size[2:2] == 1)   { r = r + (x << 2); }
        if (slice_size[3:3] == 1)   { r = r + (x << 3); }
        if (slice_size[4:4] == 1)   { r = r + (x << 4); }
        if (slice_size[5:5] == 1)   { r = r + (x << 5); }
        if (slice_size[6:6] == 1)   { r = r + (x << 6); }
        if (slice_size[7:7] == 1)   { r = r + (x << 7); }
        if (slice_size[8:8] == 1)   { r = r + (x << 8); }
        if (slice_size[9:9] == 1)   { r = r + (x << 9); }
        if (slice_size[10:10] == 1) { r = r + (x << 10); }
        if (slice_size[11:11] == 1) { r = r + (x << 11); }
        if (slice_size[12:12] == 1) { r = r + (x << 12); }
        if (slice_size[13:13] == 1) { r = r + (x << 13); }
        if (slice_size[14:14] == 1) { r = r + (x << 14); }
        if (slice_size[15:15] == 1) { r = r + (x << 15); }
    }

    // A received stream of a group: its index in the group and the offset
    // from its RTP sequence numbers to the group's PSNs.
    action set_stream(bit<16> group, bit<8> stream, bit<32> offset) {
        stream_hit = true;
        meta.merge_group = group;
        meta.merge_stream = stream;
        psn_offset = offset;
    }

    table merge_stream_v4 {
        key = {
            hdr.ipv4.dst_addr : exact;
            hdr.udp.dst_port  : exact;
            hdr.ipv4.src_addr : ternary;
            meta.in_port      : ternary;
        }
        actions = { set_stream; @defaultonly NoAction; }
        default_action = NoAction();
        counters = stream_v4_counter;
        size = 256;
    }

    table merge_stream_v6 {
        key = {
            hdr.ipv6.dst_addr : exact;
            hdr.udp.dst_port  : exact;
            hdr.ipv6.src_addr : ternary;
            meta.in_port      : ternary;
        }
        actions = { set_stream; @defaultonly NoAction; }
        default_action = NoAction();
        counters = stream_v6_counter;
        size = 256;
    }

    // The QP context (seed [0031]-[0036]): flags (MGF_*), bytes of UDP payload
    // before the slice (RTP header + payload header), the slice size B, the
    // first PSN expected, window size, jump bound, the group's generation and
    // the port its records go to.
    // Cyclic mode (MGF_CYCLIC, seed [0040]): no work items; slice PSN goes to
    // ring_base + ((PSN - X) mod 2^ring_shift) * B of region ring_mkey, and
    // completions cover chunks of 2^chunk_shift slices; expiry_chunks: how many
    // chunks later a chunk is checked for missing slices (odd).
    action set_group(bit<8> flags, bit<16> header_size, bit<16> payload_size,
                     bit<32> first_psn, bit<32> window_psns, bit<32> max_jump,
                     bit<16> generation, port_t record_port,
                     bit<64> ring_base, bit<32> ring_mkey, bit<8> ring_shift,
                     bit<8> chunk_shift, bit<32> expiry_chunks) {
        group_flags = flags;
        hdr_size = header_size;
        slice_size = payload_size;
        base_psn = first_psn;
        window = window_psns;
        jump_bound = max_jump;
        group_gen = generation;
        meta.merge_port = record_port;
        ring = ring_base;
        ring_key = ring_mkey;
        ring_bits = ring_shift;
        chunk_bits = chunk_shift;
        exp_chunks = expiry_chunks;
    }

    table merge_group {
        key = { meta.merge_group : exact; }
        actions = { set_group; @defaultonly NoAction; }
        default_action = NoAction();
        size = 64;
    }

    // A work item: frame tag, buffer (mkey, base A), first PSN X, slices; its
    // counter slot (bit 0: parity). exp_*: the frame whose window has passed.
    action post_frame(bit<32> frame, bit<32> mkey, bit<64> buf_base, bit<32> first_psn,
                      bit<16> slices, bit<16> slot,
                      bit<1> expire, bit<32> exp_frame, bit<32> exp_mkey, bit<64> exp_buf_base,
                      bit<32> exp_first_psn, bit<16> exp_slices, bit<16> exp_slot_) {
        meta.frame_tag = frame;
        meta.frame_mkey = mkey;
        meta.frame_base = buf_base;
        meta.frame_first = first_psn;
        meta.frame_slices = slices;
        frame_slot = slot;
        exp_valid = expire;
        meta.exp_tag = exp_frame;
        meta.exp_mkey = exp_mkey;
        meta.exp_base = exp_buf_base;
        meta.exp_first = exp_first_psn;
        meta.exp_slices = exp_slices;
        exp_slot = exp_slot_;
    }

    table merge_wqe {
        key = {
            meta.merge_group : exact;
            meta.merge_psn   : range;
        }
        actions = { post_frame; @defaultonly NoAction; }
        default_action = NoAction();
        size = 4096;
    }

    apply {
        if (!hdr.rtp.isValid()) {
            return;
        }
        if (hdr.ipv4.isValid()) {
            merge_stream_v4.apply();
        } else if (hdr.ipv6.isValid()) {
            merge_stream_v6.apply();
        }
        if (!stream_hit) {
            return;
        }
        if (!merge_group.apply().hit) {
            return;   // a stream without its group: ordinary delivery
        }
        bit<32> stat = ((bit<32>)meta.merge_group) << 3;
        if (meta.l4_payload_len != hdr_size + slice_size) {
            // not a slice of this group: the host stack sees it unchanged
            merge_packets.count(stat | MS_WRONG_SIZE);
            return;
        }
        meta.merge_hit = 1;
        meta.merge_len = slice_size;
        meta.merge_skip = hdr_size - RTP_HDR_BYTES;
        if (hdr.rtp.marker == 1) {
            meta.merge_flags = MPF_MARKER;
        }

        // ---- extended PSN and the window head (one RMW of psn_head) ----------
        bit<64> head_cell;
        psn_head.read(head_cell, (bit<32>)meta.merge_group);
        bit<32> head = head_cell[31:0];
        if (head_cell[63:48] != group_gen || head_cell[32:32] == 0) {
            head = base_psn - 1;    // nothing seen yet: as if X - 1 was
        }
        bit<32> psn;
        if ((group_flags & MGF_ESN) != 0) {
            psn = (meta.rtp_esn ++ hdr.rtp.sequence) + psn_offset;
        } else {
            bit<16> d = (hdr.rtp.sequence + psn_offset[15:0]) - head[15:0];
            if (d[15:15] == 0) {
                psn = head + (bit<32>)d;
            } else {
                psn = head - (bit<32>)(16w0 - d);
            }
        }
        meta.merge_psn = psn;
        bit<32> ahead = psn - head;
        bool newer = ahead != 0 && ahead[31:31] == 0;
        if (!newer && head - psn >= window) {
            psn_head.write((bit<32>)meta.merge_group, group_gen ++ 15w0 ++ 1w1 ++ head);
            merge_packets.count(stat | MS_LATE);
            return;   // merge_out 0: dropped
        }
        if (newer) {
            if (ahead > jump_bound) {
                merge_jumps.count((bit<32>)meta.merge_group);
                meta.merge_flags = meta.merge_flags | MPF_JUMP;
            }
            head = psn;
        }
        psn_head.write((bit<32>)meta.merge_group, group_gen ++ 15w0 ++ 1w1 ++ head);

        // ---- the work item covering the PSN (or the cyclic buffer's chunk) -----
        bit<32> ring_mask = (32w1 << ring_bits) - 1;
        bit<32> rel = psn - base_psn;
        if ((group_flags & MGF_CYCLIC) != 0) {
            if (rel[31:31] == 1) {
                merge_packets.count(stat | MS_NO_BUFFER);
                return;   // before the first PSN: no place in the ring
            }
            bit<32> chunk = rel >> chunk_bits;
            meta.frame_tag = group_gen[7:0] ++ chunk[23:0];
            meta.frame_first = base_psn + (chunk << chunk_bits);
            meta.frame_slices = (bit<16>)(32w1 << chunk_bits);
            meta.frame_mkey = ring_key;
            bit<64> chunk_bytes;
            times_slice_size((bit<64>)((chunk << chunk_bits) & ring_mask), chunk_bytes);
            meta.frame_base = ring + chunk_bytes;
            frame_slot = 10w0 ++ chunk[5:0];
            if (chunk >= exp_chunks) {
                bit<32> old_chunk = chunk - exp_chunks;
                exp_valid = 1;
                meta.exp_tag = group_gen[7:0] ++ old_chunk[23:0];
                meta.exp_first = base_psn + (old_chunk << chunk_bits);
                meta.exp_slices = meta.frame_slices;
                meta.exp_mkey = ring_key;
                bit<64> old_bytes;
                times_slice_size((bit<64>)((old_chunk << chunk_bits) & ring_mask), old_bytes);
                meta.exp_base = ring + old_bytes;
                exp_slot = 10w0 ++ old_chunk[5:0];
            }
        } else if (!merge_wqe.apply().hit) {
            merge_packets.count(stat | MS_NO_BUFFER);
            return;   // no buffer posted: dropped, and the PSN stays unseen
        }

        // ---- duplicate? (one RMW of the PSN's window word) ------------------
        bit<32> word = ((bit<32>)meta.merge_group << 4) | (bit<32>)psn[8:5];
        bit<32> tag = group_gen[4:0] ++ psn[31:5];
        bit<64> word_cell;
        psn_window.read(word_cell, word);
        bit<32> seen = word_cell[31:0];
        if (word_cell[63:32] != tag) {
            seen = 0;   // the word still holds an older lap of the window
        }
        bit<32> bit_of_psn = 32w1 << psn[4:0];
        bool first_copy = (seen & bit_of_psn) == 0;
        psn_window.write(word, tag ++ (seen | bit_of_psn));

        if (first_copy) {
            merge_packets.count(stat | MS_PLACED);
            meta.merge_out = MO_PLACE;
        } else {
            merge_packets.count(stat | MS_DUPLICATE);
            if ((group_flags & MGF_OVERWRITE) != 0) {
                meta.merge_out = MO_PLACE;
                meta.merge_flags = meta.merge_flags | MPF_OVERWRITE;
            }
        }
        meta.place_mkey = meta.frame_mkey;

        // A = buffer base, X = first PSN, B = slice size: A + (PSN - X) * B (in
        // cyclic mode the chunk's place in the ring is A, so the same holds)
        bit<64> off;
        times_slice_size((bit<64>)(psn - meta.frame_first), off);
        meta.merge_addr = meta.frame_base + off;

        // ---- frame counters: this frame (first copies) and the expiring one --
        bit<32> place_idx = ((bit<32>)meta.merge_group << 5) | (bit<32>)frame_slot[5:1];
        bit<32> exp_idx = ((bit<32>)meta.merge_group << 5) | (bit<32>)exp_slot[5:1];
        bit<64> place_cell = 0;
        bit<64> exp_cell = 0;
        if (frame_slot[0:0] == 0) {
            if (first_copy) { frames_even.read(place_cell, place_idx); }
            if (exp_valid == 1) { frames_odd.read(exp_cell, exp_idx); }
        } else {
            if (first_copy) { frames_odd.read(place_cell, place_idx); }
            if (exp_valid == 1) { frames_even.read(exp_cell, exp_idx); }
        }

        bit<16> placed = place_cell[15:0];
        bit<1> reported = place_cell[31:31];
        bit<15> marker = place_cell[30:16];     // 1 + offset of the frame's marker slice
        if (place_cell[63:32] != meta.frame_tag) {
            placed = 0;
            reported = 0;
            marker = 0;
        }
        placed = placed + 1;
        bit<15> this_marker = (bit<15>)(psn - meta.frame_first) + 1;
        if (hdr.rtp.marker == 1 && this_marker > marker) {
            marker = this_marker;
        }
        meta.frame_marker = (bit<16>)marker;
        if (first_copy && reported == 0 && placed == meta.frame_slices) {
            reported = 1;
            meta.merge_out = meta.merge_out | MO_CQ_OK;
            merge_completions.count((bit<32>)meta.merge_group);
        }
        bit<64> place_new = meta.frame_tag ++ reported ++ marker ++ placed;

        bit<16> exp_placed = exp_cell[15:0];
        bit<1> exp_reported = exp_cell[31:31];
        bit<15> exp_marker = exp_cell[30:16];
        if (exp_cell[63:32] != meta.exp_tag) {
            exp_placed = 0;     // not one slice of it arrived
            exp_reported = 0;
            exp_marker = 0;
        }
        meta.exp_marker = (bit<16>)exp_marker;
        if (exp_valid == 1 && exp_reported == 0) {
            exp_reported = 1;
            meta.exp_missing = meta.exp_slices - exp_placed;
            meta.merge_out = meta.merge_out | MO_CQ_ERR;
            merge_errors.count((bit<32>)meta.merge_group);
        }
        bit<64> exp_new = meta.exp_tag ++ exp_reported ++ exp_marker ++ exp_placed;

        if (frame_slot[0:0] == 0) {
            if (first_copy) { frames_even.write(place_idx, place_new); }
            if (exp_valid == 1) { frames_odd.write(exp_idx, exp_new); }
        } else {
            if (first_copy) { frames_odd.write(place_idx, place_new); }
            if (exp_valid == 1) { frames_even.write(exp_idx, exp_new); }
        }
    }
}

// Egress: a merged packet becomes one record frame for the host-memory agent:
//   [error completion of a frame the window moved past]
//   [placement header [completion of the packet's frame] payload header + slice]
// One frame, not multicast replicas: the PRE does not promise the order of a
// group's replicas, and the agent must see a slice before its frame's completion.
control MergeRecords(inout headers_t hdr,
                     inout metadata_t meta,
                     in standard_metadata_t sm) {

    action strip_headers() {
        hdr.ethernet.setInvalid();
        hdr.vlan[0].setInvalid();
        hdr.vlan[1].setInvalid();
        hdr.ipv4.setInvalid();
        hdr.ipv4_options.setInvalid();
        hdr.ipv6.setInvalid();
        hdr.udp.setInvalid();
        hdr.rtp.setInvalid();
    }

    action make_merge_place() {
        hdr.merge_place.setValid();
        hdr.merge_place.magic = P4NIC_MAGIC;
        hdr.merge_place.type = PT_MERGE_PLACE;
        hdr.merge_place.version = P4NIC_VERSION;
        hdr.merge_place.group = meta.merge_group;
        hdr.merge_place.stream = meta.merge_stream;
        hdr.merge_place.flags = meta.merge_flags;
        hdr.merge_place.mkey = meta.place_mkey;
        hdr.merge_place.addr = meta.merge_addr;
        hdr.merge_place.psn = meta.merge_psn;
        hdr.merge_place.frame = meta.frame_tag;
        hdr.merge_place.length = meta.merge_len;
        hdr.merge_place.skip = meta.merge_skip;
    }

    action make_cq_ok() {
        hdr.cq_ok.setValid();
        hdr.cq_ok.magic = P4NIC_MAGIC;
        hdr.cq_ok.type = PT_COMPLETION;
        hdr.cq_ok.version = P4NIC_VERSION;
        hdr.cq_ok.group = meta.merge_group;
        hdr.cq_ok.status = CQE_OK;
        hdr.cq_ok.stream = meta.merge_stream;
        hdr.cq_ok.frame = meta.frame_tag;
        hdr.cq_ok.first_psn = meta.frame_first;
        hdr.cq_ok.slices = meta.frame_slices;
        hdr.cq_ok.missing = 0;
        hdr.cq_ok.mkey = meta.frame_mkey;
        hdr.cq_ok.addr = meta.frame_base;
        hdr.cq_ok.nic_ts = meta.arrival_ts;
        hdr.cq_ok.marker = meta.frame_marker;
    }

    action make_cq_err() {
        hdr.cq_err.setValid();
        hdr.cq_err.magic = P4NIC_MAGIC;
        hdr.cq_err.type = PT_COMPLETION;
        hdr.cq_err.version = P4NIC_VERSION;
        hdr.cq_err.group = meta.merge_group;
        hdr.cq_err.status = CQE_MISSING;
        hdr.cq_err.stream = 0xff;
        hdr.cq_err.frame = meta.exp_tag;
        hdr.cq_err.first_psn = meta.exp_first;
        hdr.cq_err.slices = meta.exp_slices;
        hdr.cq_err.missing = meta.exp_missing;
        hdr.cq_err.mkey = meta.exp_mkey;
        hdr.cq_err.addr = meta.exp_base;
        hdr.cq_err.nic_ts = meta.arrival_ts;
        hdr.cq_err.marker = meta.exp_marker;
    }

    apply {
        strip_headers();
        bit<32> bytes = 0;
        if ((meta.merge_out & MO_CQ_ERR) != 0) {
            make_cq_err();
            bytes = COMPLETION_BYTES;
        }
        if ((meta.merge_out & MO_PLACE) != 0) {
            if ((meta.merge_out & MO_CQ_OK) != 0) {
                meta.merge_flags = meta.merge_flags | MPF_COMPLETES;
                make_cq_ok();
                bytes = bytes + COMPLETION_BYTES;
            }
            make_merge_place();
            // payload header + slice; Ethernet padding and anything after is cut
            bytes = bytes + MERGE_PLACE_BYTES + (bit<32>)meta.merge_skip
                    + (bit<32>)meta.merge_len;
        }
        truncate(bytes);   // an error completion alone: the packet goes entirely
    }
}

#endif
