"""Lowering of calls: builtin header/stack methods, inlined functions and actions,
argument binding (mixin of Lowerer)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import ast
from ..errors import CompileError
from ..midend.inline import Frame, assigned_names
from ..midend.locations import ConstLoc, DynElemLoc, ExprLoc, HeaderLoc, Loc
from ..types import BoolT, IntT, ObjectT, StackT, StructT, VoidT, strip_newtype
from . import jsonexpr as J

if TYPE_CHECKING:
    from .lower import Body


class CallLowerer:
    # ------------------------------------------------------------------ calls
    def call(self, e: ast.Call, fr: Frame, body: Body, want_result: bool) -> Loc | None:
        kind = getattr(e, "kind", None)
        if kind == "builtin":
            return self.builtin(e, fr, body)
        if kind == "function":
            return self.inline_function(e, fr, body)
        if kind == "action":
            self.inline_action(e, fr, body)
            return None
        if kind in ("extern_function", "extern_method"):
            return self.prog.externs.call(e, fr, body, want_result)
        if kind in ("table_apply", "apply"):
            raise CompileError(e.loc, "unsupported by pybm-p4c: apply() inside an action or function")
        raise CompileError(e.loc, "unsupported call")

    def builtin(self, e: ast.Call, fr: Frame, body: Body) -> Loc | None:
        m = e.method
        target = self.lvalue(e.func.expr, fr, body)
        if m == "isValid":
            return ExprLoc(self.valid_expr(target, e), BoolT(), True)
        if m in ("setValid", "setInvalid"):
            op = "add_header" if m == "setValid" else "remove_header"
            if isinstance(target, DynElemLoc):
                raise CompileError(e.loc, f"unsupported by pybm-p4c: {m}() at a run-time stack index")
            if not isinstance(target, HeaderLoc):
                raise CompileError(e.loc, f"{m}() needs a header")
            self.emit_prim(op, [{"type": "header", "value": target.inst}], body, e)
            return None
        if m in ("push_front", "pop_front"):
            kind = "header_union_stack" if target.union_stack else "header_stack"
            self.emit_prim("push" if m == "push_front" else "pop",
                           [{"type": kind, "value": target.inst}, J.hexstr(e.count)], body, e)
            return None
        if m in ("minSizeInBits", "minSizeInBytes"):
            return ConstLoc(e.const, IntT())
        raise CompileError(e.loc, f"unsupported method {m}")

    def bind_params(self, bound: list, fr: Frame, callee: Frame, body: Body, decl_body: ast.Node | None,
                    e: ast.Call) -> list[tuple[Loc, Loc]]:
        """Bind the callee's parameters; -> the copy-outs to emit after its body.

        'out'/'inout' arguments are normally bound to the caller's storage
        directly. Where that could differ from P4's copy-in/copy-out (the
        argument's storage is also reachable another way: through another
        argument of the call, or by the callee's body naming it directly, as an
        action may name its control's headers), the parameter gets a temporary:
        copied in (inout), and copied back when the callee returns.
        """
        written = assigned_names(decl_body) if decl_body is not None else set()
        seen_by_body = _referenced_decls(decl_body) if decl_body is not None else set()
        roots = [_root_of(a) for _, a in bound]
        # arguments the callee reaches by reference: out/inout ones, and 'in' headers,
        # structs and stacks (not copied unless something could change them meanwhile)
        by_ref = [p is not None and a is not None and not isinstance(p.ptype, ObjectT) and (
            p.direction in ("out", "inout")
            or isinstance(strip_newtype(p.ptype), (StructT, StackT))) for p, a in bound]
        writable_roots = {r for (p, a), r in zip(bound, roots)
                          if r is not None and a is not None and p.direction in ("out", "inout")}
        copy_outs: list[tuple[Loc, Loc]] = []
        for i, (p, a) in enumerate(bound):
            if a is None:
                if p.direction == "out":
                    callee.bind(p, self.alloc.alloc(p.ptype, f"{p.name}_dontcare", loc=e.loc))
                continue
            if isinstance(p.ptype, ObjectT):
                callee.bind(p, self.lvalue(a, fr, body))
                continue
            if p.direction in ("out", "inout") and isinstance(a, ast.Slice):
                # a slice argument: a temporary, copied in (inout) and stored back into the slice
                tmp = self.alloc.alloc(p.ptype, p.name, loc=e.loc)
                if p.direction == "inout":
                    self.assign(tmp, a, fr, body, e)
                callee.bind(p, tmp)
                copy_outs.append((a, tmp))
                continue
            if p.direction in ("out", "inout"):
                dst = self.lvalue(a, fr, body)
                root = roots[i]
                aliased = root is not None and (
                    root in seen_by_body or any(r == root and by_ref[j] for j, r in enumerate(roots) if j != i))
                if not aliased:
                    callee.bind(p, dst)
                    continue
                if isinstance(dst, DynElemLoc):
                    raise CompileError(a.loc, "unsupported by pybm-p4c: an out/inout argument at a "
                                              "run-time stack index whose storage the callee also reaches")
                tmp = self.alloc.alloc(p.ptype, p.name, loc=e.loc)
                if p.direction == "inout":
                    self.copy_loc(tmp, dst, body, e)
                callee.bind(p, tmp)
                copy_outs.append((dst, tmp))
                continue
            c = getattr(a, "const", None)
            if c is not None and id(p) not in written:
                callee.bind(p, ConstLoc(c, p.ptype))
                continue
            t = strip_newtype(p.ptype)
            if isinstance(t, (StructT, StackT)):
                src = self.lvalue(a, fr, body)
                # copy-in takes the value now: snapshot it when the callee writes the
                # parameter, or may write the argument's storage (through an out/inout
                # argument rooted at the same variable, or by naming that variable)
                root = roots[i]
                if id(p) in written or (root is not None and (root in writable_roots or root in written)):
                    copy = self.alloc.alloc(p.ptype, p.name, loc=e.loc)
                    self.copy_loc(copy, src, body, e)
                    src = copy
                callee.bind(p, src)
                continue
            # snapshot 'in' arguments: the callee may change the argument's storage
            tmp = self.alloc.alloc(p.ptype, p.name, loc=e.loc)
            self.assign(tmp, a, fr, body, e)
            callee.bind(p, tmp)
        return copy_outs

    def copy_out(self, dst: Loc | ast.Slice, tmp: Loc, fr: Frame, body: Body, e: ast.Call) -> None:
        """Copy a parameter's temporary back to the caller's argument (a location or a slice)."""
        if isinstance(dst, ast.Slice):
            self.store_slice(dst, tmp, fr, body, e)
        else:
            self.copy_loc(dst, tmp, body, e)

    def inline_function(self, e: ast.Call, fr: Frame, body: Body) -> Loc | None:
        d: ast.FunctionDecl = e.target
        parent = self.prog.decl_frame(d, fr)
        callee = Frame(parent, parent.prefix if parent else "", "function")
        copy_outs = self.bind_params(e.bound, fr, callee, body, d.body, e)
        ret = d.proto.ret
        saved = (body.ret_label, body.ret_loc)
        from .lower import Label
        body.ret_label = Label()
        body.ret_loc = None if isinstance(ret, VoidT) else self.alloc.alloc(ret, "retval", loc=e.loc)
        from .lower import _has_control_flow
        if body.in_parser and _has_control_flow(d.body):
            raise CompileError(e.loc, "unsupported by pybm-p4c: functions with if/return called from a parser")
        body.exit_copies.append((copy_outs, fr, e))
        self.stmt(d.body, callee, body)
        body.exit_copies.pop()
        body.place(body.ret_label)
        for dst, tmp in copy_outs:
            self.copy_out(dst, tmp, fr, body, e)
        result = body.ret_loc
        body.ret_label, body.ret_loc = saved
        return result

    def inline_action(self, e: ast.Call, fr: Frame, body: Body) -> None:
        d: ast.ActionDecl = e.target
        parent = self.prog.decl_frame(d, fr)
        callee = Frame(parent, parent.prefix if parent else "", "action")
        copy_outs = self.bind_params(e.bound, fr, callee, body, d.body, e)
        saved = (body.ret_label, body.ret_loc)
        from .lower import Label
        body.ret_label = Label()
        body.ret_loc = None
        body.exit_copies.append((copy_outs, fr, e))
        self.stmt(d.body, callee, body)
        body.exit_copies.pop()
        body.place(body.ret_label)
        for dst, tmp in copy_outs:
            self.copy_out(dst, tmp, fr, body, e)
        body.ret_label, body.ret_loc = saved


def _root_of(e: ast.Expr | None) -> int | None:
    """id of the declaration an lvalue argument is rooted at (hdr in hdr.h.f)."""
    while isinstance(e, (ast.Member, ast.Index, ast.Slice)):
        e = e.expr
    if isinstance(e, ast.PathExpr) and hasattr(e, "ref"):
        return id(e.ref)
    return None


def _walk_nodes(node: Any):
    yield node
    for v in vars(node).values() if isinstance(node, ast.Node) else ():
        if isinstance(v, ast.Node):
            yield from _walk_nodes(v)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, ast.Node):
                    yield from _walk_nodes(x)


def _referenced_decls(node: ast.Node) -> set[int]:
    """ids of the declarations a callee's body names."""
    return {id(n.ref) for n in _walk_nodes(node) if isinstance(n, ast.PathExpr) and hasattr(n, "ref")}
