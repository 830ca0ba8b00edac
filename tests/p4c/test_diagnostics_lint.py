"""p4c's warnings of lint.py: constant table keys, ordering, overflow, parser-transition,
unsupported, unreachable, deprecated (its second location), the `removing ...` infos, and p4c's cut of long source lines
(expected output recorded from p4c-bm2-ss 1.2.5.16 on the same programs; runs without it)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

# constants folded before type checking: a shift by at least the width of a typed constant, a folded shift or an operand made typed that does not fit, a constant's own value
EARLY_FOLDING_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<16> c; bit<32> d; }
struct headers { h_t h; }
struct meta_t { bit<8> m; bit<4> q; int<8> s; }
const bit<8> K = 300;
const bit<4> Q = -1;
const bit<8> K1 = 1;
const int<8> S = 200;
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hdr.h.a = K;
        meta.q = Q;
        hdr.h.a = K1 << 9;
        hdr.h.a = (bit<8>)300;
        hdr.h.a = 8w1 + 300;
        hdr.h.a = 8w255 + 8w1;
        meta.q = (bit<4>)(-1);
        hdr.h.a = (bit<8>)K1 << 8;
        hdr.h.b = 8w3 << (8w2 + 8w7);
        meta.s = S;
        meta.s = 8s100 + 100;
        meta.s = (int<8>)200;
        hdr.h.a = hdr.h.b + 256;
        hdr.h.a = hdr.h.b << (8w4 + 8w4);
        hdr.h.a = hdr.h.b << K1 + 8;
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

EARLY_FOLDING_WARNINGS = """cf1.p4(6): [--Wwarn=overflow] warning: 8w300: value does not fit in 8 bits
const bit<8> K = 300;
                 ^^^
cf1.p4(7): [--Wwarn=mismatch] warning: -4w1: negative value with unsigned type
const bit<4> Q = -1;
                  ^
cf1.p4(9): [--Wwarn=overflow] warning: 8s200: signed value does not fit in 8 bits
const int<8> S = 200;
                 ^^^
cf1.p4(18): [--Wwarn=overflow] warning: 1 << 9: Shifting 8-bit value with 9
        hdr.h.a = K1 << 9;
                  ^^^^^^^
cf1.p4(20): [--Wwarn=overflow] warning: 8w300: value does not fit in 8 bits
        hdr.h.a = 8w1 + 300;
                        ^^^
cf1.p4(23): [--Wwarn=overflow] warning: 1 << 8: Shifting 8-bit value with 8
        hdr.h.a = (bit<8>)K1 << 8;
                  ^^^^^^^^^^^^^^^
cf1.p4(24): [--Wwarn=overflow] warning: 3 << 9: Shifting 8-bit value with 9
        hdr.h.b = 8w3 << (8w2 + 8w7);
                  ^^^^^^^^^^^^^^^^^^
cf1.p4(28): [--Wwarn=overflow] warning: 8w256: value does not fit in 8 bits
        hdr.h.a = hdr.h.b + 256;
                            ^^^
cf1.p4(29): [--Wwarn=overflow] warning: hdr.h.b << 8: shifting value with 8 bits by 8
        hdr.h.a = hdr.h.b << (8w4 + 8w4);
                  ^^^^^^^^^^^^^^^^^^^^^^
cf1.p4(30): [--Wwarn=overflow] warning: hdr.h.b << 9: shifting value with 8 bits by 9
        hdr.h.a = hdr.h.b << K1 + 8;
                  ^^^^^^^^^^^^^^^^^"""

# shifts: early folding first, then type inference's warnings with typecheck's literal warnings, in program order
SHIFTS_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<16> c; bit<32> d; }
struct headers { h_t h; }
struct meta_t { bit<8> m; bit<4> q; int<8> s; int<4> t; }
const bit<8> K = 8w0x10 << 4;
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hdr.h.a = 8w0x10 << 4;
        hdr.h.a = 8w0x10 << 9;
        hdr.h.a = 8w255 + 8w1;
        meta.q = 4w8 << 1;
        meta.q = 4w1 << 3;
        meta.s = 8s64 << 1;
        meta.s = 8s1 << 9;
        meta.t = 4s4 << 1;
        meta.s = -8s64 << 1;
        meta.s = -8s64 << 2;
        hdr.h.a = 8w1 << 8;
        hdr.h.a = 8w128 >> 8;
        hdr.h.a = 8w128 >> 9;
        hdr.h.a = (8w128 >> 9) + hdr.h.b;
        hdr.h.c = (bit<16>)(8w3 << 7);
        hdr.h.a = hdr.h.b << 9;
        hdr.h.a = K;
        hdr.h.d = 32w0xFFFF_FFFF << 4;
        hdr.h.d = (1 << 40);
        hdr.h.a = 8w0b1010 << 5;
        meta.s = 8s0x7f << 1;
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

SHIFTS_WARNINGS = """ov1.p4(6): [--Wwarn=overflow] warning: 8w0x100: value does not fit in 8 bits
const bit<8> K = 8w0x10 << 4;
                 ^^^^^^^^^^^
ov1.p4(13): [--Wwarn=overflow] warning: 8w0x100: value does not fit in 8 bits
        hdr.h.a = 8w0x10 << 4;
                  ^^^^^^^^^^^
ov1.p4(14): [--Wwarn=overflow] warning: 16 << 9: Shifting 8-bit value with 9
        hdr.h.a = 8w0x10 << 9;
                  ^^^^^^^^^^^
ov1.p4(16): [--Wwarn=overflow] warning: 4w16: value does not fit in 4 bits
        meta.q = 4w8 << 1;
                 ^^^^^^^^
ov1.p4(18): [--Wwarn=overflow] warning: 8s128: signed value does not fit in 8 bits
        meta.s = 8s64 << 1;
                 ^^^^^^^^^
ov1.p4(19): [--Wwarn=overflow] warning: 1 << 9: Shifting 8-bit value with 9
        meta.s = 8s1 << 9;
                 ^^^^^^^^
ov1.p4(20): [--Wwarn=overflow] warning: 4s8: signed value does not fit in 4 bits
        meta.t = 4s4 << 1;
                 ^^^^^^^^
ov1.p4(22): [--Wwarn=overflow] warning: -8s256: signed value does not fit in 8 bits
        meta.s = -8s64 << 2;
                 ^^^^^^^^^^
ov1.p4(23): [--Wwarn=overflow] warning: 1 << 8: Shifting 8-bit value with 8
        hdr.h.a = 8w1 << 8;
                  ^^^^^^^^
ov1.p4(24): [--Wwarn=overflow] warning: 128 >> 8: Shifting 8-bit value with 8
        hdr.h.a = 8w128 >> 8;
                  ^^^^^^^^^^
ov1.p4(25): [--Wwarn=overflow] warning: 128 >> 9: Shifting 8-bit value with 9
        hdr.h.a = 8w128 >> 9;
                  ^^^^^^^^^^
ov1.p4(26): [--Wwarn=overflow] warning: 128 >> 9: Shifting 8-bit value with 9
        hdr.h.a = (8w128 >> 9) + hdr.h.b;
                  ^^^^^^^^^^^^
ov1.p4(27): [--Wwarn=overflow] warning: 8w384: value does not fit in 8 bits
        hdr.h.c = (bit<16>)(8w3 << 7);
                           ^^^^^^^^^^
ov1.p4(30): [--Wwarn=overflow] warning: 32w0xffffffff0: value does not fit in 32 bits
        hdr.h.d = 32w0xFFFF_FFFF << 4;
                  ^^^^^^^^^^^^^^^^^^^
ov1.p4(32): [--Wwarn=overflow] warning: 8w0b101000000: value does not fit in 8 bits
        hdr.h.a = 8w0b1010 << 5;
                  ^^^^^^^^^^^^^
ov1.p4(33): [--Wwarn=overflow] warning: 8s0xfe: signed value does not fit in 8 bits
        meta.s = 8s0x7f << 1;
                 ^^^^^^^^^^^
ov1.p4(28): [--Wwarn=overflow] warning: hdr.h.b << 9: shifting value with 8 bits by 9
        hdr.h.a = hdr.h.b << 9;
                  ^^^^^^^^^^^^
ov1.p4(31): [--Wwarn=overflow] warning: 32w1099511627776: value does not fit in 32 bits
        hdr.h.d = (1 << 40);
                  ^^^^^^^^^"""

# constant keys (type inference, then the check of constants at the constant's own position), select cases that do not matter, unreachable accept, an explicit reject
KEYS_AND_SELECTS_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<16> c; bit<32> d; }
struct headers { h_t h; h_t h2; }
struct meta_t { bit<8> m; bit<4> q; bool f; }
const bit<8> K = 0x10;
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition select(hdr.h.a, hdr.h.b) { (1, 2): s1; (1, 2): s2; default: s1; (3, 4): s2; } }
    state s1 { transition select(hdr.h.a) { 1: s2; 1: s2; } }
    state s2 { transition select(hdr.h.b) { 8w1: reject; 2: reject; default: reject; } }
    state s3 { transition reject; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    table t1 { key = { 8w0xFF : exact; K : exact; true : exact @name("kt"); hdr.h.a : exact; (8w3) : exact @name("k3"); K + 1 : exact @name("kk"); } actions = { NoAction; } }
    apply { t1.apply(); }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

KEYS_AND_SELECTS_WARNINGS = """pk.p4(15): [--Wwarn=ignore-prop] warning: KeyElement: constant key element
    table t1 { key = { 8w0xFF : exact; K : exact; true : exact @name("kt"); hdr.h.a : exact; (8w3...
                       ^^^^^^
pk.p4(15): [--Wwarn=ignore-prop] warning: KeyElement: constant key element
    table t1 { key = { 8w0xFF : exact; K : exact; true : exact @name("kt"); hdr.h.a : exact; (8w3...
                                       ^
pk.p4(15): [--Wwarn=ignore-prop] warning: KeyElement: constant key element
...able t1 { key = { 8w0xFF : exact; K : exact; true : exact @name("kt"); hdr.h.a : exact; (8w3) ...
                                                ^^^^
pk.p4(15): [--Wwarn=ignore-prop] warning: KeyElement: constant key element
...; true : exact @name("kt"); hdr.h.a : exact; (8w3) : exact @name("k3"); K + 1 : exact @name("k...
                                                ^^^^^
pk.p4(15): [--Wwarn=ignore-prop] warning: KeyElement: constant key element
... hdr.h.a : exact; (8w3) : exact @name("k3"); K + 1 : exact @name("kk"); } actions = { NoAction...
                                                ^^^^^
pk.p4(7): [--Wwarn=unreachable] warning: accept state in parser P is unreachable
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
       ^
pk.p4(15): [--Wwarn=mismatch] warning: 8w0xff: Constant key field
    table t1 { key = { 8w0xFF : exact; K : exact; true : exact @name("kt"); hdr.h.a : exact; (8w3...
                       ^^^^^^
pk.p4(6): [--Wwarn=mismatch] warning: 8w0x10: Constant key field
const bit<8> K = 0x10;
                 ^^^^
pk.p4(15): [--Wwarn=mismatch] warning: true: Constant key field
...able t1 { key = { 8w0xFF : exact; K : exact; true : exact @name("kt"); hdr.h.a : exact; (8w3) ...
                                                ^^^^
pk.p4(15): [--Wwarn=mismatch] warning: 8w3: Constant key field
...; true : exact @name("kt"); hdr.h.a : exact; (8w3) : exact @name("k3"); K + 1 : exact @name("k...
                                                ^^^^^
pk.p4(15): [--Wwarn=mismatch] warning: 8w0x11: Constant key field
... hdr.h.a : exact; (8w3) : exact @name("k3"); K + 1 : exact @name("kk"); } actions = { NoAction...
                                                ^^^^^
pk.p4(8): [--Wwarn=parser-transition] warning: SelectCase: unreachable
...dr.h); transition select(hdr.h.a, hdr.h.b) { (1, 2): s1; (1, 2): s2; default: s1; (3, 4): s2; } }
                                                                                     ^^^^^^^^^^
pk.p4(8): [--Wwarn=parser-transition] warning: '{ hdr.h.a, hdr.h.b }': transition does not depend on select argument
... pkt.extract(hdr.h); transition select(hdr.h.a, hdr.h.b) { (1, 2): s1; (1, 2): s2; default: s1...
                                          ^^^^^^^^^^^^^^^^
pk.p4(9): [--Wwarn=parser-transition] warning: '{ hdr.h.a }': transition does not depend on select argument
    state s1 { transition select(hdr.h.a) { 1: s2; 1: s2; } }
                                 ^^^^^^^
pk.p4(10): [--Wwarn=parser-transition] warning: '{ hdr.h.b }': transition does not depend on select argument
    state s2 { transition select(hdr.h.b) { 8w1: reject; 2: reject; default: reject; } }
                                 ^^^^^^^
pk.p4(7): [--Wwarn=unreachable] warning: accept state in parser P is unreachable
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
       ^
pk.p4(10): [--Wwarn=unsupported] warning: Explicit transition to reject not supported on this target
    state s2 { transition select(hdr.h.b) { 8w1: reject; 2: reject; default: reject; } }
                                                                             ^^^^^^"""

# an out/inout argument overlapping another argument the call writes, one warning per argument
ORDERING_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<16> c; bit<32> d; }
struct pair_t { bit<8> x; bit<8> y; }
struct headers { h_t h; h_t[2] st; }
struct meta_t { bit<8> m; bit<8> n; pair_t p; }
bit<8> f(inout bit<8> v, in bit<8> w) { v = v + w; return v; }
bit<8> g(inout bit<8> v) { v = v + 1; return v; }
void swap(inout pair_t p, inout bit<8> q) { bit<8> t = p.x; p.x = q; q = t; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control Sub(inout h_t h, inout bit<8> a) { apply { a = h.a; } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Sub() sub;
    action two(inout bit<8> a, inout bit<8> b) { a = b; }
    action outin(out bit<8> a, in bit<8> b) { a = b; }
    apply {
        two(meta.m, meta.m);
        two(meta.m, meta.n);
        outin(meta.m, meta.m);
        swap(meta.p, meta.p.x);
        f(meta.m, g(meta.m));
        meta.n = f(meta.n, meta.n);
        sub.apply(hdr.h, hdr.h.a);
        two(hdr.st[0].a, hdr.st[1].a);
        two(hdr.st[0].a, hdr.st[0].a);
        two(hdr.h.c[7:0], hdr.h.c[15:8]);
        hash(meta.m, HashAlgorithm.crc16, 8w0, { meta.m }, 8w255);
        two(meta.m, meta.m);
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

ORDERING_WARNINGS = """ordr.p4(20): [--Wwarn=ordering] warning: meta.m: 'out' argument has fields in common with meta.m
        two(meta.m, meta.m);
            ^^^^^^
ordr.p4(20)
        two(meta.m, meta.m);
                    ^^^^^^
ordr.p4(20): [--Wwarn=ordering] warning: meta.m: 'out' argument has fields in common with meta.m
        two(meta.m, meta.m);
                    ^^^^^^
ordr.p4(20)
        two(meta.m, meta.m);
            ^^^^^^
ordr.p4(23): [--Wwarn=ordering] warning: meta.p: 'out' argument has fields in common with meta.p.x
        swap(meta.p, meta.p.x);
             ^^^^^^
ordr.p4(23)
        swap(meta.p, meta.p.x);
                     ^^^^^^^^
ordr.p4(23): [--Wwarn=ordering] warning: meta.p.x: 'out' argument has fields in common with meta.p
        swap(meta.p, meta.p.x);
                     ^^^^^^^^
ordr.p4(23)
        swap(meta.p, meta.p.x);
             ^^^^^^
ordr.p4(24): [--Wwarn=ordering] warning: meta.m: 'out' argument has fields in common with meta.m
        f(meta.m, g(meta.m));
          ^^^^^^
ordr.p4(24)
        f(meta.m, g(meta.m));
                    ^^^^^^
ordr.p4(26): [--Wwarn=ordering] warning: hdr.h: 'out' argument has fields in common with hdr.h.a
        sub.apply(hdr.h, hdr.h.a);
                  ^^^^^
ordr.p4(26)
        sub.apply(hdr.h, hdr.h.a);
                         ^^^^^^^
ordr.p4(26): [--Wwarn=ordering] warning: hdr.h.a: 'out' argument has fields in common with hdr.h
        sub.apply(hdr.h, hdr.h.a);
                         ^^^^^^^
ordr.p4(26)
        sub.apply(hdr.h, hdr.h.a);
                  ^^^^^
ordr.p4(28): [--Wwarn=ordering] warning: hdr.st[0].a: 'out' argument has fields in common with hdr.st[0].a
        two(hdr.st[0].a, hdr.st[0].a);
            ^^^^^^^^^^^
ordr.p4(28)
        two(hdr.st[0].a, hdr.st[0].a);
                         ^^^^^^^^^^^
ordr.p4(28): [--Wwarn=ordering] warning: hdr.st[0].a: 'out' argument has fields in common with hdr.st[0].a
        two(hdr.st[0].a, hdr.st[0].a);
                         ^^^^^^^^^^^
ordr.p4(28)
        two(hdr.st[0].a, hdr.st[0].a);
            ^^^^^^^^^^^
ordr.p4(31): [--Wwarn=ordering] warning: meta.m: 'out' argument has fields in common with meta.m
        two(meta.m, meta.m);
            ^^^^^^
ordr.p4(31)
        two(meta.m, meta.m);
                    ^^^^^^
ordr.p4(31): [--Wwarn=ordering] warning: meta.m: 'out' argument has fields in common with meta.m
        two(meta.m, meta.m);
                    ^^^^^^
ordr.p4(31)
        two(meta.m, meta.m);
            ^^^^^^"""

# p4c's infos on the tables, controls and parsers its removal of unused declarations drops, round by round
REMOVED_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct meta_t { bit<8> m; }
const bool DEBUG = false;
parser Sub1(packet_in pkt, out h_t h) { state start { pkt.extract(h); transition accept; } }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Sub1() s1;
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control Leaf(inout headers hdr) {
    table tl { key = { hdr.h.a : exact; } actions = { NoAction; } }
    apply { tl.apply(); }
}
control Mid(inout headers hdr) {
    Leaf() leaf;
    apply { leaf.apply(hdr); }
}
control Dead(inout headers hdr) {
    table td { key = { hdr.h.a : exact; } actions = { NoAction; } }
    apply { td.apply(); }
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Mid() mid_unused;
    Dead() dead;
    table t1 { key = { hdr.h.a : exact; } actions = { NoAction; } }
    table t2 { key = { hdr.h.a : exact; } actions = { NoAction; } }
    table t3 { key = { hdr.h.a : exact; } actions = { NoAction; } }
    table t4 { key = { hdr.h.a : exact; } actions = { NoAction; } }
    table t5 { key = { hdr.h.a : exact; } actions = { NoAction; } }
    apply {
        if (DEBUG) { t1.apply(); dead.apply(hdr); }
        if (false && t2.apply().hit) { hdr.h.b = 1; }
        if (true) { t5.apply(); } else { t3.apply(); }
        switch (t4.apply().action_run) { NoAction: { } }
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

REMOVED_WARNINGS = """info2.p4(9): [--Wwarn=unused] warning: 's1' is unused
    Sub1() s1;
           ^^
info2.p4(26): [--Wwarn=unused] warning: 'mid_unused' is unused
    Mid() mid_unused;
          ^^^^^^^^^^
info2.p4(28): [--Winfo=removed] info: removing table 't1'
    table t1 { key = { hdr.h.a : exact; } actions = { NoAction; } }
          ^^
info2.p4(29): [--Winfo=removed] info: removing table 't2'
    table t2 { key = { hdr.h.a : exact; } actions = { NoAction; } }
          ^^
info2.p4(30): [--Winfo=removed] info: removing table 't3'
    table t3 { key = { hdr.h.a : exact; } actions = { NoAction; } }
          ^^
info2.p4(7): [--Winfo=removed] info: removing parser 'Sub1'
parser Sub1(packet_in pkt, out h_t h) { state start { pkt.extract(h); transition accept; } }
       ^^^^
info2.p4(17): [--Winfo=removed] info: removing control 'Mid'
control Mid(inout headers hdr) {
        ^^^
info2.p4(21): [--Winfo=removed] info: removing control 'Dead'
control Dead(inout headers hdr) {
        ^^^^
info2.p4(13): [--Winfo=removed] info: removing control 'Leaf'
control Leaf(inout headers hdr) {
        ^^^^"""

# rejects left once the select cases are simplified
REJECTS_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; h_t h2; }
struct meta_t { bit<8> m; }
const bit<8> ONE = 1;
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.h);
        transition select(hdr.h.a) {
            ONE: s1;
            1: reject;
            2: reject;
            default: s2;
        }
    }
    state s1 { transition select(hdr.h.b) { 1: reject; 2: s2; default: reject; } }
    state s2 { transition select(hdr.h.b, hdr.h.a) { default: accept; } }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

REJECTS_WARNINGS = """par3.p4(13): [--Wwarn=unsupported] warning: Explicit transition to reject not supported on this target
            2: reject;
               ^^^^^^
par3.p4(17): [--Wwarn=unsupported] warning: Explicit transition to reject not supported on this target
    state s1 { transition select(hdr.h.b) { 1: reject; 2: s2; default: reject; } }
                                                                       ^^^^^^"""

# a source line of 100 characters or more is shown as 100 around the carets
LONG_LINES_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct meta_t { bit<8> m; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    bit<8> x_unused_variable_with_a_long_name = 1; bit<8> x_unused_variable_with_a_long_name2 = 1; bit<8> x3 = 1;
    bit<8> y_unused_variable_with_a_long_name = 1; bit<8> y_unused_variable_with_a_long_name2 = 1; bit<8> y3 = 1; bit<8> y4 = 1; bit<8> y5 = 1; bit<8> y6 = 1;
    apply { }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

LONG_LINES_WARNINGS = """long.p4(11): [--Wwarn=unused] warning: 'x_unused_variable_with_a_long_name' is unused
    bit<8> x_unused_variable_with_a_long_name = 1; bit<8> x_unused_variable_with_a_long_name2 = 1...
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
long.p4(11): [--Wwarn=unused] warning: 'x_unused_variable_with_a_long_name2' is unused
...sed_variable_with_a_long_name = 1; bit<8> x_unused_variable_with_a_long_name2 = 1; bit<8> x3 = 1;
                                             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
long.p4(11): [--Wwarn=unused] warning: 'x3' is unused
...sed_variable_with_a_long_name = 1; bit<8> x_unused_variable_with_a_long_name2 = 1; bit<8> x3 = 1;
                                                                                             ^^
long.p4(12): [--Wwarn=unused] warning: 'y_unused_variable_with_a_long_name' is unused
    bit<8> y_unused_variable_with_a_long_name = 1; bit<8> y_unused_variable_with_a_long_name2 = 1...
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
long.p4(12): [--Wwarn=unused] warning: 'y_unused_variable_with_a_long_name2' is unused
..._with_a_long_name = 1; bit<8> y_unused_variable_with_a_long_name2 = 1; bit<8> y3 = 1; bit<8> y...
                                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
long.p4(12): [--Wwarn=unused] warning: 'y3' is unused
...unused_variable_with_a_long_name2 = 1; bit<8> y3 = 1; bit<8> y4 = 1; bit<8> y5 = 1; bit<8> y6 ...
                                                 ^^
long.p4(12): [--Wwarn=unused] warning: 'y4' is unused
...nused_variable_with_a_long_name2 = 1; bit<8> y3 = 1; bit<8> y4 = 1; bit<8> y5 = 1; bit<8> y6 = 1;
                                                               ^^
long.p4(12): [--Wwarn=unused] warning: 'y5' is unused
...nused_variable_with_a_long_name2 = 1; bit<8> y3 = 1; bit<8> y4 = 1; bit<8> y5 = 1; bit<8> y6 = 1;
                                                                              ^^
long.p4(12): [--Wwarn=unused] warning: 'y6' is unused
...nused_variable_with_a_long_name2 = 1; bit<8> y3 = 1; bit<8> y4 = 1; bit<8> y5 = 1; bit<8> y6 = 1;
                                                                                             ^^"""

# a deprecated function: the call, then where the function is declared
DEPRECATED_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct meta_t { bit<8> m; }
@deprecated("use g")
bit<8> f(in bit<8> x) { return x + 1; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { hdr.h.a = f(hdr.h.b); }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

DEPRECATED_WARNINGS = """dep.p4(13): [--Wwarn=deprecated] warning: f: Using deprecated feature f. use g
    apply { hdr.h.a = f(hdr.h.b); }
                      ^
dep.p4(7)
bit<8> f(in bit<8> x) { return x + 1; }
       ^"""

CASES = [("cf1.p4", EARLY_FOLDING_PROGRAM, EARLY_FOLDING_WARNINGS), ("ov1.p4", SHIFTS_PROGRAM, SHIFTS_WARNINGS), ("pk.p4", KEYS_AND_SELECTS_PROGRAM, KEYS_AND_SELECTS_WARNINGS), ("ordr.p4", ORDERING_PROGRAM, ORDERING_WARNINGS), ("info2.p4", REMOVED_PROGRAM, REMOVED_WARNINGS), ("par3.p4", REJECTS_PROGRAM, REJECTS_WARNINGS), ("long.p4", LONG_LINES_PROGRAM, LONG_LINES_WARNINGS), ("dep.p4", DEPRECATED_PROGRAM, DEPRECATED_WARNINGS)]


@pytest.mark.parametrize("name,text,expected", CASES, ids=[c[0] for c in CASES])
def test_warnings_like_p4c(tmp_path: Path, name: str, text: str, expected: str):
    (tmp_path / name).write_text(text)
    # a failing lint phase fails the test; lines are cut at 100 characters without COLUMNS
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["PYBM_P4C_STRICT"] = "1"
    r = subprocess.run([str(BIN / "pybm-p4c"), "--arch", "v1model", "-o", "x.json", name],
                       capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr.rstrip("\n") == expected
