from pybm.p4c import ast
from pybm.p4c.backend.layout import Layout
from pybm.p4c.midend.inline import Allocator, Frame, assigned_names
from pybm.p4c.midend.locations import FieldLoc, HeaderLoc, StackLoc, StructLoc, UnionLoc
from pybm.p4c.types import BitT, BoolT, StackT, StructT

from .conftest import check_text, program_with_ingress


def test_frames_chain_and_qualify():
    g = Frame(None, "", "global")
    c = Frame(g, "ingress.c", "control")
    d1, d2 = object(), object()
    loc = FieldLoc("scalars", "x", BitT(8))
    g.bind(d1, loc)
    assert c.lookup(d1) is loc and c.lookup(d2) is None
    assert c.qualify("t") == "ingress.c.t" and g.qualify("t") == "t"


def test_allocator_lays_out_every_kind_of_storage():
    lay = Layout()
    alloc = Allocator(lay)
    h = StructT("header", "h_t", [("a", BitT(8), []), ("b", BitT(4), [])])
    u = StructT("header_union", "u_t", [("h", h, [])])
    s = StructT("struct", "s_t", [("flag", BoolT(), []), ("hh", h, []), ("st", StackT(h, 2), [])])
    assert isinstance(alloc.alloc(BitT(8), "x"), FieldLoc)
    b = alloc.alloc(BoolT(), "x")  # same base name: made unique
    assert b.field == "x_0" and lay.scalars[-1] == ["x_0", 1, False]
    sl = alloc.alloc(s, "meta")
    assert isinstance(sl, StructLoc)
    assert isinstance(sl.fields["hh"], HeaderLoc) and isinstance(sl.fields["st"], StackLoc)
    assert [e.inst for e in sl.fields["st"].elems] == ["st[0]", "st[1]"]
    ul = alloc.alloc(u, "u")
    assert isinstance(ul, UnionLoc) and ul.members["h"].union == "u"
    assert [ht.name for ht in lay.header_types] == ["h_t"]  # one header type per struct type


def test_assigned_names_sees_assignments_and_out_arguments():
    prog, _ = check_text(program_with_ingress("""
        action a(inout bit<8> v) { v = 1; }
        apply { bit<8> x = 0; bit<8> y = 1; a(x); hdr.h.a = y; }"""))
    ig = next(d for d in prog.decls if isinstance(d, ast.ControlDecl) and d.name == "IG")
    written = assigned_names(ig.body)
    decls = {d.name: d for d in ig.body.stmts if isinstance(d, ast.VarDecl)}
    assert id(decls["x"]) in written      # passed to an inout parameter
    assert id(decls["y"]) not in written  # only read after its declaration
