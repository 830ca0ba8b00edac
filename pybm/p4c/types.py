"""P4 types as the type checker and back ends see them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class P4Type:
    """Base of all types. Named aggregate types compare by identity."""

    def __str__(self) -> str:  # pragma: no cover - overridden
        return self.__class__.__name__


@dataclass(frozen=True)
class BitT(P4Type):
    width: int
    signed: bool = False

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'bit'}<{self.width}>"


@dataclass(frozen=True)
class VarbitT(P4Type):
    max_width: int

    def __str__(self) -> str:
        return f"varbit<{self.max_width}>"


@dataclass(frozen=True)
class IntT(P4Type):
    """Arbitrary-precision compile-time integer."""

    def __str__(self) -> str:
        return "int"


@dataclass(frozen=True)
class BoolT(P4Type):
    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class StringT(P4Type):
    def __str__(self) -> str:
        return "string"


@dataclass(frozen=True)
class ErrorT(P4Type):
    def __str__(self) -> str:
        return "error"


@dataclass(frozen=True)
class MatchKindT(P4Type):
    def __str__(self) -> str:
        return "match_kind"


@dataclass(frozen=True)
class VoidT(P4Type):
    def __str__(self) -> str:
        return "void"


@dataclass(frozen=True)
class DontCareT(P4Type):
    def __str__(self) -> str:
        return "_"


@dataclass(eq=False)
class EnumT(P4Type):
    name: str
    members: list[str]
    repr: BitT | None = None  # serializable enum
    values: dict[str, int] = field(default_factory=dict)
    decl: Any = None

    def __str__(self) -> str:
        return self.name


@dataclass(eq=False)
class StructT(P4Type):
    kind: str  # 'struct' | 'header' | 'header_union'
    name: str
    fields: list[tuple[str, P4Type, list]]  # (name, type, annotations)
    decl: Any = None

    def field_type(self, name: str) -> P4Type | None:
        for n, t, _ in self.fields:
            if n == name:
                return t
        return None

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class StackT(P4Type):
    elem: P4Type
    size: int

    def __str__(self) -> str:
        return f"{self.elem}[{self.size}]"


@dataclass(frozen=True)
class TupleT(P4Type):
    elems: tuple[P4Type, ...]

    def __str__(self) -> str:
        return "tuple<" + ", ".join(map(str, self.elems)) + ">"


@dataclass(eq=False)
class NewT(P4Type):
    """`type B N;` : a new type with the representation of B."""
    name: str
    base: P4Type

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class TypeVar(P4Type):
    name: str
    owner: int = 0  # id of the declaring object, to keep variables apart

    def __str__(self) -> str:
        return self.name


@dataclass(eq=False)
class ObjectT(P4Type):
    """Instances and types of externs, parsers, controls and packages."""
    kind: str  # 'extern' | 'parser' | 'control' | 'package' | 'table' | 'value_set'
    name: str
    decl: Any
    type_args: dict[str, P4Type] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


@dataclass(eq=False)
class ApplyResultT(P4Type):
    """Result of table.apply(): hit, miss, action_run."""
    table: Any

    def __str__(self) -> str:
        return "apply_result"


@dataclass(eq=False)
class ActionEnumT(P4Type):
    """Type of table.apply().action_run."""
    table: Any

    def __str__(self) -> str:
        return "action_list"


@dataclass(frozen=True)
class SetT(P4Type):
    """Keyset type (select case labels)."""
    elem: P4Type


def width_of(t: P4Type) -> int:
    """Storage width in bits of a scalar type in BMv2 (bool 1, error 32)."""
    if isinstance(t, BitT):
        return t.width
    if isinstance(t, BoolT):
        return 1
    if isinstance(t, ErrorT):
        return 32
    if isinstance(t, EnumT):
        return t.repr.width if t.repr else 32
    if isinstance(t, NewT):
        return width_of(t.base)
    if isinstance(t, VarbitT):
        return t.max_width
    if isinstance(t, StructT):
        return sum(width_of(ft) for _, ft, _ in t.fields)
    if isinstance(t, StackT):
        return width_of(t.elem) * t.size
    raise TypeError(f"no width for {t}")


def strip_newtype(t: P4Type) -> P4Type:
    while isinstance(t, NewT):
        t = t.base
    return t


def is_header(t: P4Type) -> bool:
    return isinstance(t, StructT) and t.kind == "header"


def is_union(t: P4Type) -> bool:
    return isinstance(t, StructT) and t.kind == "header_union"


def is_struct(t: P4Type) -> bool:
    return isinstance(t, StructT) and t.kind == "struct"


def is_scalar(t: P4Type) -> bool:
    t = strip_newtype(t)
    return isinstance(t, (BitT, BoolT, ErrorT, EnumT, VarbitT, IntT))
