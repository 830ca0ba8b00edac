"""Match-action tables: entries, defaults and fast lookup structures.

Priorities follow BMv2's convention inside the engine: the numerically lowest
priority wins, ties go to the entry added first. The P4Runtime service
translates from P4Runtime's "highest wins".

Match parameters per key kind (the runtime API's canonical form):
``exact``/``valid``: int; ``lpm``: (value, prefix_len); ``ternary``/``optional``:
(value, mask); ``range``: (lo, hi).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pybm.switch.errors import RuntimeApiError

ActionFn = Callable[[list, Any, tuple], None]


@dataclass
class KeySpec:
    name: str
    kind: str  # exact | lpm | ternary | range | valid
    width: int
    mask: int | None = None  # static mask from the JSON key (slices)


@dataclass
class ActionSpec:
    id: int
    name: str
    params: list[tuple[str, int]]  # (name, bitwidth)
    fn: ActionFn


class Entry:
    __slots__ = ("handle", "match", "priority", "action", "data", "fn", "next",
                 "packets", "bytes", "meter", "ttl_ns", "last_hit_ns", "is_default")

    def __init__(self, handle: int, match: tuple, priority: int, action: ActionSpec,
                 data: tuple, nxt: Any):
        self.handle = handle
        self.match = match
        self.priority = priority
        self.action = action
        self.data = data
        self.fn = action.fn
        self.next = nxt
        self.packets = 0
        self.bytes = 0
        self.meter: Any = None
        self.ttl_ns = 0
        self.last_hit_ns = 0
        self.is_default = False


class MatchTable:
    def __init__(self, name: str, tid: int, match_type: str, keys: list[KeySpec],
                 actions: dict[int, ActionSpec], max_size: int, *, with_counters: bool = False,
                 support_timeout: bool = False):
        self.name = name
        self.id = tid
        self.match_type = match_type
        self.keys = keys
        self.actions = actions
        self.actions_by_name = {a.name: a for a in actions.values()}
        self.max_size = max_size
        self.with_counters = with_counters
        self.support_timeout = support_timeout
        self.direct_meter: Any = None  # MeterArray-like factory, set by the loader
        self.immutable = False  # entries came from the JSON (const entries)
        self.default: Entry | None = None
        self.default_const = False  # default action function may not change
        self.default_entry_const = False  # default action data may not change either
        self.initial_default: tuple[ActionSpec, tuple] | None = None
        # next nodes, resolved by the code generator
        self.next_by_action: dict[int, Any] = {}
        self.next_hit: Any = None
        self.next_miss: Any = None
        self.hit_miss_mode = False
        self.base_default_next: Any = None
        self._handles = 0
        self.entries: dict[int, Entry] = {}
        self._by_match: dict[tuple, Entry] = {}
        self.lpm_index = next((i for i, k in enumerate(keys) if k.kind == "lpm"), -1)
        self.exact: dict[tuple, Entry] = {}
        self._lpm: dict[int, dict[tuple, Entry]] = {}
        self._lpm_order: list[tuple[int, int, dict[tuple, Entry]]] = []
        self._tern: dict[tuple, dict[tuple, list[Entry]]] = {}
        self._tern_groups: list[tuple[tuple, dict[tuple, list[Entry]]]] = []
        self._range: list[Entry] = []
        self.is_exact = match_type == "exact" or all(k.kind in ("exact", "valid") for k in keys)
        self.lookup: Callable[[tuple], Entry | None] = self._pick_lookup()

    # -- lookups -----------------------------------------------------------

    def _pick_lookup(self) -> Callable[[tuple], Entry | None]:
        if self.is_exact:
            return self.exact.get
        if self.match_type == "lpm":
            return self._lookup_lpm
        if self.match_type == "ternary":
            return self._lookup_ternary
        return self._lookup_range

    def _lookup_lpm(self, key: tuple) -> Entry | None:
        i = self.lpm_index
        v = key[i]
        head, tail = key[:i], key[i + 1:]
        for _plen, m, d in self._lpm_order:
            e = d.get(head + (v & m,) + tail)
            if e is not None:
                return e
        return None

    def _lookup_ternary(self, key: tuple) -> Entry | None:
        best = None
        for masks, d in self._tern_groups:
            lst = d.get(tuple([k & m for k, m in zip(key, masks)]))
            if lst is not None:
                e = lst[0]
                if best is None or (e.priority, e.handle) < (best.priority, best.handle):
                    best = e
        return best

    def _lookup_range(self, key: tuple) -> Entry | None:
        for e in self._range:  # kept sorted by (priority, handle)
            for k, spec, m in zip(key, self.keys, e.match):
                kind = spec.kind
                if kind == "range":
                    if not m[0] <= k <= m[1]:
                        break
                elif kind in ("ternary", "optional"):
                    if k & m[1] != m[0]:
                        break
                elif kind == "lpm":
                    if k & _prefix_mask(m[1], spec.width) != m[0]:
                        break
                elif k != m:
                    break
            else:
                return e
        return None

    # -- entry management --------------------------------------------------

    def _needs_priority(self) -> bool:
        return self.match_type in ("ternary", "range")

    def canonical_match(self, match: list[Any]) -> tuple:
        if len(match) != len(self.keys):
            raise RuntimeApiError(
                "INVALID_ARGUMENT",
                f"table '{self.name}': expected {len(self.keys)} match fields, got {len(match)}")
        out = []
        for spec, m in zip(self.keys, match):
            out.append(_canonical_param(self.name, spec, m))
        return tuple(out)

    def _match_key(self, match: tuple, priority: int) -> tuple:
        return (match, priority) if self._needs_priority() else (match,)

    def action(self, name_or_id: str | int) -> ActionSpec:
        a = (self.actions.get(name_or_id) if isinstance(name_or_id, int)
             else self.actions_by_name.get(name_or_id))
        if a is None:
            raise RuntimeApiError(
                "INVALID_ARGUMENT", f"table '{self.name}': action '{name_or_id}' is not one of its actions")
        return a

    def check_data(self, action: ActionSpec, data: list[int] | tuple) -> tuple:
        if len(data) != len(action.params):
            raise RuntimeApiError(
                "INVALID_ARGUMENT",
                f"action '{action.name}': expected {len(action.params)} parameters, got {len(data)}")
        for (pname, width), v in zip(action.params, data):
            if not isinstance(v, int) or v < 0 or v >> width:
                raise RuntimeApiError(
                    "INVALID_ARGUMENT",
                    f"action '{action.name}': parameter '{pname}' value {v!r} does not fit in {width} bits")
        return tuple(data)

    def next_for(self, action: ActionSpec, hit: bool) -> Any:
        if self.hit_miss_mode:
            return self.next_hit if hit else self.next_miss
        return self.next_by_action.get(action.id)

    def add(self, match: list[Any], action: str | int, data: list[int] | tuple,
            priority: int | None = None, *, force: bool = False) -> int:
        if self.immutable and not force:
            raise RuntimeApiError("PERMISSION_DENIED", f"table '{self.name}' has const entries")
        m = self.canonical_match(match)
        if self._needs_priority():
            if priority is None:
                raise RuntimeApiError(
                    "INVALID_ARGUMENT", f"table '{self.name}': {self.match_type} entries need a priority")
            if not isinstance(priority, int):
                raise RuntimeApiError(
                    "INVALID_ARGUMENT", f"table '{self.name}': priority {priority!r} is not an integer")
        else:
            priority = 0
        a = self.action(action)
        d = self.check_data(a, data)
        mk = self._match_key(m, priority)
        if mk in self._by_match:
            raise RuntimeApiError("ALREADY_EXISTS", f"table '{self.name}': entry already exists")
        if len(self.entries) >= self.max_size:
            raise RuntimeApiError("RESOURCE_EXHAUSTED", f"table '{self.name}' is full ({self.max_size})")
        self._handles += 1
        e = Entry(self._handles, m, priority, a, d, self.next_for(a, True))
        if self.direct_meter is not None:
            e.meter = self.direct_meter()
        self.entries[e.handle] = e
        self._by_match[mk] = e
        self._index(e)
        return e.handle

    def find(self, match: list[Any], priority: int | None = None) -> Entry:
        m = self.canonical_match(match)
        e = self._by_match.get(self._match_key(m, priority if self._needs_priority() else 0))
        if e is None:
            raise RuntimeApiError("NOT_FOUND", f"table '{self.name}': no such entry")
        return e

    def get(self, handle: int) -> Entry:
        e = self.entries.get(handle)
        if e is None:
            raise RuntimeApiError("NOT_FOUND", f"table '{self.name}': no entry with handle {handle}")
        return e

    def modify(self, handle: int, action: str | int, data: list[int] | tuple) -> None:
        if self.immutable:
            raise RuntimeApiError("PERMISSION_DENIED", f"table '{self.name}' has const entries")
        e = self.get(handle)
        a = self.action(action)
        e.data = self.check_data(a, data)
        e.action = a
        e.fn = a.fn
        e.next = self.next_for(a, True)

    def delete(self, handle: int) -> None:
        if self.immutable:
            raise RuntimeApiError("PERMISSION_DENIED", f"table '{self.name}' has const entries")
        e = self.get(handle)
        del self.entries[handle]
        del self._by_match[self._match_key(e.match, e.priority)]
        self._unindex(e)

    def clear(self) -> None:
        for h in list(self.entries):
            self.delete(h)

    def set_default(self, action: str | int, data: list[int] | tuple, *, force: bool = False) -> None:
        a = self.action(action)
        d = self.check_data(a, data)
        if not force and self.default is not None:
            if self.default_const and a.id != self.default.action.id:
                raise RuntimeApiError(
                    "PERMISSION_DENIED", f"table '{self.name}': the default action is const")
            if self.default_entry_const and d != self.default.data:
                raise RuntimeApiError(
                    "PERMISSION_DENIED", f"table '{self.name}': the default entry is const")
        e = Entry(0, (), 0, a, d, self.next_for(a, False))
        e.is_default = True
        self.default = e

    def reset_default(self) -> None:
        if self.initial_default is None:
            self.default = None
        else:
            a, d = self.initial_default
            self.set_default(a.id, d, force=True)

    def refresh_next(self) -> None:
        """Recompute cached next nodes after the code generator resolved them."""
        for e in self.entries.values():
            e.next = self.next_for(e.action, True)
        if self.default is not None:
            self.default.next = self.next_for(self.default.action, False)

    # -- index maintenance -------------------------------------------------

    def _index(self, e: Entry) -> None:
        if self.is_exact:
            self.exact[e.match] = e
        elif self.match_type == "lpm":
            i = self.lpm_index
            value, plen = e.match[i]
            spec = self.keys[i]
            d = self._lpm.setdefault(plen, {})
            d[self._lpm_key(e.match)] = e
            if len(d) == 1:
                self._rebuild_lpm_order(spec.width)
        elif self.match_type == "ternary":
            masks, values = self._ternary_form(e.match)
            group = self._tern.setdefault(masks, {})
            lst = group.setdefault(values, [])
            lst.append(e)
            lst.sort(key=lambda x: (x.priority, x.handle))
            self._tern_groups = list(self._tern.items())
        else:
            self._range.append(e)
            self._range.sort(key=lambda x: (x.priority, x.handle))

    def _unindex(self, e: Entry) -> None:
        if self.is_exact:
            del self.exact[e.match]
        elif self.match_type == "lpm":
            plen = e.match[self.lpm_index][1]
            d = self._lpm[plen]
            del d[self._lpm_key(e.match)]
            if not d:
                del self._lpm[plen]
                self._rebuild_lpm_order(self.keys[self.lpm_index].width)
        elif self.match_type == "ternary":
            masks, values = self._ternary_form(e.match)
            group = self._tern[masks]
            lst = group[values]
            lst.remove(e)
            if not lst:
                del group[values]
            if not group:
                del self._tern[masks]
            self._tern_groups = list(self._tern.items())
        else:
            self._range.remove(e)

    def _lpm_key(self, match: tuple) -> tuple:
        i = self.lpm_index
        return match[:i] + (match[i][0],) + match[i + 1:]

    def _rebuild_lpm_order(self, width: int) -> None:
        self._lpm_order = [(p, _prefix_mask(p, width), self._lpm[p])
                           for p in sorted(self._lpm, reverse=True)]

    def _ternary_form(self, match: tuple) -> tuple[tuple, tuple]:
        masks, values = [], []
        for spec, m in zip(self.keys, match):
            if spec.kind in ("ternary", "optional"):
                values.append(m[0])
                masks.append(m[1])
            elif spec.kind == "lpm":
                pm = _prefix_mask(m[1], spec.width)
                values.append(m[0])
                masks.append(pm)
            else:
                values.append(m)
                masks.append((1 << spec.width) - 1 if spec.kind != "valid" else 1)
        return tuple(masks), tuple(values)


def _prefix_mask(plen: int, width: int) -> int:
    return ((1 << plen) - 1) << (width - plen)


def _canonical_param(table: str, spec: KeySpec, m: Any) -> Any:
    full = (1 << spec.width) - 1
    kind = spec.kind

    def fits(v: Any, what: str) -> int:
        if not isinstance(v, int) or isinstance(v, bool) and kind != "valid":
            raise RuntimeApiError(
                "INVALID_ARGUMENT", f"table '{table}': key '{spec.name}': {what} must be an integer")
        if v < 0 or v > full:
            raise RuntimeApiError(
                "INVALID_ARGUMENT",
                f"table '{table}': key '{spec.name}': {what} {v:#x} does not fit in {spec.width} bits")
        return int(v)

    try:
        if kind == "exact":
            return fits(m, "value")
        if kind == "valid":
            return 1 if m else 0
        if kind == "lpm":
            v, plen = m
            if not isinstance(plen, int) or not 0 <= plen <= spec.width:
                raise RuntimeApiError(
                    "INVALID_ARGUMENT", f"table '{table}': key '{spec.name}': bad prefix length {plen}")
            return fits(v, "value") & _prefix_mask(plen, spec.width), plen
        if kind in ("ternary", "optional"):
            v, mk = m
            mk = fits(mk, "mask")
            return fits(v, "value") & mk, mk
        if kind == "range":
            lo, hi = m
            lo, hi = fits(lo, "low bound"), fits(hi, "high bound")
            if lo > hi:
                raise RuntimeApiError(
                    "INVALID_ARGUMENT", f"table '{table}': key '{spec.name}': empty range {lo}..{hi}")
            return lo, hi
    except (TypeError, ValueError):
        raise RuntimeApiError(
            "INVALID_ARGUMENT", f"table '{table}': key '{spec.name}': malformed {kind} match {m!r}") from None
    raise RuntimeApiError("INVALID_ARGUMENT", f"table '{table}': unsupported match kind {kind}")
