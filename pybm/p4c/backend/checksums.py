"""The VerifyChecksum/ComputeChecksum controls (BMv2 'checksums' + calculations)
and the deparser (emit order)."""
from __future__ import annotations

from typing import Any

from .. import ast
from ..errors import CompileError
from ..midend.inline import Frame
from ..midend.locations import FieldLoc, HeaderLoc, PacketLoc, StackLoc, StructLoc, UnionLoc
from .externs import enum_member
from .lower import Body

_CK_FUNCS = {"verify_checksum": (True, False), "verify_checksum_with_payload": (True, True),
             "update_checksum": (False, False), "update_checksum_with_payload": (False, True)}


def lower_checksum_control(prog, decl: ast.ControlDecl, fr: Frame, verify: bool) -> None:
    prog.elaborate_locals(decl, fr)
    for d in decl.locals:
        if not isinstance(d, (ast.ConstDecl,)):
            raise CompileError(d.loc, "unsupported by pybm-p4c: declarations in a checksum control "
                               "(only verify_checksum/update_checksum calls are allowed)")
    _checksum_stmts(prog, decl.body.stmts, fr, verify, None)


def _checksum_stmts(prog, stmts: list, fr: Frame, verify: bool, guard: dict | None) -> None:
    low = prog.lowerer
    for st in stmts:
        if isinstance(st, ast.EmptyStmt):
            continue
        if isinstance(st, ast.BlockStmt):
            _checksum_stmts(prog, st.stmts, fr, verify, guard)
            continue
        if not (isinstance(st, ast.CallStmt) and getattr(st.call, "kind", "") == "extern_function"
                and st.call.target.name in _CK_FUNCS):
            raise CompileError(st.loc, "unsupported by pybm-p4c: only verify_checksum/update_checksum "
                               "calls are allowed in checksum controls")
        call = st.call
        name = call.target.name
        prog.uses_extern_function = True
        is_verify, payload = _CK_FUNCS[name]
        if is_verify != verify:
            raise CompileError(call.loc, f"{name}() belongs in the "
                               f"{'VerifyChecksum' if is_verify else 'ComputeChecksum'} control")
        args = {p.name: a for p, a in call.bound}
        algo = enum_member(args["algo"])
        if algo not in ("csum16", "crc16", "crc32", "identity", "xor16", "crc16_custom", "crc32_custom"):
            raise CompileError(args["algo"].loc, f"unsupported checksum algorithm '{algo}'")
        body = Body()
        inputs = prog.externs.flatten_fields(args["data"], fr, body, call)
        if payload:
            inputs.append({"type": "payload", "value": None})
        cond = low.cond(args["condition"], fr, body)
        target = low.lvalue(args["checksum"], fr, body)
        if body.prims:
            raise CompileError(call.loc, "checksum arguments must not need computation")
        if not isinstance(target, FieldLoc):
            raise CompileError(args["checksum"].loc, "the checksum must be a header field")
        calc = prog.add_calculation(algo, inputs, call)
        n = len(prog.checksums)
        prog.checksums.append({
            "name": "cksum" if n == 0 else f"cksum_{n - 1}", "id": n,
            "source_info": prog.source_info(call),
            "target": [target.inst, target.field], "type": "generic", "calculation": calc,
            "verify": verify, "update": not verify, "if_cond": cond,
        })


def lower_deparser(prog, decl: ast.ControlDecl, fr: Frame) -> dict:
    prog.elaborate_locals(decl, fr)
    order: list[str] = []
    _deparse_stmts(prog, decl.body.stmts, fr, order)
    return {"name": "deparser", "id": 0, "source_info": prog.source_info(decl, fragment=decl.name),
            "order": order, "primitives": []}


def _deparse_stmts(prog, stmts: list, fr: Frame, order: list[str]) -> None:
    low = prog.lowerer
    for st in stmts:
        if isinstance(st, ast.EmptyStmt):
            continue
        if isinstance(st, ast.BlockStmt):
            _deparse_stmts(prog, st.stmts, fr, order)
            continue
        call = getattr(st, "call", None)
        if call is not None and getattr(call, "kind", "") == "extern_method" and call.func.name == "emit":
            obj = low.lvalue(call.func.expr, fr, Body())
            if isinstance(obj, PacketLoc):
                loc = low.lvalue(call.bound[0][1], fr, Body())
                _emit_loc(loc, order, call)
                continue
        raise CompileError(getattr(st, "loc", None), "unsupported by pybm-p4c: only emit() calls are "
                           "allowed in the deparser")


def _emit_loc(loc: Any, order: list[str], node: Any) -> None:
    if isinstance(loc, HeaderLoc):
        order.append(loc.inst)
    elif isinstance(loc, StackLoc):
        for e in loc.elems:
            _emit_loc(e, order, node)
    elif isinstance(loc, UnionLoc):
        for h in loc.members.values():
            _emit_loc(h, order, node)
    elif isinstance(loc, StructLoc):
        for sub in loc.fields.values():
            _emit_loc(sub, order, node)
    elif isinstance(loc, FieldLoc):
        raise CompileError(node.loc, "emit() needs headers, not scalar fields")
    else:
        raise CompileError(node.loc, "cannot emit this value")
