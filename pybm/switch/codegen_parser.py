"""Parsers, deparsers, calculations and checksums -> Python source.

Each parse state becomes ``def <state>(F, P)`` returning the next state
function (or ``None`` to accept). Extraction reads the header's bytes as one
big-endian integer and splits it with shifts and masks; deparsing is the
reverse. Parser errors raise ``ParserException(code)``.
"""

from __future__ import annotations

from typing import Any

from pybm.switch.codegen_expr import Expr, mask, parse_hexstr
from pybm.switch.codegen_primitives import Emitter, PrimitiveCompiler
from pybm.switch.errors import ConfigError
from pybm.switch.program import HeaderInstance, HeaderType, Program


def field_layout(htype: HeaderType) -> list[tuple[int, int, bool]]:
    """(index, width, signed) of the fixed fields, in order."""
    return [(i, f.width, f.signed) for i, f in enumerate(htype.fields) if not f.varbit]


def unpack_lines(out: Emitter, ind: int, htype: HeaderType, base: str, value: str,
                 total_bits: int) -> None:
    """Assign the fixed fields of ``htype`` from the integer ``value``."""
    shift = total_bits
    for i, f in enumerate(htype.fields):
        shift -= f.width
        slot = f"{base} + {i}" if not base.isdigit() else str(int(base) + i)
        if f.width == 0:
            out.emit(ind, f"F[{slot}] = 0")
            continue
        part = f"({value} >> {shift})" if shift else value
        if shift + f.width < total_bits:  # the top field needs no mask
            part = f"{part} & {mask(f.width)}"
        if f.signed:
            h = 1 << (f.width - 1)
            part = f"(({part}) ^ {h}) - {h}"
        out.emit(ind, f"F[{slot}] = {part}")


def pack_expr(htype: HeaderType, base: str) -> tuple[str, int]:
    """Expression packing a fixed-size header's fields -> (code, nbytes)."""
    parts = []
    shift = htype.fixed_bits
    for i, f in enumerate(htype.fields):
        shift -= f.width
        if f.width == 0:
            continue
        slot = f"{base} + {i}" if not base.isdigit() else str(int(base) + i)
        v = f"F[{slot}]"
        if f.signed:
            v = f"({v} & {mask(f.width)})"
        parts.append(f"{v} << {shift}" if shift else v)
    if htype.fixed_bits % 8:
        raise ConfigError(f"BMv2 JSON: header type '{htype.name}' is not a whole number of bytes")
    code = " | ".join(parts) if parts else "0"
    return f"({code}).to_bytes({htype.fixed_bits // 8}, 'big')", htype.fixed_bits // 8


class ParserCompiler:
    def __init__(self, prog: Program, pc: PrimitiveCompiler, errors: dict[str, int]):
        self.prog = prog
        self.pc = pc
        self.ex = pc.ex
        self.ns = pc.ns
        self.err = errors
        self.vsets: dict[str, str] = {}

    # -- extraction --------------------------------------------------------

    def _extract_fixed(self, out: Emitter, ind: int, base: str, htype: HeaderType,
                       inst: HeaderInstance | None) -> None:
        nbits = htype.fixed_bits
        if nbits % 8:
            raise ConfigError(f"BMv2 JSON: header type '{htype.name}' is not a whole number of bytes")
        nb = nbits // 8
        out.emit(ind, "_o = P.off")
        out.emit(ind, f"if _o + {nb} > len(P.data):")
        out.emit(ind + 1, f"raise ParserException({self.err['PacketTooShort']})")
        if nb:
            out.emit(ind, f"_v = int.from_bytes(P.data[_o:_o + {nb}], 'big')")
            unpack_lines(out, ind, htype, base, "_v", nbits)
        self.pc.set_valid(out, ind, base, htype, inst, False, False)
        out.emit(ind, f"P.off = _o + {nb}")

    def _extract_varbit(self, out: Emitter, ind: int, base: str, htype: HeaderType,
                        inst: HeaderInstance | None, length: Expr) -> None:
        vi = htype.varbit_index
        fixed = htype.fixed_bits
        max_bits = (htype.max_length or 0) * 8
        nf = len(htype.fields)
        after = sum(f.width for f in htype.fields[vi + 1:])
        out.emit(ind, f"_vl = {self.ex.as_int(length)}")
        out.emit(ind, "if _vl < 0 or _vl % 8:")
        out.emit(ind + 1, f"raise ParserException({self.err['ParserInvalidArgument']})")
        # BMv2's extract_VL checks the packet length before the header's max_length
        out.emit(ind, "_o = P.off")
        out.emit(ind, f"_nb = (_vl + {fixed}) // 8")
        out.emit(ind, "if _o + _nb > len(P.data):")
        out.emit(ind + 1, f"raise ParserException({self.err['PacketTooShort']})")
        out.emit(ind, f"if _vl + {fixed} > {max_bits}:")
        out.emit(ind + 1, f"raise ParserException({self.err['HeaderTooShort']})")
        out.emit(ind, "_v = int.from_bytes(P.data[_o:_o + _nb], 'big')")
        # fixed fields before and after the varbit one
        shift_expr = "_vl + {}"
        pos = 0
        for i, f in enumerate(htype.fields):
            slot = f"{base} + {i}"
            if f.varbit:
                out.emit(ind, f"F[{slot}] = (_v >> {after}) & ((1 << _vl) - 1)")
                continue
            if i < vi:
                pos += f.width
                sh = shift_expr.format(fixed - pos)
            else:
                pos += f.width
                sh = str(fixed - pos)
            val = f"(_v >> ({sh})) & {mask(f.width)}"
            if f.signed:
                h = 1 << (f.width - 1)
                val = f"(({val}) ^ {h}) - {h}"
            out.emit(ind, f"F[{slot}] = {val}")
        out.emit(ind, f"F[{base} + {nf + 1}] = _vl")
        self.pc.set_valid(out, ind, base, htype, inst, False, False)
        out.emit(ind, "P.off = _o + _nb")

    def _extract_target(self, out: Emitter, ind: int, tv: dict[str, Any]) -> tuple[str, HeaderType,
                                                                                   HeaderInstance | None]:
        t, v = tv["type"], tv["value"]
        if t == "regular":
            inst = self.prog.header(v)
            return str(inst.base), inst.htype, inst
        if t == "stack":
            st = self.prog.stacks.get(v)
            if st is None:
                raise ConfigError(f"BMv2 JSON: unknown header stack '{v}'")
            out.emit(ind, f"_i = F[{st.next_slot}]")
            out.emit(ind, f"if _i >= {len(st.headers)}:")
            out.emit(ind + 1, f"raise ParserException({self.err['StackOutOfBounds']})")
            out.emit(ind, f"F[{st.next_slot}] = _i + 1")
            out.emit(ind, f"_b = {self.ex.stack_bases[st.name]}[_i]")
            return "_b", st.htype, None
        if t == "union_stack":
            us = self.prog.union_stacks[v[0]]
            mi = us.unions[0].member_names.index(v[1])
            out.emit(ind, f"_i = F[{us.next_slot}]")
            out.emit(ind, f"if _i >= {len(us.unions)}:")
            out.emit(ind + 1, f"raise ParserException({self.err['StackOutOfBounds']})")
            out.emit(ind, f"F[{us.next_slot}] = _i + 1")
            out.emit(ind, f"_u = {self.ex.union_tables[us.name]}[_i]")
            out.emit(ind, f"_b = _u[{mi}]")
            # the other members of this union become invalid
            for j, h in enumerate(us.unions[0].headers):
                if j != mi:
                    out.emit(ind, f"F[_u[{j}] + {h.nfields}] = 0")
            return "_b", us.unions[0].headers[mi].htype, None
        raise ConfigError(f"BMv2 JSON: bad extract target type '{t}'")

    # -- states ------------------------------------------------------------

    def compile_parser(self, parser: dict[str, Any], prefix: str) -> tuple[str, str]:
        """-> (source, name of the start state function)."""
        out = Emitter()
        names = {s["name"]: f"{prefix}_s{s['id']}" for s in parser["parse_states"]}
        for st in parser["parse_states"]:
            fname = names[st["name"]]
            out.emit(0, f"def {fname}(F, P):  # state {st['name']}")
            for op in st.get("parser_ops", []):
                self._parser_op(out, 1, op)
            self._transition(out, 1, st, names)
            out.emit(0, "")
        init = parser.get("init_state")
        if init not in names:
            raise ConfigError(f"BMv2 JSON: parser '{parser.get('name')}' has no state '{init}'")
        return "\n".join(out.lines), names[init]

    def _parser_op(self, out: Emitter, ind: int, op: dict[str, Any]) -> None:
        kind = op.get("op")
        params = op.get("parameters", [])
        if kind == "extract":
            base, htype, inst = self._extract_target(out, ind, params[0])
            if htype.varbit_index is not None:
                raise ConfigError(f"BMv2 JSON: plain extract of varbit header type '{htype.name}'")
            self._extract_fixed(out, ind, base, htype, inst)
        elif kind == "extract_VL":
            base, htype, inst = self._extract_target(out, ind, params[0])
            length = self.ex.compile(params[1])
            self._extract_varbit(out, ind, base, htype, inst, length)
        elif kind == "set":
            self.pc.primitive(out, ind, {"op": "assign", "parameters": params}, False)
        elif kind == "verify":
            cond = self.ex.compile(params[0])
            err = self.ex.compile(params[1])
            out.emit(ind, f"if not {self.ex.as_bool(cond)}:")
            out.emit(ind + 1, f"raise ParserException({self.ex.as_int(err)})")
        elif kind in ("advance", "shift"):
            n = self.ex.compile(params[0])
            bits = self.ex.as_int(n) if kind == "advance" else f"({self.ex.as_int(n)}) * 8"
            out.emit(ind, f"_n = {bits}")
            out.emit(ind, "if _n < 0 or _n % 8:")
            out.emit(ind + 1, f"raise ParserException({self.err['ParserInvalidArgument']})")
            out.emit(ind, "if P.off + _n // 8 > len(P.data):")
            out.emit(ind + 1, f"raise ParserException({self.err['PacketTooShort']})")
            out.emit(ind, "P.off += _n // 8")
        elif kind == "primitive":
            self.pc.primitive(out, ind, params[0], False)
        else:
            raise ConfigError(f"BMv2 JSON: parser operation '{kind}' is not supported")

    def _key_code(self, keys: list[dict[str, Any]]) -> tuple[str, int]:
        """Concatenate byte-padded key elements -> (code, total bits)."""
        parts = []
        widths = []
        for k in keys:
            if k["type"] == "lookahead":
                w = int(k["value"][1])
            elif k["type"] == "field":
                spec = self.prog.field_spec(*k["value"])
                w = spec.width
            elif k["type"] == "stack_field":
                st = self.prog.stacks[k["value"][0]]
                w = st.htype.fields[st.htype.field_index(k["value"][1])].width
            elif k["type"] == "union_stack_field":
                us = self.prog.union_stacks[k["value"][0]]
                mi = us.unions[0].member_names.index(k["value"][1])
                ht = us.unions[0].headers[mi].htype
                w = ht.fields[ht.field_index(k["value"][2])].width
            else:
                e = self.ex.compile(k)
                if e.width is None:
                    raise ConfigError(f"BMv2 JSON: transition key of unknown width {k!r}")
                w = e.width
            e = self.ex.compile(k)
            code = self.ex.as_int(e)
            if e.signed:
                code = f"({code} & {mask(w)})"
            parts.append(code)
            widths.append((w + 7) // 8 * 8)
        total = sum(widths)
        shift = total
        terms = []
        for code, w in zip(parts, widths):
            shift -= w
            terms.append(f"({code} << {shift})" if shift else code)
        return " | ".join(terms), total

    def _transition(self, out: Emitter, ind: int, st: dict[str, Any], names: dict[str, str]) -> None:
        keys = st.get("transition_key", [])
        trans = st.get("transitions", [])

        def target(t: dict[str, Any]) -> str:
            ns = t.get("next_state")
            if ns is None:
                return "None"
            if ns not in names:
                raise ConfigError(f"BMv2 JSON: transition to unknown state '{ns}'")
            return names[ns]

        if not keys:
            # no key: BMv2 has no switch for the state and takes its default transition
            trans = [t for t in trans if t["type"] == "default"]
        elif any(t["type"] != "default" for t in trans):
            code, key_bits = self._key_code(keys)
            out.emit(ind, f"_k = {code}")
        for t in trans:
            ty = t["type"]
            if ty == "default":
                out.emit(ind, f"return {target(t)}")
                return
            m = t.get("mask")
            if ty == "hexstr":
                val = parse_hexstr(t["value"])
                if m is None:
                    out.emit(ind, f"if _k == {val}:")
                else:
                    mv = parse_hexstr(m)
                    out.emit(ind, f"if _k & {mv} == {val & mv}:")
            elif ty == "parse_vset":
                vs = self._vset(t["value"])
                self.pc.objects.parse_vset(t["value"]).key_bits = key_bits
                if m is None:
                    out.emit(ind, f"if {vs}.contains(_k, None):")
                else:
                    out.emit(ind, f"if {vs}.contains(_k, {parse_hexstr(m)}):")
            else:
                raise ConfigError(f"BMv2 JSON: unsupported transition type '{ty}'")
            out.emit(ind + 1, f"return {target(t)}")
        # No case matched and the JSON has no default transition: BMv2's
        # ParseState::find_next_state returns its default next state, which is
        # null (accept). p4c lowers a P4 select without default to an explicit
        # noMatch state (verify(false, error.NoMatch)) when it wants the error.
        out.emit(ind, "return None")

    def _vset(self, name: str) -> str:
        if name not in self.vsets:
            vs = self.pc.objects.parse_vset(name)
            self.vsets[name] = self.ns.add(f"VS_{name}", vs)
        return self.vsets[name]

    # -- deparser ----------------------------------------------------------

    def header_bytes_expr(self, inst: HeaderInstance) -> str:
        ht = inst.htype
        if ht.varbit_index is None:
            code, _ = pack_expr(ht, str(inst.base))
            return code
        return f"_pack_varbit(F, {inst.base}, {self.ns.add('HT_' + ht.name, _varbit_layout(ht))})"

    def compile_deparser(self, dep: dict[str, Any], fname: str) -> str:
        out = Emitter()
        out.emit(0, f"def {fname}(F, P):")
        for p in dep.get("primitives", []):
            self.pc.primitive(out, 1, p, False)
        out.emit(1, "_parts = []")
        for hname in dep.get("order", []):
            inst = self.prog.header(hname)
            out.emit(1, f"if F[{inst.valid_slot}]:")
            out.emit(2, f"_parts.append({self.header_bytes_expr(inst)})")
        out.emit(1, "_parts.append(P.data[P.off:])")
        out.emit(1, "return b''.join(_parts)")
        return "\n".join(out.lines)


def _varbit_layout(ht: HeaderType) -> tuple:
    """(fields: ((index, width, signed, varbit), ...), fixed bits) for _pack_varbit."""
    return tuple((i, f.width, f.signed, f.varbit) for i, f in enumerate(ht.fields)), ht.fixed_bits


def pack_varbit(F: list[int], base: int, layout: tuple) -> bytes:
    fields, fixed = layout
    nf = len(fields)
    vlen = F[base + nf + 1]
    v = 0
    for i, w, _signed, varbit in fields:
        if varbit:
            v = (v << vlen) | (F[base + i] & ((1 << vlen) - 1))
        else:
            v = (v << w) | (F[base + i] & ((1 << w) - 1))
    return v.to_bytes((fixed + vlen) // 8, "big")
