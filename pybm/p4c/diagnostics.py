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
  after setInvalid() in the same control's flow, through header copies, directly
  called actions and (as p4c's def-use, twice) inlined functions; a table's actions at
  its apply, which leaves the headers as they were; a sub-control's or sub-parser's out
  and inout header arguments valid after its apply (then, second, the sub-control
  inlined); a local header starts invalid; in a parser, the headers of its out
  parameters until extracted (validity.py).
- uninitialized-use / uninitialized-out-param: defuse.py; shadow: shadow.py; constant
  keys, ordering, overflow, parser transitions, rejects, `removing` infos: lint.py.
Order as p4c's passes (collect_warnings): the parser's, shadow, unused, early constant
folding, deprecation, type inference, removals, parser simplification, side-effect
ordering, then block by block (parsers, controls and functions in program order) the
def-use ones, constant keys, the late def-use ones, the mid end's, the back end's.
"""
from __future__ import annotations

import re
from typing import Any

from . import ast
from .defuse import UninitChecker
from .errors import SourceLoc
from .lint import Lint
from .preprocessor import BUILTIN_INCLUDE_DIR
from .scope import Scope
from .shadow import shadow_warnings
from .types import ObjectT
from .validity import ValidityChecker, WarningRecorder


class Diagnostics:
    def __init__(self, expanded: dict[str, dict[int, str]] | None = None) -> None:
        self.lines: dict[str, list[str]] = {}
        self.messages: list[str] = []
        self.seen: set[tuple] = set()
        # lines that macros changed, as the preprocessor gave them on (p4c shows those)
        self.expanded = expanded or {}

    def source_line(self, loc: SourceLoc) -> str:
        line = self.expanded.get(loc.file, {}).get(loc.line)
        if line is not None:
            return line
        if loc.file not in self.lines:
            try:
                with open(loc.file, encoding="utf-8") as f:
                    self.lines[loc.file] = f.read().split("\n")
            except OSError:
                self.lines[loc.file] = []
        lines = self.lines[loc.file]
        return lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""

    def warn(self, loc: SourceLoc | None, kind: str, message: str, text: str | None, word: bool = True,
             also: tuple | None = None, level: str = "warning", again: bool = False) -> None:
        """A warning (or, level "info", an info) at loc; carets under 'text' (searched from
        loc's column on); 'also': a second location, (loc, text) or (loc, text, word)
        (p4c's form: FILE(LINE), its source line and carets); 'again': even if given before."""
        if loc is None or loc.line <= 0:
            return
        key = (loc.file, loc.line, loc.col, kind, message)
        if key in self.seen and not again:
            return
        self.seen.add(key)
        flag = "Winfo" if level == "info" else "Wwarn"
        out = f"{loc.file}({loc.line}): [--{flag}={kind}] {level}: {message}" + self.excerpt(loc, text, word)
        if also is not None and also[0] is not None and also[0].line > 0:
            out += f"\n{also[0].file}({also[0].line})" + self.excerpt(also[0], also[1], also[2] if len(also) > 2 else True)
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
            line, col = _window(line, col, width)
            out += "\n" + line + "\n" + " " * col + "^" * width
        return out


def _window(line: str, col: int, width: int, w: int = 100) -> tuple[str, int]:
    """p4c shows a line of 100 characters or more as 100 of them around the carets, the
    cut ends marked '...' (p4c takes the width from COLUMNS when that is in its
    environment; pybm-p4c always 100: test runners and libraries export COLUMNS)."""
    if len(line) < w:
        return line, col
    start = max(0, min(col + width // 2 - w // 2, len(line) - w))
    shown = line[start:start + w]
    if start > 0:
        shown = "..." + shown[3:]
    if start == 0 or start + w < len(line):
        shown = shown[:-3] + "..."
    return shown, col - start


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


def collect_warnings(program: ast.Program, root: Scope, type_warnings: list[tuple] = (),
                     expanded: dict[str, dict[int, str]] | None = None) -> list[str]:
    """Every warning of the program, in p4c's order and format; 'expanded': the lines
    macros changed (PreprocessedSource.expanded), shown as expanded."""
    diag = Diagnostics(expanded)
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
    # p4c's passes in order (lint.py: the parser's, early constant folding, deprecation,
    # type inference, removal of unused declarations, parser simplification, side-effect
    # ordering; after def-use: constants, the mid end, the back end)
    lint = Lint(program, _system, files)

    def emit(found: list[tuple]) -> None:
        for loc, kind, message, text, word, also, level in found:
            diag.warn(loc, kind, message, text, word=word, also=also, level=level, again=kind == "unreachable")
    emit(lint.implicit_transitions())
    shadow_warnings(root, files, diag, _system)
    late = unused_warnings(root, table_actions, files, diag)
    emit(lint.early)
    emit(lint.type_phase(list(type_warnings)))
    emit(lint.infos)
    emit(lint.unreachable_accept(False))
    emit(lint.ordering())
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
            ValidityChecker(WarningRecorder(valid)).parser(d)
        elif isinstance(d, ast.ControlDecl):
            checker.control(d)
            ValidityChecker(WarningRecorder(valid)).control(d)
        else:
            checker.function(d)
            ValidityChecker(WarningRecorder(valid)).stmt(d.body, {})
        # (in a parser p4c gives all its uninitialized-use warnings first)
        both = uninit + valid if isinstance(d, ast.ParserDecl) else _interleave(valid, uninit, files)
        for loc, kind, message, text, word, also in both:
            diag.warn(loc, kind, message, text, word=word, also=also)
        late_uninit.extend(checker.late)
    emit(lint.constant_keys())
    for loc, message, text in late_uninit:
        diag.warn(loc, "uninitialized-use", message, text)
    emit(lint.select_cases())  # the mid end
    emit(lint.unreachable_accept(True))
    emit(lint.rejects())  # the back end, parsers first
    for loc, name in late:
        diag.warn(loc, "unused", f"Unused action parameter {name}", name)
    return diag.messages
