"""Parsers to BMv2 parse states.

Statements become parser ops (extract, extract_VL, set, verify, advance,
primitive); select becomes transition_key + transitions (values, masks,
ranges expanded to value/mask pairs as p4c does, value sets, default). An if
inside a state splits it into states that select on the condition; applying a
sub-parser splits the state around the inlined sub-parser's states.
"""
from __future__ import annotations

from .. import ast
from ..constfold import EnumValue, ErrorValue
from ..errors import CompileError
from ..midend.inline import Frame
from ..midend.locations import (
    FieldLoc,
    HeaderLoc,
    InstanceLoc,
    Loc,
    PacketLoc,
    StackLoc,
    UnionLoc,
)
from ..types import BitT, BoolT, StructT, VarbitT, strip_newtype, width_of
from . import jsonexpr as J
from .lower import Body


def range_to_masks(lo: int, hi: int, width: int) -> list[tuple[int, int]]:
    """Cover [lo, hi] with value/mask pairs (prefix expansion)."""
    out = []
    full = (1 << width) - 1
    while lo <= hi:
        size = lo & -lo if lo else 1 << width
        while size > hi - lo + 1:
            size >>= 1
        out.append((lo, full & ~(size - 1)))
        lo += size
    return out


class ParserBuilder:
    def __init__(self, prog) -> None:
        self.prog = prog
        self.states: list[dict] = []
        self.names: set[str] = set()
        self.frame_stack: list = []

    def build(self, decl: ast.ParserDecl, frame: Frame) -> dict:
        start = self.lower_parser(decl, frame, "", {"accept": None, "reject": None})
        return {"name": "parser", "id": 0, "init_state": start, "parse_states": self.states}

    def unique(self, name: str) -> str:
        base = name
        i = 0
        while name in self.names or name in ("accept", "reject"):
            name = f"{base}_{i}"
            i += 1
        self.names.add(name)
        return name

    def lower_parser(self, decl: ast.ParserDecl, frame: Frame, prefix: str, exits: dict) -> str | None:
        """Lower all states of a parser instance; returns the JSON name of its start state."""
        self.prog.elaborate_locals(decl, frame)
        names = {}
        for st in decl.states:
            names[st.name] = self.unique(prefix + st.name)
        names.update(exits)
        init = [d for d in decl.locals if isinstance(d, ast.VarDecl) and d.init is not None]
        for st in decl.states:
            stmts = list(st.stmts)
            if st.name == "start" and init:
                stmts = [ast.AssignStmt(ast.PathExpr(d.name, loc=d.loc), d.init, loc=d.loc) for d in init] + stmts
                for d, s in zip(init, stmts):
                    s.lhs.ref = d
                    s.lhs.type = d.ptype
            self.lower_state(names[st.name], stmts, st.transition, frame, names, st)
        return names["start"]

    def lower_state(self, name: str, stmts: list, transition, fr: Frame, names: dict, node) -> None:
        body = Body(in_parser=True)
        low = self.prog.lowerer
        for i, s in enumerate(stmts):
            if isinstance(s, ast.IfStmt):
                c = getattr(s.cond, "const", None)
                if isinstance(c, bool):
                    branch = s.then if c else s.other
                    rest = ([branch] if branch is not None else []) + stmts[i + 1:]
                    self._flatten_into(body, rest, transition, fr, names, node, name)
                    return
                rest_name = self.unique(f"{name}_cont")
                then_name = self.unique(f"{name}_true")
                else_name = self.unique(f"{name}_false") if s.other is not None else rest_name
                cj = low.cond(s.cond, fr, body)
                tmp = self.prog.alloc.alloc(BoolT(), "tmp", loc=s.loc)
                body.emit({"parameters": [tmp.json(), J.param(J.b2d(cj))], "op": "set"})
                self.states.append(self.state_json(name, body, [tmp.json()],
                                                   [self.hex_transition(J.hexval(1, 1), None, then_name),
                                                    self.default_transition(else_name)]))
                self.lower_state(then_name, _stmts(s.then), rest_name, fr, names, node)
                if s.other is not None:
                    self.lower_state(else_name, _stmts(s.other), rest_name, fr, names, node)
                self.lower_state(rest_name, stmts[i + 1:], transition, fr, names, node)
                return
            if isinstance(s, ast.BlockStmt):
                self.lower_state(name, list(s.stmts) + stmts[i + 1:], transition, fr, names, node) \
                    if not body.prims else self._flatten_into(body, list(s.stmts) + stmts[i + 1:], transition,
                                                              fr, names, node, name)
                return
            if isinstance(s, ast.CallStmt) and getattr(s.call, "kind", "") == "apply":
                cont = self.unique(f"{name}_after")
                sub_start = self.apply_subparser(s.call, fr, body, cont, names)
                self.states.append(self.state_json(name, body, [], [self.default_transition(sub_start)]))
                self.lower_state(cont, stmts[i + 1:], transition, fr, names, node)
                return
            low.stmt(s, fr, body)
        self.finish_state(name, body, transition, fr, names)

    def _flatten_into(self, body: Body, stmts, transition, fr, names, node, name) -> None:
        # continue the same state with more statements (no split needed yet)
        low = self.prog.lowerer
        for i, s in enumerate(stmts):
            if isinstance(s, (ast.IfStmt, ast.BlockStmt)) or (
                    isinstance(s, ast.CallStmt) and getattr(s.call, "kind", "") == "apply"):
                nxt = self.unique(f"{name}_part")
                self.states.append(self.state_json(name, body, [], [self.default_transition(nxt)]))
                self.lower_state(nxt, stmts[i:], transition, fr, names, node)
                return
            low.stmt(s, fr, body)
        self.finish_state(name, body, transition, fr, names)

    def apply_subparser(self, call: ast.Call, fr: Frame, body: Body, cont: str, names: dict) -> str:
        low = self.prog.lowerer
        if getattr(call, "direct", False):
            inst = self.prog.direct_instance(call.target, fr)
        else:
            inst = low.lvalue(call.func.expr, fr, body)
            if not isinstance(inst, InstanceLoc):
                raise CompileError(call.loc, "apply of something that is not a parser instance")
        decl: ast.ParserDecl = inst.decl
        callee = self.prog.instance_frame(inst, "parser")
        bound = [(p, a) for p, (_, a) in zip(decl.params, call.bound)]
        low.bind_params(bound, fr, callee, body, None, call)
        prefix = inst.name.split(".")[-1] + "_"
        return self.lower_parser(decl, callee, prefix, {"accept": cont, "reject": names["reject"]})

    def finish_state(self, name: str, body: Body, transition, fr: Frame, names: dict) -> None:
        if transition is None:
            trans = [self.default_transition(names["reject"])]
            self.states.append(self.state_json(name, body, [], trans))
            return
        if isinstance(transition, str):
            target = names.get(transition, transition)
            self.states.append(self.state_json(name, body, [], [self.default_transition(target)]))
            return
        sel: ast.SelectExpr = transition
        keys, widths = [], []
        for e in sel.exprs:
            kj, w = self.select_key(e, fr, body)
            keys.append(kj)
            widths.append(w)
        trans = []
        for c in sel.cases:
            target = names.get(c.state, c.state)
            trans.extend(self.case_transitions(c, widths, target, fr))
        # no default: BMv2 ends parsing with error.NoMatch when nothing matches, as P4 requires
        self.states.append(self.state_json(name, body, keys, trans))

    def select_key(self, e: ast.Expr, fr: Frame, body: Body) -> tuple[dict, int]:
        low = self.prog.lowerer
        t = strip_newtype(e.type)
        w = 1 if isinstance(t, BoolT) else width_of(t)
        if isinstance(e, ast.Call) and getattr(e, "kind", "") == "extern_method" and e.func.name == "lookahead":
            if isinstance(t, BitT):
                return {"type": "lookahead", "value": [0, w]}, w
        if isinstance(e, ast.Member) and isinstance(e.expr, ast.Member) and e.expr.name == "last":
            st = low.lvalue(e.expr.expr, fr, body)
            if isinstance(st, StackLoc) and not st.union_stack:
                return {"type": "stack_field", "value": [st.inst, e.name]}, w
        if not isinstance(e, ast.Call):
            try:
                loc = low.lvalue(e, fr, body)
            except CompileError:
                loc = None
            if isinstance(loc, FieldLoc):
                return loc.json(), w
        tmp = self.prog.alloc.alloc(e.type, "tmp", loc=e.loc)
        low.assign(tmp, e, fr, body, e)
        return tmp.json(), w

    def case_transitions(self, c: ast.SelectCase, widths: list[int], target, fr: Frame) -> list[dict]:
        ks = c.keyset
        if isinstance(ks, ast.DefaultKey) or (isinstance(ks, ast.DontCare) and len(widths) >= 1):
            if isinstance(ks, ast.DontCare) and len(widths) > 1:
                pass
            return [self.default_transition(target)]
        items = ks.items if isinstance(ks, (ast.TupleKey, ast.ListExpr)) else [ks]
        if len(items) == 1 and isinstance(items[0], ast.PathExpr) and isinstance(getattr(items[0], "ref", None),
                                                                                 ast.ValueSetDecl):
            vs = self.prog.value_set(items[0].ref, fr, widths)
            return [{"type": "parse_vset", "value": vs, "mask": None, "next_state": target}]
        # each item -> list of (value, mask) alternatives; cross product over items
        alts: list[list[tuple[int, int]]] = []
        for it, w in zip(items, widths):
            full = (1 << w) - 1
            if isinstance(it, (ast.DefaultKey, ast.DontCare)):
                alts.append([(0, 0)])
            elif isinstance(it, ast.MaskKey):
                m = self._val(it.mask, w)
                alts.append([(self._val(it.value, w) & m, m)])
            elif isinstance(it, ast.RangeKey):
                lo, hi = self._val(it.lo, w), self._val(it.hi, w)
                if lo > hi:
                    alts.append([])
                else:
                    alts.append(range_to_masks(lo, hi, w))
            elif isinstance(it, ast.PathExpr) and isinstance(getattr(it, "ref", None), ast.ValueSetDecl):
                raise CompileError(it.loc, "unsupported by pybm-p4c: value set inside a tuple keyset")
            else:
                alts.append([(self._val(it, w), full)])
        combos: list[list[tuple[int, int]]] = [[]]
        for a in alts:
            combos = [c0 + [x] for c0 in combos for x in a]
        out = []
        for combo in combos:
            value = ""
            mask = ""
            any_mask = False
            for (v, m), w in zip(combo, widths):
                nbytes = (w + 7) // 8
                value += format(v, f"0{nbytes * 2}x")
                mask += format(m, f"0{nbytes * 2}x")
                if m != (1 << w) - 1:
                    any_mask = True
            out.append({"type": "hexstr", "value": "0x" + value, "mask": ("0x" + mask) if any_mask else None,
                        "next_state": target})
        return out

    def _val(self, e: ast.Expr, w: int) -> int:
        v = getattr(e, "const", None)
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, (EnumValue, ErrorValue)):
            j, _ = self.prog.lowerer.const_json(v, e.type, e.loc)
            return int(j["value"], 16)
        if not isinstance(v, int):
            raise CompileError(e.loc, "keyset value must be a constant")
        return v & ((1 << w) - 1)

    def hex_transition(self, value: str, mask, target) -> dict:
        return {"type": "hexstr", "value": value, "mask": mask, "next_state": target}

    def default_transition(self, target) -> dict:
        return {"type": "default", "value": None, "mask": None, "next_state": target}

    def state_json(self, name: str, body: Body, keys: list, trans: list) -> dict:
        return {"name": name, "id": len(self.states), "parser_ops": body.finish(),
                "transitions": trans, "transition_key": keys}

    # ------------------------------------------------------------------ packet_in methods
    def packet_method(self, e: ast.Call, pkt: PacketLoc, method: str, fr: Frame, body: Body) -> Loc | None:
        low = self.prog.lowerer
        args = {p.name: a for p, a in e.bound}
        if pkt.direction == "out":
            raise CompileError(e.loc, "emit() is only supported in the deparser")
        if not body.in_parser:
            raise CompileError(e.loc, f"packet_in.{method}() outside a parser")
        if method == "extract":
            target_e = args.get("hdr", args.get("variableSizeHeader"))
            hdr = self.extract_target(target_e, fr, body)
            if "variableFieldSizeInBits" in args:
                size = low.data(args["variableFieldSizeInBits"], fr, body)
                body.emit({"parameters": [hdr, {"type": "expression", "value": size}], "op": "extract_VL"})
            else:
                t = strip_newtype(target_e.type)
                if isinstance(t, StructT) and any(isinstance(strip_newtype(ft), VarbitT) for _, ft, _ in t.fields):
                    raise CompileError(e.loc, "extracting a header with a varbit field needs a size argument")
                body.emit({"parameters": [hdr], "op": "extract"})
            return None
        if method == "advance":
            a = args["sizeInBits"]
            v = low.data(a, fr, body)
            if v.get("type") == "expression":
                v = {"type": "expression", "value": v}
            body.emit({"parameters": [v], "op": "advance"})
            return None
        if method == "lookahead":
            t = strip_newtype(e.type)
            if isinstance(t, (BitT, BoolT)):
                # BMv2 takes a lookahead only as the source of a 'set' (or a select key):
                # into a temporary, which any expression can then read
                w = 1 if isinstance(t, BoolT) else t.width
                tmp = self.prog.alloc.alloc(e.type, "lookahead_tmp", loc=e.loc)
                body.emit({"parameters": [tmp.json(), {"type": "lookahead", "value": [0, w]}], "op": "set"})
                return tmp
            if isinstance(t, StructT) and t.kind == "header":
                tmp = self.prog.alloc.alloc(e.type, "lookahead_tmp", loc=e.loc)
                off = 0
                body.emit({"op": "primitive", "parameters": [
                    {"op": "add_header", "parameters": [{"type": "header", "value": tmp.inst}]}]})
                for f in tmp.leaves():
                    fw = width_of(strip_newtype(f.ptype))
                    body.emit({"parameters": [f.json(), {"type": "lookahead", "value": [off, fw]}],
                               "op": "set"})
                    off += fw
                return tmp
            if isinstance(t, StructT) and t.kind == "struct" and _flat_bits(t):
                # a struct of bit fields: each field from its offset in the packet
                tmp = self.prog.alloc.alloc(e.type, "lookahead_tmp", loc=e.loc)
                off = 0
                for path, fw in _flat_bits(t):
                    loc = tmp
                    for fn in path:
                        loc = loc.fields[fn]
                    body.emit({"parameters": [loc.json(), {"type": "lookahead", "value": [off, fw]}],
                               "op": "set"})
                    off += fw
                return tmp
            raise CompileError(e.loc, f"unsupported by pybm-p4c: lookahead of type '{e.type}'")
        raise CompileError(e.loc, f"unsupported by pybm-p4c: packet_in.{method}()")

    def extract_target(self, e: ast.Expr, fr: Frame, body: Body) -> dict:
        low = self.prog.lowerer
        if isinstance(e, ast.Member) and e.name in ("next",) and isinstance(strip_newtype(e.expr.type),
                                                                             type(e.expr.type)):
            st = low.lvalue(e.expr, fr, body)
            if isinstance(st, StackLoc):
                if st.union_stack:
                    raise CompileError(e.loc, "extract into a union stack needs a member: stack.next.member")
                return {"type": "stack", "value": st.inst}
        if isinstance(e, ast.Member) and isinstance(e.expr, ast.Member) and e.expr.name == "next":
            st = low.lvalue(e.expr.expr, fr, body)
            if isinstance(st, StackLoc) and st.union_stack:
                return {"type": "union_stack", "value": [st.inst, e.name]}
        loc = low.lvalue(e, fr, body)
        if isinstance(loc, HeaderLoc):
            return {"type": "regular", "value": loc.inst}
        if isinstance(loc, UnionLoc):
            raise CompileError(e.loc, "extract a member of the union, not the union")
        raise CompileError(e.loc, "extract() needs a header")


def _flat_bits(t: StructT, path: tuple = ()) -> list[tuple[tuple, int]]:
    """The (field path, width) of a struct whose leaves are all bit<N>/bool; [] otherwise."""
    out: list[tuple[tuple, int]] = []
    for fn, ft, _ in t.fields:
        b = strip_newtype(ft)
        if isinstance(b, StructT) and b.kind == "struct":
            sub = _flat_bits(b, path + (fn,))
            if not sub:
                return []
            out.extend(sub)
        elif isinstance(b, (BitT, BoolT)):
            out.append((path + (fn,), 1 if isinstance(b, BoolT) else b.width))
        else:
            return []
    return out


def _stmts(s: ast.Node) -> list:
    return list(s.stmts) if isinstance(s, ast.BlockStmt) else [s]
