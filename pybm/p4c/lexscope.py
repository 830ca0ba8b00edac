"""Which names hide a type name, for the lexer's TYPE_IDENTIFIER decision.

p4c's lexer asks the parser's symbol table whether an identifier names a type;
the parser declares objects (variables, constants, instances, control, parser
and function parameters) in the current scope when it reduces them, so from the
token after a declaration's ';' on, its name is an IDENTIFIER even where an
outer scope declares a type of that name, until the scope's '}'. Action
parameters, action and table names and constructor parameters are not declared
there (p4c keeps them type names). These helpers find such declarations in the
raw token stream (lexer.py keeps the scopes).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol


class Tok(Protocol):
    kind: str
    text: str


# names a declaration may have besides identifiers (the grammar's non_type_name)
NAME_KINDS = {"IDENTIFIER", "APPLY", "KEY", "ACTIONS", "STATE", "ENTRIES", "TYPE", "PRIORITY", "LIST"}
_SIMPLE_TYPE_KW = {"BOOL", "ERROR", "STRING", "MATCH_KIND"}
_SIZED_TYPE_KW = {"BIT", "INT", "VARBIT", "TUPLE", "LIST"}
_OPEN = {"(": ")", "[": "]", "{": "}", "<": ">"}


def skip_balanced(toks: Sequence[Tok], j: int) -> int:
    """toks[j] opens a bracket: the index after its matching close (len(toks) if none)."""
    open_k = toks[j].kind
    close_k = _OPEN[open_k]
    lvl = 0
    n = len(toks)
    while j < n:
        k = toks[j].kind
        if k == open_k:
            lvl += 1
        elif k == close_k:
            lvl -= 1
            if lvl == 0:
                return j + 1
        elif open_k == "<" and k in (";", "{", "}"):
            return n
        j += 1
    return n


def _skip_type(toks: Sequence[Tok], j: int, is_type: Callable[[str], bool]) -> int | None:
    """A type reference starts at toks[j]: the index after it, else None."""
    n = len(toks)
    if j >= n:
        return None
    k = toks[j].kind
    if k in _SIZED_TYPE_KW:
        j += 1
        if j < n and toks[j].kind == "<":
            j = skip_balanced(toks, j)
        elif k in ("TUPLE", "VARBIT"):
            return None
    elif k in _SIMPLE_TYPE_KW:
        j += 1
    elif k == "IDENTIFIER" and is_type(toks[j].text):
        j += 1
        if j < n and toks[j].kind == "<":
            j = skip_balanced(toks, j)
    else:
        return None
    if j < n and toks[j].kind == "[":
        j = skip_balanced(toks, j)
    return j if j < n else None


def _end_of_statement(toks: Sequence[Tok], j: int) -> int | None:
    """The index of the ';' ending the declaration whose initializer starts at j."""
    n = len(toks)
    while j < n:
        k = toks[j].kind
        if k == ";":
            return j
        if k in ("(", "[", "{"):
            j = skip_balanced(toks, j)
            continue
        if k == "}":
            return None
        j += 1
    return None


def declaration_at(toks: Sequence[Tok], i: int, is_type: Callable[[str], bool],
                   top_level: bool) -> tuple[int, int, str] | None:
    """If a variable, constant or instance declaration (at top level also a function)
    starts at toks[i], return (index of its name, index where it is declared, kind):
    the name is declared after its ';' (a function's name before its parameters)."""
    n = len(toks)
    j = i
    is_const = toks[j].kind == "CONST"
    if is_const:
        j += 1
    after_type = _skip_type(toks, j, is_type)
    if after_type is None:
        return None
    j = after_type
    if toks[j].kind == "(" and not is_const:  # an instantiation: Type(args) name;
        j = skip_balanced(toks, j)
        if j + 1 >= n or toks[j].kind not in NAME_KINDS:
            return None
        end = _end_of_statement(toks, j + 1) if toks[j + 1].kind in (";", "=") else None
        return (j, end, "instance") if end is not None else None
    if toks[j].kind not in NAME_KINDS or j + 1 >= n:
        return None
    nxt = toks[j + 1].kind
    if nxt == ";" and not is_const:
        return j, j + 1, "variable"
    if nxt == "=":
        end = _end_of_statement(toks, j + 2)
        return (j, end, "constant" if is_const else "variable") if end is not None else None
    if top_level and not is_const and nxt in ("(", "<"):
        return j, j + 1, "function"
    return None


def parameter_names(toks: Sequence[Tok], i: int) -> list[int]:
    """toks[i] is the '(' of a parameter list: the indices of the parameters' names."""
    end = skip_balanced(toks, i) - 1
    names: list[int] = []
    j = i + 1
    last: int | None = None
    in_default = False
    while j < end:
        k = toks[j].kind
        if k in ("(", "[", "<", "{"):
            j = skip_balanced(toks, j)
            continue
        if k == ",":
            if last is not None:
                names.append(last)
            last, in_default = None, False
        elif k == "=":
            in_default = True
        elif not in_default and (k in NAME_KINDS or k == "IDENTIFIER"):
            last = j
        j += 1
    if last is not None:
        names.append(last)
    return names
