"""P4Info (p4runtime's p4info.proto) for a compiled v1model program.

Names are the fully qualified names also used in the BMv2 JSON; ids are
assigned like p4c: the resource-type prefix in the top 8 bits and the low 24
bits of the Jenkins one-at-a-time hash of the name, with linear probing on
collisions and @id annotations honoured.
"""
from __future__ import annotations

from typing import Any

from p4.config.v1 import p4info_pb2

from .. import ast
from ..annotations import Ident
from ..errors import CompileError
from ..typecheck import annotation_string
from ..types import BitT, BoolT, EnumT, ErrorT, StructT, strip_newtype, width_of
from .p4info_order import ProgramOrder

P = p4info_pb2.P4Ids


def jenkins_hash(name: str) -> int:
    h = 0
    for c in name.encode():
        h = (h + c) & 0xFFFFFFFF
        h = (h + (h << 10)) & 0xFFFFFFFF
        h ^= h >> 6
    h = (h + (h << 3)) & 0xFFFFFFFF
    h ^= h >> 11
    h = (h + (h << 15)) & 0xFFFFFFFF
    return h


class IdAllocator:
    def __init__(self) -> None:
        self.used: set[int] = set()

    def fixed(self, prefix: int, value: int, loc) -> int:
        full = value if value >> 24 else (prefix << 24) | value
        if full in self.used:
            raise CompileError(loc, f"@id {value} is used twice")
        self.used.add(full)
        return full

    def assign(self, prefix: int, name: str) -> int:
        low = jenkins_hash(name) & 0xFFFFFF
        while True:
            full = (prefix << 24) | low
            if full not in self.used:
                self.used.add(full)
                return full
            low = (low + 1) & 0xFFFFFF


def _annotation_text(a: ast.Annotation) -> str:
    return f"@{a.name}{a.body or ''}"


_HIDE = {"name", "id", "hidden", "defaultonly", "tableonly", "field_list", "priority", "alias"}


def _annots(annots: list[ast.Annotation]) -> list[str]:
    return [_annotation_text(a) for a in annots if a.name not in _HIDE]


def _unit(v: Any, kind: str) -> int:
    m = getattr(v, "member", "packets")
    if kind == "counter":
        return {"packets": p4info_pb2.CounterSpec.PACKETS, "bytes": p4info_pb2.CounterSpec.BYTES,
                "packets_and_bytes": p4info_pb2.CounterSpec.BOTH}[m]
    return {"packets": p4info_pb2.MeterSpec.PACKETS, "bytes": p4info_pb2.MeterSpec.BYTES}[m]


_MATCH = {"exact": p4info_pb2.MatchField.EXACT, "lpm": p4info_pb2.MatchField.LPM,
          "ternary": p4info_pb2.MatchField.TERNARY, "range": p4info_pb2.MatchField.RANGE,
          "optional": p4info_pb2.MatchField.OPTIONAL}


def _bits(t) -> int:
    t = strip_newtype(t)
    return 1 if isinstance(t, BoolT) else width_of(t)


def build_p4info(prog) -> p4info_pb2.P4Info:
    info = p4info_pb2.P4Info()
    info.pkg_info.arch = "v1model"
    ids = IdAllocator()
    entries: list[tuple[int, str, Any, Any]] = []  # (prefix, name, decl, payload)

    # actions used by tables
    actions: dict[str, tuple[int, ast.ActionDecl]] = {}
    for name, aid, decl, hidden in prog.action_infos:
        if not hidden and decl is not None and name not in actions:
            actions[name] = (aid, decl)
    for name, (_, decl) in actions.items():
        entries.append((P.ACTION, name, decl, None))
    # the control-plane parameters of each action: what its BMv2 JSON copies take
    # as runtime data (a direct call binds directionless parameters itself)
    runtime_params: dict[str, set[str]] = {}
    for a in prog.actions:
        runtime_params.setdefault(a["name"], set()).update(
            rd["name"] for rd in a.get("runtime_data", []))
    for tl in prog.table_infos:
        if any(a.name == "hidden" for a in tl.decl.annotations):
            continue
        entries.append((P.TABLE, tl.name, tl.decl, tl))
    for kind, name, decl, extra in prog.p4info_objs:
        prefix = {"counter": P.COUNTER, "direct_counter": P.DIRECT_COUNTER, "meter": P.METER,
                  "direct_meter": P.DIRECT_METER, "register": P.REGISTER}[kind]
        if kind in ("direct_counter", "direct_meter") and extra["ext"].direct.get("binding") is None:
            continue
        entries.append((prefix, name, decl, (kind, extra)))
    for name, _lid, t in prog.digests:
        entries.append((P.DIGEST, name, None, t))
    hashed = {}  # p4c hashes a controller header's id from its type's name
    for name, st in prog.controller_headers:
        entries.append((P.CONTROLLER_HEADER, name, st.decl, st))
        hashed[(P.CONTROLLER_HEADER, name)] = annotation_string(st.decl.annotations, "name") or st.name
    for name, vs, bws in prog.value_sets:
        entries.append((P.VALUE_SET, name, vs, bws))

    id_of: dict[tuple[int, str], int] = {}
    for prefix, name, decl, _ in entries:
        annots = getattr(decl, "annotations", []) if decl is not None else []
        for a in annots:
            if a.name == "id":
                args = a.args()
                if not args or not isinstance(args[0], int):
                    raise CompileError(a.loc, "@id needs an integer")
                id_of[(prefix, name)] = ids.fixed(prefix, args[0], a.loc)
    for prefix, name, _, _ in sorted(entries, key=lambda x: hashed.get((x[0], x[1]), x[1])):
        if (prefix, name) not in id_of:
            id_of[(prefix, name)] = ids.assign(prefix, hashed.get((prefix, name), name))

    all_names = [n for _, n, _, _ in entries]
    alias = {n: _alias(n, all_names) for n in all_names}

    def preamble(msg, prefix: int, name: str, decl) -> None:
        msg.preamble.id = id_of[(prefix, name)]
        msg.preamble.name = name
        msg.preamble.alias = alias[name]
        for a in _annots(getattr(decl, "annotations", []) if decl is not None else []):
            msg.preamble.annotations.append(a)

    # p4c lists objects in the order of its inlined program (see p4info_order)
    decl_order: dict[int, int] = {}
    for d in prog.tc.program.decls:
        decl_order.setdefault(id(d), len(decl_order))
        for sub in getattr(d, "locals", []):
            decl_order.setdefault(id(sub), len(decl_order))
    po = ProgramOrder(prog.tc.program, prog.v1switch_blocks)
    by_kind = {P.ACTION: po.actions, P.TABLE: po.tables, P.DIGEST: po.digests,
               P.COUNTER: po.externs, P.DIRECT_COUNTER: po.externs, P.METER: po.externs,
               P.DIRECT_METER: po.externs, P.REGISTER: po.externs}

    def sort_key(x):
        pos = by_kind.get(x[0], {}).get(x[1])
        if pos is not None:
            return (0, pos, 0, x[1])
        return (1, 0, decl_order.get(id(x[2]), len(decl_order)), x[1])

    for prefix, name, decl, payload in sorted(entries, key=sort_key):
        if prefix == P.ACTION:
            a = info.actions.add()
            preamble(a, prefix, name, decl)
            pid = 0
            for p in decl.params:
                if p.direction != "":
                    continue  # bound by the call that was inlined
                if p.name not in runtime_params.get(name, ()):
                    continue  # directionless, but bound by a direct call (as p4c's
                    # RemoveActionParameters does): not a control-plane parameter
                pid += 1
                prm = a.params.add()
                prm.id = pid
                prm.name = p.name
                prm.bitwidth = _bits(p.ptype)
                _add_ser_enum(info, p.ptype)
                for an in _annots(p.annotations):
                    prm.annotations.append(an)
        elif prefix == P.TABLE:
            tl = payload
            d: ast.TableDecl = decl
            t = info.tables.add()
            preamble(t, prefix, name, d)
            for i, k in enumerate(d.keys):
                mf = t.match_fields.add()
                mf.id = i + 1
                mf.name = prog.tables.key_name(k)
                if isinstance(strip_newtype(k.expr.type), ErrorT):
                    # p4c gives an error-typed key no bitwidth; the control plane
                    # finds the members in type_info
                    _add_errors(info, prog.tc.errors)
                else:
                    mf.bitwidth = _bits(k.expr.type)
                _add_ser_enum(info, k.expr.type)
                if k.match_kind in _MATCH:
                    mf.match_type = _MATCH[k.match_kind]
                else:
                    mf.other_match_type = k.match_kind
            for ar, aname in zip(d.action_refs, tl.action_names):
                r = t.action_refs.add()
                r.id = id_of[(P.ACTION, aname)]
                if any(x.name == "defaultonly" for x in ar.annotations):
                    r.scope = p4info_pb2.ActionRef.DEFAULT_ONLY
                elif any(x.name == "tableonly" for x in ar.annotations):
                    r.scope = p4info_pb2.ActionRef.TABLE_ONLY
                for an in ar.annotations:
                    if an.name not in ("name", "id"):
                        r.annotations.append(_annotation_text(an))
            de = tl.json.get("default_entry")
            dprop = d.prop("default_action")
            if de is not None:
                dname = prog.actions[de["action_id"]]["name"]
                if dprop is not None and dprop.is_const:
                    t.const_default_action_id = id_of[(P.ACTION, dname)]
                t.initial_default_action.action_id = id_of[(P.ACTION, dname)]
                dref = d.default_ref
                if dref is not None:
                    pid = 0
                    for p, arg in zip(dref.decl.params, dref.args):
                        if p.direction != "":
                            continue
                        pid += 1
                        av = t.initial_default_action.arguments.add()
                        av.param_id = pid
                        v = arg.value.const
                        w = _bits(p.ptype)
                        v = int(v) if isinstance(v, bool) else (v & ((1 << w) - 1) if isinstance(v, int) else 0)
                        av.value = v.to_bytes(max(1, (w + 7) // 8), "big")
            dc = getattr(tl, "direct_counter", None)
            if dc is not None:
                t.direct_resource_ids.append(id_of[(P.DIRECT_COUNTER, dc.name)])
            dm = getattr(tl, "direct_meter", None)
            if dm is not None:
                t.direct_resource_ids.append(id_of[(P.DIRECT_METER, dm.name)])
            t.size = tl.json["max_size"]
            ep = d.prop("entries")
            if ep is not None:
                t.is_const_table = ep.is_const
                t.has_initial_entries = True
            if tl.json.get("support_timeout"):
                t.idle_timeout_behavior = p4info_pb2.Table.NOTIFY_CONTROL
        elif prefix in (P.COUNTER, P.DIRECT_COUNTER, P.METER, P.DIRECT_METER, P.REGISTER):
            kind, extra = payload
            if kind == "counter":
                m = info.counters.add()
                preamble(m, prefix, name, decl)
                m.spec.unit = _unit(extra["unit"], "counter")
                m.size = extra["size"]
            elif kind == "direct_counter":
                m = info.direct_counters.add()
                preamble(m, prefix, name, decl)
                m.spec.unit = _unit(extra["unit"], "counter")
                m.direct_table_id = id_of[(P.TABLE, extra["ext"].direct["binding"])]
            elif kind == "meter":
                m = info.meters.add()
                preamble(m, prefix, name, decl)
                m.spec.unit = _unit(extra["unit"], "meter")
                m.size = extra["size"]
            elif kind == "direct_meter":
                m = info.direct_meters.add()
                preamble(m, prefix, name, decl)
                m.spec.unit = _unit(extra["unit"], "meter")
                m.direct_table_id = id_of[(P.TABLE, extra["ext"].direct["binding"])]
            else:
                m = info.registers.add()
                preamble(m, prefix, name, decl)
                m.type_spec.bitstring.bit.bitwidth = _bits(extra["type"])
                m.size = extra["size"]
        elif prefix == P.DIGEST:
            dg = info.digests.add()
            preamble(dg, prefix, name, None)
            t = payload
            if isinstance(t, StructT):
                dg.type_spec.struct.name = t.name
                _add_struct_type(info, t)
            else:
                for et in t.elems:
                    dg.type_spec.tuple.members.add().bitstring.bit.bitwidth = _bits(et)
        elif prefix == P.CONTROLLER_HEADER:
            st: StructT = payload
            cm = info.controller_packet_metadata.add()
            cm.preamble.id = id_of[(prefix, name)]
            cm.preamble.name = name
            cm.preamble.alias = name
            for a in st.decl.annotations:
                if a.name not in _HIDE:
                    cm.preamble.annotations.append(_annotation_text(a))
            for i, (fn, ft, fa) in enumerate(st.fields):
                md = cm.metadata.add()
                md.id = i + 1
                md.name = fn
                md.bitwidth = _bits(ft)
                for an in _annots(fa):
                    md.annotations.append(an)
        elif prefix == P.VALUE_SET:
            vs: ast.ValueSetDecl = decl
            v = info.value_sets.add()
            preamble(v, prefix, name, vs)
            t = strip_newtype(vs.ptype)
            fields = t.fields if isinstance(t, StructT) else [(None, t, [])]
            for i, (fn, ft, fa) in enumerate(fields):
                mf = v.match.add()
                mf.id = i + 1
                mf.name = fn or ""
                mf.bitwidth = _bits(ft)
                mk = "exact"
                for a in fa:
                    if a.name == "match":
                        args = a.args()
                        if args and isinstance(args[0], Ident):
                            mk = args[0].name
                mf.match_type = _MATCH.get(mk, p4info_pb2.MatchField.EXACT)
            v.size = vs.size_value
    # p4c's v1model P4Info generator touches type_info (so emits it, often empty) for
    # every table, every extern instance and every call of an extern function
    if len(info.tables) or prog.p4info_objs or prog.digests or prog.controller_headers \
            or prog.uses_extern_function:
        info.type_info.SetInParent()
    return info


def _add_struct_type(info: p4info_pb2.P4Info, t: StructT) -> None:
    if t.name in info.type_info.structs:
        return
    s = info.type_info.structs[t.name]
    for fn, ft, _ in t.fields:
        m = s.members.add()
        m.name = fn
        b = strip_newtype(ft)
        if isinstance(b, BoolT):
            m.type_spec.bool.SetInParent()
        elif isinstance(b, BitT):
            if b.signed:
                m.type_spec.bitstring.int.bitwidth = b.width
            else:
                m.type_spec.bitstring.bit.bitwidth = b.width
        elif isinstance(b, StructT) and b.kind == "struct":
            m.type_spec.struct.name = b.name
            _add_struct_type(info, b)
        elif isinstance(b, EnumT) and b.repr is not None:
            m.type_spec.serializable_enum.name = b.name
            _add_ser_enum(info, b)
        else:
            m.type_spec.bitstring.bit.bitwidth = width_of(b)


def _alias(name: str, all_names: list[str]) -> str:
    parts = name.split(".")
    for i in range(len(parts) - 1, -1, -1):
        cand = ".".join(parts[i:])
        clash = [n for n in all_names if n != name and (n == cand or n.endswith("." + cand))]
        if not clash:
            return cand
    return name


def p4info_text(info: p4info_pb2.P4Info) -> str:
    from google.protobuf import text_format
    head = "# proto-file: p4/config/v1/p4info.proto\n# proto-message: p4.config.v1.P4Info\n\n"
    return head + text_format.MessageToString(info)



def _add_errors(info: p4info_pb2.P4Info, members: list[str]) -> None:
    if not info.type_info.error.members:
        info.type_info.error.members.extend(members)


def _add_ser_enum(info: p4info_pb2.P4Info, t) -> None:
    """A serializable enum the control plane sees (p4c lists it in type_info)."""
    b = strip_newtype(t)
    if not isinstance(b, EnumT) or b.repr is None or b.name in info.type_info.serializable_enums:
        return
    se = info.type_info.serializable_enums[b.name]
    w = b.repr.width
    se.underlying_type.bitwidth = w
    for m in b.members:
        mem = se.members.add()
        mem.name = m
        mem.value = (b.values[m] & ((1 << w) - 1)).to_bytes(max(1, (w + 7) // 8), "big")


__all__ = ["build_p4info", "p4info_text", "jenkins_hash", "annotation_string"]
