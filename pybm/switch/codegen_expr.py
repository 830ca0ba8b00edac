"""BMv2 JSON expressions -> Python expression source.

BMv2 evaluates expressions with arbitrary precision and truncates only when a
value is stored into a field; Python integers behave the same, so most
operators translate one-to-one. Generated code sees:

- ``F``: the PHV list, ``P``: the packet context, ``A``: action runtime data.
- Header-valued expressions evaluate to the header's base slot, so
  ``access_field`` becomes ``F[base + k]`` even for a stack element picked at
  run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pybm.switch.errors import ConfigError
from pybm.switch.program import Program

INT, BOOL, HDR, STACK, UNION, USTACK = "int", "bool", "hdr", "stack", "union", "ustack"


@dataclass
class Expr:
    code: str
    kind: str = INT
    width: int | None = None  # known unsigned bit width bound, when known
    signed: bool = False
    const: int | None = None  # value when a compile-time constant
    slot: int | None = None  # PHV slot when the expression is a static field
    htype: Any = None  # header type, for header-valued expressions
    ref: Any = None  # the union / union stack object for union-valued expressions


class Namespace:
    """Globals for generated code; objects get stable, readable names."""

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {}
        self._by_id: dict[int, str] = {}
        self._counter = 0

    def add(self, prefix: str, obj: Any) -> str:
        key = id(obj)
        if key in self._by_id and self.globals.get(self._by_id[key]) is obj:
            return self._by_id[key]
        self._counter += 1
        name = f"{_ident(prefix)}_{self._counter}"
        self.globals[name] = obj
        self._by_id[key] = name
        return name

    def set(self, name: str, obj: Any) -> str:
        self.globals[name] = obj
        return name


def _ident(s: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in s)
    return out[:40] or "x"


def mask(width: int) -> int:
    return (1 << width) - 1


def parse_hexstr(s: str) -> int:
    try:
        return int(s, 16) if isinstance(s, str) else int(s)
    except ValueError:
        raise ConfigError(f"BMv2 JSON: bad hexstr {s!r}") from None


class ExprCompiler:
    """Compiles type-value objects; one per program."""

    def __init__(self, prog: Program, ns: Namespace):
        self.prog = prog
        self.ns = ns
        self.action_params: int | None = None  # parameters of the action being compiled
        self.stack_bases: dict[str, str] = {}
        self.union_tables: dict[str, str] = {}
        for st in prog.stacks.values():
            self.stack_bases[st.name] = ns.set(
                f"SB_{_ident(st.name)}_{st.id}", tuple(h.base for h in st.headers))
        for us in prog.union_stacks.values():
            members = tuple(tuple(h.base for h in u.headers) for u in us.unions)
            self.union_tables[us.name] = ns.set(f"UB_{_ident(us.name)}_{us.id}", members)

    # -- entry points ------------------------------------------------------

    def compile(self, tv: dict[str, Any], *, in_action: bool = False) -> Expr:
        if not isinstance(tv, dict) or "type" not in tv:
            raise ConfigError(f"BMv2 JSON: malformed value {tv!r}")
        t = tv["type"]
        v = tv.get("value")
        if t == "field":
            return self.field(v[0], v[1])
        if t == "hexstr":
            n = parse_hexstr(v)
            return Expr(repr(n), INT, n.bit_length() if n >= 0 else None, n < 0, const=n)
        if t == "bool":
            return Expr("True" if v else "False", BOOL, const=1 if v else 0)
        if t in ("runtime_data", "local"):
            if not in_action:
                raise ConfigError("BMv2 JSON: runtime data used outside an action")
            i = int(v)
            if self.action_params is not None and not 0 <= i < self.action_params:
                # as BMv2's loader: "trying to use parameter at offset ..."
                raise ConfigError(f"BMv2 JSON: runtime data {i} used, but the action has "
                                  f"{self.action_params} parameter(s)")
            return Expr(f"A[{i}]", INT)
        if t == "header":
            h = self.prog.header(v)
            return Expr(repr(h.base), HDR, const=h.base, htype=h.htype)
        if t == "header_stack":
            self._stack(v)
            return Expr(repr(v), STACK)
        if t == "header_union":
            if v not in self.prog.unions:
                raise ConfigError(f"BMv2 JSON: unknown header union '{v}'")
            return Expr(repr(v), UNION, ref=self.prog.unions[v])
        if t == "header_union_stack":
            if v not in self.prog.union_stacks:
                raise ConfigError(f"BMv2 JSON: unknown header union stack '{v}'")
            return Expr(repr(v), USTACK, ref=self.prog.union_stacks[v])
        if t == "stack_field":
            return self.stack_field(v[0], v[1])
        if t == "union_stack_field":
            return self.union_stack_field(v[0], v[1], v[2])
        if t == "expression":
            if isinstance(v, dict) and "op" not in v and "type" in v:
                return self.compile(v, in_action=in_action)
            return self.op(v, in_action)
        if t == "lookahead":
            off, width = int(v[0]), int(v[1])
            return Expr(f"_lookahead(P, {off}, {width})", INT, width)
        raise ConfigError(f"BMv2 JSON: unsupported value type '{t}' in expression")

    def as_int(self, e: Expr) -> str:
        if e.kind == BOOL:
            return f"(1 if {e.code} else 0)"
        return e.code

    def as_bool(self, e: Expr) -> str:
        if e.kind == BOOL:
            return e.code
        return f"({e.code} != 0)"

    # -- references --------------------------------------------------------

    def field(self, hdr: str, fld: str) -> Expr:
        slot = self.prog.field_slot(hdr, fld)
        spec = self.prog.field_spec(hdr, fld)
        if spec.varbit:
            return Expr(f"F[{slot}]", INT, None, slot=slot)
        return Expr(f"F[{slot}]", INT, spec.width, spec.signed, slot=slot)

    def _stack(self, name: str) -> Any:
        st = self.prog.stacks.get(name)
        if st is None:
            raise ConfigError(f"BMv2 JSON: unknown header stack '{name}'")
        return st

    def stack_field(self, stack: str, fld: str) -> Expr:
        st = self._stack(stack)
        k = st.htype.field_index(fld)
        spec = st.htype.fields[k]
        sb = self.stack_bases[stack]
        return Expr(f"F[_stack_last({sb}, F[{st.next_slot}]) + {k}]", INT, spec.width, spec.signed)

    def union_stack_field(self, ustack: str, member: str, fld: str) -> Expr:
        us = self.prog.union_stacks[ustack]
        mi = us.unions[0].member_names.index(member)
        ht = us.unions[0].headers[mi].htype
        k = ht.field_index(fld)
        ub = self.union_tables[ustack]
        return Expr(f"F[_stack_last({ub}, F[{us.next_slot}])[{mi}] + {k}]", INT,
                    ht.fields[k].width, ht.fields[k].signed)

    # -- operators ---------------------------------------------------------

    def op(self, v: dict[str, Any], in_action: bool) -> Expr:  # noqa: C901 - one switch
        op = v.get("op")
        left = v.get("left")
        right = v.get("right")

        def sub(x: Any) -> Expr:
            return self.compile(x, in_action=in_action)

        if op in ("+", "-", "*", "&", "|", "^", "/", "%"):
            a, b = sub(left), sub(right)
            pyop = {"/": "//"}.get(op, op)
            width = None
            if op == "&" and (a.width is not None or b.width is not None):
                ws = [w for w in (a.width, b.width) if w is not None and not a.signed and not b.signed]
                width = min(ws) if ws else None
            elif op in ("|", "^") and a.width is not None and b.width is not None:
                width = max(a.width, b.width) if not (a.signed or b.signed) else None
            if op in ("/", "%"):
                return Expr(f"_div({self.as_int(a)}, {self.as_int(b)}, {op!r})", INT)
            return Expr(f"({self.as_int(a)} {pyop} {self.as_int(b)})", INT, width,
                        a.signed or b.signed)
        if op in ("<<", ">>"):
            a, b = sub(left), sub(right)
            if b.const is not None and b.const < 0:
                raise ConfigError(f"BMv2 JSON: negative shift count {b.const}")
            if op == "<<":
                if b.const is not None and b.const < 4096:
                    return Expr(f"({self.as_int(a)} << {b.const})", INT)
                return Expr(f"_shl({self.as_int(a)}, {self.as_int(b)})", INT)
            if b.const is not None:
                return Expr(f"({self.as_int(a)} >> {b.const})", INT, a.width, a.signed)
            return Expr(f"_shr({self.as_int(a)}, {self.as_int(b)})", INT, a.width, a.signed)
        if op == "~":
            a = sub(right)
            return Expr(f"(~{self.as_int(a)})", INT, signed=True)
        if op in ("==", "!=", "<", ">", "<=", ">="):
            a, b = sub(left), sub(right)
            if a.kind == BOOL and b.kind == BOOL:
                return Expr(f"({a.code} {op} {b.code})", BOOL)
            return Expr(f"({self.as_int(a)} {op} {self.as_int(b)})", BOOL)
        if op in ("and", "or"):
            a, b = sub(left), sub(right)
            return Expr(f"({self.as_bool(a)} {op} {self.as_bool(b)})", BOOL)
        if op == "not":
            a = sub(right)
            return Expr(f"(not {self.as_bool(a)})", BOOL)
        if op == "d2b":
            a = sub(right)
            return Expr(self.as_bool(a), BOOL)
        if op == "b2d":
            a = sub(right)
            return Expr(self.as_int(a), INT, 1)
        if op == "?":
            c = sub(v["cond"])
            a, b = sub(left), sub(right)
            kind = BOOL if a.kind == BOOL and b.kind == BOOL else a.kind
            if kind == INT:
                return Expr(f"({self.as_int(a)} if {self.as_bool(c)} else {self.as_int(b)})", INT)
            return Expr(f"({a.code} if {self.as_bool(c)} else {b.code})", kind)
        if op == "valid":
            e = sub(right)
            if e.kind == HDR:
                return Expr(f"(F[{e.code} + {len(e.htype.fields)}] == 1)", BOOL)
            if e.kind == UNION and e.ref is not None and e.const is None:
                return self._union_valid(e.ref)
            raise ConfigError("BMv2 JSON: 'valid' expects a header")
        if op == "valid_union":
            e = sub(right)
            if e.kind != UNION:
                raise ConfigError("BMv2 JSON: 'valid_union' expects a header union")
            return self._union_valid(e.ref)
        if op == "two_comp_mod":
            a, b = sub(left), sub(right)
            w = b.const
            if w is None:
                return Expr(f"_two_comp({self.as_int(a)}, {b.code})", INT, signed=True)
            h = 1 << (w - 1)
            return Expr(f"((({self.as_int(a)}) + {h}) & {mask(w)}) - {h}", INT, signed=True)
        if op in ("sat_cast", "usat_cast"):
            a, b = sub(left), sub(right)
            fn = "_sat_cast" if op == "sat_cast" else "_usat_cast"
            return Expr(f"{fn}({self.as_int(a)}, {b.code})", INT, signed=op == "sat_cast")
        if op == "dereference_header_stack":
            st = self._stack(left["value"])
            idx = sub(right)
            sb = self.stack_bases[st.name]
            if idx.const is not None and 0 <= idx.const < len(st.headers):
                base = st.headers[idx.const].base
                return Expr(repr(base), HDR, const=base, htype=st.htype)
            return Expr(f"_stack_at({sb}, {self.as_int(idx)})", HDR, htype=st.htype)
        if op == "last_stack_index":
            st = self._stack(right["value"])
            return Expr(f"(F[{st.next_slot}] - 1)", INT)
        if op == "size_stack":
            st = self._stack(right["value"])
            return Expr(f"F[{st.next_slot}]", INT)
        if op == "access_field":
            h = sub(left)
            k = int(right)
            if h.kind != HDR or h.htype is None:
                raise ConfigError("BMv2 JSON: access_field expects a header")
            nf = len(h.htype.fields)
            if k == nf:
                # BMv2 appends the hidden $valid$ field to every header type; the
                # PHV layout keeps validity right after the fields, so base + k.
                return Expr(f"F[{h.code} + {k}]", INT, 1)
            if not 0 <= k < nf:
                raise ConfigError(f"BMv2 JSON: access_field offset {k} out of range for "
                                  f"header type '{h.htype.name}'")
            spec = h.htype.fields[k]
            if h.const is not None:
                slot = h.const + k
                return Expr(f"F[{slot}]", INT, spec.width, spec.signed, slot=slot)
            return Expr(f"F[{h.code} + {k}]", INT, spec.width, spec.signed)
        if op == "dereference_union_stack":
            us = self.prog.union_stacks[left["value"]]
            idx = sub(right)
            ub = self.union_tables[us.name]
            return Expr(f"_stack_at({ub}, {self.as_int(idx)})", UNION, ref=us, const=-1)
        if op == "access_union_header":
            u = sub(left)
            k = int(right)
            if u.kind != UNION:
                raise ConfigError("BMv2 JSON: access_union_header expects a union")
            if u.const == -1:  # element of a union stack, picked at run time
                htype = u.ref.unions[0].headers[k].htype
                return Expr(f"{u.code}[{k}]", HDR, htype=htype)
            member = u.ref.headers[k]
            return Expr(repr(member.base), HDR, const=member.base, htype=member.htype)
        raise ConfigError(f"BMv2 JSON: unsupported expression operator '{op}'")

    def _union_valid(self, union: Any) -> Expr:
        parts = " or ".join(f"F[{h.valid_slot}] == 1" for h in union.headers) or "False"
        return Expr(f"({parts})", BOOL)

