"""RECONCILE_AND_COMMIT: carry the forwarding state over to a new pipeline.

The state the controller wrote (table entries with their direct counter and
meter configuration, modified default entries, multicast groups, clone
sessions, value sets, indexed meter configurations and digest
configurations) is read back as Write updates, re-expressed with the new
P4Info's ids (objects are matched by name, as BMv2's PI layer matches P4Info
and JSON), tried on a staged copy of the new program and only then replayed
on the switch. Registers and counters are data-plane state and restart at 0,
as after any program load.
"""

from __future__ import annotations

from p4.v1 import p4runtime_pb2

from pybm.switch.p4runtime import externs, replication, tables
from pybm.switch.p4runtime.errors import INVALID_ARGUMENT, P4RTError
from pybm.switch.p4runtime.pipeline import Binding, Pipeline, TableInfo

Update = p4runtime_pb2.Update


def snapshot(b: Binding) -> list[p4runtime_pb2.Update]:
    """The controller-written state of a binding, as updates against its own P4Info."""
    out: list[p4runtime_pb2.Update] = []

    def add(utype: int, entity: p4runtime_pb2.Entity) -> None:
        out.append(Update(type=utype, entity=entity))

    for info in b.pipeline.tables.values():
        table = b.target.table(info.name)
        if not (info.is_const or table.immutable):
            want = p4runtime_pb2.TableEntry(table_id=info.id)
            if info.direct_counter is not None:
                want.counter_data.SetInParent()
            if info.direct_meter is not None:
                want.meter_config.SetInParent()
            for ent in tables.read_table_entries(b, want):
                add(Update.INSERT, ent)
        if info.name in b.default_meta:  # the client changed the default entry
            want = p4runtime_pb2.TableEntry(table_id=info.id, is_default_action=True)
            for ent in tables.read_table_entries(b, want):
                add(Update.MODIFY, ent)
    pre = p4runtime_pb2.PacketReplicationEngineEntry()
    pre.multicast_group_entry.SetInParent()
    for ent in replication.read_pre(b, pre):
        add(Update.INSERT, ent)
    pre = p4runtime_pb2.PacketReplicationEngineEntry()
    pre.clone_session_entry.SetInParent()
    for ent in replication.read_pre(b, pre):
        add(Update.INSERT, ent)
    for vid in b.vset_members:
        for ent in externs.read_value_sets(b, p4runtime_pb2.ValueSetEntry(value_set_id=vid)):
            add(Update.MODIFY, ent)
    for ent in externs.read_meters(b, p4runtime_pb2.MeterEntry()):
        if ent.meter_entry.HasField("config"):
            add(Update.MODIFY, ent)
    return out


def _fail(msg: str) -> None:
    raise P4RTError(INVALID_ARGUMENT, f"RECONCILE_AND_COMMIT cannot preserve the state: {msg}")


class _Translator:
    def __init__(self, old: Pipeline, new: Pipeline):
        self.old, self.new = old, new
        self.tables = {t.name: t for t in new.tables.values()}
        self.vsets = {v.name: v for v in new.value_sets.values()}
        self.meters = {m.name: m for m in new.meters.values()}

    def update(self, u: p4runtime_pb2.Update) -> p4runtime_pb2.Update:
        out = Update()
        out.CopyFrom(u)
        kind = out.entity.WhichOneof("entity")
        if kind == "table_entry":
            self.table_entry(out.entity.table_entry)
        elif kind == "value_set_entry":
            vs = out.entity.value_set_entry
            old = self.old.value_sets[vs.value_set_id]
            new = self.vsets.get(old.name)
            if new is None:
                _fail(f"value set '{old.name}' is gone")
            names = {f.id: f.name for f in old.fields}
            new_ids = {f.name: f.id for f in new.fields}
            vs.value_set_id = new.id
            for m in vs.members:
                for fm in m.match:
                    fm.field_id = self._field(new_ids, names[fm.field_id], old.name)
        elif kind == "meter_entry":
            me = out.entity.meter_entry
            name = self.old.meters[me.meter_id].name
            if name not in self.meters:
                _fail(f"meter '{name}' is gone")
            me.meter_id = self.meters[name].id
        return out

    @staticmethod
    def _field(new_ids: dict[str, int], name: str, where: str) -> int:
        if name not in new_ids:
            _fail(f"'{where}' has no match field '{name}' any more")
        return new_ids[name]

    def table_entry(self, te: p4runtime_pb2.TableEntry) -> None:
        old: TableInfo = self.old.tables[te.table_id]
        new = self.tables.get(old.name)
        if new is None:
            _fail(f"table '{old.name}' is gone")
        te.table_id = new.id
        names = {f.id: f.name for f in old.fields}
        new_ids = {f.name: f.id for f in new.fields}
        for fm in te.match:
            fm.field_id = self._field(new_ids, names[fm.field_id], old.name)
        if te.action.HasField("action"):
            a = te.action.action
            old_a = self.old.actions[a.action_id]
            new_id = self.new.action_ids.get(old_a.name)
            if new_id is None:
                _fail(f"action '{old_a.name}' is gone")
            new_a = self.new.actions[new_id]
            a.action_id = new_id
            new_params = {p.name: p.id for p in new_a.params}
            for p in a.params:
                pname = old_a.params_by_id[p.param_id].name
                if pname not in new_params:
                    _fail(f"action '{old_a.name}' has no parameter '{pname}' any more")
                p.param_id = new_params[pname]
        if new.direct_counter is None:
            te.ClearField("counter_data")
        if new.direct_meter is None:
            te.ClearField("meter_config")


def translate(updates: list[p4runtime_pb2.Update], old: Pipeline, new: Pipeline
              ) -> list[p4runtime_pb2.Update]:
    t = _Translator(old, new)
    return [t.update(u) for u in updates]


def translate_digests(b: Binding, new: Pipeline) -> dict[int, p4runtime_pb2.DigestEntry.Config]:
    out = {}
    for did, cfg in b.digest_configs.items():
        name = b.pipeline.digests[did].name
        info = new.digests_by_name.get(name)
        if info is None:
            _fail(f"digest '{name}' is gone")
        out[info.id] = cfg
    return out
