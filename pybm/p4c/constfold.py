"""Constant folding of compile-time expressions.

fold() computes the value of an expression whose operands are all constants
(literals, const declarations, enum members, errors), with P4 semantics: bit<W>
arithmetic wraps modulo 2^W, int<W> is two's complement, `int` is
arbitrary precision. Values: int for numbers, bool, EnumValue, ErrorValue.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import ast
from .errors import CompileError
from .types import BitT, BoolT, IntT, NewT, P4Type


@dataclass(frozen=True)
class EnumValue:
    enum: str
    member: str


@dataclass(frozen=True)
class ErrorValue:
    name: str


def wrap(value: int, t: P4Type | None) -> int:
    """Bring an integer into the range of type t (modular arithmetic)."""
    while isinstance(t, NewT):
        t = t.base
    if isinstance(t, BitT):
        value &= (1 << t.width) - 1
        if t.signed and value >= 1 << (t.width - 1):
            value -= 1 << t.width
    return value


def const_of(e: ast.Expr) -> object | None:
    return getattr(e, "const", None)


def fold_binary(e: ast.Binary, lv: object, rv: object, t: P4Type) -> object | None:
    op = e.op
    if isinstance(lv, bool) or isinstance(rv, bool):
        if op == "&&":
            return bool(lv) and bool(rv)
        if op == "||":
            return bool(lv) or bool(rv)
        if op == "==":
            return lv == rv
        if op == "!=":
            return lv != rv
        return None
    if not isinstance(lv, int) or not isinstance(rv, int):
        if op == "==":
            return lv == rv
        if op == "!=":
            return lv != rv
        return None
    lt = e.left.type
    width_t = t if isinstance(t, BitT) else (lt if isinstance(lt, BitT) else None)
    if op == "+":
        return wrap(lv + rv, t)
    if op == "-":
        return wrap(lv - rv, t)
    if op == "*":
        return wrap(lv * rv, t)
    if op in ("/", "%"):
        if rv == 0:
            raise CompileError(e.loc, "division by zero")
        if lv < 0 or rv < 0:
            raise CompileError(e.loc, f"'{op}' is only defined on non-negative values")
        return wrap(lv // rv if op == "/" else lv % rv, t)
    if op == "&":
        return wrap(lv & rv, t)
    if op == "|":
        return wrap(lv | rv, t)
    if op == "^":
        return wrap(lv ^ rv, t)
    if op == "<<":
        if rv < 0:
            raise CompileError(e.loc, "negative shift amount")
        if isinstance(width_t, BitT) and rv >= width_t.width:
            return 0
        return wrap(lv << rv, t)
    if op == ">>":
        if rv < 0:
            raise CompileError(e.loc, "negative shift amount")
        if isinstance(t, BitT) and not t.signed:
            return wrap(lv, t) >> rv
        return wrap(lv >> rv, t)
    if op == "==":
        return lv == rv
    if op == "!=":
        return lv != rv
    if op == "<":
        return lv < rv
    if op == ">":
        return lv > rv
    if op == "<=":
        return lv <= rv
    if op == ">=":
        return lv >= rv
    if op == "++":
        rt = e.right.type
        if isinstance(rt, BitT):
            return wrap((wrap(lv, BitT(lt.width) if isinstance(lt, BitT) else None) << rt.width)
                        | (rv & ((1 << rt.width) - 1)), t)
        return None
    if op in ("|+|", "|-|") and isinstance(t, BitT):
        r = lv + rv if op == "|+|" else lv - rv
        if t.signed:
            lo, hi = -(1 << (t.width - 1)), (1 << (t.width - 1)) - 1
        else:
            lo, hi = 0, (1 << t.width) - 1
        return max(lo, min(hi, r))
    return None


def fold_unary(op: str, v: object, t: P4Type) -> object | None:
    if op == "!" and isinstance(v, bool):
        return not v
    if isinstance(v, bool) or not isinstance(v, int):
        return None
    if op == "-":
        return wrap(-v, t)
    if op == "+":
        return v
    if op == "~":
        if isinstance(t, BitT):
            return wrap(~v, t)
        return None
    return None


def fold_cast(v: object, src: P4Type, dst: P4Type) -> object | None:
    while isinstance(dst, NewT):
        dst = dst.base
    if isinstance(dst, BoolT):
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            return v != 0
        return None
    if isinstance(dst, (BitT, IntT)):
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, int):
            return wrap(v, dst)
        if isinstance(v, EnumValue):
            return None
    return v


def fold_slice(v: int, hi: int, lo: int) -> int:
    return (v >> lo) & ((1 << (hi - lo + 1)) - 1)
