"""Lowering of expressions and straight-line statements to BMv2 primitives.

Used for action bodies, the code p4c puts into dummy tables (tbl_*), parser
state bodies and conditions. Function and action calls are inlined here;
if/else, return and exit inside them become _jump_if_zero/_jump/exit
primitives (BMv2 actions may jump, as p4c-bm2-ss emits them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import ast
from ..constfold import EnumValue, ErrorValue
from ..errors import CompileError
from ..midend.inline import Frame
from ..midend.locations import (
    ConstLoc,
    DynElemLoc,
    ExprLoc,
    ExternLoc,
    FieldLoc,
    HeaderLoc,
    InstanceLoc,
    Loc,
    PacketLoc,
    RuntimeDataLoc,
    StackLoc,
    StructLoc,
    TableLoc,
    UnionLoc,
)
from ..types import (
    BitT,
    BoolT,
    EnumT,
    ErrorT,
    ObjectT,
    StackT,
    StructT,
    TupleT,
    VarbitT,
    strip_newtype,
)
from . import jsonexpr as J
from .lower_assign import AssignLowerer, _has_side_effects, _lhs_has_runtime_index, _walk  # noqa: F401
from .lower_calls import CallLowerer


class Label:
    __slots__ = ("index",)

    def __init__(self) -> None:
        self.index: int | None = None


@dataclass
class Body:
    """Primitives being built for one action (or parser state)."""
    prims: list[dict] = field(default_factory=list)
    in_parser: bool = False
    ret_label: Label | None = None  # where 'return' jumps
    ret_loc: Loc | None = None  # where a function's return value goes
    loops: list = field(default_factory=list)  # (continue label, break label) of enclosing loops
    labels: list[Label] = field(default_factory=list)
    # copy-outs of the inlined calls being lowered (innermost last): an exit inside
    # them still copies their out/inout temporaries back, as P4's copy-out says
    exit_copies: list = field(default_factory=list)
    end_label: Label | None = None  # the end of the primitives: BMv2 runs the rest of an action after 'exit'

    def emit(self, prim: dict) -> None:
        self.prims.append(prim)

    def place(self, label: Label) -> None:
        label.index = len(self.prims)
        self.labels.append(label)

    def finish(self) -> list[dict]:
        if self.end_label is not None:
            # a jump to the end as the last primitive is no jump at all
            while self.prims and any(isinstance(prm, dict) and prm.get("_label") is self.end_label
                                     for prm in self.prims[-1].get("parameters", [])):
                self.prims.pop()
            n = len(self.prims)
            self.end_label.index = n
            for lab in self.labels:
                if lab.index is not None and lab.index > n:
                    lab.index = n
        for p in self.prims:
            for prm in p.get("parameters", []):
                lab = prm.get("_label") if isinstance(prm, dict) else None
                if lab is not None:
                    prm.pop("_label")
                    prm["value"] = J.hexval(lab.index)
        return self.prims


class Lowerer(CallLowerer, AssignLowerer):
    def __init__(self, prog) -> None:
        self.prog = prog  # ProgramBuilder
        self.layout = prog.layout
        self.alloc = prog.alloc

    # ------------------------------------------------------------------ source info
    def prim(self, name: str, params: list, node: ast.Node | None = None) -> dict:
        p: dict = {"op": name, "parameters": params}
        si = self.prog.source_info(node)
        if si:
            p["source_info"] = si
        return p

    # ------------------------------------------------------------------ constants
    def const_json(self, v: Any, t, loc=None) -> tuple[dict, bool]:
        t = strip_newtype(t)
        if isinstance(v, bool):
            return J.boolean(v), True
        if isinstance(v, EnumValue):
            et = t if isinstance(t, EnumT) else None
            if et is None:
                et = self.prog.tc.globals.lookup_type(v.enum)
            et = strip_newtype(et)
            if et.repr is not None:
                return J.hexstr(et.values[v.member] & ((1 << et.repr.width) - 1), et.repr.width), False
            return J.hexstr(et.members.index(v.member), 32), False
        if isinstance(v, ErrorValue):
            return J.hexstr(self.prog.error_code(v.name), 32), False
        if isinstance(v, int):
            if isinstance(t, BitT):
                if t.signed:
                    return J.hexstr(v, t.width), False
                return J.hexstr(v & ((1 << t.width) - 1), t.width), False
            return J.hexstr(v), False
        raise CompileError(loc, f"unsupported constant {v!r}")

    # ------------------------------------------------------------------ reading locations
    def read_loc(self, loc: Loc, node=None) -> tuple[dict, bool]:
        if isinstance(loc, FieldLoc):
            return loc.json(), False
        if isinstance(loc, ConstLoc):
            return self.const_json(loc.value, loc.ptype, getattr(node, "loc", None))
        if isinstance(loc, ExprLoc):
            return loc.expr, loc.is_bool
        if isinstance(loc, RuntimeDataLoc):
            return {"type": "runtime_data", "value": loc.index}, False
        raise CompileError(getattr(node, "loc", None), "this value cannot be used in an expression here")

    def as_data(self, j: dict, is_bool: bool) -> dict:
        if is_bool:
            if j.get("type") == "bool":
                return J.hexstr(1 if j["value"] else 0, 1)
            return J.b2d(j)
        return j

    def as_bool(self, j: dict, is_bool: bool) -> dict:
        if is_bool:
            return j
        if j.get("type") == "hexstr":
            return J.boolean(int(j["value"], 16) != 0)
        return J.d2b(j)

    # ------------------------------------------------------------------ expressions
    def data(self, e: ast.Expr, fr: Frame, body: Body) -> dict:
        j, b = self.rvalue(e, fr, body)
        return self.as_data(j, b)

    def cond(self, e: ast.Expr, fr: Frame, body: Body) -> dict:
        j, b = self.rvalue(e, fr, body)
        return self.as_bool(j, b)

    def rvalue(self, e: ast.Expr, fr: Frame, body: Body) -> tuple[dict, bool]:
        c = getattr(e, "const", None)
        if c is not None and not isinstance(e, ast.Call):
            return self.const_json(c, e.type, e.loc)
        m = getattr(self, "_r_" + type(e).__name__, None)
        if m is None:
            raise CompileError(e.loc, f"unsupported expression in this context: {type(e).__name__}")
        return m(e, fr, body)

    def _r_PathExpr(self, e: ast.PathExpr, fr: Frame, body: Body) -> tuple[dict, bool]:
        return self.read_loc(self.lvalue(e, fr, body), e)

    def _r_Member(self, e: ast.Member, fr: Frame, body: Body) -> tuple[dict, bool]:
        st = strip_newtype(e.expr.type)
        if isinstance(st, StackT) and e.name in ("lastIndex", "nextIndex"):
            if e.name == "nextIndex":
                raise CompileError(e.loc, "unsupported by pybm-p4c: nextIndex (BMv2 has no expression for it)")
            sl = self.lvalue(e.expr, fr, body)
            return {"type": "expression", "value": {"op": "last_stack_index", "left": None,
                                                    "right": {"type": "header_stack", "value": sl.inst}}}, False
        return self.read_loc(self.lvalue(e, fr, body), e)

    def _r_Index(self, e: ast.Index, fr: Frame, body: Body) -> tuple[dict, bool]:
        return self.read_loc(self.lvalue(e, fr, body), e)

    def _r_Slice(self, e: ast.Slice, fr: Frame, body: Body) -> tuple[dict, bool]:
        v = self.data(e.expr, fr, body)
        hi, lo = e.hi_value, e.lo_value
        w = hi - lo + 1
        if lo:
            v = J.op(">>", v, J.hexstr(lo))
        return J.mask_unsigned(v, w), False

    def _wrap(self, j: dict, t) -> dict:
        t = strip_newtype(t)
        if isinstance(t, BitT):
            return J.two_comp(j, t.width) if t.signed else J.mask_unsigned(j, t.width)
        return j

    def _r_Unary(self, e: ast.Unary, fr: Frame, body: Body) -> tuple[dict, bool]:
        if e.op == "!":
            return J.op("not", None, self.cond(e.expr, fr, body)), True
        v = self.data(e.expr, fr, body)
        if e.op == "+":
            return v, False
        if e.op == "-":
            return self._wrap(J.op("-", J.hexstr(0), v), e.type), False
        return self._wrap(J.op("~", None, v), e.type), False

    def _r_Binary(self, e: ast.Binary, fr: Frame, body: Body) -> tuple[dict, bool]:
        op = e.op
        if op in ("&&", "||"):
            if _has_side_effects(e.right) and not body.in_parser:
                return self._short_circuit(e, fr, body)
            a = self.cond(e.left, fr, body)
            b = self.cond(e.right, fr, body)
            return J.op("and" if op == "&&" else "or", a, b), True
        t = strip_newtype(e.type)
        lt = strip_newtype(e.left.type)
        if _has_side_effects(e.right) and not body.in_parser and not isinstance(lt, (StructT, StackT, TupleT)):
            # the left operand is evaluated before the call on the right can change it
            e = ast.Binary(e.op, self.snapshot(e.left, fr, body), e.right, loc=e.loc, type=e.type)
        if op in ("==", "!="):
            if isinstance(lt, StructT) or isinstance(lt, StackT) or isinstance(lt, TupleT):
                return self._aggregate_eq(e, fr, body)
            lj, lb = self.rvalue(e.left, fr, body)
            rj, rb = self.rvalue(e.right, fr, body)
            if lb or rb:
                return J.op(op, self.as_bool(lj, lb), self.as_bool(rj, rb)), True
            return J.op(op, lj, rj), True
        a = self.data(e.left, fr, body)
        b = self.data(e.right, fr, body)
        if op in ("<", ">", "<=", ">="):
            return J.op(op, a, b), True
        if op == "++":
            rw = strip_newtype(e.right.type).width
            return self._wrap(J.op("|", J.op("<<", a, J.hexstr(rw)), b), t), False
        if op in ("|+|", "|-|"):
            inner = J.op("+" if op == "|+|" else "-", a, b)
            return J.op("sat_cast" if t.signed else "usat_cast", inner, J.hexstr(t.width)), False
        if op in ("/", "%") and getattr(e.left, "const", None) == 0:
            return J.hexstr(0, t.width), False  # 0 / x and 0 % x (x was evaluated above)
        if op == "/":
            rv = getattr(e.right, "const", None)
            return self._wrap(J.op(">>", a, J.hexstr(rv.bit_length() - 1)), t), False
        if op == "%":
            rv = getattr(e.right, "const", None)
            return J.op("&", a, J.hexstr(rv - 1, t.width)), False
        if op in ("&", "|", "^"):
            return J.op(op, a, b), False
        if op == ">>":
            if isinstance(t, BitT) and t.signed:
                return J.op(">>", a, b), False
            return J.op(">>", a, b), False
        return self._wrap(J.op(op, a, b), t), False

    def snapshot(self, e: ast.Expr, fr: Frame, body: Body) -> ast.Expr:
        """Copy the current value of e into a temporary; returns an expression reading it."""
        if getattr(e, "const", None) is not None:
            return e
        tmp = self.alloc.alloc(e.type, "tmp", loc=e.loc)
        self.assign(tmp, e, fr, body, e)
        ref = ast.PathExpr(tmp.field, loc=e.loc, type=e.type)
        marker = ast.VarDecl(tmp.field, ast.SimpleTypeRef("bool"))
        ref.ref = marker
        fr.bind(marker, tmp)
        return ref

    def _aggregate_eq(self, e: ast.Binary, fr: Frame, body: Body) -> tuple[dict, bool]:
        la = self.lvalue(e.left, fr, body)
        ra = self.lvalue(e.right, fr, body)
        res = self._loc_eq(la, ra, e)
        if e.op == "!=":
            res = J.op("not", None, res)
        return res, True

    def _loc_eq(self, a: Loc, b: Loc, node) -> dict:
        if isinstance(a, HeaderLoc) and isinstance(b, HeaderLoc):
            va = J.d2b(a.field("$valid$").json())
            vb = J.d2b(b.field("$valid$").json())
            both_valid = J.op("and", va, vb)
            eqs = None
            for fa, fb in zip(a.leaves(), b.leaves()):  # a varbit compares as BMv2's '==' of varbits
                x = J.op("==", fa.json(), fb.json())
                eqs = x if eqs is None else J.op("and", eqs, x)
            both_invalid = J.op("and", J.op("not", None, va), J.op("not", None, vb))
            return J.op("or", both_invalid, J.op("and", both_valid, eqs) if eqs else both_valid)
        if isinstance(a, StructLoc) and isinstance(b, StructLoc):
            res = None
            for fn in a.fields:
                x = self._loc_eq(a.fields[fn], b.fields[fn], node)
                res = x if res is None else J.op("and", res, x)
            return res or J.boolean(True)
        if isinstance(a, StackLoc) and isinstance(b, StackLoc):
            res = None
            for x1, x2 in zip(a.elems, b.elems):
                x = self._loc_eq(x1, x2, node)
                res = x if res is None else J.op("and", res, x)
            return res
        if isinstance(a, UnionLoc) and isinstance(b, UnionLoc):
            res = None
            for fn in a.members:
                x = self._loc_eq(a.members[fn], b.members[fn], node)
                res = x if res is None else J.op("and", res, x)
            return res
        ja, _ = self.read_loc(a, node)
        jb, _ = self.read_loc(b, node)
        return J.op("==", ja, jb)

    def _short_circuit(self, e: ast.Binary, fr: Frame, body: Body) -> tuple[dict, bool]:
        tmp = self.alloc.alloc(BoolT(), "tmp", loc=e.loc)
        self.assign_scalar(tmp, self.cond(e.left, fr, body), True, body, e)
        skip = Label()
        test = J.d2b(tmp.json())
        if e.op == "||":
            test = J.op("not", None, test)
        body.emit(self.prim("_jump_if_zero", [J.param(J.b2d(test)), {"type": "hexstr", "_label": skip}], e))
        self.assign_scalar(tmp, self.cond(e.right, fr, body), True, body, e)
        body.place(skip)
        return J.d2b(tmp.json()), True

    def _r_Ternary(self, e: ast.Ternary, fr: Frame, body: Body) -> tuple[dict, bool]:
        if (_has_side_effects(e.then) or _has_side_effects(e.other)) and not body.in_parser:
            t = e.type
            tmp = self.alloc.alloc(t, "tmp", loc=e.loc)
            els, end = Label(), Label()
            c = self.cond(e.cond, fr, body)
            body.emit(self.prim("_jump_if_zero", [J.param(J.b2d(c)), {"type": "hexstr", "_label": els}], e))
            self.assign(tmp, e.then, fr, body, e)
            body.emit(self.prim("_jump", [{"type": "hexstr", "_label": end}], e))
            body.place(els)
            self.assign(tmp, e.other, fr, body, e)
            body.place(end)
            return self.read_loc(tmp, e)
        c = self.cond(e.cond, fr, body)
        if isinstance(strip_newtype(e.type), BoolT):
            a = self.cond(e.then, fr, body)
            b = self.cond(e.other, fr, body)
            return J.ternary(c, a, b), True
        a = self.data(e.then, fr, body)
        b = self.data(e.other, fr, body)
        return J.ternary(c, a, b), False

    def _r_Cast(self, e: ast.Cast, fr: Frame, body: Body) -> tuple[dict, bool]:
        dst = strip_newtype(e.type)
        src = strip_newtype(e.expr.type)
        j, b = self.rvalue(e.expr, fr, body)
        if isinstance(dst, BoolT):
            return self.as_bool(j, b), True
        if isinstance(dst, BitT):
            j = self.as_data(j, b)
            if isinstance(src, BitT):
                if src.width > dst.width or src.signed != dst.signed:
                    return self._wrap(j, dst), False
                return j, False
            return self._wrap(j, dst), False
        return j, b

    def _r_Call(self, e: ast.Call, fr: Frame, body: Body) -> tuple[dict, bool]:
        if getattr(e, "kind", "") == "builtin" and e.method == "isValid":
            loc = self.lvalue(e.func.expr, fr, body)
            return self.valid_expr(loc, e), True
        if getattr(e, "kind", "") == "table_apply":
            raise CompileError(e.loc, "unsupported by pybm-p4c: table apply inside an expression "
                               "(use it directly in an if or switch)")
        res = self.call(e, fr, body, want_result=True)
        if res is None:
            raise CompileError(e.loc, "call does not produce a value")
        return self.read_loc(res, e)

    def valid_expr(self, loc: Loc, node) -> dict:
        if isinstance(loc, HeaderLoc):
            return J.d2b(loc.field("$valid$").json())
        if isinstance(loc, UnionLoc):
            return {"type": "expression", "value": {"op": "valid_union", "left": None,
                                                    "right": {"type": "header_union", "value": loc.inst}}}
        if isinstance(loc, DynElemLoc):
            return J.op("valid", None, self.dyn_header(loc))
        raise CompileError(getattr(node, "loc", None), "isValid() of something that is not a header")

    def dyn_header(self, loc: DynElemLoc) -> dict:
        return {"type": "expression", "value": {"op": "dereference_header_stack",
                                                "left": {"type": "header_stack", "value": loc.stack.inst},
                                                "right": loc.index}}

    def _r_ListExpr(self, e: ast.ListExpr, fr: Frame, body: Body) -> tuple[dict, bool]:
        raise CompileError(e.loc, "a list expression cannot be used as a value here")

    def _r_StructInit(self, e: ast.StructInit, fr: Frame, body: Body) -> tuple[dict, bool]:
        raise CompileError(e.loc, "a structure initializer cannot be used as a value here")

    # ------------------------------------------------------------------ lvalues / locations
    def lvalue(self, e: ast.Expr, fr: Frame, body: Body) -> Loc:
        if isinstance(e, ast.PathExpr):
            d = getattr(e, "ref", None)
            loc = fr.lookup(d)
            if loc is None:
                c = getattr(e, "const", None)
                if c is not None:
                    return ConstLoc(c, e.type)
                if isinstance(d, ast.ConstDecl):
                    return self.const_aggregate(d, fr, body)
                if isinstance(d, ast.TableDecl):
                    raise CompileError(e.loc, f"table '{d.name}' used as a value")
                raise CompileError(e.loc, f"'{e.name}' has no storage here (internal binding missing)")
            return loc
        if isinstance(e, ast.Member):
            base = self.lvalue(e.expr, fr, body)
            if isinstance(base, HeaderLoc):
                if base.ptype.field_type(e.name) is None:
                    raise CompileError(e.loc, f"no field '{e.name}'")
                return base.field(e.name)
            if isinstance(base, StructLoc):
                return base.fields[e.name]
            if isinstance(base, UnionLoc):
                return base.members[e.name]
            if isinstance(base, StackLoc):
                if e.name == "next":
                    raise CompileError(e.loc, "'next' is only supported in extract() calls of parsers")
                if e.name == "last":
                    idx = {"type": "expression", "value": {"op": "last_stack_index", "left": None,
                                                           "right": {"type": "header_stack", "value": base.inst}}}
                    return DynElemLoc(base, idx, base.ptype.elem)
                if e.name == "size":
                    return ConstLoc(base.ptype.size, BitT(32))
            if isinstance(base, DynElemLoc):
                ft = strip_newtype(base.stack.ptype.elem).field_type(e.name)
                if ft is None:
                    raise CompileError(e.loc, f"no field '{e.name}'")
                fj = {"type": "expression", "value": {"op": "access_field", "left": self.dyn_header(base),
                                                        "right": self._field_index(base.stack.ptype.elem, e.name)}}
                return ExprLoc(fj, ft)
            if isinstance(base, ConstLoc) and isinstance(base.value, dict):
                return ConstLoc(base.value[e.name], e.type)
            raise CompileError(e.loc, f"cannot access member '{e.name}' here")
        if isinstance(e, ast.Index):
            base = self.lvalue(e.expr, fr, body)
            if isinstance(base, StructLoc) and isinstance(strip_newtype(base.ptype), TupleT):
                return base.fields[f"f{e.index.const}"]
            if isinstance(base, StackLoc):
                c = getattr(e.index, "const", None)
                if isinstance(c, int):
                    return base.elems[c]
                idx = self.data(e.index, fr, body)
                return DynElemLoc(base, idx, base.ptype.elem)
            raise CompileError(e.loc, "cannot index this value")
        if isinstance(e, ast.Slice):
            raise CompileError(e.loc, "unsupported by pybm-p4c: a slice used as a location here")
        if isinstance(e, ast.DontCare) and e.type is not None:  # '_' for an extern's out argument
            return self.alloc.alloc(e.type, "arg", loc=e.loc)
        if isinstance(e, ast.Call):
            loc = self.call(e, fr, body, want_result=True)
            if loc is None:
                raise CompileError(e.loc, "call does not produce a value")
            return loc
        if isinstance(e, ast.Cast) and isinstance(e.expr, (ast.StructInit, ast.ListExpr)):
            return self.materialize(e.expr, e.type, fr, body)
        if isinstance(e, (ast.StructInit, ast.ListExpr)) and isinstance(strip_newtype(e.type), (StructT, StackT)):
            return self.materialize(e, e.type, fr, body)
        j, b = self.rvalue(e, fr, body)
        return ExprLoc(j, e.type, b)

    def _field_index(self, st, name: str) -> int:
        for i, (fn, _, _) in enumerate(strip_newtype(st).fields):
            if fn == name:
                return i
        raise KeyError(name)

    def const_aggregate(self, d: ast.ConstDecl, fr: Frame, body: Body) -> Loc:
        key = ("const", id(d))
        loc = self.prog.const_storage.get(key)
        if loc is None:
            loc = self.materialize(d.value, d.ptype, fr, body)
            # constant aggregates are materialized where used (cheap and simple)
        return loc

    def materialize(self, e: ast.Expr, t, fr: Frame, body: Body) -> Loc:
        loc = self.alloc.alloc(t, "tmp", loc=e.loc)
        self.assign(loc, e, fr, body, e)
        return loc

    # ------------------------------------------------------------------ assignment
    def assign_scalar(self, dst: Loc, src: dict, src_bool: bool, body: Body, node) -> None:
        if isinstance(dst, FieldLoc):
            op = "set" if body.in_parser else "assign"
            body.emit(self.prim(op, [dst.json(), J.param(self.as_data(src, src_bool))], node))
            return
        if isinstance(dst, ExprLoc) and dst.expr.get("value", {}).get("op") == "access_field":
            body.emit(self.prim("assign", [J.param(dst.expr), J.param(self.as_data(src, src_bool))], node))
            return
        raise CompileError(getattr(node, "loc", None), "cannot assign to this location")

    def assign(self, dst: Loc, e: ast.Expr, fr: Frame, body: Body, node) -> None:
        """dst = e, for any type."""
        t = strip_newtype(dst.ptype) if dst.ptype is not None else None
        if isinstance(dst, (HeaderLoc, StructLoc, StackLoc, UnionLoc, DynElemLoc)) or isinstance(t, (StructT, StackT)):
            if isinstance(e, (ast.StructInit, ast.ListExpr)) or (
                    isinstance(e, ast.Cast) and isinstance(e.expr, (ast.StructInit, ast.ListExpr))):
                self.assign_initializer(dst, e.expr if isinstance(e, ast.Cast) else e, fr, body, node)
                return
            src = self.lvalue(e, fr, body)
            self.copy_loc(dst, src, body, node)
            return
        if isinstance(t, VarbitT):
            src = self.lvalue(e, fr, body)
            body.emit(self.prim("assign_VL", [dst.json(), src.json()], node))
            return
        j, b = self.rvalue(e, fr, body)
        self.assign_scalar(dst, j, b, body, node)

    def copy_loc(self, dst: Loc, src: Loc, body: Body, node) -> None:
        if isinstance(dst, HeaderLoc) and isinstance(src, HeaderLoc):
            if dst.inst != src.inst:
                self.emit_prim("assign_header", [{"type": "header", "value": dst.inst},
                                                 {"type": "header", "value": src.inst}], body, node)
            return
        if isinstance(dst, StructLoc) and isinstance(src, StructLoc):
            for fn in dst.fields:
                self.copy_loc(dst.fields[fn], src.fields[fn], body, node)
            return
        if isinstance(dst, StructLoc) and isinstance(src, ConstLoc) and isinstance(src.value, dict):
            for fn, sub in dst.fields.items():
                self.copy_loc(sub, ConstLoc(src.value[fn], sub.ptype), body, node)
            return
        if isinstance(dst, StackLoc) and isinstance(src, StackLoc):
            if dst.inst != src.inst:
                op = "assign_union_stack" if dst.union_stack else "assign_header_stack"
                kind = "header_union_stack" if dst.union_stack else "header_stack"
                self.emit_prim(op, [{"type": kind, "value": dst.inst}, {"type": kind, "value": src.inst}],
                               body, node)
            return
        if isinstance(dst, UnionLoc) and isinstance(src, UnionLoc):
            if dst.inst != src.inst:
                self.emit_prim("assign_union", [{"type": "header_union", "value": dst.inst},
                                                {"type": "header_union", "value": src.inst}], body, node)
            return
        if isinstance(dst, DynElemLoc) or isinstance(src, DynElemLoc):
            raise CompileError(getattr(node, "loc", None),
                               "unsupported by pybm-p4c: copying a whole header at a run-time stack index")
        if isinstance(dst, (FieldLoc, ExprLoc)):
            j, b = self.read_loc(src, node)
            self.assign_scalar(dst, j, b, body, node)
            return
        raise CompileError(getattr(node, "loc", None), "incompatible assignment")

    def emit_prim(self, op: str, params: list, body: Body, node) -> None:
        p = self.prim(op, params, node)
        if body.in_parser:
            p = {"op": "primitive", "parameters": [p]}
        body.emit(p)

    def assign_initializer(self, dst: Loc, e: ast.Expr, fr: Frame, body: Body, node) -> None:
        st = strip_newtype(dst.ptype)
        if isinstance(e, ast.StructInit):
            pairs = list(e.fields)
        else:
            if isinstance(st, StackT):
                for i, it in enumerate(e.items):
                    self.assign(dst.elems[i], it, fr, body, node)
                return
            if isinstance(st, TupleT):
                pairs = [(f"f{i}", it) for i, it in enumerate(e.items)]
            else:
                pairs = [(fn, it) for (fn, _, _), it in zip(st.fields, e.items)]
        # evaluate all values first (P4 evaluates the initializer before assigning)
        if isinstance(dst, HeaderLoc):
            self.emit_prim("add_header", [{"type": "header", "value": dst.inst}], body, node)
            for fn, v in pairs:
                self.assign(dst.field(fn), v, fr, body, node)
            return
        if isinstance(dst, StructLoc):
            for fn, v in pairs:
                self.assign(dst.fields[fn], v, fr, body, node)
            return
        raise CompileError(getattr(node, "loc", None), "cannot assign an initializer to this location")

    # ------------------------------------------------------------------ statements
    def stmt(self, st: ast.Node, fr: Frame, body: Body) -> None:
        if isinstance(st, ast.BlockStmt):
            for s in st.stmts:
                self.stmt(s, fr, body)
        elif isinstance(st, ast.AssignStmt):
            self.assign_stmt(st, fr, body)
        elif isinstance(st, ast.CallStmt):
            self.call(st.call, fr, body, want_result=False)
        elif isinstance(st, ast.VarDecl):
            loc = fr.env.get(id(st))
            if loc is None:
                loc = self.alloc.alloc(st.ptype, st.name, loc=st.loc)
                fr.bind(st, loc)
            if st.init is not None:
                self.assign(loc, st.init, fr, body, st)
            elif isinstance(loc, HeaderLoc) and not body.in_parser:
                # a fresh header variable is invalid (it may be reused across packets' actions)
                self.emit_prim("remove_header", [{"type": "header", "value": loc.inst}], body, st)
        elif isinstance(st, ast.ConstDecl):
            if st.const is None:
                loc = self.alloc.alloc(st.ptype, st.name, loc=st.loc)
                self.assign(loc, st.value, fr, body, st)
                fr.bind(st, loc)
        elif isinstance(st, ast.EmptyStmt):
            pass
        elif isinstance(st, ast.IfStmt):
            if body.in_parser:
                raise CompileError(st.loc, "internal: if statement in parser state body")
            c = getattr(st.cond, "const", None)
            if isinstance(c, bool):
                if c:
                    self.stmt(st.then, fr, body)
                elif st.other is not None:
                    self.stmt(st.other, fr, body)
                return
            cj = self.cond(st.cond, fr, body)
            els = Label()
            body.emit(self.prim("_jump_if_zero", [J.param(J.b2d(cj)), {"type": "hexstr", "_label": els}], st))
            self.stmt(st.then, fr, body)
            if st.other is not None:
                end = Label()
                body.emit(self.prim("_jump", [{"type": "hexstr", "_label": end}], st))
                body.place(els)
                self.stmt(st.other, fr, body)
                body.place(end)
            else:
                body.place(els)
        elif isinstance(st, ast.SwitchStmt):
            self.switch_in_action(st, fr, body)
        elif isinstance(st, ast.ForStmt):
            if body.in_parser:
                raise CompileError(st.loc, "for loops are not allowed in parsers")
            for x in st.init:
                self.stmt(x, fr, body)
            top, end, nxt = Label(), Label(), Label()
            body.place(top)
            if st.cond is not None:
                cj = self.cond(st.cond, fr, body)
                body.emit(self.prim("_jump_if_zero", [J.param(J.b2d(cj)), {"type": "hexstr", "_label": end}], st))
            body.loops.append((nxt, end))
            self.stmt(st.body, fr, body)
            body.loops.pop()
            body.place(nxt)
            for x in st.update:
                self.stmt(x, fr, body)
            body.emit(self.prim("_jump", [{"type": "hexstr", "_label": top}], st))
            body.place(end)
        elif isinstance(st, ast.ReturnStmt):
            if st.expr is not None:
                if body.ret_loc is None:
                    raise CompileError(st.loc, "internal: return value outside a function")
                self.assign(body.ret_loc, st.expr, fr, body, st)
            if body.ret_label is None:
                raise CompileError(st.loc, "unsupported by pybm-p4c: return here")
            body.emit(self.prim("_jump", [{"type": "hexstr", "_label": body.ret_label}], st))
        elif isinstance(st, ast.ExitStmt):
            for copies, cfr, call in reversed(body.exit_copies):
                for dst, tmp in copies:
                    self.copy_out(dst, tmp, cfr, body, call)
            body.emit(self.prim("exit", [], st))
            if body.end_label is None:
                body.end_label = Label()
            body.emit(self.prim("_jump", [{"type": "hexstr", "_label": body.end_label}], st))
        elif isinstance(st, (ast.BreakStmt, ast.ContinueStmt)):
            if not body.loops:
                raise CompileError(st.loc, "break/continue outside a loop")
            target = body.loops[-1][1 if isinstance(st, ast.BreakStmt) else 0]
            body.emit(self.prim("_jump", [{"type": "hexstr", "_label": target}], st))
        else:
            raise CompileError(getattr(st, "loc", None), f"unsupported statement {type(st).__name__} here")

    def switch_in_action(self, st: ast.SwitchStmt, fr: Frame, body: Body) -> None:
        from ..types import ActionEnumT
        if isinstance(st.expr.type, ActionEnumT):
            raise CompileError(st.loc, "switch on action_run inside an action")
        v = self.data(st.expr, fr, body)
        if _has_side_effects(st.expr):
            tmp = self.alloc.alloc(st.expr.type, "switch_tmp", loc=st.loc)
            self.assign_scalar(tmp, v, False, body, st)
            v = tmp.json()
        end = Label()
        pending: list[ast.SwitchCase] = []
        for c in st.cases:
            pending.append(c)
            if c.body is None:
                continue
            labels = [x.label for x in pending]
            pending = []
            nxt = Label()
            if any(lab is None for lab in labels):
                test = None
            else:
                test = None
                for lab in labels:
                    lj, _ = self.rvalue(lab, fr, body)
                    x = J.op("==", v, lj)
                    test = x if test is None else J.op("or", test, x)
            if test is not None:
                body.emit(self.prim("_jump_if_zero", [J.param(J.b2d(test)), {"type": "hexstr", "_label": nxt}], c))
            self.stmt(c.body, fr, body)
            body.emit(self.prim("_jump", [{"type": "hexstr", "_label": end}], c))
            body.place(nxt)
        body.place(end)


def _has_control_flow(st: Any) -> bool:
    return any(isinstance(n, (ast.IfStmt, ast.ReturnStmt, ast.SwitchStmt, ast.ExitStmt)) for n in _walk(st))


__all__ = ["Lowerer", "Body", "Label", "ObjectT", "ExternLoc", "PacketLoc", "TableLoc", "InstanceLoc",
           "ErrorT", "EnumT"]
