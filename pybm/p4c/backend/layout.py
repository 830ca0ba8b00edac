"""Storage layout of a BMv2 program: header types, header instances, stacks,
unions and the 'scalars' metadata header that holds every scalar variable."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..midend.locations import header_field_names, header_leaves
from ..types import BitT, BoolT, P4Type, StructT, VarbitT, strip_newtype, width_of


@dataclass
class HeaderType:
    name: str
    fields: list[list]  # [name, width, signed] or [name, '*'] for varbit
    max_length: int | None = None


@dataclass
class HeaderInstance:
    name: str
    htype: str
    metadata: bool
    struct: StructT | None = None


@dataclass
class Layout:
    header_types: list[HeaderType] = field(default_factory=list)
    headers: list[HeaderInstance] = field(default_factory=list)
    stacks: list[dict] = field(default_factory=list)
    union_types: list[dict] = field(default_factory=list)
    unions: list[dict] = field(default_factory=list)
    union_stacks: list[dict] = field(default_factory=list)
    scalars: list[list] = field(default_factory=list)
    _names: set[str] = field(default_factory=set)
    _scalar_names: set[str] = field(default_factory=set)
    _htype_by_struct: dict[int, str] = field(default_factory=dict)
    _htype_names: set[str] = field(default_factory=set)
    _union_type_by_struct: dict[int, str] = field(default_factory=dict)

    def fresh(self, base: str) -> str:
        """A header/stack/union instance name not used yet."""
        base = base or "tmp"
        if base not in self._names:
            self._names.add(base)
            return base
        i = 0
        while f"{base}_{i}" in self._names:
            i += 1
        name = f"{base}_{i}"
        self._names.add(name)
        return name

    def reserve(self, name: str) -> None:
        self._names.add(name)

    def new_scalar(self, base: str, width: int, signed: bool = False) -> str:
        base = re.sub(r"[^A-Za-z0-9_.$]", "_", base) or "tmp"
        name = base
        i = 0
        while name in self._scalar_names:
            name = f"{base}_{i}"
            i += 1
        self._scalar_names.add(name)
        self.scalars.append([name, width, signed])
        return name

    def header_type_for(self, st: StructT) -> str:
        key = id(st)
        if key in self._htype_by_struct:
            return self._htype_by_struct[key]
        name = st.name
        i = 0
        while name in self._htype_names:
            name = f"{st.name}_{i}"
            i += 1
        self._htype_names.add(name)
        fields: list[list] = []
        max_len = None
        fixed = 0
        names = header_field_names(st)
        for path, ft in header_leaves(st):
            fname = names[path]
            b = strip_newtype(ft)
            if isinstance(b, VarbitT):
                fields.append([fname, "*"])
                max_len = b.max_width
            else:
                w = width_of(b)
                signed = isinstance(b, BitT) and b.signed
                fields.append([fname, w, signed])
                fixed += w
        ht = HeaderType(name, fields)
        if max_len is not None:
            ht.max_length = (fixed + max_len + 7) // 8
        self.header_types.append(ht)
        self._htype_by_struct[key] = name
        return name

    def add_header_type(self, name: str, fields: list[list]) -> None:
        self._htype_names.add(name)
        self.header_types.append(HeaderType(name, fields))

    def new_header(self, base: str, st: StructT, metadata: bool = False) -> str:
        name = self.fresh(base)
        self.headers.append(HeaderInstance(name, self.header_type_for(st), metadata, st))
        return name

    def new_varbit_var(self, base: str, vt: VarbitT) -> str:
        """A varbit variable: a metadata header of one varbit field, as p4c makes it
        (header type '$varbitN', field 'field')."""
        tname = f"$varbit{vt.max_width}"
        if tname not in self._htype_names:
            self._htype_names.add(tname)
            self.header_types.append(HeaderType(tname, [["field", "*"]], (vt.max_width + 7) // 8))
        name = self.fresh(base)
        self.headers.append(HeaderInstance(name, tname, True))
        return name

    def union_type_for(self, st: StructT) -> str:
        key = id(st)
        if key in self._union_type_by_struct:
            return self._union_type_by_struct[key]
        name = st.name
        self._union_type_by_struct[key] = name
        self.union_types.append({
            "name": name, "id": len(self.union_types),
            "headers": [[fn, self.header_type_for(ft)] for fn, ft, _ in st.fields],
        })
        return name


def scalar_width(t: P4Type) -> int:
    t = strip_newtype(t)
    if isinstance(t, BoolT):
        return 1
    return width_of(t)
