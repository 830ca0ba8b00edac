"""Where the values of a P4 program live once instantiated for BMv2.

Inlining binds every parameter, variable and instance of every (nested)
parser/control/action/function invocation to one of these locations; the
back end then reads and writes them as BMv2 fields, headers, stacks, unions
or extern instances.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..types import P4Type, StackT, StructT


class Loc:
    ptype: P4Type


@dataclass
class FieldLoc(Loc):
    """A scalar field of a header instance (or of 'scalars')."""
    inst: str
    field: str
    ptype: P4Type

    def json(self) -> dict:
        return {"type": "field", "value": [self.inst, self.field]}


@dataclass
class HeaderLoc(Loc):
    inst: str
    ptype: StructT
    union: str | None = None  # the union instance when a union member

    def field(self, name: str) -> FieldLoc:
        return FieldLoc(self.inst, name, self.ptype.field_type(name))


@dataclass
class UnionLoc(Loc):
    inst: str
    ptype: StructT
    members: dict[str, HeaderLoc] = field(default_factory=dict)


@dataclass
class StackLoc(Loc):
    inst: str
    ptype: StackT
    elems: list[Any] = field(default_factory=list)  # HeaderLoc or UnionLoc
    union_stack: bool = False


@dataclass
class DynElemLoc(Loc):
    """Element of a header stack at a run-time index."""
    stack: StackLoc
    index: dict  # JSON expression
    ptype: P4Type = None  # type: ignore[assignment]


@dataclass
class StructLoc(Loc):
    ptype: StructT
    fields: dict[str, Loc] = field(default_factory=dict)


@dataclass
class ConstLoc(Loc):
    value: Any
    ptype: P4Type


@dataclass
class ExprLoc(Loc):
    """A read-only value computed by a JSON expression (bound 'in' argument)."""
    expr: dict
    ptype: P4Type
    is_bool: bool = False


@dataclass
class RuntimeDataLoc(Loc):
    index: int
    ptype: P4Type


@dataclass
class ExternLoc(Loc):
    name: str  # fully qualified name (JSON + P4Info)
    ptype: P4Type  # ObjectT
    decl: Any  # Instantiation or ConstructorCall
    ctor_values: dict[str, Any] = field(default_factory=dict)


@dataclass
class PacketLoc(Loc):
    direction: str  # 'in' | 'out'
    ptype: P4Type = None  # type: ignore[assignment]


@dataclass
class TableLoc(Loc):
    name: str
    decl: Any
    frame: Any
    ptype: P4Type = None  # type: ignore[assignment]


@dataclass
class ActionLoc(Loc):
    name: str
    decl: Any
    frame: Any
    ptype: P4Type = None  # type: ignore[assignment]


@dataclass
class InstanceLoc(Loc):
    """A parser or control instance (sub-parser/sub-control) to inline on apply."""
    name: str
    decl: Any
    ctor_bound: list
    ptype: P4Type = None  # type: ignore[assignment]
    frame: Any = None  # the frame the instance was created in (for its constructor arguments)
    callee: Any = None  # the instance's own frame, created on first apply and reused
