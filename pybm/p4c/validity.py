"""p4c's invalid-header warnings: "accessing a field of an invalid header H" (invalid on
every path) and "... a potentially invalid header H" (on some path), as its def-use
pass gives them before and after inlining (ValidityChecker)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ast
from .ast_text import expr_text
from .defuse import parser_fixed_point, removed_declarations, side_effect_free, walk_nodes
from .errors import SourceLoc
from .types import StackT, StructT, strip_newtype

if TYPE_CHECKING:
    from .diagnostics import Diagnostics


# ---------------------------------------------------------------------- header validity
INVALID, MAYBE = "invalid", "maybe"


# two marks a flow state can carry besides the headers' states: the headers whose
# isValid() was called (p4c's "not reported" set), and "this point cannot be reached"
# (after exit or return: p4c walks no further, but still merges the state there)
NOT_REPORTED, UNREACHABLE = "\0not-reported", "\0unreachable"


def _merge(a: dict | None, b: dict | None) -> dict | None:
    """Two paths' states joined: unreachable if both are; no header left unreported."""
    if a is None:
        return b
    if b is None:
        return a
    out = {}
    for k in set(a) | set(b):
        if k not in (NOT_REPORTED, UNREACHABLE):
            out[k] = INVALID if a.get(k) == INVALID and b.get(k) == INVALID else MAYBE
    if a.get(UNREACHABLE) and b.get(UNREACHABLE):
        out[UNREACHABLE] = True
    return out


def _put_reported(state: dict, hidden: Any) -> None:
    state.pop(NOT_REPORTED, None)
    if hidden:
        state[NOT_REPORTED] = hidden


def _with_reported(state: dict | None, before: Any) -> dict | None:
    """state with p4c's not-reported set put back as it was before a branch."""
    if state is None:
        return None
    state = dict(state)
    state.pop(NOT_REPORTED, None)
    if before:
        state[NOT_REPORTED] = before
    return state


def _header_expr(e: Any) -> bool:
    t = strip_newtype(getattr(e, "type", None))
    if isinstance(e, ast.Index):  # a stack element at a constant index
        return isinstance(t, StructT) and t.kind == "header" and isinstance(getattr(e.index, "const", None), int) \
            and _header_expr_base(e.expr)
    return isinstance(t, StructT) and t.kind == "header" and isinstance(e, (ast.Member, ast.PathExpr))


def _header_expr_base(e: Any) -> bool:
    return isinstance(e, (ast.Member, ast.PathExpr)) and isinstance(strip_newtype(getattr(e, "type", None)), StackT)


def _table_apply_in(e: Any) -> ast.Call | None:
    """The table apply of `t.apply().hit`, `!t.apply().miss`, `t.apply().action_run`."""
    while isinstance(e, ast.Unary):
        e = e.expr
    if isinstance(e, ast.Member) and isinstance(e.expr, ast.Call) and getattr(e.expr, "kind", None) == "table_apply":
        return e.expr
    return None


def _headers(t: Any, path: str, stacks: bool = False) -> list[str]:
    """The header fields (by name) under a struct, as expr_text spells them (and the
    elements of stacks, for a variable: a parser's stacks are filled through 'next')."""
    t = strip_newtype(t)
    if isinstance(t, StructT) and t.kind == "header":
        return [path]
    if isinstance(t, StructT) and t.kind == "struct":
        return [h for n, ft, _ in t.fields for h in _headers(ft, f"{path}.{n}", stacks)]
    if stacks and isinstance(t, StackT):
        return [h for i in range(t.size) for h in _headers(t.elem, f"{path}[{i}]", stacks)]
    return []


def _lvalue_text(e: Any) -> str | None:
    """How a header, struct or stack l-value is named in the flow state (None: not one
    the state can name, e.g. an element at a run-time index)."""
    n = e
    while isinstance(n, (ast.Member, ast.Index)):
        if isinstance(n, ast.Index) and not isinstance(getattr(n.index, "const", None), int):
            return None
        n = n.expr
    return expr_text(e) if isinstance(n, ast.PathExpr) else None


def _bound_refs(ar: Any) -> list[tuple[Any, Any]]:
    """(parameter, argument) of an action listed in a table: the arguments written there."""
    params = ar.decl.params
    args = ar.args or []
    if any(a.name for a in args):
        by = {p.name: p for p in params}
        return [(by.get(a.name), a.value) for a in args]
    return [(p, a.value) for p, a in zip(params, args)]


def _overlap(a: str, b: str) -> bool:
    return a == b or b.startswith((a + ".", a + "[")) or a.startswith((b + ".", b + "["))


def _touches(e: Any, decl: Any, target: str) -> bool:
    """Whether e refers to the part 'target' of decl (or to something overlapping it),
    also in the bodies of the actions it calls and of the tables it applies."""
    found: list = []
    inner: set[int] = set()
    seen: set[int] = set()

    def visit(n: Any) -> None:
        if id(n) in inner:
            return
        if isinstance(n, (ast.Member, ast.Index, ast.PathExpr)):
            base = n
            while isinstance(base, (ast.Member, ast.Index)):
                base = base.expr
                if isinstance(base, (ast.Member, ast.Index, ast.PathExpr)):
                    inner.add(id(base))
            if isinstance(base, ast.PathExpr) and getattr(base, "ref", None) is decl:
                if _overlap(_lvalue_text(n) or expr_text(base), target):
                    found.append(n)
        elif isinstance(n, ast.Call) and getattr(n, "kind", None) == "table_apply" and id(n.target) not in seen:
            seen.add(id(n.target))
            walk_nodes(n.target, visit, seen)
    walk_nodes(e, visit, seen)
    return bool(found)


def _overwritten(stmts: list, i: int) -> bool:
    """Whether p4c's first def-use run removes stmts[i] as a store nothing reads: an
    assignment free of side effects whose target the statements after it in the same
    block assign again, as a whole, before anything refers to it (p4c's analysis finds
    more such stores)."""
    s = stmts[i]
    if not isinstance(s, ast.AssignStmt) or not side_effect_free(s.rhs):
        return False
    root = s.lhs
    while isinstance(root, ast.Member):
        root = root.expr
    decl = getattr(root, "ref", None) if isinstance(root, ast.PathExpr) else None
    if decl is None:
        return False
    target = expr_text(s.lhs)
    for later in stmts[i + 1:]:
        if isinstance(later, ast.AssignStmt) and not _touches(later.rhs, decl, target):
            written = _lvalue_text(later.lhs)
            if written is not None and (target == written or target.startswith((written + ".", written + "["))):
                return True
        if isinstance(later, (ast.ExitStmt, ast.ReturnStmt)) or _touches(later, decl, target):
            return False
    return False


class ValidityChecker:
    """Flow of 'this header is (maybe) invalid' through one parser's or control's code.

    As p4c's def-use pass, run twice: as written (a function call leaves its arguments'
    headers as they were, a sub-control's apply makes its out and inout ones valid), then
    once functions and sub-controls are inlined (a function's out header argument gets
    the parameter's state at its end, starting unknown: 'potentially invalid', an inout
    one the state the body leaves it in; a sub-control works on the arguments
    themselves, an out header one reset first: apply_block()), after p4c's first run
    removed the stores nothing reads (see _overwritten); the second run's new warnings
    follow the first's. Assignments copy the states of whole headers, structs and stacks;
    an action's out header parameters start invalid, and its out and inout arguments take
    the parameters' states when it ends; the caller sees the action's body only up to
    its first branch point (action()). A table's apply leaves the headers as they were
    (p4c merges its actions' states into a copy it drops). A header whose isValid() was
    asked is not reported until its validity changes or the if, switch or ternary that
    asked it ends. A path that exits (or returns) still counts where paths join. A
    control's or parser's local headers start invalid after the initializers of its
    locals (which p4c moves before that reset: to them those headers are 'potentially
    invalid'); variables nothing refers to, with an initializer free of side effects, are
    gone (defuse.removed_declarations)."""

    def __init__(self, diag: Diagnostics) -> None:
        self.diag = diag
        self.active: set[int] = set()
        self.removed: set[int] | None = None
        self.inlined = False  # the second run: function calls replaced by their bodies
        self.returns: list[dict] | None = None  # an inlined function's states at its returns
        self.shared: list[dict] | None = None  # see action()

    def _twice(self, walk: Any) -> None:
        real = self.diag
        first: list[tuple] = []
        second: list[tuple] = []
        try:
            self.diag = WarningRecorder(first)
            walk()
            self.inlined, self.diag = True, WarningRecorder(second)
            walk()
        finally:
            self.diag, self.inlined = real, False

        def key(w: tuple) -> tuple:
            loc = w[0]
            return (loc.file, loc.line, loc.col, w[1], w[2]) if loc is not None else (None, w[1], w[2])
        seen = {key(w) for w in first}
        for w in first + [w for w in second if key(w) not in seen]:
            seen.add(key(w))
            real.warn(*w)

    def _locals(self, decls: list, state: dict) -> dict:
        """The initializers of a block's locals (its local headers 'potentially invalid' to
        them), then its local headers invalid."""
        reset = []
        for d in decls:
            if isinstance(d, ast.VarDecl) and d.init is None and id(d) not in (self.removed or ()):
                reset.extend(_headers(getattr(d, "ptype", None), d.name, stacks=True))
        early = dict(state)
        for h in reset:
            early[h] = MAYBE
        for d in decls:
            if isinstance(d, ast.VarDecl) and d.init is not None:
                early = self.stmt(d, early) or {}
        state = {k: v for k, v in early.items() if k not in reset}
        for h in reset:
            state[h] = INVALID
        return state

    def control(self, d: ast.ControlDecl) -> None:
        self.removed = removed_declarations(d)
        self._twice(lambda: self.stmt(d.body, self._locals(d.locals, {})))

    def parser(self, d: ast.ParserDecl) -> None:
        self.removed = removed_declarations(d)
        self._twice(lambda: self._parser(d))

    def _parser(self, d: ast.ParserDecl) -> None:
        """The headers of the parser's out parameters start invalid; extract() makes one
        valid. States to a fixed point (quietly), then each reached state once, warning."""
        init: dict = {}
        for p in d.params:
            if p.direction == "out":
                for name in _headers(getattr(p, "ptype", None), p.name):
                    init[name] = INVALID
        init = self._locals(d.locals, init)
        real, self.diag = self.diag, WarningRecorder([])
        try:
            entry = parser_fixed_point(d, init, self.state, _merge)
        finally:
            self.diag = real
        for st in d.states:
            if st.name in entry:
                self.state(st, entry[st.name])

    def _condition(self, e: Any, state: dict) -> tuple[dict, Any] | None:
        """An if's condition or a switch's expression evaluated: a table applied in it
        (t.apply().hit, t.apply().action_run) runs its actions first. -> (the state
        after it, the isValid-guarded headers before it), None when unreachable."""
        ap = _table_apply_in(e)
        if ap is not None:
            state = self.call(ap, state)
            if state is None:
                return None
        before = state.get(NOT_REPORTED)
        state = dict(state)
        self.expr(e, state)
        return state, before

    def state(self, s: ast.ParserState, state: dict | None) -> dict | None:
        state = dict(state) if state is not None else None
        state = self.stmts(s.stmts, state)
        if state is not None and isinstance(s.transition, ast.SelectExpr):
            for e in s.transition.exprs:
                self.expr(e, state)
        return state

    def stmts(self, stmts: list, state: dict | None) -> dict | None:
        for i, s in enumerate(stmts):
            if self.inlined and _overwritten(stmts, i):
                continue  # gone before the second run
            state = self.stmt(s, state)
        return state

    def _branching(self, state: dict | None) -> None:
        """A branch point in a called action's body (the end of an if's then-branch, a
        switch's expression): p4c's walk of the body goes on in a copy of the state from
        there, so the caller's state stays as it was at the first one (see action())."""
        if self.shared is not None and not self.shared and state is not None:
            self.shared.append(dict(state))

    def _set(self, state: dict, name: str, value: str | None) -> None:
        """A header's state changed (in place): it is reported again."""
        if value is None:
            state.pop(name, None)
        else:
            state[name] = value
        hidden = state.get(NOT_REPORTED)
        if hidden and name in hidden:
            state[NOT_REPORTED] = hidden - {name}

    def stmt(self, st: Any, state: dict | None) -> dict | None:
        if state is None or state.get(UNREACHABLE):
            return state
        if isinstance(st, ast.BlockStmt):
            if self.removed is None:  # a function's body, checked on its own
                self.removed = removed_declarations(st)
            return self.stmts(st.stmts, state)
        if isinstance(st, ast.AssignStmt):
            name = _lvalue_text(st.lhs)
            if name is not None and _headers(getattr(st.lhs, "type", None), "", stacks=True):
                if not _header_expr(st.lhs):
                    self.expr(st.lhs, state)  # (a struct's or stack's header fields are not read)
                else:
                    self.expr_inner(st.lhs, state)  # a whole header written: its valid bit is not read
                self.expr(st.rhs, state)
                state = dict(state)
                self.assign(state, name, st.rhs, getattr(st.lhs, "type", None))
                return state
            self.expr(st.lhs, state)
            self.expr(st.rhs, state)
            return state
        if isinstance(st, ast.CallStmt):
            return self.call(st.call, state)
        if isinstance(st, ast.IfStmt):
            entered = self._condition(st.cond, state)
            if entered is None:
                return None
            state, before = entered
            a = self.stmt(st.then, dict(state))
            self._branching(a)
            b = self.stmt(st.other, dict(state)) if st.other is not None else state
            return _with_reported(_merge(a, b), before)
        if isinstance(st, ast.SwitchStmt):
            entered = self._condition(st.expr, state)
            if entered is None:
                return None
            state, before = entered
            self._branching(state)
            out, pending, has_default = None, False, False
            for c in st.cases:
                has_default = has_default or c.label is None
                if c.body is None:
                    pending = True
                    continue
                out = _merge(out, self.stmt(c.body, dict(state)))
                pending = False
            if pending or not has_default:
                out = _merge(out, state)
            return _with_reported(out, before)
        if isinstance(st, (ast.ExitStmt, ast.ReturnStmt)):
            if isinstance(st, ast.ReturnStmt) and st.expr is not None:
                self.expr(st.expr, state)
            if isinstance(st, ast.ReturnStmt) and self.returns is not None:
                self.returns.append(dict(state))
            state = dict(state)
            state[UNREACHABLE] = True
            return state
        if isinstance(st, (ast.VarDecl, ast.ConstDecl)):
            if id(st) in (self.removed or ()):
                return state
            init = getattr(st, "init", None) if isinstance(st, ast.VarDecl) else st.value
            if init is not None:
                self.expr(init, state)
            if isinstance(st, ast.VarDecl):
                state = dict(state)
                if init is None:
                    for h in _headers(getattr(st, "ptype", None), st.name, stacks=True):
                        self._set(state, h, INVALID)  # a header variable starts invalid
                else:
                    self.assign(state, st.name, init, getattr(st, "ptype", None))
            return state
        if isinstance(st, ast.EmptyStmt):
            return state
        return {}  # loops and anything else: forget what is known

    def assign(self, state: dict, dst: str, src: Any, t: Any, source: dict | None = None) -> None:
        """The headers under dst (of type t) take their states from src (p4c's
        processHeadersInAssignment): a header l-value's state is copied, a struct's or a
        stack's header by header; a list or struct expression sets each field as its
        value; anything else (a call's result, ...) makes them valid. ('source': the
        state src is read in, when not 'state'.)"""
        source = state if source is None else source
        t = strip_newtype(t)
        if isinstance(src, ast.StructInit) and isinstance(t, StructT) and t.kind == "struct":
            types = {n: ft for n, ft, _ in t.fields}
            for n, v in src.fields:
                self.assign(state, f"{dst}.{n}", v, types.get(n), source)
            return
        suffixes = _headers(t, "", stacks=True)
        name = _lvalue_text(src) if isinstance(src, (ast.PathExpr, ast.Member, ast.Index)) else None
        values = [source.get(name + s) if name is not None else None for s in suffixes]
        for s, v in zip(suffixes, values):
            self._set(state, dst + s, v)

    def call(self, e: ast.Call, state: dict) -> dict:
        kind = getattr(e, "kind", None)
        if kind == "builtin":
            m = getattr(e, "method", "")
            target = e.func.expr
            if m in ("setValid", "setInvalid") and _header_expr(target):
                self.expr_inner(target, state)
                state = dict(state)
                self._set(state, expr_text(target), INVALID if m == "setInvalid" else None)
                return state
            if m in ("isValid",):
                state = dict(state)
                self.expr(e, state)
                return state
            return {}  # stack operations
        bound = getattr(e, "bound", []) or []
        if kind == "action":
            return self.action(e.target, bound, state)
        for _p, a in bound:
            if a is not None and not isinstance(a, ast.DontCare):
                self.expr(a, state)
        if kind in ("extern_function", "extern_method"):
            # an out header argument (extract) is a valid header afterwards
            for p, a in bound:
                if p is not None and p.direction == "out" and a is not None and _header_expr(a):
                    state = dict(state)
                    self._set(state, expr_text(a), None)
            return state
        if kind == "table_apply":
            return self.table(e.target, state)
        if kind == "function":
            return self.function(e.target, bound, state) if self.inlined else state
        if kind == "apply":
            return self.apply_block(e.target, bound, state)
        return {}

    def _args(self, params_args: list, state: dict, outs: bool) -> None:
        """Reads the arguments (p4c: the in and inout ones before the body, the out and
        inout ones, as written, after it)."""
        for p, a in params_args:
            if a is None or isinstance(a, ast.DontCare):
                continue
            d = p.direction if p is not None else ""
            if (d in ("out", "inout")) if outs else (d != "out"):
                self.expr(a, state)

    def _params_in(self, params_args: list, state: dict, inner: dict, out_start: str) -> dict:
        """A body's start (in 'inner'): its out header parameters 'out_start', the others
        copied in from the caller's 'state'."""
        inner = dict(inner)
        for p, a in params_args:
            if p is None:
                continue
            names = _headers(getattr(p, "ptype", None), p.name, stacks=True)
            if not names:
                continue
            if p.direction == "out":
                for n in names:
                    self._set(inner, n, out_start)
            elif a is not None and not isinstance(a, ast.DontCare):
                self.assign(inner, p.name, a, getattr(p, "ptype", None), state)
            else:
                for n in names:
                    self._set(inner, n, None)  # set by the control plane
        return inner

    def _params_out(self, params_args: list, end: dict, state: dict) -> dict:
        """The copy-out: out and inout arguments take their parameters' states."""
        state = dict(state)
        for p, a in params_args:
            if p is None or p.direction not in ("out", "inout") or a is None or isinstance(a, ast.DontCare):
                continue
            name = _lvalue_text(a)
            if name is None:
                continue
            for s in _headers(getattr(p, "ptype", None), "", stacks=True):
                self._set(state, name + s, end.get(p.name + s))
        return state

    def action(self, d: Any, params_args: list, state: dict) -> dict:
        """An action's body where it is called. p4c walks it in the caller's state until
        the body's first branch point (the end of an if's then-branch, a switch's
        expression; a ternary is an if by then), in copies of it after that: the caller
        goes on from the state at that first point (from the body's end if it has none),
        then the copy-out."""
        if id(d) in self.active:
            return {}
        self._args(params_args, state, False)
        inner = self._params_in(params_args, state, state, INVALID)
        self.active.add(id(d))
        shared, self.shared = self.shared, []
        try:
            out = self.stmt(d.body, dict(inner))
            first = self.shared
        finally:
            self.active.discard(id(d))
            self.shared = shared
        end = dict(first[0] if first else out if out is not None else inner)
        end.pop(UNREACHABLE, None)  # (an exit ends the action, not the caller's walk)
        self._args(params_args, end, True)
        own = {n for p in d.params for n in _headers(getattr(p, "ptype", None), p.name, stacks=True)}
        result = self._params_out(params_args, end, {k: v for k, v in end.items() if k not in own})
        for n in own:  # the caller's headers of the same names as the parameters
            if n in state:
                result[n] = state[n]
        return result

    def function(self, d: Any, bound: list, state: dict) -> dict:
        """A function inlined (the second run): its body, quietly, in a state of its own
        parameters (an out header one of unknown validity: p4c's inliner declares it
        without resetting it)."""
        if id(d) in self.active or not isinstance(d, ast.FunctionDecl):
            return state
        inner = self._params_in(bound, state, {}, MAYBE)
        real, returns, removed, shared = self.diag, self.returns, self.removed, self.shared
        self.diag, self.returns, self.removed, self.shared = WarningRecorder([]), [], None, None
        self.active.add(id(d))
        try:
            out = self.stmt(d.body, inner)
            ends = self.returns + ([out] if out is not None and not out.get(UNREACHABLE) else [])
        finally:
            self.active.discard(id(d))
            self.diag, self.returns, self.removed, self.shared = real, returns, removed, shared
        end = None
        for x in ends:
            end = _merge(end, x)
        return self._params_out(bound, end if end is not None else inner, state)

    def apply_block(self, d: Any, bound: list, state: dict) -> dict:
        """A sub-control's or sub-parser's apply: p4c's first run takes its out and inout
        header arguments as valid afterwards (and the rest as it was). Its second run has
        a sub-control inlined, its parameters replaced by the arguments themselves (their
        states, isValid() marks included, go in and come back as the body leaves them; an
        out header one is reset first): the body is walked quietly in a state of its own."""
        if self.inlined and isinstance(d, ast.ControlDecl) and id(d) not in self.active:
            hidden = state.get(NOT_REPORTED, frozenset())
            inner: dict = {}
            inner_hidden: set[str] = set()
            pairs = []  # (the argument's header, the parameter's)
            for p, a in bound:
                name = _lvalue_text(a) if p is not None and a is not None and not isinstance(a, ast.DontCare) \
                    else None
                for sfx in (_headers(getattr(p, "ptype", None), "", stacks=True) if name is not None else []):
                    pairs.append((name + sfx, p.name + sfx, p.direction))
                    if state.get(name + sfx) is not None:
                        inner[p.name + sfx] = state[name + sfx]
                    if name + sfx in hidden:
                        inner_hidden.add(p.name + sfx)
            if inner_hidden:
                inner[NOT_REPORTED] = frozenset(inner_hidden)
            for _outer, own, direction in pairs:
                if direction == "out":
                    self._set(inner, own, INVALID)
            real, returns, removed, shared = self.diag, self.returns, self.removed, self.shared
            self.diag, self.returns, self.removed, self.shared = WarningRecorder([]), None, removed_declarations(d), None
            self.active.add(id(d))
            try:
                out = self.stmt(d.body, self._locals(d.locals, inner))
            finally:
                self.active.discard(id(d))
                self.diag, self.returns, self.removed, self.shared = real, returns, removed, shared
            result = dict(state)
            hidden_out = set(result.get(NOT_REPORTED, ()))
            for outer, own, direction in pairs:
                if direction in ("out", "inout"):
                    self._set(result, outer, out.get(own))
                    hidden_out.discard(outer)
                    if own in out.get(NOT_REPORTED, ()):
                        hidden_out.add(outer)
            _put_reported(result, frozenset(hidden_out))
            if out.get(UNREACHABLE):  # (an exit in it ends the caller's path too)
                result[UNREACHABLE] = True
            return result
        state = dict(state)
        for p, a in bound:
            name = _lvalue_text(a) if p is not None and p.direction in ("out", "inout") and a is not None \
                and not isinstance(a, ast.DontCare) else None
            if name is not None:
                for sfx in _headers(getattr(a, "type", None), "", stacks=True):
                    self._set(state, name + sfx, None)
        return state

    def table(self, t: Any, state: dict) -> dict | None:
        """Keys, then each of the table's actions from the state after them. p4c's
        def-use merges the actions' states into a copy of its own that it then drops:
        after the apply the headers are as they were before it."""
        for k in getattr(t, "keys", []) or []:
            self.expr(k.expr, state)
        for ar in getattr(t, "action_refs", []) or []:
            self.action(ar.decl, _bound_refs(ar), dict(state))
        return dict(state)

    def expr(self, e: Any, state: dict) -> None:
        """Reads e in state (changed in place by what the reading does: isValid(), a
        ternary's branches, an inlined function's copy-out)."""
        if isinstance(e, ast.Member) and _header_expr(e.expr):
            name = expr_text(e.expr)
            st = state.get(name)
            if name in state.get(NOT_REPORTED, ()):
                st = None  # isValid() was asked: p4c does not report it until it changes
            if st is not None:
                what = "an invalid header" if st == INVALID else "a potentially invalid header"
                self.diag.warn(e.expr.loc, "invalid-header", f"accessing a field of {what} {name}",
                               name, word=False)
            self.expr_inner(e.expr, state)
            return
        if isinstance(e, ast.Call):
            if getattr(e, "kind", None) == "builtin":
                self.expr_inner(e.func.expr, state)
                if getattr(e, "method", "") == "isValid" and _header_expr(e.func.expr):
                    state[NOT_REPORTED] = frozenset(state.get(NOT_REPORTED, ())) | {expr_text(e.func.expr)}
                return
            new = self.call(e, state)
            if new is not state:
                state.clear()
                state.update(new)
            return
        if isinstance(e, ast.Ternary):  # p4c has made it an if statement by then
            before = state.get(NOT_REPORTED)
            self.expr(e.cond, state)
            after = state.get(NOT_REPORTED)
            self.expr(e.then, state)
            self._branching(state)
            _put_reported(state, after)
            self.expr(e.other, state)
            _put_reported(state, before)
            return
        self.expr_inner(e, state)

    def expr_inner(self, e: Any, state: dict) -> None:
        if isinstance(e, ast.Node):
            for v in vars(e).values():
                if isinstance(v, ast.Expr):
                    self.expr(v, state)
                elif isinstance(v, list):
                    for x in v:
                        if isinstance(x, ast.Expr):
                            self.expr(x, state)
                        elif isinstance(x, ast.Argument) and x.value is not None:
                            self.expr(x.value, state)



class WarningRecorder:
    """Stands for Diagnostics: keeps the warnings, in order, for interleaving."""

    def __init__(self, into: list[tuple]) -> None:
        self.into = into

    def warn(self, loc: SourceLoc | None, kind: str, message: str, text: str | None, word: bool = True,
             also: tuple | None = None) -> None:
        self.into.append((loc, kind, message, text, word, also))
