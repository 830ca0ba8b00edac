import pytest

from pybm.p4c import ast
from pybm.p4c.constfold import EnumValue
from pybm.p4c.errors import CompileError
from pybm.p4c.types import BitT, BoolT

from .conftest import PRELUDE, check_text, program_with_ingress


def ingress_check(body: str):
    return check_text(program_with_ingress(body))


def test_literal_width_inference_and_folding():
    prog, tc = check_text(PRELUDE + "const bit<8> A = 8w250 + 10;\nconst int<8> B = -3;\nconst bool C = A == 4;\n")
    consts = {d.name: d for d in prog.decls if isinstance(d, ast.ConstDecl)}
    assert consts["A"].const == 4 and consts["A"].value.type == BitT(8)
    assert consts["B"].const == -3
    assert consts["C"].const is True and consts["C"].ptype == BoolT()


def test_enum_and_serializable_enum():
    prog, tc = check_text(PRELUDE + "enum E { X, Y }\nenum bit<4> S { P = 3, Q = 5 }\n"
                          "const E e = E.Y;\nconst bit<4> q = (bit<4>)S.Q;\n")
    consts = {d.name: d for d in prog.decls if isinstance(d, ast.ConstDecl)}
    assert consts["e"].const == EnumValue("E", "Y")
    assert consts["q"].const == 5


def test_well_typed_ingress():
    ingress_check("""
        action set(bit<8> v) { hdr.h.a = v; hdr.h.c = hdr.h.c + (bit<16>)v; }
        table t { key = { hdr.h.a: exact; } actions = { set; NoAction; } }
        apply { if (t.apply().hit) { hdr.h.b = hdr.h.a[3:0] ++ 4w0; } }""")


def test_literal_that_does_not_fit_warns_and_keeps_the_low_bits():
    # p4c-bm2-ss: "[--Wwarn=overflow] warning: 8w300: value does not fit in 8 bits", value 300 & 0xff
    prog, tc = ingress_check("apply { hdr.h.a = 300; hdr.h.b = -1; }")
    assert [(k, m, t) for _, k, m, t in tc.type_warnings] == [
        ("overflow", "8w300: value does not fit in 8 bits", "300"),
        ("mismatch", "-8w1: negative value with unsigned type", "1")]
    ig = next(d for d in prog.decls if isinstance(d, ast.ControlDecl) and d.name == "IG")
    assert [st.rhs.const for st in ig.body.stmts] == [300 & 0xFF, 0xFF]


@pytest.mark.parametrize("body,message", [
    ("apply { hdr.h.a = hdr.h.c; }", "cannot use a value of type 'bit<16>'"),
    ("apply { hdr.h.zz = 1; }", "has no field 'zz'"),
    ("apply { undefined_x = 1; }", "not declared"),
    ("apply { if (hdr.h.a) { } }", "condition must be bool"),
    ("apply { hdr.h.a = hdr.h.a / hdr.h.b; }", "division"),
    ("action a(bit<8> x) { x = 1; } apply { }", "read-only"),
    ("apply { hdr.h.b = hdr.h.a[8:0]; }", "invalid slice"),
    ("table t { key = { hdr.h.a: fuzzy; } actions = { NoAction; } } apply { t.apply(); }", "unknown match kind"),
])
def test_type_errors(body: str, message: str):
    with pytest.raises(CompileError) as e:
        ingress_check(body)
    assert message in e.value.message
    assert e.value.loc.line > 0


def test_package_argument_mismatch_is_reported():
    text = program_with_ingress("apply { }").replace("V1Switch(P(), VC(), IG()", "V1Switch(P(), VC(), EG(), IG()")
    text = text.replace("control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm)",
                        "control EG(inout headers hdr, inout meta_t meta)")
    with pytest.raises(CompileError):
        check_text(text)


def test_function_must_return():
    with pytest.raises(CompileError) as e:
        check_text(PRELUDE + "bit<8> f(in bit<8> x) { if (x == 1) { return 2; } }\n")
    assert "does not return" in e.value.message
