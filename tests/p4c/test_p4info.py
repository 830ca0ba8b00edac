from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

from pybm.p4c.backend.p4info import IdAllocator, P, _alias, jenkins_hash
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


# The order p4c-bm2-ss 1.2.5 gave this program (recorded with the real compiler):
# blocks in V1Switch order; in each, the global actions it uses (first reference
# first), then its own declarations with sub-controls inlined where they are
# instantiated; actions only called from other actions are not listed.
ORDER_PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct meta_t { bit<8> m; }
struct d1_t { bit<8> x; }
struct d2_t { bit<8> y; }
action gact() { }
action gact2() { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control EgSub(inout headers hdr) {
    action esa() { }
    table est { key = { hdr.h.a : exact; } actions = { esa; } }
    apply { est.apply(); }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    counter(4, CounterType.packets) ec;
    action inner() { ec.count(1); }
    action ea() { inner(); digest<d2_t>(1, {hdr.h.b}); }
    table et { key = { hdr.h.a : exact; } actions = { ea; gact2; NoAction; } }
    EgSub() es;
    apply { et.apply(); es.apply(hdr); }
}
control Sub(inout headers hdr)(bit<8> bump) {
    action add(bit<8> d) { hdr.h.b = hdr.h.b + d + bump; }
    table tab { key = { hdr.h.b : exact; } actions = { add; gact; } }
    apply { tab.apply(); }
}
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    counter(4, CounterType.packets) ic;
    action inner2() { hdr.h.a = 1; }
    action ia() { inner2(); }
    table it { key = { hdr.h.a : exact; } actions = { ia; gact; } }
    Sub(1) s1;
    Sub(2) s2;
    apply { it.apply(); s1.apply(hdr); s2.apply(hdr); ic.count(1); digest<d1_t>(1, {hdr.h.b}); }
}
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""


def test_p4info_order_and_per_instance_action_refs(tmp_path):
    path = tmp_path / "order.p4"
    path.write_text(ORDER_PROGRAM)
    _, text = compile_program(str(path))
    info = text_format.Parse(text, p4info_pb2.P4Info())
    assert [t.preamble.name for t in info.tables] == ["IG.it", "IG.s1.tab", "IG.s2.tab", "EG.et", "EG.es.est"]
    assert [a.preamble.name for a in info.actions] == [
        "gact", "NoAction", "IG.ia", "IG.s1.add", "IG.s2.add", "gact2", "EG.ea", "EG.es.esa"]
    assert [c.preamble.name for c in info.counters] == ["IG.ic", "EG.ec"]
    assert [d.preamble.name for d in info.digests] == ["d1_t", "d2_t"]
    ids = {a.preamble.name: a.preamble.id for a in info.actions}
    refs = {t.preamble.name: [r.id for r in t.action_refs] for t in info.tables}
    assert refs["IG.s1.tab"][0] == ids["IG.s1.add"]
    assert refs["IG.s2.tab"][0] == ids["IG.s2.add"]


def test_type_info_and_controller_header_ids(tmp_path):
    # p4c writes an empty type_info as soon as an extern function is called, and hashes
    # a controller header's id from its type's name
    prog = """#include <core.p4>
#include <v1model.p4>
@controller_header("packet_in") header pin_t { bit<9> port; bit<7> pad; }
enum bit<8> Proto { TCP = 6, UDP = 17 }
header h_t { Proto p; bit<8> b; }
struct headers { pin_t pin; h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set(Proto p) { hdr.h.p = p; }
    table t { key = { hdr.h.b : exact; } actions = { set; } }
    apply { t.apply(); }
}
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { mark_to_drop(sm); } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;
"""
    path = tmp_path / "ti.p4"
    path.write_text(prog)
    _, text = compile_program(str(path))
    info = text_format.Parse(text, p4info_pb2.P4Info())
    (cph,) = info.controller_packet_metadata
    assert cph.preamble.name == "packet_in"
    assert cph.preamble.id == (P.CONTROLLER_HEADER << 24) | (jenkins_hash("pin_t") & 0xFFFFFF)
    se = info.type_info.serializable_enums["Proto"]
    assert se.underlying_type.bitwidth == 8
    assert [(m.name, m.value) for m in se.members] == [("TCP", b"\x06"), ("UDP", b"\x11")]
    # no table, no extern: no type_info at all
    path.write_text(prog.replace("apply { t.apply(); }", "apply { }").replace("mark_to_drop(sm);", "")
                    .replace("@controller_header(\"packet_in\") ", ""))
    _, text = compile_program(str(path))
    assert "type_info" not in text


def test_error_typed_key_and_constant_direct_call(tmp_path):
    """As p4c-bm2-ss: an error-typed key has no bitwidth and the error members go to
    type_info; a direct call with constant arguments inlines them, so the action has
    neither runtime data in the JSON nor a control-plane parameter in the P4Info."""
    prog = program_with_ingress("""
        error err = error.NoError;
        action set_c(bit<16> v) { hdr.h.c = v; }
        action fwd(bit<9> port) { sm.egress_spec = port; }
        table t { key = { err : exact; } actions = { fwd; } }
        apply { err = sm.parser_error; set_c(7); t.apply(); }""")
    path = tmp_path / "p.p4"
    path.write_text(prog)
    doc, text = compile_program(str(path))
    info = text_format.Parse(text, p4info_pb2.P4Info())
    (mf,) = info.tables[0].match_fields
    assert mf.name == "err" and mf.bitwidth == 0
    assert list(info.type_info.error.members)[:3] == ["NoError", "PacketTooShort", "NoMatch"]
    acts = {a.preamble.name: a for a in info.actions}
    assert [p.name for p in acts["IG.set_c"].params] == []
    json_actions = {a["name"]: a for a in doc["actions"]}
    assert json_actions["IG.set_c"]["runtime_data"] == []
    tbl = [t for t in doc["pipelines"][0]["tables"] if t["name"] == "tbl_set_c"][0]
    assert tbl["default_entry"]["action_data"] == []
