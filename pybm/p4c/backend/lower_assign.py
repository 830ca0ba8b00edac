"""Assignment statements: op-assignments, slices as l-values, side-effect order of indices."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .. import ast
from ..midend.inline import Frame
from ..midend.locations import Loc
from ..types import strip_newtype
from . import jsonexpr as J

if TYPE_CHECKING:
    from .lower import Body


class AssignLowerer:
    """Mixin of Lowerer: the AssignStmt and what it needs."""

    def assign_stmt(self, st: ast.AssignStmt, fr: Frame, body: Body) -> None:
        if isinstance(st.lhs, ast.Slice):
            self.assign_slice(st, fr, body)
            return
        lhs, rhs = st.lhs, st.rhs
        if isinstance(rhs, ast.Binary) and rhs.left is lhs and _has_side_effects(lhs):
            # 'a op= b' evaluates a once (P4_16 spec): its call-computed indices into temporaries
            # shared by the read and the write
            lhs = self.freeze_indices(lhs, fr, body)
            rhs = copy.copy(rhs)
            rhs.left = lhs
        elif _has_side_effects(rhs) and _lhs_has_runtime_index(lhs):
            # as p4c orders side effects: an index computed by a call is evaluated (into
            # a temporary) before the calls on the right; a plain index is read after them
            lhs = self.freeze_indices(lhs, fr, body)
        dst = self.lvalue(lhs, fr, body)
        self.assign(dst, rhs, fr, body, st)

    def freeze_indices(self, e: ast.Expr, fr: Frame, body: Body) -> ast.Expr:
        """A copy of the l-value e whose stack indices with calls read temporaries set now."""
        if isinstance(e, (ast.Member, ast.Slice)):
            n = copy.copy(e)
            n.expr = self.freeze_indices(e.expr, fr, body)
            return n
        if isinstance(e, ast.Index):
            n = copy.copy(e)
            n.expr = self.freeze_indices(e.expr, fr, body)
            if _has_side_effects(e.index):
                n.index = self.snapshot(e.index, fr, body)
            return n
        return e

    def assign_slice(self, st: ast.AssignStmt, fr: Frame, body: Body) -> None:
        self.store_slice(st.lhs, st.rhs, fr, body, st)

    def store_slice(self, sl: ast.Slice, rhs: ast.Expr | Loc, fr: Frame, body: Body, st) -> None:
        """sl = rhs where sl is a slice (of a slice...) of a location; rhs an expression or a Loc."""
        hi, lo = sl.hi_value, sl.lo_value
        base = sl.expr
        while isinstance(base, ast.Slice):  # x[a:b][c:d] is x[b+c:b+d]
            hi, lo = hi + base.lo_value, lo + base.lo_value
            base = base.expr
        dst = self.lvalue(base, fr, body)
        w = strip_newtype(base.type).width
        keep = ((1 << w) - 1) & ~(((1 << (hi - lo + 1)) - 1) << lo)
        val = self.data(rhs, fr, body) if isinstance(rhs, ast.Expr) else self.as_data(*self.read_loc(rhs, st))
        cur, _ = self.read_loc(dst, st)
        new = J.op("|", J.op("&", cur, J.hexstr(keep, w)),
                   J.op("&", J.op("<<", val, J.hexstr(lo)), J.hexstr(((1 << w) - 1) & ~keep, w)))
        self.assign_scalar(dst, new, False, body, st)


def _walk(node: Any):
    if isinstance(node, ast.Node):
        yield node
        for v in vars(node).values():
            if isinstance(v, (ast.Node, list, tuple)):
                yield from _walk(v)
    elif isinstance(node, (list, tuple)):
        for x in node:
            yield from _walk(x)


_PURE_EXTERNS = {"isValid"}


def _has_side_effects(e: Any) -> bool:
    for n in _walk(e):
        if isinstance(n, ast.Call):
            k = getattr(n, "kind", "")
            if k == "builtin" and n.method in _PURE_EXTERNS:
                continue
            if k in ("function", "extern_function", "extern_method", "action", "table_apply", "apply", "builtin"):
                return True
    return False


def _lhs_has_runtime_index(e: ast.Expr) -> bool:
    while isinstance(e, (ast.Member, ast.Index, ast.Slice)):
        if isinstance(e, ast.Index) and getattr(e.index, "const", None) is None:
            return True
        e = e.expr
    return False
