"""Names hiding a type name, as p4c's lexer and symbol table have them (issue 10).

The expectations were checked against the real p4c-bm2-ss: it accepts what the
tests compile, and refuses the refused programs at the same line (and column
where it prints one).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pybm.p4c.lexer import P4Lexer

from .conftest import V1_SKELETON, program_with_ingress

BIN = Path(sys.executable).parent / "pybm-p4c"


def compile_p4(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    src = tmp_path / "prog.p4"
    src.write_text(text)
    return subprocess.run([str(BIN), "-o", "o.json", src.name], capture_output=True,
                          text=True, cwd=tmp_path)


def errors(r: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in r.stderr.splitlines() if ": error: " in ln]


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.type, str(t)) for t in P4Lexer(text, lambda line, col: None).tokens()
            if t.type in ("IDENTIFIER", "TYPE_IDENTIFIER")]


# ------------------------------------------------------------------ lexer
def test_variable_hides_the_type_name_from_its_semicolon_to_its_scope_end():
    ks = kinds("header h_t { bit<8> a; } control c() { apply { h_t x; { bit<8> h_t = 1; h_t = h_t; } "
               "h_t y; } }")
    assert [k for k, v in ks if v == "h_t"] == [
        "TYPE_IDENTIFIER",                   # header h_t
        "TYPE_IDENTIFIER",                   # h_t x;
        "TYPE_IDENTIFIER",                   # bit<8> h_t: not declared before its ';'
        "IDENTIFIER", "IDENTIFIER",          # h_t = h_t; in its block
        "TYPE_IDENTIFIER",                   # h_t y; after the block
    ]


def test_action_parameters_and_struct_fields_do_not_hide_type_names():
    ks = kinds("header h_t { bit<8> a; } struct s { bit<8> h_t; h_t f; } "
               "control c() { action a(bit<8> h_t) { h_t x; } apply { } }")
    assert [k for k, v in ks if v == "h_t"][1:] == ["TYPE_IDENTIFIER"] * 4


def test_control_and_function_parameters_hide_type_names_in_the_body():
    ks = kinds("header h_t { bit<8> a; } bit<8> f(in bit<8> h_t) { return h_t; } "
               "control c(inout bit<8> h_t)(bit<8> k) { apply { h_t = 1; } }")
    # header h_t, parameter h_t (declared after the list), return h_t, parameter, h_t = 1
    assert [k for k, v in ks if v == "h_t"] == ["TYPE_IDENTIFIER", "TYPE_IDENTIFIER", "IDENTIFIER",
                                                "TYPE_IDENTIFIER", "IDENTIFIER"]


# ------------------------------------------------------------------ accepted programs
ACCEPTED = {
    "local variable": "apply { bit<8> h_t = hdr.h.a; hdr.h.a = h_t + 1; }",
    "control-local variable": "bit<8> h_t; apply { h_t = hdr.h.a; hdr.h.b = h_t + 1; }",
    "local constant": "apply { const bit<8> h_t = 3; hdr.h.b = h_t + 1; }",
    "instance": "counter(1, CounterType.packets) h_t; apply { h_t.count(0); }",
    "variable of the type it hides": "apply { h_t h_t = hdr.h; hdr.h = h_t; }",
    "scope end restores the type": "apply { { bit<8> h_t = hdr.h.a; hdr.h.b = h_t + 1; } "
                                   "h_t x = hdr.h; hdr.h = x; }",
}


@pytest.mark.parametrize("body", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_object_named_like_a_type_compiles(tmp_path: Path, body: str):
    r = compile_p4(tmp_path, program_with_ingress(body))
    assert r.returncode == 0, r.stderr
    assert "'h_t' shadows 'header h_t'" in r.stderr


def test_control_parameter_and_function_parameter_hide_the_type(tmp_path: Path):
    text = V1_SKELETON.replace("struct meta_t { bit<8> m; }", "struct meta_t { bit<8> m; }\n"
                               "bit<8> inc(in bit<8> h_t) { return h_t + 1; }") + """
control IG(inout headers hdr, inout meta_t h_t, inout standard_metadata_t sm) {
    apply { h_t.m = inc(hdr.h.a); }
}
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""
    r = compile_p4(tmp_path, text)
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------ refused programs
def test_hidden_type_name_is_not_a_type_in_the_same_scope(tmp_path: Path):
    text = program_with_ingress("apply {\n bit<8> h_t = 1;\n h_t x;\n}")
    r = compile_p4(tmp_path, text)
    n = line_of(text, " h_t x;")
    assert r.returncode == 1
    assert errors(r) == [f"prog.p4:{n}:6: error: syntax error, unexpected 'x' "
                         "(expected '(', ')', ',', '.', ':', ';', '=', '?')"]


def test_action_parameter_does_not_hide_the_type(tmp_path: Path):
    text = program_with_ingress("action a(bit<8> h_t) { hdr.h.a = h_t + 1; }\n"
                                "table t { actions = { a; } }\napply { t.apply(); }")
    r = compile_p4(tmp_path, text)
    n = line_of(text, "action a(")
    assert r.returncode == 1
    assert errors(r)[0].startswith(f"prog.p4:{n}:38: error: syntax error, unexpected '+'")


def test_constructor_parameter_does_not_hide_the_type(tmp_path: Path):
    text = V1_SKELETON + """control C2(inout bit<8> x)(bit<8> h_t) { apply { x = h_t + x; } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""
    r = compile_p4(tmp_path, text)
    assert r.returncode == 1
    n = line_of(text, "control C2")
    assert errors(r)[0].startswith(f"prog.p4:{n}:58: error: syntax error, unexpected '+'")


def test_top_level_object_named_like_a_type_is_a_redeclaration(tmp_path: Path):
    text = V1_SKELETON + "const bit<8> h_t = 1;\nbit<8> meta_t(in bit<8> x) { return x; }\n" \
        + program_with_ingress("apply { }").replace(V1_SKELETON, "")
    r = compile_p4(tmp_path, text)
    assert r.returncode == 1
    h, m = line_of(text, "header h_t"), line_of(text, "struct meta_t")
    c, f = line_of(text, "const bit<8> h_t"), line_of(text, "bit<8> meta_t(")
    assert errors(r) == [
        f"prog.p4:{c}:14: error: Re-declaration of h_t with different type: prog.p4:{h}:8",
        f"prog.p4:{f}:8: error: Re-declaration of meta_t with different type: prog.p4:{m}:8",
    ]
