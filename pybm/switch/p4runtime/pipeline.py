"""A forwarding pipeline as the P4Runtime service sees it.

:class:`Pipeline` indexes a P4Info by id and checks it against the BMv2 JSON
it came with: every P4Info object must exist in the JSON under the same
(fully qualified) name with the same shape, the way BMv2's PI layer maps
them. A mismatch is refused with INVALID_ARGUMENT and the reason, before the
switch is touched.

:class:`Binding` ties a pipeline to the engine object that holds its state
(the running :class:`~pybm.switch.engine.Switch`, or a :class:`StagedTarget`
for VERIFY_AND_SAVE and for dry runs) together with the P4Runtime-only state
the engine has no place for (cookies of table entries, replica lists as the
client wrote them, digest configurations, ...).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from p4.config.v1 import p4info_pb2, p4types_pb2
from p4.v1 import p4runtime_pb2

from pybm.switch.compiler import CompiledProgram, compile_program
from pybm.switch.engine import Switch
from pybm.switch.errors import ConfigError
from pybm.switch.p4runtime.errors import INVALID_ARGUMENT, P4RTError
from pybm.switch.pre import Pre
from pybm.switch.program import Program, load_program

MF = p4info_pb2.MatchField
EXACT, LPM, TERNARY, RANGE, OPTIONAL = MF.EXACT, MF.LPM, MF.TERNARY, MF.RANGE, MF.OPTIONAL
MATCH_NAMES = {EXACT: "EXACT", LPM: "LPM", TERNARY: "TERNARY", RANGE: "RANGE", OPTIONAL: "OPTIONAL"}
# P4Info match type -> BMv2 JSON key kinds it may be compiled to (p4c emits
# optional keys as ternary, and a header validity key as exact or valid).
_ENGINE_KINDS = {EXACT: ("exact", "valid"), LPM: ("lpm",), TERNARY: ("ternary",),
                 RANGE: ("range",), OPTIONAL: ("ternary", "optional")}

SCOPE_TABLE_AND_DEFAULT = p4info_pb2.ActionRef.TABLE_AND_DEFAULT
SCOPE_TABLE_ONLY = p4info_pb2.ActionRef.TABLE_ONLY
SCOPE_DEFAULT_ONLY = p4info_pb2.ActionRef.DEFAULT_ONLY

COUNTER_BYTES = p4info_pb2.CounterSpec.BYTES
COUNTER_PACKETS = p4info_pb2.CounterSpec.PACKETS
COUNTER_BOTH = p4info_pb2.CounterSpec.BOTH
METER_BYTES = p4info_pb2.MeterSpec.BYTES


@dataclass
class MatchFieldInfo:
    id: int
    name: str
    bitwidth: int
    match_type: int  # p4info MatchField.MatchType
    engine_kind: str = "exact"  # the kind of the corresponding BMv2 JSON key


@dataclass
class ParamInfo:
    id: int
    name: str
    bitwidth: int


@dataclass
class ActionInfo:
    id: int
    name: str
    params: list[ParamInfo]
    params_by_id: dict[int, ParamInfo]


@dataclass
class DirectResourceInfo:
    id: int
    name: str
    unit: int
    table_id: int


@dataclass
class TableInfo:
    id: int
    name: str
    fields: list[MatchFieldInfo]
    fields_by_id: dict[int, MatchFieldInfo]
    scopes: dict[int, int]  # action id -> ActionRef scope
    needs_priority: bool
    is_const: bool
    const_default_action_id: int
    idle_timeout: bool
    size: int
    direct_counter: DirectResourceInfo | None = None
    direct_meter: DirectResourceInfo | None = None


@dataclass
class ArrayInfo:
    """An indexed counter, meter or register."""
    id: int
    name: str
    size: int
    unit: int = 0
    bitwidth: int = 0  # registers
    signed: bool = False  # registers of type int<W>
    bitstring: bool = True  # registers: False if the P4Info type is not a bitstring


@dataclass
class ValueSetInfo:
    id: int
    name: str
    size: int
    fields: list[MatchFieldInfo]
    fields_by_id: dict[int, MatchFieldInfo]


@dataclass
class DigestInfo:
    id: int
    name: str
    kind: str  # struct | tuple | bitstring: the shape of the P4Data it is sent as
    members: list[tuple[int, bool]]  # (bitwidth, signed) per learned field


@dataclass
class ControllerHeader:
    """The @controller_header("packet_in"/"packet_out") layout, in header order."""
    name: str
    fields: list[tuple[int, str, int]]  # (metadata id, name, bitwidth)

    @property
    def nbits(self) -> int:
        return sum(w for _, _, w in self.fields)

    @property
    def nbytes(self) -> int:
        return (self.nbits + 7) // 8


class Pipeline:
    """A validated ForwardingPipelineConfig (P4Info + BMv2 JSON + cookie)."""

    def __init__(self, config: p4runtime_pb2.ForwardingPipelineConfig, prog: Program,
                 cp: CompiledProgram):
        self.config = p4runtime_pb2.ForwardingPipelineConfig()
        self.config.CopyFrom(config)
        self.p4info = self.config.p4info
        self.device_config = config.p4_device_config
        self.compiled = cp  # the check compile; the switch compiles its own copy
        self.tables: dict[int, TableInfo] = {}
        self.actions: dict[int, ActionInfo] = {}
        self.action_ids: dict[str, int] = {}
        self.counters: dict[int, ArrayInfo] = {}
        self.direct_counters: dict[int, DirectResourceInfo] = {}
        self.meters: dict[int, ArrayInfo] = {}
        self.direct_meters: dict[int, DirectResourceInfo] = {}
        self.registers: dict[int, ArrayInfo] = {}
        self.value_sets: dict[int, ValueSetInfo] = {}
        self.digests: dict[int, DigestInfo] = {}
        self.digests_by_name: dict[str, DigestInfo] = {}
        self.packet_in: ControllerHeader | None = None
        self.packet_out: ControllerHeader | None = None
        _Checker(self, prog, cp).run()

    @classmethod
    def build(cls, config: p4runtime_pb2.ForwardingPipelineConfig, *,
              drop_port: int = 511) -> Pipeline:
        """Parse, compile and cross-check a config; INVALID_ARGUMENT if it cannot be realized."""
        if not config.p4_device_config:
            raise P4RTError(INVALID_ARGUMENT,
                            "p4_device_config is empty: pybm-switch needs the BMv2 JSON there")
        try:
            prog = load_program(config.p4_device_config)
            cp = compile_program(prog, drop_port=drop_port)
        except ConfigError as e:
            raise P4RTError(INVALID_ARGUMENT, f"cannot load p4_device_config: {e}") from None
        except Exception as e:  # a malformed JSON must never take the server down
            raise P4RTError(INVALID_ARGUMENT,
                            f"cannot load p4_device_config: {type(e).__name__}: {e}") from None
        return cls(config, prog, cp)

    @property
    def cookie(self) -> p4runtime_pb2.ForwardingPipelineConfig.Cookie | None:
        return self.config.cookie if self.config.HasField("cookie") else None

    def table(self, table_id: int) -> TableInfo:
        t = self.tables.get(table_id)
        if t is None:
            raise P4RTError(INVALID_ARGUMENT, f"unknown table id {table_id}")
        return t

    def action(self, action_id: int) -> ActionInfo:
        a = self.actions.get(action_id)
        if a is None:
            raise P4RTError(INVALID_ARGUMENT, f"unknown action id {action_id}")
        return a


def _type_bits(spec: p4types_pb2.P4DataTypeSpec) -> tuple[int, bool] | None:
    """(bitwidth, signed) of a bit<W>/int<W> type spec, else None."""
    if spec.WhichOneof("type_spec") != "bitstring":
        return None
    kind = spec.bitstring.WhichOneof("type_spec")
    if kind == "bit":
        return spec.bitstring.bit.bitwidth, False
    if kind == "int":
        return spec.bitstring.int.bitwidth, True
    return None


class _Checker:
    """Fills a Pipeline from its P4Info, refusing what the JSON does not back."""

    def __init__(self, pipe: Pipeline, prog: Program, cp: CompiledProgram):
        self.pipe = pipe
        self.prog = prog
        self.cp = cp
        self.p4info = pipe.p4info
        self.ids: set[int] = set()

    def fail(self, msg: str) -> None:
        raise P4RTError(INVALID_ARGUMENT, f"P4Info does not match the BMv2 JSON: {msg}")

    def _id(self, pre: p4info_pb2.Preamble, kind: str) -> int:
        if pre.id == 0:
            raise P4RTError(INVALID_ARGUMENT, f"P4Info {kind} '{pre.name}' has id 0")
        if pre.id in self.ids:
            raise P4RTError(INVALID_ARGUMENT, f"P4Info id {pre.id:#x} is used twice")
        self.ids.add(pre.id)
        return pre.id

    def run(self) -> None:
        p4info = self.p4info
        if p4info.action_profiles:
            names = ", ".join(ap.preamble.name for ap in p4info.action_profiles)
            raise P4RTError(INVALID_ARGUMENT,
                            f"action profiles/selectors are not supported by pybm-switch ({names})")
        if p4info.externs:
            names = ", ".join(e.extern_type_name for e in p4info.externs)
            raise P4RTError(INVALID_ARGUMENT,
                            f"architecture-specific externs are not supported ({names})")
        self._actions()
        self._direct_resources()
        self._tables()
        self._arrays()
        self._value_sets()
        self._digests()
        self._controller_headers()

    def _actions(self) -> None:
        for a in self.p4info.actions:
            aid = self._id(a.preamble, "action")
            params = [ParamInfo(p.id, p.name, p.bitwidth) for p in a.params]
            by_id = {p.id: p for p in params}
            if len(by_id) != len(params):
                raise P4RTError(INVALID_ARGUMENT, f"action '{a.preamble.name}' repeats a param id")
            ja = self.prog.actions_by_name.get(a.preamble.name)
            if ja is None:
                self.fail(f"action '{a.preamble.name}' is not in the JSON")
            jparams = [(p["name"], int(p["bitwidth"])) for p in ja.get("runtime_data", [])]
            if [w for _, w in jparams] != [p.bitwidth for p in params]:
                self.fail(f"action '{a.preamble.name}': parameters {[(p.name, p.bitwidth) for p in params]}"
                          f" vs {jparams} in the JSON")
            self.pipe.actions[aid] = ActionInfo(aid, a.preamble.name, params, by_id)
            self.pipe.action_ids[a.preamble.name] = aid

    def _direct_resources(self) -> None:
        for c in self.p4info.direct_counters:
            cid = self._id(c.preamble, "direct counter")
            arr = self.cp.counters.get(c.preamble.name)
            if arr is None or not arr.is_direct:
                self.fail(f"direct counter '{c.preamble.name}' is not a direct counter in the JSON")
            self.pipe.direct_counters[cid] = DirectResourceInfo(
                cid, c.preamble.name, c.spec.unit, c.direct_table_id)
        for m in self.p4info.direct_meters:
            mid = self._id(m.preamble, "direct meter")
            arr = self.cp.meters.get(m.preamble.name)
            if arr is None or not arr.is_direct:
                self.fail(f"direct meter '{m.preamble.name}' is not a direct meter in the JSON")
            self._check_meter_unit(m.preamble.name, m.spec.unit, arr.by_bytes)
            self.pipe.direct_meters[mid] = DirectResourceInfo(
                mid, m.preamble.name, m.spec.unit, m.direct_table_id)

    def _check_meter_unit(self, name: str, unit: int, by_bytes: bool) -> None:
        if unit and (unit == METER_BYTES) != by_bytes:
            self.fail(f"meter '{name}' counts {'bytes' if by_bytes else 'packets'} in the JSON")

    def _tables(self) -> None:
        pipe = self.pipe
        for t in self.p4info.tables:
            tid = self._id(t.preamble, "table")
            name = t.preamble.name
            if t.implementation_id:
                raise P4RTError(INVALID_ARGUMENT,
                                f"table '{name}' uses an action profile: not supported by pybm-switch")
            jt = self.cp.tables.get(name)
            if jt is None:
                self.fail(f"table '{name}' is not in the JSON")
            if len(jt.keys) != len(t.match_fields):
                self.fail(f"table '{name}' has {len(t.match_fields)} match fields, "
                          f"{len(jt.keys)} keys in the JSON")
            fields = []
            for mf, key in zip(t.match_fields, jt.keys):
                fields.append(self._match_field(f"table '{name}'", mf, key.width, key.kind))
            by_id = {f.id: f for f in fields}
            if len(by_id) != len(fields):
                raise P4RTError(INVALID_ARGUMENT, f"table '{name}' repeats a match field id")
            scopes = {}
            for ref in t.action_refs:
                a = pipe.actions.get(ref.id)
                if a is None:
                    raise P4RTError(INVALID_ARGUMENT,
                                    f"table '{name}' refers to unknown action id {ref.id}")
                if a.name not in jt.actions_by_name:
                    self.fail(f"table '{name}': action '{a.name}' is not one of its JSON actions")
                scopes[ref.id] = ref.scope
            info = TableInfo(
                tid, name, fields, by_id, scopes,
                needs_priority=any(f.match_type in (TERNARY, RANGE, OPTIONAL) for f in fields),
                is_const=t.is_const_table, const_default_action_id=t.const_default_action_id,
                idle_timeout=t.idle_timeout_behavior == p4info_pb2.Table.NOTIFY_CONTROL,
                size=t.size)
            for rid in t.direct_resource_ids:
                if rid in pipe.direct_counters:
                    info.direct_counter = pipe.direct_counters[rid]
                    if not jt.with_counters:
                        self.fail(f"table '{name}' has no direct counter in the JSON")
                elif rid in pipe.direct_meters:
                    info.direct_meter = pipe.direct_meters[rid]
                    if jt.direct_meter is None:
                        self.fail(f"table '{name}' has no direct meter in the JSON")
                else:
                    raise P4RTError(INVALID_ARGUMENT,
                                    f"table '{name}' refers to unknown direct resource id {rid}")
            if info.idle_timeout and not jt.support_timeout:
                self.fail(f"table '{name}' does not support idle timeouts in the JSON")
            pipe.tables[tid] = info
        for d in list(pipe.direct_counters.values()) + list(pipe.direct_meters.values()):
            t = pipe.tables.get(d.table_id)
            if t is None:
                raise P4RTError(INVALID_ARGUMENT,
                                f"direct resource '{d.name}' refers to unknown table id {d.table_id}")
            arr = self.cp.counters.get(d.name) or self.cp.meters.get(d.name)
            if arr.binding not in (None, t.name):
                self.fail(f"direct resource '{d.name}' is bound to '{arr.binding}', not '{t.name}'")

    def _match_field(self, where: str, mf: p4info_pb2.MatchField, width: int | None,
                     kind: str | None) -> MatchFieldInfo:
        if mf.WhichOneof("match") != "match_type" or mf.match_type not in MATCH_NAMES:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: match field '{mf.name}' has an unsupported match kind")
        bitwidth = mf.bitwidth
        if width is not None and width != bitwidth:
            if bitwidth != 0:
                self.fail(f"{where}: match field '{mf.name}' is {bitwidth} bits in P4Info, "
                          f"{width} in the JSON")
            # p4c gives keys of type error (or another non-bitstring type) no
            # bitwidth in P4Info; the JSON knows how wide the target keeps them.
            bitwidth = width
        if kind is not None and kind not in _ENGINE_KINDS[mf.match_type]:
            self.fail(f"{where}: match field '{mf.name}' is {MATCH_NAMES[mf.match_type]} in "
                      f"P4Info, {kind} in the JSON")
        return MatchFieldInfo(mf.id, mf.name, bitwidth, mf.match_type, kind or "exact")

    def _arrays(self) -> None:
        pipe, cp = self.pipe, self.cp
        for c in self.p4info.counters:
            cid = self._id(c.preamble, "counter")
            arr = cp.counters.get(c.preamble.name)
            if arr is None or arr.is_direct:
                self.fail(f"counter '{c.preamble.name}' is not an indexed counter in the JSON")
            if arr.size != c.size:
                self.fail(f"counter '{c.preamble.name}' has {c.size} cells, {arr.size} in the JSON")
            pipe.counters[cid] = ArrayInfo(cid, c.preamble.name, c.size, unit=c.spec.unit)
        for m in self.p4info.meters:
            mid = self._id(m.preamble, "meter")
            arr = cp.meters.get(m.preamble.name)
            if arr is None or arr.is_direct:
                self.fail(f"meter '{m.preamble.name}' is not an indexed meter in the JSON")
            if arr.size != m.size:
                self.fail(f"meter '{m.preamble.name}' has {m.size} cells, {arr.size} in the JSON")
            self._check_meter_unit(m.preamble.name, m.spec.unit, arr.by_bytes)
            pipe.meters[mid] = ArrayInfo(mid, m.preamble.name, m.size, unit=m.spec.unit)
        for r in self.p4info.registers:
            rid = self._id(r.preamble, "register")
            arr = cp.registers.get(r.preamble.name)
            if arr is None:
                self.fail(f"register '{r.preamble.name}' is not in the JSON")
            if arr.size != r.size:
                self.fail(f"register '{r.preamble.name}' has {r.size} cells, {arr.size} in the JSON")
            bits = _type_bits(r.type_spec)
            info = ArrayInfo(rid, r.preamble.name, r.size, bitwidth=arr.bitwidth)
            if bits is None:
                info.bitstring = False
            else:
                if bits[0] != arr.bitwidth:
                    self.fail(f"register '{r.preamble.name}' is {bits[0]} bits wide, "
                              f"{arr.bitwidth} in the JSON")
                info.signed = bits[1]
            pipe.registers[rid] = info

    def _value_sets(self) -> None:
        for vs in self.p4info.value_sets:
            vid = self._id(vs.preamble, "value set")
            jvs = self.cp.vsets.get(vs.preamble.name)
            if jvs is None:
                self.fail(f"value set '{vs.preamble.name}' is not in the JSON")
            where = f"value set '{vs.preamble.name}'"
            fields = [self._match_field(where, mf, None, None) for mf in vs.match]
            total = sum(f.bitwidth for f in fields)
            if jvs.bitwidth and total != jvs.bitwidth:
                self.fail(f"{where} is {total} bits wide, {jvs.bitwidth} in the JSON")
            by_id = {f.id: f for f in fields}
            if len(by_id) != len(fields):
                raise P4RTError(INVALID_ARGUMENT, f"{where} repeats a match field id")
            self.pipe.value_sets[vid] = ValueSetInfo(vid, vs.preamble.name, vs.size, fields, by_id)

    def _digests(self) -> None:
        learn = {ll.get("name"): ll for ll in self.prog.learn_lists.values()}
        types = self.p4info.type_info
        for d in self.p4info.digests:
            did = self._id(d.preamble, "digest")
            name = d.preamble.name
            ll = learn.get(name)
            if ll is None:
                self.fail(f"digest '{name}' has no learn list of that name in the JSON")
            kind = d.type_spec.WhichOneof("type_spec")
            specs: list[p4types_pb2.P4DataTypeSpec]
            if kind == "struct":
                st = types.structs.get(d.type_spec.struct.name)
                if st is None:
                    raise P4RTError(INVALID_ARGUMENT,
                                    f"digest '{name}': struct '{d.type_spec.struct.name}' "
                                    "is not in P4Info type_info")
                specs = [m.type_spec for m in st.members]
            elif kind == "tuple":
                specs = list(d.type_spec.tuple.members)
            elif kind == "bitstring":
                specs = [d.type_spec]
            else:
                raise P4RTError(INVALID_ARGUMENT,
                                f"digest '{name}': only struct, tuple or bitstring data supported")
            members = []
            for s in specs:
                bits = _type_bits(s)
                if bits is None:
                    raise P4RTError(INVALID_ARGUMENT,
                                    f"digest '{name}': members must be bit<W> or int<W>")
                members.append(bits)
            if len(members) != len(ll.get("elements", [])):
                self.fail(f"digest '{name}' has {len(members)} members, its learn list "
                          f"{len(ll.get('elements', []))} fields")
            info = DigestInfo(did, name, kind, members)
            self.pipe.digests[did] = info
            self.pipe.digests_by_name[name] = info

    def _controller_headers(self) -> None:
        for cpm in self.p4info.controller_packet_metadata:
            self._id(cpm.preamble, "controller header")
            name = cpm.preamble.name
            fields = [(m.id, m.name, m.bitwidth) for m in cpm.metadata]
            if len({f[0] for f in fields}) != len(fields):
                raise P4RTError(INVALID_ARGUMENT, f"controller header '{name}' repeats an id")
            if name == "packet_in":
                self.pipe.packet_in = ControllerHeader(name, fields)
            elif name == "packet_out":
                self.pipe.packet_out = ControllerHeader(name, fields)


class StagedTarget(Switch):
    """Runtime state of a compiled program that forwards no packets.

    It serves VERIFY_AND_SAVE (writes land here until COMMIT replays them on
    the switch) and dry runs of RECONCILE_AND_COMMIT. It inherits the
    switch's runtime API so both behave identically; ``Switch.__init__`` is
    deliberately not called because it restarts the switch clock.
    """

    def __init__(self, cp: CompiledProgram):  # noqa: D107
        self.cp = cp
        self.lock = threading.RLock()
        self.pre = Pre()
        self.json_text = b""


@dataclass
class EntryMeta:
    """P4Runtime fields of a table entry that the engine does not store."""
    controller_metadata: int = 0
    metadata: bytes = b""


@dataclass
class Binding:
    """A pipeline bound to the engine object holding its runtime state."""
    pipeline: Pipeline
    target: Any  # Switch or StagedTarget
    entry_meta: dict[tuple[str, int], EntryMeta] = field(default_factory=dict)
    default_meta: dict[str, EntryMeta] = field(default_factory=dict)
    mc_groups: dict[int, p4runtime_pb2.MulticastGroupEntry] = field(default_factory=dict)
    clone_sessions: dict[int, p4runtime_pb2.CloneSessionEntry] = field(default_factory=dict)
    vset_members: dict[int, list[p4runtime_pb2.ValueSetMember]] = field(default_factory=dict)
    digest_configs: dict[int, p4runtime_pb2.DigestEntry.Config] = field(default_factory=dict)
    # Updates that succeeded on a staged target, replayed on the switch at COMMIT.
    write_log: list[p4runtime_pb2.Update] | None = None
