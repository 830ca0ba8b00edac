"""Name resolution and type checking of declarations and statements.

The checker walks the program in declaration order (P4 requires declaration
before use), resolves every name to its declaration, gives every expression
a type (typecheck_expr.py), infers the width of untyped integer literals from
their context and folds constants. Results are stored on the AST nodes:
``ptype`` on declarations, ``type``/``const``/``ref`` on expressions and
call-resolution data on Call nodes (see typecheck_expr.py).
"""
from __future__ import annotations

from typing import Any

from . import ast
from .annotations import Ident
from .errors import CompileError, raise_all
from .recovery import ErrorRecovery
from .scope import Scope
from .typecheck_expr import ExprChecker
from .types import (
    BitT,
    BoolT,
    DontCareT,
    EnumT,
    ErrorT,
    IntT,
    MatchKindT,
    NewT,
    ObjectT,
    P4Type,
    StackT,
    StringT,
    StructT,
    TupleT,
    TypeVar,
    VarbitT,
    VoidT,
    is_header,
    strip_newtype,
)

_SIMPLE_TYPES: dict[str, P4Type] = {
    "bool": BoolT(), "error": ErrorT(), "string": StringT(), "int": IntT(),
    "void": VoidT(), "match_kind": MatchKindT(), "dontcare": DontCareT(),
}


class _EnumOrRepr:
    """Expected type of a mask or range bound for a serializable enum key."""

    def __init__(self, enum: EnumT) -> None:
        self.enum = enum


class TypeChecker(ExprChecker, ErrorRecovery):
    def __init__(self, program: ast.Program) -> None:
        self.program = program
        self.init_recovery()
        self.globals = Scope(kind="global")
        self.errors: list[str] = []
        # (loc, kind, message, caret text) of p4c's type-checking warnings, in order
        self.type_warnings: list[tuple] = []
        self.match_kinds: list[str] = []
        self.instances: list[ast.Instantiation] = []  # top-level instantiations
        self.main: ast.Instantiation | None = None
        self._tv_owner = 0

    # ------------------------------------------------------------------ driver
    def run(self, require_main: bool = True) -> None:
        """Check every declaration; raise every error found (CompileErrors if several)."""
        for d in self.program.decls:
            if not self.guarded(lambda d=d: self.declare_global(d), d, self.globals):
                if isinstance(d, (ast.ConstDecl, ast.Instantiation, ast.ActionDecl, ast.FunctionDecl,
                                  ast.ExternFunctionDecl)):
                    # a constant of a known type keeps it (p4c checks its uses)
                    poison = not isinstance(d, ast.ConstDecl) or getattr(d, "ptype", None) is None
                    self.declare_after_error(d, self.globals, poison)
        raise_all(self.errors_to_report())
        if not require_main:
            return
        main = self.globals.lookup_value("main")
        if not isinstance(main, ast.Instantiation):
            raise CompileError(self.program.decls[-1].loc if self.program.decls else None,
                               "no package instantiation named 'main'")
        self.main = main

    # ------------------------------------------------------------------ types
    def resolve_type(self, tr: Any, scope: Scope) -> P4Type:
        if isinstance(tr, P4Type):
            return tr
        if isinstance(tr, ast.SimpleTypeRef):
            return _SIMPLE_TYPES[tr.kind]
        if isinstance(tr, ast.BitTypeRef):
            w = tr.width if isinstance(tr.width, int) else self.const_int(tr.width, scope, "type width")
            if w <= 0 and not (w == 0 and not tr.signed):
                raise CompileError(tr.loc, f"invalid width {w} for {'int' if tr.signed else 'bit'}")
            if w == 0:
                raise CompileError(tr.loc, "bit<0> is not supported")
            return BitT(w, tr.signed)
        if isinstance(tr, ast.VarbitTypeRef):
            w = tr.width if isinstance(tr.width, int) else self.const_int(tr.width, scope, "varbit width")
            return VarbitT(w)
        if isinstance(tr, ast.NamedTypeRef):
            t = (self.globals if tr.dot else scope).lookup_type(tr.name)
            if t is None:
                raise CompileError(tr.loc, f"unknown type '{tr.name}'")
            return t
        if isinstance(tr, ast.SpecializedTypeRef):
            base = self.resolve_type(tr.base, scope)
            args = [self.resolve_type(a, scope) for a in tr.args]
            if isinstance(base, ObjectT):
                tps = getattr(base.decl, "type_params", [])
                if len(tps) != len(args):
                    raise CompileError(tr.loc, f"'{base.name}' expects {len(tps)} type arguments, got {len(args)}")
                return ObjectT(base.kind, base.name, base.decl, dict(zip(tps, args)))
            if isinstance(base, StructT) and base.decl is not None and base.decl.type_params:
                return self.specialize_struct(base, args, tr)
            raise CompileError(tr.loc, f"type '{base}' has no type parameters")
        if isinstance(tr, ast.StackTypeRef):
            elem = self.resolve_type(tr.element, scope)
            size = self.const_int(tr.size, scope, "header stack size")
            if not (isinstance(elem, StructT) and elem.kind in ("header", "header_union")):
                raise CompileError(tr.loc, f"header stack element must be a header or union, not '{elem}'")
            if size <= 0:
                raise CompileError(tr.loc, "header stack size must be positive")
            return StackT(elem, size)
        if isinstance(tr, ast.TupleTypeRef):
            if tr.is_list:
                raise CompileError(tr.loc, "unsupported by pybm-p4c: list<T> types")
            return TupleT(tuple(self.resolve_type(a, scope) for a in tr.elements))
        raise CompileError(getattr(tr, "loc", None), f"invalid type {tr}")

    def specialize_struct(self, base: StructT, args: list[P4Type], tr: Any) -> StructT:
        decl = base.decl
        if len(decl.type_params) != len(args):
            raise CompileError(tr.loc, f"'{base.name}' expects {len(decl.type_params)} type arguments")
        key = (base.name, tuple(str(a) for a in args))
        cache = self.__dict__.setdefault("_spec_cache", {})
        if key in cache:
            return cache[key]
        s = Scope(self.globals)
        for n, a in zip(decl.type_params, args):
            s.types[n] = a
        name = f"{base.name}_{'_'.join(str(a).replace('<', '').replace('>', '') for a in args)}"
        st = StructT(base.kind, name, [], decl)
        cache[key] = st
        st.fields = [(f.name, self.resolve_type(f.typeref, s), f.annotations) for f in decl.fields]
        return st

    def const_int(self, e: ast.Expr, scope: Scope, what: str) -> int:
        self.check_expr(e, scope, None)
        v = getattr(e, "const", None)
        if not isinstance(v, int) or isinstance(v, bool):
            raise CompileError(e.loc, f"{what} must be a compile-time integer constant")
        return v

    def new_typevars(self, names: list[str], scope: Scope) -> Scope:
        self._tv_owner += 1
        s = Scope(scope, kind="typevars")
        for n in names:
            s.types[n] = TypeVar(n, self._tv_owner)
        return s

    # ------------------------------------------------------------------ declarations
    def declare_global(self, d: ast.Node) -> None:
        g = self.globals
        if isinstance(d, ast.StructLikeDecl):
            st = StructT(d.kind, d.name, [], d)
            g.declare_type(d.name, st, d.loc)
            d.ptype = st
            s = self.new_typevars(d.type_params, g) if d.type_params else g
            st.fields = self.struct_fields(d, s)
        elif isinstance(d, ast.EnumDecl):
            self.declare_enum(d, g)
        elif isinstance(d, ast.TypedefDecl):
            self.declare_typedef(d, g)
        elif isinstance(d, ast.ErrorDecl):
            for m in d.members:
                if m in self.errors:
                    raise CompileError(d.loc, f"error '{m}' is already declared")
                self.errors.append(m)
        elif isinstance(d, ast.MatchKindDecl):
            for m in d.members:
                if m in self.match_kinds:
                    raise CompileError(d.loc, f"match_kind '{m}' is already declared")
                self.match_kinds.append(m)
                g.declare_value(m, d, d.loc)
        elif isinstance(d, ast.ExternDecl):
            ot = ObjectT("extern", d.name, d)
            g.declare_type(d.name, ot, d.loc)
            d.ptype = ot
            d.scope = self.new_typevars(d.type_params, g)
            for m in d.methods:
                ms = self.new_typevars(m.type_params, d.scope)
                m.scope = ms
                self.check_params(m.params, ms)
                m.ret = self.resolve_type(m.return_type, ms) if not m.is_constructor else ot
        elif isinstance(d, ast.ExternFunctionDecl):
            p = d.proto
            ms = self.new_typevars(p.type_params, g)
            p.scope = ms
            self.check_params(p.params, ms)
            p.ret = self.resolve_type(p.return_type, ms)
            g.declare_value(d.name, d, d.loc, overload=True)
        elif isinstance(d, (ast.ParserTypeDecl, ast.ControlTypeDecl, ast.PackageTypeDecl)):
            kind = {"ParserTypeDecl": "parser", "ControlTypeDecl": "control",
                    "PackageTypeDecl": "package"}[type(d).__name__]
            ot = ObjectT(kind, d.name, d)
            g.declare_type(d.name, ot, d.loc)
            d.ptype = ot
            d.scope = self.new_typevars(d.type_params, g)
            self.check_params(d.params, d.scope)
        elif isinstance(d, ast.ParserDecl):
            ot = ObjectT("parser", d.name, d)
            g.declare_type(d.name, ot, d.loc)
            d.ptype = ot
            self.check_parser(d, g)
        elif isinstance(d, ast.ControlDecl):
            ot = ObjectT("control", d.name, d)
            g.declare_type(d.name, ot, d.loc)
            d.ptype = ot
            self.check_control(d, g)
        elif isinstance(d, ast.ActionDecl):
            self.check_action(d, g)
            g.declare_value(d.name, d, d.loc)
        elif isinstance(d, ast.FunctionDecl):
            self.check_function(d, g)
            g.declare_value(d.name, d, d.loc, overload=True)
        elif isinstance(d, ast.ConstDecl):
            self.check_const(d, g)
        elif isinstance(d, ast.Instantiation):
            self.check_instantiation(d, g)
            self.instances.append(d)
        elif isinstance(d, ast.VarDecl):
            raise CompileError(d.loc, "variables cannot be declared at top level")
        else:
            raise CompileError(getattr(d, "loc", None), f"unexpected top-level declaration {type(d).__name__}")

    def struct_fields(self, d: ast.StructLikeDecl, scope: Scope) -> list:
        fields = []
        seen = set()
        for f in d.fields:
            if f.name in seen:
                raise CompileError(f.loc, f"duplicate field '{f.name}' in {d.kind} '{d.name}'")
            seen.add(f.name)
            ft = self.resolve_type(f.typeref, scope)
            base = strip_newtype(ft)
            if d.kind == "header":
                if not _header_field_ok(base):
                    raise CompileError(f.loc, f"header field '{f.name}' must be bit<>, int<>, varbit<>, "
                                       f"bool or a serializable enum, not '{ft}'")
            elif d.kind == "header_union":
                if not is_header(ft):
                    raise CompileError(f.loc, f"header_union field '{f.name}' must be a header")
            fields.append((f.name, ft, f.annotations))
        if d.kind == "header" and sum(1 for _, t, _ in fields if isinstance(strip_newtype(t), VarbitT)) > 1:
            raise CompileError(d.loc, "a header may contain at most one varbit field")
        return fields

    def declare_enum(self, d: ast.EnumDecl, scope: Scope) -> EnumT:
        names = [m for m, _ in d.members]
        if len(set(names)) != len(names):
            raise CompileError(d.loc, f"duplicate member in enum '{d.name}'")
        et = EnumT(d.name, names, decl=d)
        if d.repr_type is not None:
            rt = strip_newtype(self.resolve_type(d.repr_type, scope))
            if not isinstance(rt, BitT):
                raise CompileError(d.loc, "serializable enum must have a bit<W> or int<W> type")
            et.repr = rt
            for m, e in d.members:
                assert e is not None
                self.check_expr(e, scope, rt)
                v = getattr(e, "const", None)
                if not isinstance(v, int) or isinstance(v, bool):
                    raise CompileError(e.loc, f"value of enum member '{m}' must be a constant")
                et.values[m] = v
        scope.declare_type(d.name, et, d.loc)
        d.ptype = et
        return et

    def declare_typedef(self, d: ast.TypedefDecl, scope: Scope) -> None:
        if isinstance(d.typeref, ast.Decl):
            self.declare_global(d.typeref) if scope is self.globals else None
            base = d.typeref.ptype
        else:
            base = self.resolve_type(d.typeref, scope)
        t = NewT(d.name, base) if d.newtype else base
        scope.declare_type(d.name, t, d.loc, decl=d)
        d.ptype = t

    def check_params(self, params: list[ast.Param], scope: Scope) -> None:
        seen = set()
        for p in params:
            if p.name in seen:
                raise CompileError(p.loc, f"duplicate parameter '{p.name}'")
            seen.add(p.name)
            p.ptype = self.resolve_type(p.typeref, scope)
            if p.default is not None:
                self.check_expr(p.default, scope, p.ptype)

    def declare_params(self, params: list[ast.Param], scope: Scope) -> None:
        for p in params:
            scope.declare_value(p.name, p, p.loc)

    def check_const(self, d: ast.ConstDecl, scope: Scope) -> None:
        d.const = None
        t = self.resolve_type(d.typeref, scope)
        d.ptype = t
        self.check_expr(d.value, scope, t)
        self.require_assignable(t, d.value, d.value.loc)
        v = getattr(d.value, "const", None)
        if v is None and not isinstance(d.value, (ast.ListExpr, ast.StructInit)):
            raise CompileError(d.value.loc, f"initializer of constant '{d.name}' is not a compile-time constant")
        d.const = v
        scope.declare_value(d.name, d, d.loc)

    def check_var(self, d: ast.VarDecl, scope: Scope) -> None:
        t = self.resolve_type(d.typeref, scope)
        if isinstance(t, (ObjectT, VoidT, DontCareT, StringT)):
            raise CompileError(d.loc, f"cannot declare a variable of type '{t}'")
        d.ptype = t
        if d.init is not None:
            self.check_expr(d.init, scope, t)
            self.require_assignable(t, d.init, d.init.loc)
        scope.declare_value(d.name, d, d.loc)

    def check_instantiation(self, d: ast.Instantiation, scope: Scope) -> None:
        t = self.resolve_type(d.typeref, scope)
        if not isinstance(t, ObjectT) or t.kind not in ("extern", "parser", "control", "package"):
            raise CompileError(d.loc, f"cannot instantiate '{t}'")
        d.otype = self.check_constructor_args(t, d.args, d.loc, scope)
        scope.declare_value(d.name, d, d.loc)

    # ------------------------------------------------------------------ parser
    def open_block(self, d: ast.ParserDecl | ast.ControlDecl, g: Scope, kind: str) -> Scope:
        """The scope of a parser or control: its apply and constructor parameters."""
        if d.type_params:
            raise CompileError(d.loc, f"{kind} declarations cannot have type parameters")
        s = Scope(g, kind=kind)
        s.decl = d
        d.scope = s
        self.check_params(d.params, s)
        self.check_params(d.ctor_params, s)
        self.declare_params(d.params, s)
        self.declare_params(d.ctor_params, s)
        return s

    def check_parser(self, d: ast.ParserDecl, g: Scope) -> None:
        s = self.open_block(d, g, "parser")
        states: dict[str, ast.ParserState] = {}
        for st in d.states:
            if st.name in states or st.name in ("accept", "reject"):
                raise CompileError(st.loc, f"state '{st.name}' is already declared")
            states[st.name] = st
        d.state_map = states
        if "start" not in states:
            raise CompileError(d.loc, f"parser '{d.name}' has no 'start' state")
        for loc_decl in d.locals:
            self.check_local_guarded(loc_decl, s)
        for st in d.states:
            ss = Scope(s, kind="state")
            for stmt in st.stmts:
                self.check_stmt(stmt, ss)
            tr = st.transition
            if isinstance(tr, str):
                self.guarded(lambda tr=tr, st=st: self.check_state_name(tr, states, st.loc), st, ss)
            elif isinstance(tr, ast.SelectExpr):
                self.guarded(lambda tr=tr, ss=ss: self.check_select(tr, ss, states), tr, ss)

    def check_state_name(self, name: str, states: dict, loc: Any) -> None:
        if name not in states and name not in ("accept", "reject"):
            raise CompileError(loc, f"unknown parser state '{name}'")

    def check_select(self, sel: ast.SelectExpr, scope: Scope, states: dict) -> None:
        types = []
        for e in sel.exprs:
            types.append(self.check_expr(e, scope, None))
            if not isinstance(strip_newtype(e.type), (BitT, BoolT, EnumT, ErrorT)):
                raise CompileError(e.loc, f"cannot select on an expression of type '{e.type}'")
        for c in sel.cases:
            self.check_state_name(c.state, states, c.loc)
            self.check_keyset(c.keyset, types, scope)

    def check_keyset(self, ks: ast.Expr, types: list[P4Type], scope: Scope) -> None:
        if isinstance(ks, (ast.DefaultKey, ast.DontCare)):
            return
        items = ks.items if isinstance(ks, ast.TupleKey) else [ks]
        if isinstance(ks, ast.ListExpr):
            items = ks.items
        if len(items) == 1 and len(types) > 1:
            v = scope.lookup_value(getattr(items[0], "name", "")) if isinstance(items[0], ast.PathExpr) else None
            if isinstance(v, ast.ValueSetDecl):
                self.check_expr(items[0], scope, None)
                return
        if len(items) != len(types):
            raise CompileError(ks.loc, f"keyset has {len(items)} elements, the select has {len(types)}")
        for it, t in zip(items, types):
            self.check_simple_keyset(it, t, scope)

    def check_simple_keyset(self, it: ast.Expr, t: P4Type, scope: Scope) -> None:
        if isinstance(it, (ast.DefaultKey, ast.DontCare)):
            return
        if isinstance(it, ast.MaskKey):
            self.check_keyset_value(it.value, t, scope)
            tb = strip_newtype(t)
            # a serializable enum key (E.X &&& 0xff00): the mask may be of the underlying type
            mt = _EnumOrRepr(tb) if isinstance(tb, EnumT) and tb.repr is not None else t
            self.check_keyset_value(it.mask, mt, scope)
        elif isinstance(it, ast.RangeKey):
            self.check_keyset_value(it.lo, t, scope)
            self.check_keyset_value(it.hi, t, scope)
        else:
            if isinstance(it, ast.PathExpr) and isinstance(scope.lookup_value(it.name), ast.ValueSetDecl):
                self.check_expr(it, scope, None)
                return
            self.check_keyset_value(it, t, scope)

    def check_keyset_value(self, e: ast.Expr, t: P4Type, scope: Scope) -> None:
        if isinstance(t, _EnumOrRepr):
            et = self.check_expr(e, scope, t.enum.repr)
            if strip_newtype(et) is not t.enum:
                self.require_assignable(t.enum.repr, e, e.loc)
        else:
            self.check_expr(e, scope, t)
            self.require_assignable(t, e, e.loc)
        if getattr(e, "const", None) is None:
            raise CompileError(e.loc, "keyset values must be compile-time constants")

    # ------------------------------------------------------------------ control
    def check_control(self, d: ast.ControlDecl, g: Scope) -> None:
        s = self.open_block(d, g, "control")
        for loc_decl in d.locals:
            self.check_local_guarded(loc_decl, s)
        self.check_stmt(d.body, Scope(s, kind="apply"))

    def check_local_guarded(self, d: ast.Node, s: Scope) -> None:
        """check_local, recording an error; the declaration's name is declared anyway
        (poisoned when its type is unknown: its uses then report nothing more)."""
        if not self.guarded(lambda: self.check_local(d, s), d, s):
            poison = not isinstance(d, (ast.VarDecl, ast.ConstDecl)) or getattr(d, "ptype", None) is None
            self.declare_after_error(d, s, poison)

    def check_local(self, d: ast.Node, s: Scope) -> None:
        if isinstance(d, ast.ConstDecl):
            self.check_const(d, s)
        elif isinstance(d, ast.VarDecl):
            self.check_var(d, s)
        elif isinstance(d, ast.Instantiation):
            self.check_instantiation(d, s)
        elif isinstance(d, ast.ActionDecl):
            self.check_action(d, s)
            s.declare_value(d.name, d, d.loc)
        elif isinstance(d, ast.TableDecl):
            self.check_table(d, s)
            s.declare_value(d.name, d, d.loc)
        elif isinstance(d, ast.FunctionDecl):
            self.check_function(d, s)
            s.declare_value(d.name, d, d.loc, overload=True)
        elif isinstance(d, ast.ValueSetDecl):
            et = self.resolve_type(d.elem_type, s)
            d.ptype = et
            d.size_value = self.const_int(d.size, s, "value_set size")
            s.declare_value(d.name, d, d.loc)
        else:
            raise CompileError(getattr(d, "loc", None), f"unexpected local declaration {type(d).__name__}")

    def check_action(self, d: ast.ActionDecl, scope: Scope) -> None:
        s = Scope(scope, kind="action")
        s.decl = d
        d.scope = s
        self.check_params(d.params, s)
        seen_dirless = False
        for p in d.params:
            if p.direction == "":
                seen_dirless = True
            elif seen_dirless:
                raise CompileError(p.loc, "directionless action parameters must come last")
        self.declare_params(d.params, s)
        self.check_stmt(d.body, Scope(s))

    def check_function(self, d: ast.FunctionDecl, scope: Scope) -> None:
        p = d.proto
        s = self.new_typevars(p.type_params, scope)
        if p.type_params:
            raise CompileError(d.loc, "unsupported by pybm-p4c: generic functions")
        fs = Scope(s, kind="function")
        fs.decl = d
        d.scope = fs
        self.check_params(p.params, fs)
        p.ret = self.resolve_type(p.return_type, s)
        self.declare_params(p.params, fs)
        self.check_stmt(d.body, Scope(fs))
        if not isinstance(p.ret, VoidT) and not _always_returns(d.body):
            raise CompileError(d.loc, f"function '{d.name}' does not return a value on every path")

    # ------------------------------------------------------------------ tables
    def check_table(self, d: ast.TableDecl, s: Scope) -> None:
        seen = set()
        for p in d.properties:
            if p.name in seen:
                raise CompileError(p.loc, f"table property '{p.name}' appears twice")
            seen.add(p.name)
        d.keys = []
        kp = d.prop("key")
        if kp is not None:
            for k in kp.value:
                self.check_expr(k.expr, s, None)
                kt = strip_newtype(k.expr.type)
                if not isinstance(kt, (BitT, BoolT, EnumT, ErrorT)):
                    raise CompileError(k.expr.loc, f"table key of type '{k.expr.type}' is not supported")
                if k.match_kind not in self.match_kinds:
                    raise CompileError(k.loc, f"unknown match kind '{k.match_kind}'")
                if k.match_kind == "selector":
                    raise CompileError(k.loc, "unsupported by pybm-p4c: action selectors")
                d.keys.append(k)
        ap = d.prop("actions")
        if ap is None:
            raise CompileError(d.loc, f"table '{d.name}' has no actions property")
        d.action_refs = []
        names = set()
        for ar in ap.value:
            a = s.lookup_value(ar.name)
            if not isinstance(a, ast.ActionDecl):
                raise CompileError(ar.loc, f"'{ar.name}' is not an action")
            if ar.name in names:
                raise CompileError(ar.loc, f"action '{ar.name}' listed twice")
            names.add(ar.name)
            ar.decl = a
            self.check_action_ref_args(ar, a, s, partial=True)
            d.action_refs.append(ar)
        da = d.prop("default_action")
        d.default_ref = None
        if da is not None:
            d.default_ref = self.table_action_call(da.value, d, s, partial=False)
        else:
            # the default default action is NoAction (added @defaultonly when not listed)
            noaction = self.globals.lookup_value("NoAction")
            if isinstance(noaction, ast.ActionDecl):
                if all(r.decl is not noaction for r in d.action_refs):
                    ref = ast.ActionRef("NoAction", None, [ast.Annotation("defaultonly", loc=d.loc)], loc=d.loc)
                    ref.decl = noaction
                    ref.implicit = True
                    d.action_refs.append(ref)
                dref = ast.ActionRef("NoAction", [], loc=d.loc)
                dref.decl = noaction
                d.default_ref = dref
        ep = d.prop("entries")
        d.entries = []
        if ep is not None:
            key_types = [k.expr.type for k in d.keys]
            for e in ep.value:
                self.check_entry_keyset(e.keyset, d.keys, key_types, s)
                ref = e.action
                a = s.lookup_value(ref.name)
                if not isinstance(a, ast.ActionDecl) or ref.name not in names:
                    raise CompileError(ref.loc, f"action '{ref.name}' is not an action of table '{d.name}'")
                ref.decl = a
                self.check_action_ref_args(ref, a, s, partial=False)
                if e.priority is not None:
                    e.priority_value = self.const_int(e.priority, s, "entry priority")
                d.entries.append(e)
        for p in d.properties:
            if p.name in ("key", "actions", "default_action", "entries"):
                continue
            if p.name in ("size", "max_size"):
                d.size_value = self.const_int(p.value, s, "table size")
            elif p.name in ("counters", "meters", "implementation", "support_timeout",
                            "largest_priority_wins", "priority_delta"):
                self.check_expr(p.value, s, None)
            else:
                raise CompileError(p.loc, f"unknown table property '{p.name}'")

    def table_action_call(self, e: ast.Expr, table: ast.TableDecl, s: Scope, partial: bool) -> ast.ActionRef:
        if isinstance(e, ast.Call) and isinstance(e.func, ast.PathExpr):
            ref = ast.ActionRef(e.func.name, list(e.args), loc=e.loc)
        elif isinstance(e, ast.PathExpr):
            ref = ast.ActionRef(e.name, None, loc=e.loc)
        else:
            raise CompileError(e.loc, "default_action must be an action call")
        a = s.lookup_value(ref.name)
        if not isinstance(a, ast.ActionDecl):
            raise CompileError(e.loc, f"'{ref.name}' is not an action")
        if all(r.decl is not a for r in table.action_refs):
            raise CompileError(e.loc, f"default action '{ref.name}' is not in the actions of table '{table.name}'")
        ref.decl = a
        if ref.args is None:
            ref.args = []
        self.check_action_ref_args(ref, a, s, partial=partial)
        return ref

    def check_action_ref_args(self, ref: ast.ActionRef, a: ast.ActionDecl, s: Scope, partial: bool) -> None:
        args = ref.args or []
        params = a.params
        if partial:
            # the actions list binds only the parameters with a direction
            n_dir = sum(1 for p in params if p.direction != "")
            if ref.args is not None and len(args) not in (n_dir, len(params)):
                raise CompileError(ref.loc, f"action '{a.name}' expects {n_dir} arguments here, got {len(args)}")
            if ref.args is None and n_dir:
                raise CompileError(ref.loc, f"action '{a.name}' needs arguments for its directional parameters")
        elif len(args) != len(params):
            raise CompileError(ref.loc, f"action '{a.name}' expects {len(params)} arguments, got {len(args)}")
        for arg, p in zip(args, params):
            if arg.name is not None and arg.name != p.name:
                raise CompileError(arg.loc, "named arguments are not supported in action references")
            if arg.value is None:
                raise CompileError(arg.loc, "'_' is not allowed as an action argument here")
            self.check_expr(arg.value, s, p.ptype)
            self.require_assignable(p.ptype, arg.value, arg.loc)
            if not partial and p.direction == "" and getattr(arg.value, "const", None) is None:
                raise CompileError(arg.loc, f"argument for parameter '{p.name}' must be a constant")

    def check_entry_keyset(self, ks: ast.Expr, keys: list, types: list[P4Type], s: Scope) -> None:
        if isinstance(ks, (ast.DefaultKey, ast.DontCare)):
            if len(types) != 1 and isinstance(ks, ast.DontCare):
                pass
            return
        items = ks.items if isinstance(ks, (ast.TupleKey, ast.ListExpr)) else [ks]
        if len(items) != len(types):
            raise CompileError(ks.loc, f"entry has {len(items)} key values, the table has {len(types)} keys")
        for it, t in zip(items, types):
            self.check_simple_keyset(it, t, s)

    # ------------------------------------------------------------------ statements
    def check_stmt(self, st: ast.Node, scope: Scope) -> None:
        """Check a statement, recording its error (a block: each of its statements)."""
        if isinstance(st, ast.BlockStmt):
            inner = Scope(scope)
            for x in st.stmts:
                self.check_stmt(x, inner)
        elif not self.guarded(lambda: self._check_stmt(st, scope), st, scope):
            if isinstance(st, (ast.VarDecl, ast.ConstDecl)):
                self.declare_after_error(st, scope, poison=getattr(st, "ptype", None) is None)

    def _check_stmt(self, st: ast.Node, scope: Scope) -> None:
        if isinstance(st, ast.AssignStmt):
            lt = self.check_expr(st.lhs, scope, None)
            self.require_lvalue(st.lhs, scope)
            self.check_expr(st.rhs, scope, lt)
            self.require_assignable(lt, st.rhs, st.rhs.loc)
        elif isinstance(st, ast.CallStmt):
            self.check_expr(st.call, scope, None)
        elif isinstance(st, ast.IfStmt):
            if not self.guarded(lambda: self.check_condition(st.cond, scope), st.cond, scope):
                st.cond.const = None  # an erroneous condition: both branches are checked
            c = getattr(st.cond, "const", None)
            for branch, live in ((st.then, c is not False), (st.other, c is not True)):
                if branch is None:
                    continue
                n = len(self.type_warnings)
                self.check_stmt(branch, Scope(scope))
                if not live:  # p4c folds the dead branch away before it warns about it
                    del self.type_warnings[n:]
        elif isinstance(st, ast.SwitchStmt):
            self.check_switch(st, scope)
        elif isinstance(st, ast.ReturnStmt):
            self.check_return(st, scope)
        elif isinstance(st, ast.ExitStmt):
            if scope.enclosing("parser", "function") is not None and scope.enclosing("parser") is not None:
                raise CompileError(st.loc, "exit is not allowed in a parser")
        elif isinstance(st, ast.EmptyStmt):
            pass
        elif isinstance(st, (ast.BreakStmt, ast.ContinueStmt)):
            if scope.enclosing("loop") is None:
                raise CompileError(st.loc, f"{'break' if isinstance(st, ast.BreakStmt) else 'continue'} "
                                   "outside a loop")
        elif isinstance(st, ast.ForStmt):
            if scope.enclosing("parser") is not None:
                raise CompileError(st.loc, "for loops are not allowed in parsers")
            inner = Scope(scope, kind="loop")
            for x in st.init:
                self.check_stmt(x, inner)
            if st.cond is not None:
                self.check_expr(st.cond, inner, BoolT())
                if not isinstance(st.cond.type, BoolT):
                    raise CompileError(st.cond.loc, f"loop condition must be bool, not '{st.cond.type}'")
            for x in st.update:
                self.check_stmt(x, inner)
            self.check_stmt(st.body, Scope(inner))
        elif isinstance(st, ast.VarDecl):
            self.check_var(st, scope)
        elif isinstance(st, ast.ConstDecl):
            self.check_const(st, scope)
        elif isinstance(st, ast.Instantiation):
            raise CompileError(st.loc, "instantiations are not allowed inside blocks")
        else:
            raise CompileError(getattr(st, "loc", None), f"unsupported statement {type(st).__name__}")

    def check_condition(self, cond: ast.Expr, scope: Scope) -> None:
        self.check_expr(cond, scope, BoolT())
        if not isinstance(cond.type, BoolT):
            raise CompileError(cond.loc, f"condition must be bool, not '{cond.type}'")

    def check_return(self, st: ast.ReturnStmt, scope: Scope) -> None:
        fs = scope.enclosing("function", "action", "apply", "parser")
        if fs is None or fs.kind == "parser":
            raise CompileError(st.loc, "return is not allowed here")
        if fs.kind == "function":
            ret = fs.decl.proto.ret
            if st.expr is None:
                if not isinstance(ret, VoidT):
                    raise CompileError(st.loc, "return without a value in a function returning a value")
            else:
                if isinstance(ret, VoidT):
                    raise CompileError(st.loc, "return with a value in a void function")
                self.check_expr(st.expr, scope, ret)
                self.require_assignable(ret, st.expr, st.expr.loc)
        elif st.expr is not None:
            raise CompileError(st.loc, "return with a value outside a function")

    def check_switch(self, st: ast.SwitchStmt, scope: Scope) -> None:
        t = self.check_expr(st.expr, scope, None)
        from .types import ActionEnumT
        labels = set()
        for i, c in enumerate(st.cases):
            if c.label is None:
                if i != len(st.cases) - 1:
                    raise CompileError(c.loc, "'default' must be the last switch label")
            elif isinstance(t, ActionEnumT):
                if not isinstance(c.label, ast.PathExpr):
                    raise CompileError(c.label.loc, "switch label must be an action name")
                names = [r.name for r in t.table.action_refs]
                if c.label.name not in names:
                    raise CompileError(c.label.loc, f"'{c.label.name}' is not an action of table '{t.table.name}'")
                if c.label.name in labels:
                    raise CompileError(c.label.loc, f"duplicate switch label '{c.label.name}'")
                labels.add(c.label.name)
            else:
                self.check_expr(c.label, scope, t)
                self.require_assignable(t, c.label, c.label.loc)
                v = getattr(c.label, "const", None)
                if v is None:
                    raise CompileError(c.label.loc, "switch label must be a compile-time constant")
                if v in labels:
                    raise CompileError(c.label.loc, "duplicate switch label")
                labels.add(v)
            if c.body is not None:
                self.check_stmt(c.body, Scope(scope))
            elif i == len(st.cases) - 1:
                raise CompileError(c.loc, "the last switch case needs a body")
        if not isinstance(t, ActionEnumT) and not isinstance(strip_newtype(t), (BitT, EnumT, ErrorT)):
            raise CompileError(st.expr.loc, f"cannot switch on an expression of type '{t}'")


def _always_returns(st: ast.Node) -> bool:
    if isinstance(st, ast.ReturnStmt) or isinstance(st, ast.ExitStmt):
        return True
    if isinstance(st, ast.BlockStmt):
        return any(_always_returns(s) for s in st.stmts)
    if isinstance(st, ast.IfStmt):
        return st.other is not None and _always_returns(st.then) and _always_returns(st.other)
    if isinstance(st, ast.SwitchStmt):
        has_default = any(c.label is None for c in st.cases)
        return has_default and all(c.body is None or _always_returns(c.body) for c in st.cases)
    return False


def _header_field_ok(t) -> bool:
    """A header field: bit<>, int<>, varbit<>, bool, a serializable enum, or a struct of
    those (p4c flattens it into the header)."""
    if isinstance(t, (BitT, VarbitT, BoolT)) or (isinstance(t, EnumT) and t.repr):
        return True
    return isinstance(t, StructT) and t.kind == "struct" and all(
        _header_field_ok(strip_newtype(ft)) and not isinstance(strip_newtype(ft), VarbitT) for _, ft, _ in t.fields)


def annotation_string(annots: list[ast.Annotation], name: str) -> str | None:
    for a in annots:
        if a.name == name:
            args = a.args()
            if args and isinstance(args[0], str):
                return args[0]
            if args and isinstance(args[0], Ident):
                return args[0].name
    return None


def typecheck(program: ast.Program, require_main: bool = True) -> TypeChecker:
    tc = TypeChecker(program)
    tc.run(require_main)
    return tc


__all__ = ["TypeChecker", "typecheck", "annotation_string", "EnumT", "TypeVar"]
