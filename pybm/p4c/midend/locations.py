"""Where the values of a P4 program live once instantiated for BMv2.

Inlining binds every parameter, variable and instance of every (nested)
parser/control/action/function invocation to one of these locations; the
back end then reads and writes them as BMv2 fields, headers, stacks, unions
or extern instances.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..types import P4Type, StackT, StructT, strip_newtype


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

    def field(self, name: str) -> Loc:
        if name.startswith("$"):
            return FieldLoc(self.inst, name, self.ptype.field_type(name))
        return self._sub((name,), self.ptype.field_type(name))

    def _sub(self, path: tuple, t) -> Loc:
        b = strip_newtype(t)
        if isinstance(b, StructT) and b.kind == "struct":  # a struct inside a header
            sl = StructLoc(b)
            for fn, ft, _ in b.fields:
                sl.fields[fn] = self._sub(path + (fn,), ft)
            return sl
        return FieldLoc(self.inst, header_field_names(self.ptype)[path], t)

    def leaves(self) -> list[FieldLoc]:
        """The BMv2 fields of the header, in order."""
        names = header_field_names(self.ptype)
        return [FieldLoc(self.inst, names[path], t) for path, t in header_leaves(self.ptype)]


def header_leaves(st: StructT, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(field path, type) of each scalar field of a header, structs inside it flattened."""
    out: list[tuple[tuple, Any]] = []
    for fn, ft, _ in st.fields:
        b = strip_newtype(ft)
        if isinstance(b, StructT) and b.kind == "struct":
            out.extend(header_leaves(b, path + (fn,)))
        else:
            out.append((path + (fn,), ft))
    return out


_NAMES: dict[int, tuple[StructT, dict]] = {}


def header_field_names(st: StructT) -> dict[tuple, str]:
    """BMv2 field names of a header's fields by path: the field's own name, or, when the
    header has a struct inside, p4c's flattened '_a_b<N>' (N counting all its fields)."""
    hit = _NAMES.get(id(st))
    if hit is not None and hit[0] is st:
        return hit[1]
    leaves = header_leaves(st)
    if all(len(p) == 1 for p, _ in leaves):
        names = {p: p[0] for p, _ in leaves}
    else:
        names = {p: "_" + "_".join(p) + str(i) for i, (p, _) in enumerate(leaves)}
    _NAMES[id(st)] = (st, names)
    return names


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
