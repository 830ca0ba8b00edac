"""Action primitives of pybm-switch, one behaviour per test, checked on the wire."""

from __future__ import annotations

import logging

import pytest

from .bmv2 import (
    Harness,
    Program,
    assign,
    b2d,
    band,
    be,
    ex,
    extract,
    extract_stack,
    extract_vl,
    fld,
    hdr,
    header_program,
    hexv,
    prim,
    set_port,
    sm,
    stack,
    string,
    trans,
    union,
    vector,
)

# -- assign ----------------------------------------------------------------------


def test_assign_truncates_to_destination_width() -> None:
    p = header_program([["a", 8], ["b", 16], ["c", 32]])
    p.run("ingress", [
        assign(fld("h", "a"), hexv(0x1FF)),                       # constant wider than the field
        assign(fld("h", "b"), fld("h", "c")),                     # 32-bit source into 16 bits
        assign(fld("h", "c"), ex("+", fld("h", "c"), hexv(0x10))),  # overflow of c itself
        set_port(1),
    ])
    h = Harness(p)
    port, out = h.one(0, b"\x00" + be(0x1234, 2) + be(0xFFFFFFF8, 4) + b"payload")
    assert port == 1
    assert out == b"\xff" + be(0xFFF8, 2) + be(0x00000008, 4) + b"payload"


def test_assign_to_signed_fields_wraps_twos_complement() -> None:
    p = header_program([["s8", 8, True], ["t8", 8, True], ["s16", 16, True], ["u8", 8]])
    p.run("ingress", [
        assign(fld("h", "t8"), ex("+", fld("h", "s8"), hexv(1))),   # 127 + 1 -> -128
        assign(fld("h", "s16"), fld("h", "u8")),                    # 0xff unsigned -> 255
        assign(fld("h", "u8"), fld("h", "s8")),                     # 127 stays 0x7f
        set_port(1),
    ])
    h = Harness(p)
    _, out = h.one(0, b"\x7f\x00\x00\x00\xff")
    assert out == b"\x7f\x80\x00\xff\x7f"

    p = header_program([["s8", 8, True], ["s16", 16, True], ["t8", 8, True]])
    p.run("ingress", [
        assign(fld("h", "s16"), fld("h", "s8")),                    # sign extension of -1
        assign(fld("h", "t8"), hexv(200)),                          # 200 -> -56 = 0xc8
        assign(fld("h", "s8"), hexv(-129)),                         # -129 -> 127
        set_port(1),
    ])
    _, out = Harness(p).one(0, b"\xff\x00\x00\x00")
    assert out == b"\x7f\xff\xff\xc8"


def _varbit_program() -> Program:
    """src: a length byte then that many varbit bytes (max 8); dst: same type, not parsed."""
    p = Program()
    p.header_type("opt_t", [["len", 8], ["data", "*"]], max_length=9)
    p.header("src", "opt_t")
    p.header("dst", "opt_t")
    n = p.scalar("n", 8)
    p.state("start", [
        {"op": "set", "parameters": [n, {"type": "lookahead", "value": [0, 8]}]},
        extract_vl("src", band(ex("<<", n, hexv(3)), 32)),
    ])
    p.deparse("src", "dst")
    return p


def test_assign_vl_copies_varbit_value_and_length() -> None:
    p = _varbit_program()
    p.run("ingress", [
        prim("add_header", hdr("dst")),
        assign(fld("dst", "len"), fld("src", "len")),
        prim("assign_VL", fld("dst", "data"), fld("src", "data")),
        set_port(1),
    ])
    h = Harness(p)
    _, out = h.one(0, b"\x03\xaa\xbb\xcc" + b"tail")
    assert out == b"\x03\xaa\xbb\xcc" + b"\x03\xaa\xbb\xcc" + b"tail"
    # a zero-length varbit is copied as zero bytes
    _, out = h.one(0, b"\x00tail")
    assert out == b"\x00\x00tail"


# -- whole headers, unions, stacks ---------------------------------------------------


def _two_header_program(parse_b: bool) -> Program:
    p = Program()
    p.header_type("x_t", [["v", 16], ["w", 8]])
    p.header("a", "x_t")
    p.header("b", "x_t")
    p.header("c", "x_t")  # never extracted
    p.state("start", [extract("a")] + ([extract("b")] if parse_b else []))
    p.deparse("a", "b", "c")
    return p


def test_assign_header_copies_fields_and_validity() -> None:
    p = _two_header_program(parse_b=False)
    p.run("ingress", [prim("assign_header", hdr("b"), hdr("a")),
                      assign(fld("a", "w"), hexv(0xEE)), set_port(1)])
    _, out = Harness(p).one(0, b"\x12\x34\x56" + b"pay")
    # b is a copy of a taken before a.w changed; b is emitted because it became valid
    assert out == b"\x12\x34\xee" + b"\x12\x34\x56" + b"pay"


def test_assign_header_from_invalid_source_invalidates_destination() -> None:
    p = _two_header_program(parse_b=True)
    p.run("ingress", [prim("assign_header", hdr("a"), hdr("c")), set_port(1)])
    _, out = Harness(p).one(0, b"\x01\x02\x03" + b"\x04\x05\x06" + b"pay")
    assert out == b"\x04\x05\x06" + b"pay"


def test_assign_union_and_union_member_exclusivity() -> None:
    p = Program()
    p.header_type("x_t", [["x", 16]])
    p.header_type("y_t", [["y", 32]])
    u1 = p.union("u1", [("x", "x_t"), ("y", "y_t")])
    u2 = p.union("u2", [("x", "x_t"), ("y", "y_t")])
    p.state("start", [extract(u1[0])])
    p.deparse(*u1, *u2)
    p.run("ingress", [prim("assign_union", union("u2"), union("u1")), set_port(1)])
    h = Harness(p)
    _, out = h.one(0, b"\xab\xcd" + b"rest")
    assert out == b"\xab\xcd" + b"\xab\xcd" + b"rest"

    # making the other member valid invalidates the one that was valid
    p2 = Program()
    p2.header_type("x_t", [["x", 16]])
    p2.header_type("y_t", [["y", 32]])
    u = p2.union("u", [("x", "x_t"), ("y", "y_t")])
    p2.state("start", [extract(u[0])])
    p2.deparse(*u)
    p2.run("ingress", [prim("add_header", hdr(u[1])), assign(fld(u[1], "y"), hexv(0x01020304)),
                       set_port(1)])
    _, out = Harness(p2).one(0, b"\xab\xcd" + b"rest")
    assert out == b"\x01\x02\x03\x04" + b"rest"


def _stack_program(depth: int = 3) -> Program:
    """Stack s of 1-byte entries (bos bit + 7-bit value), parsed until bos."""
    p = Program()
    p.header_type("e_t", [["bos", 1], ["v", 7]])
    p.header_type("info_t", [["size", 8], ["last", 8]])
    p.stack("s", "e_t", depth)
    p.stack("t", "e_t", depth)
    p.header("info", "info_t")
    p.state("start", [extract_stack("s")],
            key=[{"type": "stack_field", "value": ["s", "bos"]}],
            transitions=[trans(1, None), trans(0, "start")])
    p.deparse("info", *[f"s[{i}]" for i in range(depth)], *[f"t[{i}]" for i in range(depth)])
    return p


def _report_stack(name: str) -> list:
    return [prim("add_header", hdr("info")),
            assign(fld("info", "size"), ex("size_stack", None, stack(name))),
            assign(fld("info", "last"), band(ex("last_stack_index", None, stack(name)), 8))]


def test_header_stack_parse_and_assign_header_stack() -> None:
    p = _stack_program()
    p.run("ingress", [prim("assign_header_stack", stack("t"), stack("s"))] + _report_stack("t")
          + [set_port(1)])
    _, out = Harness(p).one(0, b"\x05\x86" + b"data")
    # info(size=2, last=1), s[0..1], then the copy t[0..1]
    assert out == b"\x02\x01" + b"\x05\x86" + b"\x05\x86" + b"data"


def test_push_front_shifts_and_invalidates() -> None:
    p = _stack_program()
    p.run("ingress", [prim("push", stack("s"), hexv(1)),
                      prim("add_header", hdr("s[0]")), assign(fld("s[0]", "v"), hexv(0x11))]
          + _report_stack("s") + [set_port(1)])
    _, out = Harness(p).one(0, b"\x05\x86" + b"data")
    assert out == b"\x03\x02" + b"\x11\x05\x86" + b"data"


def test_push_front_without_set_valid_leaves_hole() -> None:
    p = _stack_program()
    p.run("ingress", [prim("push", stack("s"), hexv(1))] + _report_stack("s") + [set_port(1)])
    _, out = Harness(p).one(0, b"\x05\x86" + b"data")
    assert out == b"\x03\x02" + b"\x05\x86" + b"data"


def test_push_front_by_depth_invalidates_everything() -> None:
    p = _stack_program()
    p.run("ingress", [prim("push", stack("s"), hexv(3))] + _report_stack("s") + [set_port(1)])
    _, out = Harness(p).one(0, b"\x05\x86" + b"data")
    assert out == b"\x03\x02" + b"data"


def test_pop_front_shifts_down() -> None:
    p = _stack_program()
    p.run("ingress", [prim("pop", stack("s"), hexv(1))] + _report_stack("s") + [set_port(1)])
    _, out = Harness(p).one(0, b"\x01\x02\x83" + b"data")
    assert out == b"\x02\x01" + b"\x02\x83" + b"data"


def test_pop_front_of_the_only_element_empties_the_stack() -> None:
    p = _stack_program()
    p.run("ingress", [prim("pop", stack("s"), hexv(2)), prim("add_header", hdr("info")),
                      assign(fld("info", "size"), ex("size_stack", None, stack("s"))),
                      set_port(1)])
    _, out = Harness(p).one(0, b"\x81" + b"data")
    assert out == b"\x00\x00" + b"data"


# -- validity and length -----------------------------------------------------------


def test_add_header_zeroes_fields_only_when_it_was_invalid() -> None:
    p = _two_header_program(parse_b=True)
    p.run("ingress", [prim("remove_header", hdr("b")), prim("add_header", hdr("b")),
                      prim("add_header", hdr("a")),  # already valid: unchanged
                      set_port(1)])
    _, out = Harness(p).one(0, b"\x01\x02\x03" + b"\x04\x05\x06" + b"pay")
    assert out == b"\x01\x02\x03" + b"\x00\x00\x00" + b"pay"


def test_add_and_remove_header_adjust_packet_length_seen_in_egress() -> None:
    p = Program()
    p.header_type("x_t", [["v", 16], ["w", 8]])
    p.header_type("len_t", [["len", 32]])
    p.header("a", "x_t")
    p.header("b", "x_t")
    p.header("l", "len_t")
    p.state("start", [extract("a"), extract("b")])
    p.deparse("l", "a", "b")
    p.run("ingress", [prim("remove_header", hdr("b")), prim("remove_header", hdr("b")),
                      prim("add_header", hdr("l")), set_port(1)])
    p.run("egress", [assign(fld("l", "len"), sm("packet_length"))])
    pkt = b"\x01\x02\x03\x04\x05\x06" + b"pay"
    _, out = Harness(p).one(0, pkt)
    # 9 bytes in, minus b (3, removed once even if asked twice), plus l (4)
    assert out == be(10, 4) + b"\x01\x02\x03" + b"pay"


def test_mark_to_drop_in_ingress_and_egress() -> None:
    p = header_program([["a", 8]])
    p.run("ingress", [set_port(1), prim("mark_to_drop", hdr("standard_metadata"))])
    h = Harness(p)
    assert h.send(0, b"\x01xyz") == []
    assert h.stat("drop_ingress") == 1

    p = header_program([["a", 8]])
    p.run("ingress", [set_port(1)])
    p.run("egress", [prim("mark_to_drop", hdr("standard_metadata"))])
    h = Harness(p)
    assert h.send(0, b"\x01xyz") == []
    assert h.stat("drop_egress") == 1


def test_mark_to_drop_cancels_multicast() -> None:
    p = header_program([["a", 8]])
    p.run("ingress", [assign(sm("mcast_grp"), hexv(1)),
                      prim("mark_to_drop", hdr("standard_metadata"))])
    h = Harness(p)
    h.sw.pre.mc_group_set(1, [(1, 0), (2, 0)])
    assert h.send(0, b"\x01xyz") == []
    # control: the same program without mark_to_drop replicates to both ports
    p = header_program([["a", 8]])
    p.run("ingress", [assign(sm("mcast_grp"), hexv(1))])
    h = Harness(p)
    h.sw.pre.mc_group_set(1, [(1, 0), (2, 0)])
    assert h.send(0, b"\x01xyz") == [(1, b"\x01xyz"), (2, b"\x01xyz")]


def test_exit_skips_rest_of_ingress_but_not_egress() -> None:
    p = header_program([["a", 8], ["b", 8], ["c", 8]])
    p.run("ingress",
          [assign(fld("h", "a"), hexv(1)), set_port(1), prim("exit")],
          [assign(fld("h", "b"), hexv(2))])
    p.run("egress", [assign(fld("h", "c"), hexv(3))])
    _, out = Harness(p).one(0, b"\x00\x00\x00")
    assert out == b"\x01\x00\x03"


def test_exit_takes_effect_between_nodes_not_inside_the_action() -> None:
    """BMv2 checks the exit flag between control-flow nodes (Pipeline::apply); the
    rest of the action that called exit still runs (p4c guards such code itself)."""
    p = header_program([["a", 8], ["b", 8]])
    p.run("ingress", [set_port(1), prim("exit"), assign(fld("h", "a"), hexv(7))],
          [assign(fld("h", "b"), hexv(9))])
    assert Harness(p).one(0, b"\x00\x00") == (1, b"\x07\x00")


def test_exit_in_egress_skips_rest_of_egress() -> None:
    p = header_program([["a", 8], ["b", 8]])
    p.run("ingress", [set_port(2)])
    p.run("egress", [assign(fld("h", "a"), hexv(1)), prim("exit")],
          [assign(fld("h", "b"), hexv(2))])
    assert Harness(p).one(0, b"\x00\x00") == (2, b"\x01\x00")


def test_truncate_keeps_the_smallest_length() -> None:
    p = header_program([["a", 8]])
    p.run("ingress", [prim("truncate", hexv(10)), prim("truncate", hexv(6)),
                      prim("truncate", hexv(8)), set_port(1)])
    h = Harness(p)
    assert h.one(0, bytes(range(20))) == (1, bytes(range(6)))
    assert h.one(0, b"\x01\x02") == (1, b"\x01\x02")  # shorter than the limit: unchanged


def test_truncate_in_egress_applies_to_deparsed_frame() -> None:
    p = header_program([["a", 8]])
    p.run("ingress", [set_port(1), prim("add_header", hdr("h"))])
    p.run("egress", [assign(fld("h", "a"), hexv(0x55)), prim("truncate", hexv(3))])
    assert Harness(p).one(0, b"\x01\x02\x03\x04\x05") == (1, b"\x55\x02\x03")


# -- jumps, logging, assertions ---------------------------------------------------------


def test_jump_and_jump_if_zero_run_a_loop() -> None:
    # acc = 0 + 1 + ... + (count - 1), written the way p4c lowers a for loop
    p = header_program([["count", 8], ["acc", 16]])
    i = p.scalar("i", 8)
    p.run("ingress", [
        assign(i, hexv(0)),                                                      # 0
        assign(fld("h", "acc"), hexv(0)),                                        # 1
        prim("_jump_if_zero", b2d(ex("<", i, fld("h", "count"))), hexv(6)),     # 2
        assign(fld("h", "acc"), band(ex("+", fld("h", "acc"), i), 16)),         # 3
        assign(i, band(ex("+", i, hexv(1)), 8)),                                # 4
        prim("_jump", hexv(2)),                                                  # 5
        set_port(1),                                                             # 6
    ])
    h = Harness(p)
    assert h.one(0, b"\x05\x00\x00") == (1, b"\x05" + be(10, 2))
    assert h.one(0, b"\x00\xff\xff") == (1, b"\x00" + be(0, 2))
    assert h.one(0, b"\x64\x00\x00") == (1, b"\x64" + be(4950, 2))


def test_log_msg_formats_arguments(caplog: pytest.LogCaptureFixture) -> None:
    p = header_program([["a", 8], ["b", 16]])
    p.run("ingress", [prim("log_msg", string("a={} b={}"), vector(fld("h", "a"), fld("h", "b"))),
                      prim("log_msg", string("no arguments"), vector()),
                      set_port(1)])
    h = Harness(p)
    with caplog.at_level(logging.INFO, logger="pybm.switch"):
        assert h.one(0, b"\x07\x01\x00") == (1, b"\x07\x01\x00")
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.endswith("a=7 b=256") for m in messages), messages
    assert any(m.endswith("no arguments") for m in messages), messages


@pytest.mark.parametrize("op", ["assert", "assume"])
def test_failed_assert_drops_packet_and_switch_keeps_running(op: str) -> None:
    p = header_program([["a", 8]])
    p.run("ingress", [prim(op, b2d(ex("!=", fld("h", "a"), hexv(0)))), set_port(1)])
    h = Harness(p)
    assert h.send(0, b"\x00zero") == []
    assert h.stat("drop_runtime_error") == 1
    assert h.one(0, b"\x01one") == (1, b"\x01one")
    assert h.send(0, b"\x00zero") == []
    assert h.stat("drop_runtime_error") == 2


def test_rng_uniform_stays_in_range() -> None:
    p = header_program([["r", 16], ["s", 8]])
    p.run("ingress", [prim("modify_field_rng_uniform", fld("h", "r"), hexv(1000), hexv(1015)),
                      prim("modify_field_rng_uniform", fld("h", "s"), hexv(7), hexv(7)),
                      set_port(1)])
    h = Harness(p)
    seen = set()
    for _ in range(300):
        _, out = h.one(0, b"\x00\x00\x00")
        seen.add(int.from_bytes(out[:2], "big"))
        assert out[2] == 7
    assert seen <= set(range(1000, 1016))
    assert len(seen) > 8  # 300 draws from 16 values: all but impossible to see fewer

