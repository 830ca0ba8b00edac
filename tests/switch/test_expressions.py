"""BMv2 expression operators: arbitrary precision, truncation only on store."""

from __future__ import annotations

from .bmv2 import (
    Harness,
    assign,
    b2d,
    band,
    be,
    boolv,
    d2b,
    ex,
    extract,
    fld,
    hdr,
    header_program,
    hexv,
    set_port,
    valid,
)


def _run(fields: list, prims: list, packet: bytes) -> bytes:
    p = header_program(fields)
    p.run("ingress", prims + [set_port(1)])
    port, out = Harness(p).one(0, packet)
    assert port == 1
    return out


def test_add_sub_mul_wrap_on_store() -> None:
    out = _run([["a", 8], ["b", 8], ["s", 8], ["d", 8], ["m", 16]], [
        assign(fld("h", "s"), ex("+", fld("h", "a"), fld("h", "b"))),
        assign(fld("h", "d"), ex("-", fld("h", "a"), fld("h", "b"))),
        assign(fld("h", "m"), ex("*", fld("h", "a"), fld("h", "b"))),
    ], b"\x10\xf0\x00\x00\x00\x00")
    # 0x10 + 0xf0 = 0x100 -> 0x00; 0x10 - 0xf0 = -0xe0 -> 0x20; 0x10 * 0xf0 = 0xf00
    assert out == b"\x10\xf0\x00\x20\x0f\x00"


def test_division_and_modulo_unsigned() -> None:
    out = _run([["a", 16], ["b", 8], ["q", 16], ["r", 8]], [
        assign(fld("h", "q"), ex("/", fld("h", "a"), fld("h", "b"))),
        assign(fld("h", "r"), ex("%", fld("h", "a"), fld("h", "b"))),
    ], be(1000, 2) + b"\x07" + b"\x00" * 3)
    assert out == be(1000, 2) + b"\x07" + be(142, 2) + b"\x06"


def test_division_by_zero_drops_packet_only() -> None:
    p = header_program([["a", 8], ["b", 8], ["q", 8]])
    p.run("ingress", [assign(fld("h", "q"), ex("/", fld("h", "a"), fld("h", "b"))), set_port(1)])
    h = Harness(p)
    assert h.send(0, b"\x09\x00\x00") == []
    assert h.stat("drop_runtime_error") == 1
    assert h.one(0, b"\x09\x03\x00") == (1, b"\x09\x03\x03")


def test_bitwise_operators_and_negation() -> None:
    out = _run([["a", 8], ["b", 8], ["x", 8], ["o", 8], ["n", 8], ["w", 16]], [
        assign(fld("h", "x"), ex("^", fld("h", "a"), fld("h", "b"))),
        assign(fld("h", "o"), ex("|", ex("&", fld("h", "a"), hexv(0x0F)), fld("h", "b"))),
        assign(fld("h", "n"), band(ex("~", None, fld("h", "a")), 8)),
        assign(fld("h", "w"), ex("~", None, fld("h", "a"))),  # unmasked ~: truncated on store
    ], b"\x5a\x30" + b"\x00" * 5)
    assert out == b"\x5a\x30" + bytes([0x5A ^ 0x30, 0x0A | 0x30, 0xA5]) + be(0xFFA5, 2)


def test_shifts_including_huge_runtime_counts() -> None:
    out = _run([["a", 32], ["n", 32], ["l", 32], ["r", 32], ["big", 32], ["bigr", 32], ["c", 16]], [
        assign(fld("h", "l"), ex("<<", fld("h", "a"), hexv(4))),
        assign(fld("h", "r"), ex(">>", fld("h", "a"), hexv(4))),
        assign(fld("h", "big"), ex("<<", fld("h", "a"), fld("h", "n"))),   # n = 0xffffffff
        assign(fld("h", "bigr"), ex(">>", fld("h", "a"), fld("h", "n"))),
        assign(fld("h", "c"), ex("<<", hexv(1), band(fld("h", "n"), 4))),  # 1 << 15
    ], be(0x87654321, 4) + be(0xFFFFFFFF, 4) + b"\x00" * 18)
    assert out == (be(0x87654321, 4) + be(0xFFFFFFFF, 4) + be(0x76543210, 4)
                   + be(0x08765432, 4) + be(0, 4) + be(0, 4) + be(0x8000, 2))


def test_runtime_shift_by_field_width_or_more_gives_zero() -> None:
    out = _run([["a", 16], ["n", 8], ["l", 16], ["r", 16]], [
        assign(fld("h", "l"), ex("<<", fld("h", "a"), fld("h", "n"))),
        assign(fld("h", "r"), ex(">>", fld("h", "a"), fld("h", "n"))),
    ], be(0xFFFF, 2) + b"\x10" + b"\x00" * 4)
    assert out == be(0xFFFF, 2) + b"\x10" + be(0, 2) + be(0, 2)


def test_comparisons_on_signed_and_unsigned_fields() -> None:
    fields = [["s", 8, True], ["t", 8, True], ["u", 8], ["v", 8],
              ["lt_s", 8], ["lt_u", 8], ["ge_s", 8], ["eq", 8]]
    out = _run(fields, [
        assign(fld("h", "lt_s"), b2d(ex("<", fld("h", "s"), fld("h", "t")))),   # -1 < 1
        assign(fld("h", "lt_u"), b2d(ex("<", fld("h", "u"), fld("h", "v")))),   # 255 < 1
        assign(fld("h", "ge_s"), b2d(ex(">=", fld("h", "t"), hexv(-128)))),
        assign(fld("h", "eq"), b2d(ex("==", fld("h", "s"), hexv(-1)))),
    ], b"\xff\x01\xff\x01\x00\x00\x00\x00")
    assert out == b"\xff\x01\xff\x01" + b"\x01\x00\x01\x01"


def test_two_comp_mod_sat_cast_usat_cast() -> None:
    fields = [["a", 16], ["m1", 8, True], ["m2", 8, True], ["s1", 8, True], ["s2", 8, True],
              ["u1", 8], ["u2", 8], ["s3", 8, True]]
    out = _run(fields, [
        assign(fld("h", "m1"), ex("two_comp_mod", hexv(257), hexv(8))),
        assign(fld("h", "m2"), ex("two_comp_mod", hexv(-129), hexv(8))),
        assign(fld("h", "s1"), ex("sat_cast", fld("h", "a"), hexv(8))),          # 300 -> 127
        assign(fld("h", "s2"), ex("sat_cast", ex("-", hexv(0), fld("h", "a")), hexv(8))),
        assign(fld("h", "u1"), ex("usat_cast", fld("h", "a"), hexv(8))),         # 300 -> 255
        assign(fld("h", "u2"), ex("usat_cast", ex("-", hexv(5), fld("h", "a")), hexv(8))),
        assign(fld("h", "s3"), ex("sat_cast", hexv(-5), hexv(8))),
    ], be(300, 2) + b"\x00" * 7)
    assert out == be(300, 2) + bytes([1, 127, 127, 0x80, 255, 0, 0xFB])


def test_ternary_operator_and_bool_conversions() -> None:
    out = _run([["a", 8], ["t", 8], ["f", 8], ["b", 8]], [
        assign(fld("h", "t"), ex("?", hexv(3), hexv(4), cond=ex("==", fld("h", "a"), hexv(9)))),
        assign(fld("h", "f"), ex("?", hexv(3), hexv(4), cond=ex("!=", fld("h", "a"), hexv(9)))),
        assign(fld("h", "b"), b2d(ex("and", d2b(fld("h", "a")),
                                     ex("or", boolv(False), ex("not", None, boolv(False)))))),
    ], b"\x09\x00\x00\x00")
    assert out == b"\x09\x03\x04\x01"


def test_validity_in_conditions() -> None:
    for parsed, expected in ((False, b"\xbb"), (True, b"\xaa")):
        p = header_program([["a", 8]], ("other", "h_t"))
        if parsed:
            p.states[0]["parser_ops"].append(extract("other"))
        yes = p.code("ingress", "yes", [assign(fld("h", "a"), hexv(0xAA))])
        no = p.code("ingress", "no", [assign(fld("h", "a"), hexv(0xBB))])
        c = p.cond("ingress.c", valid("other"), yes, no)
        p.run("ingress", [set_port(1)], then=c)
        # the second byte is 'other' when parsed, else payload: emitted unchanged either way
        assert Harness(p).one(0, b"\x00\x00") == (1, expected + b"\x00")


def test_valid_operator_on_header() -> None:
    p = header_program([["a", 8]], ("other", "h_t"))
    both = p.code("ingress", "both", [assign(fld("h", "a"), hexv(0xAA))])
    c = p.cond("ingress.c", ex("and", ex("valid", None, hdr("h")),
                               ex("not", None, ex("valid", None, hdr("other")))), both, None)
    p.run("ingress", [set_port(1)], then=c)
    assert Harness(p).one(0, b"\x00") == (1, b"\xaa")
