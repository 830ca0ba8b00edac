"""Located compiler diagnostics.

Every user-facing problem is raised as a CompileError carrying the original
source location (after preprocessing), so main() can print
``FILE:LINE:COL: error: MESSAGE`` and exit non-zero without a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLoc:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


UNKNOWN_LOC = SourceLoc("<unknown>", 0, 0)


class CompileError(Exception):
    """A user error in the P4 program (or an unsupported construct).

    'errors' lists every error the compiler reports (this one, or for a
    CompileErrors all of them); loc and message are the first one's."""

    def __init__(self, loc: SourceLoc | None, message: str) -> None:
        super().__init__(message)
        self.loc = loc or UNKNOWN_LOC
        self.message = message
        self.errors: list[CompileError] = [self]

    def __str__(self) -> str:
        return f"{self.loc}: error: {self.message}"


class CompileErrors(CompileError):
    """Several independent errors, reported together as p4c reports every error
    of a stage before it stops; str() gives one located line per error."""

    def __init__(self, errors: list[CompileError]) -> None:
        flat = [x for e in errors for x in e.errors]
        super().__init__(flat[0].loc, flat[0].message)
        self.errors = flat

    def __str__(self) -> str:
        return "\n".join(CompileError.__str__(e) for e in self.errors)


def raise_all(errors: list[CompileError]) -> None:
    """Raise the errors found (one as itself, more as CompileErrors); none: return."""
    if len(errors) == 1 and type(errors[0]) is CompileError:
        raise errors[0]
    if errors:
        raise CompileErrors(errors)


def unsupported(loc: SourceLoc | None, what: str) -> CompileError:
    return CompileError(loc, f"unsupported by pybm-p4c: {what}")
