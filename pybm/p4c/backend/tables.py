"""Match-action tables: keys, actions, default entries, const entries."""
from __future__ import annotations

from .. import ast
from ..ast_text import expr_text
from ..constfold import EnumValue, ErrorValue
from ..errors import CompileError
from ..midend.locations import ExternLoc, FieldLoc, HeaderLoc, TableLoc
from ..typecheck import annotation_string
from ..types import BoolT, strip_newtype, width_of
from . import jsonexpr as J
from .lower import Body


def key_width(k: ast.KeyElement) -> int:
    t = strip_newtype(k.expr.type)
    return 1 if isinstance(t, BoolT) else width_of(t)


class Tables:
    def __init__(self, prog) -> None:
        self.prog = prog

    def key_name(self, k: ast.KeyElement) -> str:
        n = annotation_string(k.annotations, "name")
        if n is not None:
            return n
        e = k.expr
        if isinstance(e, ast.Call) and getattr(e, "method", "") == "isValid":
            return expr_text(e.func.expr) + ".$valid$"
        return expr_text(e)

    def key_json(self, tl: TableLoc, k: ast.KeyElement, pre: Body) -> dict:
        low = self.prog.lowerer
        fr = tl.frame
        e = k.expr
        mask = None
        mk = k.match_kind
        if isinstance(e, ast.Binary) and e.op == "&" and getattr(e.right, "const", None) is not None \
                and not _complex(e.left):
            mask = J.hexval(e.right.const, key_width(k))
            e = e.left
        target = None
        if isinstance(e, ast.Call) and getattr(e, "method", "") == "isValid":
            loc = low.lvalue(e.func.expr, fr, pre)
            if isinstance(loc, HeaderLoc):
                target = [loc.inst, "$valid$"]
        elif not _complex(e):
            loc = low.lvalue(e, fr, pre)
            if isinstance(loc, FieldLoc):
                target = [loc.inst, loc.field]
        if target is None:
            # p4c computes complex keys into a temporary before the table
            tmp = self.prog.alloc.alloc(k.expr.type, "key", loc=k.loc)
            low.assign(tmp, k.expr, fr, pre, k)
            target = [tmp.inst, tmp.field]
            mask = None
        # BMv2 has no 'optional' match kind: p4c writes such keys as ternary
        return {"match_type": "ternary" if mk == "optional" else mk, "name": self.key_name(k),
                "target": target, "mask": mask}

    def table_json(self, tl: TableLoc, pre: Body, nexts: dict) -> dict:
        d: ast.TableDecl = tl.decl
        prog = self.prog
        keys = [self.key_json(tl, k, pre) for k in d.keys]
        kinds = {k.match_kind for k in d.keys}
        if "range" in kinds:
            mt = "range"
        elif "ternary" in kinds or "optional" in kinds:
            mt = "ternary"
        elif "lpm" in kinds:
            mt = "lpm" if sum(1 for k in d.keys if k.match_kind == "lpm") == 1 else "ternary"
        else:
            mt = "exact"
        impl = d.prop("implementation")
        if impl is not None:
            raise CompileError(impl.loc, "unsupported by pybm-p4c: table implementation "
                               "(action profiles/selectors)")
        action_ids, action_names = [], []
        for ar in d.action_refs:
            aloc = tl.frame.lookup(ar.decl)
            if ar.args:
                bound = {}
                for p, a in zip(ar.decl.params, ar.args):
                    if p.direction in ("out", "inout"):
                        bound[id(p)] = prog.lowerer.lvalue(a.value, tl.frame, pre)
                    elif p.direction == "in":
                        bound[id(p)] = prog.lowerer.lvalue(a.value, tl.frame, pre)
                aid, aname = prog.action_for(aloc, bound)
            else:
                aid, aname = prog.action_for(aloc)
            action_ids.append(aid)
            action_names.append(aname)
            ar.json_id = aid
        tl.action_names = action_names
        nt = {}
        if "__HIT__" in nexts:
            nt = {"__HIT__": nexts["__HIT__"], "__MISS__": nexts["__MISS__"]}
            base_next = None
        else:
            per = nexts.get("actions", {})
            for ar, an in zip(d.action_refs, action_names):
                nt[an] = per.get(ar.name, nexts.get("*"))
            base_next = nexts.get("*")
        size = getattr(d, "size_value", 1024)
        tj = {
            "name": tl.name, "id": prog.next_table_id(),
            "source_info": prog.source_info(d, fragment=d.name),
            "key": keys, "match_type": mt, "type": "simple", "max_size": size,
            "with_counters": False, "support_timeout": False, "direct_meters": None,
            "action_ids": action_ids, "actions": action_names,
            "base_default_next": base_next, "next_tables": nt,
        }
        cp = d.prop("counters")
        if cp is not None:
            ext = prog.lowerer.lvalue(cp.value, tl.frame, pre)
            if not isinstance(ext, ExternLoc) or ext.ptype.name != "direct_counter":
                raise CompileError(cp.loc, "counters must be a direct_counter")
            ext.direct["binding"] = tl.name
            prog.add_direct_counter(ext)
            tj["with_counters"] = True
            tl.direct_counter = ext
        mp = d.prop("meters")
        if mp is not None:
            ext = prog.lowerer.lvalue(mp.value, tl.frame, pre)
            if not isinstance(ext, ExternLoc) or ext.ptype.name != "direct_meter":
                raise CompileError(mp.loc, "meters must be a direct_meter")
            ext.direct["binding"] = tl.name
            ext.direct["size"] = size  # BMv2 requires the table's size
            prog.add_direct_meter(ext, mp)
            tj["direct_meters"] = ext.name
            tl.direct_meter = ext
        st = d.prop("support_timeout")
        if st is not None and getattr(st.value, "const", None) is True:
            tj["support_timeout"] = True
        # default entry
        dref = d.default_ref
        const_default = d.prop("default_action").is_const if d.prop("default_action") else False
        if dref is not None:
            aid = next(ar.json_id for ar in d.action_refs if ar.decl is dref.decl)
            data = [self.arg_value(a.value, p) for p, a in zip(dref.decl.params, dref.args) if p.direction == ""]
            tj["default_entry"] = {"action_id": aid, "action_const": const_default, "action_data": data,
                                   "action_entry_const": const_default}
        else:
            noaction = next((ar for ar in d.action_refs if ar.name == "NoAction"), None)
            if noaction is not None:
                tj["default_entry"] = {"action_id": noaction.json_id, "action_const": False,
                                       "action_data": [], "action_entry_const": False}
        if d.entries:
            tj["entries"] = self.entries(tl, d)
        tl.json = tj
        prog.table_infos.append(tl)
        return tj

    def arg_value(self, e: ast.Expr, p: ast.Param) -> str:
        v = e.const
        if isinstance(v, bool):
            return "0x1" if v else "0x0"
        j, _ = self.prog.lowerer.const_json(v, p.ptype, e.loc)
        return j["value"]

    def entries(self, tl: TableLoc, d: ast.TableDecl) -> list[dict]:
        out = []
        for pname in ("largest_priority_wins", "priority_delta"):
            if d.prop(pname) is not None:
                raise CompileError(d.prop(pname).loc, f"unsupported by pybm-p4c: table property '{pname}'")
        # As p4c-bm2-ss: an entry's BMv2 priority is its explicit priority (priority = N or
        # @priority(N)) or else its 1-based position; BMv2 prefers the smallest value.
        bm_prios = []
        for i, e in enumerate(d.entries):
            p = getattr(e, "priority_value", None)
            for a in e.annotations:
                if a.name == "priority":
                    args = a.args()
                    if not args or not isinstance(args[0], int):
                        raise CompileError(a.loc, "@priority needs an integer")
                    p = args[0]
            bm_prios.append(p if p is not None else i + 1)
        for e, prio in zip(d.entries, bm_prios):
            ks = e.keyset
            items = ks.items if isinstance(ks, (ast.TupleKey, ast.ListExpr)) else [ks]
            if isinstance(ks, (ast.DefaultKey, ast.DontCare)) and len(d.keys) != 1:
                items = [ks] * len(d.keys)
            match_key = [self.entry_key(it, k, e) for it, k in zip(items, d.keys)]
            aid = next(ar.json_id for ar in d.action_refs if ar.decl is e.action.decl)
            data = [self.arg_value(a.value, p) for p, a in zip(e.action.decl.params, e.action.args or [])
                    if p.direction == ""]
            out.append({"source_info": self.prog.source_info(e), "match_key": match_key,
                        "action_entry": {"action_id": aid, "action_data": data}, "priority": prio})
        return out

    def entry_key(self, it: ast.Expr, k: ast.KeyElement, entry: ast.TableEntry) -> dict:
        w = key_width(k)
        mk = k.match_kind
        if isinstance(getattr(it, "const", None), ErrorValue):  # p4c refuses these keys too
            raise CompileError(it.loc, f"error.{it.const.name}: unsupported {mk} key expression")
        full = (1 << w) - 1

        def val(x: ast.Expr) -> int:
            v = x.const
            if isinstance(v, bool):
                return int(v)
            if isinstance(v, (EnumValue, ErrorValue)):
                j, _ = self.prog.lowerer.const_json(v, k.expr.type, x.loc)
                return int(j["value"], 16)
            return v & full
        wild = isinstance(it, (ast.DontCare, ast.DefaultKey))
        if mk == "exact":
            if wild or isinstance(it, (ast.MaskKey, ast.RangeKey)):
                raise CompileError(it.loc, "exact keys need a single value")
            return {"match_type": "exact", "key": J.hexval(val(it), w)}
        if mk in ("ternary", "optional"):
            if wild:
                return {"match_type": "ternary", "key": J.hexval(0, w), "mask": J.hexval(0, w)}
            if isinstance(it, ast.MaskKey):
                if mk == "optional":
                    raise CompileError(it.loc, "optional keys take a value or _")
                m = val(it.mask)
                return {"match_type": "ternary", "key": J.hexval(val(it.value), w), "mask": J.hexval(m, w)}
            if isinstance(it, ast.RangeKey):
                raise CompileError(it.loc, "range value for a ternary key")
            return {"match_type": "ternary", "key": J.hexval(val(it), w), "mask": J.hexval(full, w)}
        if mk == "lpm":
            if wild:
                return {"match_type": "lpm", "key": J.hexval(0, w), "prefix_length": 0}
            if isinstance(it, ast.MaskKey):
                m = val(it.mask)
                plen = bin(m).count("1")
                if m != ((full << (w - plen)) & full):
                    raise CompileError(it.loc, "lpm mask must be a prefix")
                return {"match_type": "lpm", "key": J.hexval(val(it.value) & m, w), "prefix_length": plen}
            return {"match_type": "lpm", "key": J.hexval(val(it), w), "prefix_length": w}
        if mk == "range":
            if wild:
                return {"match_type": "range", "start": J.hexval(0, w), "end": J.hexval(full, w)}
            if isinstance(it, ast.RangeKey):
                return {"match_type": "range", "start": J.hexval(val(it.lo), w), "end": J.hexval(val(it.hi), w)}
            if isinstance(it, ast.MaskKey):
                raise CompileError(it.loc, "mask value for a range key")
            v = val(it)
            return {"match_type": "range", "start": J.hexval(v, w), "end": J.hexval(v, w)}
        raise CompileError(k.loc, f"unsupported match kind '{mk}' in entries")


def _complex(e: ast.Expr) -> bool:
    """True when a key expression is not a plain field reference."""
    while isinstance(e, ast.Member):
        e = e.expr
    return not isinstance(e, ast.PathExpr)
