/* p4nic — key memory (seed 001).
 *
 * Security associations keyed by (IPv4 or IPv6 destination, SPI). A hit attaches the
 * key index to the packet; a miss asks the driver for the key (digest) and
 * the packet goes to the host stack still encrypted, marked "no key", for
 * software to decrypt. The driver answers from its SA database by installing
 * the entry, so later packets of that SA hit.
 */
#ifndef _P4NIC_KEYMEM_P4_
#define _P4NIC_KEYMEM_P4_

#include "headers.p4"

control KeyMemory(inout headers_t hdr,
                  inout metadata_t meta,
                  in standard_metadata_t sm) {

    direct_counter(CounterType.packets_and_bytes) sa_counter;
    direct_counter(CounterType.packets_and_bytes) sa_v6_counter;

    // decrypt: the SA's datagrams go to the crypto engine at engine_port
    // (crypto.p4); sa_generation tags its anti-replay state (changes each time
    // the driver installs the key index anew, never 0); esn: the SA uses 64-bit
    // extended sequence numbers (RFC 4303 2.2.1).
    action set_key(bit<16> key_index, bit<1> decrypt, port_t engine_port,
                   bit<16> sa_generation, bit<1> esn) {
        meta.esn = esn;
        meta.key_valid = 1;
        meta.key_index = key_index;
        meta.decrypt = decrypt;
        meta.engine_port = engine_port;
        meta.sa_gen = sa_generation;
    }

    table sa_v4 {
        key = {
            hdr.ipv4.dst_addr : exact;
            hdr.esp.spi       : exact;
        }
        actions = { set_key; @defaultonly NoAction; }
        default_action = NoAction();
        counters = sa_counter;
        size = 1024;
    }

    table sa_v6 {
        key = {
            hdr.ipv6.dst_addr : exact;
            hdr.esp.spi       : exact;
        }
        actions = { set_key; @defaultonly NoAction; }
        default_action = NoAction();
        counters = sa_v6_counter;
        size = 1024;
    }

    apply {
        if (hdr.esp.isValid() && hdr.ipv4.isValid()) {
            if (!sa_v4.apply().hit) {
                meta.no_key = 1;
                digest<key_request_t>(1, { hdr.esp.spi, hdr.ipv4.src_addr, hdr.ipv4.dst_addr });
            }
        } else if (hdr.esp.isValid() && hdr.ipv6.isValid()) {
            if (!sa_v6.apply().hit) {
                meta.no_key = 1;
                digest<key_request_v6_t>(1, { hdr.esp.spi, hdr.ipv6.src_addr,
                                              hdr.ipv6.dst_addr });
            }
        }
    }
}

#endif
