"""Source spans and p4c's printing of expressions, for the warnings of lint.py.

span(): where an expression is written (first character to last, the parentheses around
it included, as p4c's source positions have it); the AST keeps only where a node starts.
p4_text(): an expression as p4c prints it inside a message (constants in decimal,
parentheses by precedence); const_text(): a constant as p4c prints a literal node
("8w0x1f", "-4w1", "4s7").
"""
from __future__ import annotations

import re
from typing import Any

from . import ast
from .ast_text import type_text
from .constfold import C1
from .errors import SourceLoc

_IDENT_END = re.compile(r"[A-Za-z0-9_]$")
_KEYWORDS_BEFORE_PAREN = {"return"}


class Sources:
    """The text of the source files (by the file names of the locations)."""

    def __init__(self) -> None:
        self.files: dict[str, list[str]] = {}

    def lines(self, file: str) -> list[str]:
        if file not in self.files:
            try:
                with open(file, encoding="utf-8") as f:
                    self.files[file] = f.read().split("\n")
            except OSError:
                self.files[file] = []
        return self.files[file]

    def char(self, file: str, line: int, col: int) -> str:
        ls = self.lines(file)
        if 0 <= line < len(ls) and 0 <= col < len(ls[line]):
            return ls[line][col]
        return ""


Pos = tuple[int, int]  # 0-based line, 0-based column


def _pos(loc: SourceLoc | None) -> Pos | None:
    return None if loc is None or loc.line <= 0 else (loc.line - 1, loc.col - 1)


class Spans:
    def __init__(self, sources: Sources) -> None:
        self.src = sources

    # ---------------------------------------------------------------- scanning
    def _skip_ws(self, file: str, p: Pos, back: bool = False) -> Pos | None:
        ls = self.src.lines(file)
        line, col = p
        while 0 <= line < len(ls):
            text = ls[line]
            if back:
                while col >= 0 and text[col:col + 1] in (" ", "\t"):
                    col -= 1
                if col >= 0:
                    return line, col
                line -= 1
                col = len(ls[line]) - 1 if line >= 0 else -1
            else:
                while col < len(text) and text[col] in " \t":
                    col += 1
                if col < len(text):
                    return line, col
                line, col = line + 1, 0
        return None

    def _match_close(self, file: str, p: Pos, open_ch: str, close_ch: str) -> Pos | None:
        """From the opening bracket at p, the position just after its closing bracket."""
        ls = self.src.lines(file)
        depth, line, col = 0, p[0], p[1]
        while line < len(ls):
            text = ls[line]
            while col < len(text):
                c = text[col]
                if c == '"':
                    j = text.find('"', col + 1)
                    col = len(text) if j < 0 else j + 1
                    continue
                if c == open_ch:
                    depth += 1
                elif c == close_ch:
                    depth -= 1
                    if depth == 0:
                        return line, col + 1
                col += 1
            line, col = line + 1, 0
        return None

    def _after(self, file: str, p: Pos | None, pattern: str) -> Pos | None:
        """Just after 'pattern' (a regex) written at p (blanks skipped first)."""
        if p is None:
            return None
        q = self._skip_ws(file, p)
        if q is None:
            return None
        m = re.compile(pattern).match(self.src.lines(file)[q[0]], q[1])
        return (q[0], m.end()) if m else None

    # ---------------------------------------------------------------- the span
    def start(self, e: Any) -> Pos | None:
        """Where e's first character is (with the parentheses of its first operand)."""
        if isinstance(e, ast.Binary):
            return self.start_outer(e.left)
        if isinstance(e, (ast.Member, ast.Index, ast.Slice)):
            if isinstance(e, ast.Member) and isinstance(e.expr, ast.TypeNameExpr):
                return _pos(e.expr.loc) or _pos(e.loc)
            return self.start_outer(e.expr)
        if isinstance(e, ast.Ternary):
            return self.start_outer(e.cond)
        if isinstance(e, ast.Call):
            return self.start_outer(e.func)
        return _pos(getattr(e, "loc", None))

    def start_outer(self, e: Any) -> Pos | None:
        s = self.span_pos(e)
        return s[0] if s else self.start(e)

    def end(self, e: Any, file: str) -> Pos | None:
        """Just after the last character of e (not counting parentheses around it)."""
        p = _pos(getattr(e, "loc", None))
        if isinstance(e, ast.IntLit):
            return (p[0], p[1] + len(e.text or str(e.value))) if p else None
        if isinstance(e, ast.BoolLit):
            return (p[0], p[1] + (4 if e.value else 5)) if p else None
        if isinstance(e, ast.PathExpr):
            return (p[0], p[1] + len(e.name) + (1 if e.dot else 0)) if p else None
        if isinstance(e, ast.TypeNameExpr):
            return self._after(file, p, re.escape(type_text(e.typeref)))
        if isinstance(e, ast.Member):
            return self._after(file, self.end_outer(e.expr, file), r"\.\s*" + re.escape(e.name) + r"\b")
        if isinstance(e, ast.Index):
            return self._after(file, self.end_outer(e.index, file), r"\]")
        if isinstance(e, ast.Slice):
            return self._after(file, self.end_outer(e.lo, file), r"\]")
        if isinstance(e, ast.Binary):
            return self.end_outer(e.right, file)
        if isinstance(e, ast.Ternary):
            return self.end_outer(e.other, file)
        if isinstance(e, (ast.Unary, ast.Cast)):
            return self.end_outer(e.expr, file)
        if isinstance(e, ast.Call):
            q = self.end_outer(e.func, file)
            q = q and self._skip_ws(file, q)
            if q and self.src.char(file, *q) == "<":
                q = self._match_close(file, q, "<", ">")
                q = q and self._skip_ws(file, q)
            return self._match_close(file, q, "(", ")") if q and self.src.char(file, *q) == "(" else None
        if isinstance(e, (ast.ListExpr, ast.StructInit)):
            return self._match_close(file, p, "{", "}") if p else None
        if isinstance(e, ast.TupleKey):
            return self._match_close(file, p, "(", ")") if p else None
        if isinstance(e, ast.DefaultKey):
            return self._after(file, p, r"default\b|_")
        if isinstance(e, ast.DontCare):
            return (p[0], p[1] + 1) if p else None
        if isinstance(e, ast.MaskKey):
            return self.end_outer(e.mask, file)
        if isinstance(e, ast.RangeKey):
            return self.end_outer(e.hi, file)
        return None

    def end_outer(self, e: Any, file: str) -> Pos | None:
        s = self.span_pos(e, file)
        return s[1] if s else None

    def span_pos(self, e: Any, file: str | None = None) -> tuple[Pos, Pos] | None:
        """(first, just after last) of e with the parentheses that enclose only it."""
        loc = getattr(e, "loc", None)
        if file is None:
            if loc is None:
                return None
            file = loc.file
        s, t = self.start(e), self.end(e, file)
        if s is None or t is None:
            return None
        while True:
            b = self._skip_ws(file, (s[0], s[1] - 1), back=True) if s[1] > 0 else \
                self._skip_ws(file, (s[0] - 1, len(self.src.lines(file)[s[0] - 1]) - 1), back=True) \
                if s[0] > 0 else None
            a = self._skip_ws(file, t)
            if b is None or a is None or self.src.char(file, *b) != "(" or self.src.char(file, *a) != ")":
                break
            before = self.src.lines(file)[b[0]][:b[1]].rstrip()
            m = re.search(r"[A-Za-z_][A-Za-z0-9_]*$", before)
            if (m and m.group(0) not in _KEYWORDS_BEFORE_PAREN) or before.endswith(">"):
                break  # the parentheses of a call, a condition or a select
            s, t = b, (a[0], a[1] + 1)
        return s, t

    def span(self, e: Any) -> tuple[SourceLoc, str] | None:
        """The location of e's first character and its text (up to the end of that line)."""
        loc = getattr(e, "loc", None)
        if loc is None:
            return None
        sp = self.span_pos(e, loc.file)
        if sp is None:
            return None
        (l0, c0), (l1, c1) = sp
        text = self.src.lines(loc.file)[l0]
        text = text[c0:c1] if l1 == l0 else text[c0:].rstrip()
        return SourceLoc(loc.file, l0 + 1, c0 + 1), re.sub(r"[ \t]+", " ", text)


# ------------------------------------------------------------------------ printing
_PREC = {"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
         "<<": 8, ">>": 8, "++": 9, "+": 10, "-": 10, "|+|": 10, "|-|": 10, "*": 11, "/": 11, "%": 11}
_CMPS = {"==", "!=", "<", ">", "<=", ">="}


def const_text(c: C1) -> str:
    """A literal as p4c prints the node: width, w or s, digits in the literal's base."""
    if isinstance(c.value, bool):
        return "true" if c.value else "false"
    v = c.value
    sign, v = ("-", -v) if v < 0 else ("", v)
    digits = {16: f"0x{v:x}", 2: f"0b{v:b}", 8: f"0o{v:o}"}.get(c.base, str(v))
    if c.width is None:
        return sign + digits
    return f"{sign}{c.width}{'s' if c.signed else 'w'}{digits}"


def p4_text(e: Any, consts: Any = None, prec: int = 0) -> str:
    """e as p4c prints an expression in a message; consts(e) gives the value p4c folded
    the sub-expression to before type checking (printed in decimal), or None."""
    c = consts(e) if consts is not None else None
    if c is not None and not isinstance(c.value, bool):
        return str(c.value)
    if c is not None:
        return "true" if c.value else "false"

    def sub(x: Any, p: int = 0) -> str:
        return p4_text(x, consts, p)
    if isinstance(e, ast.IntLit):
        return str(e.value)
    if isinstance(e, ast.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, ast.PathExpr):
        return e.name
    if isinstance(e, ast.TypeNameExpr):
        return type_text(e.typeref)
    if isinstance(e, ast.Member):
        return f"{sub(e.expr, 100)}.{e.name}"
    if isinstance(e, ast.Index):
        return f"{sub(e.expr, 100)}[{sub(e.index)}]"
    if isinstance(e, ast.Slice):
        return f"{sub(e.expr, 100)}[{sub(e.hi)}:{sub(e.lo)}]"
    if isinstance(e, ast.Unary):
        return f"{e.op}{sub(e.expr, 99)}"
    if isinstance(e, ast.Cast):
        return f"({type_text(e.typeref)}){sub(e.expr, 99)}"
    if isinstance(e, ast.Binary):
        p = _PREC.get(e.op, 5)
        op = {"|+|": "| + |", "|-|": "| - |"}.get(e.op, e.op)
        left, right = sub(e.left, p), sub(e.right, p + 1)
        if e.op in _CMPS:  # p4c casts an untyped constant operand of a comparison
            left, right = _cast_int(e.left, e.right, left, consts), _cast_int(e.right, e.left, right, consts)
        s = f"{left} {op} {right}"
        return f"({s})" if p < prec else s
    if isinstance(e, ast.Ternary):
        s = f"{sub(e.cond, 1)} ? {sub(e.then)} : {sub(e.other)}"
        return f"({s})" if prec > 0 else s
    if isinstance(e, ast.Call):
        args = ", ".join(sub(a.value) if a.value is not None else "_" for a in e.args)
        return f"{sub(e.func, 100)}({args})"
    if isinstance(e, ast.ListExpr):
        return "{ " + ", ".join(sub(x) for x in e.items) + " }"
    return "?"


def _cast_int(e: Any, other: Any, text: str, consts: Any) -> str:
    c = consts(e) if consts is not None else None
    t = getattr(other, "type", None)
    w = getattr(t, "width", None)
    if c is not None and c.width is None and not isinstance(c.value, bool) and isinstance(w, int):
        return f"({'int' if getattr(t, 'signed', False) else 'bit'}<{w}>){text}"
    return text
