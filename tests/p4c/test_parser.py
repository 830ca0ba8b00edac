import pytest

from pybm.p4c import ast
from pybm.p4c.errors import CompileError
from pybm.p4c.lexer import P4Lexer

from .conftest import PRELUDE, parse_text


def kinds(text: str) -> list[str]:
    return [t.type for t in P4Lexer(text, lambda line, col: None).tokens()]


def test_lexer_distinguishes_type_names_and_shifts():
    ks = kinds("header H { bit<8> a; } H x; bit<8> y = a >> 2; register<bit<32>> r;")
    assert "TYPE_IDENTIFIER" in ks
    assert ks.count("SHR") == 1
    # the '>>' closing two type argument lists is two '>' tokens
    assert kinds("register<bit<32>>(4) r;").count(">") == 2


def test_lexer_generic_call_and_comparison():
    assert "TLT" in kinds("x = pkt.lookahead<bit<8>>();")
    assert "TLT" not in kinds("if (a < b) { }")


def test_parse_declarations_and_expressions():
    prog = parse_text(PRELUDE + """
        const bit<16> K = 16w0x10 + 3;
        enum bit<8> Color { RED = 1, GREEN = 2 }
        action a(inout bit<8> x, bit<8> y) { x = y |+| 3 ++ 4w1; }
    """)
    decls = {type(d).__name__ for d in prog.decls}
    assert {"ConstDecl", "EnumDecl", "ActionDecl"} <= decls
    k = next(d for d in prog.decls if isinstance(d, ast.ConstDecl) and d.name == "K")
    assert isinstance(k.value, ast.Binary) and k.value.op == "+"
    assert isinstance(k.value.left, ast.IntLit) and k.value.left.width == 16 and k.value.left.value == 16


def test_parse_parser_select_keysets():
    prog = parse_text(PRELUDE + """
        header h_t { bit<8> a; }
        parser p(packet_in b, out h_t h) {
            state start { b.extract(h); transition select(h.a, h.a) {
                (1, 2): accept; (0x10 &&& 0xf0, _): reject; (3 .. 5, 1): accept; default: reject; } }
        }""")
    p = next(d for d in prog.decls if isinstance(d, ast.ParserDecl))
    sel = p.states[0].transition
    assert isinstance(sel, ast.SelectExpr) and len(sel.cases) == 4
    assert isinstance(sel.cases[1].keyset.items[0], ast.MaskKey)
    assert isinstance(sel.cases[2].keyset.items[0], ast.RangeKey)
    assert isinstance(sel.cases[3].keyset, ast.DefaultKey)


def test_parse_table_properties():
    prog = parse_text(PRELUDE + """
        control c(inout bit<8> x) {
            action a(bit<8> v) { x = v; }
            table t { key = { x: exact @name("k"); } actions = { a; @defaultonly NoAction; }
                      const default_action = NoAction(); size = 16;
                      const entries = { 1: a(2); priority = 5: 2: a(3); } }
            apply { t.apply(); }
        }""")
    c = next(d for d in prog.decls if isinstance(d, ast.ControlDecl))
    t = next(d for d in c.locals if isinstance(d, ast.TableDecl))
    assert [p.name for p in t.properties] == ["key", "actions", "default_action", "size", "entries"]
    assert t.prop("default_action").is_const
    assert t.prop("entries").value[1].priority is not None
    assert t.prop("actions").value[1].annotations[0].name == "defaultonly"


def test_syntax_error_location():
    with pytest.raises(CompileError) as e:
        parse_text("const bit<8> x = 1\nconst bit<8> y = 2;\n", "s.p4")
    assert e.value.loc.file == "s.p4" and e.value.loc.line == 2 and e.value.loc.col == 1
    assert "syntax error" in e.value.message


def test_annotation_bodies():
    prog = parse_text('@name("foo.bar") @id(7) @priority(3) action a() {}')
    a = prog.decls[0]
    assert [x.name for x in a.annotations] == ["name", "id", "priority"]
    assert a.annotations[0].args() == ["foo.bar"] and a.annotations[1].args() == [7]
