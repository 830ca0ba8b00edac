"""Print expressions back as P4 source text (for key names and source fragments)."""
from __future__ import annotations

from . import ast

_PREC = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4, "|": 5, "^": 6,
         "&": 7, "<<": 8, ">>": 8, "++": 9, "+": 10, "-": 10, "|+|": 10, "|-|": 10,
         "*": 11, "/": 11, "%": 11}


def type_text(t: ast.TypeRef | None) -> str:
    if isinstance(t, ast.BitTypeRef):
        w = t.width if isinstance(t.width, int) else f"({expr_text(t.width)})"
        return f"{'int' if t.signed else 'bit'}<{w}>"
    if isinstance(t, ast.VarbitTypeRef):
        return f"varbit<{t.width}>"
    if isinstance(t, ast.NamedTypeRef):
        return ("." if t.dot else "") + t.name
    if isinstance(t, ast.SimpleTypeRef):
        return t.kind
    if isinstance(t, ast.SpecializedTypeRef):
        return f"{type_text(t.base)}<{', '.join(type_text(a) for a in t.args)}>"
    if isinstance(t, ast.StackTypeRef):
        return f"{type_text(t.element)}[{expr_text(t.size)}]"
    if isinstance(t, ast.TupleTypeRef):
        return f"tuple<{', '.join(type_text(a) for a in t.elements)}>"
    return "?"


def expr_text(e: object, prec: int = 0) -> str:
    if isinstance(e, ast.IntLit):
        return e.text or str(e.value)
    if isinstance(e, ast.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, ast.StringLit):
        return '"' + e.value + '"'
    if isinstance(e, ast.PathExpr):
        return ("." if e.dot else "") + e.name
    if isinstance(e, ast.TypeNameExpr):
        return type_text(e.typeref)
    if isinstance(e, ast.Member):
        return f"{expr_text(e.expr, 100)}.{e.name}"
    if isinstance(e, ast.Index):
        return f"{expr_text(e.expr, 100)}[{expr_text(e.index)}]"
    if isinstance(e, ast.Slice):
        return f"{expr_text(e.expr, 100)}[{expr_text(e.hi)}:{expr_text(e.lo)}]"
    if isinstance(e, ast.Unary):
        return f"{e.op}{expr_text(e.expr, 99)}"
    if isinstance(e, ast.Binary):
        p = _PREC.get(e.op, 5)
        s = f"{expr_text(e.left, p)} {e.op} {expr_text(e.right, p + 1)}"
        return f"({s})" if p < prec else s
    if isinstance(e, ast.Ternary):
        s = f"{expr_text(e.cond, 1)} ? {expr_text(e.then)} : {expr_text(e.other)}"
        return f"({s})" if prec > 0 else s
    if isinstance(e, ast.Cast):
        return f"({type_text(e.typeref)}){expr_text(e.expr, 99)}"
    if isinstance(e, ast.Call):
        targs = f"<{', '.join(type_text(t) for t in e.type_args)}>" if e.type_args else ""
        args = ", ".join(expr_text(a.value) if a.value is not None else "_" for a in e.args)
        return f"{expr_text(e.func, 100)}{targs}({args})"
    if isinstance(e, ast.ListExpr):
        return "{" + ", ".join(expr_text(x) for x in e.items) + "}"
    if isinstance(e, ast.StructInit):
        return "{" + ", ".join(f"{n} = {expr_text(v)}" for n, v in e.fields) + "}"
    if isinstance(e, ast.MaskKey):
        return f"{expr_text(e.value)} &&& {expr_text(e.mask)}"
    if isinstance(e, ast.RangeKey):
        return f"{expr_text(e.lo)} .. {expr_text(e.hi)}"
    if isinstance(e, (ast.DontCare,)):
        return "_"
    if isinstance(e, ast.DefaultKey):
        return "default"
    if isinstance(e, ast.TupleKey):
        return "(" + ", ".join(expr_text(x) for x in e.items) + ")"
    if isinstance(e, ast.ConstructorCall):
        return f"{type_text(e.typeref)}({', '.join(expr_text(a.value) for a in e.args)})"
    return "?"
