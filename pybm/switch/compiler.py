"""Turns a loaded BMv2 program into executable Python (done once per config).

The result, :class:`CompiledProgram`, holds the generated entry points
(``parse``, ``verify_checksums``, ``ingress``, ``egress``, ``deparse``) and
the runtime objects the control plane manipulates (tables, registers,
counters, meters, value sets, hash calculations). Generated code refers to
those objects directly, so control-plane updates take effect without
recompiling.
"""

from __future__ import annotations

import random
from typing import Any

from pybm.switch import hashes
from pybm.switch.codegen_expr import ExprCompiler, Namespace, mask, parse_hexstr
from pybm.switch.codegen_parser import ParserCompiler, pack_varbit
from pybm.switch.codegen_primitives import Emitter, PrimitiveCompiler, emit_body
from pybm.switch.errors import ConfigError, PacketDrop, ParserException
from pybm.switch.externs import CounterArray, MeterArray, RegisterArray, now_us
from pybm.switch.program import Program
from pybm.switch.tables import ActionSpec, KeySpec, MatchTable

CORE_ERRORS = {"NoError": 0, "PacketTooShort": 1, "NoMatch": 2, "StackOutOfBounds": 3,
               "HeaderTooShort": 4, "ParserTimeout": 5, "ParserInvalidArgument": 6}


class ParseValueSet:
    """Members are in the layout of the select key that uses the set: each key field
    padded to whole bytes, as JSON transition values are (``key_bits`` wide)."""

    def __init__(self, name: str, bitwidth: int, max_size: int):
        self.name = name
        self.bitwidth = bitwidth  # compressed_bitwidth: the fields' widths without padding
        self.key_bits: int | None = None  # padded key width, known once a transition uses it
        self.max_size = max_size
        self.values: set[int] = set()
        self.masked: list[tuple[int, int]] = []  # (value, mask) members

    def contains(self, key: int, tmask: int | None) -> bool:
        if tmask is None:
            if key in self.values:
                return True
            return any(key & m == v & m for v, m in self.masked)
        k = key & tmask
        if any(v & tmask == k for v in self.values):
            return True
        return any(key & m & tmask == v & m & tmask for v, m in self.masked)


class CompiledProgram:
    """Executable form of one BMv2 JSON program."""

    def __init__(self) -> None:
        self.prog: Program
        self.ns: Namespace
        self.source = ""
        self.tables: dict[str, MatchTable] = {}
        self.registers: dict[str, RegisterArray] = {}
        self.counters: dict[str, CounterArray] = {}
        self.meters: dict[str, MeterArray] = {}
        self.vsets: dict[str, ParseValueSet] = {}
        self.calcs: dict[str, Any] = {}  # name -> hash function object
        self.field_lists: dict[int, Any] = {}  # id -> copy(dst, src) function
        self.learn_lists: dict[int, tuple[str, Any]] = {}  # id -> (name, F -> tuple)
        self.parse: Any = None
        self.verify_checksums: Any = None
        self.update_checksums: Any = None
        self.ingress: Any = None
        self.egress: Any = None
        self.deparse: Any = None
        self.std: dict[str, int] = {}  # standard metadata field -> slot
        self.std_width: dict[str, int] = {}
        self.template: list[int] = []

    # Names used by the primitive compiler --------------------------------
    def register_cells(self, name: str) -> tuple[str, int]:
        r = self.registers.get(name)
        if r is None:
            raise ConfigError(f"BMv2 JSON: unknown register array '{name}'")
        return self.ns.add(f"R_{name}", r.cells), r.size

    def counter_lists(self, name: str) -> tuple[str, str, int]:
        c = self.counters.get(name)
        if c is None:
            raise ConfigError(f"BMv2 JSON: unknown counter array '{name}'")
        return self.ns.add(f"CP_{name}", c.packets), self.ns.add(f"CB_{name}", c.bytes), c.size

    def meter_ref(self, name: str) -> tuple[str, int]:
        m = self.meters.get(name)
        if m is None:
            raise ConfigError(f"BMv2 JSON: unknown meter array '{name}'")
        return self.ns.add(f"M_{name}", m), m.size

    def calc_fn(self, name: str) -> str:
        if name not in self.calcs:
            raise ConfigError(f"BMv2 JSON: unknown calculation '{name}'")
        return f"calc_{_ident(name)}"

    def parse_vset(self, name: str) -> ParseValueSet:
        vs = self.vsets.get(name)
        if vs is None:
            raise ConfigError(f"BMv2 JSON: unknown parse value set '{name}'")
        return vs


def _ident(s: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in s)


def _log_error(P: Any, msg: str) -> None:  # noqa: N803 - generated-code calling convention
    LOG_HOOK[0](P, "error", msg)


def _trace(P: Any, msg: str) -> None:  # noqa: N803
    LOG_HOOK[0](P, "debug", msg)


def _log_msg(P: Any, fmt: str, args: tuple) -> None:  # noqa: N803
    msg = fmt
    for a in args:
        msg = msg.replace("{}", str(a), 1)
    LOG_HOOK[0](P, "info", msg)


LOG_HOOK: list[Any] = [lambda P, level, msg: None]


def _stack_at(bases: tuple, idx: int) -> Any:
    if 0 <= idx < len(bases):
        return bases[idx]
    raise PacketDrop(f"header stack index {idx} out of bounds")


def _stack_last(bases: tuple, nxt: int) -> Any:
    if 1 <= nxt <= len(bases):
        return bases[nxt - 1]
    raise PacketDrop("header stack has no valid element (last)")


def _shl(a: int, b: int) -> int:
    # A huge runtime shift count would allocate a huge integer; anything shifted
    # by more than 4096 bits is masked to zero by the assignment anyway.
    if b < 0:  # only a signed shift count can be negative; p4c never emits one
        raise PacketDrop(f"negative shift count {b}")
    return a << b if b < 4096 else (0 if a == 0 else a << 4096)


def _shr(a: int, b: int) -> int:
    if b < 0:
        raise PacketDrop(f"negative shift count {b}")
    return a >> b


def _div(a: int, b: int, op: str) -> int:
    if b == 0:
        raise PacketDrop("division by zero")
    return a // b if op == "/" else a % b


def _two_comp(v: int, w: int) -> int:
    h = 1 << (w - 1)
    return ((v + h) & ((1 << w) - 1)) - h


def _sat_cast(v: int, w: int) -> int:
    lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
    return lo if v < lo else hi if v > hi else v


def _usat_cast(v: int, w: int) -> int:
    hi = (1 << w) - 1
    return 0 if v < 0 else hi if v > hi else v


def _lookahead(P: Any, off: int, width: int) -> int:  # noqa: N803
    start = P.off * 8 + off
    end = start + width
    if end > len(P.data) * 8:
        raise ParserException(CORE_ERRORS["PacketTooShort"])
    b0, b1 = start // 8, (end + 7) // 8
    v = int.from_bytes(P.data[b0:b1], "big")
    return (v >> (b1 * 8 - end)) & ((1 << width) - 1)


def _randint(lo: int, hi: int) -> int:
    return random.randint(lo, hi) if lo <= hi else lo


RUNTIME_HELPERS = {
    "ParserException": ParserException, "PacketDrop": PacketDrop, "_stack_at": _stack_at,
    "_stack_last": _stack_last, "_shl": _shl, "_shr": _shr, "_div": _div, "_two_comp": _two_comp,
    "_sat_cast": _sat_cast, "_usat_cast": _usat_cast, "_lookahead": _lookahead,
    "_randint": _randint, "_log_error": _log_error, "_log_msg": _log_msg, "_trace": _trace,
    "_pack_varbit": pack_varbit, "_now": now_us,
}


class ProgramCompiler:
    def __init__(self, prog: Program, *, drop_port: int = 511, trace: bool = False):
        self.prog = prog
        self.drop_port = drop_port
        self.trace = trace
        self.cp = CompiledProgram()
        self.cp.prog = prog
        self.ns = Namespace()
        self.cp.ns = self.ns
        self.ns.globals.update(RUNTIME_HELPERS)
        self.ex = ExprCompiler(prog, self.ns)
        self.errors = dict(CORE_ERRORS)
        self.errors.update(prog.errors)
        self.src: list[str] = []
        self._create_objects()
        self.pc = PrimitiveCompiler(prog, self.ex, self.cp, drop_port)
        self.parsers = ParserCompiler(prog, self.pc, self.errors)

    # -- runtime objects -----------------------------------------------------

    def _create_objects(self) -> None:
        cp, prog = self.cp, self.prog
        for r in prog.register_arrays.values():
            cp.registers[r["name"]] = RegisterArray(r["name"], int(r["size"]), int(r["bitwidth"]))
        for c in prog.counter_arrays.values():
            cp.counters[c["name"]] = CounterArray(
                c["name"], int(c.get("size", 0)), bool(c.get("is_direct")), c.get("binding"))
        for m in prog.meter_arrays.values():
            rt = m.get("result_target")
            cp.meters[m["name"]] = MeterArray(
                m["name"], int(m.get("size", 0)), m.get("type") == "bytes", int(m.get("rate_count", 2)),
                bool(m.get("is_direct")), m.get("binding"), tuple(rt) if rt else None)
        for v in prog.parse_vsets.values():
            cp.vsets[v["name"]] = ParseValueSet(
                v["name"], int(v.get("compressed_bitwidth", 0)), int(v.get("max_size", 0) or 0))
        for name, c in prog.calculations.items():
            cp.calcs[name] = hashes.make_hash(c.get("algo", ""))

    # -- compile everything ----------------------------------------------------

    def compile(self) -> CompiledProgram:
        prog, cp = self.prog, self.cp
        for name, c in prog.calculations.items():
            self._calculation(name, c)
        self._checksums()
        for a in prog.actions.values():
            self._action(a)
        parsers = {p["name"]: p for p in prog.parsers}
        parser = parsers.get("parser") or (prog.parsers[0] if prog.parsers else None)
        if parser is None:
            raise ConfigError("BMv2 JSON: no parser")
        src, start = self.parsers.compile_parser(parser, "ps")
        self.src.append(src)
        self.src.append(f"PARSE_START = {start}")
        deparsers = {d["name"]: d for d in prog.deparsers}
        dep = deparsers.get("deparser") or (prog.deparsers[0] if prog.deparsers else None)
        if dep is None:
            raise ConfigError("BMv2 JSON: no deparser")
        self.src.append(self.parsers.compile_deparser(dep, "deparse"))
        for pname in ("ingress", "egress"):
            pipe = prog.pipelines.get(pname)
            if pipe is None:
                raise ConfigError(f"BMv2 JSON: no '{pname}' pipeline")
            self._pipeline(pipe)
        self._field_lists()
        self._learn_lists()
        cp.source = "\n".join(self.src) + "\n"
        try:
            code = compile(cp.source, "<pybm generated>", "exec")
        except SyntaxError as e:  # a bug in the generator, not in the user's JSON
            raise ConfigError(f"pybm internal error: generated code does not compile: {e}") from e
        exec(code, self.ns.globals)  # noqa: S102 - our own generated code
        g = self.ns.globals
        cp.parse = g["PARSE_START"]
        cp.deparse = g["deparse"]
        cp.verify_checksums = g["verify_checksums"]
        cp.update_checksums = g["update_checksums"]
        cp.ingress = g["pipe_ingress"]
        cp.egress = g["pipe_egress"]
        self._wire_tables()
        self._std_slots()
        cp.template = list(prog.template)
        return cp

    # -- pieces ----------------------------------------------------------------

    def _calculation(self, name: str, c: dict[str, Any]) -> None:
        out = Emitter()
        fn = f"calc_{_ident(name)}"
        hname = self.ns.add(f"H_{name}", self.cp.calcs[name])
        out.emit(0, f"def {fn}(F, P):  # {c.get('algo')}")
        out.emit(1, "_v = 0")
        out.emit(1, "_n = 0")
        out.emit(1, "_tail = []")
        inputs = c.get("input", [])
        for inp in inputs:
            t, v = inp.get("type"), inp.get("value")
            if t == "field":
                inst = self.prog.header(v[0])
                spec = self.prog.field_spec(v[0], v[1])
                slot = self.prog.field_slot(v[0], v[1])
                ind = 1
                if not inst.metadata:
                    out.emit(1, f"if F[{inst.valid_slot}]:")
                    ind = 2
                if spec.varbit:
                    out.emit(ind, f"_v = (_v << F[{inst.vlen_slot}]) | F[{slot}]")
                    out.emit(ind, f"_n += F[{inst.vlen_slot}]")
                else:
                    out.emit(ind, f"_v = (_v << {spec.width}) | (F[{slot}] & {mask(spec.width)})")
                    out.emit(ind, f"_n += {spec.width}")
            elif t == "hexstr":
                w = int(inp.get("bitwidth", 0))
                out.emit(1, f"_v = (_v << {w}) | {parse_hexstr(v) & mask(w)}")
                out.emit(1, f"_n += {w}")
            elif t == "header":
                inst = self.prog.header(v)
                out.emit(1, f"if F[{inst.valid_slot}]:")
                out.emit(2, f"_b = {self.parsers.header_bytes_expr(inst)}")
                out.emit(2, "_v = (_v << (8 * len(_b))) | int.from_bytes(_b, 'big')")
                out.emit(2, "_n += 8 * len(_b)")
            elif t == "payload":
                # simple_switch's BufBuilder appends Packet::data(): the bytes the parser
                # left behind. Headers parsed after the last input field are not part of
                # it (JSON_format.md says they are; the implementation never adds them).
                out.emit(1, "_tail.append(P.data[P.off:])")
            else:
                raise ConfigError(f"BMv2 JSON: calculation '{name}': unsupported input type '{t}'")
        out.emit(1, "_pad = (-_n) % 8")
        out.emit(1, "_buf = (_v << _pad).to_bytes((_n + _pad) // 8, 'big')")
        out.emit(1, "if _tail:")
        out.emit(2, "_buf += b''.join(_tail)")
        out.emit(1, f"return {hname}(_buf)")
        self.src.append("\n".join(out.lines))

    def _checksums(self) -> None:
        out = Emitter()
        verify = Emitter()
        verify.emit(0, "def verify_checksums(F, P):")
        verify.emit(1, "_ok = True")
        out.emit(0, "def update_checksums(F, P):")
        out.emit(1, "pass")
        for ck in self.prog.checksums:
            calc = ck.get("calculation")
            if calc not in self.prog.calculations:
                raise ConfigError(f"BMv2 JSON: checksum '{ck.get('name')}' uses unknown calculation '{calc}'")
            fn = f"calc_{_ident(calc)}"
            tgt = ck["target"]
            slot = self.prog.field_slot(tgt[0], tgt[1])
            width = self.prog.field_spec(tgt[0], tgt[1]).width
            cond = ck.get("if_cond")
            cond_code = self.ex.as_bool(self.ex.compile(cond)) if cond else "True"
            if ck.get("verify", True):
                # BMv2's Checksum::verify skips a checksum whose target header is invalid
                valid = self.prog.header(tgt[0]).valid_slot
                verify.emit(1, f"if F[{valid}] and {cond_code} and "
                               f"({fn}(F, P) & {mask(width)}) != F[{slot}]:")
                verify.emit(2, "_ok = False")
            if ck.get("update", True):
                out.emit(1, f"if {cond_code}:")
                out.emit(2, f"F[{slot}] = {fn}(F, P) & {mask(width)}")
        verify.emit(1, "return _ok")
        self.src.append("\n".join(verify.lines))
        self.src.append("\n".join(out.lines))

    def _action(self, a: dict[str, Any]) -> None:
        out = Emitter()
        out.emit(0, f"def act_{a['id']}(F, P, A):  # {a['name']}")
        if self.trace:
            out.emit(1, f"_trace(P, 'Action ' + {a['name']!r})")
        self.ex.action_params = len(a.get("runtime_data", []))
        try:
            emit_body(self.pc, out, 1, a.get("primitives", []), True)
        finally:
            self.ex.action_params = None
        self.src.append("\n".join(out.lines))

    def _pipeline(self, pipe: dict[str, Any]) -> None:
        pname = pipe["name"]
        nodes: dict[str, str] = {}
        for t in pipe.get("tables", []):
            nodes[t["name"]] = f"tbl_{t['id']}"
        for c in pipe.get("conditionals", []):
            nodes[c["name"]] = f"cond_{c['id']}"
        for ac in pipe.get("action_calls", []):
            nodes[ac["name"]] = f"acall_{ac['id']}"

        def ref(name: str | None) -> str:
            if name is None:
                return "None"
            if name not in nodes:
                raise ConfigError(f"BMv2 JSON: pipeline '{pname}' refers to unknown node '{name}'")
            return nodes[name]

        for t in pipe.get("tables", []):
            self._table(t, ref)
        for c in pipe.get("conditionals", []):
            out = Emitter()
            e = self.ex.compile(c["expression"]) if "expression" in c else None
            if e is None:
                raise ConfigError(f"BMv2 JSON: conditional '{c.get('name')}' has no expression")
            out.emit(0, f"def cond_{c['id']}(F, P):  # {c['name']}")
            if self.trace:
                out.emit(1, f"_r = {self.ex.as_bool(e)}")
                out.emit(1, f"_trace(P, 'Condition {c['name']} is ' + str(bool(_r)))")
                out.emit(1, f"return {ref(c.get('true_next'))} if _r else {ref(c.get('false_next'))}")
            else:
                out.emit(1, f"return {ref(c.get('true_next'))} if {self.ex.as_bool(e)} "
                            f"else {ref(c.get('false_next'))}")
            self.src.append("\n".join(out.lines))
        for ac in pipe.get("action_calls", []):
            out = Emitter()
            out.emit(0, f"def acall_{ac['id']}(F, P):")
            out.emit(1, f"act_{ac['action_id']}(F, P, ())")
            out.emit(1, f"return {ref(ac.get('next_node'))}")
            self.src.append("\n".join(out.lines))
        out = Emitter()
        out.emit(0, f"def pipe_{_ident(pname)}(F, P):")
        out.emit(1, f"_n = {ref(pipe.get('init_table'))}")
        out.emit(1, "while _n is not None and not P.exit:")
        out.emit(2, "_n = _n(F, P)")
        self.src.append("\n".join(out.lines))
        self._pending_tables = getattr(self, "_pending_tables", []) + [
            (t, {k: ref(v) for k, v in t.get("next_tables", {}).items()}, ref(t.get("base_default_next")))
            for t in pipe.get("tables", [])]

    def _table(self, t: dict[str, Any], ref: Any) -> None:
        keys: list[KeySpec] = []
        key_codes: list[str] = []
        for k in t.get("key", []):
            mt = k["match_type"]
            target = k["target"]
            if mt == "valid":
                inst = self.prog.header(target if isinstance(target, str) else target[0])
                keys.append(KeySpec(k.get("name", inst.name), "valid", 1))
                key_codes.append(f"F[{inst.valid_slot}]")
                continue
            hdr, fld = target
            spec = self.prog.field_spec(hdr, fld)
            slot = self.prog.field_slot(hdr, fld)
            width = 1 if fld == "$valid$" else spec.width
            code = f"F[{slot}]"
            if spec.signed:
                code = f"({code} & {mask(width)})"
            kmask = parse_hexstr(k["mask"]) if k.get("mask") else None
            if kmask is not None:
                code = f"({code} & {kmask})"
            if mt not in ("exact", "lpm", "ternary", "range", "optional"):
                raise ConfigError(f"BMv2 JSON: table '{t['name']}': match type '{mt}' not supported")
            keys.append(KeySpec(k.get("name", f"{hdr}.{fld}"), mt, width, kmask))
            key_codes.append(code)
        actions: dict[int, ActionSpec] = {}
        for aid in t.get("action_ids", []):
            a = self.prog.actions.get(aid)
            if a is None:
                raise ConfigError(f"BMv2 JSON: table '{t['name']}' refers to unknown action id {aid}")
            params = [(p["name"], int(p["bitwidth"])) for p in a.get("runtime_data", [])]
            actions[aid] = ActionSpec(aid, a["name"], params, None)  # fn wired after exec
        if t.get("type", "simple") != "simple":
            raise ConfigError(f"BMv2 JSON: table '{t['name']}': type '{t.get('type')}' not supported")
        table = MatchTable(t["name"], t["id"], t.get("match_type", "exact"), keys, actions,
                           int(t.get("max_size", 1024)), with_counters=bool(t.get("with_counters")),
                           support_timeout=bool(t.get("support_timeout")))
        self.cp.tables[table.name] = table
        tname = self.ns.add(f"T_{t['name']}", table)
        key_tuple = "(" + "".join(c + ", " for c in key_codes) + ")"
        lookup = f"{tname}.exact.get" if table.is_exact else f"{tname}.lookup"
        meter = None
        if t.get("direct_meters"):
            meter = self.cp.meters.get(t["direct_meters"])
            if meter is None:
                raise ConfigError(f"BMv2 JSON: table '{t['name']}': unknown direct meter")
        out = Emitter()
        out.emit(0, f"def tbl_{t['id']}(F, P):  # {t['name']}")
        de = t.get("default_entry") or {}
        if (not keys and de.get("action_const") and de.get("action_entry_const")
                and not table.with_counters and meter is None and not t.get("entries")):
            # p4c's synthesized tables for plain action calls: nothing can ever
            # change what they do, so call the action directly.
            data = tuple(parse_hexstr(x) for x in de.get("action_data", []))
            a = self.prog.actions.get(de["action_id"])
            nxt = t.get("next_tables", {}).get(a["name"] if a else "", t.get("base_default_next"))
            if self.trace:
                out.emit(1, f"_trace(P, 'Table {t['name']}: miss (const default)')")
            out.emit(1, f"act_{de['action_id']}(F, P, {data!r})")
            out.emit(1, f"return {ref(nxt)}")
            self.src.append("\n".join(out.lines))
            return
        out.emit(1, f"_e = {lookup}({key_tuple})")
        out.emit(1, "if _e is None:")
        out.emit(2, f"_e = {tname}.default")
        out.emit(2, "if _e is None:")
        if self.trace:
            out.emit(3, f"_trace(P, 'Table {t['name']}: miss, no default action')")
        out.emit(3, f"return {tname}.next_miss if {tname}.hit_miss_mode else {tname}.base_default_next")
        if self.trace:
            out.emit(2, f"_trace(P, 'Table {t['name']}: miss')")
        hit_lines = len(out.lines)
        out.emit(1, "else:")
        if self.trace:
            out.emit(2, f"_trace(P, 'Table {t['name']}: hit, handle ' + str(_e.handle))")
        if table.with_counters:
            out.emit(2, "_e.packets += 1")
            out.emit(2, "_e.bytes += P.ilen")
        if meter is not None and meter.result_target:
            slot = self.prog.field_slot(*meter.result_target)
            width = self.prog.field_spec(*meter.result_target).width
            out.emit(2, "if _e.meter is not None:")
            out.emit(3, f"F[{slot}] = _e.meter.execute(P.ilen, _now()) & {mask(width)}")
        if len(out.lines) == hit_lines + 1:
            out.lines.pop()  # nothing to do on a hit
        out.emit(1, "_e.fn(F, P, _e.data)")
        out.emit(1, "return _e.next")
        self.src.append("\n".join(out.lines))
        if meter is not None:
            from pybm.switch.externs import Meter
            table.direct_meter = lambda m=meter: Meter(m.by_bytes)

    def _wire_tables(self) -> None:
        g = self.ns.globals
        for t, next_tables, base_next in getattr(self, "_pending_tables", []):
            table = self.cp.tables[t["name"]]
            for a in table.actions.values():
                a.fn = g[f"act_{a.id}"]
            def resolve(n: str) -> Any:
                return None if n == "None" else g[n]
            if "__HIT__" in next_tables or "__MISS__" in next_tables:
                table.hit_miss_mode = True
                table.next_hit = resolve(next_tables.get("__HIT__", base_next))
                table.next_miss = resolve(next_tables.get("__MISS__", base_next))
            for aname, n in next_tables.items():
                a = table.actions_by_name.get(aname)
                if a is not None:
                    table.next_by_action[a.id] = resolve(n)
            table.base_default_next = resolve(base_next)
            de = t.get("default_entry")
            if de:
                aid = de["action_id"]
                data = [parse_hexstr(x) for x in de.get("action_data", [])]
                a = self.prog.actions.get(aid)
                if aid not in table.actions and a is not None:
                    params = [(p["name"], int(p["bitwidth"])) for p in a.get("runtime_data", [])]
                    table.actions[aid] = ActionSpec(aid, a["name"], params, g[f"act_{aid}"])
                    table.actions_by_name[a["name"]] = table.actions[aid]
                table.set_default(aid, data, force=True)
                table.initial_default = (table.actions[aid], tuple(data))
                table.default_const = bool(de.get("action_const"))
                table.default_entry_const = bool(de.get("action_entry_const")) and "action_data" in de
            entries = t.get("entries")
            if entries:
                for ent in entries:
                    self._const_entry(table, ent)
                table.immutable = True
            table.refresh_next()

    def _const_entry(self, table: MatchTable, ent: dict[str, Any]) -> None:
        match = []
        for mk in ent.get("match_key", []):
            kind = mk["match_type"]
            if kind in ("exact",):
                match.append(parse_hexstr(mk["key"]))
            elif kind == "valid":
                match.append(1 if mk["key"] else 0)
            elif kind == "lpm":
                match.append((parse_hexstr(mk["key"]), int(mk["prefix_length"])))
            elif kind in ("ternary", "optional"):
                match.append((parse_hexstr(mk["key"]), parse_hexstr(mk["mask"])))
            elif kind == "range":
                match.append((parse_hexstr(mk["start"]), parse_hexstr(mk["end"])))
            else:
                raise ConfigError(f"BMv2 JSON: table '{table.name}': bad const entry match {mk!r}")
        ae = ent["action_entry"]
        data = [parse_hexstr(x) for x in ae.get("action_data", [])]
        prio = ent.get("priority")
        table.add(match, ae["action_id"], data, prio if prio is not None else 1, force=True)

    def _field_lists(self) -> None:
        out = Emitter()
        for fl in self.prog.field_lists.values():
            slots = []
            for el in fl.get("elements", []):
                if el.get("type") == "field":
                    slots.append(self.prog.field_slot(*el["value"]))
                elif el.get("type") == "header":
                    inst = self.prog.header(el["value"])
                    slots.extend(range(inst.base, inst.valid_slot + 1))
            out.emit(0, f"def fl_{fl['id']}(D, S):  # {fl.get('name')}")
            if not slots:
                out.emit(1, "pass")
            for s in slots:
                out.emit(1, f"D[{s}] = S[{s}]")
        self.src.append("\n".join(out.lines))

    def _learn_lists(self) -> None:
        out = Emitter()
        for ll in self.prog.learn_lists.values():
            codes = []
            for el in ll.get("elements", []):
                if el.get("type") != "field":
                    raise ConfigError(f"BMv2 JSON: learn list '{ll.get('name')}': only fields supported")
                codes.append(f"F[{self.prog.field_slot(*el['value'])}]")
            out.emit(0, f"def learn_{ll['id']}(F):  # {ll.get('name')}")
            out.emit(1, "return (" + "".join(c + ", " for c in codes) + ")")
        self.src.append("\n".join(out.lines))

    def _std_slots(self) -> None:
        """Slots of the standard/intrinsic metadata fields the engine reads and writes."""
        prog, cp = self.prog, self.cp
        g = self.ns.globals
        for fl in prog.field_lists.values():
            cp.field_lists[fl["id"]] = g[f"fl_{fl['id']}"]
        for ll in prog.learn_lists.values():
            cp.learn_lists[ll["id"]] = (ll.get("name", str(ll["id"])), g[f"learn_{ll['id']}"])
        wanted = {
            "ingress_port": "standard_metadata.ingress_port",
            "egress_spec": "standard_metadata.egress_spec",
            "egress_port": "standard_metadata.egress_port",
            "instance_type": "standard_metadata.instance_type",
            "packet_length": "standard_metadata.packet_length",
            "parser_error": "standard_metadata.parser_error",
            "checksum_error": "standard_metadata.checksum_error",
            "mcast_grp": "intrinsic_metadata.mcast_grp",
            "egress_rid": "intrinsic_metadata.egress_rid",
            "ingress_global_timestamp": "intrinsic_metadata.ingress_global_timestamp",
            "egress_global_timestamp": "intrinsic_metadata.egress_global_timestamp",
            "priority": "intrinsic_metadata.priority",
            "enq_timestamp": "queueing_metadata.enq_timestamp",
            "enq_qdepth": "queueing_metadata.enq_qdepth",
            "deq_timedelta": "queueing_metadata.deq_timedelta",
            "deq_qdepth": "queueing_metadata.deq_qdepth",
            "qid": "queueing_metadata.qid",
        }
        for key, name in wanted.items():
            r = prog.resolve_alias(name)
            if r is None and name.startswith(("intrinsic_metadata.", "queueing_metadata.")):
                r = prog.resolve_alias("standard_metadata." + name.split(".", 1)[1])
            if r is not None:
                cp.std[key] = prog.field_slot(*r)
        for req in ("ingress_port", "egress_spec", "egress_port", "instance_type", "packet_length"):
            if req not in cp.std:
                raise ConfigError(f"BMv2 JSON: required field standard_metadata.{req} is missing")
        cp.std_width = {k: _slot_width(prog, s) for k, s in cp.std.items()}


def _slot_width(prog: Program, slot: int) -> int:
    for inst in prog.headers.values():
        if inst.base <= slot < inst.base + inst.nfields:
            return inst.htype.fields[slot - inst.base].width
    return 64


def compile_program(prog: Program, *, drop_port: int = 511, trace: bool = False) -> CompiledProgram:
    return ProgramCompiler(prog, drop_port=drop_port, trace=trace).compile()

