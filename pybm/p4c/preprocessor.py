"""C-style preprocessor for P4 sources.

Supports #include ("..." and <...>), #define (object-like and simple
function-like macros), #undef, #if/#ifdef/#ifndef/#elif/#else/#endif with
defined(), #error, #warning, #pragma once and #line-free line tracking: the
result is the expanded text plus, for every output line, the file and line it
came from, so later stages can report errors at the original location.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CompileError, SourceLoc

BUILTIN_INCLUDE_DIR = Path(__file__).parent / "p4include"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# a macro body's tokens: string literals, '##', '#', names, numbers, blanks, one char
_BODY_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|##|#|[A-Za-z_][A-Za-z0-9_]*|[0-9][A-Za-z0-9_]*|\s+|.')
_DIRECTIVE = re.compile(r"^\s*#\s*([A-Za-z_]+)?(.*)$")


@dataclass
class Macro:
    name: str
    body: str
    params: list[str] | None = None  # None for object-like macros


@dataclass
class PreprocessedSource:
    text: str
    # line_map[i] is the (file, line) of output line i+1
    line_map: list[tuple[str, int]] = field(default_factory=list)
    # file -> line -> that line after macro expansion
    expanded: dict[str, dict[int, str]] = field(default_factory=dict)

    def loc(self, line: int, col: int) -> SourceLoc:
        if 1 <= line <= len(self.line_map):
            f, ln = self.line_map[line - 1]
            return SourceLoc(f, ln, col)
        return SourceLoc(self.line_map[-1][0] if self.line_map else "<input>", line, col)


def _strip_comments(text: str, fname: str) -> str:
    """Replace comments by spaces, keeping newlines so lines stay aligned."""
    out: list[str] = []
    i, n = 0, len(text)
    line = 1
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\":
                    j += 1
                if j < n and text[j] == "\n":
                    break
                j += 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise CompileError(SourceLoc(fname, line, 1), "unterminated comment")
            chunk = text[i:j + 2]
            out.append(re.sub(r"[^\n]", " ", chunk))
            line += chunk.count("\n")
            i = j + 2
        else:
            if c == "\n":
                line += 1
            out.append(c)
            i += 1
    return "".join(out)


class _CondExprParser:
    """Evaluates #if expressions (integers, defined-substituted, C operators)."""

    _TOK = re.compile(r"\s*(0[xX][0-9a-fA-F]+|\d+|&&|\|\||==|!=|<=|>=|<<|>>|[-+*/%()!<>&|^~?:]|[A-Za-z_]\w*)")
    _BIN = {
        "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
        "<": 7, ">": 7, "<=": 7, ">=": 7, "<<": 8, ">>": 8,
        "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
    }

    def __init__(self, text: str, loc: SourceLoc) -> None:
        self.loc = loc
        self.toks: list[str] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = self._TOK.match(text, pos)
            if not m:
                raise CompileError(loc, f"invalid #if expression: {text!r}")
            self.toks.append(m.group(1))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0

    def _peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _next(self) -> str:
        t = self._peek()
        if t is None:
            raise CompileError(self.loc, "unexpected end of #if expression")
        self.i += 1
        return t

    def parse(self) -> int:
        v = self._ternary()
        if self._peek() is not None:
            raise CompileError(self.loc, f"unexpected '{self._peek()}' in #if expression")
        return v

    def _ternary(self) -> int:
        c = self._binary(1)
        if self._peek() == "?":
            self._next()
            a = self._ternary()
            if self._next() != ":":
                raise CompileError(self.loc, "expected ':' in #if expression")
            b = self._ternary()
            return a if c else b
        return c

    def _binary(self, prec: int) -> int:
        left = self._unary()
        while True:
            op = self._peek()
            p = self._BIN.get(op or "")
            if p is None or p < prec:
                return left
            self._next()
            right = self._binary(p + 1)
            left = self._apply(op or "", left, right)

    def _apply(self, op: str, a: int, b: int) -> int:
        if op in ("/", "%") and b == 0:
            raise CompileError(self.loc, "division by zero in #if expression")
        return {
            "||": lambda: int(bool(a) or bool(b)), "&&": lambda: int(bool(a) and bool(b)),
            "|": lambda: a | b, "^": lambda: a ^ b, "&": lambda: a & b,
            "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
            ">": lambda: int(a > b), "<=": lambda: int(a <= b), ">=": lambda: int(a >= b),
            "<<": lambda: a << b, ">>": lambda: a >> b, "+": lambda: a + b,
            "-": lambda: a - b, "*": lambda: a * b, "/": lambda: int(a / b),
            "%": lambda: a % b,
        }[op]()

    def _unary(self) -> int:
        t = self._next()
        if t == "(":
            v = self._ternary()
            if self._next() != ")":
                raise CompileError(self.loc, "expected ')' in #if expression")
            return v
        if t == "!":
            return int(not self._unary())
        if t == "-":
            return -self._unary()
        if t == "+":
            return self._unary()
        if t == "~":
            return ~self._unary()
        if t[0].isdigit():
            return int(t, 0) if not (len(t) > 1 and t[0] == "0" and t[1].isdigit()) else int(t, 8)
        if _IDENT.fullmatch(t):
            return 0  # undefined identifiers evaluate to 0, as in C
        raise CompileError(self.loc, f"unexpected '{t}' in #if expression")


class Preprocessor:
    def __init__(self, include_dirs: list[str] | None = None,
                 defines: dict[str, str] | None = None) -> None:
        self.include_dirs = [Path(d) for d in (include_dirs or [])]
        self.macros: dict[str, Macro] = {}
        for name, value in (defines or {}).items():
            self.macros[name] = Macro(name, value)
        self.once: set[str] = set()
        self.out_lines: list[str] = []
        self.line_map: list[tuple[str, int]] = []
        # file -> line -> the line after macro expansion (what p4c shows under a warning)
        self.expanded: dict[str, dict[int, str]] = {}
        self.depth = 0

    # -- public -----------------------------------------------------------
    def run_file(self, path: str) -> PreprocessedSource:
        p = Path(path)
        if not p.is_file():
            raise CompileError(SourceLoc(path, 0, 0), "cannot open source file")
        self._process(p, str(path))
        return PreprocessedSource("\n".join(self.out_lines) + "\n", self.line_map, self.expanded)

    def run_text(self, text: str, fname: str = "<input>") -> PreprocessedSource:
        self._process_text(text, fname, Path.cwd())
        return PreprocessedSource("\n".join(self.out_lines) + "\n", self.line_map, self.expanded)

    # -- internals --------------------------------------------------------
    def _process(self, path: Path, display: str) -> None:
        key = str(path.resolve())
        if key in self.once:
            return
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CompileError(SourceLoc(display, 0, 0), f"cannot read file: {e}") from None
        self._process_text(text, display, path.parent, key)

    def _process_text(self, text: str, fname: str, directory: Path, key: str = "") -> None:
        self.depth += 1
        if self.depth > 64:
            raise CompileError(SourceLoc(fname, 1, 1), "#include nested too deeply")
        text = _strip_comments(text, fname)
        raw_lines = text.split("\n")
        # join backslash continuations, remembering the first physical line
        lines: list[tuple[int, str]] = []
        i = 0
        while i < len(raw_lines):
            start = i
            cur = raw_lines[i]
            while cur.endswith("\\") and i + 1 < len(raw_lines):
                i += 1
                cur = cur[:-1] + " " + raw_lines[i]
            lines.append((start + 1, cur))
            # keep the line count: continuation lines become empty lines
            for k in range(start + 1, i + 1):
                lines.append((k + 1, ""))
            i += 1
        # stack of (active, any_branch_taken, seen_else, loc)
        stack: list[list] = []
        active = True
        idx = 0
        while idx < len(lines):
            lineno, line = lines[idx]
            idx += 1
            m = _DIRECTIVE.match(line)
            loc = SourceLoc(fname, lineno, 1)
            if m:
                name = m.group(1) or ""
                rest = m.group(2).strip()
                if name in ("if", "ifdef", "ifndef"):
                    if not active:
                        stack.append([False, True, False, loc, active])
                    else:
                        if name == "if":
                            cond = self._eval_if(rest, loc)
                        elif name == "ifdef":
                            cond = self._macro_name(rest, loc) in self.macros
                        else:
                            cond = self._macro_name(rest, loc) not in self.macros
                        stack.append([cond, cond, False, loc, active])
                        active = cond
                elif name == "elif":
                    if not stack or stack[-1][2]:
                        raise CompileError(loc, "#elif without #if")
                    top = stack[-1]
                    if top[4] and not top[1]:
                        cond = self._eval_if(rest, loc)
                        top[0] = cond
                        top[1] = cond
                    else:
                        top[0] = False
                    active = top[0]
                elif name == "else":
                    if not stack or stack[-1][2]:
                        raise CompileError(loc, "#else without #if")
                    top = stack[-1]
                    top[2] = True
                    top[0] = top[4] and not top[1]
                    top[1] = True
                    active = top[0]
                elif name == "endif":
                    if not stack:
                        raise CompileError(loc, "#endif without #if")
                    top = stack.pop()
                    active = top[4]
                elif not active:
                    pass
                elif name == "define":
                    self._define(rest, loc)
                elif name == "undef":
                    self.macros.pop(self._macro_name(rest, loc), None)
                elif name == "include":
                    self._include(rest, loc, directory)
                elif name == "error":
                    raise CompileError(loc, f"#error {rest}")
                elif name in ("warning", "line", "pragma", ""):
                    if name == "pragma" and rest == "once" and key:
                        self.once.add(key)
                else:
                    raise CompileError(loc, f"unknown preprocessor directive #{name}")
                self.out_lines.append("")
                self.line_map.append((fname, lineno))
                continue
            if not active:
                self.out_lines.append("")
                self.line_map.append((fname, lineno))
                continue
            # a macro invocation whose arguments go on over the next lines (as cpp
            # allows): the expansion goes on the first line, the lines it took stay
            # empty so the line numbers after it keep matching
            taken = 0
            while True:
                try:
                    expanded = self._expand(line, loc)
                    break
                except _Unterminated:
                    nxt = idx + taken
                    if nxt >= len(lines) or _DIRECTIVE.match(lines[nxt][1]):
                        raise CompileError(loc, "unterminated macro invocation") from None
                    line = line + " " + lines[nxt][1]
                    taken += 1
            self.out_lines.append(expanded)
            self.line_map.append((fname, lineno))
            if taken or expanded != line:
                self.expanded.setdefault(fname, {})[lineno] = expanded
            for k in range(taken):
                self.out_lines.append("")
                self.line_map.append((fname, lines[idx + k][0]))
            idx += taken
        if stack:
            raise CompileError(stack[-1][3], "unterminated conditional directive")
        self.depth -= 1

    def _macro_name(self, rest: str, loc: SourceLoc) -> str:
        m = _IDENT.match(rest)
        if not m:
            raise CompileError(loc, "macro name expected")
        return m.group(0)

    def _define(self, rest: str, loc: SourceLoc) -> None:
        m = _IDENT.match(rest)
        if not m:
            raise CompileError(loc, "macro name expected after #define")
        name = m.group(0)
        after = rest[m.end():]
        if after.startswith("("):
            close = after.find(")")
            if close < 0:
                raise CompileError(loc, "missing ')' in macro parameter list")
            params = [p.strip() for p in after[1:close].split(",") if p.strip()]
            if params and params[-1] == "...":
                params[-1] = "__VA_ARGS__"  # variadic: the rest of the arguments
            for p in params:
                if not _IDENT.fullmatch(p) or (p == "__VA_ARGS__" and p is not params[-1]):
                    raise CompileError(loc, f"invalid macro parameter '{p}'")
            self.macros[name] = Macro(name, after[close + 1:].strip(), params)
        else:
            self.macros[name] = Macro(name, after.strip())

    def _include(self, rest: str, loc: SourceLoc, directory: Path) -> None:
        rest = self._expand(rest, loc).strip()
        if rest.startswith('"') and rest.endswith('"') and len(rest) >= 2:
            target = rest[1:-1]
            search = [directory, *self.include_dirs, BUILTIN_INCLUDE_DIR]
        elif rest.startswith("<") and rest.endswith(">"):
            target = rest[1:-1]
            search = [*self.include_dirs, BUILTIN_INCLUDE_DIR]
        else:
            raise CompileError(loc, f"malformed #include {rest}")
        for d in search:
            cand = d / target
            if cand.is_file():
                display = os.path.normpath(str(cand))
                self._process(cand, display)
                return
        raise CompileError(loc, f"cannot find include file '{target}'")

    def _eval_if(self, expr: str, loc: SourceLoc) -> bool:
        def repl(m: re.Match) -> str:
            return "1" if m.group(1) in self.macros else "0"
        expr = re.sub(r"\bdefined\s*\(\s*([A-Za-z_]\w*)\s*\)", repl, expr)
        expr = re.sub(r"\bdefined\s+([A-Za-z_]\w*)", repl, expr)
        expr = self._expand(expr, loc)
        # integer suffixes / P4-style width prefixes are not valid here
        return bool(_CondExprParser(expr, loc).parse())

    def _expand(self, text: str, loc: SourceLoc, disabled: frozenset = frozenset()) -> str:
        if (not self.macros and "__" not in text) or not _IDENT.search(text):
            return text
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c == '"':
                j = i + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                out.append(text[i:j + 1])
                i = j + 1
                continue
            if c.isalpha() or c == "_":
                m = _IDENT.match(text, i)
                assert m
                word = m.group(0)
                i = m.end()
                if word in ("__LINE__", "__FILE__") and word not in self.macros:
                    out.append(str(loc.line) if word == "__LINE__" else '"' + loc.file + '"')
                    continue
                macro = self.macros.get(word)
                if macro is None or word in disabled or (i - len(word) > 0 and text[i - len(word) - 1].isdigit()):
                    out.append(word)
                    continue
                if macro.params is None:
                    body = self._substitute(macro.body, {}, str) if "##" in macro.body else macro.body
                    out.append(self._expand(body, loc, disabled | {word}))
                    continue
                j = i
                while j < n and text[j] in " \t":
                    j += 1
                if j >= n or text[j] != "(":
                    out.append(word)
                    continue
                args, end = self._macro_args(text, j, loc)
                if len(args) == 1 and not args[0].strip() and not macro.params:
                    args = []
                params = macro.params
                if params and params[-1] == "__VA_ARGS__":
                    if len(args) < len(params) - 1:
                        raise CompileError(loc, f"macro '{word}' expects at least {len(params) - 1} arguments, "
                                                f"got {len(args)}")
                    args = args[:len(params) - 1] + [",".join(args[len(params) - 1:])]
                elif len(args) != len(params):
                    raise CompileError(loc, f"macro '{word}' expects {len(params)} arguments, got {len(args)}")
                raw = {p: a.strip() for p, a in zip(params, args)}
                body = self._substitute(macro.body, raw, lambda a: self._expand(a, loc, disabled))
                out.append(self._expand(body, loc, disabled | {word}))
                i = end
                continue
            if c.isdigit():
                m = re.compile(r"[0-9A-Za-z_]+").match(text, i)
                assert m
                out.append(m.group(0))
                i = m.end()
                continue
            out.append(c)
            i += 1
        return "".join(out)

    @staticmethod
    def _substitute(body: str, raw: dict[str, str], expand) -> str:
        """A function-like macro's body with its arguments put in, as cpp does: '#p' is
        the argument as a string literal, 'a ## b' pastes the two (unexpanded) operands
        together, any other parameter is its argument fully macro-expanded."""
        toks = [t for t in _BODY_TOKEN.findall(body)]
        out: list[str] = []
        i = 0

        def next_solid(k: int) -> int:
            while k < len(toks) and toks[k].isspace():
                k += 1
            return k
        while i < len(toks):
            t = toks[i]
            if t == "#" and next_solid(i + 1) < len(toks) and toks[next_solid(i + 1)] in raw:
                j = next_solid(i + 1)
                text = re.sub(r"\s+", " ", raw[toks[j]])
                out.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
                i = j + 1
                continue
            if t == "##":
                while out and out[-1].isspace():
                    out.pop()
                j = next_solid(i + 1)
                if j < len(toks):
                    nxt = toks[j]
                    out.append(raw[nxt] if nxt in raw else nxt)
                i = j + 1
                continue
            if t in raw:
                j = next_solid(i + 1)
                out.append(raw[t] if j < len(toks) and toks[j] == "##" else expand(raw[t]))
            else:
                out.append(t)
            i += 1
        return "".join(out)

    @staticmethod
    def _macro_args(text: str, start: int, loc: SourceLoc) -> tuple[list[str], int]:
        depth = 0
        args: list[str] = []
        cur: list[str] = []
        i = start
        while i < len(text):
            c = text[i]
            if c == "(":
                depth += 1
                if depth > 1:
                    cur.append(c)
            elif c == ")":
                depth -= 1
                if depth == 0:
                    args.append("".join(cur))
                    return args, i + 1
                cur.append(c)
            elif c == "," and depth == 1:
                args.append("".join(cur))
                cur = []
            else:
                cur.append(c)
            i += 1
        raise _Unterminated(loc, "unterminated macro invocation")


class _Unterminated(CompileError):
    """A macro's argument list that does not end on its line (the caller joins the next)."""


def preprocess_file(path: str, include_dirs: list[str] | None = None,
                    defines: dict[str, str] | None = None) -> PreprocessedSource:
    return Preprocessor(include_dirs, defines).run_file(path)
