"""p4c's `[--Wwarn=shadow] warning: 'X' shadows 'Y'` (its ResolveReferences::checkShadowing).

A declaration inside a parser, control, action, function, parser state or block
(a parameter, variable, constant, instance, action or table) whose name an enclosing
scope already declares, earlier in the source, as a value or a type: p4c names the
shadowed declaration as it prints it (`struct S`, `header H`, `control C`,
`parser P`, else its name) and gives its location on a second line.
A declaration that is not a parameter shadowing a parameter is an error instead
(raised by Scope.declare_value, as p4c's `declaration of 'x' shadows a parameter 'x'`).
"""
from __future__ import annotations

import re
from typing import Any

from . import ast
from .errors import SourceLoc
from .scope import Scope
from .types import ObjectT


def _before(a: SourceLoc | None, b: SourceLoc | None, files: dict[str, int], system: Any) -> bool:
    """Does a come before b in the program text (system includes first)?"""
    if a is None or b is None:
        return False
    if system(a) != system(b):
        return system(a)
    if a.file == b.file:
        return (a.line, a.col) < (b.line, b.col)
    return files.get(a.file, len(files)) < files.get(b.file, len(files))


def _printed(ns: str, name: str, decl: Any, scope: Scope) -> str:
    """The shadowed declaration as p4c prints it in the message."""
    if ns == "t":
        if isinstance(decl, ast.StructLikeDecl):
            return f"{decl.kind} {name}"
        t = scope.types.get(name)
        if isinstance(t, ObjectT) and isinstance(t.decl, ast.ControlDecl):
            return f"control {name}"
        if isinstance(t, ObjectT) and isinstance(t.decl, ast.ParserDecl):
            return f"parser {name}"
        sd = getattr(t, "decl", None)
        if isinstance(sd, ast.StructLikeDecl):
            return f"{sd.kind} {name}"
    return name


def _name_line(diag: Any, loc: SourceLoc | None, name: str) -> SourceLoc | None:
    """A declaration's location moved past its annotations, to the line naming it."""
    if loc is None:
        return None
    for k in range(6):
        at = SourceLoc(loc.file, loc.line + k, loc.col if k == 0 else 1)
        if re.search(r"\b" + re.escape(name) + r"\b", diag.source_line(at)[max(0, at.col - 1):]):
            return at
    return loc


def shadow_warnings(root: Scope, files: dict[str, int], diag: Any, system: Any) -> None:
    for s in root.all_scopes:
        if s.parent is None or s.kind == "typevars":
            continue
        for _ns, name, decl, loc in s.declared:
            if system(loc):
                continue
            p = s.parent
            while p is not None:
                prev = [(pns, pdecl, ploc) for pns, pname, pdecl, ploc in p.declared
                        if pname == name and pdecl is not decl and _before(ploc, loc, files, system)]
                if prev:
                    for pns, pdecl, ploc in prev:
                        diag.warn(loc, "shadow", f"'{name}' shadows '{_printed(pns, name, pdecl, p)}'", name,
                                  also=(_name_line(diag, ploc, name), name))
                    break
                p = p.parent
