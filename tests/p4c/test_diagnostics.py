"""pybm-p4c's warnings and infos, in p4c's format (recorded from p4c-bm2-ss 1.2.5 on the
same programs)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent

INVALID_HEADER_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; h_t g; h_t k; }
struct meta_t { bit<8> m; }
bit<8> f(in bit<8> x, in bit<8> unusedp) { return x; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control Sub(inout headers hdr) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Sub() usub;
    action inv() { hdr.g.setInvalid(); }
    action dir(in bit<8> dp, inout bit<8> iop) { hdr.h.a = 1; }
    action rd() { hdr.h.b = hdr.g.a; }
    apply {
        dir(hdr.h.a, hdr.h.b);
        hdr.h.setInvalid();
        hdr.h.a = 5;
        meta.m = hdr.h.b;
        if (meta.m == 1) { hdr.k.setInvalid(); }
        meta.m = hdr.k.a;
        if (meta.m == 2) { hdr.g.setInvalid(); } else { hdr.g.setInvalid(); }
        meta.m = hdr.g.b;
        hdr.g.setValid();
        inv();
        rd();
        meta.m = f(hdr.g.a, 1);
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

INVALID_HEADER_WARNINGS = """inv.p4(13): [--Wwarn=unused] warning: 'usub' is unused
    Sub() usub;
          ^^^^
inv.p4(15): [--Wwarn=unused] warning: 'dp' is unused
    action dir(in bit<8> dp, inout bit<8> iop) { hdr.h.a = 1; }
                         ^^
inv.p4(15): [--Wwarn=unused] warning: 'iop' is unused
    action dir(in bit<8> dp, inout bit<8> iop) { hdr.h.a = 1; }
                                          ^^^
inv.p4(11): [--Winfo=removed] info: removing control 'Sub'
control Sub(inout headers hdr) { apply { } }
        ^^^
inv.p4(20): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.h
        hdr.h.a = 5;
        ^^^^^
inv.p4(21): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.h
        meta.m = hdr.h.b;
                 ^^^^^
inv.p4(23): [--Wwarn=invalid-header] warning: accessing a field of a potentially invalid header hdr.k
        meta.m = hdr.k.a;
                 ^^^^^
inv.p4(25): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.g
        meta.m = hdr.g.b;
                 ^^^^^
inv.p4(16): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.h
    action rd() { hdr.h.b = hdr.g.a; }
                  ^^^^^
inv.p4(16): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.g
    action rd() { hdr.h.b = hdr.g.a; }
                            ^^^^^
inv.p4(29): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.g
        meta.m = f(hdr.g.a, 1);
                   ^^^^^"""

UNUSED_PROGRAM = """#include <core.p4>
#include <v1model.p4>
const bit<8> UC = 1;
const bit<8> USED = 2;
typedef bit<16> utd_t;
type bit<16> unt_t;
struct ustruct_t { bit<8> a; }
header uh_t { bit<8> a; }
enum UE { A, B }
enum bit<8> USE { X = 1 }
error { UnusedErr }
match_kind { umk }
action uglob() { }
bit<8> ufun(in bit<8> x) { return x; }
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct meta_t { bit<8> m; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    bit<8> upv;
    state start { pkt.extract(hdr.h); transition accept; }
    state ustate { transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control UC2(inout headers hdr) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    const bit<8> LC = 3;
    bit<8> ulv;
    counter(4, CounterType.packets) ucnt;
    action ua() { }
    action pa(bit<8> p, bit<8> q) { hdr.h.a = q; }
    table ut { key = { hdr.h.a : exact; } actions = { ua; } }
    table t { key = { hdr.h.a : exact; } actions = { pa; } }
    apply { bit<8> ul2 = 4; t.apply(); hdr.h.b = USED; }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

UNUSED_WARNINGS = """unused.p4(3): [--Wwarn=unused] warning: 'UC' is unused
const bit<8> UC = 1;
             ^^
unused.p4(5): [--Wwarn=unused] warning: 'utd_t' is unused
typedef bit<16> utd_t;
                ^^^^^
unused.p4(6): [--Wwarn=unused] warning: 'unt_t' is unused
type bit<16> unt_t;
             ^^^^^
unused.p4(13): [--Wwarn=unused] warning: 'uglob' is unused
action uglob() { }
       ^^^^^
unused.p4(14): [--Wwarn=unused] warning: 'ufun' is unused
bit<8> ufun(in bit<8> x) { return x; }
       ^^^^
unused.p4(19): [--Wwarn=unused] warning: 'upv' is unused
    bit<8> upv;
           ^^^
unused.p4(24): [--Wwarn=unused] warning: control 'UC2' is unused
control UC2(inout headers hdr) { apply { } }
        ^^^
unused.p4(26): [--Wwarn=unused] warning: 'LC' is unused
    const bit<8> LC = 3;
                 ^^
unused.p4(27): [--Wwarn=unused] warning: 'ulv' is unused
    bit<8> ulv;
           ^^^
unused.p4(28): [--Wwarn=unused] warning: 'ucnt' is unused
    counter(4, CounterType.packets) ucnt;
                                    ^^^^
unused.p4(30): [--Wwarn=unused] warning: 'p' is unused
    action pa(bit<8> p, bit<8> q) { hdr.h.a = q; }
                     ^
unused.p4(31): [--Wwarn=unused] warning: table 'ut' is unused
    table ut { key = { hdr.h.a : exact; } actions = { ua; } }
          ^^
unused.p4(33): [--Wwarn=unused] warning: 'ul2' is unused
    apply { bit<8> ul2 = 4; t.apply(); hdr.h.b = USED; }
                   ^^^
unused.p4(24): [--Winfo=removed] info: removing control 'UC2'
control UC2(inout headers hdr) { apply { } }
        ^^^
unused.p4(31): [--Winfo=removed] info: removing table 'ut'
    table ut { key = { hdr.h.a : exact; } actions = { ua; } }
          ^^
unused.p4(30): [--Wwarn=unused] warning: Unused action parameter p
    action pa(bit<8> p, bit<8> q) { hdr.h.a = q; }
                     ^"""


def _stderr(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    r = subprocess.run([str(BIN / "pybm-p4c"), "--arch", "v1model", "-o", "x.json", name],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return r.stderr.rstrip("\n")


def test_invalid_header_warnings_like_p4c(tmp_path: Path):
    # setInvalid() then a field read or written, through if/else (potentially
    # invalid on one path), directly called actions and function arguments
    assert _stderr(tmp_path, "inv.p4", INVALID_HEADER_PROGRAM) == INVALID_HEADER_WARNINGS


def test_unused_declaration_warnings_like_p4c(tmp_path: Path):
    assert _stderr(tmp_path, "unused.p4", UNUSED_PROGRAM) == UNUSED_WARNINGS


def test_no_warnings_on_a_clean_program(tmp_path: Path):
    text = UNUSED_PROGRAM.split("const bit<8> UC")[0] + """
header h_t { bit<8> a; }
struct headers { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { if (hdr.h.isValid()) { hdr.h.a = 1; hdr.h.setInvalid(); hdr.h.setValid(); hdr.h.a = 2; } }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""
    assert _stderr(tmp_path, "clean.p4", text) == ""


def test_deprecated_mark_to_drop_is_declared_and_warned(tmp_path: Path):
    """v1model's old mark_to_drop() exists (deprecated): a program that only declares
    a use of it compiles, with p4c's deprecation warning."""
    text = UNUSED_PROGRAM.split("const bit<8> UC")[0] + """
header h_t { bit<8> a; }
struct headers { h_t h; }
struct meta_t { }
action old_drop() { mark_to_drop(); }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""
    err = _stderr(tmp_path, "old.p4", text)
    assert "[--Wwarn=deprecated] warning: mark_to_drop: Using deprecated feature mark_to_drop. " \
           "Please use mark_to_drop(standard_metadata) instead." in err
    assert "warning: 'old_drop' is unused" in err


def test_no_literal_warning_in_a_statically_dead_branch(tmp_path: Path):
    """p4c folds 'if (true) ... else ...' before it warns about literals: a negative
    literal for an unsigned type warns only where the code is live."""
    body = """
bit<8> f() {
    if (true) {
        return 1;
    } else {
        return -68;
    }
}
bit<8> g() {
    return -67;
}"""
    text = UNUSED_PROGRAM.split("const bit<8> UC")[0] + body + """
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { hdr.h.a = f(); hdr.h.b = g(); }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""
    err = _stderr(tmp_path, "dead.p4", text)
    assert "-8w67: negative value with unsigned type" in err
    assert "-8w68" not in err
