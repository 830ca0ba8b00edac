"""Warnings in p4c's format, on stderr:

    FILE(LINE): [--Wwarn=KIND] warning: MESSAGE
    <the source line>
    <carets under the name or expression>

- unused: a declaration nothing refers to (constants, typedefs and types,
  actions and their parameters, functions, variables, instances, tables,
  controls and parsers), as p4c's frontend reports them; for a control-plane
  action parameter also "Unused action parameter X", as its mid end does.
- invalid-header: a field of a header that is invalid on every path
  ("an invalid header") or on some path ("a potentially invalid header"),
  after setInvalid() in the same control's flow, following directly called
  actions and a table's actions at its apply (a sub-control makes every header
  unknown again); a local
  header starts invalid; in a parser, the headers of its out parameters until extracted.
- uninitialized-use / uninitialized-out-param: defuse.py; shadow: shadow.py.
Order as p4c's: shadow, unused, type warnings, then block by block (parsers, controls
and functions in program order) the def-use ones, the late ones last.
"""
from __future__ import annotations

import re
from typing import Any

from . import ast
from .ast_text import expr_text
from .defuse import UninitChecker
from .errors import SourceLoc
from .preprocessor import BUILTIN_INCLUDE_DIR
from .scope import Scope
from .shadow import shadow_warnings
from .types import ObjectT, StackT, StructT, strip_newtype


class Diagnostics:
    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {}
        self.messages: list[str] = []
        self.seen: set[tuple] = set()

    def source_line(self, loc: SourceLoc) -> str:
        if loc.file not in self.lines:
            try:
                with open(loc.file, encoding="utf-8") as f:
                    self.lines[loc.file] = f.read().split("\n")
            except OSError:
                self.lines[loc.file] = []
        lines = self.lines[loc.file]
        return lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""

    def warn(self, loc: SourceLoc | None, kind: str, message: str, text: str | None, word: bool = True,
             also: tuple[SourceLoc | None, str] | None = None) -> None:
        """A warning at loc; carets under 'text' (searched from loc's column on); 'also':
        a second location (p4c's form: FILE(LINE), its source line and carets)."""
        if loc is None or loc.line <= 0:
            return
        key = (loc.file, loc.line, loc.col, kind, message)
        if key in self.seen:
            return
        self.seen.add(key)
        out = f"{loc.file}({loc.line}): [--Wwarn={kind}] warning: {message}" + self.excerpt(loc, text, word)
        if also is not None and also[0] is not None and also[0].line > 0:
            out += f"\n{also[0].file}({also[0].line})" + self.excerpt(also[0], also[1], True)
        self.messages.append(out)

    def excerpt(self, loc: SourceLoc, text: str | None, word: bool) -> str:
        """The source line (as p4c shows it) and carets under 'text'."""
        raw = self.source_line(loc)
        out = ""
        if raw:
            # p4c shows the line as its preprocessor passed it on: indentation kept,
            # other runs of blanks collapsed to one
            line, col = _squeeze(raw), len(_squeeze(raw[:max(0, loc.col - 1)]))
            if text:
                pat = (r"\b" + re.escape(text) + r"\b") if word else re.escape(text)
                m = re.compile(pat).search(line, max(0, col))
                if m is not None:
                    col = m.start()
            width = len(text) if text else 1
            out += "\n" + line + "\n" + " " * col + "^" * width
        return out


def _squeeze(line: str) -> str:
    body = line.lstrip(" \t")
    return line[:len(line) - len(body)] + re.sub(r"[ \t]+", " ", body)


def _system(loc: SourceLoc | None) -> bool:
    return loc is None or loc.file.startswith(str(BUILTIN_INCLUDE_DIR))


def _no_warn(decl: Any) -> bool:
    for a in getattr(decl, "annotations", []) or []:
        if a.name == "noWarn":
            return True
    return False


def unused_warnings(root: Scope, table_actions: set[int], files: dict[str, int],
                    diag: Diagnostics) -> list[tuple[SourceLoc, str]]:
    """Reports unused declarations in source order; -> the unused control-plane action
    parameters, which p4c reports again later (after its other front-end warnings)."""
    late: list[tuple[SourceLoc, str]] = []
    found: list[tuple[SourceLoc, str, str]] = []

    class _Collect:
        @staticmethod
        def warn(loc, kind, message, text):
            found.append((loc, message, text))
    real, diag = diag, _Collect()
    for s in root.all_scopes:
        if s.kind in ("typevars", "function"):
            continue  # type variables; function parameters (p4c inlines functions first)
        for ns, name, decl, loc in s.declared:
            if (ns, name) in s.used or _system(loc):
                continue
            if ns == "t":
                t = s.types.get(name)
                if decl is None and isinstance(t, ObjectT) and isinstance(t.decl, (ast.ControlDecl, ast.ParserDecl)):
                    kind = "control" if isinstance(t.decl, ast.ControlDecl) else "parser"
                    if not _no_warn(t.decl):
                        diag.warn(loc, "unused", f"{kind} '{name}' is unused", name)
                elif isinstance(decl, ast.TypedefDecl) and not _no_warn(decl):
                    diag.warn(loc, "unused", f"'{name}' is unused", name)
                continue
            if _no_warn(decl):
                continue
            if isinstance(decl, ast.Param):
                if s.kind != "action":
                    continue
                diag.warn(loc, "unused", f"'{name}' is unused", name)
                if decl.direction == "" and id(getattr(s, "decl", None)) in table_actions:
                    late.append((loc, name))
            elif isinstance(decl, ast.TableDecl):
                diag.warn(loc, "unused", f"table '{name}' is unused", name)
            elif isinstance(decl, (ast.ConstDecl, ast.VarDecl, ast.ActionDecl, ast.FunctionDecl,
                                   ast.Instantiation)):
                if isinstance(decl, ast.Instantiation) and s.kind == "global":
                    continue  # 'main' and other package-level instances
                diag.warn(loc, "unused", f"'{name}' is unused", name)
    found.sort(key=lambda x: (files.get(x[0].file, len(files)), x[0].line, x[0].col))
    for loc, message, text in found:
        real.warn(loc, "unused", message, text)
    return late


# ---------------------------------------------------------------------- header validity
INVALID, MAYBE = "invalid", "maybe"


def _merge(a: dict | None, b: dict | None) -> dict | None:
    if a is None:
        return b
    if b is None:
        return a
    out = {}
    for k in set(a) | set(b):
        out[k] = INVALID if a.get(k) == INVALID and b.get(k) == INVALID else MAYBE
    return out


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


class ValidityChecker:
    """Flow of 'this header is (maybe) invalid' through one control's apply block."""

    def __init__(self, diag: Diagnostics) -> None:
        self.diag = diag
        self.active: set[int] = set()

    def control(self, d: ast.ControlDecl) -> None:
        state: dict = {}
        for loc_decl in d.locals:  # local headers start invalid
            if isinstance(loc_decl, ast.VarDecl):
                state = self.stmt(loc_decl, state) or {}
        self.stmt(d.body, state)

    def parser(self, d: ast.ParserDecl) -> None:
        """The headers of the parser's out parameters start invalid; extract() makes one
        valid. States to a fixed point (quietly), then each reached state once, warning."""
        init: dict = {}
        for p in d.params:
            if p.direction == "out":
                for name in _headers(getattr(p, "ptype", None), p.name):
                    init[name] = INVALID
        states = {st.name: st for st in d.states}
        entry: dict[str, dict] = {"start": init}
        real, self.diag = self.diag, _Recorder([])
        try:
            work = ["start"]
            while work:
                name = work.pop(0)
                out = self.state(states[name], entry[name])
                if out is None:
                    continue
                tr = states[name].transition
                succ = [tr] if isinstance(tr, str) else [c.state for c in tr.cases] \
                    if isinstance(tr, ast.SelectExpr) else []
                for nxt in succ:
                    if nxt not in states:
                        continue
                    new = out if nxt not in entry else _merge(entry[nxt], out)
                    if nxt not in entry or new != entry[nxt]:
                        entry[nxt] = new
                        if nxt not in work:
                            work.append(nxt)
        finally:
            self.diag = real
        for st in d.states:
            if st.name in entry:
                self.state(st, entry[st.name])

    def state(self, s: ast.ParserState, state: dict | None) -> dict | None:
        state = dict(state) if state is not None else None
        for st in s.stmts:
            state = self.stmt(st, state)
        if state is not None and isinstance(s.transition, ast.SelectExpr):
            for e in s.transition.exprs:
                self.expr(e, state)
        return state

    def stmt(self, st: Any, state: dict | None) -> dict | None:
        if state is None:
            return None
        if isinstance(st, ast.BlockStmt):
            for s in st.stmts:
                state = self.stmt(s, state)
            return state
        if isinstance(st, ast.AssignStmt):
            if _header_expr(st.lhs):
                self.expr_inner(st.lhs, state)
                self.expr(st.rhs, state)
                state = dict(state)
                state.pop(expr_text(st.lhs), None)
                return state
            self.expr(st.lhs, state)
            self.expr(st.rhs, state)
            return state
        if isinstance(st, ast.CallStmt):
            return self.call(st.call, state)
        if isinstance(st, ast.IfStmt):
            ap = _table_apply_in(st.cond)
            if ap is not None:  # t.apply().hit: the table's actions run first
                state = self.call(ap, state)
                if state is None:
                    return None
            self.expr(st.cond, state)
            a = self.stmt(st.then, dict(state))
            b = self.stmt(st.other, dict(state)) if st.other is not None else state
            return _merge(a, b)
        if isinstance(st, ast.SwitchStmt):
            ap = _table_apply_in(st.expr)
            if ap is not None:  # switch (t.apply().action_run): the table's actions run first
                state = self.call(ap, state)
                if state is None:
                    return None
            self.expr(st.expr, state)
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
            return out
        if isinstance(st, (ast.ExitStmt, ast.ReturnStmt)):
            if isinstance(st, ast.ReturnStmt) and st.expr is not None:
                self.expr(st.expr, state)
            return None
        if isinstance(st, (ast.VarDecl, ast.ConstDecl)):
            init = getattr(st, "init", None) if isinstance(st, ast.VarDecl) else st.value
            if init is not None:
                self.expr(init, state)
            if isinstance(st, ast.VarDecl):
                state = dict(state)
                for h in _headers(getattr(st, "ptype", None), st.name, stacks=True):
                    if init is None:
                        state[h] = INVALID  # a header variable starts invalid
                    else:
                        state.pop(h, None)
            return state
        if isinstance(st, ast.EmptyStmt):
            return state
        return {}  # loops and anything else: forget what is known

    def call(self, e: ast.Call, state: dict) -> dict:
        kind = getattr(e, "kind", None)
        if kind == "builtin":
            m = getattr(e, "method", "")
            target = e.func.expr
            if m in ("setValid", "setInvalid") and _header_expr(target):
                self.expr_inner(target, state)
                state = dict(state)
                name = expr_text(target)
                if m == "setInvalid":
                    state[name] = INVALID
                else:
                    state.pop(name, None)
                return state
            if m in ("isValid",):
                return state
            return {}  # stack operations
        for _p, a in getattr(e, "bound", []) or []:
            if a is not None and not isinstance(a, ast.DontCare):
                self.expr(a, state)
        if kind == "action":
            d = e.target
            if id(d) in self.active:
                return {}
            if any(p.direction in ("out", "inout") for p in d.params):
                return {}
            self.active.add(id(d))
            try:
                out = self.stmt(d.body, dict(state))
            finally:
                self.active.discard(id(d))
            return out if out is not None else dict(state)
        if kind in ("extern_function", "extern_method"):
            # an out header argument (extract) is a valid header afterwards
            for p, a in getattr(e, "bound", []) or []:
                if p is not None and p.direction == "out" and a is not None and _header_expr(a):
                    state = dict(state)
                    state.pop(expr_text(a), None)
            return state
        if kind == "table_apply":
            return self.table(e.target, state)
        return {}  # control apply, functions: anything may have changed

    def table(self, t: Any, state: dict) -> dict | None:
        """Keys, then any one of the table's actions (their states merged)."""
        for k in getattr(t, "keys", []) or []:
            self.expr(k.expr, state)
        out = None
        for ar in getattr(t, "action_refs", []) or []:
            d = ar.decl
            for a in ar.args or []:
                if a.value is not None:
                    self.expr(a.value, state)
            if id(d) in self.active or any(p.direction in ("out", "inout") for p in d.params):
                out = _merge(out, {})
                continue
            self.active.add(id(d))
            try:
                res = self.stmt(d.body, dict(state))
            finally:
                self.active.discard(id(d))
            out = _merge(out, res if res is not None else dict(state))
        return out if out is not None else dict(state)

    def expr(self, e: Any, state: dict) -> None:
        if isinstance(e, ast.Member) and _header_expr(e.expr):
            name = expr_text(e.expr)
            st = state.get(name)
            if st is not None:
                what = "an invalid header" if st == INVALID else "a potentially invalid header"
                self.diag.warn(e.expr.loc, "invalid-header", f"accessing a field of {what} {name}",
                               name, word=False)
            self.expr_inner(e.expr, state)
            return
        if isinstance(e, ast.Call):
            if getattr(e, "kind", None) == "builtin":
                self.expr_inner(e.func.expr, state)
                return
            self.call(e, state)
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


class _Recorder:
    """Stands for Diagnostics: keeps the warnings, in order, for interleaving."""

    def __init__(self, into: list[tuple]) -> None:
        self.into = into

    def warn(self, loc: SourceLoc | None, kind: str, message: str, text: str | None, word: bool = True,
             also: tuple | None = None) -> None:
        self.into.append((loc, kind, message, text, word, also))


def _interleave(a: list[tuple], b: list[tuple], files: dict[str, int]) -> list[tuple]:
    """Merges two walks' warnings by source position (a's first on a tie), each in its order."""
    def pos(w: tuple) -> tuple:
        loc = w[0]
        return (files.get(loc.file, len(files)), loc.line, loc.col) if loc is not None else (0, 0, 0)
    out, i, j = [], 0, 0
    while i < len(a) or j < len(b):
        if j >= len(b) or (i < len(a) and pos(a[i]) <= pos(b[j])):
            out.append(a[i])
            i += 1
        else:
            out.append(b[j])
            j += 1
    return out


def collect_warnings(program: ast.Program, root: Scope, type_warnings: list[tuple] = ()) -> list[str]:
    diag = Diagnostics()
    table_actions: set[int] = set()
    for d in program.decls:
        if isinstance(d, ast.ControlDecl) and not _system(d.loc):
            for loc_decl in d.locals:
                if isinstance(loc_decl, ast.TableDecl):
                    for ar in getattr(loc_decl, "action_refs", []):
                        table_actions.add(id(getattr(ar, "decl", None)))
    files: dict[str, int] = {}
    for d in program.decls:
        if d.loc is not None:
            files.setdefault(d.loc.file, len(files))
    shadow_warnings(root, files, diag, _system)
    late = unused_warnings(root, table_actions, files, diag)
    for loc, kind, message, text in type_warnings:
        diag.warn(loc, kind, message, text, word=False)
    late_uninit: list[tuple] = []
    # p4c's def-use pass gives the uninitialized-use and invalid-header warnings of each
    # control or function in one walk: interleave ours by position (invalid-header first
    # on a tie), block by block
    for d in program.decls:
        if not isinstance(d, (ast.ParserDecl, ast.ControlDecl, ast.FunctionDecl)) or _system(d.loc):
            continue
        uninit: list[tuple] = []
        checker = UninitChecker(lambda loc, msg, text, kind, also, into=uninit:
                                into.append((loc, kind, msg, text, True, also)))
        valid: list[tuple] = []
        if isinstance(d, ast.ParserDecl):
            checker.parser(d)
            ValidityChecker(_Recorder(valid)).parser(d)
        elif isinstance(d, ast.ControlDecl):
            checker.control(d)
            ValidityChecker(_Recorder(valid)).control(d)
        else:
            checker.function(d)
            ValidityChecker(_Recorder(valid)).stmt(d.body, {})
        # (in a parser p4c gives all its uninitialized-use warnings first)
        both = uninit + valid if isinstance(d, ast.ParserDecl) else _interleave(valid, uninit, files)
        for loc, kind, message, text, word, also in both:
            diag.warn(loc, kind, message, text, word=word, also=also)
        late_uninit.extend(checker.late)
    for loc, message, text in late_uninit:
        diag.warn(loc, "uninitialized-use", message, text)
    for loc, name in late:
        diag.warn(loc, "unused", f"Unused action parameter {name}", name)
    return diag.messages
