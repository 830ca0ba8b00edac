"""Match-action tables: match kinds, priorities, defaults, const entries, direct
resources and control flow after hit/miss, all observed on packets."""

from __future__ import annotations

import random

import pytest

from pybm.switch.errors import RuntimeApiError

from .bmv2 import (
    Harness,
    Program,
    assign,
    be,
    const_entry,
    fld,
    header_program,
    hexv,
    key,
    rtd,
    set_port,
)

FIELDS = [["k", 16], ["k2", 8], ["out", 8]]


def _table_program(keys: list, *, max_size: int = 1024, entries: list | None = None,
                   default_const: bool = False, with_counters: bool = False,
                   direct_meter: str | None = None, hit_miss: bool = False) -> Program:
    """Table t writes its action's parameter into h.out; misses run 'miss' (out = 0xEE)."""
    p = header_program(FIELDS, ("opt", "h_t"))
    p.action("set_out", [assign(fld("h", "out"), rtd(0))], [("v", 8)])
    p.action("other", [assign(fld("h", "out"), ex_add(rtd(0)))], [("v", 8)])
    p.action("miss", [assign(fld("h", "out"), hexv(0xEE))])
    fwd = p.code("ingress", "fwd", [set_port(1)])
    next_tables = None
    if hit_miss:
        hit = p.code("ingress", "on_hit", [assign(fld("h", "k2"), hexv(0x11))], fwd)
        miss = p.code("ingress", "on_miss", [assign(fld("h", "k2"), hexv(0x22))], fwd)
        next_tables = {"__HIT__": hit, "__MISS__": miss}
    p.table("t", keys=keys, actions=["set_out", "other", "miss"], default="miss",
            default_const=default_const, max_size=max_size, entries=entries,
            with_counters=with_counters, direct_meter=direct_meter, base_next=fwd,
            next_tables=next_tables)
    p.start("ingress", "t")
    return p


def ex_add(e: dict) -> dict:
    return {"type": "expression", "value": {"op": "&", "left": {
        "type": "expression", "value": {"op": "+", "left": e, "right": hexv(0x80)}},
        "right": hexv(0xFF)}}


def _pkt(k: int, k2: int = 0) -> bytes:
    return be(k, 2) + bytes([k2, 0]) + b"payload"


def _out(h: Harness, k: int, k2: int = 0) -> int:
    port, out = h.one(0, _pkt(k, k2))
    assert port == 1
    assert out[:3] == _pkt(k, k2)[:3] and out[4:] == _pkt(k, k2)[4:]
    return out[3]


def test_exact_hit_and_miss() -> None:
    h = Harness(_table_program([key("exact", "h", "k")]))
    h.sw.table_add("t", [0x0800], "set_out", [7])
    h.sw.table_add("t", [0x86DD], "other", [1])
    assert _out(h, 0x0800) == 7
    assert _out(h, 0x86DD) == 0x81
    assert _out(h, 0x0801) == 0xEE


def test_exact_two_keys_and_static_key_mask() -> None:
    h = Harness(_table_program([key("exact", "h", "k", mask=0xFF00), key("exact", "h", "k2")]))
    h.sw.table_add("t", [0x1200, 5], "set_out", [1])
    assert _out(h, 0x12AB, 5) == 1   # low byte masked out of the key
    assert _out(h, 0x12AB, 6) == 0xEE


def test_key_on_signed_field_matches_its_bit_pattern() -> None:
    p = header_program([["s", 8, True], ["out", 8]])
    p.action("set_out", [assign(fld("h", "out"), rtd(0))], [("v", 8)])
    p.action("miss", [assign(fld("h", "out"), hexv(0xEE))])
    fwd = p.code("ingress", "fwd", [set_port(1)])
    p.table("t", keys=[key("exact", "h", "s")], actions=["set_out", "miss"], base_next=fwd)
    p.start("ingress", "t")
    h = Harness(p)
    h.sw.table_add("t", [0xFF], "set_out", [1])   # -1 as an 8-bit pattern
    h.sw.table_add("t", [0x7F], "set_out", [2])
    assert h.one(0, b"\xff\x00") == (1, b"\xff\x01")
    assert h.one(0, b"\x7f\x00") == (1, b"\x7f\x02")
    assert h.one(0, b"\x80\x00") == (1, b"\x80\xee")


def test_lpm_longest_prefix_wins() -> None:
    h = Harness(_table_program([key("lpm", "h", "k")]))
    h.sw.table_add("t", [(0x0000, 0)], "set_out", [1])
    h.sw.table_add("t", [(0x1200, 8)], "set_out", [2])
    h.sw.table_add("t", [(0x1230, 12)], "set_out", [3])
    h.sw.table_add("t", [(0x1234, 16)], "set_out", [4])
    assert _out(h, 0x1234) == 4
    assert _out(h, 0x1235) == 3
    assert _out(h, 0x12FF) == 2
    assert _out(h, 0xFFFF) == 1
    h.sw.table_delete("t", h.sw.table("t").find([(0x1230, 12)]).handle)
    assert _out(h, 0x1235) == 2


def test_lpm_with_an_exact_key() -> None:
    h = Harness(_table_program([key("exact", "h", "k2"), key("lpm", "h", "k")]))
    h.sw.table_add("t", [1, (0x1200, 8)], "set_out", [1])
    h.sw.table_add("t", [1, (0x1234, 16)], "set_out", [2])
    h.sw.table_add("t", [2, (0x1200, 8)], "set_out", [3])
    assert _out(h, 0x1234, 1) == 2
    assert _out(h, 0x1299, 1) == 1
    assert _out(h, 0x1234, 2) == 3
    assert _out(h, 0x1234, 3) == 0xEE


def test_ternary_with_exact_and_valid_keys() -> None:
    h = Harness(_table_program([key("exact", "h", "k2"), key("ternary", "h", "k"),
                                key("valid", "opt")]))
    h.sw.table_add("t", [5, (0x0000, 0x0000), 0], "set_out", [1], priority=9)
    h.sw.table_add("t", [5, (0x00FF, 0x00FF), 0], "set_out", [2], priority=1)
    h.sw.table_add("t", [5, (0x0000, 0x0000), 1], "set_out", [3], priority=1)
    assert _out(h, 0xABFF, 5) == 2
    assert _out(h, 0xAB00, 5) == 1
    assert _out(h, 0xAB00, 6) == 0xEE


def test_ternary_lowest_priority_value_wins_ties_go_to_first_added() -> None:
    h = Harness(_table_program([key("ternary", "h", "k")]))
    h.sw.table_add("t", [(0x1200, 0xFF00)], "set_out", [1], priority=20)
    h.sw.table_add("t", [(0x0034, 0x00FF)], "set_out", [2], priority=10)
    h.sw.table_add("t", [(0x1234, 0xFFFF)], "set_out", [3], priority=30)
    assert _out(h, 0x1234) == 2   # three match; 10 is the best priority
    assert _out(h, 0x12FF) == 1
    # same priority: the entry added first wins, whatever its mask
    h.sw.table_add("t", [(0x5000, 0xF000)], "set_out", [4], priority=5)
    h.sw.table_add("t", [(0x0006, 0x000F)], "set_out", [5], priority=5)
    assert _out(h, 0x5006) == 4
    h.sw.table_add("t", [(0x7000, 0xFF00)], "set_out", [7], priority=5)  # added later
    h.sw.table_add("t", [(0x0070, 0x00F0)], "set_out", [6], priority=5)
    assert _out(h, 0x7070) == 7


def test_ternary_same_key_different_priority_both_exist() -> None:
    h = Harness(_table_program([key("ternary", "h", "k")]))
    h.sw.table_add("t", [(0x1234, 0xFFFF)], "set_out", [1], priority=2)
    h.sw.table_add("t", [(0x1234, 0xFFFF)], "set_out", [2], priority=1)
    assert _out(h, 0x1234) == 2
    with pytest.raises(RuntimeApiError) as e:
        h.sw.table_add("t", [(0x1234, 0xFFFF)], "set_out", [3], priority=1)
    assert e.value.code == "ALREADY_EXISTS"


def test_range_match_with_exact_and_priorities() -> None:
    h = Harness(_table_program([key("range", "h", "k"), key("exact", "h", "k2")]))
    h.sw.table_add("t", [(100, 200), 1], "set_out", [1], priority=2)
    h.sw.table_add("t", [(150, 160), 1], "set_out", [2], priority=1)
    h.sw.table_add("t", [(0, 0xFFFF), 2], "set_out", [3], priority=9)
    assert _out(h, 100, 1) == 1
    assert _out(h, 155, 1) == 2
    assert _out(h, 160, 1) == 2
    assert _out(h, 161, 1) == 1
    assert _out(h, 201, 1) == 0xEE
    assert _out(h, 155, 2) == 3


def test_valid_match_key() -> None:
    p = _table_program([key("valid", "opt")])
    h = Harness(p)
    h.sw.table_add("t", [0], "set_out", [0x10])
    h.sw.table_add("t", [1], "set_out", [0x20])
    assert _out(h, 0x1234) == 0x10
    # 'opt' is never extracted; mark it valid in a second program to see the other entry
    p2 = _table_program([key("valid", "opt")])
    p2.states[0]["parser_ops"].append({"op": "extract", "parameters": [{"type": "regular", "value": "opt"}]})
    h2 = Harness(p2)
    h2.sw.table_add("t", [1], "set_out", [0x20])
    assert h2.one(0, _pkt(1)) == (1, be(1, 2) + b"\x00\x20" + b"payload")


def test_default_action_set_and_reset() -> None:
    h = Harness(_table_program([key("exact", "h", "k")]))
    assert _out(h, 1) == 0xEE
    h.sw.table_set_default("t", "set_out", [0x42])
    assert _out(h, 1) == 0x42
    h.sw.table_reset_default("t")
    assert _out(h, 1) == 0xEE


def test_const_default_action_cannot_change() -> None:
    h = Harness(_table_program([key("exact", "h", "k")], default_const=True))
    with pytest.raises(RuntimeApiError) as e:
        h.sw.table_set_default("t", "set_out", [1])
    assert e.value.code == "PERMISSION_DENIED"
    assert _out(h, 1) == 0xEE


def test_const_entries_from_json_match_and_are_immutable() -> None:
    p = _table_program([key("ternary", "h", "k")])
    aid = p.action_id("set_out")
    p.pipes["ingress"].tables[-1]["entries"] = [
        const_entry([{"match_type": "ternary", "key": "0x1200", "mask": "0xff00"}], aid, [1], priority=2),
        const_entry([{"match_type": "ternary", "key": "0x0034", "mask": "0x00ff"}], aid, [2], priority=1),
    ]
    h = Harness(p)
    assert _out(h, 0x1234) == 2
    assert _out(h, 0x12FF) == 1
    assert _out(h, 0x0000) == 0xEE
    handle = h.sw.table_entries("t")[0].handle
    for call in (lambda: h.sw.table_add("t", [(0, 0)], "set_out", [3], priority=1),
                 lambda: h.sw.table_modify("t", handle, "set_out", [9]),
                 lambda: h.sw.table_delete("t", handle),
                 lambda: h.sw.table_clear("t")):
        with pytest.raises(RuntimeApiError) as e:
            call()
        assert e.value.code == "PERMISSION_DENIED" and e.value.message
    assert _out(h, 0x1234) == 2


def test_modify_delete_clear() -> None:
    h = Harness(_table_program([key("exact", "h", "k")]))
    a = h.sw.table_add("t", [1], "set_out", [1])
    h.sw.table_add("t", [2], "set_out", [2])
    h.sw.table_modify("t", a, "other", [3])
    assert _out(h, 1) == 0x83
    h.sw.table_delete("t", a)
    assert _out(h, 1) == 0xEE
    assert _out(h, 2) == 2
    h.sw.table_clear("t")
    assert _out(h, 2) == 0xEE
    assert h.sw.table_entries("t") == []


def test_table_full() -> None:
    h = Harness(_table_program([key("exact", "h", "k")], max_size=3))
    for i in range(3):
        h.sw.table_add("t", [i], "set_out", [i])
    with pytest.raises(RuntimeApiError) as e:
        h.sw.table_add("t", [99], "set_out", [1])
    assert e.value.code == "RESOURCE_EXHAUSTED"
    assert _out(h, 99) == 0xEE
    h.sw.table_delete("t", h.sw.table("t").find([0]).handle)
    h.sw.table_add("t", [99], "set_out", [5])
    assert _out(h, 99) == 5


def test_direct_counter_counts_hits_only() -> None:
    p = _table_program([key("exact", "h", "k")], with_counters=True)
    p.counter("t_counter", 0, direct_table="t")
    h = Harness(p)
    a = h.sw.table_add("t", [1], "set_out", [1])
    b = h.sw.table_add("t", [2], "set_out", [2])
    for _ in range(3):
        _out(h, 1)
    _out(h, 2)
    _out(h, 9)  # miss
    n = len(_pkt(1))
    assert h.sw.table_counter_read("t", a) == (3 * n, 3)
    assert h.sw.table_counter_read("t", b) == (n, 1)
    h.sw.table_counter_write("t", a, 0, 0)
    _out(h, 1)
    assert h.sw.table_counter_read("t", a) == (n, 1)


def test_direct_meter_colors_into_result_field() -> None:
    p = _table_program([key("exact", "h", "k")], direct_meter="t_meter")
    p.meter("t_meter", 0, direct_table="t", result_target=("h", "k2"))
    h = Harness(p)
    a = h.sw.table_add("t", [1], "set_out", [1])
    # committed 2 packets, peak 4 packets; the refill rates are negligible
    h.sw.table_meter_set_rates("t", a, [(1e-9, 2), (2e-9, 4)])
    colors = [h.one(0, _pkt(1))[1][2] for _ in range(6)]
    assert colors == [0, 0, 1, 1, 2, 2]
    assert h.sw.table_meter_get_rates("t", a) == [(1e-9, 2), (2e-9, 4)]


def test_next_table_by_hit_or_miss() -> None:
    h = Harness(_table_program([key("exact", "h", "k")], hit_miss=True))
    h.sw.table_add("t", [1], "set_out", [5])
    assert h.one(0, _pkt(1)) == (1, be(1, 2) + b"\x11\x05" + b"payload")
    assert h.one(0, _pkt(2)) == (1, be(2, 2) + b"\x22\xee" + b"payload")


def test_next_table_by_action() -> None:
    p = header_program(FIELDS)
    p.action("a1", [assign(fld("h", "out"), hexv(1))])
    p.action("a2", [assign(fld("h", "out"), hexv(2))])
    fwd = p.code("ingress", "fwd", [set_port(1)])
    after_a1 = p.code("ingress", "after_a1", [assign(fld("h", "k2"), hexv(0xA1))], fwd)
    p.table("t", keys=[key("exact", "h", "k")], actions=["a1", "a2"], default="a2",
            next_tables={"a1": after_a1, "a2": fwd}, base_next=fwd)
    p.start("ingress", "t")
    h = Harness(p)
    h.sw.table_add("t", [1], "a1", [])
    assert h.one(0, _pkt(1)) == (1, be(1, 2) + b"\xa1\x01payload")
    assert h.one(0, _pkt(2)) == (1, be(2, 2) + b"\x00\x02payload")
    # the default action a2 takes a2's next table even on a miss
    h.sw.table_set_default("t", "a1", [])
    assert h.one(0, _pkt(3)) == (1, be(3, 2) + b"\xa1\x01payload")


def test_default_entry_with_action_data_from_json() -> None:
    p = header_program(FIELDS)
    p.action("set_out", [assign(fld("h", "out"), rtd(0)), set_port(1)], [("v", 8)])
    p.table("t", keys=[key("exact", "h", "k")], actions=["set_out"], default="set_out",
            default_data=[0x33])
    p.start("ingress", "t")
    assert Harness(p).one(0, _pkt(1)) == (1, be(1, 2) + b"\x00\x33payload")



# -- randomized: the engine's lookup structures against a brute-force reference --------


def _random_keys(rng: random.Random, seeds: list[int], n: int) -> list[int]:
    keys = []
    for _ in range(n):
        k = rng.choice(seeds) if seeds and rng.random() < 0.7 else rng.randrange(1 << 16)
        for _ in range(rng.randrange(3)):
            k ^= 1 << rng.randrange(16)
        keys.append(k)
    return keys


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_ternary_table_matches_reference(seed: int) -> None:
    rng = random.Random(seed)
    h = Harness(_table_program([key("ternary", "h", "k")]))
    entries: dict[int, tuple[int, int, int, int]] = {}  # handle -> (value, mask, prio, data)
    for i in range(120):
        mask = rng.choice([0xFFFF, 0xFF00, 0x00FF, 0xF0F0, 0, rng.randrange(1 << 16)])
        value, prio, data = rng.randrange(1 << 16) & mask, rng.randrange(1, 8), i + 1
        try:
            handle = h.sw.table_add("t", [(value, mask)], "set_out", [data], priority=prio)
        except RuntimeApiError as e:
            assert e.code == "ALREADY_EXISTS"
            continue
        entries[handle] = (value, mask, prio, data)
    for handle in rng.sample(sorted(entries), 30):
        h.sw.table_delete("t", handle)
        del entries[handle]
    for k in _random_keys(rng, [v for v, _, _, _ in entries.values()], 300):
        hits = [(p, hd, d) for hd, (v, m, p, d) in entries.items() if k & m == v]
        want = min(hits)[2] if hits else 0xEE
        assert _out(h, k) == want, hex(k)


@pytest.mark.parametrize("seed", [4, 5])
def test_random_lpm_table_matches_reference(seed: int) -> None:
    rng = random.Random(seed)
    h = Harness(_table_program([key("lpm", "h", "k")]))
    entries: dict[int, tuple[int, int, int]] = {}
    for i in range(150):
        plen = rng.randrange(17)
        value = rng.randrange(1 << 16) & (((1 << plen) - 1) << (16 - plen))
        try:
            handle = h.sw.table_add("t", [(value, plen)], "set_out", [i + 1])
        except RuntimeApiError as e:
            assert e.code == "ALREADY_EXISTS"
            continue
        entries[handle] = (value, plen, i + 1)
    for handle in rng.sample(sorted(entries), 40):
        h.sw.table_delete("t", handle)
        del entries[handle]
    for k in _random_keys(rng, [v for v, _, _ in entries.values()], 300):
        hits = [(plen, d) for v, plen, d in entries.values()
                if k >> (16 - plen) == v >> (16 - plen)]
        want = max(hits)[1] if hits else 0xEE
        assert _out(h, k) == want, hex(k)


@pytest.mark.parametrize("seed", [6, 7])
def test_random_range_table_matches_reference(seed: int) -> None:
    rng = random.Random(seed)
    h = Harness(_table_program([key("range", "h", "k"), key("exact", "h", "k2")]))
    entries: dict[int, tuple[int, int, int, int, int]] = {}
    for i in range(100):
        lo = rng.randrange(1 << 16)
        hi = min(0xFFFF, lo + rng.choice([0, 1, 100, 5000, 40000]))
        k2, prio = rng.randrange(2), rng.randrange(1, 6)
        handle = h.sw.table_add("t", [(lo, hi), k2], "set_out", [i + 1], priority=prio)
        entries[handle] = (lo, hi, k2, prio, i + 1)
    for handle in rng.sample(sorted(entries), 20):
        h.sw.table_delete("t", handle)
        del entries[handle]
    for k in _random_keys(rng, [lo for lo, _, _, _, _ in entries.values()], 300):
        k2 = rng.randrange(2)
        hits = [(p, hd, d) for hd, (lo, hi, e2, p, d) in entries.items() if lo <= k <= hi and e2 == k2]
        want = min(hits)[2] if hits else 0xEE
        assert _out(h, k, k2) == want, (hex(k), k2)
