/* p4nic — decryption through the lookaside crypto engine (seed 004, DESIGN.md §2).
 *
 * ESP datagrams whose SA is in key memory with decrypt set go out of the
 * engine's port behind a command header (key index, SPI, sequence number,
 * where to deliver the result); the engine decrypts with the key of that
 * index, verifies the ICV and returns the result on the same port, where it
 * re-enters the pipeline: the seed's feedback path. Plaintext is delivered
 * behind an rx descriptor marked decrypted / ICV ok / tunnel, with the
 * number of engine passes. A decrypted datagram that is ESP again (tunnel over
 * transport, seed [0032]) is recirculated and goes through key memory and the
 * engine once more.
 *
 * Anti-replay (RFC 4303 3.4.3): a 64-sequence-number window per SA in
 * registers, checked (read only) before the datagram goes to the engine and
 * advanced (one read-modify-write) only when the engine reports a good ICV,
 * where it is checked again (two copies may have been in flight). SAs with
 * extended sequence numbers keep a 64-bit top; the high half of an arriving
 * number is inferred from it (RFC 4303 A2.1) and sent to the engine, whose
 * ICV check covers it.
 */
#ifndef _P4NIC_CRYPTO_P4_
#define _P4NIC_CRYPTO_P4_

#include "headers.p4"

const bit<8> CRYPTO_OUT_DROP    = 0;
const bit<8> CRYPTO_OUT_ENGINE  = 1;   // request to the engine
const bit<8> CRYPTO_OUT_DELIVER = 2;   // decrypted: to meta.deliver_port
const bit<8> CRYPTO_OUT_CPU     = 3;   // key load / delete answers: to the driver
const bit<8> CRYPTO_OUT_FEEDBACK = 4;  // decrypted, and ESP again: recirculated

control IpsecDecrypt(inout headers_t hdr,
                     inout metadata_t meta,
                     inout standard_metadata_t sm) {

    counter(NUM_IPSEC_EVENTS, CounterType.packets_and_bytes) ipsec_events;
    // SA generation (7) ++ 24w0 ++ valid ++ 32w0 ++ highest sequence number seen
    // (64 bits: the high half is 0 unless the SA uses extended sequence numbers)
    register<bit<128>>(MAX_SAS) replay_top;
    // bit i: sequence number (highest - i) arrived and decrypted
    register<bit<64>>(MAX_SAS) replay_bits;

    bit<32> sa = 0;

    // RFC 4303 A2.1: the high 32 bits of an ESN sequence number, inferred from
    // the window's top (Th, Tl) and the low 32 bits carried (Seql). ok = 0: the
    // number would be below the first one (too old).
    action infer_seq_hi(in bit<64> top, in bit<32> seql, out bit<32> seqh, out bit<1> ok) {
        bit<32> th = top[63:32];
        bit<32> tl = top[31:0];
        ok = 1;
        seqh = th;
        if (tl >= REPLAY_WINDOW - 1) {
            if (seql < tl - (REPLAY_WINDOW - 1)) {
                seqh = th + 1;             // the window's top wrapped the low half
            }
        } else if (seql >= tl - (REPLAY_WINDOW - 1)) {
            // the window spans a wrap of the low half: Seql belongs below it
            if (th == 0) {
                ok = 0;
            }
            seqh = th - 1;
        }
    }

    // RFC 4303 3.4.3 receive check: 0 = fresh, 1 = replay, 2 = too old
    action classify(in bit<128> top, in bit<64> bits, in bit<64> seq, out bit<8> verdict) {
        verdict = 0;
        if (top[96:96] == 1 && top[127:121] == meta.sa_gen[6:0]) {
            bit<64> highest = top[63:0];
            if (seq <= highest) {
                bit<64> behind = highest - seq;
                if (behind >= (bit<64>)REPLAY_WINDOW) {
                    verdict = 2;
                } else if (((bits >> (bit<8>)behind) & 1) == 1) {
                    verdict = 1;
                }
            }
        }
        if (seq == 0) {
            verdict = 2;   // sequence numbers start at 1
        }
    }

    apply {
        meta.crypto_out = CRYPTO_OUT_DROP;
        if (meta.role == ROLE_CRYPTO) {
            // ---- the engine's answer --------------------------------------------
            if (!hdr.crypto.isValid() || hdr.crypto.status == CRYPTO_ST_REQUEST) {
                ipsec_events.count(IE_FOREIGN);
                return;
            }
            if (hdr.crypto.op != CRYPTO_OP_DECRYPT) {
                hdr.packet_in.setValid();
                hdr.packet_in.ingress_port = sm.ingress_port;
                hdr.packet_in.reason = IN_REASON_CRYPTO;
                meta.crypto_out = CRYPTO_OUT_CPU;
                return;
            }
            if (hdr.crypto.status == CRYPTO_ST_BAD_ICV) {
                ipsec_events.count(IE_BAD_ICV);
                return;
            }
            if (hdr.crypto.status == CRYPTO_ST_NO_KEY) {
                ipsec_events.count(IE_ENGINE_NO_KEY);
                return;
            }
            if (hdr.crypto.status != CRYPTO_ST_OK || !(hdr.ipv4.isValid() || hdr.ipv6.isValid())) {
                ipsec_events.count(IE_ENGINE_ERROR);
                return;
            }
            sa = (bit<32>)hdr.crypto.key_index & (MAX_SAS - 1);
            meta.sa_gen = 9w0 ++ hdr.crypto.flags[7:1];
            bit<128> top;
            bit<64> bits;
            replay_top.read(top, sa);
            replay_bits.read(bits, sa);
            bit<64> seq = hdr.crypto.seq_hi ++ hdr.crypto.seq;   // as the request inferred
            bit<8> verdict;
            classify(top, bits, seq, verdict);
            if (verdict == 1) {
                ipsec_events.count(IE_REPLAY);
                return;
            }
            if (verdict == 2) {
                ipsec_events.count(IE_TOO_OLD);
                return;
            }
            // advance the window: the ICV is good and the number is fresh
            if (top[96:96] == 0 || top[127:121] != meta.sa_gen[6:0]) {
                top = meta.sa_gen[6:0] ++ 24w0 ++ 1w1 ++ 32w0 ++ seq;
                bits = 1;
            } else if (seq > top[63:0]) {
                bit<64> ahead = seq - top[63:0];
                if (ahead >= (bit<64>)REPLAY_WINDOW) {
                    bits = 1;
                } else {
                    bits = (bits << (bit<8>)ahead) | 1;
                }
                top = meta.sa_gen[6:0] ++ 24w0 ++ 1w1 ++ 32w0 ++ seq;
            } else {
                bits = bits | ((bit<64>)1 << (bit<8>)(top[63:0] - seq));
            }
            replay_top.write(sa, top);
            replay_bits.write(sa, bits);
            ipsec_events.count(IE_DECRYPTED);

            // deliver the plaintext as if it had arrived so
            meta.decrypted = 1;
            meta.key_valid = 1;
            meta.key_index = hdr.crypto.key_index;
            meta.passes = (2w0 ++ hdr.crypto.passes[5:0]) + 1;
            meta.tunnel = hdr.crypto.passes[7:7];   // a tunnel layer came off in an earlier pass
            meta.reassembled = hdr.crypto.passes[6:6];
            if (hdr.crypto.mode == CRYPTO_MODE_TUNNEL) {
                meta.tunnel = 1;
            }
            meta.flow_hit = hdr.crypto.flags[0:0];
            meta.flow_id = (bit<32>)hdr.crypto.context[31:18];
            meta.in_port = hdr.crypto.context[17:9];
            meta.deliver_port = hdr.crypto.context[8:0];
            meta.arrival_ts = sm.ingress_global_timestamp;
            // the engine answered with the addresses swapped: as received again
            mac_addr_t engine_side = hdr.ethernet.dst_addr;
            hdr.ethernet.dst_addr = hdr.ethernet.src_addr;
            hdr.ethernet.src_addr = engine_side;
            if (hdr.ipv4.isValid()) {
                hdr.ethernet.ether_type = ETHERTYPE_IPV4;
            } else {
                hdr.ethernet.ether_type = ETHERTYPE_IPV6;
            }
            hdr.crypto.setInvalid();
            if (hdr.esp.isValid() || meta.is_fragment == 1) {
                // nested ESP (seed [0032]: tunnel over transport): the plaintext is
                // fed back into the pipeline, where key memory finds the inner SA
                // and sends it to the engine again. A fragment (fragmented before
                // encryption, or between tunnel and transport encryption) is fed
                // back to be reassembled, tagged with the SA that decrypted it.
                meta.recirc_in_port = meta.in_port;
                meta.crypto_out = CRYPTO_OUT_FEEDBACK;
                return;
            }
            meta.crypto_out = CRYPTO_OUT_DELIVER;
            return;
        }

        // ---- a datagram of an SA with decrypt set: check, then to the engine ----
        if (!hdr.esp.isValid()) {
            return;
        }
        if (meta.is_fragment == 1) {
            // the first fragment of an ESP datagram fragmented after encryption
            // that reassembly passed on (no policy, slot busy, too big): the
            // engine decrypts whole datagrams, so the host stack gets it (marked
            // with the key index)
            ipsec_events.count(IE_FRAGMENT);
            meta.deliver_port = meta.peer_port;
            meta.crypto_out = CRYPTO_OUT_DELIVER;
            return;
        }
        sa = (bit<32>)meta.key_index & (MAX_SAS - 1);
        bit<128> top_now;
        bit<64> bits_now;
        replay_top.read(top_now, sa);
        replay_bits.read(bits_now, sa);
        bit<32> seq_hi = 0;
        bit<1> seq_ok = 1;
        if (meta.esn == 1 && top_now[96:96] == 1 && top_now[127:121] == meta.sa_gen[6:0]) {
            infer_seq_hi(top_now[63:0], hdr.esp.seq_no, seq_hi, seq_ok);
        }
        bit<8> first_verdict;
        classify(top_now, bits_now, seq_hi ++ hdr.esp.seq_no, first_verdict);
        if (seq_ok == 0) {
            first_verdict = 2;
        }
        if (first_verdict == 1) {
            ipsec_events.count(IE_REPLAY);
            return;
        }
        if (first_verdict == 2) {
            ipsec_events.count(IE_TOO_OLD);
            return;
        }
        hdr.crypto.setValid();
        hdr.crypto.magic = P4NIC_MAGIC;
        hdr.crypto.type = PT_CRYPTO;
        hdr.crypto.version = P4NIC_VERSION;
        hdr.crypto.op = CRYPTO_OP_DECRYPT;
        hdr.crypto.status = CRYPTO_ST_REQUEST;
        hdr.crypto.mode = 0;
        hdr.crypto.next_hdr = 0;
        hdr.crypto.key_index = meta.key_index;
        hdr.crypto.passes = meta.tunnel ++ meta.reassembled ++ meta.passes[5:0];
        hdr.crypto.flags = meta.sa_gen[6:0] ++ meta.flow_hit;
        hdr.crypto.spi = hdr.esp.spi;
        hdr.crypto.seq = hdr.esp.seq_no;
        hdr.crypto.context = meta.flow_id[13:0] ++ meta.in_port ++ meta.deliver_port;
        hdr.crypto.seq_hi = seq_hi;   // the engine authenticates it (ESN SAs)
        // the engine takes the datagram right after the command header
        hdr.vlan[0].setInvalid();
        hdr.vlan[1].setInvalid();
        hdr.ethernet.ether_type = ETHERTYPE_P4NIC_CRYPTO;
        ipsec_events.count(IE_TO_ENGINE);
        meta.crypto_out = CRYPTO_OUT_ENGINE;
    }
}

#endif
