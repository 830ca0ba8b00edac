"""Typed abstract syntax tree of a P4_16 program.

Nodes are plain dataclasses. Every node has a ``loc`` (original file, line,
column). Expressions get a ``type`` slot that typecheck.py fills in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import SourceLoc


@dataclass
class Node:
    loc: SourceLoc | None = field(default=None, kw_only=True, repr=False, compare=False)


@dataclass
class Annotation(Node):
    name: str
    body: str | None = None  # raw text between the brackets, or None

    def args(self) -> list[Any]:
        """The body as a list of literals (strings, ints, bare identifiers)."""
        from .annotations import parse_annotation_body
        return parse_annotation_body(self.body, self.loc)


def find_annotation(annots: list[Annotation], name: str) -> Annotation | None:
    for a in annots:
        if a.name == name:
            return a
    return None


# ----------------------------------------------------------------- type syntax
@dataclass
class TypeRef(Node):
    pass


@dataclass
class NamedTypeRef(TypeRef):
    name: str
    dot: bool = False


@dataclass
class BitTypeRef(TypeRef):
    width: Expr | int
    signed: bool = False


@dataclass
class VarbitTypeRef(TypeRef):
    width: Expr | int


@dataclass
class SimpleTypeRef(TypeRef):
    kind: str  # bool, error, string, int, void, match_kind, dontcare


@dataclass
class SpecializedTypeRef(TypeRef):
    base: NamedTypeRef
    args: list[TypeRef]


@dataclass
class StackTypeRef(TypeRef):
    element: TypeRef
    size: Expr


@dataclass
class TupleTypeRef(TypeRef):
    elements: list[TypeRef]
    is_list: bool = False


# ----------------------------------------------------------------- expressions
@dataclass
class Expr(Node):
    type: Any = field(default=None, kw_only=True, repr=False, compare=False)


@dataclass
class IntLit(Expr):
    value: int
    width: int | None = None  # None: arbitrary-precision 'int'
    signed: bool = False
    text: str = ""


@dataclass
class BoolLit(Expr):
    value: bool


@dataclass
class StringLit(Expr):
    value: str


@dataclass
class PathExpr(Expr):
    name: str
    dot: bool = False  # '.name' : top-level scope


@dataclass
class TypeNameExpr(Expr):
    """A type used where an expression is expected (before '.' of enums/errors)."""
    typeref: TypeRef


@dataclass
class Member(Expr):
    expr: Expr
    name: str


@dataclass
class Index(Expr):
    expr: Expr
    index: Expr


@dataclass
class Slice(Expr):
    expr: Expr
    hi: Expr
    lo: Expr


@dataclass
class Unary(Expr):
    op: str  # '!', '~', '-', '+'
    expr: Expr


@dataclass
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass
class Ternary(Expr):
    cond: Expr
    then: Expr
    other: Expr


@dataclass
class Cast(Expr):
    typeref: TypeRef
    expr: Expr


@dataclass
class Argument(Node):
    value: Expr | None  # None: don't care '_'
    name: str | None = None


@dataclass
class Call(Expr):
    func: Expr
    args: list[Argument]
    type_args: list[TypeRef] = field(default_factory=list)


@dataclass
class ConstructorCall(Expr):
    typeref: TypeRef
    args: list[Argument]


@dataclass
class ListExpr(Expr):
    items: list[Expr]


@dataclass
class StructInit(Expr):
    fields: list[tuple[str, Expr]]
    dots: bool = False


@dataclass
class DontCare(Expr):
    pass


@dataclass
class This(Expr):
    pass


# keyset expressions (select cases, table entries)
@dataclass
class DefaultKey(Expr):
    pass


@dataclass
class MaskKey(Expr):
    value: Expr
    mask: Expr


@dataclass
class RangeKey(Expr):
    lo: Expr
    hi: Expr


@dataclass
class TupleKey(Expr):
    items: list[Expr]


# ----------------------------------------------------------------- statements
@dataclass
class Stmt(Node):
    pass


@dataclass
class AssignStmt(Stmt):
    lhs: Expr
    rhs: Expr


@dataclass
class CallStmt(Stmt):
    call: Call


@dataclass
class IfStmt(Stmt):
    cond: Expr
    then: Stmt
    other: Stmt | None = None


@dataclass
class BlockStmt(Stmt):
    stmts: list[Node]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass
class SwitchCase(Node):
    label: Expr | None  # None: default
    body: BlockStmt | None  # None: fall through


@dataclass
class SwitchStmt(Stmt):
    expr: Expr
    cases: list[SwitchCase]


@dataclass
class ReturnStmt(Stmt):
    expr: Expr | None = None


@dataclass
class ExitStmt(Stmt):
    pass


@dataclass
class EmptyStmt(Stmt):
    pass


@dataclass
class BreakStmt(Stmt):
    pass


@dataclass
class ContinueStmt(Stmt):
    pass


@dataclass
class ForStmt(Stmt):
    init: list[Node]
    cond: Expr | None
    update: list[Stmt]
    body: Stmt


@dataclass
class ForInStmt(Stmt):
    typeref: TypeRef
    name: str
    range: Expr
    body: Stmt


# ----------------------------------------------------------------- declarations
@dataclass
class Decl(Node):
    name: str
    annotations: list[Annotation] = field(default_factory=list, kw_only=True)


@dataclass
class Param(Decl):
    direction: str  # '', 'in', 'out', 'inout'
    typeref: TypeRef
    default: Expr | None = None


@dataclass
class ConstDecl(Decl, Stmt):
    typeref: TypeRef
    value: Expr


@dataclass
class VarDecl(Decl, Stmt):
    typeref: TypeRef
    init: Expr | None = None


@dataclass
class StructField(Decl):
    typeref: TypeRef


@dataclass
class StructLikeDecl(Decl):
    kind: str  # 'header', 'struct', 'header_union'
    fields: list[StructField]
    type_params: list[str] = field(default_factory=list)


@dataclass
class EnumDecl(Decl):
    members: list[tuple[str, Expr | None]]
    repr_type: TypeRef | None = None  # serializable enum


@dataclass
class TypedefDecl(Decl):
    typeref: TypeRef | Decl
    newtype: bool = False


@dataclass
class ErrorDecl(Decl):
    members: list[str]


@dataclass
class MatchKindDecl(Decl):
    members: list[str]


@dataclass
class FunctionProto(Decl):
    return_type: TypeRef
    type_params: list[str]
    params: list[Param]
    is_constructor: bool = False
    is_abstract: bool = False


@dataclass
class ExternDecl(Decl):
    type_params: list[str]
    methods: list[FunctionProto]


@dataclass
class ExternFunctionDecl(Decl):
    proto: FunctionProto


@dataclass
class FunctionDecl(Decl):
    proto: FunctionProto
    body: BlockStmt


@dataclass
class ActionDecl(Decl):
    params: list[Param]
    body: BlockStmt


@dataclass
class Instantiation(Decl, Stmt):
    typeref: TypeRef
    args: list[Argument]


@dataclass
class ValueSetDecl(Decl):
    elem_type: TypeRef
    size: Expr


@dataclass
class SelectCase(Node):
    keyset: Expr
    state: str


@dataclass
class SelectExpr(Node):
    exprs: list[Expr]
    cases: list[SelectCase]


@dataclass
class ParserState(Decl):
    stmts: list[Node]
    transition: SelectExpr | str | None  # state name, select, or None (reject)


@dataclass
class ParserTypeDecl(Decl):
    type_params: list[str]
    params: list[Param]


@dataclass
class ParserDecl(Decl):
    type_params: list[str]
    params: list[Param]
    ctor_params: list[Param]
    locals: list[Node]
    states: list[ParserState]


@dataclass
class ControlTypeDecl(Decl):
    type_params: list[str]
    params: list[Param]


@dataclass
class KeyElement(Node):
    expr: Expr
    match_kind: str
    annotations: list[Annotation] = field(default_factory=list)


@dataclass
class ActionRef(Node):
    name: str
    args: list[Argument] | None = None
    annotations: list[Annotation] = field(default_factory=list)


@dataclass
class TableEntry(Node):
    keyset: Expr
    action: ActionRef
    priority: Expr | None = None
    annotations: list[Annotation] = field(default_factory=list)
    is_const: bool = False


@dataclass
class TableProperty(Node):
    name: str
    value: Any  # list[KeyElement] | list[ActionRef] | list[TableEntry] | Expr
    is_const: bool = False
    annotations: list[Annotation] = field(default_factory=list)


@dataclass
class TableDecl(Decl):
    properties: list[TableProperty]

    def prop(self, name: str) -> TableProperty | None:
        for p in self.properties:
            if p.name == name:
                return p
        return None


@dataclass
class ControlDecl(Decl):
    type_params: list[str]
    params: list[Param]
    ctor_params: list[Param]
    locals: list[Node]
    body: BlockStmt


@dataclass
class PackageTypeDecl(Decl):
    type_params: list[str]
    params: list[Param]


@dataclass
class Program(Node):
    decls: list[Node]
