"""Parser features and parser errors as simple_switch reports them to ingress.

Most programs here put a small ``res`` header in front of the output: ingress
makes it valid and copies ``standard_metadata.parser_error`` (and other facts)
into it, so each test sees both the error code and exactly which headers the
parser extracted before it stopped (they are emitted after ``res``; the
unparsed rest of the frame follows as payload).
"""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from pybm.switch.errors import RuntimeApiError

from .bmv2 import (
    ERR,
    Harness,
    Program,
    advance,
    assign,
    band,
    be,
    default,
    ex,
    extract,
    extract_stack,
    extract_vl,
    fld,
    hdr,
    hexv,
    lookahead,
    pprim,
    prim,
    pset,
    set_port,
    sm,
    trans,
    verify,
    vset_trans,
)

ETH = [["dst", 48], ["src", 48], ["type", 16]]
VLAN = [["pcp", 3], ["dei", 1], ["vid", 12], ["type", 16]]
IPV4 = [["version", 4], ["ihl", 4], ["diffserv", 8], ["totalLen", 16], ["identification", 16],
        ["flags", 3], ["fragOffset", 13], ["ttl", 8], ["protocol", 8], ["hdrChecksum", 16],
        ["srcAddr", 32], ["dstAddr", 32]]
UDP_F = [["srcPort", 16], ["dstPort", 16], ["length", 16], ["checksum", 16]]


def _with_result(p: Program, *extra: list) -> Program:
    """Declare res (err:32, aux:32), emitted first; ingress fills it and sends to port 1."""
    p.header_type("res_t", [["err", 32], ["aux", 32]])
    p.header("res", "res_t")
    p.order.insert(0, "res")
    p.run("ingress", [prim("add_header", hdr("res")),
                      assign(fld("res", "err"), sm("parser_error")), *extra, set_port(1)])
    return p


def _res(err: int, aux: int = 0) -> bytes:
    return be(err, 4) + be(aux, 4)


def _l2l3() -> Program:
    p = Program()
    p.header_type("ethernet_t", ETH)
    p.header_type("vlan_t", VLAN)
    p.header_type("ipv4_t", IPV4)
    p.header_type("udp_t", UDP_F)
    for h in ("ethernet", "vlan", "ipv4", "udp"):
        p.header(h, f"{h}_t")
    p.state("start", [extract("ethernet")], key=[fld("ethernet", "type")],
            transitions=[trans(0x8100, "parse_vlan", width=2), trans(0x0800, "parse_ipv4", width=2),
                         default(None)])
    p.state("parse_vlan", [extract("vlan")], key=[fld("vlan", "type")],
            transitions=[trans(0x0800, "parse_ipv4", width=2), default(None)])
    p.state("parse_ipv4", [extract("ipv4")], key=[fld("ipv4", "protocol")],
            transitions=[trans(17, "parse_udp"), default(None)])
    p.state("parse_udp", [extract("udp")])
    p.deparse("ethernet", "vlan", "ipv4", "udp")
    return p


def test_select_paths_and_deparse_round_trip() -> None:
    p = _l2l3()
    p.run("ingress", [set_port(1)])
    h = Harness(p)
    frames = [
        bytes(Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="10.0.0.2")
              / UDP(sport=1, dport=2) / b"payload"),
        bytes(Ether() / Dot1Q(vlan=7) / IP() / UDP() / (b"x" * 30)),
        bytes(Ether(type=0x88B5) / (b"\x01\x02\x03" * 20)),
        bytes(Ether() / Dot1Q(vlan=1, type=0x86DD) / (b"\x00" * 40)),
    ]
    for f in frames:
        assert h.one(0, f) == (1, f)


def test_which_headers_were_extracted_is_visible_in_ingress() -> None:
    p = _l2l3()
    p.header_type("res_t", [["bits", 8]])
    p.header("res", "res_t")
    p.order.insert(0, "res")
    bits = ex("|", ex("|", ex("<<", ex("b2d", None, ex("d2b", None, fld("vlan", "$valid$"))), hexv(2)),
                      ex("<<", ex("b2d", None, ex("d2b", None, fld("ipv4", "$valid$"))), hexv(1))),
              ex("b2d", None, ex("d2b", None, fld("udp", "$valid$"))))
    p.run("ingress", [prim("add_header", hdr("res")), assign(fld("res", "bits"), bits), set_port(1)])
    h = Harness(p)
    f = bytes(Ether() / Dot1Q() / IP() / UDP())
    assert h.one(0, f) == (1, b"\x07" + f)
    f = bytes(Ether() / IP(proto=6) / (b"\x00" * 20))
    assert h.one(0, f) == (1, b"\x02" + f)


def test_masked_transition() -> None:
    p = Program()
    p.header_type("b_t", [["v", 8]])
    p.header_type("res_t", [["which", 8]])
    p.header("b", "b_t")
    p.header("res", "res_t")
    p.state("start", [extract("b")], key=[fld("b", "v")],
            transitions=[trans(0x80, "high", mask=0xF0), default(None)])
    p.state("high", [pprim(prim("add_header", hdr("res"))),
                     pset(fld("res", "which"), hexv(1))])
    p.deparse("res", "b")
    p.run("ingress", [set_port(1)])
    h = Harness(p)
    assert h.one(0, b"\x8f") == (1, b"\x01\x8f")
    assert h.one(0, b"\x9f") == (1, b"\x9f")


# -- errors ----------------------------------------------------------------------------


def test_packet_too_short_keeps_earlier_headers() -> None:
    p = _with_result(_l2l3())
    h = Harness(p)
    f = bytes(Ether() / IP() / UDP())
    short = f[:14 + 20 + 5]  # UDP header cut after 5 bytes
    assert h.one(0, short) == (1, _res(ERR["PacketTooShort"]) + short)
    assert h.stat("parser_error") == 1
    tiny = b"\x01\x02\x03"
    assert h.one(0, tiny) == (1, _res(ERR["PacketTooShort"]) + tiny)
    assert h.one(0, b"") == (1, _res(ERR["PacketTooShort"]))


def test_verify_sets_custom_error_seen_in_ingress() -> None:
    p = Program()
    p.header_type("b_t", [["v", 8]])
    p.header("b", "b_t")
    bad = p.error("BadValue")
    p.state("start", [extract("b"), verify(ex("<", fld("b", "v"), hexv(10)), bad)])
    p.deparse("b")
    _with_result(p)
    h = Harness(p)
    assert h.one(0, b"\x05rest") == (1, _res(0) + b"\x05rest")
    assert h.one(0, b"\x0arest") == (1, _res(bad) + b"\x0arest")


def test_explicit_no_match_state() -> None:
    """p4c's HandleNoMatch lowering: default -> state noMatch { verify(false, NoMatch) }."""
    p = Program()
    p.header_type("b_t", [["v", 8]])
    p.header("b", "b_t")
    p.header("c", "b_t")
    p.state("start", [extract("b")], key=[fld("b", "v")],
            transitions=[trans(1, "one"), default("noMatch")])
    p.state("one", [extract("c")])
    p.state("noMatch", [verify({"type": "bool", "value": False}, ERR["NoMatch"])])
    p.deparse("b", "c")
    _with_result(p)
    h = Harness(p)
    assert h.one(0, b"\x01\x02r") == (1, _res(0) + b"\x01\x02r")
    assert h.one(0, b"\x05\x02r") == (1, _res(ERR["NoMatch"]) + b"\x05\x02r")


def test_select_without_default_accepts_like_simple_switch() -> None:
    """BMv2's ParseState::find_next_state returns the default next state, which is
    'accept' when the JSON lists no default transition (p4c's v1model output, e.g.
    issue1879-bmv2.json, relies on this)."""
    p = Program()
    p.header_type("b_t", [["v", 8]])
    p.header("b", "b_t")
    p.header("c", "b_t")
    p.state("start", [extract("b")], key=[fld("b", "v")], transitions=[trans(1, "one")])
    p.state("one", [extract("c")])
    p.deparse("b", "c")
    _with_result(p)
    h = Harness(p)
    assert h.one(0, b"\x01\x02r") == (1, _res(0) + b"\x01\x02r")
    assert h.one(0, b"\x05\x02r") == (1, _res(0) + b"\x05\x02r")


def test_advance_skips_bytes_and_checks_arguments() -> None:
    p = Program()
    p.header_type("len_t", [["skip", 8]])
    p.header_type("b_t", [["v", 8]])
    p.header("l", "len_t")
    p.header("b", "b_t")
    p.state("start", [extract("l"), advance(fld("l", "skip")), extract("b")])
    p.deparse("l", "b")
    _with_result(p)
    h = Harness(p)
    # skip 16 bits: the two skipped bytes are dropped from the output (BMv2 advance)
    assert h.one(0, b"\x10\xaa\xbb\x07tail") == (1, _res(0) + b"\x10\x07tail")
    assert h.one(0, b"\x04\xaa\xbb\x07") == (1, _res(ERR["ParserInvalidArgument"]) + b"\x04\xaa\xbb\x07")
    assert h.one(0, b"\x40\xaa\xbb") == (1, _res(ERR["PacketTooShort"]) + b"\x40\xaa\xbb")


def test_advance_by_constant() -> None:
    p = Program()
    p.header_type("b_t", [["v", 8]])
    p.header("b", "b_t")
    p.state("start", [advance(hexv(24)), extract("b")])
    p.deparse("b")
    _with_result(p)
    assert Harness(p).one(0, b"abc\x01xyz") == (1, _res(0) + b"\x01xyz")


def test_lookahead_in_select_and_set() -> None:
    p = Program()
    p.header_type("a_t", [["v", 16]])
    p.header_type("b_t", [["v", 8]])
    p.header("a", "a_t")
    p.header("b", "b_t")
    peek = p.scalar("peek", 16)
    p.state("start", [pset(peek, lookahead(0, 16))], key=[lookahead(4, 4)],
            transitions=[trans(0xF, "parse_a"), default("parse_b")])
    p.state("parse_a", [extract("a")])
    p.state("parse_b", [extract("b")])
    p.deparse("a", "b")
    _with_result(p, assign(fld("res", "aux"), peek))
    h = Harness(p)
    assert h.one(0, b"\x0f\x01rest") == (1, _res(0, 0x0F01) + b"\x0f\x01rest")
    assert h.one(0, b"\x00\x01rest") == (1, _res(0, 0x0001) + b"\x00\x01rest")
    # a lookahead beyond the end of the packet is PacketTooShort
    assert h.one(0, b"\x0f") == (1, _res(ERR["PacketTooShort"]) + b"\x0f")


# -- varbit --------------------------------------------------------------------------


def _options_program() -> Program:
    """hdr: len (bytes of options, i.e. bits = len * 8), options: varbit, max 4 bytes of opts."""
    p = Program()
    p.header_type("o_t", [["len", 8], ["opts", "*"], ["tail", 8]], max_length=6)
    p.header("o", "o_t")
    n = p.scalar("nbits", 32)
    p.state("start", [pset(n, lookahead(0, 8)), extract_vl("o", n)])
    p.deparse("o")
    return _with_result(p)


def test_extract_vl_valid_lengths() -> None:
    h = Harness(_options_program())
    for opts in (b"", b"\x01", b"\x01\x02\x03\x04"):
        f = bytes([8 * len(opts)]) + opts + b"\xee" + b"payload"
        assert h.one(0, f) == (1, _res(0) + f)


@pytest.mark.parametrize("nbits,body,error", [
    (12, b"\x01\x02\x03", "ParserInvalidArgument"),   # not a multiple of 8
    (40, b"\x01\x02\x03\x04\x05\x06\x07", "HeaderTooShort"),  # 5 bytes > max (6 - 2 fixed)
    (24, b"\x01\x02", "PacketTooShort"),              # fits the header, not the packet
    (80, b"\x01\x02", "PacketTooShort"),              # too long AND packet too short
])
def test_extract_vl_bad_lengths(nbits: int, body: bytes, error: str) -> None:
    """Order of the checks as in BMv2's extract_VL: multiple of 8, then packet
    length, then the header's max_length."""
    h = Harness(_options_program())
    f = bytes([nbits]) + body
    assert h.one(0, f) == (1, _res(ERR[error]) + f)


# -- header stacks ------------------------------------------------------------------


def _mpls_like(depth: int) -> Program:
    p = Program()
    p.header_type("l_t", [["label", 20], ["tc", 3], ["bos", 1], ["ttl", 8]])
    p.header_type("b_t", [["v", 8]])
    p.stack("labels", "l_t", depth)
    p.header("after", "b_t")
    p.state("start", [extract_stack("labels")],
            key=[{"type": "stack_field", "value": ["labels", "bos"]}],
            transitions=[trans(0, "start"), trans(1, "parse_after")])
    p.state("parse_after", [extract("after")])
    p.deparse(*[f"labels[{i}]" for i in range(depth)], "after")
    return _with_result(p, assign(fld("res", "aux"), band(fld("labels[0]", "label"), 32)))


def _label(label: int, bos: int, ttl: int = 64) -> bytes:
    return be((label << 12) | (bos << 8) | ttl, 4)


def test_stack_extract_next_and_last() -> None:
    h = Harness(_mpls_like(3))
    f = _label(100, 0) + _label(200, 0) + _label(300, 1) + b"\x42" + b"rest"
    assert h.one(0, f) == (1, _res(0, 100) + f)


def test_stack_out_of_bounds() -> None:
    h = Harness(_mpls_like(2))
    f = _label(100, 0) + _label(200, 0) + _label(300, 1) + b"\x42"
    # two labels were extracted, the third extract overflows the stack
    assert h.one(0, f) == (1, _res(ERR["StackOutOfBounds"], 100) + f)


def test_parser_loop_without_progress_ends_with_parser_timeout() -> None:
    p = Program()
    p.header_type("b_t", [["v", 8]])
    p.header("b", "b_t")
    p.state("start", [extract("b")], transitions=[default("spin")])
    p.state("spin", [], transitions=[default("spin")])
    p.deparse("b")
    _with_result(p)
    assert Harness(p).one(0, b"\x01x") == (1, _res(ERR["ParserTimeout"]) + b"\x01x")


# -- value sets -------------------------------------------------------------------


def test_parse_value_set_membership_changes_at_run_time() -> None:
    p = Program()
    p.header_type("t_t", [["type", 16]])
    p.header_type("b_t", [["v", 8]])
    p.header("t", "t_t")
    p.header("b", "b_t")
    p.vset("pvs", 16, max_size=4)
    p.state("start", [extract("t")], key=[fld("t", "type")],
            transitions=[vset_trans("pvs", "parse_b"), default(None)])
    p.state("parse_b", [extract("b")])
    p.deparse("t", "b")
    _with_result(p, assign(fld("res", "aux"), ex("b2d", None, ex("d2b", None, fld("b", "$valid$")))))
    h = Harness(p)
    f = b"\x12\x34\x56rest"
    assert h.one(0, f) == (1, _res(0, 0) + f)
    h.sw.parse_vset_add("pvs", 0x1234)
    assert h.one(0, f) == (1, _res(0, 1) + f)
    h.sw.parse_vset_remove("pvs", 0x1234)
    assert h.one(0, f) == (1, _res(0, 0) + f)
    h.sw.parse_vset_add("pvs", 0x1200, 0xFF00)  # masked member
    assert h.one(0, f) == (1, _res(0, 1) + f)
    h.sw.parse_vset_clear("pvs")
    assert h.one(0, f) == (1, _res(0, 0) + f)


def test_value_set_on_a_key_of_several_fields_uses_the_padded_key_layout() -> None:
    """A select key of a 4-bit and a 12-bit field is 24 bits wide once each field
    is padded to whole bytes (JSON_format.md); members use that layout."""
    p = Program()
    p.header_type("t_t", [["a", 4], ["b", 12]])
    p.header_type("x_t", [["v", 8]])
    p.header("t", "t_t")
    p.header("x", "x_t")
    p.vset("pvs", 16)
    p.state("start", [extract("t")], key=[fld("t", "a"), fld("t", "b")],
            transitions=[vset_trans("pvs", "parse_x"), default(None)])
    p.state("parse_x", [extract("x")])
    p.deparse("t", "x")
    _with_result(p, assign(fld("res", "aux"), ex("b2d", None, ex("d2b", None, fld("x", "$valid$")))))
    h = Harness(p)
    f = b"\xa1\x23\x77rest"  # a = 0xa, b = 0x123
    h.sw.parse_vset_add("pvs", 0x0A0123)
    assert h.one(0, f) == (1, _res(0, 1) + f)
    assert h.one(0, b"\xa1\x24\x77rest") == (1, _res(0, 0) + b"\xa1\x24\x77rest")
    h.sw.parse_vset_clear("pvs")
    h.sw.parse_vset_add("pvs", 0x0B0000, 0x0F0000)  # any b when a == 0xb
    assert h.one(0, b"\xbf\xff\x77rest") == (1, _res(0, 1) + b"\xbf\xff\x77rest")
    with pytest.raises(RuntimeApiError) as e:
        h.sw.parse_vset_add("pvs", 0x1000000)
    assert e.value.code == "INVALID_ARGUMENT"


# -- checksums -------------------------------------------------------------------------


def _ipv4_program(cond: dict | None, *, update: bool = False, verify_ck: bool = True) -> Program:
    p = Program()
    p.header_type("ethernet_t", ETH)
    p.header_type("ipv4_t", IPV4)
    p.header("ethernet", "ethernet_t")
    p.header("ipv4", "ipv4_t")
    p.state("start", [extract("ethernet")], key=[fld("ethernet", "type")],
            transitions=[trans(0x0800, "parse_ipv4", width=2), default(None)])
    p.state("parse_ipv4", [extract("ipv4")])
    p.deparse("ethernet", "ipv4")
    inputs = [fld("ipv4", f[0]) for f in IPV4 if f[0] != "hdrChecksum"]
    p.calc("ipv4_csum", "csum16", inputs)
    p.checksum("ck", ("ipv4", "hdrChecksum"), "ipv4_csum", if_cond=cond, verify=verify_ck,
               update=update)
    return p


def _ck_error_program(cond: dict | None) -> Program:
    p = _ipv4_program(cond)
    p.header_type("res_t", [["ck", 8]])
    p.header("res", "res_t")
    p.order.insert(0, "res")
    p.run("ingress", [prim("add_header", hdr("res")),
                      assign(fld("res", "ck"), sm("checksum_error")), set_port(1)])
    return p


def test_verify_checksum_sets_checksum_error() -> None:
    h = Harness(_ck_error_program(ex("d2b", None, fld("ipv4", "$valid$"))))
    good = bytes(Ether() / IP(src="1.2.3.4", dst="5.6.7.8", ttl=9) / b"data")
    assert h.one(0, good) == (1, b"\x00" + good)
    bad = bytearray(good)
    bad[14 + 10] ^= 0x01
    assert h.one(0, bytes(bad)) == (1, b"\x01" + bytes(bad))


def test_verify_checksum_skipped_when_target_header_invalid() -> None:
    """BMv2's Checksum::verify skips a checksum whose target field's header is invalid."""
    h = Harness(_ck_error_program({"type": "bool", "value": True}))
    arp_like = bytes(Ether(type=0x0806) / (b"\x00" * 28))
    assert h.one(0, arp_like) == (1, b"\x00" + arp_like)
    good = bytes(Ether() / IP() / b"data")
    assert h.one(0, good) == (1, b"\x00" + good)


def test_update_checksum_recomputes_ipv4_header_checksum() -> None:
    p = _ipv4_program(ex("d2b", None, fld("ipv4", "$valid$")), update=True, verify_ck=False)
    p.run("ingress", [assign(fld("ipv4", "ttl"), band(ex("-", fld("ipv4", "ttl"), hexv(1)), 8)),
                      set_port(1)])
    h = Harness(p)
    f = Ether(dst="02:00:00:00:00:01") / IP(src="10.1.2.3", dst="10.3.2.1", ttl=64) / b"hello"
    expected = f.copy()
    expected[IP].ttl = 63
    del expected[IP].chksum
    assert h.one(0, bytes(f)) == (1, bytes(expected))
    non_ip = bytes(Ether(type=0x88B5) / (b"\x00" * 30))
    assert h.one(0, non_ip) == (1, non_ip)


def test_update_checksum_condition_false_leaves_field() -> None:
    p = _ipv4_program(ex("==", fld("ipv4", "ttl"), hexv(1)), update=True, verify_ck=False)
    p.run("ingress", [assign(fld("ipv4", "ttl"), hexv(5)), set_port(1)])
    f = bytes(Ether() / IP(ttl=64) / b"x")
    out = Harness(p).one(0, f)[1]
    assert out[:14 + 8] + out[14 + 9:] == f[:14 + 8] + f[14 + 9:]  # checksum unchanged
    assert out[14 + 8] == 5


def _udp_program(app_parsed: bool) -> Program:
    p = Program()
    p.header_type("ethernet_t", ETH)
    p.header_type("ipv4_t", IPV4)
    p.header_type("udp_t", UDP_F)
    p.header_type("app_t", [["word", 32]])
    for h in ("ethernet", "ipv4", "udp", "app"):
        p.header(h, f"{h}_t")
    p.state("start", [extract("ethernet"), extract("ipv4"), extract("udp")]
            + ([extract("app")] if app_parsed else []))
    p.deparse("ethernet", "ipv4", "udp", "app")
    p.calc("udp_csum", "csum16", [
        fld("ipv4", "srcAddr"), fld("ipv4", "dstAddr"), {"type": "hexstr", "value": "0x00", "bitwidth": 8},
        fld("ipv4", "protocol"), fld("udp", "length"), fld("udp", "srcPort"), fld("udp", "dstPort"),
        fld("udp", "length"), {"type": "payload", "value": None}])
    p.checksum("ck", ("udp", "checksum"), "udp_csum", if_cond=ex("d2b", None, fld("udp", "$valid$")),
               verify=False, update=True)
    p.run("ingress", [assign(fld("udp", "dstPort"), hexv(4242)), set_port(1)])
    return p


def test_update_checksum_with_payload_matches_scapy() -> None:
    h = Harness(_udp_program(app_parsed=False))
    f = Ether() / IP(src="192.0.2.1", dst="198.51.100.7") / UDP(sport=5000, dport=53) / b"some payload!"
    expected = f.copy()
    expected[UDP].dport = 4242
    del expected[UDP].chksum
    assert h.one(0, bytes(f)) == (1, bytes(expected))


def test_payload_in_calculation_is_only_the_unparsed_rest() -> None:
    """BMv2's BufBuilder appends the packet data left after parsing; a header that
    was parsed after the last input field (here 'app') is not part of 'payload'."""
    h = Harness(_udp_program(app_parsed=True))
    app = be(0xA1B2C3D4, 4)
    f = Ether() / IP(src="192.0.2.1", dst="198.51.100.7") / UDP(sport=5000, dport=53) / (app + b"rest")
    # checksum over the pseudo header, the UDP header and b"rest" only
    pseudo = (bytes(IP(src="192.0.2.1", dst="198.51.100.7"))[12:20] + b"\x00\x11"
              + be(len(f[UDP]), 2))
    udp_hdr = be(5000, 2) + be(4242, 2) + be(len(f[UDP]), 2) + b"\x00\x00"
    want = _inet_csum(pseudo + udp_hdr + b"rest")
    out = h.one(0, bytes(f))[1]
    assert out[14 + 20 + 6:14 + 20 + 8] == be(want, 2)
    assert out[:14 + 20 + 6] == bytes(f)[:14 + 20 + 2] + be(4242, 2) + bytes(f)[14 + 20 + 4:14 + 20 + 6]
    assert out[14 + 20 + 8:] == app + b"rest"


def _inet_csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
