"""Lowering of calls: builtin header/stack methods, inlined functions and actions,
argument binding (mixin of Lowerer)."""
from __future__ import annotations

from typing import TYPE_CHECKING

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
            kind = "union_stack" if target.union_stack else "header_stack"
            self.emit_prim("push" if m == "push_front" else "pop",
                           [{"type": kind, "value": target.inst}, J.hexstr(e.count)], body, e)
            return None
        if m in ("minSizeInBits", "minSizeInBytes"):
            return ConstLoc(e.const, IntT())
        raise CompileError(e.loc, f"unsupported method {m}")

    def bind_params(self, bound: list, fr: Frame, callee: Frame, body: Body, decl_body: ast.Node | None,
                    e: ast.Call) -> None:
        written = assigned_names(decl_body) if decl_body is not None else set()
        for p, a in bound:
            if a is None:
                if p.direction == "out":
                    callee.bind(p, self.alloc.alloc(p.ptype, f"{p.name}_dontcare", loc=e.loc))
                continue
            if p.direction in ("out", "inout") or isinstance(p.ptype, ObjectT):
                callee.bind(p, self.lvalue(a, fr, body))
                continue
            c = getattr(a, "const", None)
            if c is not None and id(p) not in written:
                callee.bind(p, ConstLoc(c, p.ptype))
                continue
            t = strip_newtype(p.ptype)
            if isinstance(t, (StructT, StackT)):
                src = self.lvalue(a, fr, body)
                if id(p) in written:
                    copy = self.alloc.alloc(p.ptype, p.name, loc=e.loc)
                    self.copy_loc(copy, src, body, e)
                    src = copy
                callee.bind(p, src)
                continue
            # snapshot 'in' arguments: the callee may change the argument's storage
            tmp = self.alloc.alloc(p.ptype, p.name, loc=e.loc)
            self.assign(tmp, a, fr, body, e)
            callee.bind(p, tmp)

    def inline_function(self, e: ast.Call, fr: Frame, body: Body) -> Loc | None:
        d: ast.FunctionDecl = e.target
        parent = self.prog.decl_frame(d, fr)
        callee = Frame(parent, parent.prefix if parent else "", "function")
        self.bind_params(e.bound, fr, callee, body, d.body, e)
        ret = d.proto.ret
        saved = (body.ret_label, body.ret_loc)
        from .lower import Label
        body.ret_label = Label()
        body.ret_loc = None if isinstance(ret, VoidT) else self.alloc.alloc(ret, "retval", loc=e.loc)
        from .lower import _has_control_flow
        if body.in_parser and _has_control_flow(d.body):
            raise CompileError(e.loc, "unsupported by pybm-p4c: functions with if/return called from a parser")
        self.stmt(d.body, callee, body)
        body.place(body.ret_label)
        result = body.ret_loc
        body.ret_label, body.ret_loc = saved
        return result

    def inline_action(self, e: ast.Call, fr: Frame, body: Body) -> None:
        d: ast.ActionDecl = e.target
        parent = self.prog.decl_frame(d, fr)
        callee = Frame(parent, parent.prefix if parent else "", "action")
        self.bind_params(e.bound, fr, callee, body, d.body, e)
        saved = (body.ret_label, body.ret_loc)
        from .lower import Label
        body.ret_label = Label()
        body.ret_loc = None
        self.stmt(d.body, callee, body)
        body.place(body.ret_label)
        body.ret_label, body.ret_loc = saved
