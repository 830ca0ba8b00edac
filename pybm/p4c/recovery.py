"""Error recovery of the type checker: every independent error is reported.

p4c's front end reports all the errors of a stage, then stops: first its name
resolution (ResolveReferences: every "declaration not found"), else its type
checking (every type error). The checker here recovers at statement and
declaration granularity: an erroneous statement or declaration is recorded and
skipped; an erroneous declaration's name is still declared, and a statement or
declaration that uses a declaration which failed (whose type is unknown) reports
nothing more, so one mistake gives one error.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from . import ast
from .errors import CompileError
from .scope import Scope

# pybm's wording of p4c's "X: declaration not found" (ResolveReferences)
_NOT_FOUND = re.compile(r"^'[^']+' is not declared$")


def _lookup_quietly(scope: Scope, name: str) -> Any:
    """lookup_value without marking the declaration used (for the unused warnings)."""
    s: Scope | None = scope
    while s is not None:
        if name in s.values:
            return s.values[name]
        s = s.parent
    return None


class ErrorRecovery:
    """Mixin of TypeChecker: records errors instead of stopping at the first."""

    found_errors: list[CompileError]
    poisoned: set[int]  # ids of declarations that failed to check

    def init_recovery(self) -> None:
        self.found_errors = []
        self.poisoned = set()

    def guarded(self, check: Callable[[], Any], node: Any, scope: Scope) -> bool:
        """Run check(); an error is recorded, unless node uses a declaration that
        failed already (then it is a follow-on error). True if check() passed."""
        try:
            check()
            return True
        except CompileError as e:
            if not self.mentions_poisoned(node, scope):
                self.found_errors.extend(e.errors)
            return False
        except (AttributeError, TypeError, KeyError):
            # a use of a declaration whose type is unknown
            if self.mentions_poisoned(node, scope):
                return False
            raise

    def declare_after_error(self, d: Any, scope: Scope, poison: bool) -> None:
        """An erroneous declaration's name is still declared, so that its uses do
        not report it again (poisoned: its uses report nothing)."""
        if poison:
            self.poisoned.add(id(d))
        name = getattr(d, "name", None)
        if not isinstance(name, str) or name in scope.values:
            return
        try:
            scope.declare_value(name, d, getattr(d, "loc", None), overload=isinstance(d, ast.FunctionDecl))
        except CompileError:
            pass

    def mentions_poisoned(self, node: Any, scope: Scope) -> bool:
        if not self.poisoned:
            return False
        stack = [node]
        while stack:
            x = stack.pop()
            if isinstance(x, list):
                stack.extend(x)
                continue
            if not isinstance(x, ast.Node):
                continue
            if isinstance(x, (ast.PathExpr, ast.ActionRef)) and isinstance(x.name, str):
                d = _lookup_quietly(scope, x.name)
                if id(d) in self.poisoned or (isinstance(d, list) and any(id(o) in self.poisoned for o in d)):
                    return True
            for f in dataclasses.fields(x):
                v = getattr(x, f.name, None)
                if isinstance(v, (ast.Node, list)):
                    stack.append(v)
        return False

    def errors_to_report(self) -> list[CompileError]:
        """As p4c: if names are not found, only those errors (its name resolution
        stops the compilation before type checking), else every error, in order."""
        not_found = [e for e in self.found_errors if _NOT_FOUND.match(e.message)]
        return not_found or self.found_errors
