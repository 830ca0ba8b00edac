"""Assembles the BMv2 JSON of a v1model program (as p4c-bm2-ss lays it out).

ProgramBuilder instantiates the V1Switch package, allocates the shared
headers/metadata, lowers the six blocks (parser, verify checksum, ingress,
egress, compute checksum, deparser) and collects every object BMv2 needs.
The objects that the P4Info also describes are recorded for p4info.py.
"""
from __future__ import annotations

import os
import re
from typing import Any

from .. import ast
from ..ast_text import expr_text
from ..errors import CompileError, SourceLoc
from ..midend.inline import Allocator, Frame
from ..midend.locations import (
    ActionLoc,
    ConstLoc,
    ExternLoc,
    FieldLoc,
    HeaderLoc,
    InstanceLoc,
    Loc,
    PacketLoc,
    RuntimeDataLoc,
    StructLoc,
    TableLoc,
    UnionLoc,
)
from ..typecheck import TypeChecker, annotation_string
from ..types import BoolT, ObjectT, StackT, StructT, strip_newtype, width_of
from . import jsonexpr as J
from .checksums import lower_checksum_control, lower_deparser
from .control import PipelineBuilder
from .externs import Externs, field_list_fields
from .layout import Layout
from .lower import Body, Lowerer
from .parser_gen import ParserBuilder
from .tables import Tables

V1SWITCH_BLOCKS = ["p", "vr", "ig", "eg", "ck", "dep"]


class ProgramBuilder:
    def __init__(self, tc: TypeChecker, source_path: str, source_lines: dict[str, list[str]]) -> None:
        self.tc = tc
        self.source_path = source_path
        self.source_lines = source_lines
        self.layout = Layout()
        self.alloc = Allocator(self.layout)
        self.lowerer = Lowerer(self)
        self.externs = Externs(self)
        self.tables = Tables(self)
        self.parsers = ParserBuilder(self)
        self.global_frame = Frame(None, "", "global")
        self.actions: list[dict] = []
        self.action_names: set[str] = set()
        self.action_cache: dict[str, tuple[int, str]] = {}
        self.action_infos: list[tuple[str, int, ast.ActionDecl | None, bool]] = []
        self.table_names: set[str] = set()
        self.table_counter = 0
        self.cond_counter = 0
        self.all_applied_tables: set[str] = set()
        self.table_infos: list[TableLoc] = []
        self.pipelines: list[dict] = []
        self.counter_arrays: list[dict] = []
        self.meter_arrays: list[dict] = []
        self.register_arrays: list[dict] = []
        self.calculations: list[dict] = []
        self.learn_lists: list[dict] = []
        self.field_lists: list[dict] = []
        self.checksums: list[dict] = []
        self.parse_vsets: list[dict] = []
        self.p4info_objs: list[tuple] = []
        self.digests: list[tuple[str, int, Any]] = []
        self.value_sets: list[tuple[str, ast.ValueSetDecl, list[int]]] = []
        self.const_storage: dict = {}
        self.elaborated: set[int] = set()
        self.meta_loc: Loc | None = None
        self.hdr_type: StructT | None = None
        self.controller_headers: list[tuple[str, StructT]] = []
        self.direct_resources: list[ExternLoc] = []
        self.v1switch_blocks: list[tuple[Any, Any]] = []
        self.uses_extern_function = False  # p4c then emits a (maybe empty) P4Info type_info

    # ------------------------------------------------------------------ naming
    def source_info(self, node: Any, fragment: str | None = None) -> dict | None:
        loc: SourceLoc | None = getattr(node, "loc", None)
        if loc is None or loc.line <= 0:
            return None
        if fragment is None:
            lines = self.source_lines.get(loc.file)
            if lines is None:
                try:
                    with open(loc.file, encoding="utf-8") as f:
                        lines = f.read().split("\n")
                except OSError:
                    lines = []
                self.source_lines[loc.file] = lines
            text = lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""
            fragment = text[loc.col - 1:].strip().rstrip(";").strip() or text.strip()
        return {"filename": loc.file, "line": loc.line, "column": loc.col, "source_fragment": fragment}

    def node_name(self, node: Any) -> str:
        """p4c names synthesized actions after the source file and line: 'keybmv2l19'."""
        loc: SourceLoc | None = getattr(node, "loc", None)
        if loc is None:
            return "act"
        base = re.sub(r"[^A-Za-z0-9]", "", os.path.splitext(os.path.basename(loc.file))[0])
        return f"{base}l{loc.line}"

    def unique_table_name(self, name: str) -> str:
        base = name
        i = 0
        while name in self.table_names:
            name = f"{base}_{i}"
            i += 1
        self.table_names.add(name)
        return name

    def next_table_id(self) -> int:
        self.table_counter += 1
        return self.table_counter - 1

    def next_cond_name(self) -> str:
        self.cond_counter += 1
        return f"node_{self.cond_counter + 1}"

    def cond_id(self, name: str) -> int:
        return self.cond_counter - 1

    def error_code(self, name: str) -> int:
        return self.tc.errors.index(name)

    # ------------------------------------------------------------------ actions
    def add_action(self, base: str, runtime_data: list, prims: list, hidden: bool,
                   decl: ast.ActionDecl | None = None, same_name: bool = False) -> tuple[int, str]:
        name = base
        i = 0
        while name in self.action_names and not same_name:
            name = f"{base}_{i}"
            i += 1
        self.action_names.add(name)
        aid = len(self.actions)
        self.actions.append({"name": name, "id": aid, "runtime_data": runtime_data,
                             "primitives": J.runtime_data_as_locals(prims)})
        self.action_infos.append((name, aid, decl, hidden))
        return aid, name

    def action_for(self, aloc: ActionLoc, bound: dict | None = None) -> tuple[int, str]:
        """The BMv2 action of an action declaration instance. 'bound' gives the locations of
        directional parameters bound in a table's actions list; such an action gets its own
        copy per table, under the same name (as p4c does)."""
        if not isinstance(aloc, ActionLoc):
            raise CompileError(None, "internal: action not bound")
        if bound is None and aloc.name in self.action_cache:
            return self.action_cache[aloc.name]
        d: ast.ActionDecl = aloc.decl
        fr = Frame(aloc.frame, aloc.frame.prefix, "action")
        runtime = []
        for p in d.params:
            if p.direction != "":
                if bound is None or id(p) not in bound:
                    raise CompileError(p.loc, f"parameter '{p.name}' with a direction needs an argument "
                                       "where the action is listed")
                fr.bind(p, bound[id(p)])
                continue
            t = strip_newtype(p.ptype)
            w = 1 if isinstance(t, BoolT) else width_of(t)
            fr.bind(p, RuntimeDataLoc(len(runtime), p.ptype))
            runtime.append({"name": p.name, "bitwidth": w})
        body = Body()
        from .lower import Label
        body.ret_label = Label()
        self.lowerer.stmt(d.body, fr, body)
        body.place(body.ret_label)
        res = self.add_action(aloc.name, runtime, body.finish(), hidden=False, decl=d,
                              same_name=bound is not None)
        if res[1] != aloc.name:
            raise CompileError(d.loc, f"two different actions are both named '{aloc.name}'")
        if bound is None:
            self.action_cache[aloc.name] = res
        return res

    # ------------------------------------------------------------------ elaboration
    def qualified(self, decl: ast.Decl, frame: Frame) -> str:
        n = annotation_string(decl.annotations, "name")
        if n is not None:
            if n.startswith("."):
                return n[1:]
            return frame.qualify(n)
        return frame.qualify(decl.name)

    def elaborate_locals(self, decl: ast.Node, frame: Frame) -> None:
        if getattr(frame, "elaborated", False):
            return
        frame.elaborated = True
        for d in decl.locals:
            if isinstance(d, ast.VarDecl):
                frame.bind(d, self.alloc.alloc(d.ptype, d.name, loc=d.loc))
            elif isinstance(d, ast.Instantiation):
                frame.bind(d, self.instantiate(d, d.otype, self.qualified(d, frame), frame))
            elif isinstance(d, ast.TableDecl):
                frame.bind(d, TableLoc(self.qualified(d, frame), d, frame))
            elif isinstance(d, ast.ActionDecl):
                frame.bind(d, ActionLoc(self.qualified(d, frame), d, frame))
            elif isinstance(d, ast.ValueSetDecl):
                frame.bind(d, ConstLoc(None, d.ptype))
                d.qualified_name = self.qualified(d, frame)

    def instantiate(self, inst: Any, otype: ObjectT, name: str, frame: Frame) -> Loc:
        if otype.kind == "extern":
            return self.externs.instantiate(inst, otype, name, frame)
        if otype.kind in ("parser", "control"):
            return InstanceLoc(name, otype.decl, getattr(otype, "ctor_bound", []), frame=frame)
        raise CompileError(inst.loc, f"cannot instantiate '{otype.name}' here")

    def instance_frame(self, inst: InstanceLoc, kind: str) -> Frame:
        """The frame of a parser/control instance: one per instance, reused by every apply."""
        if inst.callee is None:
            inst.callee = Frame(self.global_frame, inst.name, kind)
            self.bind_ctor_params(inst.decl, inst.ctor_bound, inst.callee, inst.frame)
        return inst.callee

    def bind_ctor_params(self, decl: Any, bound: list, frame: Frame, outer: Frame | None = None) -> None:
        outer = outer or self.global_frame
        for p, a in bound:
            if a is None:
                continue
            if isinstance(a.type, ObjectT) and isinstance(a, ast.ConstructorCall):
                frame.bind(p, self.instantiate(a, a.otype, frame.qualify(p.name), frame))
            elif isinstance(a, ast.PathExpr):
                loc = outer.lookup(a.ref)
                if loc is not None:
                    frame.bind(p, loc)
                else:
                    frame.bind(p, ConstLoc(getattr(a, "const", None), p.ptype))
            else:
                frame.bind(p, ConstLoc(getattr(a, "const", None), p.ptype))

    def direct_instance(self, decl: Any, fr: Frame) -> InstanceLoc:
        """'C.apply()' without an explicit instance: one implicit instance per scope."""
        cache = fr.__dict__.setdefault("direct_instances", {})
        if id(decl) not in cache:
            cache[id(decl)] = InstanceLoc(fr.qualify(decl.name), decl, [], frame=fr)
        return cache[id(decl)]

    def decl_frame(self, decl: Any, fr: Frame) -> Frame:
        if any(decl is d for d in self.tc.program.decls):
            return self.global_frame
        f: Frame | None = fr
        while f is not None and f.kind not in ("control", "parser"):
            f = f.parent
        return f or self.global_frame

    # ------------------------------------------------------------------ registries
    def add_calculation(self, algo: str, inputs: list[dict], node: Any) -> str:
        name = "calc" if not self.calculations else f"calc_{len(self.calculations) - 1}"
        self.calculations.append({"name": name, "id": len(self.calculations),
                                  "source_info": self.source_info(node), "algo": algo, "input": inputs})
        return name

    def add_learn_list(self, name: str, elements: list[dict], t: Any, node: Any) -> int:
        for ll in self.learn_lists:
            if ll["name"] == name:
                return ll["id"]
        lid = len(self.learn_lists) + 1
        self.learn_lists.append({"id": lid, "name": name, "source_info": self.source_info(node),
                                 "elements": elements})
        self.digests.append((name, lid, t))
        return lid

    def add_field_list(self, name: str | None, elements: list[dict]) -> int:
        """A new field list; unnamed ones are called like p4c's: empty, empty_0, ... or
        field_list, field_list_0, ..."""
        fid = len(self.field_lists) + 1
        if name is None:
            base = "empty" if not elements else "field_list"
            n = sum(1 for f in self.field_lists if f["name"] == base or f["name"].startswith(base + "_"))
            name = base if n == 0 else f"{base}_{n - 1}"
        self.field_lists.append({"id": fid, "name": name, "elements": elements})
        return fid

    def add_field_list_for_index(self, index: int, node: Any) -> int:
        elements = field_list_fields(self.meta_loc, index) if self.meta_loc is not None else []
        return self.add_field_list(None, elements)

    def add_direct_counter(self, ext: ExternLoc) -> None:
        if any(c["name"] == ext.name for c in self.counter_arrays):
            raise CompileError(ext.decl.loc, f"direct counter '{ext.name}' is attached to two tables")
        d = dict(ext.direct)
        d["id"] = len(self.counter_arrays)
        self.counter_arrays.append(d)
        self.direct_resources.append(ext)

    def add_direct_meter(self, ext: ExternLoc, prop: Any) -> None:
        if any(m["name"] == ext.name for m in self.meter_arrays):
            raise CompileError(ext.decl.loc, f"direct meter '{ext.name}' is attached to two tables")
        ext.direct["id"] = len(self.meter_arrays)
        self.meter_arrays.append(ext.direct)  # result_target filled when actions read it
        self.direct_resources.append(ext)

    def value_set(self, vs: ast.ValueSetDecl, fr: Frame, widths: list[int]) -> str:
        name = getattr(vs, "qualified_name", vs.name)
        if not any(v["name"] == name for v in self.parse_vsets):
            t = strip_newtype(vs.ptype)
            if isinstance(t, StructT):
                bws = [width_of(ft) for _, ft, _ in t.fields]
            else:
                bws = [width_of(t)]
            self.parse_vsets.append({"name": name, "id": len(self.parse_vsets),
                                     "compressed_bitwidth": sum(bws), "max_size": vs.size_value})
            self.value_sets.append((name, vs, bws))
        return name

    # ------------------------------------------------------------------ top level
    def build(self) -> dict:
        main = self.tc.main
        assert main is not None
        ot: ObjectT = main.otype
        if ot.name != "V1Switch":
            raise CompileError(main.loc, f"unsupported by pybm-p4c: package '{ot.name}' (only V1Switch)")
        for d in self.tc.program.decls:
            if isinstance(d, ast.ActionDecl):
                self.global_frame.bind(d, ActionLoc(self.qualified(d, self.global_frame), d, self.global_frame))
        # top-level extern instances
        for inst in self.tc.instances:
            if inst is main:
                continue
            self.global_frame.bind(inst, self.instantiate(inst, inst.otype, self.qualified(inst, self.global_frame),
                                                          self.global_frame))
        blocks: dict[str, tuple[Any, list]] = {}
        for p, a in ot.ctor_bound:
            if isinstance(a, ast.ConstructorCall):
                blocks[p.name] = (a.otype.decl, getattr(a.otype, "ctor_bound", []), a)
            elif isinstance(a, ast.PathExpr) and isinstance(a.ref, ast.Instantiation):
                blocks[p.name] = (a.ref.otype.decl, getattr(a.ref.otype, "ctor_bound", []), a.ref)
            else:
                raise CompileError(a.loc if a else main.loc, f"argument '{p.name}' of V1Switch must be "
                                   "a parser or control instance")
        self.v1switch_blocks = [(blocks[r][0], blocks[r][2]) for r in V1SWITCH_BLOCKS]
        self.layout.reserve("scalars")
        parser_decl = blocks["p"][0]
        hdr_t = parser_decl.params[1].ptype
        meta_t = parser_decl.params[2].ptype
        sm_t = parser_decl.params[3].ptype
        self.hdr_type = hdr_t
        sm_loc = HeaderLoc("standard_metadata", sm_t)
        self.layout.reserve("standard_metadata")
        self.layout.add_header_type("standard_metadata", self._padded_fields(sm_t))
        self.layout.headers.append(_inst("standard_metadata", "standard_metadata", True, sm_t))
        meta_loc = self.alloc_meta(meta_t, "userMetadata")
        self.meta_loc = meta_loc
        hdr_loc = self.alloc_headers(hdr_t)
        shared = {"hdr": hdr_loc, "meta": meta_loc, "sm": sm_loc}
        roles = {"p": ["pkt_in", "hdr", "meta", "sm"], "vr": ["hdr", "meta"], "ig": ["hdr", "meta", "sm"],
                 "eg": ["hdr", "meta", "sm"], "ck": ["hdr", "meta"], "dep": ["pkt_out", "hdr"]}
        frames = {}
        for role in V1SWITCH_BLOCKS:
            decl, ctor_bound, node = blocks[role]
            fr = Frame(self.global_frame, decl.name, "parser" if role == "p" else "control")
            self.bind_ctor_params(decl, ctor_bound, fr)
            for prm, what in zip(decl.params, roles[role]):
                if what == "pkt_in":
                    fr.bind(prm, PacketLoc("in"))
                elif what == "pkt_out":
                    fr.bind(prm, PacketLoc("out"))
                else:
                    fr.bind(prm, shared[what])
            frames[role] = fr
        parser_json = self.parsers.build(blocks["p"][0], frames["p"])
        lower_checksum_control(self, blocks["vr"][0], frames["vr"], verify=True)
        for role, pname in (("ig", "ingress"), ("eg", "egress")):
            pb = PipelineBuilder(self, pname)
            self.pipelines.append(pb.build(blocks[role][0], frames[role]))
        lower_checksum_control(self, blocks["ck"][0], frames["ck"], verify=False)
        deparser_json = lower_deparser(self, blocks["dep"][0], frames["dep"])
        for m in self.meter_arrays:
            if m.get("is_direct") and m.get("result_target") is None:
                raise CompileError(None, f"direct meter '{m['name']}' is never read (call read() in an action "
                                   "of its table)")
        self.collect_controller_headers()
        return self.assemble(parser_json, deparser_json)

    def _padded_fields(self, st: StructT) -> list[list]:
        fields = []
        total = 0
        for fn, ft, _ in st.fields:
            w = 1 if isinstance(strip_newtype(ft), BoolT) else width_of(strip_newtype(ft))
            fields.append([fn, w, False])
            total += w
        if total % 8:
            fields.append(["_padding", 8 - total % 8, False])
        return fields

    def alloc_meta(self, t: Any, prefix: str) -> Loc:
        st = strip_newtype(t)
        if not isinstance(st, StructT) or st.kind != "struct":
            return self.alloc.alloc(t, prefix, metadata=True)
        sl = StructLoc(st)
        for fn, ft, _ in st.fields:
            sub = strip_newtype(ft)
            if isinstance(sub, StructT) and sub.kind == "struct":
                sl.fields[fn] = self.alloc_meta(ft, f"{prefix}.{fn}")
            elif isinstance(sub, StructT) or isinstance(sub, StackT):
                sl.fields[fn] = self.alloc.alloc(ft, fn)
            else:
                sl.fields[fn] = self.alloc.alloc(ft, f"{prefix}.{fn}")
        return sl

    def alloc_headers(self, t: Any) -> Loc:
        st = strip_newtype(t)
        if not isinstance(st, StructT) or st.kind != "struct":
            return self.alloc.alloc(t, "hdr")
        return self._alloc_hdr_struct(st, "")

    def _alloc_hdr_struct(self, st: StructT, prefix: str) -> StructLoc:
        sl = StructLoc(st)
        for fn, ft, _ in st.fields:
            sub = strip_newtype(ft)
            name = f"{prefix}{fn}"
            if isinstance(sub, StructT) and sub.kind == "struct":
                sl.fields[fn] = self._alloc_hdr_struct(sub, f"{name}_")
            else:
                sl.fields[fn] = self.alloc.alloc(ft, name)
        return sl

    def collect_controller_headers(self) -> None:
        seen = set()
        for _, ft, _ in (self.hdr_type.fields if isinstance(self.hdr_type, StructT) else []):
            st = strip_newtype(ft)
            if isinstance(st, StructT) and st.decl is not None and id(st) not in seen:
                seen.add(id(st))
                n = annotation_string(st.decl.annotations, "controller_header")
                if n is not None:
                    self.controller_headers.append((n, st))

    # ------------------------------------------------------------------ output
    def assemble(self, parser_json: dict, deparser_json: dict) -> dict:
        lay = self.layout
        scal = list(lay.scalars)
        total = sum(f[1] for f in scal)
        if total % 8:
            scal.append(["_padding_0", 8 - total % 8, False])
        header_types = [{"name": "scalars_0", "id": 0, "fields": scal}]
        for ht in lay.header_types:
            d = {"name": ht.name, "id": len(header_types), "fields": ht.fields}
            if ht.max_length is not None:
                d["max_length"] = ht.max_length
            header_types.append(d)
        headers = [{"name": "scalars", "id": 0, "header_type": "scalars_0", "metadata": True, "pi_omit": True}]
        ids = {"scalars": 0}
        for h in lay.headers:
            ids[h.name] = len(headers)
            headers.append({"name": h.name, "id": len(headers), "header_type": h.htype,
                            "metadata": h.metadata, "pi_omit": True})
        stacks = []
        for s in lay.stacks:
            stacks.append({"name": s["name"], "id": s["id"], "header_type": s["header_type"],
                           "size": s["size"], "header_ids": [ids[h] for h in s["_headers"]]})
        unions = []
        for u in lay.unions:
            unions.append({"name": u["name"], "id": u["id"], "union_type": u["union_type"],
                           "header_ids": [ids[h] for h in u["_headers"]]})
        uids = {u["name"]: u["id"] for u in unions}
        union_stacks = []
        for s in lay.union_stacks:
            union_stacks.append({"name": s["name"], "id": s["id"], "union_type": s["union_type"],
                                 "size": s["size"], "header_union_ids": [uids[u] for u in s["_unions"]]})
        enums = []
        for d in self.tc.program.decls:
            if isinstance(d, ast.EnumDecl) and d.repr_type is not None:
                et = d.ptype
                enums.append({"name": d.name, "entries": sorted(([m, v] for m, v in et.values.items()),
                                                                 key=lambda x: x[1])})
        aliases = []
        sm_t = None
        for h in lay.headers:
            if h.name == "standard_metadata":
                sm_t = h.struct
        if sm_t is not None:
            for fn, _, annots in sm_t.fields:
                al = annotation_string(annots, "alias")
                if al is not None:
                    aliases.append([al, ["standard_metadata", fn]])
        return {
            "header_types": header_types,
            "headers": headers,
            "header_stacks": stacks,
            "header_union_types": lay.union_types,
            "header_unions": unions,
            "header_union_stacks": union_stacks,
            "field_lists": self.field_lists,
            "errors": [[e, i] for i, e in enumerate(self.tc.errors)],
            "enums": enums,
            "parsers": [parser_json],
            "parse_vsets": self.parse_vsets,
            "deparsers": [deparser_json],
            "meter_arrays": self.meter_arrays,
            "counter_arrays": self.counter_arrays,
            "register_arrays": self.register_arrays,
            "calculations": self.calculations,
            "learn_lists": self.learn_lists,
            "actions": self.actions,
            "pipelines": self.pipelines,
            "checksums": self.checksums,
            "force_arith": [],
            "extern_instances": [],
            "field_aliases": aliases,
            "program": self.source_path,
            "__meta__": {"version": [2, 23], "compiler": "pybm-p4c (https://github.com/p4lang/p4c compatible)"},
        }


def _inst(name: str, htype: str, metadata: bool, st: Any):
    from .layout import HeaderInstance
    return HeaderInstance(name, htype, metadata, st)


__all__ = ["ProgramBuilder", "expr_text", "FieldLoc", "UnionLoc"]
