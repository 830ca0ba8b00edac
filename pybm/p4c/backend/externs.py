"""v1model externs: instances (counters, meters, registers) and extern calls
lowered to BMv2 primitives, calculations, field lists and learn lists."""
from __future__ import annotations

from typing import Any

from .. import ast
from ..annotations import Ident
from ..constfold import EnumValue
from ..errors import CompileError
from ..midend.inline import Frame
from ..midend.locations import (
    ConstLoc,
    ExprLoc,
    ExternLoc,
    FieldLoc,
    HeaderLoc,
    Loc,
    PacketLoc,
    StackLoc,
    StructLoc,
    UnionLoc,
)
from ..types import BitT, StackT, StructT, TupleT, TypeVar, VarbitT, strip_newtype, width_of
from . import jsonexpr as J

HASH_ALGOS = {"crc32", "crc32_custom", "crc16", "crc16_custom", "random", "identity", "csum16", "xor16"}
UNSUPPORTED_EXTERNS = {"action_profile", "action_selector", "Checksum16"}


def enum_member(e: ast.Expr | None) -> str | None:
    v = getattr(e, "const", None) if e is not None else None
    return v.member if isinstance(v, EnumValue) else None


class Externs:
    def __init__(self, prog) -> None:
        self.prog = prog
        self.field_list_ids: dict[Any, int] = {}

    # ------------------------------------------------------------------ instances
    def instantiate(self, inst: ast.Node, otype, name: str, frame: Frame) -> ExternLoc:
        """Create the BMv2 object for an extern instance and return its location."""
        ename = otype.name
        loc = ExternLoc(name, otype, inst)
        bound = getattr(otype, "ctor_bound", [])
        vals = {p.name: getattr(a, "const", None) for p, a in bound}
        loc.ctor_values = vals
        prog = self.prog
        si = prog.source_info(inst, fragment=getattr(inst, "name", None))
        if ename in UNSUPPORTED_EXTERNS:
            raise CompileError(inst.loc, f"unsupported by pybm-p4c: extern '{ename}' "
                               "(action profiles/selectors are not implemented)")
        if ename == "counter":
            prog.counter_arrays.append({"name": name, "id": len(prog.counter_arrays), "source_info": si,
                                        "size": vals["size"], "is_direct": False})
            prog.p4info_objs.append(("counter", name, inst, {"size": vals["size"], "unit": vals["type"]}))
        elif ename == "direct_counter":
            loc.direct = {"name": name, "id": None, "source_info": si, "is_direct": True, "binding": None}
            prog.p4info_objs.append(("direct_counter", name, inst, {"unit": vals["type"], "ext": loc}))
        elif ename == "meter":
            prog.meter_arrays.append({"name": name, "id": len(prog.meter_arrays), "source_info": si,
                                      "is_direct": False, "size": vals["size"], "rate_count": 2,
                                      "type": vals["type"].member})
            prog.p4info_objs.append(("meter", name, inst, {"size": vals["size"], "unit": vals["type"]}))
        elif ename == "direct_meter":
            loc.direct = {"name": name, "id": None, "source_info": si, "is_direct": True, "rate_count": 2,
                          "type": vals["type"].member, "size": 0, "binding": None, "result_target": None}
            prog.p4info_objs.append(("direct_meter", name, inst, {"unit": vals["type"], "ext": loc}))
        elif ename == "register":
            t = otype.type_args.get("T")
            if t is None or not isinstance(strip_newtype(t), BitT):
                raise CompileError(inst.loc, "register cells must be bit<W> or int<W>")
            w = width_of(strip_newtype(t))
            prog.register_arrays.append({"name": name, "id": len(prog.register_arrays), "source_info": si,
                                         "size": vals["size"], "bitwidth": w})
            prog.p4info_objs.append(("register", name, inst, {"size": vals["size"], "type": t}))
        elif ename in ("packet_in", "packet_out"):
            pass
        else:
            raise CompileError(inst.loc, f"unsupported by pybm-p4c: extern '{ename}'")
        return loc

    # ------------------------------------------------------------------ calls
    def call(self, e: ast.Call, fr: Frame, body, want_result: bool) -> Loc | None:
        low = self.prog.lowerer
        _dontcare_out_args(e)
        if e.kind == "extern_method":
            obj = low.lvalue(e.func.expr, fr, body)
            method = e.func.name
            if isinstance(obj, PacketLoc):
                return self.prog.parsers.packet_method(e, obj, method, fr, body)
            if not isinstance(obj, ExternLoc):
                raise CompileError(e.loc, "method call on an unknown object")
            return self.method(e, obj, method, fr, body)
        name = e.target.name
        args = {p.name: a for p, a in e.bound}
        if name != "verify":
            self.prog.uses_extern_function = True
        if name == "mark_to_drop" and "standard_metadata" not in args:
            raise CompileError(e.loc, "Expected 1 argument for mark_to_drop(). "
                                      "Are you using an up-to-date v1model.p4?")
        if name == "mark_to_drop":
            sm = low.lvalue(args["standard_metadata"], fr, body)
            if not isinstance(sm, HeaderLoc):
                raise CompileError(e.loc, "mark_to_drop needs standard_metadata")
            low.emit_prim("mark_to_drop", [{"type": "header", "value": sm.inst}], body, e)
            return None
        if name == "hash":
            return self.hash_call(e, args, fr, body)
        if name == "random":
            dst = low.lvalue(args["result"], fr, body)
            lo = low.data(args["lo"], fr, body)
            hi = low.data(args["hi"], fr, body)
            low.emit_prim("modify_field_rng_uniform", [dst.json(), J.param(lo), J.param(hi)], body, e)
            return None
        if name == "digest":
            return self.digest(e, args, fr, body)
        if name == "clone":
            self.clone(e, args["type"], args["session"], None, fr, body)
            return None
        if name in ("clone3", "resubmit", "recirculate"):
            # the deprecated forms with a field list argument: p4c-bm2-ss refuses them
            raise CompileError(e.loc, f"{name}: unknown extern function (p4c-bm2-ss refuses the "
                                      f"deprecated form: use {name.replace('3', '')}_preserving_field_list)")
        if name == "clone_preserving_field_list":
            fl = self.field_list_by_index(args["index"], e)
            self.clone(e, args["type"], args["session"], fl, fr, body)
            return None
        if name in ("resubmit_preserving_field_list", "recirculate_preserving_field_list"):
            fl = self.field_list_by_index(args["index"], e)
            op = "resubmit" if name.startswith("resubmit") else "recirculate"
            low.emit_prim(op, [J.hexstr(fl)], body, e)
            return None
        if name == "truncate":
            low.emit_prim("truncate", [J.param(low.data(args["length"], fr, body))], body, e)
            return None
        if name in ("assert", "assume"):
            # BMv2's assert/assume take data: a boolean expression must be converted (b2d)
            low.emit_prim(name, [J.param(J.b2d(low.cond(args["check"], fr, body)))], body, e)
            return None
        if name == "log_msg":
            return self.log_msg(e, args, fr, body)
        if name == "verify":
            if not body.in_parser:
                raise CompileError(e.loc, "verify() can only be called in a parser")
            c = low.cond(args["check"], fr, body)
            err = low.data(args["toSignal"], fr, body)
            body.emit({"parameters": [c, err], "op": "verify"})
            return None
        if name in ("verify_checksum", "update_checksum", "verify_checksum_with_payload",
                    "update_checksum_with_payload"):
            raise CompileError(e.loc, f"{name}() is only supported directly in the "
                               f"{'VerifyChecksum' if name.startswith('verify') else 'ComputeChecksum'} control")
        raise CompileError(e.loc, f"unsupported by pybm-p4c: extern function '{name}'")

    def method(self, e: ast.Call, obj: ExternLoc, method: str, fr: Frame, body) -> Loc | None:
        low = self.prog.lowerer
        ename = obj.ptype.name
        args = {p.name: a for p, a in e.bound}
        arr = {"type": "", "value": obj.name}
        if ename == "counter" and method == "count":
            arr["type"] = "counter_array"
            low.emit_prim("count", [arr, J.param(low.data(args["index"], fr, body))], body, e)
            return None
        if ename == "direct_counter" and method == "count":
            return None  # BMv2 counts direct counters when the table hits
        if ename == "meter" and method == "execute_meter":
            arr["type"] = "meter_array"
            idx = low.data(args["index"], fr, body)
            dst = low.lvalue(args["result"], fr, body)
            low.emit_prim("execute_meter", [arr, J.param(idx), dst.json()], body, e)
            return None
        if ename == "direct_meter" and method == "read":
            dst = low.lvalue(args["result"], fr, body)
            if not isinstance(dst, FieldLoc):
                raise CompileError(e.loc, "direct_meter.read() needs a field")
            prev = obj.direct.get("result_target")
            target = [dst.inst, dst.field]
            if prev is not None and prev != target:
                raise CompileError(e.loc, "direct_meter results must all go to the same field")
            obj.direct["result_target"] = target
            return None
        if ename == "register" and method == "read":
            arr["type"] = "register_array"
            dst = low.lvalue(args["result"], fr, body)
            idx = low.data(args["index"], fr, body)
            low.emit_prim("register_read", [dst.json(), arr, J.param(idx)], body, e)
            return None
        if ename == "register" and method == "write":
            arr["type"] = "register_array"
            idx = low.data(args["index"], fr, body)
            val = low.data(args["value"], fr, body)
            low.emit_prim("register_write", [arr, J.param(idx), J.param(val)], body, e)
            return None
        raise CompileError(e.loc, f"unsupported by pybm-p4c: {ename}.{method}()")

    # ------------------------------------------------------------------ helpers
    def flatten_fields(self, e: ast.Expr, fr: Frame, body, node) -> list[dict]:
        """The BMv2 field references making up a list/struct/header expression."""
        low = self.prog.lowerer
        out: list[dict] = []
        if isinstance(e, ast.ListExpr):
            for it in e.items:
                out.extend(self.flatten_fields(it, fr, body, node))
            return out
        if isinstance(e, ast.StructInit):
            for _, it in e.fields:
                out.extend(self.flatten_fields(it, fr, body, node))
            return out
        if getattr(e, "const", None) is not None:
            loc = ConstLoc(e.const, e.type)
        else:
            loc = low.lvalue(e, fr, body)
        self._flatten_loc(loc, out, node, low, body)
        return out

    def _flatten_loc(self, loc: Loc, out: list, node, low, body) -> None:
        if isinstance(loc, FieldLoc):
            out.append(loc.json())
        elif isinstance(loc, HeaderLoc):
            out.extend(f.json() for f in loc.leaves())
        elif isinstance(loc, StructLoc):
            for sub in loc.fields.values():
                self._flatten_loc(sub, out, node, low, body)
        elif isinstance(loc, StackLoc):
            for sub in loc.elems:
                self._flatten_loc(sub, out, node, low, body)
        elif isinstance(loc, UnionLoc):
            for sub in loc.members.values():
                self._flatten_loc(sub, out, node, low, body)
        elif isinstance(loc, ConstLoc):
            j, _ = low.read_loc(loc, node)
            t = strip_newtype(loc.ptype)
            if isinstance(t, BitT):
                j = dict(j, bitwidth=t.width)
            else:
                raise CompileError(getattr(node, "loc", None), "constants in field lists need a width (e.g. 8w0)")
            out.append(j)
        elif isinstance(loc, ExprLoc):
            # a computed value: BMv2 field lists take fields, so copy it into a temporary
            t = loc.ptype
            tmp = self.prog.alloc.alloc(t, "tmp", loc=getattr(node, "loc", None))
            low.assign_scalar(tmp, loc.expr, loc.is_bool, body, node)
            out.append(tmp.json())
        else:
            raise CompileError(getattr(node, "loc", None), "cannot use this value in a field list")

    def hash_call(self, e: ast.Call, args: dict, fr: Frame, body) -> None:
        low = self.prog.lowerer
        algo = enum_member(args["algo"])
        if algo not in HASH_ALGOS:
            raise CompileError(args["algo"].loc, "hash algorithm must be a HashAlgorithm constant")
        inputs = self.flatten_fields(args["data"], fr, body, e)
        calc = self.prog.add_calculation(algo, inputs, e)
        self.prog.uses_hash = True
        dst = low.lvalue(args["result"], fr, body)
        base = low.data(args["base"], fr, body)
        mx = low.data(args["max"], fr, body)
        low.emit_prim("modify_field_with_hash_based_offset",
                      [dst.json(), J.param(base), {"type": "calculation", "value": calc}, J.param(mx)], body, e)

    def digest(self, e: ast.Call, args: dict, fr: Frame, body) -> None:
        low = self.prog.lowerer
        data = args["data"]
        t = strip_newtype(data.type)
        if isinstance(t, StructT):
            name = t.name
        elif isinstance(t, TupleT):
            name = "digest"
        else:
            raise CompileError(data.loc, "digest data must be a struct or a list")
        elements = self.flatten_fields(data, fr, body, e)
        lid = self.prog.add_learn_list(name, elements, t, e)
        receiver = low.data(args["receiver"], fr, body)
        low.emit_prim("generate_digest", [J.param(receiver), J.hexstr(lid)], body, e)

    def clone(self, e: ast.Call, type_arg: ast.Expr, session: ast.Expr, fl: int | None, fr: Frame, body) -> None:
        low = self.prog.lowerer
        ct = enum_member(type_arg)
        if ct not in ("I2E", "E2E"):
            raise CompileError(type_arg.loc, "clone type must be CloneType.I2E or CloneType.E2E")
        op = "clone_ingress_pkt_to_egress" if ct == "I2E" else "clone_egress_pkt_to_egress"
        s = low.data(session, fr, body)
        low.emit_prim(op, [J.param(s), J.hexstr(fl if fl is not None else 0)], body, e)

    def field_list_by_index(self, idx_expr: ast.Expr, e: ast.Call) -> int:
        idx = getattr(idx_expr, "const", None)
        if not isinstance(idx, int):
            raise CompileError(idx_expr.loc, "field list index must be a constant")
        return self.prog.add_field_list_for_index(idx, e)

    def log_msg(self, e: ast.Call, args: dict, fr: Frame, body) -> None:
        low = self.prog.lowerer
        msg = getattr(args["msg"], "const", None)
        if not isinstance(msg, str):
            raise CompileError(args["msg"].loc, "log_msg needs a string literal")
        values: list[dict] = []
        data = args.get("data")
        if data is not None:
            if isinstance(data, ast.ListExpr):
                for it in data.items:
                    values.append(low.data(it, fr, body))
            elif isinstance(data, ast.StructInit):
                for _, it in data.fields:
                    values.append(low.data(it, fr, body))
            else:
                values.extend(self.flatten_fields(data, fr, body, e))
        low.emit_prim("log_msg", [{"type": "string", "value": msg},
                                  {"type": "parameters_vector", "value": values}], body, e)


def field_list_fields(meta_loc: Loc, index: int, path: list[str] | None = None) -> list[dict]:
    """Fields of the user metadata annotated with @field_list(index)."""
    out: list[dict] = []
    if isinstance(meta_loc, StructLoc):
        for fn, _ft, annots in meta_loc.ptype.fields:
            sub = meta_loc.fields[fn]
            tagged = False
            for a in annots:
                if a.name == "field_list":
                    vals = [v for v in a.args() if isinstance(v, int)]
                    if index in vals:
                        tagged = True
            if tagged:
                if isinstance(sub, FieldLoc):
                    out.append(sub.json())
                elif isinstance(sub, StructLoc):
                    for x in sub.fields.values():
                        if isinstance(x, FieldLoc):
                            out.append(x.json())
            elif isinstance(sub, StructLoc):
                out.extend(field_list_fields(sub, index))
    return out


__all__ = ["Externs", "field_list_fields", "Ident", "VarbitT", "StackT"]


def _dontcare_out_args(e: ast.Call) -> None:
    """A '_' passed to an extern's out parameter writes into a fresh temporary
    (p4c's 'arg'): bind it as a typed DontCare the lowerer allocates."""
    bound = []
    for p, a in e.bound:
        if a is None and p.direction == "out":
            t = p.ptype
            t = getattr(e, "tbind", {}).get(t, t) if isinstance(t, TypeVar) else t
            if isinstance(t, TypeVar):
                raise CompileError(e.loc, f"cannot infer the type of '_' passed for '{p.name}': "
                                          f"give the type argument")
            a = ast.DontCare(loc=e.loc, type=t)
        bound.append((p, a))
    e.bound = bound
