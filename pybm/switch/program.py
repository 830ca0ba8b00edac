"""BMv2 JSON -> an indexed program model with a flat PHV layout.

The engine keeps every header field of a packet in one Python list (the PHV),
so generated code can read ``F[17]`` instead of walking objects. This module
assigns those slots and validates the JSON enough that a bad file is refused
with a reason instead of failing later on a packet.

Slot layout of a header instance with ``n`` fields at ``base``:
``base .. base+n-1`` field values, ``base+n`` validity (0/1), and, for a header
with a varbit field, ``base+n+1`` the current varbit width in bits.
Each header stack also owns one slot holding its next index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pybm.switch.errors import ConfigError

SUPPORTED_MAJOR_VERSION = 2


@dataclass
class FieldSpec:
    name: str
    width: int  # bits; 0 for a varbit field
    signed: bool = False
    varbit: bool = False


@dataclass
class HeaderType:
    name: str
    id: int
    fields: list[FieldSpec]
    max_length: int | None = None  # bytes, varbit headers only
    varbit_index: int | None = None

    @property
    def fixed_bits(self) -> int:
        return sum(f.width for f in self.fields)

    def field_index(self, name: str) -> int:
        for i, f in enumerate(self.fields):
            if f.name == name:
                return i
        raise KeyError(name)


@dataclass
class HeaderInstance:
    name: str
    id: int
    htype: HeaderType
    metadata: bool
    base: int = 0
    union: HeaderUnion | None = None

    @property
    def nfields(self) -> int:
        return len(self.htype.fields)

    @property
    def valid_slot(self) -> int:
        return self.base + self.nfields

    @property
    def vlen_slot(self) -> int:
        return self.base + self.nfields + 1

    def slot(self, field_name: str) -> int:
        return self.base + self.htype.field_index(field_name)


@dataclass
class HeaderStack:
    name: str
    id: int
    htype: HeaderType
    headers: list[HeaderInstance]
    next_slot: int = 0


@dataclass
class HeaderUnion:
    name: str
    id: int
    headers: list[HeaderInstance]
    member_names: list[str] = field(default_factory=list)


@dataclass
class HeaderUnionStack:
    name: str
    id: int
    unions: list[HeaderUnion]
    next_slot: int = 0


class Program:
    """Parsed BMv2 JSON with lookups by name and the PHV layout."""

    def __init__(self, doc: dict[str, Any]):
        if not isinstance(doc, dict):
            raise ConfigError("BMv2 JSON: top level must be an object")
        self.doc = doc
        meta = doc.get("__meta__", {})
        version = meta.get("version", [2, 0]) if isinstance(meta, dict) else [2, 0]
        if not version or version[0] != SUPPORTED_MAJOR_VERSION:
            raise ConfigError(f"BMv2 JSON: unsupported format version {version}")
        self.header_types: dict[str, HeaderType] = {}
        self.headers: dict[str, HeaderInstance] = {}
        self.headers_by_id: dict[int, HeaderInstance] = {}
        self.stacks: dict[str, HeaderStack] = {}
        self.unions: dict[str, HeaderUnion] = {}
        self.union_stacks: dict[str, HeaderUnionStack] = {}
        self.errors: dict[str, int] = {}
        self.enums: dict[str, dict[str, int]] = {}
        self.nslots = 0
        self.template: list[int] = []
        self._load_types()
        self._load_instances()
        self._load_errors()
        self.field_aliases: dict[str, tuple[str, str]] = {}
        for alias in doc.get("field_aliases", []):
            try:
                name, (hdr, fld) = alias
            except (TypeError, ValueError):
                raise ConfigError(f"BMv2 JSON: malformed field alias {alias!r}") from None
            self.field_aliases[name] = (hdr, fld)
        self.actions = {a["id"]: a for a in _list(doc, "actions")}
        self.actions_by_name = {a["name"]: a for a in self.actions.values()}
        self.field_lists = {fl["id"]: fl for fl in _list(doc, "field_lists")}
        self.learn_lists = {ll["id"]: ll for ll in _list(doc, "learn_lists")}
        self.calculations = {c["name"]: c for c in _list(doc, "calculations")}
        self.register_arrays = {r["name"]: r for r in _list(doc, "register_arrays")}
        self.counter_arrays = {c["name"]: c for c in _list(doc, "counter_arrays")}
        self.meter_arrays = {m["name"]: m for m in _list(doc, "meter_arrays")}
        self.parse_vsets = {v["name"]: v for v in _list(doc, "parse_vsets")}
        self.checksums = _list(doc, "checksums")
        self.parsers = _list(doc, "parsers")
        self.deparsers = _list(doc, "deparsers")
        self.pipelines = {p["name"]: p for p in _list(doc, "pipelines")}
        for ext in _list(doc, "extern_instances"):
            raise ConfigError(
                f"BMv2 JSON: extern instance '{ext.get('name')}' of type "
                f"'{ext.get('type')}' is not supported by pybm-switch")
        for pipe in self.pipelines.values():
            if pipe.get("action_profiles"):
                names = ", ".join(p["name"] for p in pipe["action_profiles"])
                raise ConfigError(
                    f"BMv2 JSON: action profiles/selectors are not supported ({names})")
        self._check_ids()

    def _check_ids(self) -> None:
        """Ids become parts of generated Python names: they must be integers, unique
        per kind of object (JSON_format.md), or generated functions would collide."""
        doc = self.doc
        objs: list[tuple[str, Any]] = []
        for key in ("headers", "header_stacks", "header_union_stacks", "actions", "field_lists",
                    "learn_lists"):
            objs += [(key, o) for o in _list(doc, key)]
        for p in self.parsers:
            objs += [("parse state", s) for s in p.get("parse_states", [])]
        for pipe in self.pipelines.values():
            for key in ("tables", "conditionals", "action_calls"):
                objs += [(key, o) for o in pipe.get(key, []) or []]
        seen: set[tuple[str, int]] = set()
        for kind, o in objs:
            ids = [("id", o.get("id"))]
            if "action_id" in o:
                ids.append(("action_id", o["action_id"]))
            if isinstance(o.get("default_entry"), dict):
                ids.append(("default action_id", o["default_entry"].get("action_id")))
            for what, v in ids:
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise ConfigError(f"BMv2 JSON: {kind} '{o.get('name')}': {what} {v!r} "
                                      "is not a non-negative integer")
            if (kind, o["id"]) in seen:
                raise ConfigError(f"BMv2 JSON: {kind} '{o.get('name')}': id {o['id']} is used twice")
            seen.add((kind, o["id"]))

    # -- loading ---------------------------------------------------------

    def _load_types(self) -> None:
        for ht in _list(self.doc, "header_types"):
            fields: list[FieldSpec] = []
            varbit_index = None
            for i, f in enumerate(ht.get("fields", [])):
                if not isinstance(f, list) or len(f) < 2:
                    raise ConfigError(f"BMv2 JSON: header type '{ht.get('name')}': bad field {f!r}")
                name, width = f[0], f[1]
                signed = bool(f[2]) if len(f) > 2 else False
                if width == "*":
                    if varbit_index is not None:
                        raise ConfigError(
                            f"BMv2 JSON: header type '{ht['name']}' has two varbit fields")
                    varbit_index = i
                    fields.append(FieldSpec(name, 0, False, True))
                elif isinstance(width, int) and width >= 0:
                    fields.append(FieldSpec(name, width, signed))
                else:
                    raise ConfigError(
                        f"BMv2 JSON: header type '{ht['name']}': bad width for field {name}")
            t = HeaderType(ht["name"], ht.get("id", 0), fields, ht.get("max_length"), varbit_index)
            if varbit_index is not None and not (isinstance(t.max_length, int)
                                                 and t.max_length >= 0):
                raise ConfigError(f"BMv2 JSON: varbit header type '{t.name}' lacks a valid max_length")
            self.header_types[t.name] = t

    def _load_instances(self) -> None:
        slot = 0
        for h in _list(self.doc, "headers"):
            htype = self.header_types.get(h.get("header_type"))
            if htype is None:
                raise ConfigError(
                    f"BMv2 JSON: header '{h.get('name')}' has unknown type '{h.get('header_type')}'")
            inst = HeaderInstance(h["name"], h["id"], htype, bool(h.get("metadata")))
            inst.base = slot
            slot += inst.nfields + 1 + (1 if htype.varbit_index is not None else 0)
            self.headers[inst.name] = inst
            self.headers_by_id[inst.id] = inst
        for s in _list(self.doc, "header_stacks"):
            try:
                members = [self.headers_by_id[i] for i in s["header_ids"]]
            except KeyError as e:
                raise ConfigError(f"BMv2 JSON: stack '{s.get('name')}': unknown header id {e}") from None
            stack = HeaderStack(s["name"], s["id"], self.header_types[s["header_type"]], members, slot)
            if any(m.htype is not stack.htype for m in members):
                raise ConfigError(f"BMv2 JSON: stack '{s['name']}': members are not all of type "
                                  f"'{s['header_type']}'")
            slot += 1
            self.stacks[stack.name] = stack
        union_types = {u["name"]: u for u in _list(self.doc, "header_union_types")}
        for u in _list(self.doc, "header_unions"):
            members = [self.headers_by_id[i] for i in u["header_ids"]]
            utype = union_types.get(u.get("union_type"), {})
            declared = [m[1] for m in utype.get("headers", [])]
            if declared and declared != [m.htype.name for m in members]:
                raise ConfigError(f"BMv2 JSON: union '{u['name']}': member headers do not have "
                                  f"the types of union type '{u.get('union_type')}'")
            names = [m[0] for m in utype.get("headers", [])] or [m.name for m in members]
            union = HeaderUnion(u["name"], u["id"], members, names)
            for m in members:
                m.union = union
            self.unions[union.name] = union
        unions_by_id = {u.id: u for u in self.unions.values()}
        for us in _list(self.doc, "header_union_stacks"):
            members = [unions_by_id[i] for i in us["header_union_ids"]]
            shapes = {tuple(h.htype.name for h in u.headers) for u in members}
            if len(shapes) > 1:
                raise ConfigError(f"BMv2 JSON: union stack '{us['name']}': unions of different types")
            self.union_stacks[us["name"]] = HeaderUnionStack(us["name"], us["id"], members, slot)
            slot += 1
        self.nslots = slot
        template = [0] * slot
        for inst in self.headers.values():
            if inst.metadata:
                template[inst.valid_slot] = 1
        self.template = template

    def _load_errors(self) -> None:
        for e in _list(self.doc, "errors"):
            if (not isinstance(e, list) or len(e) != 2 or not isinstance(e[1], int)
                    or isinstance(e[1], bool) or e[1] < 0):
                raise ConfigError(f"BMv2 JSON: malformed error declaration {e!r}")
            self.errors[e[0]] = e[1]
        for en in _list(self.doc, "enums"):
            self.enums[en["name"]] = {k: v for k, v in en.get("entries", [])}

    # -- lookups ---------------------------------------------------------

    def header(self, name: str) -> HeaderInstance:
        try:
            return self.headers[name]
        except KeyError:
            raise ConfigError(f"BMv2 JSON: unknown header instance '{name}'") from None

    def field_slot(self, hdr: str, fld: str) -> int:
        inst = self.header(hdr)
        if fld == "$valid$":
            return inst.valid_slot
        try:
            return inst.slot(fld)
        except KeyError:
            raise ConfigError(f"BMv2 JSON: header '{hdr}' has no field '{fld}'") from None

    def field_spec(self, hdr: str, fld: str) -> FieldSpec:
        inst = self.header(hdr)
        if fld == "$valid$":
            return FieldSpec("$valid$", 1)
        return inst.htype.fields[inst.htype.field_index(fld)]

    def resolve_alias(self, name: str) -> tuple[str, str] | None:
        """A target field such as 'intrinsic_metadata.mcast_grp' -> (header, field)."""
        if name in self.field_aliases:
            return self.field_aliases[name]
        hdr, _, fld = name.partition(".")
        inst = self.headers.get(hdr)
        if inst is not None:
            try:
                inst.htype.field_index(fld)
                return hdr, fld
            except KeyError:
                return None
        return None

    def error_code(self, name: str, default: int) -> int:
        return self.errors.get(name, default)


def load_program(source: str | bytes | dict[str, Any]) -> Program:
    """Parse BMv2 JSON text (or an already decoded document)."""
    if isinstance(source, dict):
        return Program(source)
    try:
        doc = json.loads(source)
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"BMv2 JSON: not valid JSON: {e}") from None
    try:
        return Program(doc)
    except ConfigError:
        raise
    except (KeyError, TypeError, IndexError, AttributeError, ValueError, OverflowError) as e:
        raise ConfigError(f"BMv2 JSON: malformed document ({type(e).__name__}: {e})") from None


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    v = doc.get(key, [])
    if v is None:
        return []
    if not isinstance(v, list):
        raise ConfigError(f"BMv2 JSON: '{key}' must be an array")
    return v
