"""Type checking of expressions and calls (mixin of TypeChecker).

Annotations left on nodes:
  expr.type   the P4Type
  expr.const  the folded value when the expression is a compile-time constant
  PathExpr.ref            the declaration the name resolves to
  Call nodes: see typecheck_calls.py
"""
from __future__ import annotations

from typing import Any

from . import ast
from .constfold import (
    C1,
    EnumValue,
    ErrorValue,
    const_text_,
    fits,
    fold_binary,
    fold_cast,
    fold_slice,
    fold_unary,
    literal_base,
    wrap,
)
from .errors import CompileError, SourceLoc
from .scope import Scope
from .typecheck_calls import CallChecker
from .types import (
    ActionEnumT,
    ApplyResultT,
    BitT,
    BoolT,
    DontCareT,
    EnumT,
    ErrorT,
    IntT,
    MatchKindT,
    NewT,
    ObjectT,
    P4Type,
    SetT,
    StackT,
    StringT,
    StructT,
    TupleT,
    TypeVar,
    VarbitT,
    VoidT,
    is_header,
    is_union,
    strip_newtype,
)

_ARITH = {"+", "-", "*", "/", "%", "|+|", "|-|"}
_BITWISE = {"&", "|", "^"}
_CMP = {"<", ">", "<=", ">="}


class NodeWarning(tuple):
    """A type warning (loc, kind, message, text) that also knows the expression it is on."""

    def __new__(cls, fields: tuple, node: Any) -> NodeWarning:
        w = super().__new__(cls, fields)
        w.node = node
        return w


def _numeric(t: P4Type) -> bool:
    return isinstance(t, (BitT, IntT))


class ExprChecker(CallChecker):
    globals: Scope
    errors: list[str]

    # ------------------------------------------------------------------ helpers
    def _set(self, e: ast.Expr, t: P4Type, const: Any = None) -> P4Type:
        e.type = t
        if const is not None:
            e.const = const
        return t

    def require_assignable(self, target: P4Type, e: ast.Expr, loc: SourceLoc | None) -> None:
        """Check e can be assigned to a location of type target; adapt literals."""
        src = e.type
        if target is None or src is None:
            return
        if isinstance(target, DontCareT) or isinstance(target, TypeVar):
            return
        if self.same_type(target, src):
            return
        tb = strip_newtype(target)
        if isinstance(src, IntT) and isinstance(tb, BitT):
            v = getattr(e, "const", None)
            if isinstance(v, int) and not isinstance(v, bool):
                self.retype_int(e, target)
                return
        if isinstance(src, IntT) and isinstance(tb, IntT):
            return
        if isinstance(e, (ast.ListExpr, ast.StructInit)) and isinstance(tb, (StructT, TupleT, StackT)):
            self.check_initializer(e, target)
            return
        raise CompileError(loc or e.loc, f"cannot use a value of type '{src}' where '{target}' is expected")

    def retype_int(self, e: ast.Expr, t: P4Type) -> None:
        """Give an untyped integer constant expression the type t."""
        v = e.const
        tb = strip_newtype(t)
        if isinstance(tb, BitT):
            lo = -(1 << (tb.width - 1)) if tb.signed else -(1 << tb.width)
            hi = (1 << (tb.width - 1)) - 1 if tb.signed else (1 << tb.width) - 1
            if not (lo <= v <= hi) or (v < 0 and not tb.signed):
                # p4c warns and keeps the low bits (the value in the base it is written in)
                lit = e.expr if isinstance(e, ast.Unary) and isinstance(e.expr, ast.IntLit) else e
                c = C1(v, tb.width, tb.signed, literal_base(lit.text) if isinstance(lit, ast.IntLit) else 10)
                kind, tail = fits(c)
                text = lit.text if isinstance(lit, ast.IntLit) and lit.text else None
                self.type_warnings.append(NodeWarning((lit.loc, kind, f"{const_text_(c)}: {tail}", text), e))
            e.const = wrap(v, tb)
        e.type = t

    def check_initializer(self, e: ast.Expr, target: P4Type) -> None:
        tb = strip_newtype(target)
        if isinstance(e, ast.StructInit):
            if not isinstance(tb, StructT):
                raise CompileError(e.loc, f"structure initializer cannot have type '{target}'")
            given = {n: v for n, v in e.fields}
            if len(given) != len(e.fields):
                raise CompileError(e.loc, "duplicate field in structure initializer")
            for n in given:
                if tb.field_type(n) is None:
                    raise CompileError(e.loc, f"'{target}' has no field '{n}'")
            for fn, ft, _ in tb.fields:
                if fn not in given:
                    if e.dots:
                        continue
                    raise CompileError(e.loc, f"structure initializer misses field '{fn}'")
                self.require_assignable(ft, given[fn], given[fn].loc)
        elif isinstance(e, ast.ListExpr):
            if isinstance(tb, StructT):
                if len(e.items) != len(tb.fields):
                    raise CompileError(e.loc, f"'{target}' has {len(tb.fields)} fields, the list has {len(e.items)}")
                for it, (_, ft, _) in zip(e.items, tb.fields):
                    self.require_assignable(ft, it, it.loc)
            elif isinstance(tb, TupleT):
                if len(e.items) != len(tb.elems):
                    raise CompileError(e.loc, f"tuple has {len(tb.elems)} elements, the list has {len(e.items)}")
                for it, ft in zip(e.items, tb.elems):
                    self.require_assignable(ft, it, it.loc)
            elif isinstance(tb, StackT):
                if len(e.items) != tb.size:
                    raise CompileError(e.loc, f"stack has {tb.size} elements, the list has {len(e.items)}")
                for it in e.items:
                    self.require_assignable(tb.elem, it, it.loc)
        e.type = target

    def same_type(self, a: P4Type, b: P4Type) -> bool:
        if a is b or a == b:
            return True
        if isinstance(a, StructT) and isinstance(b, StructT):
            return a.name == b.name and a.kind == b.kind
        if isinstance(a, TupleT) and isinstance(b, TupleT):
            return len(a.elems) == len(b.elems) and all(self.same_type(x, y) for x, y in zip(a.elems, b.elems))
        if isinstance(a, StackT) and isinstance(b, StackT):
            return a.size == b.size and self.same_type(a.elem, b.elem)
        if isinstance(a, TupleT) and isinstance(b, StructT) or isinstance(a, StructT) and isinstance(b, TupleT):
            return False
        return False

    def require_lvalue(self, e: ast.Expr, scope: Scope) -> None:
        if isinstance(e, ast.PathExpr):
            d = e.ref
            if isinstance(d, ast.Param):
                if d.direction in ("", "in"):
                    raise CompileError(e.loc, f"cannot assign to read-only parameter '{d.name}'")
                return
            if isinstance(d, ast.VarDecl):
                return
            raise CompileError(e.loc, f"'{e.name}' cannot be assigned")
        if isinstance(e, ast.Member):
            if isinstance(e.expr.type, StackT) and e.name in ("size", "lastIndex"):
                raise CompileError(e.loc, f"'{e.name}' cannot be assigned")
            if isinstance(e.expr, ast.TypeNameExpr):
                raise CompileError(e.loc, "cannot assign to a constant")
            self.require_lvalue(e.expr, scope)
            return
        if isinstance(e, (ast.Index, ast.Slice)):
            self.require_lvalue(e.expr, scope)
            return
        raise CompileError(e.loc, "expression cannot be assigned")

    def unify(self, pt: P4Type, at: P4Type, b: dict, loc: SourceLoc | None) -> None:
        if isinstance(pt, TypeVar):
            if pt in b:
                prev = b[pt]
                if isinstance(prev, IntT) and isinstance(at, BitT):
                    b[pt] = at
                return
            b[pt] = at
        elif isinstance(pt, TupleT) and isinstance(at, TupleT):
            for x, y in zip(pt.elems, at.elems):
                self.unify(x, y, b, loc)

    def subst(self, t: P4Type, b: dict) -> P4Type:
        if isinstance(t, TypeVar):
            return b.get(t, t)
        if isinstance(t, TupleT):
            return TupleT(tuple(self.subst(x, b) for x in t.elems))
        if isinstance(t, StackT):
            return StackT(self.subst(t.elem, b), t.size)
        return t

    # ------------------------------------------------------------------ expressions
    def check_expr(self, e: ast.Expr, scope: Scope, expected: P4Type | None) -> P4Type:
        m = getattr(self, "_x_" + type(e).__name__, None)
        if m is None:
            raise CompileError(e.loc, f"unexpected expression {type(e).__name__}")
        t = m(e, scope, expected)
        e.type = t
        return t

    def _x_IntLit(self, e: ast.IntLit, scope: Scope, expected: P4Type | None) -> P4Type:
        if e.width is None:
            e.const = e.value
            return IntT()
        if e.width == 0:
            raise CompileError(e.loc, "integer literal with width 0")
        t = BitT(e.width, e.signed)
        lim = 1 << e.width
        if e.value >= lim:
            raise CompileError(e.loc, f"value {e.value} does not fit in {e.width} bits")
        e.const = wrap(e.value, t)
        return t

    def _x_BoolLit(self, e: ast.BoolLit, scope: Scope, expected: P4Type | None) -> P4Type:
        e.const = e.value
        return BoolT()

    def _x_StringLit(self, e: ast.StringLit, scope: Scope, expected: P4Type | None) -> P4Type:
        e.const = e.value
        return StringT()

    def _x_DontCare(self, e: ast.DontCare, scope: Scope, expected: P4Type | None) -> P4Type:
        return DontCareT()

    def _x_DefaultKey(self, e: ast.Expr, scope: Scope, expected: P4Type | None) -> P4Type:
        return DontCareT()

    def _x_This(self, e: ast.This, scope: Scope, expected: P4Type | None) -> P4Type:
        raise CompileError(e.loc, "unsupported by pybm-p4c: 'this'")

    def _x_PathExpr(self, e: ast.PathExpr, scope: Scope, expected: P4Type | None) -> P4Type:
        d = (self.globals if e.dot else scope).lookup_value(e.name)
        if d is None:
            if e.name in ("accept", "reject"):
                raise CompileError(e.loc, f"'{e.name}' is a parser state, not a value")
            raise CompileError(e.loc, f"'{e.name}' is not declared")
        e.ref = d
        if isinstance(d, (ast.Param, ast.VarDecl)):
            return d.ptype
        if isinstance(d, ast.ConstDecl):
            if d.const is not None:
                e.const = d.const
            return d.ptype
        if isinstance(d, ast.MatchKindDecl):
            e.const = e.name
            return MatchKindT()
        if isinstance(d, ast.Instantiation):
            return d.otype
        if isinstance(d, ast.TableDecl):
            return ObjectT("table", d.name, d)
        if isinstance(d, ast.ValueSetDecl):
            return SetT(d.ptype)
        if isinstance(d, (ast.ActionDecl, ast.FunctionDecl, ast.ExternFunctionDecl, list)):
            return VoidT()  # only meaningful as the callee of a Call
        raise CompileError(e.loc, f"'{e.name}' cannot be used as a value")

    def _x_TypeNameExpr(self, e: ast.TypeNameExpr, scope: Scope, expected: P4Type | None) -> P4Type:
        return self.resolve_type(e.typeref, scope)

    def _x_Member(self, e: ast.Member, scope: Scope, expected: P4Type | None) -> P4Type:
        if isinstance(e.expr, ast.TypeNameExpr):
            t = self.check_expr(e.expr, scope, None)
            if isinstance(t, ErrorT):
                if e.name not in self.errors:
                    raise CompileError(e.loc, f"error '{e.name}' is not declared")
                e.const = ErrorValue(e.name)
                return ErrorT()
            et = strip_newtype(t)
            if isinstance(et, EnumT):
                if e.name not in et.members:
                    raise CompileError(e.loc, f"enum '{et.name}' has no member '{e.name}'")
                e.const = EnumValue(et.name, e.name)
                return t
            if isinstance(t, ObjectT) and e.name == "apply":
                return VoidT()
            raise CompileError(e.loc, f"type '{t}' has no member '{e.name}'")
        t = self.check_expr(e.expr, scope, None)
        st = strip_newtype(t)
        if isinstance(st, StructT):
            ft = st.field_type(e.name)
            if ft is not None:
                return ft
            if st.kind in ("header", "header_union") and e.name in ("isValid", "setValid", "setInvalid",
                                                                     "minSizeInBits", "minSizeInBytes"):
                return VoidT()
            raise CompileError(e.loc, f"'{t}' has no field '{e.name}'")
        if isinstance(st, StackT):
            if e.name in ("next", "last"):
                if scope.enclosing("parser") is None:
                    raise CompileError(e.loc, f"'{e.name}' is only allowed in parsers")
                return st.elem
            if e.name in ("lastIndex", "nextIndex"):
                if e.name == "lastIndex" and scope.enclosing("parser") is None:
                    raise CompileError(e.loc, "'lastIndex' is only allowed in parsers")
                return BitT(32)
            if e.name == "size":
                e.const = st.size
                return BitT(32)
            if e.name in ("push_front", "pop_front"):
                return VoidT()
            raise CompileError(e.loc, f"header stack has no member '{e.name}'")
        if isinstance(st, ApplyResultT):
            if e.name in ("hit", "miss"):
                return BoolT()
            if e.name == "action_run":
                return ActionEnumT(st.table)
            raise CompileError(e.loc, f"table apply result has no member '{e.name}'")
        if isinstance(st, ObjectT):
            return VoidT()  # method reference, resolved by the enclosing Call
        raise CompileError(e.loc, f"'{t}' has no member '{e.name}'")

    def _x_Index(self, e: ast.Index, scope: Scope, expected: P4Type | None) -> P4Type:
        t = strip_newtype(self.check_expr(e.expr, scope, None))
        it = self.check_expr(e.index, scope, None)
        if not isinstance(strip_newtype(it), (BitT, IntT)):
            raise CompileError(e.index.loc, "array index must be an integer")
        if isinstance(t, StackT):
            v = getattr(e.index, "const", None)
            if isinstance(v, int) and not (0 <= v < t.size):
                raise CompileError(e.index.loc, f"index {v} is out of bounds for a stack of size {t.size}")
            if isinstance(it, IntT):
                self.retype_int(e.index, BitT(32))
            return t.elem
        if isinstance(t, TupleT):
            v = getattr(e.index, "const", None)
            if not isinstance(v, int) or not (0 <= v < len(t.elems)):
                raise CompileError(e.index.loc, "tuple index must be a constant in range")
            return t.elems[v]
        raise CompileError(e.loc, f"cannot index a value of type '{t}'")

    def _x_Slice(self, e: ast.Slice, scope: Scope, expected: P4Type | None) -> P4Type:
        t = strip_newtype(self.check_expr(e.expr, scope, None))
        if isinstance(t, IntT):
            v = getattr(e.expr, "const", None)
            if v is None:
                raise CompileError(e.loc, "cannot slice a value of type 'int'")
        elif not isinstance(t, BitT):
            raise CompileError(e.loc, f"cannot slice a value of type '{e.expr.type}'")
        hi = self.const_int(e.hi, scope, "slice bound")
        lo = self.const_int(e.lo, scope, "slice bound")
        if hi < lo or lo < 0 or (isinstance(t, BitT) and hi >= t.width):
            raise CompileError(e.loc, f"invalid slice [{hi}:{lo}] of '{e.expr.type}'")
        e.hi_value, e.lo_value = hi, lo
        v = getattr(e.expr, "const", None)
        if isinstance(v, int) and not isinstance(v, bool):
            e.const = fold_slice(v, hi, lo)
        return BitT(hi - lo + 1)

    def _x_Unary(self, e: ast.Unary, scope: Scope, expected: P4Type | None) -> P4Type:
        t = self.check_expr(e.expr, scope, expected if e.op != "!" else BoolT())
        st = strip_newtype(t)
        if e.op == "!":
            if not isinstance(st, BoolT):
                raise CompileError(e.loc, f"'!' needs a bool operand, not '{t}'")
        elif e.op == "~":
            if not isinstance(st, BitT):
                raise CompileError(e.loc, f"'~' needs a bit<> or int<> operand, not '{t}'")
        elif not _numeric(st):
            raise CompileError(e.loc, f"unary '{e.op}' needs a numeric operand, not '{t}'")
        v = getattr(e.expr, "const", None)
        if v is not None:
            r = fold_unary(e.op, v, st)
            if r is not None:
                e.const = r
        return t

    def _unify_operands(self, e: ast.Binary, lt: P4Type, rt: P4Type) -> P4Type:
        ls, rs = strip_newtype(lt), strip_newtype(rt)
        if isinstance(ls, IntT) and isinstance(rs, BitT):
            self.require_assignable(rt, e.left, e.left.loc)
            return rt
        if isinstance(rs, IntT) and isinstance(ls, BitT):
            self.require_assignable(lt, e.right, e.right.loc)
            return lt
        if isinstance(ls, IntT) and isinstance(rs, IntT):
            return IntT()
        if self.same_type(lt, rt):
            return lt
        raise CompileError(e.loc, f"operands of '{e.op}' have different types '{lt}' and '{rt}'")

    def _x_Binary(self, e: ast.Binary, scope: Scope, expected: P4Type | None) -> P4Type:
        op = e.op
        if op in ("&&", "||"):
            for x in (e.left, e.right):
                t = self.check_expr(x, scope, BoolT())
                if not isinstance(t, BoolT):
                    raise CompileError(x.loc, f"'{op}' needs bool operands, not '{t}'")
            rt: P4Type = BoolT()
        elif op in ("<<", ">>"):
            lt = self.check_expr(e.left, scope, expected)
            st = self.check_expr(e.right, scope, None)
            if not _numeric(strip_newtype(lt)):
                raise CompileError(e.loc, f"cannot shift a value of type '{lt}'")
            ss = strip_newtype(st)
            if isinstance(ss, BitT) and ss.signed:
                raise CompileError(e.right.loc, "shift amount must be unsigned")
            if not _numeric(ss):
                raise CompileError(e.right.loc, "shift amount must be an integer")
            if isinstance(strip_newtype(lt), IntT) and getattr(e.left, "const", None) is None:
                raise CompileError(e.left.loc, "cannot shift a value of type 'int' (width unknown)")
            if isinstance(strip_newtype(lt), IntT) and getattr(e.right, "const", None) is None:
                raise CompileError(e.loc, "shift of an 'int' constant by a run-time amount: cast it first")
            if isinstance(ss, IntT):
                v = getattr(e.right, "const", None)
                if isinstance(v, int) and v < 0:
                    raise CompileError(e.right.loc, "negative shift amount")
            rt = lt
        elif op == "++":
            lt = self.check_expr(e.left, scope, None)
            rt2 = self.check_expr(e.right, scope, None)
            ls, rs = strip_newtype(lt), strip_newtype(rt2)
            if not isinstance(ls, BitT) or not isinstance(rs, BitT):
                raise CompileError(e.loc, f"'++' needs bit<> operands, not '{lt}' and '{rt2}'")
            rt = BitT(ls.width + rs.width, ls.signed)
        else:
            lt = self.check_expr(e.left, scope, None)
            rt2 = self.check_expr(e.right, scope, None)
            if isinstance(lt, IntT) and not isinstance(rt2, IntT):
                pass
            t = self._unify_operands(e, lt, rt2)
            st = strip_newtype(t)
            if op in ("==", "!="):
                if isinstance(st, (VarbitT,)):
                    pass
                rt = BoolT()
            elif op in _CMP:
                if not _numeric(st):
                    raise CompileError(e.loc, f"'{op}' needs numeric operands, not '{t}'")
                rt = BoolT()
            elif op in _ARITH or op in _BITWISE:
                if not _numeric(st):
                    raise CompileError(e.loc, f"'{op}' needs numeric operands, not '{t}'")
                if op in ("/", "%") and isinstance(st, BitT):
                    rv = getattr(e.right, "const", None)
                    lv0 = getattr(e.left, "const", None)
                    if (rv is None or lv0 is None) and not (lv0 == 0 and not st.signed):
                        # p4c's strength reduction settles 0 / x, 0 % x, x / 2^k and x % 2^k
                        if not (isinstance(rv, int) and rv > 0 and rv & (rv - 1) == 0) or st.signed:
                            raise CompileError(e.loc, f"unsupported by pybm-p4c: '{op}' with a run-time "
                                               "operand (BMv2 has no division; use a power-of-two constant)")
                rt = t
            else:
                raise CompileError(e.loc, f"unknown operator '{op}'")
        lv, rv = getattr(e.left, "const", None), getattr(e.right, "const", None)
        if lv is not None and rv is not None:
            r = fold_binary(e, lv, rv, strip_newtype(rt))
            if r is not None:
                e.const = r
        return rt

    def _x_Ternary(self, e: ast.Ternary, scope: Scope, expected: P4Type | None) -> P4Type:
        ct = self.check_expr(e.cond, scope, BoolT())
        if not isinstance(ct, BoolT):
            raise CompileError(e.cond.loc, f"condition must be bool, not '{ct}'")
        a = self.check_expr(e.then, scope, expected)
        b = self.check_expr(e.other, scope, expected)
        if isinstance(a, IntT) and isinstance(b, IntT):
            if expected is not None and isinstance(strip_newtype(expected), BitT):
                self.require_assignable(expected, e.then, e.then.loc)
                self.require_assignable(expected, e.other, e.other.loc)
                t = expected
            else:
                t = IntT()
                if getattr(e.cond, "const", None) is None:
                    raise CompileError(e.loc, "cannot infer the width of '?:' with 'int' branches")
        elif isinstance(a, IntT):
            self.require_assignable(b, e.then, e.then.loc)
            t = b
        elif isinstance(b, IntT):
            self.require_assignable(a, e.other, e.other.loc)
            t = a
        elif self.same_type(a, b):
            t = a
        else:
            raise CompileError(e.loc, f"branches of '?:' have different types '{a}' and '{b}'")
        c = getattr(e.cond, "const", None)
        if isinstance(c, bool):
            v = getattr(e.then if c else e.other, "const", None)
            if v is not None:
                e.const = v
        return t

    def _x_Cast(self, e: ast.Cast, scope: Scope, expected: P4Type | None) -> P4Type:
        dst = self.resolve_type(e.typeref, scope)
        if isinstance(e.expr, (ast.StructInit, ast.ListExpr)):
            self.check_expr(e.expr, scope, dst)
            self.require_assignable(dst, e.expr, e.loc)
            return dst
        src = self.check_expr(e.expr, scope, dst)
        s, d = strip_newtype(src), strip_newtype(dst)
        ok = False
        v = getattr(e.expr, "const", None)
        if isinstance(d, BitT) and isinstance(s, (BitT, IntT)):
            ok = True
        elif isinstance(d, BitT) and isinstance(s, BoolT):
            ok = d.width == 1 and not d.signed
        elif isinstance(d, BoolT) and isinstance(s, BitT):
            ok = s.width == 1 and not s.signed
        elif isinstance(d, BoolT) and isinstance(s, (BoolT, IntT)):
            ok = True
        elif isinstance(d, IntT) and isinstance(s, (BitT, IntT)):
            ok = v is not None
        elif isinstance(d, BitT) and isinstance(s, EnumT) and s.repr is not None:
            ok = True
            if isinstance(v, EnumValue):
                e.const = fold_cast(s.values[v.member], s.repr, d)
                return dst
        elif isinstance(d, EnumT) and d.repr is not None and isinstance(s, (BitT, IntT)):
            ok = True
            if isinstance(v, int):
                for m, mv in d.values.items():
                    if mv == wrap(v, d.repr):
                        e.const = EnumValue(d.name, m)
                return dst
        elif self.same_type(s, d):
            ok = True
        elif isinstance(d, (StructT, TupleT)) and self.same_type(s, d):
            ok = True
        if not ok:
            raise CompileError(e.loc, f"cannot cast '{src}' to '{dst}'")
        if v is not None:
            r = fold_cast(v, s, d)
            if r is not None:
                e.const = r
        return dst

    def _x_ListExpr(self, e: ast.ListExpr, scope: Scope, expected: P4Type | None) -> P4Type:
        exp = strip_newtype(expected) if expected is not None else None
        types = []
        for i, it in enumerate(e.items):
            et = None
            if isinstance(exp, StructT) and i < len(exp.fields):
                et = exp.fields[i][1]
            elif isinstance(exp, TupleT) and i < len(exp.elems):
                et = exp.elems[i]
            elif isinstance(exp, StackT):
                et = exp.elem
            types.append(self.check_expr(it, scope, et))
        if exp is not None and isinstance(exp, (StructT, TupleT, StackT)):
            self.check_initializer(e, expected)
            return expected
        return TupleT(tuple(types))

    def _x_StructInit(self, e: ast.StructInit, scope: Scope, expected: P4Type | None) -> P4Type:
        exp = strip_newtype(expected) if expected is not None else None
        for n, v in e.fields:
            ft = exp.field_type(n) if isinstance(exp, StructT) else None
            self.check_expr(v, scope, ft)
        if isinstance(exp, StructT):
            self.check_initializer(e, expected)
            return expected
        # an anonymous struct: build a type from the field types
        fields = []
        for n, v in e.fields:
            if isinstance(v.type, IntT):
                raise CompileError(v.loc, f"cannot infer the type of field '{n}'; cast the value")
            fields.append((n, v.type, []))
        return StructT("struct", "anonymous_struct", fields)

    def _x_MaskKey(self, e: ast.MaskKey, scope: Scope, expected: P4Type | None) -> P4Type:
        self.check_expr(e.value, scope, expected)
        self.check_expr(e.mask, scope, expected)
        return SetT(expected or e.value.type)

    def _x_RangeKey(self, e: ast.RangeKey, scope: Scope, expected: P4Type | None) -> P4Type:
        self.check_expr(e.lo, scope, expected)
        self.check_expr(e.hi, scope, expected)
        return SetT(expected or e.lo.type)

    def _x_ConstructorCall(self, e: ast.ConstructorCall, scope: Scope, expected: P4Type | None) -> P4Type:
        t = self.resolve_type(e.typeref, scope)
        if not isinstance(t, ObjectT):
            raise CompileError(e.loc, f"'{t}' cannot be constructed")
        ot = self.check_constructor_args(t, e.args, e.loc, scope)
        e.otype = ot
        return ot


__all__ = ["ExprChecker", "BitT", "BoolT", "IntT", "NewT", "StructT", "EnumT", "ErrorT", "TupleT",
           "ObjectT", "StackT", "VarbitT", "is_header", "is_union", "TypeVar", "StringT", "MatchKindT"]
