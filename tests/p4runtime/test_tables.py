"""TableEntry writes and reads: match kinds, validity rules, priorities, default
entries, const tables, action scopes, batches, and the packets that prove it."""

from __future__ import annotations

import grpc
import pytest
from p4.v1 import p4runtime_pb2
from p4rt_helpers import Update, batch_errors, enc, error_code_name, table_entry, update

TE = p4runtime_pb2.TableEntry
ETH = bytes.fromhex("0000000000aa" "000000000001" "0800") + b"payload"


def frame(dst: int, src: int = 1, ethertype: int = 0x0800) -> bytes:
    return dst.to_bytes(6, "big") + src.to_bytes(6, "big") + ethertype.to_bytes(2, "big") + b"data"


def refused(fn, *args, **kw) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as e:
        fn(*args, **kw)
    return e.value


def single_error(e: grpc.RpcError) -> tuple[str, str]:
    """(code name, message) of a one-update batch that failed."""
    assert e.code() == grpc.StatusCode.UNKNOWN
    [err] = batch_errors(e)
    return error_code_name(err), err.message


def read_table(c, info, table: str, **kw) -> list[TE]:
    return [e.table_entry for e in c.read_one(table_entry=TE(table_id=info.id("tables", table), **kw))]


# -- exact tables ---------------------------------------------------------------------------


def test_insert_read_modify_delete_and_packets(rig):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA}, "ingress.set_port",
                     port=3)
    te.controller_metadata = 0x1234
    te.metadata = b"cookie"
    c.insert(table_entry=te)
    assert read_table(c, info, "ingress.fwd") == [te]

    rig.switch.receive(1, frame(0xAA))
    assert [p for p, _ in rig.frames()] == [3]

    mod = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA}, "ingress.set_port",
                      port=9)
    c.modify(table_entry=mod)
    assert read_table(c, info, "ingress.fwd") == [mod]  # assign semantics: cookies replaced
    rig.switch.receive(1, frame(0xAA))
    assert [p for p, _ in rig.frames()] == [9]

    c.delete(table_entry=table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA}))
    assert read_table(c, info, "ingress.fwd") == []
    rig.switch.receive(1, frame(0xAA))
    assert rig.frames() == []  # the default action drops


def test_modify_without_action_keeps_the_action(rig):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA}, "ingress.set_port",
                     port=3)
    c.insert(table_entry=te)
    c.modify(table_entry=table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA}))
    assert read_table(c, info, "ingress.fwd") == [te]


def test_duplicate_insert_is_already_exists(rig):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA}, "ingress.drop")
    c.insert(table_entry=te)
    assert single_error(refused(c.insert, table_entry=te))[0] == "ALREADY_EXISTS"


@pytest.mark.parametrize("utype", [Update.MODIFY, Update.DELETE])
def test_missing_entry_is_not_found(rig, utype):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA}, "ingress.drop")
    assert single_error(refused(c.write, update(utype, table_entry=te)))[0] == "NOT_FOUND"


def test_table_full_is_resource_exhausted(rig):
    c, info = rig.primary("nic_mini")
    ups = [update(Update.INSERT, table_entry=table_entry(
        info, "ingress.fwd", {"hdr.ethernet.dstAddr": i}, "ingress.drop")) for i in range(64)]
    c.write(*ups)
    e = refused(c.insert, table_entry=table_entry(info, "ingress.fwd",
                                                  {"hdr.ethernet.dstAddr": 999}, "ingress.drop"))
    assert single_error(e)[0] == "RESOURCE_EXHAUSTED"


def test_unknown_table_and_field_and_action_ids_are_invalid(rig):
    c, info = rig.primary("nic_mini")
    bad_table = TE(table_id=0x02FFFFFF)
    assert single_error(refused(c.insert, table_entry=bad_table))[0] == "INVALID_ARGUMENT"
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.drop")
    te.match[0].field_id = 9
    assert single_error(refused(c.insert, table_entry=te))[0] == "INVALID_ARGUMENT"
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.set_dst", mac=1)
    code, msg = single_error(refused(c.insert, table_entry=te))
    assert code == "INVALID_ARGUMENT" and "not an action of table" in msg


def test_action_params_are_checked(rig):
    c, info = rig.primary("nic_mini")
    missing = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.set_port")
    code, msg = single_error(refused(c.insert, table_entry=missing))
    assert code == "INVALID_ARGUMENT" and "missing parameter" in msg
    extra = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.set_port",
                        port=1)
    extra.action.action.params.add(param_id=7, value=b"\x01")
    assert single_error(refused(c.insert, table_entry=extra))[0] == "INVALID_ARGUMENT"
    twice = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.set_port",
                        port=1)
    twice.action.action.params.add(param_id=1, value=b"\x01")
    assert single_error(refused(c.insert, table_entry=twice))[0] == "INVALID_ARGUMENT"
    wide = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.set_port",
                       port=512)  # bit<9>
    assert single_error(refused(c.insert, table_entry=wide))[0] == "OUT_OF_RANGE"
    no_action = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1})
    assert single_error(refused(c.insert, table_entry=no_action))[0] == "INVALID_ARGUMENT"
    member = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1})
    member.action.action_profile_member_id = 1
    assert single_error(refused(c.insert, table_entry=member))[0] == "INVALID_ARGUMENT"


def test_exact_field_must_be_present_and_of_the_right_kind(rig):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.fwd", act="ingress.drop")
    code, msg = single_error(refused(c.insert, table_entry=te))
    assert code == "INVALID_ARGUMENT" and "missing" in msg
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": ("ternary", 1, 1)},
                     "ingress.drop")
    assert single_error(refused(c.insert, table_entry=te))[0] == "INVALID_ARGUMENT"
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.drop")
    te.match.add().CopyFrom(te.match[0])
    code, msg = single_error(refused(c.insert, table_entry=te))
    assert code == "INVALID_ARGUMENT" and "twice" in msg


# -- bytestrings ----------------------------------------------------------------------------------


def test_non_canonical_bytestrings_are_accepted_and_read_back_canonical(rig):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 0xAA}, "ingress.set_port",
                     port=3)
    te.match[0].exact.value = enc(0xAA, 8)  # longer than 48 bits, leading zeros
    te.action.action.params[0].value = enc(3, 2)
    c.insert(table_entry=te)
    [got] = read_table(c, info, "ingress.fwd")
    assert got.match[0].exact.value == b"\xaa"
    assert got.action.action.params[0].value == b"\x03"


@pytest.mark.parametrize("value", [b"", enc(1 << 48, 7)])
def test_bad_bytestrings_are_out_of_range(rig, value):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.drop")
    te.match[0].exact.value = value
    assert single_error(refused(c.insert, table_entry=te))[0] == "OUT_OF_RANGE"


# -- ternary / range / optional, priorities ----------------------------------------------------------


def acl(info, priority, port=None, **match):
    m = {}
    if "ethertype" in match:
        m["hdr.ethernet.etherType"] = match["ethertype"]
    if "src" in match:
        m["hdr.ethernet.srcAddr"] = match["src"]
    if "inport" in match:
        m["standard_metadata.ingress_port"] = match["inport"]
    if port is None:
        return table_entry(info, "ingress.acl", m, priority=priority)
    return table_entry(info, "ingress.acl", m, "ingress.set_port", priority=priority, port=port)


def test_ternary_range_optional_entries_and_priorities_in_the_data_plane(rig):
    c, info = rig.primary("nic_mini")
    low = acl(info, 10, port=5, ethertype=("ternary", 0x0800, 0xFF00))
    high = acl(info, 20, port=6, ethertype=("ternary", 0x0800, 0xFFFF), src=("range", 1, 9))
    only_port2 = acl(info, 30, port=7, inport=("optional", 2))
    c.write(*(update(Update.INSERT, table_entry=t) for t in (low, high, only_port2)))
    assert sorted(read_table(c, info, "ingress.acl"), key=lambda t: t.priority) == [
        low, high, only_port2]

    rig.switch.receive(1, frame(0xEE, src=3, ethertype=0x0800))  # both match: 20 wins
    rig.switch.receive(1, frame(0xEE, src=30, ethertype=0x0806))  # only the /8 ternary
    rig.switch.receive(2, frame(0xEE, src=3, ethertype=0x0800))  # all three: 30 wins
    rig.switch.receive(1, frame(0xEE, src=3, ethertype=0x86DD))  # none
    assert [p for p, _ in rig.frames()] == [6, 5, 7]

    # the same match with another priority is another entry
    c.insert(table_entry=acl(info, 11, port=1, ethertype=("ternary", 0x0800, 0xFF00)))
    assert len(read_table(c, info, "ingress.acl")) == 4
    # modify and delete identify entries by match + priority
    c.modify(table_entry=acl(info, 10, port=8, ethertype=("ternary", 0x0800, 0xFF00)))
    c.delete(table_entry=acl(info, 11, ethertype=("ternary", 0x0800, 0xFF00)))
    got = {t.priority: t.action.action.params[0].value for t in read_table(c, info, "ingress.acl")}
    assert got == {10: b"\x08", 20: b"\x06", 30: b"\x07"}


def test_wildcard_read_filters(rig):
    c, info = rig.primary("nic_mini")
    a = acl(info, 10, port=5, ethertype=("ternary", 0x0800, 0xFF00))
    b = acl(info, 20, port=6, ethertype=("ternary", 0x0806, 0xFFFF))
    d = table_entry(info, "ingress.acl", {"hdr.ethernet.etherType": ("ternary", 0x86DD, 0xFFFF)},
                    "ingress.set_dst", priority=30, mac=0xAB)
    d.controller_metadata = 5
    f = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.drop")
    c.write(*(update(Update.INSERT, table_entry=t) for t in (a, b, d, f)))
    assert read_table(c, info, "ingress.acl", priority=20) == [b]
    act = p4runtime_pb2.TableAction(action=p4runtime_pb2.Action(
        action_id=info.id("actions", "ingress.set_dst")))
    assert read_table(c, info, "ingress.acl", action=act) == [d]
    assert read_table(c, info, "ingress.acl", controller_metadata=5) == [d]
    assert read_table(c, info, "ingress.acl", match=a.match) == [a]
    everything = [e.table_entry for e in c.read_one(table_entry=TE())]
    assert len(everything) == 4 and f in everything
    e = refused(c.read_one, table_entry=TE(priority=20))  # no filter without a table id
    assert single_error(e)[0] == "INVALID_ARGUMENT"


@pytest.mark.parametrize("priority, code", [(0, "INVALID_ARGUMENT"), (-3, "INVALID_ARGUMENT")])
def test_priority_required_for_ternary_tables(rig, priority, code):
    c, info = rig.primary("nic_mini")
    te = acl(info, priority, port=1, ethertype=("ternary", 1, 1))
    assert single_error(refused(c.insert, table_entry=te))[0] == code


def test_priority_refused_for_exact_tables(rig):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.drop", priority=3)
    code, msg = single_error(refused(c.insert, table_entry=te))
    assert code == "INVALID_ARGUMENT" and "priority must be 0" in msg


@pytest.mark.parametrize("match, why", [
    ({"ethertype": ("ternary", 0x0800, 0)}, "must be omitted"),
    ({"ethertype": ("ternary", 0x0801, 0xFF00)}, "outside the mask"),
    ({"src": ("range", 0, (1 << 48) - 1)}, "must be omitted"),
    ({"src": ("range", 9, 1)}, "exceeds high bound"),
    ({"inport": ("optional", 512)}, "does not fit"),
])
def test_match_validity_rules(rig, match, why):
    c, info = rig.primary("nic_mini")
    code, msg = single_error(refused(c.insert, table_entry=acl(info, 1, port=1, **match)))
    assert code in ("INVALID_ARGUMENT", "OUT_OF_RANGE") and why in msg


def test_all_dont_care_entry_is_allowed(rig):
    c, info = rig.primary("nic_mini")
    te = acl(info, 1, port=4)
    c.insert(table_entry=te)
    assert read_table(c, info, "ingress.acl") == [te]
    rig.switch.receive(3, frame(0x77))
    assert [p for p, _ in rig.frames()] == [4]


def test_lpm_table_from_the_conformance_corpus(rig):
    c, info = rig.primary("flag_lost-bmv2")
    t = "ingress.ipv4_lpm"
    f = info.table(t).match_fields[0].name
    ok = table_entry(info, t, {f: ("lpm", 0x0A000000, 8)}, "ingress.drop")
    c.insert(table_entry=ok)
    assert read_table(c, info, t) == [ok]
    for bad, why in [(("lpm", 0x0A000001, 8), "must be zero"), (("lpm", 0, 0), "omitted"),
                     (("lpm", 0x0A000000, 33), "exceeds")]:
        code, msg = single_error(refused(c.insert, table_entry=table_entry(info, t, {f: bad},
                                                                          "ingress.drop")))
        assert code == "INVALID_ARGUMENT" and why in msg
    # an all-don't-care LPM entry (prefix 0) is written by omitting the field
    c.insert(table_entry=table_entry(info, t, {}, "ingress.drop"))
    assert len(read_table(c, info, t)) == 2


def test_keyless_table_refuses_inserts(rig):
    c, info = rig.primary("arith-bmv2")
    te = table_entry(info, "ingress.t")
    te.action.action.action_id = info.table("ingress.t").action_refs[0].id  # its only action
    code, msg = single_error(refused(c.insert, table_entry=te))
    assert code == "INVALID_ARGUMENT" and "keyless" in msg


# -- default entries --------------------------------------------------------------------------------


def default(info, table, act=None, **params):
    te = table_entry(info, table, act=act, **params)
    te.is_default_action = True
    return te


def test_default_entry_read_modify_reset(rig):
    c, info = rig.primary("nic_mini")
    assert read_table(c, info, "ingress.fwd", is_default_action=True) == [default(
        info, "ingress.fwd", "ingress.drop")]
    rig.switch.receive(1, frame(0x55))
    assert rig.frames() == []
    c.modify(table_entry=default(info, "ingress.fwd", "ingress.set_port", port=2))
    assert read_table(c, info, "ingress.fwd", is_default_action=True) == [default(
        info, "ingress.fwd", "ingress.set_port", port=2)]
    rig.switch.receive(1, frame(0x55))
    assert [p for p, _ in rig.frames()] == [2]
    c.modify(table_entry=default(info, "ingress.fwd"))  # no action: back to the P4 default
    assert read_table(c, info, "ingress.fwd", is_default_action=True) == [default(
        info, "ingress.fwd", "ingress.drop")]
    # default entries never appear in non-default reads
    assert read_table(c, info, "ingress.fwd") == []


@pytest.mark.parametrize("utype", [Update.INSERT, Update.DELETE])
def test_default_entry_only_supports_modify(rig, utype):
    c, info = rig.primary("nic_mini")
    e = refused(c.write, update(utype, table_entry=default(info, "ingress.fwd", "ingress.drop")))
    assert single_error(e)[0] == "INVALID_ARGUMENT"


def test_default_entry_with_match_or_priority_is_invalid(rig):
    c, info = rig.primary("nic_mini")
    te = default(info, "ingress.fwd", "ingress.drop")
    te.match.add(field_id=1, exact=p4runtime_pb2.FieldMatch.Exact(value=b"\x01"))
    assert single_error(refused(c.modify, table_entry=te))[0] == "INVALID_ARGUMENT"


def test_const_default_action_is_permission_denied(rig):
    c, info = rig.primary("nic_mini")
    e = refused(c.modify, table_entry=default(info, "ingress.acl", "ingress.set_port", port=1))
    assert single_error(e)[0] == "PERMISSION_DENIED"


def test_action_scopes(rig):
    c, info = rig.primary("nic_mini")
    # NoAction is @tableonly and mac_learn @defaultonly in ingress.learn
    e = refused(c.modify, table_entry=default(info, "ingress.learn", "NoAction"))
    code, msg = single_error(e)
    assert code == "PERMISSION_DENIED" and "@tableonly" in msg
    e = refused(c.insert, table_entry=table_entry(info, "ingress.learn",
                                                  {"hdr.ethernet.srcAddr": 1}, "ingress.mac_learn"))
    code, msg = single_error(e)
    assert code == "PERMISSION_DENIED" and "@defaultonly" in msg
    c.insert(table_entry=table_entry(info, "ingress.learn", {"hdr.ethernet.srcAddr": 1}, "NoAction"))
    c.modify(table_entry=default(info, "ingress.learn", "ingress.mac_learn"))


# -- const tables --------------------------------------------------------------------------------------


def test_const_table_entries_are_readable_with_spec_priorities(rig):
    c, info = rig.primary("table-entries-ternary-bmv2")
    got = read_table(c, info, "ingress.t_ternary")
    assert len(got) == 4 and all(t.is_const for t in got)
    # declaration order: first entry has the highest priority, the last one priority 1
    assert [t.priority for t in got] == [4, 3, 2, 1]
    # 0x1111 &&& 0x000f in the P4 source: bits outside the mask read back as zero
    assert got[0].match[0].ternary.value == b"\x01" and got[0].match[0].ternary.mask == b"\x0f"
    assert list(got[3].match) == []  # mask 0: a don't-care field is omitted
    # reads keyed by match + priority find the const entry
    assert read_table(c, info, "ingress.t_ternary", match=got[1].match, priority=3) == [got[1]]


@pytest.mark.parametrize("name, table", [("table-entries-range-bmv2", "ingress.t_range"),
                                         ("table-entries-optional-bmv2", "ingress.t_optional"),
                                         ("table-entries-lpm-bmv2", "ingress.t_lpm"),
                                         ("table-entries-exact-bmv2", "ingress.t_exact")])
def test_const_tables_refuse_changes(rig, name, table):
    c, info = rig.primary(name)
    [first, *_] = read_table(c, info, table)
    for utype in (Update.INSERT, Update.DELETE):
        te = TE()
        te.CopyFrom(first)
        te.is_const = False
        e = refused(c.write, update(utype, table_entry=te))
        assert single_error(e)[0] == "PERMISSION_DENIED"
    te = TE()
    te.CopyFrom(first)
    te.is_const = False
    e = refused(c.modify, table_entry=te)  # carries an action
    code, msg = single_error(e)
    assert code == "PERMISSION_DENIED" and "const" in msg
    # MODIFY without an action (direct resources only) is accepted for an existing entry
    te.ClearField("action")
    c.modify(table_entry=te)


def test_is_const_in_writes_is_invalid(rig):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.drop")
    te.is_const = True
    assert single_error(refused(c.insert, table_entry=te))[0] == "INVALID_ARGUMENT"


def test_optional_const_entries_read_back_as_optional(rig):
    c, info = rig.primary("table-entries-optional-bmv2")
    got = read_table(c, info, "ingress.t_optional")
    kinds = [[m.WhichOneof("field_match_type") for m in t.match] for t in got]
    assert kinds == [["optional", "optional"], ["optional"], ["optional"], []]


# -- idle timeout ----------------------------------------------------------------------------------


def test_idle_timeout(rig):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.aging", {"hdr.ethernet.etherType": 1}, "NoAction")
    te.idle_timeout_ns = 10**9
    code, msg = single_error(refused(c.insert, table_entry=te))
    assert code == "UNIMPLEMENTED" and "idle timeouts" in msg
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.drop")
    te.idle_timeout_ns = 10**9
    code, msg = single_error(refused(c.insert, table_entry=te))
    assert code == "INVALID_ARGUMENT" and "does not support idle timeouts" in msg
    te.idle_timeout_ns = 0
    c.insert(table_entry=te)


# -- batches ---------------------------------------------------------------------------------------


def test_batch_errors_report_every_update_in_order(rig):
    c, info = rig.primary("nic_mini")
    good1 = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.drop")
    good2 = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 2}, "ingress.drop")
    e = refused(c.write, update(Update.INSERT, table_entry=good1),
                update(Update.INSERT, table_entry=good1),  # duplicate
                update(Update.INSERT, table_entry=good2),
                update(Update.DELETE, table_entry=table_entry(info, "ingress.fwd",
                                                              {"hdr.ethernet.dstAddr": 3})),
                update(Update.UNSPECIFIED, table_entry=good2))
    assert e.code() == grpc.StatusCode.UNKNOWN
    errs = batch_errors(e)
    assert [error_code_name(x) for x in errs] == [
        "OK", "ALREADY_EXISTS", "OK", "NOT_FOUND", "INVALID_ARGUMENT"]
    assert [bool(x.message) for x in errs] == [False, True, False, True, True]
    # CONTINUE_ON_ERROR: the good updates were applied
    assert len(read_table(c, info, "ingress.fwd")) == 2


def test_other_atomicity_modes_are_unimplemented(rig):
    c, info = rig.primary("nic_mini")
    te = table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1}, "ingress.drop")
    for mode in (p4runtime_pb2.WriteRequest.ROLLBACK_ON_ERROR,
                 p4runtime_pb2.WriteRequest.DATAPLANE_ATOMIC):
        e = refused(c.write, update(Update.INSERT, table_entry=te), atomicity=mode)
        assert e.code() == grpc.StatusCode.UNIMPLEMENTED
    assert read_table(c, info, "ingress.fwd") == []


def test_read_batch_reports_per_request_errors(rig):
    c, info = rig.primary("nic_mini")
    c.insert(table_entry=table_entry(info, "ingress.fwd", {"hdr.ethernet.dstAddr": 1},
                                     "ingress.drop"))
    ok = p4runtime_pb2.Entity(table_entry=TE(table_id=info.id("tables", "ingress.fwd")))
    bad = p4runtime_pb2.Entity(table_entry=TE(table_id=0x02ABCDEF))
    e = refused(c.read, ok, bad, ok)
    assert [error_code_name(x) for x in batch_errors(e)] == ["OK", "INVALID_ARGUMENT", "OK"]


def test_action_profile_entities_are_unimplemented(rig):
    c, _ = rig.primary("nic_mini")
    e = refused(c.insert, action_profile_member=p4runtime_pb2.ActionProfileMember(
        action_profile_id=1, member_id=1))
    assert single_error(e)[0] == "UNIMPLEMENTED"
