"""Robustness: random and mutated frames through a deep parser, and broken JSON
through load_config. Deterministic seeds; no timing assertions."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, TCP, UDP, IPOption_NOP, IPOption_RR
from scapy.layers.l2 import Dot1Q, Ether

from pybm.switch.engine import Switch
from pybm.switch.errors import ConfigError

from .bmv2 import (
    Harness,
    Program,
    assign,
    band,
    default,
    ex,
    extract,
    extract_stack,
    extract_vl,
    fld,
    hexv,
    key,
    named,
    prim,
    pset,
    sm,
    trans,
    verify,
)

ETH = [["dst", 48], ["src", 48], ["type", 16]]
VLAN = [["pcp", 3], ["dei", 1], ["vid", 12], ["type", 16]]
IPV4 = [["version", 4], ["ihl", 4], ["diffserv", 8], ["totalLen", 16], ["identification", 16],
        ["flags", 3], ["fragOffset", 13], ["ttl", 8], ["protocol", 8], ["hdrChecksum", 16],
        ["srcAddr", 32], ["dstAddr", 32], ["options", "*"]]
TCP_F = [["srcPort", 16], ["dstPort", 16], ["seqNo", 32], ["ackNo", 32], ["dataOffset", 4],
         ["res", 4], ["flags", 8], ["window", 16], ["checksum", 16], ["urgentPtr", 16],
         ["options", "*"]]
UDP_F = [["srcPort", 16], ["dstPort", 16], ["length", 16], ["checksum", 16]]

N_FRAMES = 12000


CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "v1model"
# forloop-bmv2 loops 'for (i = 0; i <= h.count; i++)' with an 8-bit i: a frame with
# count 255 never leaves ingress, on simple_switch as on pybm (a property of the program)
ENDLESS = {"forloop-bmv2"}


def deep_parser_program() -> Program:
    """Ethernet, up to two VLAN tags (a stack), IPv4 with varbit options (ihl checked with
    verify), TCP with varbit options or UDP; IPv4 checksum verified and updated, TTL
    decremented, one counter per parser error code, forwarding by a table."""
    p = Program()
    p.header_type("ethernet_t", ETH)
    p.header_type("vlan_t", VLAN)
    p.header_type("ipv4_t", IPV4, max_length=60)
    p.header_type("tcp_t", TCP_F, max_length=60)
    p.header_type("udp_t", UDP_F)
    p.header("ethernet", "ethernet_t")
    p.stack("vlan", "vlan_t", 2)
    p.header("ipv4", "ipv4_t")
    p.header("tcp", "tcp_t")
    p.header("udp", "udp_t")
    bad_ihl = p.error("IPv4IncorrectVersion")
    bad_off = p.error("TcpBadDataOffset")
    p.state("start", [extract("ethernet")], key=[fld("ethernet", "type")],
            transitions=[trans(0x8100, "parse_vlan", width=2), trans(0x0800, "parse_ipv4", width=2),
                         default(None)])
    p.state("parse_vlan", [extract_stack("vlan")],
            key=[{"type": "stack_field", "value": ["vlan", "type"]}],
            transitions=[trans(0x8100, "parse_vlan", width=2), trans(0x0800, "parse_ipv4", width=2),
                         default(None)])
    ihl = p.scalar("ihl", 8)
    p.state("parse_ipv4", [
        pset(ihl, {"type": "lookahead", "value": [4, 4]}),
        verify(ex(">=", ihl, hexv(5)), bad_ihl),
        extract_vl("ipv4", band(ex("<<", band(ex("-", ihl, hexv(5)), 8), hexv(5)), 32)),
    ], key=[fld("ipv4", "protocol")],
        transitions=[trans(6, "parse_tcp"), trans(17, "parse_udp"), default(None)])
    off = p.scalar("off", 8)
    p.state("parse_tcp", [
        pset(off, {"type": "lookahead", "value": [96, 4]}),
        verify(ex(">=", off, hexv(5)), bad_off),
        extract_vl("tcp", band(ex("<<", band(ex("-", off, hexv(5)), 8), hexv(5)), 32)),
    ])
    p.state("parse_udp", [extract("udp")])
    p.deparse("ethernet", "vlan[0]", "vlan[1]", "ipv4", "tcp", "udp")
    ip_fields = [fld("ipv4", f[0]) for f in IPV4 if f[0] != "hdrChecksum"]
    p.calc("ipv4_csum", "csum16", ip_fields)
    p.checksum("ipv4_ck", ("ipv4", "hdrChecksum"), "ipv4_csum",
               if_cond=ex("d2b", None, fld("ipv4", "$valid$")))
    p.counter("parser_errors", 16)
    p.action("to_port", [set_port_param()], [("port", 9)])
    p.action("drop", [prim("mark_to_drop", {"type": "header", "value": "standard_metadata"})])
    count = p.code("ingress", "count", [
        prim("count", named("counter_array", "parser_errors"), band(sm("parser_error"), 4)),
    ], "fwd")
    dec = p.code("ingress", "dec_ttl", [
        assign(fld("ipv4", "ttl"), band(ex("-", fld("ipv4", "ttl"), hexv(1)), 8))], count)
    p.table("fwd", keys=[key("exact", "standard_metadata", "ingress_port")],
            actions=["to_port", "drop"], default="to_port", default_data=[1])
    p.start("ingress", p.cond("ingress.is_ip", ex("d2b", None, fld("ipv4", "$valid$")), dec, count))
    return p


def set_port_param() -> dict:
    return assign(sm("egress_spec"), {"type": "runtime_data", "value": 0})


def _base_frames() -> list[bytes]:
    payload = bytes(range(48))
    return [bytes(f) for f in (
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=2000) / payload,
        Ether() / Dot1Q(vlan=5) / IP(ttl=3) / TCP(sport=1, dport=2, flags="S") / payload,
        Ether() / Dot1Q(vlan=5) / Dot1Q(vlan=6) / IP() / UDP() / payload,
        Ether() / IP(options=[IPOption_NOP(), IPOption_RR(routers=["1.2.3.4"])]) / TCP(
            options=[("MSS", 1460), ("NOP", None), ("WScale", 7), ("SAckOK", b"")]) / payload,
        Ether() / IP(proto=47) / payload,
        Ether(type=0x86DD) / payload,
    )]


def _mutate(rng: random.Random, base: list[bytes]) -> bytes:
    f = bytearray(rng.choice(base))
    kind = rng.randrange(9)
    if kind == 0:                                    # truncated, often inside a header
        return bytes(f[:rng.randrange(len(f) + 1)])
    if kind == 1:                                    # shorter than the first headers
        return bytes(f[:rng.randrange(0, 40)])
    if kind == 2:                                    # random bit flips
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(f))
            f[i] ^= 1 << rng.randrange(8)
        return bytes(f)
    if kind == 3:                                    # random bytes
        return rng.randbytes(rng.randrange(0, 128))
    if kind == 4:                                    # oversized
        return bytes(f) + rng.randbytes(rng.choice((1500, 9000, 65000)))
    if kind == 5:                                    # header length fields at their extremes
        if len(f) > 14 + 20:
            ip = 14 if f[12:14] == b"\x08\x00" else 18
            if ip + 1 < len(f):
                f[ip] = (f[ip] & 0xF0) | rng.randrange(16)
            tcp = ip + 20
            if tcp + 12 < len(f):
                f[tcp + 12] = (rng.randrange(16) << 4) | (f[tcp + 12] & 0x0F)
        return bytes(f)
    if kind == 6:                                    # empty
        return b""
    if kind == 7:                                    # ethertype / protocol from a small set
        f[12:14] = rng.choice((b"\x81\x00", b"\x08\x00", b"\x86\xdd", b"\x00\x00"))
        return bytes(f[:rng.randrange(14, len(f) + 1)])
    return bytes(f)                                  # unchanged


def test_random_and_mutated_frames_never_break_the_switch() -> None:
    h = Harness(deep_parser_program())
    rng = random.Random(20261121)
    base = _base_frames()
    sent = 0
    for _ in range(N_FRAMES):
        frame = _mutate(rng, base)
        out = h.send(rng.randrange(4), frame)  # must not raise
        for port, data in out:
            assert port == 1 and isinstance(data, bytes)
        sent += 1
    stats = h.sw.stats
    assert stats["rx"] == sent == N_FRAMES
    assert stats.get("drop_internal_error", 0) == 0, "the engine hit an internal error"
    assert stats.get("drop_runtime_error", 0) == 0
    # parser errors happened and were counted, per code, by the P4 program itself
    assert stats["parser_error"] > 1000
    per_code = [h.sw.counter_read("parser_errors", i)[1] for i in range(16)]
    assert sum(per_code) == N_FRAMES
    assert per_code[0] == N_FRAMES - stats["parser_error"]
    assert per_code[1] > 0       # PacketTooShort
    assert per_code[7] > 0       # IPv4IncorrectVersion (verify ihl >= 5)
    assert per_code[8] > 0       # TcpBadDataOffset (verify dataOffset >= 5)

    # afterwards a known-good frame is forwarded exactly
    good = Ether(dst="02:00:00:00:00:09") / IP(src="192.0.2.1", dst="192.0.2.2", ttl=64) / UDP(
        sport=7, dport=9) / b"after the storm"
    expected = good.copy()
    expected[IP].ttl = 63
    del expected[IP].chksum
    assert h.send(0, bytes(good)) == [(1, bytes(expected))]


def test_known_paths_of_the_fuzz_program() -> None:
    """The program the fuzzer uses really parses all its paths (else the fuzz proves little)."""
    h = Harness(deep_parser_program())
    for f in _base_frames():
        out = h.send(0, f)
        assert len(out) == 1
        port, data = out[0]
        parsed = Ether(data)
        if IP in parsed:
            original = Ether(f)
            assert parsed[IP].ttl == original[IP].ttl - 1
            check = parsed.copy()
            del check[IP].chksum
            assert Ether(bytes(check))[IP].chksum == parsed[IP].chksum
        else:
            assert data == f
    assert h.sw.stats.get("parser_error", 0) == 0


# -- broken configurations ----------------------------------------------------------------


def _valid_doc() -> dict[str, Any]:
    return deep_parser_program().build()


@pytest.mark.parametrize("text", [
    b"", b"{", b"}", b"not json at all", b"\xff\xfe\x00garbage", b"[]", b"null", b"42", b'"str"',
    b"{}", b'{"__meta__": {"version": [3, 0]}}', b'{"headers": {}}', b'{"actions": 5}',
])
def test_garbage_json_is_a_config_error(text: bytes) -> None:
    with pytest.raises(ConfigError) as e:
        Switch().load_config(text)
    assert str(e.value)


def test_truncated_json_is_a_config_error() -> None:
    text = json.dumps(_valid_doc())
    sw = Switch()
    for cut in range(0, len(text) - 1, max(1, len(text) // 150)):
        with pytest.raises(ConfigError) as e:
            sw.load_config(text[:cut])
        assert "JSON" in str(e.value)
    sw.load_config(text)  # the whole document loads
    assert sw.loaded


@pytest.mark.parametrize("mutate,reason", [
    (lambda d: d["actions"][0]["primitives"].append({"op": "frobnicate", "parameters": []}),
     "frobnicate"),
    (lambda d: d["parsers"][0]["parse_states"][0]["parser_ops"].append({"op": "teleport",
                                                                       "parameters": []}),
     "teleport"),
    (lambda d: d["headers"].append({"name": "x", "id": 99, "header_type": "nope", "metadata": False}),
     "nope"),
    (lambda d: d["pipelines"][0].update(init_table="no_such_node"), "no_such_node"),
    (lambda d: d["pipelines"][0]["tables"][-1]["action_ids"].append(999), "999"),
    (lambda d: d["calculations"][0].update(algo="md5"), "md5"),
    (lambda d: d["header_types"][2]["fields"].append(["bad", "wide"]), "bad"),
    (lambda d: d["extern_instances"].append({"name": "e", "id": 0, "type": "Foo"}), "Foo"),
    (lambda d: d.pop("pipelines"), "ingress"),
    (lambda d: d.pop("parsers"), "parser"),
    (lambda d: d["actions"][0]["primitives"].append(
        {"op": "assign", "parameters": [{"type": "field", "value": ["ipv4", "nofield"]},
                                        {"type": "hexstr", "value": "0x1"}]}), "nofield"),
    (lambda d: d["actions"][0]["primitives"].append(
        {"op": "assign", "parameters": [{"type": "field", "value": ["ipv4", "ttl"]},
                                        {"type": "hexstr", "value": "0xZZ"}]}), "0xZZ"),
])
def test_bad_documents_are_config_errors_with_a_reason(mutate: Any, reason: str) -> None:
    doc = _valid_doc()
    mutate(doc)
    with pytest.raises(ConfigError) as e:
        Switch().load_config(json.dumps(doc))
    assert reason in str(e.value)


_JUNK: list[Any] = [None, -1, 0, 7, "x", "", [], {}, [1, 2], {"type": "field"}, True, 1e300]


def _nodes(o: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(o, dict):
        for k, v in o.items():
            out += _nodes(v, path + (k,))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            out += _nodes(v, path + (i,))
    return out


def _mutation_run(base: dict[str, Any], seed: int, rounds: int) -> tuple[int, int]:
    """Apply 1-3 random deletions/replacements to copies of ``base``; every copy must
    either load or fail with a ConfigError, and what loads must survive traffic."""
    paths = [p for p in _nodes(base) if p]
    rng = random.Random(seed)
    loaded = refused = 0
    frames = _base_frames() + [b"", bytes(range(64))]
    for _ in range(rounds):
        doc = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(paths)
            parent: Any = doc
            try:
                for k in path[:-1]:
                    parent = parent[k]
                last = path[-1]
                if rng.random() < 0.4 and isinstance(parent, dict):
                    del parent[last]
                elif rng.random() < 0.5 and isinstance(parent, list):
                    parent.pop(last)
                else:
                    parent[last] = copy.deepcopy(rng.choice(_JUNK))
            except (KeyError, IndexError, TypeError):
                pass  # an earlier mutation removed the path
        sw = Switch()
        try:
            sw.load_config(json.dumps(doc))
        except ConfigError as e:
            assert str(e)
            refused += 1
            continue
        loaded += 1
        sw.transmit = lambda port, data: None
        for f in frames:
            sw.receive(0, f)
        assert sw.stats.get("drop_internal_error", 0) == 0, sw.stats
    return loaded, refused


def test_randomly_mutated_documents_load_or_fail_with_config_error() -> None:
    loaded, refused = _mutation_run(_valid_doc(), seed=7, rounds=1200)
    assert loaded + refused == 1200
    assert refused > 300 and loaded > 100


@pytest.mark.parametrize("name", ["v1model-special-ops-bmv2", "header-stack-ops-bmv2",
                                  "checksum-l4-bmv2", "union-bmv2", "table-entries-range-bmv2",
                                  "issue1879-bmv2"])
def test_mutated_conformance_documents(name: str) -> None:
    path = CORPUS / f"{name}.json"
    assert path.exists(), f"conformance corpus missing at {CORPUS}"
    loaded, refused = _mutation_run(json.loads(path.read_text()), seed=11, rounds=150)
    assert loaded + refused == 150 and refused > 0


def test_random_frames_through_every_conformance_program() -> None:
    """The p4c-compiled corpus exercises far more JSON shapes than our own programs;
    none of them may hit an internal error on garbage input."""
    programs = sorted(CORPUS.glob("*.json"))
    assert len(programs) >= 190, f"conformance corpus missing at {CORPUS}"
    rng = random.Random(99)
    base = _base_frames()
    for path in programs:
        if path.stem in ENDLESS:
            continue
        sw = Switch()
        sw.load_config(path.read_bytes())
        sw.transmit = lambda port, data: None
        for i in range(40):
            frame = _mutate(rng, base) if i % 2 else rng.randbytes(rng.randrange(0, 120))
            sw.receive(rng.randrange(8), frame)
        assert sw.stats["rx"] == 40
        assert sw.stats.get("drop_internal_error", 0) == 0, path.name
