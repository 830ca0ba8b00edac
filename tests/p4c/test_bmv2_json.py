import json
from pathlib import Path

from pybm.p4c.backend.jsonexpr import hexval
from pybm.p4c.backend.parser_gen import range_to_masks
from pybm.p4c.main import compile_program

from .conftest import program_with_ingress

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT.parent / "shared" / "conformance" / "v1model" / "key-bmv2.json"

TOP_KEYS = ["header_types", "headers", "header_stacks", "header_union_types", "header_unions",
            "header_union_stacks", "field_lists", "errors", "enums", "parsers", "parse_vsets", "deparsers",
            "meter_arrays", "counter_arrays", "register_arrays", "calculations", "learn_lists", "actions",
            "pipelines", "checksums", "force_arith", "extern_instances", "field_aliases", "program", "__meta__"]


def compile_text(tmp_path: Path, text: str) -> dict:
    p = tmp_path / "prog.p4"
    p.write_text(text)
    j, _ = compile_program(str(p))
    return json.loads(json.dumps(j))


def test_hexstr_formatting_like_p4c():
    assert hexval(0, 16) == "0x0000"
    assert hexval(5, 9) == "0x005"
    assert hexval(-3, 8) == "-0x03"
    assert hexval(4) == "0x4"


def test_range_expansion_covers_exactly():
    for lo, hi, w in [(0, 255, 8), (3, 17, 8), (1024, 65535, 16), (80, 80, 16)]:
        pairs = range_to_masks(lo, hi, w)
        covered = {v for v in range(1 << w) if any(v & m == val for val, m in pairs)}
        assert covered == set(range(lo, hi + 1))


def test_schema_matches_p4c_output(tmp_path: Path):
    j = compile_text(tmp_path, program_with_ingress("""
        action a(bit<8> v) { hdr.h.b = v; }
        table t { key = { hdr.h.a : exact; } actions = { a; NoAction; } default_action = NoAction(); }
        apply { if (hdr.h.isValid()) { t.apply(); } hdr.h.c = hdr.h.c + 1; }"""))
    assert list(j) == TOP_KEYS
    assert j["__meta__"]["version"] == [2, 23]
    assert j["header_types"][0]["name"] == "scalars_0"
    assert j["headers"][0]["name"] == "scalars" and j["headers"][1]["name"] == "standard_metadata"
    sm = next(h for h in j["header_types"] if h["name"] == "standard_metadata")
    assert sum(f[1] for f in sm["fields"]) % 8 == 0
    if GOLDEN.is_file():
        golden = json.loads(GOLDEN.read_text())
        assert j["field_aliases"] == golden["field_aliases"]
        assert j["errors"] == golden["errors"]
        gsm = next(h for h in golden["header_types"] if h["name"] == "standard_metadata")
        assert sm["fields"] == gsm["fields"]
    ingress = j["pipelines"][0]
    assert ingress["name"] == "ingress" and j["pipelines"][1]["name"] == "egress"
    t = next(x for x in ingress["tables"] if x["name"] == "IG.t")
    assert t["key"] == [{"match_type": "exact", "name": "hdr.h.a", "target": ["h", "a"], "mask": None}]
    assert t["actions"] == ["IG.a", "NoAction"]
    assert t["default_entry"]["action_const"] is False
    cond = ingress["conditionals"][0]
    assert cond["expression"] == {"type": "expression", "value": {
        "op": "d2b", "left": None, "right": {"type": "field", "value": ["h", "$valid$"]}}}
    assert cond["true_next"] == "IG.t"
    # the straight-line statement after the if became a p4c-style dummy table
    dummy = next(x for x in ingress["tables"] if x["name"].startswith("tbl_"))
    assert t["base_default_next"] == dummy["name"] and cond["false_next"] == dummy["name"]
    assert dummy["default_entry"]["action_const"] is True
    act = next(a for a in j["actions"] if a["name"] == dummy["actions"][0])
    assert act["primitives"][0]["op"] == "assign"
    assert act["primitives"][0]["parameters"][1]["value"]["value"]["op"] == "&"


def test_action_if_uses_jumps(tmp_path: Path):
    j = compile_text(tmp_path, program_with_ingress("""
        action a() { if (hdr.h.a == 1) { hdr.h.b = 2; } else { hdr.h.b = 3; } }
        table t { key = { hdr.h.a : exact; } actions = { a; } }
        apply { t.apply(); }"""))
    prims = next(a for a in j["actions"] if a["name"] == "IG.a")["primitives"]
    assert [p["op"] for p in prims] == ["_jump_if_zero", "assign", "_jump", "assign"]
    assert prims[0]["parameters"][1] == {"type": "hexstr", "value": "0x3"}
    assert prims[2]["parameters"][0] == {"type": "hexstr", "value": "0x4"}


def _walk(j):
    if isinstance(j, dict):
        yield j
        for v in j.values():
            yield from _walk(v)
    elif isinstance(j, list):
        for v in j:
            yield from _walk(v)


def test_json_loads_on_real_simple_switch_forms(tmp_path: Path):
    """Forms the real simple_switch insists on (as p4c writes them): an action
    parameter inside an expression is a 'local'; optional keys are 'ternary';
    a direct meter's size is its table's; assert/assume take data (b2d)."""
    text = program_with_ingress("""
        direct_meter<bit<8>>(MeterType.packets) dm;
        action set(bit<8> v) { hdr.h.b = hdr.h.b | v; dm.read(meta.m); }
        table t {
            key = { hdr.h.a : optional; }
            actions = { set; NoAction; }
            meters = dm;
            size = 77;
        }
        apply { t.apply(); assert(hdr.h.a == 3); }""")
    j = compile_text(tmp_path, text)
    act = next(a for a in j["actions"] if a["name"] == "IG.set")
    expr = act["primitives"][0]["parameters"][1]
    assert expr["type"] == "expression"
    inner = [n for n in _walk(expr) if n.get("type") in ("runtime_data", "local")]
    assert inner == [{"type": "local", "value": 0}]
    tab = next(t for p in j["pipelines"] for t in p["tables"] if t["name"] == "IG.t")
    assert [k["match_type"] for k in tab["key"]] == ["ternary"]
    assert j["meter_arrays"][0]["size"] == 77
    prims = [p for a in j["actions"] for p in a["primitives"] if p["op"] == "assert"]
    assert prims and prims[0]["parameters"][0]["value"]["value"]["op"] == "b2d"
