"""Type checking of calls and instantiations (mixin of the expression checker).

Annotations left on Call nodes:
  Call.kind   'action' | 'function' | 'extern_function' | 'extern_method' |
              'builtin' | 'apply' | 'table_apply'
  Call.target the declaration called (ActionDecl, FunctionDecl, FunctionProto, ...)
  Call.bound  list of (Param, Expr | None): arguments in parameter order
  Call.method builtin method name for 'builtin' calls (isValid, push_front, ...)
"""
from __future__ import annotations

from . import ast
from .ast_text import expr_text
from .errors import CompileError, SourceLoc
from .scope import Scope
from .types import (
    ApplyResultT,
    BoolT,
    DontCareT,
    IntT,
    ObjectT,
    P4Type,
    StackT,
    StructT,
    TypeVar,
    VarbitT,
    VoidT,
    strip_newtype,
)


class CallChecker:
    # ------------------------------------------------------------------ constructors
    def check_constructor_args(self, t: ObjectT, args: list[ast.Argument], loc: SourceLoc | None,
                               scope: Scope) -> ObjectT:
        decl = t.decl
        if t.kind == "extern":
            ctors = [m for m in decl.methods if m.is_constructor]
            if not ctors:
                raise CompileError(loc, f"extern '{t.name}' has no constructor")
            ctor = next((c for c in ctors if len(c.params) == len(args)), None)
            if ctor is None:
                raise CompileError(loc, f"no constructor of '{t.name}' takes {len(args)} arguments")
            b: dict = {}
            for tv_name, targ in t.type_args.items():
                tv = decl.scope.lookup_type(tv_name)
                b[tv] = targ
            bound = self.bind_args(ctor.params, args, loc, scope, b, what=f"constructor of {t.name}")
            for _p, a in bound:
                if a is not None and getattr(a, "const", None) is None and not isinstance(a.type, ObjectT):
                    raise CompileError(a.loc, "constructor arguments must be compile-time constants")
            targs = dict(t.type_args)
            for tv_name in decl.type_params:
                tv = decl.scope.lookup_type(tv_name)
                if tv_name not in targs and tv in b:
                    targs[tv_name] = b[tv]
            ot = ObjectT("extern", t.name, decl, targs)
            ot.ctor_bound = bound
            return ot
        if t.kind in ("parser", "control"):
            params = getattr(decl, "ctor_params", [])
            bound = self.bind_args(params, args, loc, scope, {}, what=f"constructor of {t.name}")
            ot = ObjectT(t.kind, t.name, decl, dict(t.type_args))
            ot.ctor_bound = bound
            return ot
        if t.kind == "package":
            b = {}
            for tv_name, targ in t.type_args.items():
                b[decl.scope.lookup_type(tv_name)] = targ
            bound = self.bind_args(decl.params, args, loc, scope, b, what=f"package {t.name}")
            ot = ObjectT("package", t.name, decl, dict(t.type_args))
            ot.ctor_bound = bound
            self.check_package_args(bound, b, loc)
            return ot
        raise CompileError(loc, f"cannot instantiate '{t.name}'")

    def check_package_args(self, bound: list, b: dict, loc: SourceLoc | None) -> None:
        """Each package argument must be a parser/control matching the parameter type."""
        for p, a in bound:
            if a is None:
                continue
            pt = p.ptype
            at = a.type
            if isinstance(pt, ObjectT) and isinstance(at, ObjectT):
                if pt.kind != at.kind:
                    raise CompileError(a.loc, f"argument for '{p.name}' must be a {pt.kind}, not a {at.kind}")
                ptd = pt.decl
                atd = at.decl
                ps = getattr(ptd, "params", [])
                as_ = getattr(atd, "params", [])
                if len(ps) != len(as_):
                    raise CompileError(a.loc, f"'{at.name}' has {len(as_)} parameters, "
                                       f"'{pt.name}' needs {len(ps)}")
                sub = dict(b)
                for tvn, targ in pt.type_args.items():
                    sub[ptd.scope.lookup_type(tvn)] = targ
                for pp, ap in zip(ps, as_):
                    if pp.direction != ap.direction:  # p4c: "Cannot unify 'in' parameter ..."
                        raise CompileError(ap.loc, f"parameter '{ap.name}' of '{at.name}' must have "
                                           f"direction '{pp.direction or 'none'}' as in '{pt.name}'")
                    want = self.subst(pp.ptype, sub)
                    if isinstance(want, TypeVar):
                        sub[want] = ap.ptype
                        continue
                    if not self.same_type(want, ap.ptype):
                        raise CompileError(ap.loc, f"parameter '{ap.name}' of '{at.name}' has type "
                                           f"'{ap.ptype}', expected '{want}'")
                # type variables are shared between all package arguments
                for k, v in sub.items():
                    if isinstance(k, TypeVar) and k not in b:
                        b[k] = v

    # ------------------------------------------------------------------ calls
    def bind_args(self, params: list[ast.Param], args: list[ast.Argument], loc: SourceLoc | None,
                  scope: Scope, b: dict, what: str) -> list[tuple[ast.Param, ast.Expr | None]]:
        named = any(a.name is not None for a in args)
        slots: dict[str, ast.Argument] = {}
        if named:
            for a in args:
                if a.name is None:
                    raise CompileError(a.loc, "cannot mix named and positional arguments")
                if a.name in slots:
                    raise CompileError(a.loc, f"argument '{a.name}' given twice")
                if all(p.name != a.name for p in params):
                    raise CompileError(a.loc, f"{what} has no parameter '{a.name}'")
                slots[a.name] = a
        else:
            if len(args) > len(params):
                raise CompileError(loc, f"{what} takes {len(params)} arguments, {len(args)} given")
            for p, a in zip(params, args):
                slots[p.name] = a
        bound: list[tuple[ast.Param, ast.Expr | None]] = []
        for p in params:
            a = slots.get(p.name)
            if a is None:
                if p.default is not None:
                    bound.append((p, p.default))
                    continue
                if any(x.name == "optional" for x in p.annotations):
                    bound.append((p, None))
                    continue
                raise CompileError(loc, f"{what}: missing argument for parameter '{p.name}'")
            if a.value is None:
                if p.direction != "out":
                    raise CompileError(a.loc, "'_' can only be passed to an out parameter")
                bound.append((p, None))
                continue
            pt = self.subst(p.ptype, b)
            at = self.check_expr(a.value, scope, None if isinstance(pt, TypeVar) else pt)
            self.unify(p.ptype, at, b, a.loc)
            pt = self.subst(p.ptype, b)
            if isinstance(pt, ObjectT) and isinstance(at, ObjectT) and pt.kind == at.kind:
                pass  # instance arguments; packages check parameter lists separately
            elif not isinstance(pt, TypeVar):
                if p.direction in ("out", "inout"):
                    if not self.same_type(pt, at) and not isinstance(pt, DontCareT):
                        raise CompileError(a.loc, f"argument for '{p.name}' has type '{at}', expected '{pt}'")
                    self.require_lvalue(a.value, scope)
                else:
                    self.require_assignable(pt, a.value, a.loc)
            elif p.direction in ("out", "inout"):
                self.require_lvalue(a.value, scope)
            bound.append((p, a.value))
        return bound

    def _x_Call(self, e: ast.Call, scope: Scope, expected: P4Type | None) -> P4Type:
        f = e.func
        e.tbind = {}
        if isinstance(f, ast.Member):
            if isinstance(f.expr, ast.TypeNameExpr) and f.name == "apply":
                ot = self.resolve_type(f.expr.typeref, scope)
                return self._apply_call(e, ot, scope, direct=True)
            obj_t = self.check_expr(f.expr, scope, None)
            ot = strip_newtype(obj_t)
            if isinstance(ot, StructT) and ot.kind in ("header", "header_union"):
                return self._header_method(e, f, ot, scope)
            if isinstance(ot, StackT):
                return self._stack_method(e, f, ot, scope)
            if isinstance(ot, ObjectT):
                if ot.kind == "table":
                    if f.name != "apply":
                        raise CompileError(f.loc, f"table has no method '{f.name}'")
                    if e.args:
                        raise CompileError(e.loc, "table apply takes no arguments")
                    if scope.enclosing("action", "function") is not None:
                        raise CompileError(e.loc, f"{expr_text(e)}: apply cannot be called from actions")
                    e.kind = "table_apply"
                    e.target = ot.decl
                    e.bound = []
                    return ApplyResultT(ot.decl)
                if ot.kind in ("parser", "control") and f.name == "apply":
                    return self._apply_call(e, ot, scope, direct=False)
                if ot.kind == "extern":
                    return self._extern_method(e, f, ot, scope)
            raise CompileError(f.loc, f"'{obj_t}' has no method '{f.name}'")
        if isinstance(f, ast.PathExpr):
            d = (self.globals if f.dot else scope).lookup_value(f.name)
            if d is None:
                raise CompileError(f.loc, f"'{f.name}' is not declared")
            f.ref = d
            if isinstance(d, ast.ActionDecl):
                if scope.enclosing("parser") is not None:
                    raise CompileError(e.loc, "actions cannot be called from parsers")
                e.kind = "action"
                e.target = d
                e.bound = self.bind_args(d.params, e.args, e.loc, scope, {}, f"action '{d.name}'")
                for p, a in e.bound:
                    if p.direction == "" and a is None:
                        raise CompileError(e.loc, f"missing argument for '{p.name}'")
                return VoidT()
            cands = d if isinstance(d, list) else [d]
            cands = [c for c in cands if isinstance(c, (ast.FunctionDecl, ast.ExternFunctionDecl))]
            if not cands:
                raise CompileError(f.loc, f"'{f.name}' is not a function")
            return self._function_call(e, cands, scope)
        raise CompileError(e.loc, "expression is not callable")

    def _pick_overload(self, e: ast.Call, protos: list[ast.FunctionProto]) -> ast.FunctionProto:
        n = len(e.args)
        named = {a.name for a in e.args if a.name}
        fits = []
        for p in protos:
            need = [x for x in p.params if x.default is None and not any(a.name == "optional" for a in x.annotations)]
            if named:
                if named <= {x.name for x in p.params}:
                    fits.append(p)
            elif len(need) <= n <= len(p.params):
                fits.append(p)
        if not fits:
            raise CompileError(e.loc, f"no overload of '{protos[0].name}' takes {n} arguments")
        return fits[0]

    def _function_call(self, e: ast.Call, cands: list, scope: Scope) -> P4Type:
        protos = [c.proto for c in cands]
        proto = self._pick_overload(e, protos)
        decl = cands[protos.index(proto)]
        b: dict = {}
        if e.type_args:
            if len(e.type_args) != len(proto.type_params):
                raise CompileError(e.loc, f"'{proto.name}' expects {len(proto.type_params)} type arguments")
            for n, ta in zip(proto.type_params, e.type_args):
                b[proto.scope.lookup_type(n)] = self.resolve_type(ta, scope)
        e.bound = self.bind_args(proto.params, e.args, e.loc, scope, b, f"'{proto.name}'")
        e.tbind = b
        e.target = decl
        from .typecheck import annotation_string
        why = annotation_string(getattr(decl, "annotations", []), "deprecated")
        if why is not None:
            self.type_warnings.append((e.loc, "deprecated",
                                       f"{proto.name}: Using deprecated feature {proto.name}. {why}", proto.name))
        e.kind = "function" if isinstance(decl, ast.FunctionDecl) else "extern_function"
        ret = self.subst(proto.ret, b)
        if isinstance(ret, TypeVar):
            raise CompileError(e.loc, f"cannot infer the return type of '{proto.name}'")
        return ret

    def _extern_method(self, e: ast.Call, f: ast.Member, ot: ObjectT, scope: Scope) -> P4Type:
        decl = ot.decl
        methods = [m for m in decl.methods if m.name == f.name and not m.is_constructor]
        if not methods:
            raise CompileError(f.loc, f"extern '{ot.name}' has no method '{f.name}'")
        proto = self._pick_overload(e, methods)
        b: dict = {}
        for tvn, targ in ot.type_args.items():
            b[decl.scope.lookup_type(tvn)] = targ
        if e.type_args:
            if len(e.type_args) != len(proto.type_params):
                raise CompileError(e.loc, f"'{proto.name}' expects {len(proto.type_params)} type arguments")
            for n, ta in zip(proto.type_params, e.type_args):
                b[proto.scope.lookup_type(n)] = self.resolve_type(ta, scope)
        e.bound = self.bind_args(proto.params, e.args, e.loc, scope, b, f"'{ot.name}.{f.name}'")
        e.tbind = b
        e.kind = "extern_method"
        e.target = proto
        e.extern_type = ot
        ret = self.subst(proto.ret, b)
        if isinstance(ret, TypeVar):
            raise CompileError(e.loc, f"cannot infer the return type of '{proto.name}'; give type arguments")
        return ret

    def _apply_call(self, e: ast.Call, ot: P4Type, scope: Scope, direct: bool) -> P4Type:
        if not isinstance(ot, ObjectT) or ot.kind not in ("parser", "control"):
            raise CompileError(e.loc, f"'{ot}' cannot be applied")
        decl = ot.decl
        if direct and not isinstance(decl, (ast.ParserDecl, ast.ControlDecl)):
            raise CompileError(e.loc, f"'{ot.name}' has no implementation to apply")
        # an instance may also have a parser/control *type* (a constructor parameter)
        is_parser = isinstance(decl, (ast.ParserDecl, ast.ParserTypeDecl))
        if is_parser and scope.enclosing("parser") is None:
            raise CompileError(e.loc, "parsers can only be applied from parsers")
        if not is_parser and scope.enclosing("parser") is not None:
            raise CompileError(e.loc, "controls cannot be applied from parsers")
        if scope.enclosing("action", "function") is not None:
            raise CompileError(e.loc, f"{expr_text(e)}: apply cannot be called from actions")
        if direct and getattr(decl, "ctor_params", None):
            raise CompileError(e.loc, f"'{decl.name}' has constructor parameters; instantiate it")
        e.kind = "apply"
        e.target = decl
        e.direct = direct
        e.bound = self.bind_args(decl.params, e.args, e.loc, scope, {}, f"'{decl.name}.apply'")
        return VoidT()

    def _header_method(self, e: ast.Call, f: ast.Member, t: StructT, scope: Scope) -> P4Type:
        if e.args:
            raise CompileError(e.loc, f"'{f.name}' takes no arguments")
        e.kind = "builtin"
        e.method = f.name
        e.bound = []
        if f.name == "isValid":
            return BoolT()
        if f.name in ("setValid", "setInvalid"):
            if t.kind == "header_union":
                raise CompileError(f.loc, f"header_union has no method '{f.name}'")
            self.require_lvalue(f.expr, scope)
            return VoidT()
        if f.name in ("minSizeInBits", "minSizeInBytes"):
            from .types import width_of
            bits = sum(0 if isinstance(ft, VarbitT) else width_of(ft) for _, ft, _ in t.fields)
            e.const = bits if f.name == "minSizeInBits" else (bits + 7) // 8
            return IntT()
        raise CompileError(f.loc, f"'{t}' has no method '{f.name}'")

    def _stack_method(self, e: ast.Call, f: ast.Member, t: StackT, scope: Scope) -> P4Type:
        if f.name not in ("push_front", "pop_front"):
            raise CompileError(f.loc, f"header stack has no method '{f.name}'")
        if len(e.args) != 1 or e.args[0].value is None:
            raise CompileError(e.loc, f"'{f.name}' takes one argument")
        n = self.const_int(e.args[0].value, scope, f"argument of {f.name}")
        if n < 0:
            raise CompileError(e.args[0].loc, f"argument of {f.name} must not be negative")
        self.require_lvalue(f.expr, scope)
        e.kind = "builtin"
        e.method = f.name
        e.count = n
        e.bound = []
        return VoidT()
