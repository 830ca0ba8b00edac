"""Constant folding of compile-time expressions.

fold() computes the value of an expression whose operands are all constants
(literals, const declarations, enum members, errors), with P4 semantics: bit<W>
arithmetic wraps modulo 2^W, int<W> is two's complement, `int` is
arbitrary precision. Values: int for numbers, bool, EnumValue, ErrorValue.

EarlyFolder is p4c's first constant folding, before types are known (what it folds and
the overflow warnings it gives, which come before type checking's; lint.py reports them).
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


# ------------------------------------------------------------------ p4c's first folding
@dataclass(frozen=True)
class C1:
    """A constant as p4c's first constant folding (before type checking) has it: the
    value, its width (None: 'int') and signedness, the base it is written in, and the
    node whose source position it carries."""
    value: int | bool
    width: int | None = None
    signed: bool = False
    base: int = 10
    node: object = None


def literal_base(text: str) -> int:
    digits = text.lower()
    for sep in ("w", "s"):
        if sep in digits and not digits.startswith("0x"):
            digits = digits.split(sep, 1)[1]
    return 16 if digits.startswith("0x") else 2 if digits.startswith("0b") else \
        8 if digits.startswith("0o") else 10


def fits(c: C1) -> tuple[str, str] | None:
    """p4c's check of a typed constant: None, or (warning kind, message tail)."""
    if c.width is None or isinstance(c.value, bool):
        return None
    w, v = c.width, c.value
    if c.signed:
        if not -(1 << (w - 1)) <= v <= (1 << (w - 1)) - 1:
            return "overflow", f"signed value does not fit in {w} bits"
        return None
    if v < 0:
        return "mismatch", "negative value with unsigned type"
    if v >= 1 << w:
        return "overflow", f"value does not fit in {w} bits"
    return None


class EarlyFolder:
    """p4c's ConstantFolding before type checking: folds what is constant without types,
    substitutes constants declared with a bit<>/int<>/int/bool type, and reports what it
    reports (a shift by at least the width of a typed constant, a folded shift or an
    untyped operand made typed that does not fit). warn(kind, message, node)."""

    def __init__(self, warn) -> None:
        self.warn = warn
        self.consts: dict[int, C1] = {}  # id(ConstDecl) -> value
        self.values: dict[int, C1] = {}  # id(expr) -> value, for every folded expression
        self.shift_warned: set[int] = set()

    def _typed(self, c: C1, width: int, signed: bool, base: int, node: object, warn: bool) -> C1:
        out = C1(c.value, width, signed, base, node)
        if warn:
            bad = fits(out)
            if bad is not None:
                self.warn(bad[0], f"{const_text_(out)}: {bad[1]}", node)
        return C1(wrap(c.value, BitT(width, signed)), width, signed, base, node)

    def const_decl(self, d: ast.ConstDecl) -> None:
        c = self.fold(d.value)
        if c is None:
            return
        t = d.typeref
        if isinstance(t, ast.BitTypeRef) and isinstance(t.width, int) and not isinstance(c.value, bool):
            if c.width is None:
                c = self._typed(c, t.width, t.signed, c.base, c.node, True)
            elif c.width != t.width or c.signed != t.signed:
                return
        elif isinstance(t, ast.SimpleTypeRef) and t.kind == "int" and not isinstance(c.value, bool):
            c = C1(c.value, None, False, c.base, c.node)
        elif not (isinstance(t, ast.SimpleTypeRef) and t.kind == "bool" and isinstance(c.value, bool)):
            return
        self.consts[id(d)] = c

    def fold(self, e: object) -> C1 | None:
        c = self._fold(e)
        if c is not None:
            self.values[id(e)] = c
        return c

    def _fold(self, e: object) -> C1 | None:
        if isinstance(e, ast.IntLit):
            return C1(e.value, e.width, e.signed, literal_base(e.text or ""), e)
        if isinstance(e, ast.BoolLit):
            return C1(e.value, node=e)
        if isinstance(e, ast.PathExpr):
            return self.consts.get(id(getattr(e, "ref", None)))
        if isinstance(e, ast.Unary):
            c = self.fold(e.expr)
            if c is None:
                return None
            if e.op == "!":
                return C1(not c.value, node=e) if isinstance(c.value, bool) else None
            if isinstance(c.value, bool):
                return None
            if e.op == "+":
                return c
            if e.op == "-":
                v = -c.value
            elif e.op == "~" and c.width is not None:
                v = ~c.value
            else:
                return None
            v = v if c.width is None else wrap(v, BitT(c.width, c.signed))
            return C1(v, c.width, c.signed, c.base, c.node)
        if isinstance(e, ast.Cast):
            c = self.fold(e.expr)
            t = e.typeref
            if c is None:
                return None
            if isinstance(t, ast.BitTypeRef) and isinstance(t.width, int):
                v = int(c.value) if isinstance(c.value, bool) else c.value
                return self._typed(C1(v, None, False, c.base), t.width, t.signed,
                                   10 if isinstance(c.value, bool) else c.base, c.node, False)
            if isinstance(t, ast.SimpleTypeRef) and t.kind == "bool":
                if isinstance(c.value, bool):
                    return c
                return C1(c.value == 1, node=e) if c.value in (0, 1) else None
            return None
        if isinstance(e, ast.Ternary):
            c = self.fold(e.cond)
            a, b = self.fold(e.then), self.fold(e.other)
            if c is None or not isinstance(c.value, bool):
                return None
            return a if c.value else b
        if isinstance(e, ast.Slice):
            c, hi, lo = self.fold(e.expr), self.fold(e.hi), self.fold(e.lo)
            if c is None or hi is None or lo is None or isinstance(c.value, bool):
                return None
            return C1(fold_slice(c.value, hi.value, lo.value), hi.value - lo.value + 1, False, c.base, e)
        if isinstance(e, ast.Binary):
            return self._binary(e)
        if isinstance(e, (ast.Member, ast.Index)):
            self.fold(e.expr)
            if isinstance(e, ast.Index):
                self.fold(e.index)
            return None
        if isinstance(e, ast.Call):
            self.fold(e.func)
            for a in e.args:
                if a.value is not None:
                    self.fold(a.value)
            return None
        if isinstance(e, ast.ListExpr):
            for x in e.items:
                self.fold(x)
            return None
        if isinstance(e, ast.StructInit):
            for _n, x in e.fields:
                self.fold(x)
            return None
        if isinstance(e, (ast.MaskKey, ast.RangeKey, ast.TupleKey)):
            for x in ((e.value, e.mask) if isinstance(e, ast.MaskKey) else (e.lo, e.hi)
                      if isinstance(e, ast.RangeKey) else e.items):
                self.fold(x)
            return None
        return None

    def _binary(self, e: ast.Binary) -> C1 | None:
        op = e.op
        lc = self.fold(e.left)
        if op in ("&&", "||"):
            rc = self.fold(e.right)
            if lc is None or not isinstance(lc.value, bool):
                return None
            if lc.value == (op == "||"):
                return C1(lc.value, node=e)
            return rc
        rc = self.fold(e.right)
        if op in ("<<", ">>"):
            if rc is None or isinstance(rc.value, bool) or rc.value < 0:
                return None
            if rc.value == 0:
                return lc
            if lc is None or isinstance(lc.value, bool):
                return None
            s = rc.value
            if lc.width is not None and s >= lc.width:
                self.warn("overflow", f"{lc.value} {op} {s}: Shifting {lc.width}-bit value with {s}", e)
                self.shift_warned.add(id(e))
            v = lc.value << s if op == "<<" else lc.value >> s
            if lc.width is None:
                return C1(v, None, False, lc.base, e)
            out = C1(v, lc.width, lc.signed, lc.base, e)
            bad = fits(out)
            if bad is not None and id(e) not in self.shift_warned:
                self.warn(bad[0], f"{const_text_(out)}: {bad[1]}", e)
            return C1(wrap(v, BitT(lc.width, lc.signed)), lc.width, lc.signed, lc.base, e)
        if lc is None or rc is None:
            return None
        if isinstance(lc.value, bool) or isinstance(rc.value, bool):
            if op in ("==", "!=") and isinstance(lc.value, bool) and isinstance(rc.value, bool):
                return C1((lc.value == rc.value) == (op == "=="), node=e)
            return None
        if op == "++":
            if lc.width is None or rc.width is None:
                return None
            v = (lc.value << rc.width) + (rc.value & ((1 << rc.width) - 1))
            return C1(wrap(v, BitT(lc.width + rc.width, lc.signed)), lc.width + rc.width, lc.signed, lc.base, e)
        if lc.width is not None and rc.width is not None:
            if (lc.width, lc.signed) != (rc.width, rc.signed):
                return None
        elif lc.width is None and rc.width is not None:
            lc = self._typed(lc, rc.width, rc.signed, lc.base, lc.node, True)
        elif rc.width is None and lc.width is not None:
            rc = self._typed(rc, lc.width, lc.signed, lc.base, rc.node, True)
        width, signed = (lc.width, lc.signed) if lc.width is not None else (rc.width, rc.signed)
        a, b = lc.value, rc.value
        if op in ("/", "%") and (a < 0 or b <= 0):
            return None
        v = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a // b,
             "%": lambda: a % b, "&": lambda: a & b, "|": lambda: a | b, "^": lambda: a ^ b,
             "|+|": lambda: a + b, "|-|": lambda: a - b, "==": lambda: a == b, "!=": lambda: a != b,
             "<": lambda: a < b, ">": lambda: a > b, "<=": lambda: a <= b, ">=": lambda: a >= b}.get(op)
        if v is None:
            return None
        r = v()
        if isinstance(r, bool):
            return C1(r, node=e)
        if width is None:
            return C1(r, None, False, lc.base, e)
        if op in ("|+|", "|-|"):
            lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
            r = max(lo, min(hi, r))
        return C1(wrap(r, BitT(width, signed)), width, signed, lc.base, e)


def const_text_(c: C1) -> str:
    from .lint_text import const_text
    return const_text(c)
