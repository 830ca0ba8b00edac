"""Lexical scopes for name resolution (values and types are separate namespaces)."""
from __future__ import annotations

from typing import Any

from .errors import CompileError, SourceLoc


class Scope:
    def __init__(self, parent: Scope | None = None, kind: str = "block") -> None:
        self.parent = parent
        self.kind = kind  # 'global', 'control', 'parser', 'action', 'function', 'block', ...
        self.values: dict[str, Any] = {}
        self.types: dict[str, Any] = {}
        # for the unused-declaration warnings: what was declared here (in order) and
        # which of those names a lookup found; every scope is registered at the root
        self.declared: list[tuple[str, str, Any, SourceLoc | None]] = []
        self.used: set[tuple[str, str]] = set()
        self.all_scopes: list[Scope] = []
        self.root().all_scopes.append(self)

    def declare_value(self, name: str, decl: Any, loc: SourceLoc | None, overload: bool = False) -> None:
        if self.parent is not None and type(decl).__name__ != "Param" and name not in self.values:
            # as p4c's checkShadowing: a (non-parameter) declaration may not hide a parameter
            s = self.parent
            while s is not None and name not in s.values:
                s = s.parent
            if s is not None and type(s.values[name]).__name__ == "Param":
                raise CompileError(getattr(decl, "name_loc", None) or loc,
                                   f"declaration of '{name}' shadows a parameter '{name}'")
        if name in self.values and not overload:
            raise CompileError(loc, f"'{name}' is already declared in this scope")
        if overload:
            self.values.setdefault(name, [])
            if not isinstance(self.values[name], list):
                raise CompileError(loc, f"'{name}' is already declared in this scope")
            self.values[name].append(decl)
        else:
            self.values[name] = decl
        self.declared.append(("v", name, decl, loc))

    def declare_type(self, name: str, t: Any, loc: SourceLoc | None, decl: Any = None) -> None:
        if name in self.types:
            raise CompileError(loc, f"type '{name}' is already declared")
        self.types[name] = t
        self.declared.append(("t", name, decl, loc))

    def lookup_value(self, name: str) -> Any:
        s: Scope | None = self
        while s is not None:
            if name in s.values:
                s.used.add(("v", name))
                return s.values[name]
            s = s.parent
        return None

    def lookup_type(self, name: str) -> Any:
        s: Scope | None = self
        while s is not None:
            if name in s.types:
                s.used.add(("t", name))
                return s.types[name]
            s = s.parent
        return None

    def root(self) -> Scope:
        s = self
        while s.parent is not None:
            s = s.parent
        return s

    def enclosing(self, *kinds: str) -> Scope | None:
        s: Scope | None = self
        while s is not None:
            if s.kind in kinds:
                return s
            s = s.parent
        return None
