"""Every reference inside the BMv2 JSON of each corpus program resolves (headers,
stacks, actions, next tables/conditionals), as BMv2 requires when loading."""
from __future__ import annotations

from pathlib import Path

import pytest

from pybm.p4c.main import compile_program

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "p4programs"
PROGRAMS = sorted(CORPUS.glob("*.p4"))


def _refs(x, out):
    if isinstance(x, dict):
        t = x.get("type")
        if t == "field" and isinstance(x.get("value"), list):
            out.append(("header", x["value"][0]))
        elif t == "header":
            out.append(("header", x["value"]))
        elif t in ("header_stack", "stack"):
            out.append(("stack", x["value"]))
        elif t == "calculation":
            out.append(("calculation", x["value"]))
        elif t in ("counter_array", "register_array", "meter_array"):
            out.append((t, x["value"]))
        for v in x.values():
            _refs(v, out)
    elif isinstance(x, list):
        for v in x:
            _refs(v, out)


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_references_resolve(prog: Path):
    j, _ = compile_program(str(prog), [str(CORPUS)])
    known = {
        "header": {h["name"] for h in j["headers"]},
        "stack": {s["name"] for s in j["header_stacks"]},
        "calculation": {c["name"] for c in j["calculations"]},
        "counter_array": {c["name"] for c in j["counter_arrays"]},
        "register_array": {r["name"] for r in j["register_arrays"]},
        "meter_array": {m["name"] for m in j["meter_arrays"]},
    }
    refs: list = []
    _refs({k: v for k, v in j.items() if k not in ("headers", "header_stacks")}, refs)
    missing = [r for r in refs if r[1] not in known[r[0]]]
    assert not missing
    htypes = {h["name"] for h in j["header_types"]}
    assert all(h["header_type"] in htypes for h in j["headers"])
    action_ids = {a["id"] for a in j["actions"]}
    for p in j["pipelines"]:
        nodes = [t["name"] for t in p["tables"]] + [c["name"] for c in p["conditionals"]]
        assert len(nodes) == len(set(nodes))
        assert p["init_table"] is None or p["init_table"] in nodes
        for t in p["tables"]:
            assert set(t["action_ids"]) <= action_ids
            for n in [*t["next_tables"].values(), t["base_default_next"]]:
                assert n is None or n in nodes
        for c in p["conditionals"]:
            assert c["true_next"] is None or c["true_next"] in nodes
            assert c["false_next"] is None or c["false_next"] in nodes
    states = {s["name"] for s in j["parsers"][0]["parse_states"]}
    assert j["parsers"][0]["init_state"] in states
    for s in j["parsers"][0]["parse_states"]:
        for tr in s["transitions"]:
            assert tr["next_state"] is None or tr["next_state"] in states
