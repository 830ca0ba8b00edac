"""Table applies inside the expressions of control statements.

p4c moves such an apply to a statement of its own and keeps its result in a
temporary (its side-effect ordering pass), so that the table runs in the
control flow, where BMv2 can apply tables. Operands evaluated before the apply
are snapshotted into temporaries first; &&, || and ?: keep their short-circuit
evaluation (the apply sits in a branch of an if).
"""
from __future__ import annotations

import copy

from .. import ast
from ..errors import CompileError
from ..midend.inline import Frame
from ..types import BoolT, strip_newtype


def contains_apply(e) -> bool:
    """Whether the statement or expression e applies a table (not following references)."""
    if isinstance(e, (list, tuple)):
        return any(contains_apply(x) for x in e)
    if not isinstance(e, ast.Node):
        return False
    if isinstance(e, ast.Call) and getattr(e, "kind", "") == "table_apply":
        return True
    for k, v in vars(e).items():
        if k in ("ref", "target", "decl") or (k == "args" and hasattr(e, "bound")):
            continue
        if k == "bound":
            v = [a for _, a in v]
        if contains_apply(v):
            return True
    return False


class Hoister:
    def __init__(self, pipeline, fr: Frame) -> None:
        self.pl = pipeline  # PipelineBuilder
        self.fr = fr

    def temp(self, t, node: ast.Node) -> ast.PathExpr:
        decl = ast.VarDecl("tmp", ast.SimpleTypeRef("bool"), loc=node.loc)
        decl.ptype = t
        self.fr.bind(decl, self.pl.prog.alloc.alloc(t, "tmp", loc=node.loc))
        ref = ast.PathExpr("tmp", loc=node.loc, type=t)
        ref.ref = decl
        return ref

    def stmt(self, st: ast.Node) -> list[ast.Node]:
        """Statements equivalent to st, with no table apply inside an expression."""
        from .lower import _lhs_has_runtime_index
        if isinstance(st, ast.AssignStmt):
            if _lhs_has_runtime_index(st.lhs) or contains_apply(st.lhs):
                raise CompileError(st.loc, "unsupported by pybm-p4c: table apply in a value assigned "
                                           "to a run-time indexed location")
            pre, e = self.expr(st.rhs)
            return pre + [ast.AssignStmt(st.lhs, e, loc=st.loc)]
        if isinstance(st, ast.VarDecl) and st.init is not None:
            pre, e = self.expr(st.init)
            ref = ast.PathExpr(st.name, loc=st.loc, type=st.ptype)
            ref.ref = st  # the variable's storage is bound already (control bodies bind all locals first)
            return pre + [ast.AssignStmt(ref, e, loc=st.loc)]
        if isinstance(st, ast.CallStmt):
            pre, call = self.call(st.call)
            return pre + [ast.CallStmt(call, loc=st.loc)]
        raise CompileError(getattr(st, "loc", None), "unsupported by pybm-p4c: table apply inside this statement")

    def expr(self, e: ast.Expr) -> tuple[list[ast.Node], ast.Expr]:
        if not contains_apply(e):
            return [], e
        if isinstance(strip_newtype(e.type), BoolT) and not isinstance(e, ast.Ternary):
            tmp = self.temp(BoolT(), e)
            return self.pl._cond_to_temp(e, tmp), tmp
        if isinstance(e, ast.Ternary):
            pre, c = self.expr(e.cond)
            if not (contains_apply(e.then) or contains_apply(e.other)):
                n = copy.copy(e)
                n.cond = c
                return pre, n
            tmp = self.temp(e.type, e)
            branches = []
            for x in (e.then, e.other):
                p, v = self.expr(x)
                branches.append(ast.BlockStmt(p + [ast.AssignStmt(tmp, v, loc=x.loc)], loc=x.loc))
            return pre + [ast.IfStmt(c, branches[0], branches[1], loc=e.loc)], tmp
        if isinstance(e, ast.Call) and getattr(e, "kind", "") in ("function", "extern_function", "extern_method"):
            return self.call(e)
        kids = [k for k in ("expr", "left", "right") if isinstance(getattr(e, k, None), ast.Expr)]
        if isinstance(e, ast.Member) and getattr(e.expr, "kind", "") == "table_apply":
            raise CompileError(e.loc, "unsupported by pybm-p4c: table apply inside this expression")
        n = copy.copy(e)
        pre = self.operands(n, kids)
        return pre, n

    def operands(self, n: ast.Expr, names: list[str]) -> list[ast.Node]:
        """Hoist applies out of the operands n.<names> (in evaluation order), in place."""
        pre: list[ast.Node] = []
        last = max((i for i, k in enumerate(names) if contains_apply(getattr(n, k))), default=-1)
        for i, k in enumerate(names):
            x = getattr(n, k)
            if contains_apply(x):
                p, v = self.expr(x)
                pre += p
                setattr(n, k, v)
            elif i < last and getattr(x, "const", None) is None:
                # evaluated before the apply: keep the value it has now
                tmp = self.temp(x.type, x)
                pre.append(ast.AssignStmt(tmp, x, loc=x.loc))
                setattr(n, k, tmp)
        return pre

    def call(self, c: ast.Call) -> tuple[list[ast.Node], ast.Call]:
        if getattr(c, "kind", "") not in ("function", "extern_function", "extern_method", "action"):
            raise CompileError(c.loc, "unsupported by pybm-p4c: table apply inside this call")
        pre: list[ast.Node] = []
        bound = list(getattr(c, "bound", []))
        last = max((i for i, (_, a) in enumerate(bound) if a is not None and contains_apply(a)), default=-1)
        for i, (p, a) in enumerate(bound):
            if a is None:
                continue
            if contains_apply(a):
                if p.direction in ("out", "inout"):
                    raise CompileError(a.loc, "unsupported by pybm-p4c: table apply in an out/inout argument")
                q, v = self.expr(a)
                pre += q
                bound[i] = (p, v)
            elif i < last and p.direction not in ("out", "inout") and getattr(a, "const", None) is None:
                tmp = self.temp(a.type, a)
                pre.append(ast.AssignStmt(tmp, a, loc=a.loc))
                bound[i] = (p, tmp)
        n = copy.copy(c)
        n.bound = bound
        new_value = {id(a): v for (_, a), (_, v) in zip(c.bound, bound) if a is not None and v is not a}
        n.args = [ast.Argument(new_value.get(id(arg.value), arg.value), arg.name, loc=arg.loc)
                  if isinstance(arg, ast.Argument) else arg for arg in c.args]
        return pre, n
