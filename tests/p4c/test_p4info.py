from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

from pybm.p4c.backend.p4info import IdAllocator, _alias, jenkins_hash
from pybm.p4c.main import compile_program

from .conftest import program_with_ingress


def test_ids_match_p4c_formula():
    # ids p4c-bm2-ss gave these names (shared/conformance/v1model/key-bmv2.p4info.txtpb)
    ids = IdAllocator()
    assert ids.assign(1, "NoAction") == 21257015
    assert ids.assign(1, "ingress.c.a") == 27847715
    assert ids.assign(2, "ingress.c.t") == 43577110
    assert jenkins_hash("") == 0


def test_id_collisions_probe_linearly_and_fixed_ids():
    ids = IdAllocator()
    a = ids.assign(1, "x")
    b = ids.assign(1, "x")
    assert b == a + 1
    assert ids.fixed(2, 5, None) == (2 << 24) | 5


def test_alias_is_shortest_unique_suffix():
    names = ["ingress.c1.t", "ingress.c2.t", "ingress.u"]
    assert _alias("ingress.c1.t", names) == "c1.t"
    assert _alias("ingress.u", names) == "u"


def test_p4info_content(tmp_path):
    prog = program_with_ingress("""
        counter(8, CounterType.bytes) cnt;
        direct_counter(CounterType.packets) dc;
        register<bit<16>>(4) reg;
        action fwd(bit<9> port, bit<8> tag) { sm.egress_spec = port; hdr.h.a = tag; cnt.count(0); }
        @id(77) action other() { reg.write(0, 1); }
        table tab {
            key = { hdr.h.a : exact; hdr.h.c : lpm @name("cee"); }
            actions = { fwd; @defaultonly other; }
            const default_action = other();
            counters = dc;
            size = 64;
        }
        apply { tab.apply(); }""")
    path = tmp_path / "p.p4"
    path.write_text(prog)
    _, text = compile_program(str(path))
    info = text_format.Parse(text, p4info_pb2.P4Info())
    assert info.pkg_info.arch == "v1model"
    (t,) = info.tables
    assert t.preamble.name == "IG.tab" and t.preamble.alias == "tab"
    assert t.preamble.id == (2 << 24) | (jenkins_hash("IG.tab") & 0xFFFFFF)
    assert [(m.name, m.bitwidth, m.match_type) for m in t.match_fields] == [
        ("hdr.h.a", 8, p4info_pb2.MatchField.EXACT), ("cee", 16, p4info_pb2.MatchField.LPM)]
    acts = {a.preamble.name: a for a in info.actions}
    assert acts["IG.other"].preamble.id == (1 << 24) | 77
    assert [(p.name, p.bitwidth) for p in acts["IG.fwd"].params] == [("port", 9), ("tag", 8)]
    scopes = {r.id: r.scope for r in t.action_refs}
    assert scopes[acts["IG.other"].preamble.id] == p4info_pb2.ActionRef.DEFAULT_ONLY
    assert t.const_default_action_id == acts["IG.other"].preamble.id
    assert t.size == 64
    assert info.counters[0].preamble.name == "IG.cnt" and info.counters[0].size == 8
    assert info.counters[0].spec.unit == p4info_pb2.CounterSpec.BYTES
    assert info.direct_counters[0].direct_table_id == t.preamble.id
    assert list(t.direct_resource_ids) == [info.direct_counters[0].preamble.id]
    assert info.registers[0].type_spec.bitstring.bit.bitwidth == 16


def test_directly_called_action_has_no_control_plane_params(tmp_path):
    """A direct call binds the action's directionless parameters (p4c's
    RemoveActionParameters): the BMv2 JSON action takes no runtime data, so the
    P4Info must not list the parameter either (the P4Runtime server checks that
    they agree and refuses the pipeline otherwise). In a table the same kind of
    parameter stays a control-plane parameter."""
    prog = program_with_ingress("""
        action set_c(bit<16> v) { hdr.h.c = v; }
        action fwd(bit<9> port) { sm.egress_spec = port; }
        table t { key = { hdr.h.a : exact; } actions = { fwd; } }
        apply { bit<16> x = hdr.h.c + 1; set_c(x); t.apply(); }""")
    path = tmp_path / "p.p4"
    path.write_text(prog)
    doc, text = compile_program(str(path))
    info = text_format.Parse(text, p4info_pb2.P4Info())
    acts = {a.preamble.name: a for a in info.actions}
    assert [p.name for p in acts["IG.set_c"].params] == []
    assert [p.name for p in acts["IG.fwd"].params] == ["port"]
    json_actions = {a["name"]: a for a in doc["actions"]}
    assert json_actions["IG.set_c"]["runtime_data"] == []
    assert [r["name"] for r in json_actions["IG.fwd"]["runtime_data"]] == ["port"]
