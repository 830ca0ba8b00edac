"""p4c's uninitialized-use and shadow warnings and its refusal of a declaration that
shadows a parameter (expected output recorded from p4c-bm2-ss 1.2.5.16 on the same program)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent

DEFUSE_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header e_t { bit<16> etype; }
header s_t { bit<8> k; bit<8> r; bit<8> h; }
header o_t { bit<8> v; }
struct headers { e_t eth; s_t s; o_t o; }
struct pair_t { bit<8> a; bit<8> b; }
struct meta_t { bit<8> m; bit<8> n; }
const bit<8> G = 1;
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.etype) { 0x800: parse_s; default: check; }
    }
    state parse_s { pkt.extract(hdr.s); transition check; }
    state check { transition select(hdr.s.k) { 1: parse_o; default: accept; } }
    state parse_o { pkt.extract(hdr.o); meta.n = hdr.o.v + hdr.s.r; transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    bit<8> G = 2;
    bit<8> x;
    bit<8> cv = 3;
    action set_n(bit<8> cv) { meta.n = cv; }
    action a(out bit<8> y) { y = y + 1; }
    action b(out bit<8> y, in bit<8> q) { y = q; }
    action c(inout pair_t p) { p.a = p.b; }
    table t {
        key = { hdr.s.k : exact; }
        actions = { set_n; NoAction; }
        default_action = NoAction();
    }
    apply {
        bit<8> z;
        bit<8> w;
        if (hdr.s.k == 2) { w = 1; }
        hdr.s.r = z + w + G;
        a(meta.m);
        hdr.s.h = x;
        hdr.o.setInvalid();
        hdr.s.h = hdr.o.v;
        pair_t p1;
        p1.a = 1;
        hdr.s.h = p1.b;
        pair_t p2 = { 1, 2 };
        hdr.s.h = p2.b;
        o_t lo;
        lo.setValid();
        hdr.o.v = lo.v;
        bit<8> q;
        b(q, cv);
        hdr.s.r = q;
        pair_t p3;
        c(p3);
        bit<8> u;
        t.apply();
        if (meta.n == 1) { u = 1; } else { u = 2; }
        {
            bit<8> u = 7;
            hdr.s.k = u;
        }
        hdr.s.k = u;
        bit<8> i;
        hash(i, HashAlgorithm.crc16, 8w0, { hdr.s.k }, 8w255);
        hdr.s.k = i;
        sm.egress_spec = 1;
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    bit<8> e;
    apply {
        if (hdr.s.isValid()) { e = 1; }
        if (hdr.s.isValid()) { hdr.s.k = e; }
    }
}
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

# in a parser p4c gives its uninitialized-use warnings before its invalid-header ones;
# in a control they come in the order of the walk
DEFUSE_WARNINGS = """defuse.p4(21): [--Wwarn=shadow] warning: 'G' shadows 'G'
    bit<8> G = 2;
           ^
defuse.p4(9)
const bit<8> G = 1;
             ^
defuse.p4(24): [--Wwarn=shadow] warning: 'cv' shadows 'cv'
    action set_n(bit<8> cv) { meta.n = cv; }
                        ^^
defuse.p4(23)
    bit<8> cv = 3;
           ^^
defuse.p4(59): [--Wwarn=shadow] warning: 'u' shadows 'u'
            bit<8> u = 7;
                   ^
defuse.p4(55)
        bit<8> u;
               ^
defuse.p4(9): [--Wwarn=unused] warning: 'G' is unused
const bit<8> G = 1;
             ^
defuse.p4(16): [--Wwarn=uninitialized-use] warning: hdr.s.k may be uninitialized
    state check { transition select(hdr.s.k) { 1: parse_o; default: accept; } }
                                    ^^^^^^^
defuse.p4(17): [--Wwarn=uninitialized-use] warning: hdr.s.r may be uninitialized
    state parse_o { pkt.extract(hdr.o); meta.n = hdr.o.v + hdr.s.r; transition accept; }
                                                           ^^^^^^^
defuse.p4(16): [--Wwarn=invalid-header] warning: accessing a field of a potentially invalid header hdr.s
    state check { transition select(hdr.s.k) { 1: parse_o; default: accept; } }
                                    ^^^^^
defuse.p4(17): [--Wwarn=invalid-header] warning: accessing a field of a potentially invalid header hdr.s
    state parse_o { pkt.extract(hdr.o); meta.n = hdr.o.v + hdr.s.r; transition accept; }
                                                           ^^^^^
defuse.p4(37): [--Wwarn=uninitialized-use] warning: z may be uninitialized
        hdr.s.r = z + w + G;
                  ^
defuse.p4(37): [--Wwarn=uninitialized-use] warning: w may be uninitialized
        hdr.s.r = z + w + G;
                      ^
defuse.p4(25): [--Wwarn=uninitialized-use] warning: y may be uninitialized
    action a(out bit<8> y) { y = y + 1; }
                                 ^
defuse.p4(39): [--Wwarn=uninitialized-use] warning: x may be uninitialized
        hdr.s.h = x;
                  ^
defuse.p4(41): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.o
        hdr.s.h = hdr.o.v;
                  ^^^^^
defuse.p4(44): [--Wwarn=uninitialized-use] warning: p1.b may be uninitialized
        hdr.s.h = p1.b;
                  ^^^^
defuse.p4(49): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.o
        hdr.o.v = lo.v;
        ^^^^^
defuse.p4(49): [--Wwarn=uninitialized-use] warning: lo.v may be uninitialized
        hdr.o.v = lo.v;
                  ^^^^
defuse.p4(54): [--Wwarn=uninitialized-use] warning: p3.a may be uninitialized
        c(p3);
          ^^
defuse.p4(73): [--Wwarn=uninitialized-use] warning: e may be uninitialized
        if (hdr.s.isValid()) { hdr.s.k = e; }
                                         ^"""


# a parser's state variable, functions (checked where declared), return and exit (which
# p4c's def-use goes past), local headers (invalid until setValid), a switch on a value,
# a table action's out parameters (p4c's uninitialized-out-param, then the copy-out read),
# stack elements at constant indices
FLOW_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header s_t { bit<8> k; bit<8> r; bit<8> h; }
struct headers { s_t s; }
struct flag_t { bool f; }
struct meta_t { bit<8> m; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    bit<8> pl;
    state start { transition select(sm.ingress_port) { 1: one; default: two; } }
    state one { pl = 1; pkt.extract(hdr.s); transition two; }
    state two { meta.m = pl; transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
bit<8> f(in bit<8> x) {
    bit<8> r;
    if (x == 1) { return 3; } else { r = 2; }
    return r;
}
bit<8> g() {
    s_t tmp;
    return tmp.k;
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    s_t h1;
    s_t h2;
    flag_t fl = { false };
    action a() {
        bit<8> q;
        if (hdr.s.k == 1) { return; } else { q = 1; }
        hdr.s.r = q;
    }
    action set_out(out bit<8> o, out flag_t of) { }
    table t {
        key = { hdr.s.k : exact; }
        actions = { set_out(meta.m, fl); }
    }
    apply {
        s_t[2] stk;
        stk[0].setValid();
        stk[0].k = 1;
        hdr.s.r = stk[0].k + stk[1].k;
        s_t[2] stk2;
        stk2[0].k = 1;
        hdr.s.r = stk2[1].k;
        a();
        hdr.s.h = f(hdr.s.k) + g();
        bit<8> e;
        if (hdr.s.k == 3) { exit; } else { e = 1; }
        hdr.s.k = e;
        h2.setValid();
        h1.k = 0;
        switch (hdr.s.k) {
            0: { h1.setValid(); h2.setInvalid(); }
            default: { h1.setValid(); h2.setInvalid(); }
        }
        hdr.s.r = h1.k;
        hdr.s.r = h2.k;
        switch (t.apply().action_run) {
            set_out: { if (!fl.f) { exit; } }
        }
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

FLOW_WARNINGS = """flow.p4(32): [--Wwarn=unused] warning: 'o' is unused
    action set_out(out bit<8> o, out flag_t of) { }
                              ^
flow.p4(32): [--Wwarn=unused] warning: 'of' is unused
    action set_out(out bit<8> o, out flag_t of) { }
                                            ^^
flow.p4(11): [--Wwarn=uninitialized-use] warning: pl may be uninitialized
    state two { meta.m = pl; transition accept; }
                         ^^
flow.p4(17): [--Wwarn=uninitialized-use] warning: r may be uninitialized
    return r;
           ^
flow.p4(21): [--Wwarn=invalid-header] warning: accessing a field of an invalid header tmp
    return tmp.k;
           ^^^
flow.p4(21): [--Wwarn=uninitialized-use] warning: tmp.k may be uninitialized
    return tmp.k;
           ^^^^^
flow.p4(41): [--Wwarn=invalid-header] warning: accessing a field of an invalid header stk[1]
        hdr.s.r = stk[0].k + stk[1].k;
                             ^^^^^^
flow.p4(41): [--Wwarn=uninitialized-use] warning: stk[1].k may be uninitialized
        hdr.s.r = stk[0].k + stk[1].k;
                             ^^^^^^^^
flow.p4(43): [--Wwarn=invalid-header] warning: accessing a field of an invalid header stk2[0]
        stk2[0].k = 1;
        ^^^^^^^
flow.p4(44): [--Wwarn=invalid-header] warning: accessing a field of an invalid header stk2[1]
        hdr.s.r = stk2[1].k;
                  ^^^^^^^
flow.p4(44): [--Wwarn=uninitialized-use] warning: stk2[1].k may be uninitialized
        hdr.s.r = stk2[1].k;
                  ^^^^^^^^^
flow.p4(30): [--Wwarn=uninitialized-use] warning: q may be uninitialized
        hdr.s.r = q;
                  ^
flow.p4(49): [--Wwarn=uninitialized-use] warning: e may be uninitialized
        hdr.s.k = e;
                  ^
flow.p4(51): [--Wwarn=invalid-header] warning: accessing a field of an invalid header h1
        h1.k = 0;
        ^^
flow.p4(57): [--Wwarn=invalid-header] warning: accessing a field of an invalid header h2
        hdr.s.r = h2.k;
                  ^^
flow.p4(57): [--Wwarn=uninitialized-use] warning: h2.k may be uninitialized
        hdr.s.r = h2.k;
                  ^^^^
flow.p4(32): [--Wwarn=uninitialized-out-param] warning: out parameter 'o' may be uninitialized when 'set_out' terminates
    action set_out(out bit<8> o, out flag_t of) { }
                              ^
flow.p4(32)
    action set_out(out bit<8> o, out flag_t of) { }
           ^^^^^^^
flow.p4(32): [--Wwarn=uninitialized-out-param] warning: out parameter 'of' may be uninitialized when 'set_out' terminates
    action set_out(out bit<8> o, out flag_t of) { }
                                            ^^
flow.p4(32)
    action set_out(out bit<8> o, out flag_t of) { }
           ^^^^^^^
flow.p4(32): [--Wwarn=uninitialized-use] warning: o may be uninitialized
    action set_out(out bit<8> o, out flag_t of) { }
                              ^
flow.p4(32): [--Wwarn=uninitialized-use] warning: of.f may be uninitialized
    action set_out(out bit<8> o, out flag_t of) { }
                                            ^^"""


# a table's actions run at its apply (a read of an invalid header inside one; the header
# stays invalid after the apply); a sub-control's apply forgets what was known
TABLES_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etype; }
header s_t { bit<8> k; bit<8> r; bit<8> h; }
header o_t { bit<8> v; }
struct headers { ethernet_t eth; s_t s; o_t o; }
struct meta_t { bit<8> m; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.s); pkt.extract(hdr.o); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control Sub(inout headers h) { apply { h.s.r = 1; } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Sub() sub;
    action rd() { meta.m = hdr.o.v; }
    action wr() { hdr.s.h = 1; }
    table t {
        key = { hdr.s.k : exact; }
        actions = { rd; wr; NoAction; }
        default_action = NoAction();
    }
    apply {
        hdr.o.setInvalid();
        t.apply();
        meta.m = hdr.o.v;
        hdr.o.setInvalid();
        sub.apply(hdr);
        meta.m = hdr.o.v;
        bit<8> x;
        sub.apply(hdr);
        meta.m = x;
    }
}
control NoEgress(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
"""

TABLES_WARNINGS = """tables.p4(15): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.o
    action rd() { meta.m = hdr.o.v; }
                           ^^^^^
tables.p4(25): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.o
        meta.m = hdr.o.v;
                 ^^^^^
tables.p4(31): [--Wwarn=uninitialized-use] warning: x may be uninitialized
        meta.m = x;
                 ^"""


# common forms: extern out arguments (register read, hash), a value set and lookahead in
# the parser, switches on a value (p4c: even with a default, no case may run) and on a
# table's action_run (with a default, one case runs), a digest of a partly set struct
COMMON_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etype; }
header s_t { bit<8> k; bit<8> r; bit<8> h; }
struct headers { ethernet_t eth; s_t s; }
struct dg_t { bit<8> a; bit<8> b; }
struct meta_t { bit<8> m; bit<16> hh; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    value_set<bit<16>>(4) vs;
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.etype) { vs: parse_s; default: accept; }
    }
    state parse_s {
        bit<8> peek = pkt.lookahead<bit<8>>();
        meta.m = peek;
        pkt.extract(hdr.s);
        verify(hdr.s.k != 0, error.ParserInvalidArgument);
        transition accept;
    }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    register<bit<8>>(4) reg;
    bit<8> x;
    action set_x() { x = 1; }
    table t { key = { hdr.s.k : exact; } actions = { set_x; NoAction; } default_action = NoAction(); }
    apply {
        bit<8> v;
        reg.read(v, 0);
        hdr.s.r = v;
        hash(meta.hh, HashAlgorithm.crc16, 16w0, { hdr.s.k }, 16w1024);
        bit<8> c;
        switch (hdr.s.k) {
            1: { c = 1; }
            2: { c = 2; }
            default: { c = 3; }
        }
        hdr.s.h = c;
        bit<8> c2;
        switch (hdr.s.k) {
            1: { c2 = 1; }
            2: { c2 = 2; }
        }
        hdr.s.h = c2;
        bit<8> c3;
        switch (t.apply().action_run) {
            set_x: { c3 = 1; }
            default: { c3 = 2; }
        }
        hdr.s.h = c3;
        bit<8> c4;
        switch (hdr.s.k) {
            1: { c4 = 1; }
            default: { exit; }
        }
        hdr.s.h = c4;
        dg_t d;
        d.a = 1;
        digest<dg_t>(1, d);
        if (hdr.s.isValid()) {
            hdr.s.r = hdr.s.r + 1;
        }
        reg.write(1, hdr.s.r);
        sm.egress_spec = 1;
    }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        if (sm.instance_type == 1) { hdr.s.k = meta.m; }
    }
}
control CC(inout headers hdr, inout meta_t meta) {
    apply {
        update_checksum(hdr.s.isValid(), { hdr.s.k, hdr.s.r }, hdr.s.h, HashAlgorithm.csum16);
    }
}
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""

COMMON_WARNINGS = """common.p4(39): [--Wwarn=uninitialized-use] warning: c may be uninitialized
        hdr.s.h = c;
                  ^
common.p4(45): [--Wwarn=uninitialized-use] warning: c2 may be uninitialized
        hdr.s.h = c2;
                  ^^
common.p4(57): [--Wwarn=uninitialized-use] warning: c4 may be uninitialized
        hdr.s.h = c4;
                  ^^
common.p4(60): [--Wwarn=uninitialized-use] warning: d.b may be uninitialized
        digest<dg_t>(1, d);
                        ^"""


# a control's out parameter not set on every path (p4c warns when the control terminates;
# not for a parser's), a sub-parser filling a header, a tuple, a header from a struct value
OUTS_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etype; }
header s_t { bit<8> k; bit<8> r; bit<8> h; }
struct headers { ethernet_t eth; s_t s; }
struct meta_t { bit<8> m; }
parser Sub(packet_in pkt, out s_t s) {
    state start { pkt.extract(s); transition accept; }
}
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Sub() sub;
    state start { pkt.extract(hdr.eth); sub.apply(pkt, hdr.s); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control C(in bit<8> a, out bit<8> b, out bit<8> c) {
    apply {
        if (a == 1) { b = 1; }
        c = 2;
    }
}
bit<8> pick(in bit<8> a) {
    if (a == 1) { return 2; }
    return 3;
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    C() c;
    apply {
        bit<8> o1;
        bit<8> o2;
        c.apply(hdr.s.k, o1, o2);
        hdr.s.r = o1 + o2 + pick(hdr.s.k);
        s_t tmp;
        tmp = { 1, 2, 3 };
        hdr.s = tmp;
        tuple<bit<8>, bit<8>> tp = { 1, 2 };
        hdr.s.k = tp[0];
        sm.egress_spec = 1;
    }
}
control NoEgress(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
"""

OUTS_WARNINGS = """outs.p4(15): [--Wwarn=uninitialized-out-param] warning: out parameter 'b' may be uninitialized when 'C' terminates
control C(in bit<8> a, out bit<8> b, out bit<8> c) {
                                  ^
outs.p4(15)
control C(in bit<8> a, out bit<8> b, out bit<8> c) {
        ^"""


def _run(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess:
    (tmp_path / name).write_text(text)
    return subprocess.run([str(BIN / "pybm-p4c"), "--arch", "v1model", "-o", "x.json", name],
                          capture_output=True, text=True, cwd=tmp_path)


def test_uninitialized_use_and_shadow_warnings_like_p4c(tmp_path: Path):
    r = _run(tmp_path, "defuse.p4", DEFUSE_PROGRAM)
    assert r.returncode == 0, r.stderr
    assert r.stderr.rstrip("\n") == DEFUSE_WARNINGS


def test_flow_of_uninitialized_values_like_p4c(tmp_path: Path):
    r = _run(tmp_path, "flow.p4", FLOW_PROGRAM)
    assert r.returncode == 0, r.stderr
    assert r.stderr.rstrip("\n") == FLOW_WARNINGS


def test_invalid_header_through_table_actions_like_p4c(tmp_path: Path):
    r = _run(tmp_path, "tables.p4", TABLES_PROGRAM)
    assert r.returncode == 0, r.stderr
    assert r.stderr.rstrip("\n") == TABLES_WARNINGS


def test_common_forms_like_p4c(tmp_path: Path):
    r = _run(tmp_path, "common.p4", COMMON_PROGRAM)
    assert r.returncode == 0, r.stderr
    assert r.stderr.rstrip("\n") == COMMON_WARNINGS


def test_control_out_parameters_like_p4c(tmp_path: Path):
    r = _run(tmp_path, "outs.p4", OUTS_PROGRAM)
    assert r.returncode == 0, r.stderr
    assert r.stderr.rstrip("\n") == OUTS_WARNINGS


def test_declaration_shadowing_a_parameter_is_an_error(tmp_path: Path):
    text = DEFUSE_PROGRAM.replace("    action c(inout pair_t p) { p.a = p.b; }",
                                  "    action c(inout pair_t p) { pair_t p = { 1, 2 }; }")
    r = _run(tmp_path, "shadowp.p4", text)
    assert r.returncode == 1
    assert "shadowp.p4:27:39: error: declaration of 'p' shadows a parameter 'p'" in r.stderr


def test_shadowing_a_system_declaration_names_it(tmp_path: Path):
    text = DEFUSE_PROGRAM.replace("    bit<8> e;\n", "    bit<8> e;\n    bit<8> hash = 1;\n")
    r = _run(tmp_path, "sys.p4", text)
    assert r.returncode == 0, r.stderr
    assert "[--Wwarn=shadow] warning: 'hash' shadows 'hash'" in r.stderr
    lines = r.stderr.splitlines()
    i = next(k for k, ln in enumerate(lines) if "'hash' shadows" in ln)
    assert lines[i + 3].endswith(")") and "v1model.p4(" in lines[i + 3]
    assert "extern void hash<" in lines[i + 4]


# out parameters of header type (or structs of headers: p4c checks only what lies outside
# headers, which may be invalid) are not reported when the action, function or control
# ends; the copy-out of an action called from the apply block (or a table) is read later
# (an action called only from another action is inlined into it first: no such read); a
# struct or header read whole is named by its first uninitialized field (one level down),
# a stack read whole "may not be completely initialized". (p4c's warnings without a
# source position, on the temporaries of its inliner, are left out here and by pybm.)
OUT_HEADERS_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header eth_t { bit<48> dst; bit<48> src; bit<16> etype; }
header tag_t { bit<8> k; bit<8> v; }
struct pair_t { bit<8> lo; bit<8> hi; }
struct inner_t { pair_t p; bit<8> z; }
struct headers { eth_t eth; tag_t tag; }
struct meta_t { bit<8> m; inner_t in1; tag_t[2] st; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.tag); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
void keep(out tag_t t) { }
control Fill(out tag_t t) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Fill() fill;
    action clear(out tag_t t) { }
    action part(out headers hs) { hs.tag.setValid(); hs.tag.k = 1; }
    action low(out bit<8> a) { }
    action outer() { low(meta.m); }
    table tb { key = { meta.m : exact; } actions = { part(hdr); NoAction; } }
    apply {
        clear(hdr.tag);
        keep(hdr.tag);
        fill.apply(hdr.tag);
        outer();
        tb.apply();
        inner_t v;
        v.p.lo = 1;
        v.z = 2;
        meta.in1 = v;
        meta.m = v.p.lo;
        meta.in1.p = v.p;
        tag_t[2] s;
        s[0].setValid();
        s[0].k = 1;
        s[0].v = 2;
        meta.st = s;
    }
}
control NoEgress(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
"""

OUT_HEADERS_WARNINGS = """outs2.p4(17): [--Wwarn=unused] warning: 't' is unused
    action clear(out tag_t t) { }
                           ^
outs2.p4(19): [--Wwarn=unused] warning: 'a' is unused
    action low(out bit<8> a) { }
                          ^
outs2.p4(19): [--Wwarn=uninitialized-out-param] warning: out parameter 'a' may be uninitialized when 'low' terminates
    action low(out bit<8> a) { }
                          ^
outs2.p4(19)
    action low(out bit<8> a) { }
           ^^^
outs2.p4(31): [--Wwarn=uninitialized-use] warning: v.p may be uninitialized
        meta.in1 = v;
                   ^
outs2.p4(33): [--Wwarn=uninitialized-use] warning: v.p.hi may be uninitialized
        meta.in1.p = v.p;
                     ^^^
outs2.p4(38): [--Wwarn=uninitialized-use] warning: s may not be completely initialized
        meta.st = s;
                  ^
outs2.p4(17): [--Wwarn=uninitialized-use] warning: t.k may be uninitialized
    action clear(out tag_t t) { }
                           ^
outs2.p4(18): [--Wwarn=uninitialized-use] warning: hs.eth may be uninitialized
    action part(out headers hs) { hs.tag.setValid(); hs.tag.k = 1; }
                            ^^"""


# header validity: a parser's local headers start invalid; a header copy takes the
# source's validity (also element by element, field by field of a struct); a function
# call leaves its arguments as they were, then p4c inlines it and looks again: an out
# header argument is then of unknown validity ('potentially invalid', p4c's later run,
# so after the others), unless the read was a store p4c removed first (hdr.t2 at line 39,
# overwritten at 40); an action's out header parameter starts invalid and is copied out;
# a table's apply leaves the validity as it was before it; variables nothing refers to,
# with initializers free of side effects (isValid aside), are removed before any of this
# (their initializers not checked); the initializers of a control's locals run before its
# local headers are reset: to them those headers are 'potentially invalid'
VALIDITY_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header eth_t { bit<48> dst; bit<48> src; bit<16> etype; }
header tag_t { bit<8> k; bit<8> v; }
struct two_t { tag_t x; tag_t y; }
struct headers { eth_t eth; tag_t tag; tag_t t2; tag_t t3; }
struct meta_t { bit<8> m; bit<8> n; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    tag_t pt;
    state start { meta.n = pt.v; pkt.extract(hdr.eth); pkt.extract(hdr.tag);
        transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
void reset(out tag_t t) { }
void make(out tag_t t) { t.setValid(); t.k = 1; t.v = 1; }
bit<8> pick() {
    tag_t[2] a;
    tag_t[2] b;
    if (b[0].k == 1) {
        a[0] = b[1];
    }
    return a[0].k;
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    tag_t lt;
    bit<8> u1;
    bit<8> u2 = u1;
    bit<8> u3 = u2 + lt.k;
    bit<8> u4 = lt.isValid() ? lt.v : 8w0;
    bit<8> used = lt.k;
    action drop_tag(out tag_t t) { }
    action inv() { hdr.t3.setInvalid(); }
    table tb { key = { meta.m : exact; } actions = { inv; NoAction; } }
    apply {
        meta.m = used;
        reset(hdr.tag);
        hdr.eth.etype = (bit<16>)hdr.tag.v;
        reset(hdr.t2);
        meta.n = hdr.t2.k;
        meta.n = 3;
        tag_t w;
        make(w);
        meta.m = meta.m + w.k;
        two_t s;
        s.x.setValid();
        s.x.k = 1;
        s.x.v = 1;
        two_t s2 = s;
        hdr.t2 = s2.y;
        meta.m = meta.m + s2.x.k + hdr.t2.v;
        drop_tag(hdr.tag);
        meta.m = meta.m + hdr.tag.k;
        tb.apply();
        meta.m = meta.m + hdr.t3.k + pick();
    }
}
control NoEgress(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
"""

VALIDITY_WARNINGS = """valid2.p4(28): [--Wwarn=unused] warning: 'u3' is unused
    bit<8> u3 = u2 + lt.k;
           ^^
valid2.p4(29): [--Wwarn=unused] warning: 'u4' is unused
    bit<8> u4 = lt.isValid() ? lt.v : 8w0;
           ^^
valid2.p4(31): [--Wwarn=unused] warning: 't' is unused
    action drop_tag(out tag_t t) { }
                              ^
valid2.p4(10): [--Wwarn=uninitialized-use] warning: pt.v may be uninitialized
    state start { meta.n = pt.v; pkt.extract(hdr.eth); pkt.extract(hdr.tag);
                           ^^^^
valid2.p4(10): [--Wwarn=invalid-header] warning: accessing a field of an invalid header pt
    state start { meta.n = pt.v; pkt.extract(hdr.eth); pkt.extract(hdr.tag);
                           ^^
valid2.p4(19): [--Wwarn=invalid-header] warning: accessing a field of an invalid header b[0]
    if (b[0].k == 1) {
        ^^^^
valid2.p4(19): [--Wwarn=uninitialized-use] warning: b[0].k may be uninitialized
    if (b[0].k == 1) {
        ^^^^^^
valid2.p4(20): [--Wwarn=uninitialized-use] warning: b[1].k may be uninitialized
        a[0] = b[1];
               ^^^^
valid2.p4(22): [--Wwarn=invalid-header] warning: accessing a field of an invalid header a[0]
    return a[0].k;
           ^^^^
valid2.p4(22): [--Wwarn=uninitialized-use] warning: a[0].k may be uninitialized
    return a[0].k;
           ^^^^^^
valid2.p4(30): [--Wwarn=invalid-header] warning: accessing a field of a potentially invalid header lt
    bit<8> used = lt.k;
                  ^^
valid2.p4(30): [--Wwarn=uninitialized-use] warning: lt.k may be uninitialized
    bit<8> used = lt.k;
                  ^^^^
valid2.p4(43): [--Wwarn=invalid-header] warning: accessing a field of an invalid header w
        meta.m = meta.m + w.k;
                          ^
valid2.p4(48): [--Wwarn=uninitialized-use] warning: s.y may be uninitialized
        two_t s2 = s;
                   ^
valid2.p4(50): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.t2
        meta.m = meta.m + s2.x.k + hdr.t2.v;
                                   ^^^^^^
valid2.p4(52): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.tag
        meta.m = meta.m + hdr.tag.k;
                          ^^^^^^^
valid2.p4(37): [--Wwarn=invalid-header] warning: accessing a field of a potentially invalid header hdr.tag
        hdr.eth.etype = (bit<16>)hdr.tag.v;
                                 ^^^^^^^
valid2.p4(31): [--Wwarn=uninitialized-use] warning: t.k may be uninitialized
    action drop_tag(out tag_t t) { }
                              ^"""


def test_header_out_parameters_and_whole_reads_like_p4c(tmp_path: Path):
    r = _run(tmp_path, "outs2.p4", OUT_HEADERS_PROGRAM)
    assert r.returncode == 0, r.stderr
    assert r.stderr.rstrip("\n") == OUT_HEADERS_WARNINGS


def test_header_validity_through_copies_calls_and_removed_code_like_p4c(tmp_path: Path):
    r = _run(tmp_path, "valid2.p4", VALIDITY_PROGRAM)
    assert r.returncode == 0, r.stderr
    assert r.stderr.rstrip("\n") == VALIDITY_WARNINGS


# isValid() and p4c's def-use: a header whose isValid() was asked is not reported until
# its validity changes or the if (a ternary is an if by then) that asked it ends; a
# called action's body changes the caller's validity only up to its first branch point
# (the end of its first if's then-branch): then_only leaves hdr.e invalid, after_if
# leaves hdr.c as it was, probe leaves hdr.d unreported; a branch that exits still
# counts in the merge after its if
GUARDS_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header tag_t { bit<8> k; bit<8> v; }
struct headers { tag_t a; tag_t b; tag_t c; tag_t d; tag_t e; }
struct meta_t { bit<8> m; bit<8> n; bit<8> k; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.a); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action probe() { meta.k = hdr.d.isValid() ? 8w1 : 8w0; }
    action then_only() { if (meta.m == 1) { hdr.e.setInvalid(); } }
    action after_if() { if (meta.m == 2) { meta.k = 1; } hdr.c.setInvalid(); }
    apply {
        if (meta.m == 3) {
            hdr.a.setInvalid();
            hdr.b.setInvalid();
            hdr.d.setInvalid();
        }
        if (hdr.a.isValid()) {
            meta.n = meta.n + hdr.a.k;
        }
        meta.n = meta.n + hdr.a.v;
        meta.k = hdr.b.isValid() ? hdr.b.k : 8w0;
        meta.n = meta.n + hdr.b.v;
        probe();
        meta.n = meta.n + hdr.d.k;
        then_only();
        meta.n = meta.n + hdr.e.k;
        after_if();
        meta.n = meta.n + hdr.c.k;
        if (meta.k == 4) {
            hdr.c.setInvalid();
            exit;
        }
        meta.n = meta.n + hdr.c.v + hdr.d.v;
    }
}
control NoEgress(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
"""

GUARDS_WARNINGS = """guards.p4(23): [--Wwarn=invalid-header] warning: accessing a field of a potentially invalid header hdr.a
        meta.n = meta.n + hdr.a.v;
                          ^^^^^
guards.p4(25): [--Wwarn=invalid-header] warning: accessing a field of a potentially invalid header hdr.b
        meta.n = meta.n + hdr.b.v;
                          ^^^^^
guards.p4(29): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.e
        meta.n = meta.n + hdr.e.k;
                          ^^^^^
guards.p4(36): [--Wwarn=invalid-header] warning: accessing a field of a potentially invalid header hdr.c
        meta.n = meta.n + hdr.c.v + hdr.d.v;
                          ^^^^^"""


def test_is_valid_guards_and_action_effects_like_p4c(tmp_path: Path):
    r = _run(tmp_path, "guards.p4", GUARDS_PROGRAM)
    assert r.returncode == 0, r.stderr
    assert r.stderr.rstrip("\n") == GUARDS_WARNINGS


# a sub-control's apply: p4c's first run takes its out and inout header arguments as
# valid afterwards and leaves the rest as it was (loc stays invalid); its later run, with
# the sub-control inlined (the parameters replaced by the arguments, an out header one
# reset first), sees what the body does: Drop leaves hdr.b invalid, Keep leaves hdr.c
# invalid, Make makes its out argument valid, Skip leaves hdr.a invalid; hdr.b, whose
# isValid() was asked before, stays unreported through Maybe
SUBCONTROL_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header tag_t { bit<8> k; bit<8> v; }
struct headers { tag_t a; tag_t b; tag_t c; }
struct meta_t { bit<8> m; bit<8> n; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.a); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control Drop(inout tag_t t) { apply { t.setInvalid(); } }
control Keep(inout tag_t t) { apply { } }
control Make(out tag_t t) { apply { t.setValid(); t.k = 1; t.v = 2; } }
control Skip(out tag_t t) { apply { } }
control Maybe(inout tag_t t, in bit<8> x) { apply { if (x == 1) { t.setInvalid(); } } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Drop() drop;
    Keep() keep;
    Make() make;
    Skip() skip;
    Maybe() maybe;
    apply {
        tag_t loc;
        tag_t made;
        keep.apply(hdr.a);
        meta.n = meta.n + loc.k;
        drop.apply(hdr.b);
        meta.n = meta.n + hdr.b.k;
        hdr.c.setInvalid();
        keep.apply(hdr.c);
        meta.n = meta.n + hdr.c.k;
        make.apply(made);
        meta.n = meta.n + made.v;
        skip.apply(hdr.a);
        meta.n = meta.n + hdr.a.v;
        bool seen = hdr.b.isValid();
        hdr.b.setValid();
        meta.m = (bit<8>)(bit<1>)seen;
        bool again = hdr.b.isValid();
        maybe.apply(hdr.b, meta.m);
        meta.n = meta.n + hdr.b.v + (bit<8>)(bit<1>)again;
    }
}
control NoEgress(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), NoEgress(), CC(), DP()) main;
"""

SUBCONTROL_WARNINGS = """subctl.p4(25): [--Wwarn=invalid-header] warning: accessing a field of an invalid header loc
        meta.n = meta.n + loc.k;
                          ^^^
subctl.p4(25): [--Wwarn=uninitialized-use] warning: loc.k may be uninitialized
        meta.n = meta.n + loc.k;
                          ^^^^^
subctl.p4(27): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.b
        meta.n = meta.n + hdr.b.k;
                          ^^^^^
subctl.p4(30): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.c
        meta.n = meta.n + hdr.c.k;
                          ^^^^^
subctl.p4(34): [--Wwarn=invalid-header] warning: accessing a field of an invalid header hdr.a
        meta.n = meta.n + hdr.a.v;
                          ^^^^^"""


def test_header_validity_through_sub_controls_like_p4c(tmp_path: Path):
    r = _run(tmp_path, "subctl.p4", SUBCONTROL_PROGRAM)
    assert r.returncode == 0, r.stderr
    assert r.stderr.rstrip("\n") == SUBCONTROL_WARNINGS
