"""p4c's `[--Wwarn=uninitialized-use] warning: X may be uninitialized` (its SimplifyDefUse).

A forward 'may be uninitialized' analysis over each parser and control, field by field:

- uninitialized at the start: the fields of `out` parameters, and variables declared
  without an initializer (control and parser locals, block locals, an action's or a
  function's `out` parameters while its body runs);
- a read of an l-value (a variable, a field, a whole struct or header) warns when some
  field under it may still be uninitialized on some path (one warning per source
  position, as p4c's error reporter gives); a struct or header read whole is named with
  its first such field, one level down (`s.inner`, not `s.inner.x`); a stack read whole
  "may not be completely initialized";
- variables nothing refers to whose initializer is free of side effects (isValid aside)
  are gone first, to a fixed point, as p4c's RemoveAllUnusedDeclarations runs before its
  def-use: their initializers are not read (removed_declarations);
- defined by an assignment, an `out`/`inout` argument of any call (`extract` defines the
  whole header), the copy-out of an action or a function; `setValid()` defines nothing;
- actions are followed at their call sites, a table's actions at its apply (any one of
  them may run); a function is checked once, where it is declared; a parser's states to a
  fixed point over its transitions; `return` and `exit` do not end a path (as in p4c);
- a header stack element by element at constant indices (a run-time index, `next` or
  `last` writes the whole stack and reads nothing p4c would name); header unions are
  not tracked;
- an action's, a function's or a control's `out` parameter that may be uninitialized
  outside its headers (p4c leaves headers out: they may be invalid) when its body ends:
  `[--Wwarn=uninitialized-out-param] warning: out parameter 'y' may be uninitialized
  when 'a' terminates` there; and, for an action called from a control's apply block or
  a table (not one called only from other actions: p4c inlines those into their caller
  first), after every block's warnings, `y may be uninitialized` at the parameter, headers
  included (p4c's later def-use run reads it for the copy-out).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from . import ast
from .ast_text import expr_text
from .errors import SourceLoc
from .types import StackT, StructT, strip_newtype

Key = tuple[int, str]  # (id of the root declaration, ".field.path" under it)


def _leaves(t: Any, path: str, in_header: bool = False) -> list[tuple[str, bool]]:
    """The leaves under a value of type t: (path, whether it lies in a header)."""
    t = strip_newtype(t)
    if isinstance(t, StackT):  # element by element, as p4c's def-use
        return [leaf for i in range(t.size) for leaf in _leaves(t.elem, f"{path}[{i}]", True)]
    if isinstance(t, StructT):
        if t.kind == "header_union":
            return []
        out: list[tuple[str, bool]] = []
        for name, ft, _ in t.fields:
            out.extend(_leaves(ft, f"{path}.{name}", in_header or t.kind == "header"))
        return out
    return [(path, in_header)]


def _root(e: Any) -> tuple[Any, str, SourceLoc | None, list] | None:
    """(root declaration, field path, location of the root, index expressions) of a
    trackable l-value; an element of a stack (`s[i]`, `s.next`, `s.last`) stands for the
    whole stack, and its index expressions are listed (the access is then partial)."""
    path, indices, partial = "", [], False
    while True:
        if isinstance(e, ast.Member):
            if isinstance(strip_newtype(getattr(e.expr, "type", None)), StackT):
                path, partial = "", True  # next, last, lastIndex, size
            else:
                path = f".{e.name}{path}"
            e = e.expr
        elif isinstance(e, ast.Index):
            v = getattr(e.index, "const", None)
            if isinstance(v, int) and isinstance(strip_newtype(getattr(e.expr, "type", None)), StackT):
                path = f"[{v}]{path}"
            else:
                path, partial = "", True
                indices.append(e.index)
            e = e.expr
        else:
            break
    if isinstance(e, ast.PathExpr) and isinstance(getattr(e, "ref", None), (ast.Param, ast.VarDecl)):
        return e.ref, path, e.loc, (indices if partial else None)
    return None


def _under(u: str, path: str) -> bool:
    return u == path or u.startswith(path + ".") or u.startswith(path + "[")


def _uninit_message(name: str, leaf: str, path: str) -> str:
    """p4c's words for a read of 'name' (at 'path' under its declaration) while 'leaf'
    (the first uninitialized leaf under it) may be unset: a struct or header read whole
    is named with its first such field (one level down, not to the leaf); a stack read
    whole is 'not completely initialized'."""
    rest = leaf[len(path):]
    if rest.startswith("["):
        return f"{name} may not be completely initialized"
    if rest:
        cut = [i for i in (rest.find(".", 1), rest.find("[", 1)) if i > 0]
        name += rest[:min(cut)] if cut else rest
    return f"{name} may be uninitialized"


def side_effect_free(e: Any) -> bool:
    """No call in the expression (isValid and the size methods aside), as p4c's SideEffects."""
    found = False

    def visit(n: Any) -> None:
        nonlocal found
        if isinstance(n, ast.ConstructorCall) or (
                isinstance(n, ast.Call) and not (getattr(n, "kind", None) == "builtin" and getattr(
                    n, "method", "") in ("isValid", "minSizeInBits", "minSizeInBytes"))):
            found = True
    walk_nodes(e, visit, set())
    return not found


def walk_nodes(n: Any, visit: Any, seen: set[int], skip: set[int] | None = None) -> None:
    """Every node under n (its declared fields), following the bodies of the actions it
    calls or lists in a table; the initializers of the declarations in 'skip' are left out."""
    if isinstance(n, (list, tuple)):
        for x in n:
            walk_nodes(x, visit, seen, skip)
        return
    if not isinstance(n, ast.Node):
        return
    visit(n)
    for f in dataclasses.fields(n):
        if f.name == "init" and skip and id(n) in skip:
            continue
        v = getattr(n, f.name, None)
        if isinstance(v, (ast.Node, list, tuple)):
            walk_nodes(v, visit, seen, skip)
    callee = getattr(n, "target", None) if isinstance(n, ast.Call) and getattr(n, "kind", None) == "action" \
        else getattr(n, "decl", None) if isinstance(n, ast.ActionRef) else None
    if isinstance(callee, ast.ActionDecl) and id(callee) not in seen:
        seen.add(id(callee))
        walk_nodes(callee.body, visit, seen, skip)


def _nodes(root: Any, skip: set[int]) -> list:
    out: list = []
    walk_nodes(root, out.append, set(), skip)
    return out


def removed_declarations(root: Any) -> set[int]:
    """The variables with an initializer free of side effects that nothing refers to
    (once the initializers of such variables are gone: to a fixed point): p4c removes them
    before its def-use analysis, so their initializers are neither read nor checked."""
    cands: dict[int, Any] = {}

    def candidate(n: Any) -> None:
        if isinstance(n, ast.VarDecl) and n.init is not None and side_effect_free(n.init):
            cands[id(n)] = n
    walk_nodes(root, candidate, set())
    removed: set[int] = set()
    while cands:
        refs = {id(n.ref) for n in _nodes(root, removed)
                if isinstance(n, ast.PathExpr) and getattr(n, "ref", None) is not None}
        now = {k for k in cands if k not in refs}
        if now == removed:
            break
        removed = now
    return removed


class UninitChecker:
    """Walks one parser or control; reports through warn(loc, message, text, kind, also)."""

    def __init__(self, warn: Any) -> None:
        self._warn = warn
        self.cur: set[Key] | None = set()
        self.order: dict[Key, int] = {}
        self.names: dict[int, str] = {}
        self.active: set[int] = set()
        self.quiet = False
        self.late: list[tuple] = []  # (loc, message, text): warnings p4c gives after every block's
        self.in_header: set[Key] = set()  # the leaves that lie in a header
        self.removed: set[int] = set()  # declarations p4c removes first (removed_declarations)
        self.actions = 0  # how many action bodies are being walked

    # ------------------------------------------------------------ state
    def declare(self, decl: Any, t: Any) -> None:
        self.names[id(decl)] = decl.name
        if self.cur is None:
            return
        for leaf, in_header in _leaves(t, ""):
            k = (id(decl), leaf)
            self.order.setdefault(k, len(self.order))
            self.cur.add(k)
            if in_header:
                self.in_header.add(k)

    def define(self, e: Any) -> None:
        r = _root(e)
        if r is None:
            self.read_inner(e)
            return
        decl, path, _, indices = r
        for i in indices or []:
            self.read(i)
        if self.cur is not None:
            self.cur = {k for k in self.cur if not (k[0] == id(decl) and _under(k[1], path))}

    def read(self, e: Any) -> None:
        """Reads e (an expression), warning on uninitialized l-values."""
        if e is None or isinstance(e, ast.DontCare):
            return
        if isinstance(e, (ast.Member, ast.PathExpr, ast.Index)):
            r = _root(e)
            if r is not None:
                decl, path, loc, indices = r
                if indices is not None:  # an element of a stack: not reported (p4c names it otherwise)
                    for i in indices:
                        self.read(i)
                    return
                if self.cur is not None and not self.quiet:
                    hits = [k for k in self.cur if k[0] == id(decl) and _under(k[1], path)]
                    if hits:
                        first = min(hits, key=lambda k: self.order.get(k, 0))
                        name = self.names.get(id(decl), decl.name) + path
                        self._warn(loc, _uninit_message(name, first[1], path),
                                   expr_text(e), "uninitialized-use", None)
                return
        if isinstance(e, ast.Call):
            self.call(e)
            return
        if isinstance(e, ast.Ternary):
            self.read(e.cond)
            before = None if self.cur is None else set(self.cur)
            self.read(e.then)
            a, self.cur = self.cur, before
            self.read(e.other)
            self.cur = _union(a, self.cur)
            return
        self.read_inner(e)

    def read_inner(self, e: Any) -> None:
        if isinstance(e, ast.StructInit):
            for _, v in e.fields:
                self.read(v)
            return
        if isinstance(e, ast.Node):
            for v in vars(e).values():
                if isinstance(v, ast.Expr):
                    self.read(v)
                elif isinstance(v, list):
                    for x in v:
                        if isinstance(x, ast.Expr):
                            self.read(x)
                        elif isinstance(x, ast.Argument):
                            self.read(x.value)

    # ------------------------------------------------------------ calls
    def args_in(self, bound: list) -> None:
        for p, a in bound or []:
            if p is None or a is None or isinstance(a, ast.DontCare):
                continue
            if p.direction != "out":
                self.read(a)

    def args_out(self, bound: list) -> None:
        for p, a in bound or []:
            if p is None or a is None or isinstance(a, ast.DontCare):
                continue
            if p.direction in ("out", "inout"):
                self.define(a)

    def call(self, e: ast.Call) -> None:
        kind = getattr(e, "kind", None)
        if kind == "builtin":
            return  # isValid, setValid, setInvalid, stack operations: no field is read or written
        if kind == "table_apply":
            self.table(e.target)
            return
        bound = getattr(e, "bound", None) or []
        self.args_in(bound)
        if kind == "action":
            self.body(e.target, bound)
        self.args_out(bound)

    def body(self, d: Any, bound: list | None) -> None:
        """The body of an action (at its call site) or of a function."""
        if id(d) in self.active or self.cur is None:
            return
        params = d.params if isinstance(d, ast.ActionDecl) else d.proto.params
        for p in params:
            if p.direction == "out":
                self.declare(p, getattr(p, "ptype", None))
            else:
                self.names[id(p)] = p.name
        is_action = isinstance(d, ast.ActionDecl)
        outer = self.actions == 0  # not called from within an action
        self.active.add(id(d))
        self.actions += is_action
        try:
            self.stmt(d.body)
        finally:
            self.active.discard(id(d))
            self.actions -= is_action
        if self.cur is not None:
            for p in params:
                hits = [k for k in self.cur if k[0] == id(p)] if p.direction == "out" else []
                if not hits or self.quiet:
                    continue
                # (p4c checks only what lies outside headers: a header may be invalid)
                if any(k not in self.in_header for k in hits):
                    self._warn(p.loc, f"out parameter '{p.name}' may be uninitialized when '{d.name}' terminates",
                               p.name, "uninitialized-out-param", (d.loc, d.name))
                # p4c's later def-use run sees the copy-out of an action called from a
                # control (not one inlined into another action first) as a read of the
                # parameter (a function's it reports without a location, renamed)
                if is_action and outer:
                    first = min(hits, key=lambda k: self.order.get(k, 0))
                    self.late.append((p.loc, _uninit_message(p.name, first[1], ""), p.name))
            ids = {id(p) for p in params}
            self.cur = {k for k in self.cur if k[0] not in ids}

    def table(self, t: Any) -> None:
        for k in getattr(t, "keys", []) or []:
            self.read(k.expr)
        if self.cur is None:
            return
        start, outs = set(self.cur), []
        for ar in getattr(t, "action_refs", []) or []:
            self.cur = set(start)
            for a in ar.args or []:
                self.read(a.value)
            self.body(ar.decl, None)
            outs.append(self.cur)
        end: set[Key] | None = None
        for o in outs or [start]:
            end = _union(end, o)
        self.cur = end if end is not None else start

    # ------------------------------------------------------------ statements
    def stmt(self, st: Any) -> None:
        if self.cur is None or st is None:
            return
        if isinstance(st, ast.BlockStmt):
            for s in st.stmts:
                self.stmt(s)
        elif isinstance(st, ast.AssignStmt):
            self.read(st.rhs)
            self.define(st.lhs)
        elif isinstance(st, ast.CallStmt):
            self.call(st.call)
        elif isinstance(st, ast.IfStmt):
            self.read(st.cond)
            before = None if self.cur is None else set(self.cur)
            self.stmt(st.then)
            a, self.cur = self.cur, before
            self.stmt(st.other)
            self.cur = _union(a, self.cur)
        elif isinstance(st, ast.SwitchStmt):
            self.switch(st)
        elif isinstance(st, ast.ReturnStmt):
            self.read(st.expr)  # p4c's def-use goes on past return and exit
        elif isinstance(st, ast.VarDecl):
            if id(st) in self.removed:
                return
            if st.init is not None:
                self.read(st.init)
                self.names[id(st)] = st.name
                self.define_all(st)
            else:
                self.declare(st, getattr(st, "ptype", None))
        elif isinstance(st, (ast.ForStmt, ast.ForInStmt)):
            for s in getattr(st, "init", None) or []:
                self.stmt(s)
            before = None if self.cur is None else set(self.cur)
            self.quiet, quiet = True, self.quiet
            try:
                self.stmt(st.body)  # a first pass for what the body defines...
            finally:
                self.quiet = quiet
            self.cur = _union(before, self.cur)
            self.stmt(st.body)  # ... then with warnings, from every iteration's state
            self.cur = _union(before, self.cur)

    def define_all(self, d: Any) -> None:
        if self.cur is not None:
            self.cur = {k for k in self.cur if k[0] != id(d)}

    def switch(self, st: ast.SwitchStmt) -> None:
        self.read(st.expr)
        if self.cur is None:
            return
        start, end = set(self.cur), None
        has_default = False
        pending = False
        for c in st.cases:
            if c.label is None:
                has_default = True
            if c.body is None:
                pending = True
                continue
            self.cur = set(start)
            self.stmt(c.body)
            end = _union(end, self.cur)
            pending = False
        on_table = isinstance(st.expr, ast.Member) and st.expr.name == "action_run"
        if not has_default or pending or not on_table:
            end = _union(end, start)  # p4c: a switch on a value may run no case, even with default
        self.cur = end

    # ------------------------------------------------------------ blocks
    def _enter_block(self, d: ast.ControlDecl | ast.ParserDecl) -> None:
        """A control's or parser's start: out parameters unset, locals declared."""
        self.cur = set()
        self.removed = removed_declarations(d)
        for p in d.params:
            self.names[id(p)] = p.name
            if p.direction == "out":
                self.declare(p, getattr(p, "ptype", None))
        for loc_decl in d.locals:
            if isinstance(loc_decl, ast.VarDecl):
                self.stmt(loc_decl)

    def control(self, d: ast.ControlDecl) -> None:
        self._enter_block(d)
        self.stmt(d.body)
        for p in d.params:  # (p4c gives this for controls, not for parsers; not for headers)
            if p.direction == "out" and self.cur and any(k[0] == id(p) and k not in self.in_header
                                                         for k in self.cur):
                self._warn(p.loc, f"out parameter '{p.name}' may be uninitialized when '{d.name}' terminates",
                           p.name, "uninitialized-out-param", (d.loc, d.name))

    def function(self, d: ast.FunctionDecl) -> None:
        """A function is checked once, on its own (an action at each call site)."""
        self.cur = set()
        self.removed = removed_declarations(d)
        self.body(d, None)

    def parser(self, d: ast.ParserDecl) -> None:
        self._enter_block(d)
        # to a fixed point, quietly; then once more over every reached state, with warnings
        self.quiet = True
        entry = parser_fixed_point(d, set(self.cur), self.state, lambda a, b: a | b)
        self.quiet = False
        for s in d.states:
            if s.name in entry:
                self.state(s, entry[s.name])

    def state(self, s: ast.ParserState, start: set[Key]) -> set[Key] | None:
        self.cur = set(start)
        for st in s.stmts:
            self.stmt(st)
        if isinstance(s.transition, ast.SelectExpr):
            for e in s.transition.exprs:
                self.read(e)
        return self.cur


def parser_fixed_point(d: ast.ParserDecl, start: Any, step: Callable[[ast.ParserState, Any], Any],
                       merge: Callable[[Any, Any], Any]) -> dict[str, Any]:
    """A parser's states walked from 'start' until nothing changes: -> the state the
    analysis has at the entry of every reached state. step(state, at_entry) gives the
    analysis at its end (None: the end is not reached); merge joins two paths."""
    states = {s.name: s for s in d.states}
    entry: dict[str, Any] = {"start": start}
    work = ["start"]
    while work:
        name = work.pop(0)
        out = step(states[name], entry[name])
        if out is None:
            continue
        for nxt in _successors(states[name]):
            if nxt not in states:
                continue
            new = out if nxt not in entry else merge(entry[nxt], out)
            if nxt not in entry or new != entry[nxt]:
                entry[nxt] = new
                if nxt not in work:
                    work.append(nxt)
    return entry


def _successors(s: ast.ParserState) -> list[str]:
    tr = s.transition
    if isinstance(tr, str):
        return [tr]
    if isinstance(tr, ast.SelectExpr):
        return [c.state for c in tr.cases]
    return []


def _union(a: set | None, b: set | None) -> set | None:
    if a is None:
        return b
    if b is None:
        return a
    return a | b
