/* p4nic — IP fragment reassembly in the data plane (seed 004).
 *
 * IPv4 fragments and IPv6 Fragment headers are put back together in register
 * slots, and the whole datagram re-enters the pipeline by recirculation (the
 * seed's feedback path): ESP goes on to the crypto engine, anything else to
 * its flow's consumer or the host stack.
 *
 * A slot holds one datagram of up to REASM_MAX_BYTES of IP payload, keyed by
 * (family, src, dst, protocol, identification) plus the SA that decrypted it
 * (fragments made before encryption never mix with plaintext ones). IPv4 keys
 * are exact; IPv6 addresses are held as two CRC-32s (a 64-bit tag).
 *
 * Tofino-style rules (DESIGN.md §2): every register array is read and written
 * at most once per pass, so the payload goes in and comes out in rows of 16
 * units (128 bytes) over recirculation passes:
 *   arrival   checks, slot and received-unit bitmap (overlap, duplicate), then
 *             a pass header (p4nic_reasm_t) in front of the IP header;
 *   store     the parser extracts the units the pass header names into the
 *             lanes that hold them (unit u in lane u % 16), ingress writes
 *             them and drops them from the frame; the pass that stores the
 *             datagram's last unit turns into the emitter;
 *   emit      rows from the last to the first are put in front of the
 *             payload already emitted (the parser stops at the IP header),
 *             one pass each through the loopback ports (a frame received
 *             afresh: simple_switch lets a packet grow by 512 bytes only);
 *             after row 0 the IP header is rewritten and the slot freed;
 *   feed back the datagram re-enters as if received, marked reassembled.
 *
 * Linux ip_defrag / RFC 5722: a fragment that overlaps units already held
 * drops the whole datagram; a fragment whose units are all held already is a
 * duplicate and only itself is dropped (Linux calls that an overlap unless
 * its bounds equal an earlier fragment's: the bitmap does not keep bounds).
 * A datagram not complete within the driver's timeout (NIC clock) loses its
 * slot to the next fragment that hashes there; a slot held by another live
 * datagram passes the fragment on unreassembled (the host stack can still
 * reassemble it), so a flood never blocks anything longer than the timeout.
 */
#ifndef _P4NIC_REASSEMBLY_P4_
#define _P4NIC_REASSEMBLY_P4_

#include "headers.p4"

// arrival: received-unit word J of the slot (units 64J .. 64J+63)
#define REASM_MAP_WORD(REG, J)                      \
    range_mask(u0, u1, J * 64, mask);               \
    REG.read(word, slot);                           \
    if (claim) {                                    \
        word = 0;                                   \
    }                                               \
    if ((word & mask) != 0) {                       \
        any_old = 1;                                \
    }                                               \
    if ((mask & ~word) != 0) {                      \
        any_new = 1;                                \
    }                                               \
    REG.write(slot, word | mask);

// store pass: lane K gets the full unit parsed into lanes[K], or the
// fragment's last partial unit
#define REASM_STORE_LANE(REG, K)                    \
    if (hdr.lanes[K].isValid()) {                   \
        REG.write(cell, hdr.lanes[K].data);         \
        hdr.lanes[K].setInvalid();                  \
    } else if (tail_lane == K && hdr.reasm.tail_now != 0) { \
        REG.write(cell, tail_value);                \
    }

// emit pass: lane K's unit of the row, if the datagram has it
#define REASM_EMIT_LANE(REG, K)                     \
    REG.read(unit_value, cell);                     \
    if (K < full) {                                 \
        hdr.lanes[K].setValid();                    \
        hdr.lanes[K].data = unit_value;             \
    } else if (K == full) {                         \
        tail_value = unit_value;                    \
    }

control FragmentReassembly(inout headers_t hdr,
                           inout metadata_t meta,
                           inout standard_metadata_t sm) {

    counter(NUM_REASM_EVENTS, CounterType.packets_and_bytes) reasm_events;

    // the datagram a slot holds: IPv6 (1) ++ decrypted (1) ++ key index (16)
    //   ++ protocol (8) ++ identification (32) ++ 6w0 ++ addresses (64)
    register<bit<128>>(REASM_SLOTS) reasm_key;
    // generation (16) ++ valid ++ emitting ++ 6w0 ++ policy epoch (8)
    //   ++ first arrival (32, NIC µs)
    //   ++ units stored (16) ++ total units (16, 0: last fragment not seen)
    //   ++ highest end (16) ++ bytes of the last partial unit (8) ++ 8w0
    register<bit<128>>(REASM_SLOTS) reasm_state;
    // received units, word J of each slot: bit i is unit 64J + i
    register<bit<64>>(REASM_SLOTS) reasm_map_0;
    register<bit<64>>(REASM_SLOTS) reasm_map_1;
    register<bit<64>>(REASM_SLOTS) reasm_map_2;
    register<bit<64>>(REASM_SLOTS) reasm_map_3;
    register<bit<64>>(REASM_SLOTS) reasm_map_4;
    register<bit<64>>(REASM_SLOTS) reasm_map_5;
    register<bit<64>>(REASM_SLOTS) reasm_map_6;
    register<bit<64>>(REASM_SLOTS) reasm_map_7;
    // payload: unit u of slot s is in lane u % 16, cell s * REASM_ROWS + u / 16
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_0;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_1;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_2;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_3;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_4;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_5;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_6;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_7;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_8;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_9;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_10;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_11;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_12;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_13;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_14;
    register<bit<64>>(REASM_LANE_CELLS) reasm_lane_15;

    bit<1>  enabled = 0;
    bit<32> timeout_us = 0;
    bit<8>  epoch = 0;
    bit<16> loop_port = 0;

    // Reassemble fragments of these protocols; a datagram that is not
    // complete timeout microseconds (NIC clock) after its first fragment
    // loses its slot. Slots taken under another epoch count as free: the
    // driver flushes every partial datagram by changing it. Emit passes go out
    // of loop (a port looped back to a ROLE_LOOP port): a packet only grows by
    // 512 bytes over what it was received as (simple_switch's packet buffer),
    // so the datagram is built in a frame received afresh each row.
    action reassemble(bit<32> timeout, bit<8> policy_epoch, port_t loop) {
        enabled = 1;
        timeout_us = timeout;
        epoch = policy_epoch;
        loop_port = (bit<16>)loop;
    }

    table reasm_policy {
        key = { meta.ip_proto : ternary; }
        actions = { reassemble; @defaultonly NoAction; }
        default_action = NoAction();
        size = 16;
    }

    // the bits of units [u0, u1) in the 64-unit word that starts at unit base
    action range_mask(in bit<16> u0, in bit<16> u1, in bit<16> base, out bit<64> m) {
        bit<16> lo = 0;
        bit<16> hi = 0;
        if (u0 > base) {
            lo = u0 - base;
        }
        if (u1 > base) {
            hi = u1 - base;
        }
        if (lo > 64) {
            lo = 64;
        }
        if (hi > 64) {
            hi = 64;
        }
        // (1 << 64) - 1 wraps to all ones in bit<64>
        m = ((64w1 << (bit<8>)hi) - 1) & ~((64w1 << (bit<8>)lo) - 1);
    }

    // what the next store pass extracts: the units up to the end of the
    // current row, the fragment's partial last unit as bytes
    action plan_store() {
        bit<16> first = hdr.reasm.unit & 15;
        bit<16> room = 16 - first;
        bit<16> full = room;
        bit<8> tail_now = 0;
        if (hdr.reasm.units <= room) {
            full = hdr.reasm.units;
            if (hdr.reasm.tail != 0) {
                full = full - 1;
                tail_now = (bit<8>)hdr.reasm.tail;
            }
        }
        hdr.reasm.lane_first = (bit<8>)first;
        hdr.reasm.lane_count = (bit<8>)full;
        hdr.reasm.tail_now = tail_now;
        hdr.reasm.trailer_now = 0;
        if (hdr.reasm.units <= room) {
            hdr.reasm.trailer_now = hdr.reasm.trailer;   // the padding goes with the last
        }
    }

    apply {
        meta.reasm_out = REASM_OUT_PASS;

        if (hdr.reasm.isValid()) {
            // ---- a store or emit pass ------------------------------------------
            // counted as it arrives, not as it is sent: once the count is reached,
            // no pass of the datagram is still in flight (one ingress at a time)
            reasm_events.count(RE_PASSES);
            bit<32> slot = (bit<32>)hdr.reasm.slot & (REASM_SLOTS - 1);
            bit<128> st;
            reasm_state.read(st, slot);
            bit<16> gen = st[127:112];
            bit<1> valid = st[111:111];
            bit<1> emitting = st[110:110];
            bit<8> held_epoch = st[103:96];
            bit<32> first_ts = st[95:64];
            bit<16> stored = st[63:48];
            bit<16> total = st[47:32];
            bit<16> max_end = st[31:16];
            bit<8> tail_held = st[15:8];
            meta.reasm_out = REASM_OUT_DROP;
            if (valid == 0 || gen != hdr.reasm.gen
                    || (hdr.reasm.op == REASM_OP_STORE && emitting == 1)
                    || (hdr.reasm.op == REASM_OP_EMIT && emitting == 0)
                    || (hdr.reasm.op != REASM_OP_STORE && hdr.reasm.op != REASM_OP_EMIT)) {
                // the slot was freed (overlap, timeout) and maybe taken since
                reasm_events.count(RE_STALE);
                return;
            }

            if (hdr.reasm.op == REASM_OP_STORE) {
                bit<32> cell = (slot << 5) + (bit<32>)(hdr.reasm.unit >> 4);
                bit<16> tail_lane = (bit<16>)hdr.reasm.lane_first + (bit<16>)hdr.reasm.lane_count;
                bit<64> tail_value = 0;
                if (hdr.tail[0].isValid()) { tail_value = tail_value | ((bit<64>)hdr.tail[0].data << 56); }
                if (hdr.tail[1].isValid()) { tail_value = tail_value | ((bit<64>)hdr.tail[1].data << 48); }
                if (hdr.tail[2].isValid()) { tail_value = tail_value | ((bit<64>)hdr.tail[2].data << 40); }
                if (hdr.tail[3].isValid()) { tail_value = tail_value | ((bit<64>)hdr.tail[3].data << 32); }
                if (hdr.tail[4].isValid()) { tail_value = tail_value | ((bit<64>)hdr.tail[4].data << 24); }
                if (hdr.tail[5].isValid()) { tail_value = tail_value | ((bit<64>)hdr.tail[5].data << 16); }
                if (hdr.tail[6].isValid()) { tail_value = tail_value | ((bit<64>)hdr.tail[6].data << 8); }
                REASM_STORE_LANE(reasm_lane_0, 0)
                REASM_STORE_LANE(reasm_lane_1, 1)
                REASM_STORE_LANE(reasm_lane_2, 2)
                REASM_STORE_LANE(reasm_lane_3, 3)
                REASM_STORE_LANE(reasm_lane_4, 4)
                REASM_STORE_LANE(reasm_lane_5, 5)
                REASM_STORE_LANE(reasm_lane_6, 6)
                REASM_STORE_LANE(reasm_lane_7, 7)
                REASM_STORE_LANE(reasm_lane_8, 8)
                REASM_STORE_LANE(reasm_lane_9, 9)
                REASM_STORE_LANE(reasm_lane_10, 10)
                REASM_STORE_LANE(reasm_lane_11, 11)
                REASM_STORE_LANE(reasm_lane_12, 12)
                REASM_STORE_LANE(reasm_lane_13, 13)
                REASM_STORE_LANE(reasm_lane_14, 14)
                REASM_STORE_LANE(reasm_lane_15, 15)
                hdr.tail[0].setInvalid();
                hdr.tail[1].setInvalid();
                hdr.tail[2].setInvalid();
                hdr.tail[3].setInvalid();
                hdr.tail[4].setInvalid();
                hdr.tail[5].setInvalid();
                hdr.tail[6].setInvalid();
                hdr.trailer.setInvalid();

                bit<16> done = (bit<16>)hdr.reasm.lane_count;
                if (hdr.reasm.tail_now != 0) {
                    done = done + 1;
                }
                stored = stored + done;
                hdr.reasm.unit = hdr.reasm.unit + done;
                hdr.reasm.units = hdr.reasm.units - done;
                if (hdr.reasm.units != 0) {
                    plan_store();   // the rest of the fragment: next row
                    meta.reasm_out = REASM_OUT_RECIRC;
                } else if (total != 0 && stored == total) {
                    // the datagram's last unit is in: emit it, last row first
                    emitting = 1;
                    hdr.reasm.op = REASM_OP_EMIT;
                    hdr.reasm.unit = (total - 1) >> 4;
                    hdr.reasm.tail = (bit<16>)tail_held;
                    hdr.reasm.lane_first = 0;
                    hdr.reasm.lane_count = 0;
                    hdr.reasm.tail_now = 0;
                    hdr.reasm.trailer = 0;
                    hdr.reasm.trailer_now = 0;
                    meta.reasm_out = REASM_OUT_LOOP;
                }
                // else: the fragment is stored, others are still missing
                reasm_state.write(slot, gen ++ valid ++ emitting ++ 6w0 ++ held_epoch ++ first_ts
                                  ++ stored ++ total ++ max_end ++ tail_held ++ 8w0);
            } else {
                // emit pass: one row in front of the rows already emitted
                bit<16> row = hdr.reasm.unit;
                bit<32> cell = (slot << 5) + (bit<32>)row;
                bit<16> full = 16;
                bit<8> tail_now = 0;
                if (row == (total - 1) >> 4) {
                    full = total - (row << 4);
                    if (tail_held != 0) {
                        full = full - 1;
                        tail_now = tail_held;
                    }
                }
                bit<64> unit_value;
                bit<64> tail_value = 0;
                REASM_EMIT_LANE(reasm_lane_0, 0)
                REASM_EMIT_LANE(reasm_lane_1, 1)
                REASM_EMIT_LANE(reasm_lane_2, 2)
                REASM_EMIT_LANE(reasm_lane_3, 3)
                REASM_EMIT_LANE(reasm_lane_4, 4)
                REASM_EMIT_LANE(reasm_lane_5, 5)
                REASM_EMIT_LANE(reasm_lane_6, 6)
                REASM_EMIT_LANE(reasm_lane_7, 7)
                REASM_EMIT_LANE(reasm_lane_8, 8)
                REASM_EMIT_LANE(reasm_lane_9, 9)
                REASM_EMIT_LANE(reasm_lane_10, 10)
                REASM_EMIT_LANE(reasm_lane_11, 11)
                REASM_EMIT_LANE(reasm_lane_12, 12)
                REASM_EMIT_LANE(reasm_lane_13, 13)
                REASM_EMIT_LANE(reasm_lane_14, 14)
                REASM_EMIT_LANE(reasm_lane_15, 15)
                if (tail_now > 0) { hdr.tail[0].setValid(); hdr.tail[0].data = tail_value[63:56]; }
                if (tail_now > 1) { hdr.tail[1].setValid(); hdr.tail[1].data = tail_value[55:48]; }
                if (tail_now > 2) { hdr.tail[2].setValid(); hdr.tail[2].data = tail_value[47:40]; }
                if (tail_now > 3) { hdr.tail[3].setValid(); hdr.tail[3].data = tail_value[39:32]; }
                if (tail_now > 4) { hdr.tail[4].setValid(); hdr.tail[4].data = tail_value[31:24]; }
                if (tail_now > 5) { hdr.tail[5].setValid(); hdr.tail[5].data = tail_value[23:16]; }
                if (tail_now > 6) { hdr.tail[6].setValid(); hdr.tail[6].data = tail_value[15:8]; }

                if (row != 0) {
                    hdr.reasm.unit = row - 1;
                    meta.reasm_out = REASM_OUT_LOOP;
                } else {
                    // whole: free the slot, make the header the datagram's own
                    reasm_state.write(slot, gen ++ 1w0 ++ 1w0 ++ 6w0 ++ held_epoch ++ first_ts
                                      ++ stored ++ total ++ max_end ++ tail_held ++ 8w0);
                    bit<16> bytes = total << 3;
                    if (tail_held != 0) {
                        bytes = bytes - 8 + (bit<16>)tail_held;
                    }
                    if (hdr.ipv4.isValid()) {
                        hdr.ipv4.total_len = meta.l3_hdr_len + bytes;
                        hdr.ipv4.flags = hdr.ipv4.flags & 3w0b110;   // MF off, DF kept
                        hdr.ipv4.frag_offset = 0;
                    } else {
                        hdr.ipv6.next_hdr = hdr.ipv6_frag.next_hdr;
                        hdr.ipv6.payload_len = bytes;
                        hdr.ipv6_frag.setInvalid();
                    }
                    hdr.ethernet.ether_type = hdr.reasm.ether_type;
                    // as it arrived: fed back by recirculation (field list 2)
                    meta.recirc_in_port = (port_t)hdr.reasm.in_port;
                    meta.key_index = hdr.reasm.key_index;
                    meta.decrypted = (bit<1>)((hdr.reasm.sec & RSEC_DECRYPTED) != 0);
                    meta.tunnel = (bit<1>)((hdr.reasm.sec & RSEC_TUNNEL) != 0);
                    meta.key_valid = (bit<1>)((hdr.reasm.sec & RSEC_KEY_VALID) != 0);
                    meta.passes = hdr.reasm.passes;
                    hdr.reasm.setInvalid();
                    meta.reassembled = 1;   // also: a fresh IPv4 checksum
                    reasm_events.count(RE_REASSEMBLED);
                    meta.reasm_out = REASM_OUT_RECIRC;
                }
            }
            if (meta.reasm_out == REASM_OUT_RECIRC && !hdr.reasm.isValid()) {
                reasm_events.count(RE_PASSES);   // the feed back: it comes in as a datagram
            }
            return;
        }

        // ---- a fragment arrives (from the wire, or decrypted by the engine) ----
        bit<16> offset = 0;
        bit<16> plen = 0;
        bit<1> more = 0;
        bit<32> id = 0;
        bool short_v6 = false;
        if (hdr.ipv4.isValid()) {
            offset = (bit<16>)hdr.ipv4.frag_offset;
            plen = hdr.ipv4.total_len - meta.l3_hdr_len;
            more = hdr.ipv4.flags[0:0];
            id = 16w0 ++ hdr.ipv4.identification;
        } else if (hdr.ipv6_frag.isValid()) {
            offset = (bit<16>)hdr.ipv6_frag.frag_offset;
            plen = hdr.ipv6.payload_len - 8;
            more = hdr.ipv6_frag.more;
            id = hdr.ipv6_frag.identification;
            short_v6 = hdr.ipv6.payload_len < 8;
        }

        // RFC 1858 / RFC 8200 4.5: a first fragment must hold the whole
        // transport header, and TCP must not be overlapped at offset 8
        bit<16> l4_min = 0;
        if (meta.ip_proto == IP_PROTO_TCP) {
            l4_min = 20;
        } else if (meta.ip_proto == IP_PROTO_UDP || meta.ip_proto == IP_PROTO_ESP
                   || meta.ip_proto == IP_PROTO_ICMP || meta.ip_proto == IP_PROTO_ICMPV6) {
            l4_min = 8;
        }
        if ((offset == 0 && more == 1 && (plen < l4_min || short_v6))
                || (offset == 1 && meta.ip_proto == IP_PROTO_TCP)) {
            reasm_events.count(RE_TINY);
            meta.reasm_out = REASM_OUT_DROP;
            return;
        }

        reasm_policy.apply();
        if (enabled == 0) {
            reasm_events.count(RE_NOT_ENABLED);
            return;   // on as it is: the host stack reassembles
        }
        // bytes after the datagram in the frame (Ethernet padding): the last
        // store pass drops them, so they cannot end up inside the datagram
        bit<32> trailer = meta.frame_len - (bit<32>)meta.l2_len - (bit<32>)meta.l3_len;
        if ((hdr.ipv4.isValid() && hdr.ipv4.ihl != 5) || trailer > 64) {
            reasm_events.count(RE_UNSUPPORTED);
            return;
        }
        if (short_v6 || plen == 0 || (more == 1 && plen[2:0] != 0)) {
            reasm_events.count(RE_BAD_LENGTH);
            meta.reasm_out = REASM_OUT_DROP;
            return;
        }
        if (((bit<32>)offset << 3) + (bit<32>)plen > REASM_MAX_BYTES) {
            reasm_events.count(RE_TOO_BIG);
            return;
        }
        bit<16> u0 = offset;
        bit<16> u1 = offset + ((plen + 7) >> 3);
        bit<16> tail_bytes = 0;
        if (more == 0) {
            tail_bytes = plen & 7;
        }

        // the slot and the datagram it holds
        bit<128> key;
        if (hdr.ipv4.isValid()) {
            key = 1w0 ++ meta.decrypted ++ meta.key_index ++ meta.ip_proto ++ id ++ 6w0
                  ++ hdr.ipv4.src_addr ++ hdr.ipv4.dst_addr;
        } else {
            bit<32> src_tag;
            bit<32> dst_tag;
            hash(src_tag, HashAlgorithm.crc32, 32w0, { hdr.ipv6.src_addr }, 64w0x100000000);
            hash(dst_tag, HashAlgorithm.crc32, 32w0, { hdr.ipv6.dst_addr }, 64w0x100000000);
            key = 1w1 ++ meta.decrypted ++ meta.key_index ++ meta.ip_proto ++ id ++ 6w0
                  ++ src_tag ++ dst_tag;
        }
        // the slot: the top 6 bits of the key's CRC-32 (its low bits, or a
        // CRC-16, give consecutive identifications only 8 to 32 of the 64 slots)
        bit<32> key_crc;
        hash(key_crc, HashAlgorithm.crc32, 32w0, { key }, 64w0x100000000);
        bit<16> slot16 = (bit<16>)key_crc[31:26];
        bit<32> slot = (bit<32>)slot16;

        bit<128> held;
        reasm_key.read(held, slot);
        bit<128> st;
        reasm_state.read(st, slot);
        bit<16> gen = st[127:112];
        bit<1> valid = st[111:111];
        bit<1> emitting = st[110:110];
        bit<8> held_epoch = st[103:96];
        bit<32> first_ts = st[95:64];
        bit<16> total = st[47:32];
        bit<16> max_end = st[31:16];
        bit<8> tail_held = st[15:8];
        bit<16> stored = st[63:48];
        bit<32> now = sm.ingress_global_timestamp[31:0];
        if (held_epoch != epoch) {
            valid = 0;   // flushed by the driver
        }
        bool expired = valid == 1 && emitting == 0 && now - first_ts > timeout_us;
        bool claim = false;
        if (valid == 1 && !expired) {
            if (held != key) {
                reasm_events.count(RE_SLOT_BUSY);
                return;   // on as it is
            }
            if (emitting == 1) {
                reasm_events.count(RE_DUPLICATE);   // the datagram is complete
                meta.reasm_out = REASM_OUT_DROP;
                return;
            }
        } else {
            if (expired) {
                reasm_events.count(RE_TIMEOUT);
            }
            claim = true;
            gen = gen + 1;
            valid = 1;
            emitting = 0;
            held_epoch = epoch;
            first_ts = now;
            stored = 0;
            total = 0;
            max_end = 0;
            tail_held = 0;
        }

        // received units: overlap / duplicate (a claim starts a clean bitmap)
        bit<64> mask;
        bit<64> word;
        bit<1> any_old = 0;
        bit<1> any_new = 0;
        REASM_MAP_WORD(reasm_map_0, 0)
        REASM_MAP_WORD(reasm_map_1, 1)
        REASM_MAP_WORD(reasm_map_2, 2)
        REASM_MAP_WORD(reasm_map_3, 3)
        REASM_MAP_WORD(reasm_map_4, 4)
        REASM_MAP_WORD(reasm_map_5, 5)
        REASM_MAP_WORD(reasm_map_6, 6)
        REASM_MAP_WORD(reasm_map_7, 7)

        meta.reasm_out = REASM_OUT_DROP;
        if (any_old == 1 && any_new == 1) {
            reasm_events.count(RE_OVERLAP);
            valid = 0;
        } else if (any_old == 1) {
            reasm_events.count(RE_DUPLICATE);
        } else if ((more == 0 && (total != 0 || max_end > u1))
                   || (more == 1 && total != 0 && u1 > total)) {
            // a second end, or units beyond the end: the datagram is corrupt
            reasm_events.count(RE_BAD_LENGTH);
            valid = 0;
        } else {
            if (more == 0) {
                total = u1;
                tail_held = (bit<8>)tail_bytes;
            }
            if (u1 > max_end) {
                max_end = u1;
            }
            reasm_events.count(RE_ACCEPTED);
            // its units go in over store passes behind a pass header
            hdr.reasm.setValid();
            hdr.reasm.magic = P4NIC_MAGIC;
            hdr.reasm.type = PT_REASM;
            hdr.reasm.version = P4NIC_VERSION;
            hdr.reasm.op = REASM_OP_STORE;
            hdr.reasm.slot = slot16;
            hdr.reasm.gen = gen;
            hdr.reasm.unit = u0;
            hdr.reasm.units = u1 - u0;
            hdr.reasm.tail = tail_bytes;
            hdr.reasm.trailer = (bit<8>)trailer;
            hdr.reasm.loop_port = loop_port;
            hdr.reasm.in_port = (bit<16>)meta.in_port;
            hdr.reasm.key_index = meta.key_index;
            hdr.reasm.sec = 0;
            if (meta.decrypted == 1) {
                hdr.reasm.sec = hdr.reasm.sec | RSEC_DECRYPTED;
            }
            if (meta.tunnel == 1) {
                hdr.reasm.sec = hdr.reasm.sec | RSEC_TUNNEL;
            }
            if (meta.key_valid == 1) {
                hdr.reasm.sec = hdr.reasm.sec | RSEC_KEY_VALID;
            }
            hdr.reasm.passes = meta.passes;
            hdr.reasm.ether_type = hdr.ethernet.ether_type;
            hdr.ethernet.ether_type = ETHERTYPE_P4NIC_CRYPTO;
            plan_store();
            meta.recirc_in_port = meta.in_port;
            meta.reasm_out = REASM_OUT_RECIRC;
        }
        if (claim) {
            reasm_key.write(slot, key);
        }
        reasm_state.write(slot, gen ++ valid ++ emitting ++ 6w0 ++ held_epoch ++ first_ts
                          ++ stored ++ total ++ max_end ++ tail_held ++ 8w0);
    }
}

#endif
