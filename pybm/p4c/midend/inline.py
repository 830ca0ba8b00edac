"""Instantiation and inlining support: frames binding declarations to storage.

p4c's BMv2 back end inlines every sub-parser, sub-control, action call and
function into the six v1model blocks. pybm does the same while lowering: each
invocation gets a Frame that maps the callee's parameters, locals and
instances (by declaration identity) to Locations. 'out'/'inout' arguments are
bound to the caller's storage (copy-in/copy-out without the copies) unless
the callee could reach that storage another way, in which case lowering
copies them (lower_calls.bind_params); 'in' arguments are copied
into fresh temporaries when the callee may modify them or when evaluating
them later could observe a different value.
"""
from __future__ import annotations

from typing import Any

from .. import ast
from ..errors import CompileError
from ..types import (
    BitT,
    BoolT,
    EnumT,
    ErrorT,
    IntT,
    NewT,
    StackT,
    StructT,
    TupleT,
    VarbitT,
    strip_newtype,
)
from .locations import FieldLoc, HeaderLoc, Loc, StackLoc, StructLoc, UnionLoc


class Frame:
    """One activation: a parser/control instance, an action or a function call."""

    def __init__(self, parent: Frame | None, prefix: str, kind: str) -> None:
        self.parent = parent
        self.prefix = prefix  # dotted name prefix for objects declared here
        self.kind = kind
        self.env: dict[int, Loc] = {}
        self.decls: dict[int, Any] = {}

    def bind(self, decl: Any, loc: Loc) -> None:
        self.env[id(decl)] = loc
        self.decls[id(decl)] = decl

    def lookup(self, decl: Any) -> Loc | None:
        f: Frame | None = self
        key = id(decl)
        while f is not None:
            if key in f.env:
                return f.env[key]
            f = f.parent
        return None

    def qualify(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name


class Allocator:
    """Creates storage for variables of any type in a Layout."""

    def __init__(self, layout) -> None:
        self.layout = layout

    def alloc(self, t, name: str, metadata: bool = False, loc=None) -> Loc:
        b = strip_newtype(t)
        if isinstance(b, (BitT, BoolT, EnumT, ErrorT)):
            w = 1 if isinstance(b, BoolT) else (32 if isinstance(b, ErrorT) else
                                                 (b.repr.width if isinstance(b, EnumT) and b.repr
                                                  else 32 if isinstance(b, EnumT) else b.width))
            signed = isinstance(b, BitT) and b.signed
            return FieldLoc("scalars", self.layout.new_scalar(name, w, signed), t)
        if isinstance(b, IntT):
            raise CompileError(loc, f"variable '{name}' of type 'int' needs a fixed width")
        if isinstance(b, VarbitT):
            return FieldLoc(self.layout.new_varbit_var(name, b), "field", t)
        if isinstance(b, StructT):
            if b.kind == "header":
                return HeaderLoc(self.layout.new_header(name, b, metadata), b)
            if b.kind == "header_union":
                return self.alloc_union(b, name)
            sl = StructLoc(b)
            for fn, ft, _ in b.fields:
                sub = strip_newtype(ft)
                child = fn if (isinstance(sub, StructT) and sub.kind != "struct") or isinstance(sub, StackT) \
                    else f"{name}.{fn}"
                sl.fields[fn] = self.alloc(ft, child if not isinstance(sub, StructT) or sub.kind != "struct"
                                           else f"{name}.{fn}", metadata, loc)
            return sl
        if isinstance(b, StackT):
            return self.alloc_stack(b, name)
        if isinstance(b, TupleT):
            tl = StructLoc(b)
            for i, et in enumerate(b.elems):
                tl.fields[f"f{i}"] = self.alloc(et, f"{name}.f{i}", metadata, loc)
            return tl
        raise CompileError(loc, f"cannot allocate storage for a value of type '{t}'")

    def alloc_union(self, st: StructT, name: str) -> UnionLoc:
        uname = self.layout.fresh(name)
        utype = self.layout.union_type_for(st)
        ul = UnionLoc(uname, st)
        hdrs = []
        for fn, ft, _ in st.fields:
            hname = self.layout.new_header(f"{uname}.{fn}", ft)
            ul.members[fn] = HeaderLoc(hname, ft, union=uname)
            hdrs.append(hname)
        self.layout.unions.append({"name": uname, "id": len(self.layout.unions),
                                   "union_type": utype, "header_ids": [], "_headers": hdrs})
        return ul

    def alloc_stack(self, st: StackT, name: str) -> StackLoc:
        sname = self.layout.fresh(name)
        elem = st.elem
        sl = StackLoc(sname, st)
        if isinstance(elem, StructT) and elem.kind == "header_union":
            sl.union_stack = True
            names = []
            for i in range(st.size):
                u = self.alloc_union(elem, f"{sname}[{i}]")
                sl.elems.append(u)
                names.append(u.inst)
            self.layout.union_stacks.append({"name": sname, "id": len(self.layout.union_stacks),
                                             "union_type": self.layout.union_type_for(elem),
                                             "size": st.size, "_unions": names})
        else:
            names = []
            for i in range(st.size):
                h = self.layout.new_header(f"{sname}[{i}]", elem)
                sl.elems.append(HeaderLoc(h, elem))
                names.append(h)
            self.layout.stacks.append({"name": sname, "id": len(self.layout.stacks),
                                       "header_type": self.layout.header_type_for(elem),
                                       "size": st.size, "_headers": names})
        return sl


def assigned_names(node: Any, out: set[int] | None = None) -> set[int]:
    """ids of declarations that a statement tree may write (assignments, out args)."""
    if out is None:
        out = set()
    if isinstance(node, ast.AssignStmt):
        _root_decl(node.lhs, out)
    elif isinstance(node, ast.CallStmt):
        assigned_names(node.call, out)
    elif isinstance(node, ast.Call):
        for p, a in getattr(node, "bound", []):
            if a is not None and p is not None and p.direction in ("out", "inout"):
                _root_decl(a, out)
        if getattr(node, "kind", "") == "builtin" and isinstance(node.func, ast.Member):
            _root_decl(node.func.expr, out)
    if isinstance(node, ast.Node):
        for v in vars(node).values():
            if isinstance(v, ast.Node):
                assigned_names(v, out)
            elif isinstance(v, list):
                for x in v:
                    if isinstance(x, ast.Node):
                        assigned_names(x, out)
    return out


def _root_decl(e: ast.Expr, out: set[int]) -> None:
    while isinstance(e, (ast.Member, ast.Index, ast.Slice)):
        e = e.expr
    if isinstance(e, ast.PathExpr) and hasattr(e, "ref"):
        out.add(id(e.ref))


__all__ = ["Frame", "Allocator", "assigned_names", "NewT"]
