"""p4c's warnings and infos besides the unused, shadow and def-use ones, each in the pass
of p4c-bm2-ss that gives it (diagnostics.collect_warnings puts the passes in order):

- early constant folding (before type checking): `Shifting 8-bit value with 9` for a typed
  constant shifted by at least its width, `8w0x100: value does not fit in 8 bits` (or
  `signed value does not fit`, `negative value with unsigned type`) for a folded shift and
  for an untyped operand of a constant operation made typed, and for a constant's value;
- type inference: `KeyElement: constant key element` (ignore-prop) for a table key that
  is a compile-time constant; `x << 9: shifting value with 8 bits by 9` for a shift of
  a run-time value by a constant at least its width (with typecheck's literal warnings);
- removal of unused declarations: the info `removing table 't'` (and control, parser) for
  a table never applied once constant conditions are folded (`if (false)`, `c ? a : b`,
  `false && x`), a control or parser nothing instantiates;
- side-effect ordering: `x: 'out' argument has fields in common with y` for an out or inout
  argument of a call that overlaps another argument the call writes (one per argument);
- check of constants: `32w1: Constant key field` (mismatch) for a table key that is a
  literal once folded, in tables still there;
- mid end: `'{ a }': transition does not depend on select argument` when the select's
  cases all go to one state (duplicates and cases going where the default goes dropped),
  `SelectCase: unreachable` for a case after the default;
- back end: `Explicit transition to reject not supported on this target` at each reject
  of a reachable state (p4c says it also, without a location, for a state without a
  transition statement: left out, as pybm-p4c leaves out every warning without one);
- the parser: `s: implicit transition to `reject'` for such a state; the parser
  simplification (front end and mid end): `accept state in parser P is unreachable`.
"""
from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any

from . import ast
from .constfold import C1, EarlyFolder, EnumValue, ErrorValue
from .errors import SourceLoc
from .lint_text import Sources, Spans, const_text, p4_text
from .types import BitT, StructT, strip_newtype

Warning_ = tuple  # (loc, kind, message, text, word, also, level)


def _quiet(phase: Callable) -> Callable:
    """A phase that fails on a form it does not know gives no warnings rather than stop
    the compilation (PYBM_P4C_STRICT=1 lets the error through, for testing)."""
    @functools.wraps(phase)
    def run(*args: Any, **kw: Any) -> Any:
        try:
            return phase(*args, **kw)
        except Exception:
            if os.environ.get("PYBM_P4C_STRICT"):
                raise
            return []
    return run


def _children(n: Any):
    for v in vars(n).values():
        if isinstance(v, ast.Node):
            yield v
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, ast.Node):
                    yield x
                elif isinstance(x, tuple):
                    for y in x:
                        if isinstance(y, ast.Node):
                            yield y


class Lint:
    def __init__(self, program: ast.Program, system: Callable[[Any], bool], files: dict[str, int]) -> None:
        self.program = program
        self.system = system
        self.files = files
        self.sources = Sources()
        self.spans = Spans(self.sources)
        self.user = [d for d in program.decls if not system(getattr(d, "loc", None))]
        self.early: list[Warning_] = []
        self.folder = EarlyFolder(self._early_warn)
        self._fold_program()
        self.removed: set[int] = set()
        self.infos = self._removals()
        self.simplified: dict[int, Any] = {}  # id(ParserState) -> cases left / the next state

    # ------------------------------------------------------------------ helpers
    def _at(self, e: Any, kind: str, message: str, level: str = "warning",
            also: Any = None) -> Warning_ | None:
        sp = self.spans.span(e)
        if sp is None:
            loc = getattr(e, "loc", None)
            if loc is None:
                return None
            sp = (loc, None)
        also_w = None
        if also is not None:
            asp = self.spans.span(also)
            if asp is not None:
                also_w = (asp[0], asp[1], False)
        return (sp[0], kind, message, sp[1], False, also_w, level)

    def _named(self, d: Any, kind: str, message: str, level: str = "warning") -> Warning_:
        return (d.loc, kind, message, d.name, True, None, level)

    def _early_warn(self, kind: str, message: str, node: Any) -> None:
        w = self._at(node, kind, message)
        if w is not None:
            self.early.append(w)

    def value(self, e: Any) -> C1 | None:
        return self.folder.values.get(id(e))

    def pos(self, loc: SourceLoc | None) -> tuple:
        return (self.files.get(loc.file, len(self.files)), loc.line, loc.col) if loc is not None else (0, 0, 0)

    # ------------------------------------------------------------------ early folding
    @_quiet
    def _fold_program(self) -> None:
        def visit(n: Any) -> None:
            if isinstance(n, ast.ConstDecl):
                self.folder.const_decl(n)
                return
            if isinstance(n, ast.Expr):
                self.folder.fold(n)
                return
            if isinstance(n, ast.TypeRef):
                return
            for c in _children(n):
                visit(c)
        for d in self.user:
            visit(d)

    # ------------------------------------------------------------------ live code
    def _dead(self, cond: Any) -> bool | None:
        """True/False: the condition is that constant once folded (p4c drops the other branch)."""
        v = getattr(cond, "const", None)
        return v if isinstance(v, bool) else None

    def live_nodes(self, n: Any, folded: Callable[[Any], Any] | None = None):
        """Every node of n reached in code p4c keeps after folding constant conditions."""
        konst = folded or (lambda x: getattr(x, "const", None))
        stack = [n]
        while stack:
            x = stack.pop()
            yield x
            kids: list = []
            if isinstance(x, ast.IfStmt):
                c = konst(x.cond)
                c = c.value if isinstance(c, C1) else c
                kids = [x.cond] + ([x.then] if c is not False else []) + \
                    ([x.other] if x.other is not None and c is not True else [])
            elif isinstance(x, ast.Ternary):
                c = konst(x.cond)
                c = c.value if isinstance(c, C1) else c
                kids = [x.cond] + ([x.then] if c is not False else []) + ([x.other] if c is not True else [])
            elif isinstance(x, ast.Binary) and x.op in ("&&", "||"):
                c = konst(x.left)
                c = c.value if isinstance(c, C1) else c
                kids = [x.left] + ([] if c is (x.op == "||") else [x.right])
            elif isinstance(x, (ast.ActionDecl, ast.FunctionDecl, ast.TableDecl, ast.TypeRef)):
                kids = []  # visited where they are used
            else:
                kids = list(_children(x))
            stack.extend(reversed(kids))

    # ------------------------------------------------------------------ type inference
    @_quiet
    def type_phase(self, type_warnings: list[tuple]) -> list[Warning_]:
        """Deprecation warnings (their own pass), then what type inference gives, in
        program order: typecheck's literal warnings, constant keys, shifts by too much."""
        deprecated = [(w[0], w[1], w[2], w[3], False, self._deprecated_decl(w[3]), "warning")
                      for w in type_warnings if w[1] == "deprecated"]
        found = []
        for tw in type_warnings:
            loc, kind, msg, text = tw[:4]
            if kind == "deprecated":
                continue
            node = getattr(tw, "node", None)
            c = self.value(node) if node is not None else None
            w = self._at(c.node, kind, msg) if c is not None and c.node is not None else None
            found.append(w or (loc, kind, msg, text, False, None, "warning"))
        for d in self.user:
            for t in self._tables(d):
                for k in getattr(t, "keys", []) or []:
                    if getattr(k.expr, "const", None) is not None:
                        w = self._at(k.expr, "ignore-prop", "KeyElement: constant key element")
                        if w is not None:
                            found.append(w)
            for n in self._all_code(d, lambda x: self.value(x)):
                if isinstance(n, ast.Binary) and n.op in ("<<", ">>"):
                    rc, lc = self.value(n.right), self.value(n.left)
                    lt = strip_newtype(getattr(n.left, "type", None))
                    if rc is None or lc is not None or isinstance(rc.value, bool) or not isinstance(lt, BitT):
                        continue
                    if rc.value >= lt.width:
                        msg = f"{p4_text(n, self.value)}: shifting value with {lt.width} bits by {rc.value}"
                        w = self._at(n, "overflow", msg)
                        if w is not None:
                            found.append(w)
        # one warning of a kind at a position, the innermost expression's (p4c's own check)
        found.sort(key=lambda w: (self.pos(w[0]), len(w[3] or "")))
        out, seen = [], set()
        for w in found:
            if (w[0], w[1]) not in seen:
                seen.add((w[0], w[1]))
                out.append(w)
        return deprecated + out

    def _deprecated_decl(self, name: str | None) -> tuple | None:
        """Where the deprecated function is declared (p4c's second location): its name, on
        the line that declares it (in pybm-p4c's own v1model.p4 for the system ones)."""
        for d in self.program.decls:
            if getattr(d, "name", None) != name or d.loc is None or \
                    not any(a.name == "deprecated" for a in getattr(d, "annotations", []) or []):
                continue
            lines = self.sources.lines(d.loc.file)
            pat = re.compile(r"\b" + re.escape(name) + r"\s*(<[^>]*>)?\s*\(")
            for i in range(d.loc.line - 1, min(len(lines), d.loc.line + 5)):
                if lines[i].lstrip().startswith("@"):
                    continue
                m = pat.search(lines[i])
                if m:
                    return SourceLoc(d.loc.file, i + 1, m.start() + 1), name, True
        return None

    def _tables(self, d: Any) -> list:
        if isinstance(d, ast.ControlDecl):
            return [x for x in d.locals if isinstance(x, ast.TableDecl)]
        return []

    def _all_code(self, d: Any, folded: Callable[[Any], Any] | None = None):
        """The nodes of a declaration's code (actions, tables and functions included)."""
        parts: list = []
        if isinstance(d, (ast.ControlDecl, ast.ParserDecl)):
            for x in d.locals:
                parts.append(x.body if isinstance(x, (ast.ActionDecl, ast.FunctionDecl)) else x)
                if isinstance(x, ast.TableDecl):
                    parts.extend(x.properties)
            parts.extend(d.states if isinstance(d, ast.ParserDecl) else [d.body])
        elif isinstance(d, (ast.ActionDecl, ast.FunctionDecl)):
            parts.append(d.body)
        for p in parts:
            yield from self.live_nodes(p, folded)

    # ------------------------------------------------------------------ removals
    @_quiet
    def _removals(self) -> list[Warning_]:
        """p4c's removal of unused declarations after folding, repeated until nothing
        changes: a control or parser no instance names, a table nothing applies; an
        instance nothing applies goes quietly (what it instantiated goes the round after)."""
        blocks = [d for d in self.user if isinstance(d, (ast.ControlDecl, ast.ParserDecl))]
        out: list[Warning_] = []
        gone: set[int] = set()
        while True:
            used: set[str] = set()
            applied: set[int] = set()
            for d in self.program.decls:
                if isinstance(d, ast.Instantiation):
                    used.update(self._instantiated(d))
            refs: set[int] = set()
            for b in blocks:
                if id(b) in gone:
                    continue
                for n in self._body_nodes(b):
                    if isinstance(n, ast.Call) and getattr(n, "kind", None) == "table_apply":
                        applied.add(id(n.target))
                    if isinstance(n, ast.PathExpr):
                        refs.add(id(getattr(n, "ref", None)))
                    if isinstance(n, ast.Call) and getattr(n, "kind", None) == "apply" and getattr(n, "direct", False):
                        used.add(n.target.name)
                for x in b.locals:
                    if isinstance(x, ast.Instantiation) and id(x) not in gone:
                        used.update(self._instantiated(x))
            changed = False
            for b in blocks:
                if id(b) in gone:
                    continue
                if b.name not in used:
                    gone.add(id(b))
                    what = "control" if isinstance(b, ast.ControlDecl) else "parser"
                    out.append(self._named(b, "removed", f"removing {what} '{b.name}'", "info"))
                    changed = True
                    continue
                for x in b.locals:
                    if isinstance(x, ast.TableDecl) and id(x) not in applied and id(x) not in gone:
                        gone.add(id(x))
                        out.append(self._named(x, "removed", f"removing table '{x.name}'", "info"))
                        changed = True
                    elif isinstance(x, ast.Instantiation) and id(x) not in refs and id(x) not in gone \
                            and _type_name(x.typeref) in {d.name for d in blocks}:
                        gone.add(id(x))
                        changed = True
            if not changed:
                break
        self.removed = gone
        return out

    def _instantiated(self, d: ast.Instantiation) -> set[str]:
        names = {_type_name(d.typeref)}
        for a in d.args:
            for n in self.live_nodes(a):
                if isinstance(n, ast.ConstructorCall):
                    names.add(_type_name(n.typeref))
        return names

    def _body_nodes(self, b: Any):
        """The live code of a control's or parser's own body (its apply block or states,
        and the instances, variables and tables it declares)."""
        if isinstance(b, ast.ControlDecl):
            yield from self.live_nodes(b.body)
        else:
            for st in b.states:
                yield from self.live_nodes(st)
        for x in b.locals:
            if isinstance(x, (ast.VarDecl, ast.Instantiation)):
                yield from self.live_nodes(x)

    def live_blocks(self) -> list:
        return [d for d in self.user if isinstance(d, (ast.ControlDecl, ast.ParserDecl)) and id(d) not in self.removed]

    # ------------------------------------------------------------------ side effects
    @_quiet
    def ordering(self) -> list[Warning_]:
        out: list[Warning_] = []
        used = self._used_callables()
        for d in self.user:
            if isinstance(d, (ast.ControlDecl, ast.ParserDecl)):
                if id(d) in self.removed:
                    continue
                for x in d.locals:
                    if isinstance(x, ast.ActionDecl) and id(x) in used:
                        self._calls_in(x.body, out)
                    elif isinstance(x, ast.TableDecl) and id(x) not in self.removed:
                        pass
                    elif isinstance(x, (ast.VarDecl,)):
                        self._calls_in(x, out)
                for part in (d.states if isinstance(d, ast.ParserDecl) else [d.body]):
                    self._calls_in(part, out)
            elif isinstance(d, (ast.ActionDecl, ast.FunctionDecl)) and id(d) in used:
                self._calls_in(d.body, out)
        return out

    def _used_callables(self) -> set[int]:
        used: set[int] = set()
        work: list = []
        for b in self.live_blocks():
            work.append(b.body if isinstance(b, ast.ControlDecl) else b)
            for t in self._tables(b):
                if id(t) in self.removed:
                    continue
                for ar in getattr(t, "action_refs", []) or []:
                    if getattr(ar, "decl", None) is not None and id(ar.decl) not in used:
                        used.add(id(ar.decl))
                        work.append(ar.decl.body)
                work.extend(t.properties)
        while work:
            n = work.pop()
            for x in self.live_nodes(n):
                if isinstance(x, ast.Call) and getattr(x, "kind", None) in ("action", "function"):
                    d = x.target
                    if id(d) not in used:
                        used.add(id(d))
                        work.append(d.body)
        return used

    def _calls_in(self, n: Any, out: list[Warning_]) -> None:
        for x in self.live_nodes(n):
            if isinstance(x, ast.Call):
                self._call_ordering(x, out)

    def _call_ordering(self, e: ast.Call, out: list[Warning_]) -> None:
        if getattr(e, "kind", None) == "builtin" and getattr(e, "method", "") == "isValid":
            return
        bound = [(p, a) for p, a in (getattr(e, "bound", []) or []) if p is not None and a is not None]
        written: list = []
        for n in self.live_nodes(e):
            if isinstance(n, ast.Call):
                if getattr(n, "kind", None) == "table_apply":
                    return  # p4c copies every argument then
                for p, a in getattr(n, "bound", []) or []:
                    if p is not None and a is not None and p.direction in ("out", "inout"):
                        written.append(a)
        if not any(p.direction for p, _a in bound):
            return
        written.sort(key=lambda a: self.pos(self.spans.span(a)[0] if self.spans.span(a) else a.loc))
        temps: set[int] = set()
        for p, a in bound:
            if not p.direction:
                continue
            if any(isinstance(n, ast.Call) and not (getattr(n, "kind", None) == "builtin"
                                                   and getattr(n, "method", "") == "isValid")
                   for n in self.live_nodes(a)):
                temps.add(id(p))
            elif isinstance(a, ast.Slice) and p.direction in ("out", "inout"):
                temps.add(id(p))
            elif isinstance(a, (ast.ListExpr, ast.StructInit)) and _has_header(getattr(p, "ptype", None)):
                temps.add(id(p))
        for p, a in bound:
            if id(p) in temps or getattr(a, "const", None) is not None:
                continue
            pa = _path(a)
            for w in written:
                if w is a:
                    continue
                pw = _path(w)
                if pa is not None and pw is not None and _overlap(pa, pw):
                    if p.direction in ("out", "inout"):
                        msg = f"{p4_text(a)}: 'out' argument has fields in common with {p4_text(w)}"
                        x = self._at(a, "ordering", msg, also=w)
                        if x is not None:
                            out.append(x)
                    break

    # ------------------------------------------------------------------ check constants
    @_quiet
    def constant_keys(self) -> list[Warning_]:
        out: list[Warning_] = []
        for b in self.live_blocks():
            for t in self._tables(b):
                if id(t) in self.removed:
                    continue
                for k in getattr(t, "keys", []) or []:
                    v = getattr(k.expr, "const", None)
                    if v is None or isinstance(v, (EnumValue, ErrorValue)) or not isinstance(v, (int, bool)):
                        continue
                    c1 = self.value(k.expr)
                    kt = strip_newtype(getattr(k.expr, "type", None))
                    if isinstance(v, bool):
                        c = C1(v)
                    else:
                        c = C1(v, getattr(kt, "width", None), getattr(kt, "signed", False),
                               c1.base if c1 is not None else 10)
                    node = c1.node if c1 is not None and c1.node is not None else k.expr
                    w = self._at(node, "mismatch", f"{const_text(c)}: Constant key field")
                    if w is not None:
                        out.append(w)
        return out

    # ------------------------------------------------------------------ parsers
    def _reachable(self, p: ast.ParserDecl, nexts: Callable[[Any], list[str]]) -> list:
        states = {s.name: s for s in p.states}
        seen, work = set(), ["start"]
        while work:
            n = work.pop()
            if n in seen or n not in states:
                continue
            seen.add(n)
            work.extend(nexts(states[n]))
        return [s for s in p.states if s.name in seen]

    @staticmethod
    def _written_nexts(s: ast.ParserState) -> list[str]:
        tr = s.transition
        return [tr] if isinstance(tr, str) else [c.state for c in tr.cases] if isinstance(tr, ast.SelectExpr) else []

    def _nexts(self, s: ast.ParserState) -> list[str]:
        r = self.simplified.get(id(s))
        if r is None:
            return self._written_nexts(s)
        return [r] if isinstance(r, str) else [c.state for c in r]

    @_quiet
    def select_cases(self) -> list[Warning_]:
        out: list[Warning_] = []
        for p in self.live_blocks():
            if not isinstance(p, ast.ParserDecl):
                continue
            for s in self._reachable(p, self._written_nexts):
                if isinstance(s.transition, ast.SelectExpr):
                    self._simplify_select(s, out)
        return out

    def _keyset_value(self, k: Any) -> Any:
        if isinstance(k, ast.DefaultKey):
            return None
        if isinstance(k, ast.TupleKey):
            vs = [self._keyset_value(x) for x in k.items]
            return None if any(v is None or v == "default" for v in vs) else tuple(vs)
        v = getattr(k, "const", None)
        return v if isinstance(v, (int, bool, EnumValue, ErrorValue)) else None

    def _simplify_select(self, s: ast.ParserState, out: list[Warning_]) -> None:
        sel = s.transition
        cases, seen_default, changes = [], False, False
        for c in sel.cases:
            if seen_default:
                w = self._case_warning(c)
                if w is not None:
                    out.append(w)
                changes = True
                continue
            cases.append(c)
            if isinstance(c.keyset, ast.DefaultKey):
                seen_default = True
        vals = [self._keyset_value(c.keyset) for c in cases]
        all_const = all(v is not None or isinstance(c.keyset, ast.DefaultKey) for c, v in zip(cases, vals))
        if all_const:
            kept, keys = [], []
            for c, v in zip(cases, vals):
                key = ("default",) if isinstance(c.keyset, ast.DefaultKey) else v
                if key not in keys:
                    keys.append(key)
                    kept.append(c)
            if len(kept) != len(cases):
                cases, changes = kept, True
        if seen_default and all_const:
            last = cases[-1]
            kept = [c for c in cases[:-1] if c.state != last.state] + [last]
            if len(kept) != len(cases):
                cases, changes = kept, True
        if changes and len(cases) == 1:
            first, last = sel.exprs[0], sel.exprs[-1]
            a, b = self.spans.span_pos(first), self.spans.span_pos(last)
            text = "{ " + ", ".join(p4_text(x) for x in sel.exprs) + " }"
            msg = f"'{text}': transition does not depend on select argument"
            if a is not None and b is not None and a[0][0] == b[1][0]:
                line = self.sources.lines(first.loc.file)[a[0][0]]
                src = re.sub(r"[ \t]+", " ", line[a[0][1]:b[1][1]])
                out.append((SourceLoc(first.loc.file, a[0][0] + 1, a[0][1] + 1), "parser-transition", msg,
                            src, False, None, "warning"))
            else:
                w = self._at(first, "parser-transition", msg)
                if w is not None:
                    out.append(w)
            self.simplified[id(s)] = cases[0].state
            self.simplified[("case", id(s))] = cases[0]
        elif changes:
            self.simplified[id(s)] = cases

    def _case_end(self, c: ast.SelectCase) -> tuple | None:
        sp = self.spans.span_pos(c.keyset)
        if sp is None:
            return None
        q = self.spans._after(c.keyset.loc.file, sp[1], r":\s*" + re.escape(c.state) + r"\b")
        return (sp[0], q) if q else None

    def _case_warning(self, c: ast.SelectCase) -> Warning_ | None:
        r = self._case_end(c)
        if r is None:
            return None
        (l0, c0), (l1, c1) = r
        line = self.sources.lines(c.keyset.loc.file)[l0]
        text = re.sub(r"[ \t]+", " ", line[c0:c1] if l1 == l0 else line[c0:])
        return (SourceLoc(c.keyset.loc.file, l0 + 1, c0 + 1), "parser-transition", "SelectCase: unreachable",
                text, False, None, "warning")

    @_quiet
    def implicit_transitions(self) -> list[Warning_]:
        """A state without a transition statement (p4c's parser says so first of all)."""
        return [self._named(st, "parser-transition", f"{st.name}: implicit transition to `reject'")
                for p in self.user if isinstance(p, ast.ParserDecl)
                for st in p.states if st.transition is None]

    @_quiet
    def unreachable_accept(self, simplified: bool) -> list[Warning_]:
        """p4c's parser simplification (in the front end, again in the mid end after the
        select cases are simplified): a parser that cannot reach 'accept'."""
        out: list[Warning_] = []
        for p in self.live_blocks():
            if isinstance(p, ast.ParserDecl):
                states = self._reachable(p, self._nexts if simplified else self._written_nexts)
                nexts = {n for st in states for n in (self._nexts(st) if simplified else self._written_nexts(st))}
                if "accept" not in nexts:
                    out.append(self._named(p, "unreachable", f"accept state in parser {p.name} is unreachable"))
        return out

    @_quiet
    def rejects(self) -> list[Warning_]:
        out: list[Warning_] = []
        msg = "Explicit transition to reject not supported on this target"
        for p in self.live_blocks():
            if not isinstance(p, ast.ParserDecl):
                continue
            for s in self._reachable(p, self._nexts):
                tr = s.transition
                r = self.simplified.get(id(s))
                if isinstance(r, str):
                    cases = [self.simplified[("case", id(s))]]
                elif isinstance(r, list):
                    cases = r
                elif isinstance(tr, ast.SelectExpr):
                    cases = tr.cases
                else:
                    cases = None
                if cases is None:
                    if tr == "reject":
                        loc = self._transition_reject(s)
                        if loc is not None:
                            out.append((loc, "unsupported", msg, "reject", True, None, "warning"))
                    continue
                for c in cases:
                    if c.state == "reject":
                        r2 = self._case_end(c)
                        if r2 is not None:
                            (l1, c1) = r2[1]
                            out.append((SourceLoc(c.keyset.loc.file, l1 + 1, c1 - len("reject") + 1),
                                        "unsupported", msg, "reject", True, None, "warning"))
        return out

    def _transition_reject(self, s: ast.ParserState) -> SourceLoc | None:
        if s.loc is None:
            return None
        lines = self.sources.lines(s.loc.file)
        for i in range(s.loc.line - 1, min(len(lines), s.loc.line + 200)):
            start = s.loc.col - 1 if i == s.loc.line - 1 else 0
            m = re.compile(r"\btransition\s+(reject)\b").search(lines[i], start)
            if m:
                return SourceLoc(s.loc.file, i + 1, m.start(1) + 1)
            if i > s.loc.line - 1 and re.match(r"\s*state\b", lines[i]):
                return None
        return None


def _type_name(t: Any) -> str:
    if isinstance(t, ast.SpecializedTypeRef):
        t = t.base
    return getattr(t, "name", "")


def _has_header(t: Any) -> bool:
    t = strip_newtype(t)
    if isinstance(t, StructT):
        return t.kind == "header" or any(_has_header(ft) for _n, ft, _x in t.fields)
    return False


def _path(e: Any) -> tuple | None:
    """The storage an l-value names: the declaration, then fields and indices ('*': any)."""
    if isinstance(e, ast.PathExpr):
        ref = getattr(e, "ref", None)
        return (id(ref),) if ref is not None else None
    if isinstance(e, ast.Member):
        base = _path(e.expr)
        if base is None:
            return None
        if e.name in ("next", "last") and not isinstance(strip_newtype(getattr(e.expr, "type", None)), StructT):
            return base + ("*",)
        return base + (e.name,)
    if isinstance(e, ast.Index):
        base = _path(e.expr)
        v = getattr(e.index, "const", None)
        return None if base is None else base + ((v,) if isinstance(v, int) else ("*",))
    if isinstance(e, ast.Slice):
        return _path(e.expr)
    return None


def _overlap(a: tuple, b: tuple) -> bool:
    for x, y in zip(a, b):
        if x != y and x != "*" and y != "*":
            return False
    return True
