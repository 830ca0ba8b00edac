"""A small builder for BMv2 JSON programs, plus a harness around the engine.

The builder emits documents in the shape ``p4c-bm2-ss`` produces (format
version 2.23, see behavioral-model docs/JSON_format.md): the v1model
``standard_metadata`` header with its field aliases, a ``scalars`` metadata
header, one parser named ``parser``, one deparser named ``deparser`` and the
``ingress``/``egress`` pipelines. Straight-line code is expressed the way p4c
does it, as keyless tables whose const default action is the code.

Tests use the ``Harness`` to drive packets through :class:`Switch.receive`
and collect what :attr:`Switch.transmit` emits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pybm.switch.engine import Switch

Json = dict[str, Any]

CORE_ERRORS = [["NoError", 0], ["PacketTooShort", 1], ["NoMatch", 2], ["StackOutOfBounds", 3],
               ["HeaderTooShort", 4], ["ParserTimeout", 5], ["ParserInvalidArgument", 6]]
ERR = {name: code for name, code in CORE_ERRORS}

# standard_metadata as p4c-bm2-ss emits it for v1model
STANDARD_METADATA = [
    ["ingress_port", 9, False], ["egress_spec", 9, False], ["egress_port", 9, False],
    ["instance_type", 32, False], ["packet_length", 32, False],
    ["enq_timestamp", 32, False], ["enq_qdepth", 19, False], ["deq_timedelta", 32, False],
    ["deq_qdepth", 19, False], ["ingress_global_timestamp", 48, False],
    ["egress_global_timestamp", 48, False], ["mcast_grp", 16, False], ["egress_rid", 16, False],
    ["checksum_error", 1, False], ["parser_error", 32, False], ["priority", 3, False],
    ["_padding", 3, False],
]
STANDARD_ALIASES = [
    ["queueing_metadata.enq_timestamp", ["standard_metadata", "enq_timestamp"]],
    ["queueing_metadata.enq_qdepth", ["standard_metadata", "enq_qdepth"]],
    ["queueing_metadata.deq_timedelta", ["standard_metadata", "deq_timedelta"]],
    ["queueing_metadata.deq_qdepth", ["standard_metadata", "deq_qdepth"]],
    ["intrinsic_metadata.ingress_global_timestamp", ["standard_metadata", "ingress_global_timestamp"]],
    ["intrinsic_metadata.egress_global_timestamp", ["standard_metadata", "egress_global_timestamp"]],
    ["intrinsic_metadata.mcast_grp", ["standard_metadata", "mcast_grp"]],
    ["intrinsic_metadata.egress_rid", ["standard_metadata", "egress_rid"]],
    ["intrinsic_metadata.priority", ["standard_metadata", "priority"]],
]

# v1model instance_type values
NORMAL, INGRESS_CLONE, EGRESS_CLONE, COALESCED, RECIRC, REPLICATION, RESUBMIT = range(7)


# -- type-value objects --------------------------------------------------------

def fld(hdr: str, name: str) -> Json:
    return {"type": "field", "value": [hdr, name]}


def sm(name: str) -> Json:
    """A standard_metadata field."""
    return fld("standard_metadata", name)


def hexv(v: int) -> Json:
    return {"type": "hexstr", "value": f"-0x{-v:x}" if v < 0 else f"0x{v:x}"}


def boolv(v: bool) -> Json:
    return {"type": "bool", "value": bool(v)}


def rtd(i: int) -> Json:
    return {"type": "runtime_data", "value": i}


def hdr(name: str) -> Json:
    return {"type": "header", "value": name}


def stack(name: str) -> Json:
    return {"type": "header_stack", "value": name}


def union(name: str) -> Json:
    return {"type": "header_union", "value": name}


def lookahead(offset: int, width: int) -> Json:
    return {"type": "lookahead", "value": [offset, width]}


def string(s: str) -> Json:
    return {"type": "string", "value": s}


def vector(*vals: Json) -> Json:
    return {"type": "parameters_vector", "value": list(vals)}


def named(kind: str, name: str) -> Json:
    """register_array / counter_array / meter_array / calculation references."""
    return {"type": kind, "value": name}


def ex(op: str, left: Any = None, right: Any = None, cond: Json | None = None) -> Json:
    v: Json = {"op": op, "left": left, "right": right}
    if cond is not None:
        v["cond"] = cond
    return {"type": "expression", "value": v}


def wrap(e: Json) -> Json:
    """p4c wraps an expression argument once more: {"type": "expression", "value": EXPR}."""
    return {"type": "expression", "value": e}


def band(e: Json, width: int) -> Json:
    """``e & ((1 << width) - 1)``, as p4c masks arithmetic results."""
    return ex("&", e, hexv((1 << width) - 1))


def b2d(e: Json) -> Json:
    return ex("b2d", None, e)


def d2b(e: Json) -> Json:
    return ex("d2b", None, e)


def valid(h: str) -> Json:
    return d2b(fld(h, "$valid$"))


def prim(op: str, *params: Json) -> Json:
    return {"op": op, "parameters": list(params)}


def assign(dst: Json, src: Json) -> Json:
    return prim("assign", dst, src)


def set_port(port: int) -> Json:
    return assign(sm("egress_spec"), hexv(port))


# -- the builder ---------------------------------------------------------------

@dataclass
class _Pipe:
    name: str
    id: int
    init: str | None = None
    tables: list[Json] = field(default_factory=list)
    conditionals: list[Json] = field(default_factory=list)


class Program:
    """Assembles one BMv2 JSON document; ``build()`` returns it as a dict."""

    def __init__(self, name: str = "tests/switch") -> None:
        self.name = name
        self.header_types: list[Json] = []
        self.headers: list[Json] = []
        self.header_stacks: list[Json] = []
        self.header_union_types: list[Json] = []
        self.header_unions: list[Json] = []
        self.errors: list[list[Any]] = [list(e) for e in CORE_ERRORS]
        self.states: list[Json] = []
        self.init_state = "start"
        self.order: list[str] = []
        self.deparser_prims: list[Json] = []
        self.actions: list[Json] = []
        self.pipes = {"ingress": _Pipe("ingress", 0), "egress": _Pipe("egress", 1)}
        self.calculations: list[Json] = []
        self.checksums: list[Json] = []
        self.register_arrays: list[Json] = []
        self.counter_arrays: list[Json] = []
        self.meter_arrays: list[Json] = []
        self.parse_vsets: list[Json] = []
        self.field_lists: list[Json] = []
        self.learn_lists: list[Json] = []
        self.field_aliases: list[list[Any]] = [list(a) for a in STANDARD_ALIASES]
        self.scalar_fields: list[list[Any]] = []
        self._table_ids = 0
        self._cond_ids = 0
        self._names: set[str] = set()
        self.header_type("scalars_0", [])
        self.header_type("standard_metadata", [list(f) for f in STANDARD_METADATA])
        self.header("scalars", "scalars_0", metadata=True)
        self.header("standard_metadata", "standard_metadata", metadata=True)

    # header types and instances -------------------------------------------

    def header_type(self, name: str, fields: list[Any], max_length: int | None = None) -> str:
        # p4c writes [name, width, signed] and, for a varbit field, [name, "*"]
        t: Json = {"name": name, "id": len(self.header_types),
                   "fields": [[f[0], "*"] if f[1] == "*" else
                              list(f) if len(f) > 2 else [f[0], f[1], False] for f in fields]}
        if max_length is not None:
            t["max_length"] = max_length
        self.header_types.append(t)
        return name

    def header(self, name: str, htype: str, metadata: bool = False) -> str:
        self.headers.append({"name": name, "id": len(self.headers), "header_type": htype,
                             "metadata": metadata, "pi_omit": True})
        return name

    def meta(self, name: str, fields: list[Any]) -> str:
        """A user metadata struct: a header type plus a metadata instance."""
        self.header_type(f"{name}_t", fields)
        return self.header(name, f"{name}_t", metadata=True)

    def scalar(self, name: str, width: int) -> Json:
        """A field of the ``scalars`` header (p4c puts local variables there)."""
        if name == "scalars_0":
            raise ValueError(name)
        self.scalar_fields.append([name, width, False])
        self.header_types[0]["fields"] = self.scalar_fields
        return fld("scalars", name)

    def stack(self, name: str, htype: str, depth: int) -> list[str]:
        members = [self.header(f"{name}[{i}]", htype) for i in range(depth)]
        ids = [h["id"] for h in self.headers[-depth:]]
        self.header_stacks.append({"name": name, "id": len(self.header_stacks),
                                   "header_type": htype, "size": depth, "header_ids": ids})
        return members

    def union(self, name: str, members: list[tuple[str, str]]) -> list[str]:
        """A header union with (member name, header type) members; -> member instance names."""
        utype = f"{name}_ut"
        self.header_union_types.append({"name": utype, "id": len(self.header_union_types),
                                        "headers": [[m, t] for m, t in members]})
        insts = [self.header(f"{name}.{m}", t) for m, t in members]
        ids = [h["id"] for h in self.headers[-len(members):]]
        self.header_unions.append({"name": name, "id": len(self.header_unions),
                                   "union_type": utype, "header_ids": ids})
        return insts

    def error(self, name: str) -> int:
        code = max(e[1] for e in self.errors) + 1
        self.errors.append([name, code])
        return code

    def alias(self, target: str, hdr_name: str, fld_name: str) -> None:
        self.field_aliases.append([target, [hdr_name, fld_name]])

    # parser / deparser ----------------------------------------------------

    def state(self, name: str, ops: list[Json] | None = None, key: list[Json] | None = None,
              transitions: list[Json] | None = None) -> str:
        self.states.append({
            "name": name, "id": len(self.states), "parser_ops": ops or [],
            "transitions": transitions if transitions is not None else [default(None)],
            "transition_key": key or []})
        return name

    def deparse(self, *order: str) -> None:
        self.order = list(order)

    # actions and control flow ---------------------------------------------

    def action(self, name: str, prims: list[Json], params: list[tuple[str, int]] = ()) -> int:
        if name in self._names:
            raise ValueError(f"duplicate action {name}")
        self._names.add(name)
        aid = len(self.actions)
        self.actions.append({"name": name, "id": aid,
                             "runtime_data": [{"name": p, "bitwidth": w} for p, w in params],
                             "primitives": prims})
        return aid

    def action_id(self, name: str) -> int:
        for a in self.actions:
            if a["name"] == name:
                return a["id"]
        raise KeyError(name)

    def table(self, name: str, *, pipe: str = "ingress", keys: list[Json] = (),
              actions: list[str], default: str | None = None, default_data: list[int] = (),
              default_const: bool = False, default_entry_const: bool = False,
              next_tables: dict[str, str | None] | None = None, base_next: str | None = None,
              max_size: int = 1024, with_counters: bool = False, direct_meter: str | None = None,
              entries: list[Json] | None = None, match_type: str | None = None) -> str:
        kinds = {k["match_type"] for k in keys}
        if match_type is None:
            match_type = ("range" if "range" in kinds else "ternary" if "ternary" in kinds
                          else "lpm" if "lpm" in kinds else "exact")
        ids = [self.action_id(a) for a in actions]
        t: Json = {
            "name": name, "id": self._table_ids, "key": list(keys), "match_type": match_type,
            "type": "simple", "max_size": max_size, "with_counters": with_counters,
            "support_timeout": False, "direct_meters": direct_meter, "action_ids": ids,
            "actions": list(actions), "base_default_next": base_next,
            "next_tables": next_tables if next_tables is not None else {a: base_next for a in actions},
        }
        default = default or actions[-1]
        t["default_entry"] = {"action_id": self.action_id(default), "action_const": default_const,
                              "action_data": [hexv(v)["value"] for v in default_data],
                              "action_entry_const": default_entry_const}
        if entries is not None:
            t["entries"] = entries
        self._table_ids += 1
        self.pipes[pipe].tables.append(t)
        return name

    def cond(self, name: str, expr: Json, true_next: str | None, false_next: str | None, *,
             pipe: str = "ingress") -> str:
        self.pipes[pipe].conditionals.append({
            "name": name, "id": self._cond_ids, "expression": expr,
            "true_next": true_next, "false_next": false_next})
        self._cond_ids += 1
        return name

    def start(self, pipe: str, node: str | None) -> None:
        self.pipes[pipe].init = node

    def code(self, pipe: str, name: str, prims: list[Json], next_node: str | None = None) -> str:
        """Straight-line code as p4c emits it: a keyless table with a const default action."""
        act = f"{pipe}.{name}"
        self.action(act, prims)
        return self.table(f"{pipe}.tbl_{name}", pipe=pipe, actions=[act], default=act,
                          default_const=True, default_entry_const=True, base_next=next_node,
                          next_tables={act: next_node})

    def run(self, pipe: str, *blocks: list[Json], then: str | None = None) -> str | None:
        """Chain straight-line blocks into ``pipe`` (then go to node ``then``); the first
        block becomes the pipeline's init node."""
        nxt: str | None = then
        n = len(self.pipes[pipe].tables)
        for i in range(len(blocks) - 1, -1, -1):
            nxt = self.code(pipe, f"b{n + i}", blocks[i], nxt)
        self.start(pipe, nxt)
        return nxt

    # stateful objects, calculations, lists ---------------------------------

    def register(self, name: str, size: int, bitwidth: int) -> str:
        self.register_arrays.append({"name": name, "id": len(self.register_arrays),
                                     "size": size, "bitwidth": bitwidth})
        return name

    def counter(self, name: str, size: int, *, direct_table: str | None = None) -> str:
        c: Json = {"name": name, "id": len(self.counter_arrays), "size": size,
                   "is_direct": direct_table is not None}
        if direct_table is not None:
            c["binding"] = direct_table
        self.counter_arrays.append(c)
        return name

    def meter(self, name: str, size: int, *, kind: str = "packets", direct_table: str | None = None,
              result_target: tuple[str, str] | None = None) -> str:
        m: Json = {"name": name, "id": len(self.meter_arrays), "is_direct": direct_table is not None,
                   "size": size, "rate_count": 2, "type": kind}
        if direct_table is not None:
            m["binding"] = direct_table
            m["result_target"] = list(result_target or ())
        self.meter_arrays.append(m)
        return name

    def calc(self, name: str, algo: str, inputs: list[Json]) -> str:
        self.calculations.append({"name": name, "id": len(self.calculations), "algo": algo,
                                  "input": inputs})
        return name

    def checksum(self, name: str, target: tuple[str, str], calc: str, *, if_cond: Json | None = None,
                 verify: bool = True, update: bool = True) -> None:
        self.checksums.append({"name": name, "id": len(self.checksums), "target": list(target),
                               "type": "generic", "calculation": calc, "verify": verify,
                               "update": update, "if_cond": if_cond})

    def vset(self, name: str, bitwidth: int, max_size: int = 4) -> str:
        self.parse_vsets.append({"name": name, "id": len(self.parse_vsets),
                                 "compressed_bitwidth": bitwidth, "max_size": max_size})
        return name

    def field_list(self, name: str, fields: list[Json]) -> int:
        fid = len(self.field_lists) + 1
        self.field_lists.append({"id": fid, "name": name, "elements": fields})
        return fid

    def learn_list(self, name: str, fields: list[Json]) -> int:
        lid = len(self.learn_lists) + 1
        self.learn_lists.append({"id": lid, "name": name, "elements": fields})
        return lid

    # output ------------------------------------------------------------------

    def build(self) -> Json:
        pipelines = []
        for p in self.pipes.values():
            pipelines.append({"name": p.name, "id": p.id, "init_table": p.init,
                              "tables": p.tables, "action_profiles": [],
                              "conditionals": p.conditionals})
        doc = {
            "header_types": self.header_types,
            "headers": self.headers,
            "header_stacks": self.header_stacks,
            "header_union_types": self.header_union_types,
            "header_unions": self.header_unions,
            "header_union_stacks": [],
            "field_lists": self.field_lists,
            "errors": self.errors,
            "enums": [],
            "parsers": [{"name": "parser", "id": 0, "init_state": self.init_state,
                         "parse_states": self.states}],
            "parse_vsets": self.parse_vsets,
            "deparsers": [{"name": "deparser", "id": 0, "order": self.order,
                           "primitives": self.deparser_prims}],
            "meter_arrays": self.meter_arrays,
            "counter_arrays": self.counter_arrays,
            "register_arrays": self.register_arrays,
            "calculations": self.calculations,
            "learn_lists": self.learn_lists,
            "actions": self.actions,
            "pipelines": pipelines,
            "checksums": self.checksums,
            "force_arith": [],
            "extern_instances": [],
            "field_aliases": self.field_aliases,
            "program": self.name,
            "__meta__": {"version": [2, 23], "compiler": "tests/switch/bmv2.py"},
        }
        check_document(doc)
        return doc

    def text(self) -> str:
        return json.dumps(self.build(), indent=1)


# -- parser helpers --------------------------------------------------------------

def extract(h: str) -> Json:
    return {"op": "extract", "parameters": [{"type": "regular", "value": h}]}


def extract_stack(s: str) -> Json:
    return {"op": "extract", "parameters": [{"type": "stack", "value": s}]}


def extract_vl(h: str, nbits: Json) -> Json:
    return {"op": "extract_VL", "parameters": [{"type": "regular", "value": h}, wrap(nbits)]}


def pset(dst: Json, src: Json) -> Json:
    return {"op": "set", "parameters": [dst, src]}


def verify(cond: Json, error: int) -> Json:
    return {"op": "verify", "parameters": [cond, hexv(error)]}


def advance(nbits: Json) -> Json:
    return {"op": "advance", "parameters": [nbits]}


def pprim(p: Json) -> Json:
    return {"op": "primitive", "parameters": [p]}


def trans(value: int, next_state: str | None, mask: int | None = None, width: int = 1) -> Json:
    """A hexstr transition; ``width`` is the byte width of the padded key."""
    digits = 2 * width
    return {"type": "hexstr", "value": f"0x{value:0{digits}x}",
            "mask": None if mask is None else f"0x{mask:0{digits}x}", "next_state": next_state}


def default(next_state: str | None) -> Json:
    return {"type": "default", "value": None, "mask": None, "next_state": next_state}


def vset_trans(name: str, next_state: str | None, mask: int | None = None) -> Json:
    return {"type": "parse_vset", "value": name,
            "mask": None if mask is None else f"0x{mask:x}", "next_state": next_state}


# -- table key / const entry helpers -----------------------------------------

def key(kind: str, h: str, f: str | None = None, mask: int | None = None) -> Json:
    if kind == "valid":
        return {"match_type": "valid", "name": f"{h}.$valid$", "target": h, "mask": None}
    return {"match_type": kind, "name": f"{h}.{f}", "target": [h, f],
            "mask": None if mask is None else f"0x{mask:x}"}


def const_entry(match: list[Json], action_id: int, data: list[int] = (), priority: int = 1) -> Json:
    return {"match_key": match, "action_entry": {"action_id": action_id,
                                                 "action_data": [hexv(d)["value"] for d in data]},
            "priority": priority}


# -- structural checks (what BMv2's loader insists on) -------------------------------

def check_document(doc: Json) -> None:
    """Raise AssertionError when the document violates JSON_format.md constraints we rely on."""
    types = {t["name"]: t for t in doc["header_types"]}
    assert len({t["id"] for t in doc["header_types"]}) == len(types)
    names = set()
    for h in doc["headers"]:
        assert h["header_type"] in types, h
        assert h["name"] not in names, h["name"]
        names.add(h["name"])
        for f in types[h["header_type"]]["fields"]:
            assert isinstance(f[0], str) and (f[1] == "*" or isinstance(f[1], int)), f
            if f[1] == "*":
                assert "max_length" in types[h["header_type"]], h
    for h in doc["headers"]:
        if not h["metadata"]:
            bits = sum(f[1] for f in types[h["header_type"]]["fields"] if f[1] != "*")
            assert bits % 8 == 0, f"header {h['name']} is not byte-aligned"
    state_ids = [s["id"] for p in doc["parsers"] for s in p["parse_states"]]
    assert len(set(state_ids)) == len(state_ids)
    action_ids = {a["id"] for a in doc["actions"]}
    assert len(action_ids) == len(doc["actions"])
    tids = [t["id"] for p in doc["pipelines"] for t in p["tables"]]
    assert len(set(tids)) == len(tids)
    for p in doc["pipelines"]:
        nodes = {t["name"] for t in p["tables"]} | {c["name"] for c in p["conditionals"]}
        assert p["init_table"] is None or p["init_table"] in nodes, p["init_table"]
        for t in p["tables"]:
            assert set(t["action_ids"]) <= action_ids
            assert t["default_entry"]["action_id"] in t["action_ids"], t["name"]
            for n in list(t["next_tables"].values()) + [t["base_default_next"]]:
                assert n is None or n in nodes, n
            kinds = [k["match_type"] for k in t["key"]]
            assert kinds.count("lpm") <= 1
            if "range" in kinds:
                assert t["match_type"] == "range"
        for c in p["conditionals"]:
            for n in (c["true_next"], c["false_next"]):
                assert n is None or n in nodes, n
    assert doc["__meta__"]["version"][0] == 2


# -- harness ------------------------------------------------------------------------

class Harness:
    """One switch loaded with one program; collects transmitted frames and digests."""

    def __init__(self, program: Program | Json | str, **switch_args: Any) -> None:
        self.sw = Switch(**switch_args)
        if isinstance(program, Program):
            program = program.text()
        elif isinstance(program, dict):
            program = json.dumps(program)
        self.sw.load_config(program)
        self.out: list[tuple[int, bytes]] = []
        self.digests: list[tuple[int, str, tuple]] = []
        self.sw.transmit = lambda port, data: self.out.append((port, bytes(data)))
        self.sw.digest_sink = lambda lid, name, values: self.digests.append((lid, name, values))

    def send(self, port: int, data: bytes) -> list[tuple[int, bytes]]:
        """Deliver one frame; -> every (port, frame) it caused, in transmit order."""
        self.out.clear()
        self.sw.receive(port, data)
        return list(self.out)

    def one(self, port: int, data: bytes) -> tuple[int, bytes]:
        out = self.send(port, data)
        assert len(out) == 1, f"expected exactly one output frame, got {len(out)}: {out!r}"
        return out[0]

    def stat(self, name: str) -> int:
        return self.sw.stats.get(name, 0)


def be(value: int, nbytes: int) -> bytes:
    return value.to_bytes(nbytes, "big")


def header_program(fields: list[Any], *extra_headers: tuple[str, str]) -> Program:
    """Parser extracts header ``h`` (type ``h_t`` with ``fields``) and accepts.

    ``extra_headers`` are (name, type) instances that are declared (after
    ``h`` in deparser order) but not extracted.
    """
    p = Program()
    p.header_type("h_t", fields)
    p.header("h", "h_t")
    for name, htype in extra_headers:
        p.header(name, htype)
    p.state("start", [extract("h")])
    p.deparse("h", *[n for n, _ in extra_headers])
    return p


NEW_SRC_MAC = 0x0200000000AA


def port_swap_program() -> Program:
    """The program the process-level tests run: frames from port 0 go to port 1 and
    back; IPv4 gets its TTL decremented and its checksum updated; every forwarded
    frame gets source MAC 02:00:00:00:00:aa; EtherType 0x9999 is dropped."""
    p = Program("port_swap")
    p.header_type("ethernet_t", [["dst", 48], ["src", 48], ["type", 16]])
    p.header_type("ipv4_t", [
        ["version", 4], ["ihl", 4], ["diffserv", 8], ["totalLen", 16], ["identification", 16],
        ["flags", 3], ["fragOffset", 13], ["ttl", 8], ["protocol", 8], ["hdrChecksum", 16],
        ["srcAddr", 32], ["dstAddr", 32]])
    p.header("ethernet", "ethernet_t")
    p.header("ipv4", "ipv4_t")
    p.state("start", [extract("ethernet")], key=[fld("ethernet", "type")],
            transitions=[trans(0x0800, "parse_ipv4", width=2), default(None)])
    p.state("parse_ipv4", [extract("ipv4")])
    p.deparse("ethernet", "ipv4")
    p.calc("ipv4_csum", "csum16", [fld("ipv4", n) for n in (
        "version", "ihl", "diffserv", "totalLen", "identification", "flags", "fragOffset", "ttl",
        "protocol", "srcAddr", "dstAddr")])
    p.checksum("ipv4_ck", ("ipv4", "hdrChecksum"), "ipv4_csum", if_cond=valid("ipv4"),
               verify=False)
    drop = p.code("ingress", "drop", [prim("mark_to_drop", hdr("standard_metadata"))])
    ttl = p.code("ingress", "ttl", [
        assign(fld("ipv4", "ttl"), band(ex("-", fld("ipv4", "ttl"), hexv(1)), 8))])
    is_ip = p.cond("ingress.is_ip", valid("ipv4"), ttl, None)
    swap = p.code("ingress", "swap", [
        assign(sm("egress_spec"), band(ex("^", sm("ingress_port"), hexv(1)), 9)),
        assign(fld("ethernet", "src"), hexv(NEW_SRC_MAC))], is_ip)
    p.start("ingress", p.cond("ingress.is_drop", ex("==", fld("ethernet", "type"), hexv(0x9999)),
                              drop, swap))
    return p
