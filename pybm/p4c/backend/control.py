"""Controls to BMv2 pipelines: tables, conditionals and p4c-style dummy tables.

The apply body is lowered back to front with a continuation (the node that
runs next): straight-line code becomes a dummy table tbl_* whose only action
(const default) holds the code; if becomes a conditional; t.apply() becomes
the table with next_tables (per action, or __HIT__/__MISS__); sub-controls
are inlined with their own Frame; return jumps to the control's continuation.
"""
from __future__ import annotations

from typing import Any

from .. import ast
from ..ast_text import expr_text
from ..constfold import EnumValue
from ..errors import CompileError
from ..midend.inline import Frame
from ..midend.locations import (
    ActionLoc,
    ConstLoc,
    ExprLoc,
    FieldLoc,
    HeaderLoc,
    InstanceLoc,
    TableLoc,
)
from ..types import ActionEnumT, BoolT, strip_newtype, width_of
from . import jsonexpr as J
from .hoist import Hoister, contains_apply
from .lower import Body, _has_side_effects

_STRAIGHT = (ast.AssignStmt, ast.VarDecl, ast.ConstDecl, ast.EmptyStmt)


class PipelineBuilder:
    def __init__(self, prog, name: str) -> None:
        self.prog = prog
        self.name = name
        self.tables: list[dict] = []
        self.conditionals: list[dict] = []
        self.applied: dict[str, ast.Node] = {}

    # ------------------------------------------------------------------ entry
    def build(self, decl: ast.ControlDecl, frame: Frame) -> dict:
        entry = self.lower_control_body(decl, frame, None)
        return {
            "name": self.name, "id": len(self.prog.pipelines),
            "source_info": self.prog.source_info(decl, fragment=decl.name),
            "init_table": entry, "tables": self.tables, "action_profiles": [],
            "conditionals": self.conditionals,
        }

    def lower_control_body(self, decl: ast.ControlDecl, frame: Frame, nxt: str | None) -> str | None:
        """Lower local declarations (variable initializers) and the apply body."""
        init: list[ast.Node] = [d for d in decl.locals if isinstance(d, ast.VarDecl)]
        self.prog.elaborate_locals(decl, frame)
        # the body is lowered back to front: give every local variable its storage first
        from .lower import _walk
        for n in _walk(decl.body):
            if isinstance(n, ast.VarDecl) and id(n) not in frame.env:
                frame.bind(n, self.prog.alloc.alloc(n.ptype, n.name, loc=n.loc))
        entry = self.lower_stmts(decl.body.stmts, frame, nxt, ret=nxt)
        stmts_init = [d for d in init if d.init is not None]
        if stmts_init:
            entry = self.dummy_table([ast.AssignStmt(ast.PathExpr(d.name, loc=d.loc), d.init, loc=d.loc)
                                      for d in stmts_init], frame, entry, init_decls=stmts_init)
        return entry

    # ------------------------------------------------------------------ statements
    def lower_stmts(self, stmts: list[ast.Node], fr: Frame, nxt: str | None, ret: str | None) -> str | None:
        # statements after exit/return in the same block never run
        cut = []
        for s in stmts:
            cut.append(s)
            if isinstance(s, (ast.ExitStmt, ast.ReturnStmt)):
                break
        stmts = cut
        cur = nxt
        pending: list[ast.Node] = []
        for st in reversed(stmts):
            if self._straight(st):
                pending.insert(0, st)
                continue
            if pending:
                cur = self.straight_code(pending, fr, cur)
                pending = []
            cur = self.lower_stmt(st, fr, cur, ret)
        if pending:
            cur = self.straight_code(pending, fr, cur)
        return cur

    def _straight(self, st: ast.Node) -> bool:
        if isinstance(st, (ast.AssignStmt, ast.VarDecl, ast.CallStmt)) and contains_apply(st):
            return False  # lower_stmt moves the table apply out of the expression
        if isinstance(st, _STRAIGHT):
            return True
        if isinstance(st, ast.ForStmt):
            # a loop runs inside one action (BMv2 actions can jump; pipelines cannot loop)
            from .lower import _walk
            for n in _walk(st):
                if isinstance(n, ast.Call) and getattr(n, "kind", "") in ("table_apply", "apply"):
                    raise CompileError(n.loc, "unsupported by pybm-p4c: table or control apply inside a for loop")
                if isinstance(n, (ast.ExitStmt, ast.ReturnStmt)):
                    raise CompileError(n.loc, "unsupported by pybm-p4c: exit/return inside a for loop")
            return True
        if isinstance(st, ast.CallStmt):
            return getattr(st.call, "kind", "") not in ("table_apply", "apply", "action")
        return False

    def straight_code(self, stmts: list[ast.Node], fr: Frame, nxt: str | None) -> str | None:
        # declarations need storage even when they have no initializer
        real = [s for s in stmts if not isinstance(s, ast.EmptyStmt)]
        if not real:
            return nxt
        only_decls = all(isinstance(s, (ast.VarDecl, ast.ConstDecl)) and
                         (getattr(s, "init", None) is None if isinstance(s, ast.VarDecl) else True)
                         for s in real)
        if only_decls:
            body = Body()
            for s in real:
                self.prog.lowerer.stmt(s, fr, body)
            if not body.prims:
                return nxt
            return self.table_for_body(body, real[0], nxt)
        return self.dummy_table(real, fr, nxt)

    def dummy_table(self, stmts: list[ast.Node], fr: Frame, nxt: str | None, init_decls=None) -> str | None:
        body = Body()
        low = self.prog.lowerer
        if init_decls:
            for d in init_decls:
                loc = fr.lookup(d)
                low.assign(loc, d.init, fr, body, d)
        else:
            for s in stmts:
                low.stmt(s, fr, body)
        if not body.prims:
            return nxt
        return self.table_for_body(body, stmts[0], nxt)

    def table_for_body(self, body: Body, node: ast.Node, nxt: str | None) -> str:
        base = self.prog.node_name(node)
        aid, aname = self.prog.add_action(base, [], body.finish(), hidden=True)
        return self.const_table("tbl_" + aname, aid, aname, [], node, nxt)

    def const_table(self, name: str, aid: int, aname: str, data: list, node, nxt: str | None) -> str:
        name = self.prog.unique_table_name(name)
        self.tables.append({
            "name": name, "id": self.prog.next_table_id(),
            "source_info": self.prog.source_info(node),
            "key": [], "match_type": "exact", "type": "simple", "max_size": 1024,
            "with_counters": False, "support_timeout": False, "direct_meters": None,
            "action_ids": [aid], "actions": [aname],
            "base_default_next": nxt, "next_tables": {aname: nxt},
            "default_entry": {"action_id": aid, "action_const": True, "action_data": data,
                              "action_entry_const": True},
        })
        return name

    def lower_stmt(self, st: ast.Node, fr: Frame, nxt: str | None, ret: str | None) -> str | None:
        if isinstance(st, ast.BlockStmt):
            return self.lower_stmts(st.stmts, fr, nxt, ret)
        if isinstance(st, (ast.AssignStmt, ast.VarDecl, ast.CallStmt)) and contains_apply(st) and not (
                isinstance(st, ast.CallStmt) and getattr(st.call, "kind", "") == "table_apply"):
            return self.lower_stmts(Hoister(self, fr).stmt(st), fr, nxt, ret)
        if self._straight(st):
            return self.straight_code([st], fr, nxt)
        if isinstance(st, ast.ReturnStmt):
            return ret
        if isinstance(st, ast.ExitStmt):
            body = Body()
            body.emit(self.prog.lowerer.prim("exit", [], st))
            return self.table_for_body(body, st, None)
        if isinstance(st, ast.IfStmt):
            return self.lower_if(st, fr, nxt, ret)
        if isinstance(st, ast.SwitchStmt):
            return self.lower_switch(st, fr, nxt, ret)
        if isinstance(st, ast.CallStmt):
            call = st.call
            kind = getattr(call, "kind", "")
            if kind == "table_apply":
                return self.apply_table(call, fr, {"*": nxt})
            if kind == "apply":
                return self.apply_control(call, fr, nxt)
            if kind == "action":
                return self.direct_action(call, fr, nxt)
        raise CompileError(getattr(st, "loc", None), f"unsupported statement {type(st).__name__} in a control")

    def lower_if(self, st: ast.IfStmt, fr: Frame, nxt: str | None, ret: str | None) -> str | None:
        c = getattr(st.cond, "const", None)
        if isinstance(c, bool):
            branch = st.then if c else st.other
            return self.lower_stmt(branch, fr, nxt, ret) if branch is not None else nxt
        hit = _table_hit_test(st.cond)
        if hit is None and _contains_table_apply(st.cond):
            # a table applied inside a larger condition: evaluate the condition into a
            # temporary with control flow, keeping && / || short-circuit semantics
            tmp_decl, tmp_ref = self._bool_temp(fr, st.cond)
            stmts = self._cond_to_temp(st.cond, tmp_ref) + [ast.IfStmt(tmp_ref, st.then, st.other, loc=st.loc)]
            return self.lower_stmts(stmts, fr, nxt, ret)
        t_next = self.lower_stmt(st.then, fr, nxt, ret)
        f_next = self.lower_stmt(st.other, fr, nxt, ret) if st.other is not None else nxt
        if hit is not None:
            call, positive = hit
            if positive:
                return self.apply_table(call, fr, {"__HIT__": t_next, "__MISS__": f_next})
            return self.apply_table(call, fr, {"__HIT__": f_next, "__MISS__": t_next})
        body = Body()
        expr = self.prog.lowerer.cond(st.cond, fr, body)
        name = self.prog.next_cond_name()
        self.conditionals.append({
            "name": name, "id": self.prog.cond_id(name),
            "source_info": self.prog.source_info(st.cond, fragment=expr_text(st.cond)),
            "expression": expr, "true_next": t_next, "false_next": f_next,
        })
        if body.prims:
            return self.table_for_body(body, st, name)
        return name

    def _bool_temp(self, fr: Frame, node: ast.Node):
        decl = ast.VarDecl("cond_tmp", ast.SimpleTypeRef("bool"), loc=node.loc)
        decl.ptype = BoolT()
        fr.bind(decl, self.prog.alloc.alloc(BoolT(), "cond_tmp", loc=node.loc))
        ref = ast.PathExpr("cond_tmp", loc=node.loc, type=BoolT())
        ref.ref = decl
        return decl, ref

    def _cond_to_temp(self, e: ast.Expr, tmp: ast.PathExpr) -> list[ast.Node]:
        loc = e.loc

        def assign(v: ast.Expr) -> ast.AssignStmt:
            return ast.AssignStmt(tmp, v, loc=loc)

        def lit(b: bool) -> ast.BoolLit:
            x = ast.BoolLit(b, loc=loc, type=BoolT())
            x.const = b
            return x
        if not _contains_table_apply(e):
            return [assign(e)]
        if isinstance(e, ast.Binary) and e.op in ("&&", "||"):
            first = self._cond_to_temp(e.left, tmp)
            rest = ast.BlockStmt(self._cond_to_temp(e.right, tmp), loc=loc)
            test = tmp if e.op == "&&" else ast.Unary("!", tmp, loc=loc, type=BoolT())
            return first + [ast.IfStmt(test, rest, None, loc=loc)]
        if isinstance(e, ast.Unary) and e.op == "!":
            return self._cond_to_temp(e.expr, tmp) + [assign(ast.Unary("!", tmp, loc=loc, type=BoolT()))]
        hit = _table_hit_test(e)
        if hit is not None:
            return [ast.IfStmt(e, assign(lit(True)), assign(lit(False)), loc=loc)]
        raise CompileError(loc, "unsupported by pybm-p4c: table apply inside this expression")

    def lower_switch(self, st: ast.SwitchStmt, fr: Frame, nxt: str | None, ret: str | None) -> str | None:
        if isinstance(st.expr.type, ActionEnumT):
            call = st.expr.expr  # Member(action_run) of the apply call
            table_loc = self._table_loc(call, fr)
            mapping: dict[str, str | None] = {}
            default_target = nxt
            pending: list[str] = []
            for c in st.cases:
                if c.label is None:
                    target = self.lower_stmt(c.body, fr, nxt, ret) if c.body is not None else nxt
                    default_target = target
                    for lab in pending:
                        mapping[lab] = target
                    pending = []
                    continue
                pending.append(c.label.name)
                if c.body is None:
                    continue
                target = self.lower_stmt(c.body, fr, nxt, ret)
                for lab in pending:
                    mapping[lab] = target
                pending = []
            by_action: dict[str, str | None] = {}
            for ar in table_loc.decl.action_refs:
                by_action[ar.name] = mapping.get(ar.name, default_target)
            return self.apply_table(call, fr, {"actions": by_action, "*": nxt})
        # switch on a value: a chain of conditionals comparing the value
        low = self.prog.lowerer
        pre = Body()
        v = low.data(st.expr, fr, pre)
        if _has_side_effects(st.expr) or not isinstance(v, dict) or v.get("type") == "expression":
            tmp = self.prog.alloc.alloc(st.expr.type, "switch_tmp", loc=st.loc)
            low.assign_scalar(tmp, v, False, pre, st)
            v = tmp.json()
        groups: list[tuple[list, ast.Node | None]] = []
        pending_labels: list = []
        for c in st.cases:
            pending_labels.append(c.label)
            if c.body is not None:
                groups.append((pending_labels, c.body))
                pending_labels = []
        cur = nxt
        for labels, blk in reversed(groups):
            target = self.lower_stmt(blk, fr, nxt, ret)
            if any(lab is None for lab in labels):
                cur = target
                continue
            test = None
            for lab in labels:
                lj, _ = low.rvalue(lab, fr, pre)
                x = J.op("==", v, lj)
                test = x if test is None else J.op("or", test, x)
            name = self.prog.next_cond_name()
            self.conditionals.append({"name": name, "id": self.prog.cond_id(name),
                                      "source_info": self.prog.source_info(st),
                                      "expression": test, "true_next": target, "false_next": cur})
            cur = name
        if pre.prims:
            return self.table_for_body(pre, st, cur)
        return cur

    # ------------------------------------------------------------------ tables
    def _table_loc(self, call: ast.Call, fr: Frame) -> TableLoc:
        loc = fr.lookup(call.target)
        if not isinstance(loc, TableLoc):
            raise CompileError(call.loc, "internal: table not bound")
        return loc

    def apply_table(self, call: ast.Call, fr: Frame, nexts: dict) -> str:
        tl = self._table_loc(call, fr)
        if tl.name in self.applied or tl.name in self.prog.all_applied_tables:
            raise CompileError(call.loc, f"unsupported by pybm-p4c: table '{tl.decl.name}' is applied more "
                               "than once (BMv2 needs one place per table; use two tables)")
        self.applied[tl.name] = call
        self.prog.all_applied_tables.add(tl.name)
        pre = Body()
        tj = self.prog.tables.table_json(tl, pre, nexts)
        self.tables.append(tj)
        if pre.prims:
            return self.table_for_body(pre, tl.decl, tj["name"])
        return tj["name"]

    def direct_action(self, call: ast.Call, fr: Frame, nxt: str | None) -> str | None:
        d: ast.ActionDecl = call.target
        aloc = fr.lookup(d)
        if not d.params and isinstance(aloc, ActionLoc):  # nothing to bind: the action itself
            aid, aname = self.prog.action_for(aloc)
            return self.const_table("tbl_" + d.name, aid, aname, [], call, nxt)
        # the arguments are inlined into a copy of the action that keeps the action's name and
        # has no run-time data (p4c's RemoveActionParameters), called from a hidden table
        body = Body()
        self.prog.lowerer.inline_action(call, fr, body)
        name = aloc.name if isinstance(aloc, ActionLoc) else self.prog.node_name(call)
        aid, aname = self.prog.add_action(name, [], body.finish(), hidden=not isinstance(aloc, ActionLoc),
                                          decl=d if isinstance(aloc, ActionLoc) else None,
                                          same_name=isinstance(aloc, ActionLoc))
        return self.const_table("tbl_" + d.name, aid, aname, [], call, nxt)

    # ------------------------------------------------------------------ sub-controls
    def apply_control(self, call: ast.Call, fr: Frame, nxt: str | None) -> str | None:
        if getattr(call, "direct", False):
            inst = self.prog.direct_instance(call.target, fr)
        else:
            inst = self.prog.lowerer.lvalue(call.func.expr, fr, Body())
            if not isinstance(inst, InstanceLoc):
                raise CompileError(call.loc, "apply of something that is not a control instance")
        decl: ast.ControlDecl = inst.decl
        callee = self.prog.instance_frame(inst, "control")
        # the call was checked against the instance's declared type: rebind by position
        bound = [(p, a) for p, (_, a) in zip(decl.params, call.bound)]
        pre = Body()
        low = self.prog.lowerer
        copy_outs = low.bind_params(bound, fr, callee, pre, decl.body, call)
        if copy_outs:
            from .lower_calls import _walk_nodes
            if any(isinstance(n, ast.ExitStmt) for n in _walk_nodes(decl)):
                raise CompileError(call.loc, "unsupported by pybm-p4c: exit inside a control whose "
                                             "out/inout argument got a temporary (copy-out on exit)")
            # copy-out of the arguments that were given temporaries, after the body
            post = Body()
            for dst, tmp in copy_outs:
                low.copy_out(dst, tmp, fr, post, call)
            nxt = self.table_for_body(post, call, nxt)
        entry = self.lower_control_body(decl, callee, nxt)
        if pre.prims:
            return self.table_for_body(pre, call, entry)
        return entry


def _contains_table_apply(e: ast.Expr) -> bool:
    from .lower import _walk
    return any(isinstance(n, ast.Call) and getattr(n, "kind", "") == "table_apply" for n in _walk(e))


def _table_hit_test(cond: ast.Expr) -> tuple[ast.Call, bool] | None:
    positive = True
    e = cond
    while isinstance(e, ast.Unary) and e.op == "!":
        positive = not positive
        e = e.expr
    if isinstance(e, ast.Member) and e.name in ("hit", "miss") and isinstance(e.expr, ast.Call) \
            and getattr(e.expr, "kind", "") == "table_apply":
        return e.expr, positive if e.name == "hit" else not positive
    return None


__all__ = ["PipelineBuilder", "BoolT", "ConstLoc", "ExprLoc", "FieldLoc", "HeaderLoc", "EnumValue",
           "strip_newtype", "width_of", "Any"]
