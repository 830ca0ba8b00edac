"""Parsing of annotation bodies (kept as raw text by the lexer)."""
from __future__ import annotations

import re
from typing import Any

from .errors import CompileError, SourceLoc

_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(-?\d[0-9a-fA-FxXwWsSbBoO_]*)|([A-Za-z_][\w.]*)|(\S))')


def unquote(s: str) -> str:
    return bytes(s[1:-1], "utf-8").decode("unicode_escape")


def parse_annotation_body(body: str | None, loc: SourceLoc | None) -> list[Any]:
    """Return the comma-separated items of an annotation body.

    Strings become str, integers int, identifiers an ``Ident`` and
    ``key=value`` pairs a (key, value) tuple.
    """
    if not body:
        return []
    text = body[1:-1]
    items: list[Any] = []
    cur: list[Any] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        s, num, ident, other = m.groups()
        if s is not None:
            cur.append(unquote(s))
        elif num is not None:
            from .literals import parse_int_literal
            try:
                cur.append(parse_int_literal(num.lstrip("-"))[0] * (-1 if num.startswith("-") else 1))
            except ValueError:
                raise CompileError(loc, f"invalid number '{num}' in annotation") from None
        elif ident is not None:
            cur.append(Ident(ident))
        elif other == ",":
            items.append(_join(cur))
            cur = []
        else:
            cur.append(Ident(other))
    if cur:
        items.append(_join(cur))
    return items


def _join(parts: list[Any]) -> Any:
    if len(parts) == 3 and isinstance(parts[0], Ident) and parts[1] == Ident("="):
        return (parts[0].name, parts[2])
    if len(parts) == 1:
        return parts[0]
    return parts


class Ident:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ident) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return self.name
