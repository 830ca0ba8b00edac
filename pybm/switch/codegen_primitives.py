"""BMv2 primitive calls -> Python statements.

The generated statements run with ``F`` (PHV), ``P`` (packet) and, inside
actions, ``A`` (runtime data) in scope. Semantics follow simple_switch's
primitives and bm_sim's core primitives.
"""

from __future__ import annotations

from typing import Any

from pybm.switch.codegen_expr import BOOL, HDR, INT, STACK, USTACK, Expr, ExprCompiler, mask
from pybm.switch.errors import ConfigError
from pybm.switch.program import HeaderInstance, Program


class Emitter:
    """Collects indented source lines and hands out temporary names."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._tmp = 0

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def tmp(self) -> str:
        self._tmp += 1
        return f"_t{self._tmp}"


class PrimitiveCompiler:
    def __init__(self, prog: Program, ex: ExprCompiler, objects: Any, drop_port: int):
        self.prog = prog
        self.ex = ex
        self.ns = ex.ns
        self.objects = objects  # engine runtime objects: registers, counters, meters, calcs
        self.drop_port = drop_port
        self.mcast_slot = self._alias_slot("intrinsic_metadata.mcast_grp")

    def _alias_slot(self, name: str) -> int | None:
        r = self.prog.resolve_alias(name)
        return self.prog.field_slot(*r) if r else None

    # -- stores ------------------------------------------------------------

    def store(self, out: Emitter, ind: int, dst: Expr, width: int, signed: bool, src: Expr) -> None:
        code = self.wrap(src, width, signed)
        out.emit(ind, f"{dst.code} = {code}")

    def wrap(self, src: Expr, width: int, signed: bool) -> str:
        if src.const is not None:
            v = src.const
            if signed:
                h = 1 << (width - 1)
                return repr(((v + h) & mask(width)) - h)
            return repr(v & mask(width))
        s = self.ex.as_int(src)
        if signed:
            h = 1 << (width - 1)
            return f"((({s}) + {h}) & {mask(width)}) - {h}"
        if src.kind == BOOL:
            return s
        if src.width is not None and src.width <= width and not src.signed:
            return s
        return f"({s}) & {mask(width)}"

    def lvalue(self, tv: dict[str, Any], in_action: bool) -> tuple[Expr, int, bool, bool]:
        """-> (target expression, width, signed, varbit)."""
        e = self.ex.compile(tv, in_action=in_action)
        if not e.code.startswith("F["):
            raise ConfigError(f"BMv2 JSON: cannot assign to {tv!r}")
        if tv["type"] == "field":
            spec = self.prog.field_spec(*tv["value"])
            return e, spec.width, spec.signed, spec.varbit
        if e.width is None:
            raise ConfigError(f"BMv2 JSON: cannot assign to {tv!r}")
        return e, e.width, e.signed, False

    def header_ref(self, tv: dict[str, Any], in_action: bool) -> tuple[str, Any, HeaderInstance | None]:
        """-> (base code, header type, static instance or None)."""
        e = self.ex.compile(tv, in_action=in_action)
        if e.kind != HDR:
            raise ConfigError(f"BMv2 JSON: expected a header, got {tv!r}")
        inst = None
        if e.const is not None:
            inst = next(h for h in self.prog.headers.values() if h.base == e.const)
        return e.code, e.htype, inst

    # -- header validity helpers -------------------------------------------

    def set_valid(self, out: Emitter, ind: int, base: str, htype: Any, inst: HeaderInstance | None,
                  zero_fields: bool, adjust_len: bool) -> None:
        nf = len(htype.fields)
        if zero_fields:
            out.emit(ind, f"if not F[{base} + {nf}]:")
            out.emit(ind + 1, f"F[{base}:{base} + {nf}] = {[0] * nf!r}")
            if adjust_len:
                out.emit(ind + 1, f"P.plen += {htype.fixed_bits // 8}")
            out.emit(ind + 1, f"F[{base} + {nf}] = 1")
        else:
            out.emit(ind, f"F[{base} + {nf}] = 1")
        if inst is not None and inst.union is not None:
            for other in inst.union.headers:
                if other is not inst:
                    out.emit(ind, f"F[{other.valid_slot}] = 0")

    def copy_header(self, out: Emitter, ind: int, dbase: str, dinst: HeaderInstance | None,
                    sbase: str, htype: Any) -> None:
        """assign_header: copies fields and validity (an invalid source invalidates)."""
        nf = len(htype.fields)
        span = nf + (1 if htype.varbit_index is not None else 0)
        out.emit(ind, f"if F[{sbase} + {nf}]:")
        if htype.varbit_index is not None:
            out.emit(ind + 1, f"F[{dbase}:{dbase} + {nf}] = F[{sbase}:{sbase} + {nf}]")
            out.emit(ind + 1, f"F[{dbase} + {nf + 1}] = F[{sbase} + {nf + 1}]")
        else:
            out.emit(ind + 1, f"F[{dbase}:{dbase} + {span}] = F[{sbase}:{sbase} + {span}]")
        self.set_valid(out, ind + 1, dbase, htype, dinst, False, False)
        out.emit(ind, "else:")
        out.emit(ind + 1, f"F[{dbase} + {nf}] = 0")

    def stack_copy_elem(self, out: Emitter, ind: int, stack: Any, dst: int, src: int) -> None:
        d, s = stack.headers[dst], stack.headers[src]
        n = d.nfields + 1 + (1 if d.htype.varbit_index is not None else 0)
        out.emit(ind, f"F[{d.base}:{d.base + n}] = F[{s.base}:{s.base + n}]")

    # -- the primitives ----------------------------------------------------

    def primitive(self, out: Emitter, ind: int, p: dict[str, Any], in_action: bool) -> None:  # noqa: C901
        op = p.get("op")
        params = p.get("parameters", [])
        ex = self.ex

        def E(i: int) -> Expr:  # noqa: N802 - short local helper
            return ex.compile(params[i], in_action=in_action)

        if op in ("assign", "modify_field"):
            dst, width, signed, varbit = self.lvalue(params[0], in_action)
            if varbit:
                self._assign_vl(out, ind, params, in_action)
                return
            self.store(out, ind, dst, width, signed, E(1))
        elif op == "assign_VL":
            self._assign_vl(out, ind, params, in_action)
        elif op in ("assign_header", "copy_header"):
            dbase, htype, dinst = self.header_ref(params[0], in_action)
            sbase, _, _ = self.header_ref(params[1], in_action)
            self.copy_header(out, ind, dbase, dinst, sbase, htype)
        elif op == "assign_union":
            du = E(0).ref
            su = E(1).ref
            for dh, sh in zip(du.headers, su.headers):
                self.copy_header(out, ind, str(dh.base), None, str(sh.base), dh.htype)
        elif op == "assign_header_stack":
            ds, ss = self.prog.stacks[params[0]["value"]], self.prog.stacks[params[1]["value"]]
            for dh, sh in zip(ds.headers, ss.headers):
                n = dh.nfields + 1 + (1 if dh.htype.varbit_index is not None else 0)
                out.emit(ind, f"F[{dh.base}:{dh.base + n}] = F[{sh.base}:{sh.base + n}]")
            out.emit(ind, f"F[{ds.next_slot}] = F[{ss.next_slot}]")
        elif op == "assign_union_stack":
            ds = self.prog.union_stacks[params[0]["value"]]
            ss = self.prog.union_stacks[params[1]["value"]]
            for du, su in zip(ds.unions, ss.unions):
                for dh, sh in zip(du.headers, su.headers):
                    n = dh.nfields + 1
                    out.emit(ind, f"F[{dh.base}:{dh.base + n}] = F[{sh.base}:{sh.base + n}]")
            out.emit(ind, f"F[{ds.next_slot}] = F[{ss.next_slot}]")
        elif op in ("push", "pop"):
            self._push_pop(out, ind, op, params, in_action)
        elif op in ("add_header", "add_header_fast"):
            base, htype, inst = self.header_ref(params[0], in_action)
            self.set_valid(out, ind, base, htype, inst, op == "add_header", True)
        elif op == "remove_header":
            base, htype, _ = self.header_ref(params[0], in_action)
            nf = len(htype.fields)
            out.emit(ind, f"if F[{base} + {nf}]:")
            out.emit(ind + 1, f"F[{base} + {nf}] = 0")
            out.emit(ind + 1, f"P.plen -= {htype.fixed_bits // 8}")
        elif op in ("mark_to_drop", "drop"):
            hdr = params[0]["value"] if params else "standard_metadata"
            inst = self.prog.header(hdr)
            out.emit(ind, f"F[{inst.slot('egress_spec')}] = {self.drop_port}")
            try:
                out.emit(ind, f"F[{inst.slot('mcast_grp')}] = 0")
            except KeyError:
                if self.mcast_slot is not None:
                    out.emit(ind, f"F[{self.mcast_slot}] = 0")
        elif op == "exit":
            out.emit(ind, "P.exit = True")
        elif op in ("clone_ingress_pkt_to_egress", "clone_egress_pkt_to_egress"):
            sess, fl = E(0), E(1)
            out.emit(ind, f"P.clone_session = ({ex.as_int(sess)}) & 0xffff")
            out.emit(ind, f"P.clone_fl = {ex.as_int(fl)}")
        elif op in ("resubmit", "resubmit_preserving_field_list"):
            out.emit(ind, f"P.resubmit_fl = {ex.as_int(E(0))}")
        elif op in ("recirculate", "recirculate_preserving_field_list"):
            out.emit(ind, f"P.recirc_fl = {ex.as_int(E(0))}")
        elif op == "generate_digest":
            out.emit(ind, f"P.learn_id = {ex.as_int(E(1))}")
        elif op == "truncate":
            t = out.tmp()
            out.emit(ind, f"{t} = {ex.as_int(E(0))}")
            out.emit(ind, f"if {t} < P.trunc: P.trunc = {t}")
        elif op == "modify_field_with_hash_based_offset":
            dst, width, signed, _ = self.lvalue(params[0], in_action)
            base = ex.as_int(E(1))
            calc = self.objects.calc_fn(params[2]["value"])
            size = ex.as_int(E(3))
            t = out.tmp()
            out.emit(ind, f"{t} = {size}")
            src = Expr(f"(({base}) + ({calc}(F, P) % {t}) if {t} else ({base}))", INT)
            self.store(out, ind, dst, width, signed, src)
        elif op == "modify_field_rng_uniform":
            dst, width, signed, _ = self.lvalue(params[0], in_action)
            src = Expr(f"_randint({ex.as_int(E(1))}, {ex.as_int(E(2))})", INT)
            self.store(out, ind, dst, width, signed, src)
        elif op == "count":
            cname = params[0]["value"]
            cp, cb, size = self.objects.counter_lists(cname)
            t = out.tmp()
            out.emit(ind, f"{t} = {ex.as_int(E(1))}")
            out.emit(ind, f"if 0 <= {t} < {size}:")
            out.emit(ind + 1, f"{cp}[{t}] += 1")
            out.emit(ind + 1, f"{cb}[{t}] += P.ilen")
            out.emit(ind, "else:")
            out.emit(ind + 1, f"_log_error(P, 'counter {cname}: index %d out of bounds' % {t})")
        elif op == "execute_meter":
            mname = params[0]["value"]
            marr, size = self.objects.meter_ref(mname)
            dst, width, signed, _ = self.lvalue(params[2], in_action)
            t = out.tmp()
            out.emit(ind, f"{t} = {ex.as_int(E(1))}")
            out.emit(ind, f"if 0 <= {t} < {size}:")
            self.store(out, ind + 1, dst, width, signed, Expr(f"{marr}.execute({t}, P.ilen)", INT))
            out.emit(ind, "else:")
            out.emit(ind + 1, f"_log_error(P, 'meter {mname}: index %d out of bounds' % {t})")
        elif op == "register_read":
            dst, width, signed, _ = self.lvalue(params[0], in_action)
            rname = params[1]["value"]
            cells, size = self.objects.register_cells(rname)
            t = out.tmp()
            out.emit(ind, f"{t} = {ex.as_int(E(2))}")
            out.emit(ind, f"if 0 <= {t} < {size}:")
            self.store(out, ind + 1, dst, width, signed, Expr(f"{cells}[{t}]", INT))
            out.emit(ind, "else:")
            out.emit(ind + 1, f"_log_error(P, 'register {rname}: read index %d out of bounds' % {t})")
        elif op == "register_write":
            rname = params[0]["value"]
            cells, size = self.objects.register_cells(rname)
            bw = self.prog.register_arrays[rname]["bitwidth"]
            t = out.tmp()
            out.emit(ind, f"{t} = {ex.as_int(E(1))}")
            out.emit(ind, f"if 0 <= {t} < {size}:")
            out.emit(ind + 1, f"{cells}[{t}] = {self.wrap(E(2), bw, False)}")
            out.emit(ind, "else:")
            out.emit(ind + 1, f"_log_error(P, 'register {rname}: write index %d out of bounds' % {t})")
        elif op in ("assert", "assume"):
            cond = E(0)
            src = p.get("source_info", {}).get("source_fragment", op)
            out.emit(ind, f"if not {ex.as_bool(cond)}:")
            out.emit(ind + 1, f"raise PacketDrop({f'{op} failed: {src}'!r})")
        elif op == "log_msg":
            fmt = params[0]["value"]
            vec = params[1]["value"] if len(params) > 1 else []
            args = ", ".join(ex.as_int(ex.compile(v, in_action=in_action)) for v in vec)
            out.emit(ind, f"_log_msg(P, {fmt!r}, ({args}{',' if vec else ''}))")
        elif op in ("no_op", "_nop"):
            out.emit(ind, "pass")
        elif op in ("add_to_field", "subtract_from_field"):
            dst, width, signed, _ = self.lvalue(params[0], in_action)
            sign = "+" if op == "add_to_field" else "-"
            self.store(out, ind, dst, width, signed,
                       Expr(f"({dst.code} {sign} {ex.as_int(E(1))})", INT))
        elif op in ("add", "subtract", "bit_and", "bit_or", "bit_xor", "shift_left", "shift_right"):
            dst, width, signed, _ = self.lvalue(params[0], in_action)
            pyop = {"add": "+", "subtract": "-", "bit_and": "&", "bit_or": "|", "bit_xor": "^",
                    "shift_left": "<<", "shift_right": ">>"}[op]
            self.store(out, ind, dst, width, signed,
                       Expr(f"({ex.as_int(E(1))} {pyop} {ex.as_int(E(2))})", INT))
        else:
            raise ConfigError(f"BMv2 JSON: primitive '{op}' is not supported by pybm-switch")

    def _assign_vl(self, out: Emitter, ind: int, params: list[Any], in_action: bool) -> None:
        d, s = params[0], params[1]
        if d["type"] != "field" or s["type"] != "field":
            raise ConfigError("BMv2 JSON: assign_VL expects two varbit fields")
        dh, sh = self.prog.header(d["value"][0]), self.prog.header(s["value"][0])
        out.emit(ind, f"F[{dh.slot(d['value'][1])}] = F[{sh.slot(s['value'][1])}]")
        out.emit(ind, f"F[{dh.vlen_slot}] = F[{sh.vlen_slot}]")

    def _push_pop(self, out: Emitter, ind: int, op: str, params: list[Any], in_action: bool) -> None:
        e = self.ex.compile(params[0], in_action=in_action)
        count = self.ex.compile(params[1], in_action=in_action)
        if e.kind == STACK:
            stack = self.prog.stacks[params[0]["value"]]
            elems = stack.headers
        elif e.kind == USTACK:
            stack = e.ref
            elems = None
        else:
            raise ConfigError(f"BMv2 JSON: {op} expects a header stack")
        if count.const is None:
            raise ConfigError(f"BMv2 JSON: {op} count must be a constant")
        n = count.const
        size = len(stack.headers) if elems is not None else len(stack.unions)

        def copy(dst: int, src: int) -> None:
            if elems is not None:
                self.stack_copy_elem(out, ind, stack, dst, src)
            else:
                for dh, sh in zip(stack.unions[dst].headers, stack.unions[src].headers):
                    k = dh.nfields + 1
                    out.emit(ind, f"F[{dh.base}:{dh.base + k}] = F[{sh.base}:{sh.base + k}]")

        def invalidate(i: int) -> None:
            hs = [elems[i]] if elems is not None else stack.unions[i].headers
            for h in hs:
                out.emit(ind, f"F[{h.valid_slot}] = 0")

        if op == "push":
            for i in range(size - 1, n - 1, -1):
                copy(i, i - n)
            for i in range(min(n, size)):
                invalidate(i)
            out.emit(ind, f"F[{stack.next_slot}] = min({size}, F[{stack.next_slot}] + {n})")
        else:
            for i in range(0, size - n):
                copy(i, i + n)
            for i in range(max(size - n, 0), size):
                invalidate(i)
            out.emit(ind, f"F[{stack.next_slot}] = max(0, F[{stack.next_slot}] - {n})")


def emit_body(pc: PrimitiveCompiler, out: Emitter, ind: int, prims: list[dict[str, Any]],
              in_action: bool) -> None:
    """Straight-line code, or a small state machine when the body has jumps."""
    if not prims:
        out.emit(ind, "pass")
        return
    jumps = [p for p in prims if p.get("op") in ("_jump", "_jump_if_zero")]
    if not jumps:
        for p in prims:
            pc.primitive(out, ind, p, in_action)
        return
    n = len(prims)
    leaders = {0}
    for i, p in enumerate(prims):
        op = p.get("op")
        if op in ("_jump", "_jump_if_zero"):
            target = _jump_target(p)
            if not 0 <= target <= n:
                raise ConfigError(f"BMv2 JSON: jump target {target} out of range")
            leaders.add(target)
            leaders.add(i + 1)
    starts = sorted(x for x in leaders if x < n)
    out.emit(ind, "_pc = 0")
    out.emit(ind, "while True:")
    for bi, start in enumerate(starts):
        end = starts[bi + 1] if bi + 1 < len(starts) else n
        out.emit(ind + 1, f"{'if' if bi == 0 else 'elif'} _pc == {start}:")
        terminated = False
        for i in range(start, end):
            p = prims[i]
            op = p.get("op")
            if op == "_jump":
                out.emit(ind + 2, f"_pc = {_jump_target(p)}")
                out.emit(ind + 2, "continue")
                terminated = True
            elif op == "_jump_if_zero":
                cond = pc.ex.compile(p["parameters"][0], in_action=in_action)
                test = cond.code if cond.kind == BOOL else f"({cond.code}) != 0"
                out.emit(ind + 2, f"if not ({test}):")
                out.emit(ind + 3, f"_pc = {_jump_target(p)}")
                out.emit(ind + 3, "continue")
            else:
                pc.primitive(out, ind + 2, p, in_action)
        if not terminated:
            out.emit(ind + 2, f"_pc = {end}")
            out.emit(ind + 2, "continue")
    out.emit(ind + 1, "break")


def _jump_target(p: dict[str, Any]) -> int:
    params = p.get("parameters", [])
    tv = params[-1]
    if tv.get("type") != "hexstr":
        raise ConfigError("BMv2 JSON: jump offset must be a constant")
    return int(tv["value"], 16) if isinstance(tv["value"], str) else int(tv["value"])

