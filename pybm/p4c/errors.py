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
    """A user error in the P4 program (or an unsupported construct)."""

    def __init__(self, loc: SourceLoc | None, message: str) -> None:
        super().__init__(message)
        self.loc = loc or UNKNOWN_LOC
        self.message = message

    def __str__(self) -> str:
        return f"{self.loc}: error: {self.message}"


def unsupported(loc: SourceLoc | None, what: str) -> CompileError:
    return CompileError(loc, f"unsupported by pybm-p4c: {what}")
