"""The engine's control-plane API (what the P4Runtime service and the STF runner
call): every refusal is a RuntimeApiError with the right code and a message,
never another exception, and a refused request changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pybm.switch.engine import Switch
from pybm.switch.errors import RuntimeApiError

from .bmv2 import (
    Harness,
    Program,
    assign,
    be,
    const_entry,
    default,
    fld,
    key,
    rtd,
    set_port,
    trans,
    vset_trans,
)


def _program() -> Program:
    p = Program()
    p.header_type("h_t", [["k", 16], ["k2", 8], ["out", 8]])
    p.header("h", "h_t")
    p.vset("pvs", 16, max_size=2)
    p.state("start", [{"op": "extract", "parameters": [{"type": "regular", "value": "h"}]}],
            key=[fld("h", "k")], transitions=[vset_trans("pvs", None), trans(0xFFFF, None, width=2),
                                             default(None)])
    p.deparse("h")
    p.action("set_out", [assign(fld("h", "out"), rtd(0))], [("v", 8)])
    p.action("two", [assign(fld("h", "out"), rtd(1))], [("a", 4), ("b", 8)])
    p.action("nop", [])
    fwd = p.code("ingress", "fwd", [set_port(1)])
    p.table("t_exact", keys=[key("exact", "h", "k")], actions=["set_out", "two", "nop"],
            default="nop", max_size=2, base_next=fwd)
    p.table("t_lpm", keys=[key("lpm", "h", "k")], actions=["set_out", "nop"], default="nop",
            base_next="t_exact")
    p.table("t_tern", keys=[key("ternary", "h", "k"), key("exact", "h", "k2")],
            actions=["set_out", "nop"], default="nop", base_next="t_lpm")
    p.table("t_range", keys=[key("range", "h", "k")], actions=["set_out", "nop"], default="nop",
            base_next="t_tern", with_counters=True, direct_meter="t_range_meter")
    p.table("t_const", keys=[key("exact", "h", "k")], actions=["set_out", "nop"], default="nop",
            default_const=True, base_next="t_range",
            entries=[const_entry([{"match_type": "exact", "key": "0x0001"}], 0, [5])])
    p.counter("t_range_counter", 0, direct_table="t_range")
    p.meter("t_range_meter", 0, direct_table="t_range", result_target=("h", "k2"))
    p.start("ingress", "t_const")
    p.counter("c", 4)
    p.register("r", 4, 8)
    p.meter("m", 2)
    return p


@pytest.fixture()
def sw() -> Switch:
    return Harness(_program()).sw


def _refused(code: str, call: Callable[[], Any]) -> RuntimeApiError:
    with pytest.raises(RuntimeApiError) as e:
        call()
    assert e.value.code == code, (e.value.code, e.value.message)
    assert isinstance(e.value.message, str) and len(e.value.message) > 5
    assert code in str(e.value)
    return e.value


def test_no_pipeline_loaded() -> None:
    sw = Switch()
    for call in (lambda: sw.table_add("t", [1], "a", []), lambda: sw.counter_read("c", 0),
                 lambda: sw.register_read("r", 0), lambda: sw.meter_get_rates("m", 0),
                 lambda: sw.parse_vset_add("v", 1), lambda: sw.table_entries("t")):
        _refused("FAILED_PRECONDITION", call)
    sw.receive(0, b"\x00" * 20)  # no pipeline: the frame is counted and ignored
    assert sw.stats["rx_no_pipeline"] == 1


def test_unknown_names(sw: Switch) -> None:
    _refused("NOT_FOUND", lambda: sw.table_add("nope", [1], "set_out", [1]))
    _refused("NOT_FOUND", lambda: sw.table_set_default("nope", "nop", []))
    _refused("NOT_FOUND", lambda: sw.counter_read("nope", 0))
    _refused("NOT_FOUND", lambda: sw.register_write("nope", 0, 1))
    _refused("NOT_FOUND", lambda: sw.meter_set_rates("nope", 0, [(1.0, 1), (2.0, 2)]))
    _refused("NOT_FOUND", lambda: sw.parse_vset_add("nope", 1))
    _refused("NOT_FOUND", lambda: sw.set_crc_parameters("nope", None))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [1], "no_such_action", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [1], 999, [1]))


def test_table_add_argument_checks(sw: Switch) -> None:
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [1, 2], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [0x10000], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [-1], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", ["1"], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [None], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [1], "set_out", []))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [1], "set_out", [1, 2]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [1], "set_out", [256]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [1], "two", [16, 1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_exact", [1], "set_out", ["x"]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_lpm", [(1, 17)], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_lpm", [(1, -1)], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_lpm", [5], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_lpm", [(1, 2, 3)], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_tern", [(1, 0xFFFF), 1], "set_out", [1]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_tern", [(1, 0x1FFFF), 1], "set_out", [1],
                                                     priority=1))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_tern", [(1, 1), 1], "set_out", [1],
                                                     priority="high"))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_range", [(5, 4)], "set_out", [1],
                                                      priority=1))
    _refused("INVALID_ARGUMENT", lambda: sw.table_add("t_range", [(0, 0x10000)], "set_out", [1],
                                                      priority=1))
    for t in ("t_exact", "t_lpm", "t_tern", "t_range"):
        assert sw.table_entries(t) == []


def test_table_entry_lifecycle_codes(sw: Switch) -> None:
    a = sw.table_add("t_exact", [1], "set_out", [1])
    _refused("ALREADY_EXISTS", lambda: sw.table_add("t_exact", [1], "set_out", [2]))
    sw.table_add("t_exact", [2], "nop", [])
    _refused("RESOURCE_EXHAUSTED", lambda: sw.table_add("t_exact", [3], "nop", []))
    _refused("NOT_FOUND", lambda: sw.table_modify("t_exact", 12345, "nop", []))
    _refused("NOT_FOUND", lambda: sw.table_delete("t_exact", 12345))
    _refused("NOT_FOUND", lambda: sw.table_delete("t_exact", "a"))
    _refused("INVALID_ARGUMENT", lambda: sw.table_modify("t_exact", a, "set_out", [1000]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_modify("t_exact", a, "bogus", []))
    # the refused modify changed nothing
    e = sw.table("t_exact").get(a)
    assert (e.action.name, e.data) == ("set_out", (1,))
    assert sw.table("t_exact").find([1]).handle == a
    _refused("NOT_FOUND", lambda: sw.table("t_exact").find([7]))
    sw.table_delete("t_exact", a)
    _refused("NOT_FOUND", lambda: sw.table_delete("t_exact", a))
    _refused("NOT_FOUND", lambda: sw.table_counter_read("t_range", a))


def test_default_action_codes(sw: Switch) -> None:
    _refused("INVALID_ARGUMENT", lambda: sw.table_set_default("t_exact", "set_out", []))
    _refused("INVALID_ARGUMENT", lambda: sw.table_set_default("t_exact", "zzz", []))
    _refused("PERMISSION_DENIED", lambda: sw.table_set_default("t_const", "set_out", [1]))
    sw.table_set_default("t_const", "nop", [])  # same action: allowed
    sw.table_set_default("t_exact", "set_out", [9])
    sw.table_reset_default("t_exact")
    assert sw.table("t_exact").default.action.name == "nop"


def test_const_entries_codes(sw: Switch) -> None:
    handle = sw.table_entries("t_const")[0].handle
    _refused("PERMISSION_DENIED", lambda: sw.table_add("t_const", [2], "set_out", [1]))
    _refused("PERMISSION_DENIED", lambda: sw.table_modify("t_const", handle, "set_out", [2]))
    _refused("PERMISSION_DENIED", lambda: sw.table_delete("t_const", handle))
    assert len(sw.table_entries("t_const")) == 1


def test_direct_counter_and_meter_codes(sw: Switch) -> None:
    h = sw.table_add("t_range", [(0, 10)], "set_out", [1], priority=1)
    assert sw.table_counter_read("t_range", h) == (0, 0)
    sw.table_counter_write("t_range", h, 100, 2)
    assert sw.table_counter_read("t_range", h) == (100, 2)
    x = sw.table_add("t_exact", [1], "nop", [])
    _refused("INVALID_ARGUMENT", lambda: sw.table_counter_read("t_exact", x))
    _refused("INVALID_ARGUMENT", lambda: sw.table_counter_write("t_exact", x, 1, 1))
    _refused("INVALID_ARGUMENT", lambda: sw.table_meter_set_rates("t_exact", x, [(1.0, 1), (2.0, 2)]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_meter_get_rates("t_exact", x))
    _refused("INVALID_ARGUMENT", lambda: sw.table_meter_set_rates("t_range", h, [(1.0, 1)]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_meter_set_rates("t_range", h, [(2.0, 1), (1.0, 1)]))
    _refused("INVALID_ARGUMENT", lambda: sw.table_meter_set_rates("t_range", h, [(-1.0, 1), (1.0, 1)]))
    sw.table_meter_set_rates("t_range", h, [(1.0, 10), (2.0, 20)])
    assert sw.table_meter_get_rates("t_range", h) == [(1.0, 10), (2.0, 20)]


def test_counter_register_meter_codes(sw: Switch) -> None:
    _refused("OUT_OF_RANGE", lambda: sw.counter_read("c", 4))
    _refused("OUT_OF_RANGE", lambda: sw.counter_read("c", -1))
    _refused("OUT_OF_RANGE", lambda: sw.counter_write("c", 4, 1, 1))
    _refused("OUT_OF_RANGE", lambda: sw.register_read("r", 4))
    _refused("OUT_OF_RANGE", lambda: sw.register_write("r", -1, 1))
    _refused("INVALID_ARGUMENT", lambda: sw.register_write("r", 0, 256))
    _refused("INVALID_ARGUMENT", lambda: sw.register_write("r", 0, -1))
    _refused("OUT_OF_RANGE", lambda: sw.meter_set_rates("m", 2, [(1.0, 1), (2.0, 1)]))
    _refused("OUT_OF_RANGE", lambda: sw.meter_get_rates("m", 9))
    _refused("INVALID_ARGUMENT", lambda: sw.meter_set_rates("m", 0, [(1.0, 1)]))
    _refused("INVALID_ARGUMENT", lambda: sw.meter_set_rates("m", 0, [(3.0, 1), (2.0, 1)]))
    _refused("INVALID_ARGUMENT", lambda: sw.meter_set_rates("m", 0, [(1.0, -5), (2.0, 1)]))
    assert sw.meter_get_rates("m", 0) == []
    assert sw.register_read("r", 0) == 0
    sw.counter_write("c", 1, 64, 1)
    assert sw.counter_read("c", 1) == (64, 1)
    sw.register_write("r", 3, 255)
    assert sw.register_read("r", 3) == 255


@pytest.mark.parametrize("call", [
    lambda sw: sw.register_read("r", "0"),
    lambda sw: sw.register_read("r", 1.5),
    lambda sw: sw.register_write("r", 0, "5"),
    lambda sw: sw.register_write("r", None, 5),
    lambda sw: sw.counter_read("c", "1"),
    lambda sw: sw.counter_write("c", 0, "many", 1),
    lambda sw: sw.counter_write("c", 0, -1, 1),
    lambda sw: sw.meter_set_rates("m", 0, [("fast", 1), (2.0, 1)]),
    lambda sw: sw.meter_set_rates("m", 0, "junk"),
    lambda sw: sw.meter_set_rates("m", "0", [(1.0, 1), (2.0, 1)]),
    lambda sw: sw.parse_vset_add("pvs", "0x800"),
    lambda sw: sw.parse_vset_add("pvs", 0x800, "mask"),
    lambda sw: sw.table_counter_write("t_range", 1, "x", 0),
], ids=["reg-read-str", "reg-read-float", "reg-write-str", "reg-write-none", "ctr-read-str",
        "ctr-write-str", "ctr-write-negative", "meter-rate-str", "meter-rates-str",
        "meter-index-str", "vset-value-str", "vset-mask-str", "direct-ctr-str"])
def test_garbage_arguments_are_invalid_argument(sw: Switch, call: Callable[[Switch], Any]) -> None:
    sw.table_add("t_range", [(0, 1)], "nop", [], priority=1)
    with pytest.raises(RuntimeApiError) as e:
        call(sw)
    assert e.value.code in ("INVALID_ARGUMENT", "OUT_OF_RANGE"), e.value.code
    assert e.value.message


def test_value_set_codes(sw: Switch) -> None:
    _refused("INVALID_ARGUMENT", lambda: sw.parse_vset_add("pvs", 0x10000))
    _refused("INVALID_ARGUMENT", lambda: sw.parse_vset_add("pvs", -1))
    sw.parse_vset_add("pvs", 0x0800)
    sw.parse_vset_add("pvs", 0x86DD)
    _refused("RESOURCE_EXHAUSTED", lambda: sw.parse_vset_add("pvs", 0x8100))
    _refused("NOT_FOUND", lambda: sw.parse_vset_remove("pvs", 0x8100))
    _refused("NOT_FOUND", lambda: sw.parse_vset_remove("pvs", 0x0800, 0xFF00))
    sw.parse_vset_remove("pvs", 0x0800)
    sw.parse_vset_clear("pvs")


def test_pipeline_works_after_refusals(sw: Switch) -> None:
    out: list[tuple[int, bytes]] = []
    sw.transmit = lambda port, data: out.append((port, data))
    for bad in (lambda: sw.table_add("t_exact", [0x10000], "set_out", [1]),
                lambda: sw.register_write("r", 9, 1),
                lambda: sw.table_delete("t_const", 1)):
        with pytest.raises(RuntimeApiError):
            bad()
    sw.table_add("t_exact", [0x1234], "set_out", [0x77])
    sw.receive(0, be(0x1234, 2) + b"\x00\x00rest")
    sw.receive(0, be(0x0001, 2) + b"\x00\x00rest")  # const entry of t_const
    assert out == [(1, be(0x1234, 2) + b"\x00\x77rest"), (1, be(0x0001, 2) + b"\x00\x05rest")]


def test_pre_codes() -> None:
    pre = Harness(_program()).sw.pre
    _refused("INVALID_ARGUMENT", lambda: pre.mc_mgrp_create(0))
    _refused("INVALID_ARGUMENT", lambda: pre.mc_mgrp_create(0x10000))
    pre.mc_mgrp_create(1)
    _refused("ALREADY_EXISTS", lambda: pre.mc_mgrp_create(1))
    _refused("NOT_FOUND", lambda: pre.mc_mgrp_destroy(2))
    _refused("INVALID_ARGUMENT", lambda: pre.mc_node_create(0x10000, [1]))
    n = pre.mc_node_create(1, [1, 2])
    pre.mc_node_associate(1, n)
    _refused("ALREADY_EXISTS", lambda: pre.mc_node_associate(1, n))
    _refused("NOT_FOUND", lambda: pre.mc_node_associate(1, 99))
    _refused("NOT_FOUND", lambda: pre.mc_node_dissociate(1, 99))
    _refused("NOT_FOUND", lambda: pre.mc_node_update(99, [1]))
    _refused("INVALID_ARGUMENT", lambda: pre.mirroring_add(40000, egress_port=1))
    _refused("INVALID_ARGUMENT", lambda: pre.mirroring_add(1))
    _refused("NOT_FOUND", lambda: pre.mirroring_delete(3))
    _refused("NOT_FOUND", lambda: pre.mirroring_get(3))
    assert pre.mc_group_replicas(1) == [(1, 1), (2, 1)]

