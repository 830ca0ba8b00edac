"""Reconciling a driver with what the device already holds (``p4nic start --no-load``).

A restarted daemon (after a crash, a SIGKILL, an upgrade of the host software)
finds the NIC still forwarding with the tables the previous daemon wrote. It
must neither lose those entries (forget them: ``clear_all`` would leave them,
``flow list`` would show them but the daemon would refuse to change them) nor
write them twice (INSERT of an entry that exists is ALREADY_EXISTS). So:

* :func:`adopt_device` reads every table the driver writes entries into (flows,
  ESP flows, key memory, capture triggers, RTP ports, MAC filter entries beyond
  ``setup()``'s) and tracks what it finds as if this driver had installed it,
  generations included (a flow's generation tags its per-flow registers: keeping
  it keeps the timestamps, totals and ACK bookkeeping the data plane holds);
  merge groups through ``MergeManager.adopt``;
* :func:`install_config` puts the configuration's entries in: an entry that is
  already there with the same handling is adopted untouched (its direct counter
  keeps counting), one whose handling differs is modified in place, a missing
  one is inserted.

Reassembly policies (``reasm_policy``, p4nic.reasm) are adopted with their
epoch, so partial datagrams the NIC holds survive a restart; a policy the
configuration has with the same timeout is adopted, a missing or different one
installed (a new epoch for all: :func:`p4nic.reasm.enable_reassembly`). An
adopted policy whose loop port is not the port map's ``loop[0]`` any more is
pointed at it in place, or removed when the port map has no loop pair (its emit
passes would leave on a port that is no loopback).

``setup()`` itself is re-runnable (it writes with INSERT-else-MODIFY).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from p4nic import p4names as n
from p4nic.entries import EntryBuilder, flow_handle, trigger_handle
from p4nic.model import (
    CaptureTrigger,
    EspFlow,
    Flow,
    Handle,
    NicConfigError,
    SecurityAssociation,
)
from p4nic.reasm import ReassemblyPolicy, enable_reassembly

if TYPE_CHECKING:
    from p4nic.config import ReassemblyConfig, StartConfig
    from p4nic.driver import NicDriver

log = logging.getLogger("p4nic.reconcile")


def _sa_from_entry(drv: NicDriver, te: Any) -> SecurityAssociation:
    dst, spi, key_index = drv._builder().sa_from_entry(te)
    _, p = drv._schema().decode_action(te)
    return SecurityAssociation(dst=dst, spi=spi, key_index=key_index,
                               decrypt=bool(p.get("decrypt", 0)),
                               generation=p.get("sa_generation", 0))


def _mac_key(match: dict[str, Any], priority: int) -> tuple:
    v, mask = match.get(n.MF_ETH_DST, (0, 0))
    return (v & mask, mask), priority


def adopt_device(drv: NicDriver) -> dict[str, int]:
    """Track the device's entries this driver did not install; per kind, how many.

    Run after ``setup()`` (the MAC filter entries setup wrote are its own)."""
    schema = drv._schema()
    found = {"flow": 0, "esp_flow": 0, "sa": 0, "trigger": 0, "rtp_port": 0, "mac": 0,
             "reasm_policy": 0, "merge_group": 0}

    def track(handle: Handle, obj: Any) -> None:
        if handle not in drv._entries:
            drv._entries[handle] = obj
            found[handle.kind] += 1

    with drv._lock:
        for h, f in drv.device_flows():
            track(h, f)
            if h in drv._entries and f.generation:
                drv._generations[f.flow_id] = f.generation
        for table in n.SA_TABLES:
            for te in drv._read_table(table):
                sa = _sa_from_entry(drv, te)
                track(Handle("sa", table, sa.key_tuple()), sa)
                if sa.decrypt and sa.key_index is not None:
                    drv._sa_generations[sa.key_index] = sa.generation
        for h, info in drv.list_capture_triggers():
            track(h, info)
        for te in drv._read_table(n.RTP_PORTS):
            port = schema.decode_match(te)[n.MF_UDP_DST_PORT]
            track(Handle("rtp_port", n.RTP_PORTS, (port,)), port)
        own = {_mac_key(schema.decode_match(e.table_entry), e.table_entry.priority)
               for e in drv._setup_entries.values()
               if e.HasField("table_entry")
               and e.table_entry.table_id == schema.table_id(n.MAC_FILTER)}
        for te in drv._read_table(n.MAC_FILTER):
            (key, prio) = _mac_key(schema.decode_match(te), te.priority)
            if (key, prio) not in own:
                track(Handle("mac", n.MAC_FILTER, key, prio), (key[0], key[1], prio))
        for h, pol, _ in device_reasm_policies(drv):
            track(h, pol)
    found["merge_group"] = drv.merge.adopt()
    return found


# ---- fragment reassembly ------------------------------------------------------------------
def device_reasm_policies(drv: NicDriver) -> list[tuple[Handle, ReassemblyPolicy, int]]:
    """The reassembly policies on the device: (handle, policy, loop port). Entries that
    p4nic.reasm would not have written (another match, a zero timeout) are left out,
    with a warning."""
    schema = drv._schema()
    out = []
    for te in drv._read_table(n.REASM_POLICY):
        value, mask = schema.decode_match(te).get(n.MF_IP_PROTO, (0, 0))   # (0, 0): omitted
        _, p = schema.decode_action(te)
        try:
            pol = ReassemblyPolicy(None if mask == 0 else value, p.get("timeout", 0) / 1000.0,
                                   p.get("policy_epoch", 0))
        except NicConfigError as e:
            log.warning("reasm_policy entry %s/%s left alone: %s", value, mask, e)
            continue
        h = pol.handle()
        if h.key != (value, mask) or h.priority != te.priority:
            log.warning("reasm_policy entry %s/%s priority %d left alone: not p4nic.reasm's",
                        value, mask, te.priority)
            continue
        out.append((h, pol, p.get("loop", 0)))
    return out


def _same_timeout(a: float, b: float) -> bool:
    return int(a * 1000) == int(b * 1000)      # the device holds microseconds


def ensure_reassembly(drv: NicDriver, rc: ReassemblyConfig | None) -> dict[str, int]:
    """The configured reassembly policies on the device (see the module comment);
    counts by outcome (added, adopted, modified, removed)."""
    outcome = {"added": 0, "adopted": 0, "modified": 0, "removed": 0}
    loop = drv.ports.loop if drv.ports is not None else None
    with drv._lock:
        on_device = {h: (pol, lp) for h, pol, lp in device_reasm_policies(drv)}
        for h, (pol, lp) in on_device.items():
            if h not in drv._entries or (loop is not None and lp == loop[0]):
                continue
            if loop is None:
                log.warning("reassembly policy for protocol %s sends emit passes out of "
                            "port %d, but the port map has no loop pair: removed",
                            pol.protocol, lp)
                drv._remove(h)
                outcome["removed"] += 1
            else:
                params = {"timeout": int(pol.timeout_ms * 1000), "policy_epoch": pol.epoch,
                          "loop": loop[0]}
                drv.client.modify(drv._builder().match(h, n.REASSEMBLE, params),
                                  f"modify reasm_policy {h.key}: loop port {loop[0]}")
                outcome["modified"] += 1
        if rc is None:
            return outcome
        held = {h: pol for h, (pol, _) in on_device.items() if h in drv._entries}
        todo = []
        for proto in rc.protocols:
            have = held.get(ReassemblyPolicy(proto).handle())
            if have is not None and _same_timeout(have.timeout_ms, rc.timeout_ms):
                outcome["adopted"] += 1
            else:
                todo.append(proto)
                outcome["added" if have is None else "modified"] += 1
        if todo:
            enable_reassembly(drv, todo, rc.timeout_ms)
    return outcome


def _normalised(drv: NicDriver, f: Flow | EspFlow) -> Flow | EspFlow:
    """The flow as the device would hold it: deliver port filled in, generation 0."""
    deliver = f.deliver_port
    if deliver is None:
        deliver = EntryBuilder.default_deliver(drv.ports, f.state)
    return dataclasses.replace(f, deliver_port=deliver, generation=0)


def ensure_flow(drv: NicDriver, f: Flow | EspFlow) -> str:
    """Insert ``f``, adopt it as it is on the device, or modify the device's entry
    to ``f``'s handling; returns "added", "adopted" or "modified"."""
    h = flow_handle(f)
    with drv._lock:
        cur = drv._entries.get(h)
        if cur is None:
            if isinstance(f, EspFlow):
                drv.add_esp_flow(f)
            else:
                drv.add_flow(f)
            return "added"
        want, have = _normalised(drv, f), _normalised(drv, cur)
        if want == have:
            return "adopted"
        changes = {k.name: getattr(want, k.name) for k in dataclasses.fields(want)
                   if k.name != "generation" and getattr(want, k.name) != getattr(have, k.name)}
        drv.modify_flow(h, **changes)
        return "modified"


def ensure_trigger(drv: NicDriver, t: CaptureTrigger) -> str:
    h = trigger_handle(t)
    with drv._lock:
        cur = drv._entries.get(h)
        if cur is None:
            drv.add_capture_trigger(t)
            return "added"
        have = (cur.capture_id, cur.snaplen) if isinstance(cur, CaptureTrigger) else (
            cur["capture_id"], cur["snaplen"])
        if have == (t.capture_id, t.snaplen):
            return "adopted"
        drv.client.modify(drv._entity_for("trigger", t), f"modify trigger {h.key}")
        drv._entries[h] = t
        return "modified"


def install_config(drv: NicDriver, cfg: StartConfig) -> dict[str, int]:
    """The configuration's SAs, flows, triggers, RTP ports and reassembly policies on
    the device, each inserted, adopted or modified (see :func:`ensure_flow` and
    :func:`ensure_reassembly`); counts by outcome."""
    outcome = {"added": 0, "adopted": 0, "modified": 0}
    for sa, install in cfg.sas:
        drv.sa_database.add(sa)
        if install:
            on_device = [(h, o) for h, o in drv.entries("sa") if h.key == sa.key_tuple()]
            if on_device:
                h, adopted = on_device[0]
                if adopted.decrypt and drv.ports is not None and drv.ports.crypto is not None:
                    # the crypto engine started with this daemon has an empty key memory:
                    # load the key again under the index the device's entry uses
                    full = dataclasses.replace(sa, key_index=adopted.key_index, decrypt=True,
                                               generation=adopted.generation)
                    drv.key_loader.load(full, drv.ports.crypto)
                    drv._entries[h] = full
                outcome["adopted"] += 1
            else:
                drv.add_sa(sa)
                outcome["added"] += 1
    # SAs an earlier daemon installed at run time (not in the configuration): their
    # keys come from the database it left in the state directory
    configured = {sa.key_tuple() for sa, _ in cfg.sas}
    for h, adopted in drv.entries("sa"):
        known = drv.sa_database.get(*h.key)
        if (h.key in configured or known is None or not known.key or not adopted.decrypt
                or drv.ports is None or drv.ports.crypto is None):
            continue
        full = dataclasses.replace(known, key_index=adopted.key_index, decrypt=True,
                                   generation=adopted.generation)
        drv.key_loader.load(full, drv.ports.crypto)
        drv._entries[h] = full
        outcome["adopted"] += 1
    for f in [*cfg.flows, *cfg.esp_flows]:
        outcome[ensure_flow(drv, f)] += 1
    for t in cfg.triggers:
        outcome[ensure_trigger(drv, t)] += 1
    for p in cfg.rtp_ports:
        if Handle("rtp_port", n.RTP_PORTS, (int(p),)) in drv._entries:
            outcome["adopted"] += 1
        else:
            drv.add_rtp_port(int(p))
            outcome["added"] += 1
    for k, v in ensure_reassembly(drv, cfg.reassembly).items():
        if k in outcome:
            outcome[k] += v          # (removed ones are logged)
    return outcome
