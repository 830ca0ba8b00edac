"""What happens between and after the pipelines: clone (I2E/E2E, to ports and
groups), resubmit, recirculate, digests, multicast with egress_rid, standard
metadata values, and the strict-priority egress queues."""

from __future__ import annotations

from .bmv2 import (
    EGRESS_CLONE,
    INGRESS_CLONE,
    NORMAL,
    RECIRC,
    REPLICATION,
    RESUBMIT,
    Harness,
    Program,
    assign,
    be,
    ex,
    extract,
    fld,
    hdr,
    hexv,
    prim,
    set_port,
    sm,
)

# h: a, inst (instance_type seen in egress), x, y (metadata copies), rid, eport, grp, prio
H = [["a", 8], ["inst", 8], ["x", 8], ["y", 8], ["rid", 16], ["eport", 16], ["grp", 16], ["prio", 8]]


def _frame(a: int = 1, grp: int = 0, prio: int = 0) -> bytes:
    return bytes([a, 0, 0, 0]) + be(0, 2) + be(0, 2) + be(grp, 2) + bytes([prio]) + b"payload"


def _expect(a: int, inst: int, x: int, y: int, rid: int, eport: int, grp: int = 0,
            prio: int = 0) -> bytes:
    return bytes([a, inst, x, y]) + be(rid, 2) + be(eport, 2) + be(grp, 2) + bytes([prio]) + b"payload"


def band16(e: dict) -> dict:
    return ex("&", e, hexv(0xFFFF))


def _base() -> Program:
    p = Program()
    p.header_type("h_t", H)
    p.header("h", "h_t")
    p.meta("m", [["x", 8], ["y", 8]])
    p.state("start", [extract("h")])
    p.deparse("h")
    return p


def _report_in_egress(p: Program, then: str | None = None) -> str:
    return p.code("egress", "report", [
        assign(fld("h", "inst"), sm("instance_type")),
        assign(fld("h", "x"), fld("m", "x")),
        assign(fld("h", "y"), fld("m", "y")),
        assign(fld("h", "rid"), sm("egress_rid")),
        assign(fld("h", "eport"), sm("egress_port")),
    ], then)


def _if_first_pass(p: Program, pipe: str, first: list, other: list | None = None,
                   then: str | None = None) -> None:
    a = p.code(pipe, "first", first, then)
    b = p.code(pipe, "other", other, then) if other is not None else then
    c = p.cond(f"{pipe}.is_normal", ex("==", sm("instance_type"), hexv(NORMAL)), a, b, pipe=pipe)
    p.start(pipe, c)


# -- clone ------------------------------------------------------------------------------


def test_clone_ingress_to_egress_preserves_field_list_only() -> None:
    p = _base()
    fl = p.field_list("fl", [fld("m", "x")])
    _if_first_pass(p, "ingress", [
        assign(fld("m", "x"), hexv(7)), assign(fld("m", "y"), hexv(9)),
        assign(fld("h", "a"), hexv(0xAA)),
        prim("clone_ingress_pkt_to_egress", hexv(5), hexv(fl)), set_port(1)])
    p.start("egress", _report_in_egress(p))
    h = Harness(p)
    h.sw.pre.mirroring_add(5, egress_port=3)
    out = sorted(h.send(0, _frame(a=1)))
    assert out == [
        (1, _expect(0xAA, NORMAL, 7, 9, 0, 1)),
        # the clone is the packet as it entered ingress, parsed again
        (3, _expect(0x01, INGRESS_CLONE, 7, 0, 0, 3)),
    ]


def test_clone_egress_to_egress_copies_egress_result() -> None:
    p = _base()
    fl = p.field_list("fl", [fld("m", "x")])
    p.run("ingress", [assign(fld("m", "x"), hexv(3)), set_port(1)])
    report = _report_in_egress(p)
    _if_first_pass(p, "egress", [
        prim("clone_egress_pkt_to_egress", hexv(6), hexv(fl)),
        assign(fld("h", "a"), hexv(0xBB)), assign(fld("m", "y"), hexv(4))], then=report)
    h = Harness(p)
    h.sw.pre.mirroring_add(6, egress_port=4)
    out = sorted(h.send(0, _frame(a=1)))
    assert out == [
        (1, _expect(0xBB, NORMAL, 3, 4, 0, 1)),
        (4, _expect(0xBB, EGRESS_CLONE, 3, 0, 0, 4)),
    ]


def test_clone_to_multicast_group_and_port() -> None:
    p = _base()
    fl = p.field_list("fl", [])
    _if_first_pass(p, "ingress", [prim("clone_ingress_pkt_to_egress", hexv(7), hexv(fl)),
                                  set_port(1)])
    p.start("egress", _report_in_egress(p))
    h = Harness(p)
    h.sw.pre.mc_group_set(9, [(2, 5), (3, 6)])
    h.sw.pre.mirroring_add(7, mgid=9)
    assert sorted(h.send(0, _frame())) == [
        (1, _expect(1, NORMAL, 0, 0, 0, 1)),
        (2, _expect(1, INGRESS_CLONE, 0, 0, 5, 2)),
        (3, _expect(1, INGRESS_CLONE, 0, 0, 6, 3)),
    ]
    h.sw.pre.mirroring_add(7, egress_port=4, mgid=9)
    assert sorted(p for p, _ in h.send(0, _frame())) == [1, 2, 3, 4]


def test_clone_to_unconfigured_session_clones_nothing() -> None:
    p = _base()
    fl = p.field_list("fl", [])
    p.run("ingress", [prim("clone_ingress_pkt_to_egress", hexv(11), hexv(fl)), set_port(1)])
    h = Harness(p)
    assert h.send(0, _frame()) == [(1, _frame())]
    assert h.stat("clone_no_session") == 1
    h.sw.pre.mirroring_add(11, egress_port=2)
    assert sorted(h.send(0, _frame())) == [(1, _frame()), (2, _frame())]
    h.sw.pre.mirroring_delete(11)
    assert h.send(0, _frame()) == [(1, _frame())]


def test_clone_of_a_dropped_packet_still_goes_out() -> None:
    p = _base()
    fl = p.field_list("fl", [])
    p.run("ingress", [prim("clone_ingress_pkt_to_egress", hexv(1), hexv(fl)),
                      prim("mark_to_drop", hdr("standard_metadata"))])
    h = Harness(p)
    h.sw.pre.mirroring_add(1, egress_port=5)
    assert h.send(0, _frame()) == [(5, _frame())]


# -- resubmit / recirculate ------------------------------------------------------------


def test_resubmit_restarts_ingress_with_original_packet_and_field_list() -> None:
    p = _base()
    fl = p.field_list("fl", [fld("m", "x")])
    _if_first_pass(p, "ingress",
                   [assign(fld("m", "x"), hexv(5)), assign(fld("m", "y"), hexv(6)),
                    assign(fld("h", "a"), hexv(0xCC)), prim("resubmit", hexv(fl))],
                   [assign(fld("h", "inst"), sm("instance_type")), assign(fld("h", "x"), fld("m", "x")),
                    assign(fld("h", "y"), fld("m", "y")),
                    assign(fld("h", "eport"), band16(sm("packet_length"))), set_port(1)])
    h = Harness(p)
    f = _frame(a=1)
    assert h.send(0, f) == [(1, _expect(0x01, RESUBMIT, 5, 0, 0, len(f)))]


def test_recirculate_feeds_deparsed_packet_back_to_ingress() -> None:
    p = _base()
    p.header_type("extra_t", [["e", 16]])
    p.header("extra", "extra_t")
    p.deparse("h", "extra")
    fl = p.field_list("fl", [fld("m", "x")])
    _if_first_pass(p, "ingress", [set_port(1)],
                   [assign(fld("h", "inst"), sm("instance_type")), assign(fld("h", "x"), fld("m", "x")),
                    assign(fld("h", "eport"), band16(sm("packet_length"))), set_port(2)])
    # egress sees instance_type NORMAL for every unicast packet (simple_switch sets it
    # before enqueueing), so the program marks the recirculated pass in metadata
    recirc = p.code("egress", "recirc", [
        assign(fld("h", "a"), hexv(0xDD)), prim("add_header", hdr("extra")),
        assign(fld("extra", "e"), hexv(0xBEEF)),
        assign(fld("m", "x"), hexv(8)), prim("recirculate", hexv(fl))])
    p.start("egress", p.cond("egress.first_pass", ex("==", fld("m", "x"), hexv(0)), recirc, None,
                             pipe="egress"))
    h = Harness(p)
    f = _frame(a=1)
    out = h.send(0, f)
    # second pass: 'extra' is not parsed, it stays in front of the payload
    body = bytes([0xDD, RECIRC, 8, 0]) + be(0, 2) + be(len(f) + 2, 2) + be(0, 2) + b"\x00"
    assert out == [(2, body + b"\xbe\xef" + b"payload")]


# -- digests ---------------------------------------------------------------------------


def test_generate_digest_reports_values_at_end_of_ingress() -> None:
    p = _base()
    lid = p.learn_list("learn_0", [fld("h", "a"), fld("m", "x")])
    p.run("ingress", [assign(fld("m", "x"), hexv(1)),
                      prim("generate_digest", hexv(1), hexv(lid)),
                      assign(fld("m", "x"), hexv(2)), set_port(1)])
    h = Harness(p)
    assert h.send(0, _frame(a=0x33)) == [(1, _frame(a=0x33))]
    assert h.digests == [(lid, "learn_0", (0x33, 2))]


def test_digest_of_dropped_packet_is_still_sent() -> None:
    p = _base()
    lid = p.learn_list("learn_0", [fld("h", "a")])
    p.run("ingress", [prim("generate_digest", hexv(1), hexv(lid)),
                      prim("mark_to_drop", hdr("standard_metadata"))])
    h = Harness(p)
    assert h.send(0, _frame(a=0x44)) == []
    assert h.digests == [(lid, "learn_0", (0x44,))]


# -- multicast ---------------------------------------------------------------------------


def _mcast_program(drop_port_2: bool = False) -> Program:
    p = _base()
    p.run("ingress", [assign(sm("mcast_grp"), fld("h", "grp"))])
    report = _report_in_egress(p)
    if drop_port_2:
        drop = p.code("egress", "drop", [prim("mark_to_drop", hdr("standard_metadata"))])
        p.start("egress", p.cond("egress.is2", ex("==", sm("egress_port"), hexv(2)), drop, report,
                                 pipe="egress"))
    else:
        p.start("egress", report)
    return p


def test_multicast_replicates_with_egress_rid() -> None:
    h = Harness(_mcast_program())
    h.sw.pre.mc_group_set(1, [(1, 10), (2, 10), (3, 20)])
    assert sorted(h.send(0, _frame(grp=1))) == [
        (1, _expect(1, REPLICATION, 0, 0, 10, 1, grp=1)),
        (2, _expect(1, REPLICATION, 0, 0, 10, 2, grp=1)),
        (3, _expect(1, REPLICATION, 0, 0, 20, 3, grp=1)),
    ]


def test_multicast_group_changes_and_unknown_group() -> None:
    h = Harness(_mcast_program())
    assert h.send(0, _frame(grp=2)) == []
    assert h.stat("drop_mcast_empty") == 1
    h.sw.pre.mc_group_set(2, [(7, 1)])
    assert h.send(0, _frame(grp=2)) == [(7, _expect(1, REPLICATION, 0, 0, 1, 7, grp=2))]
    # the classic node API: create, associate, update ports, dissociate
    node = h.sw.pre.mc_node_create(3, [4, 5])
    h.sw.pre.mc_node_associate(2, node)
    assert sorted(port for port, _ in h.send(0, _frame(grp=2))) == [4, 5, 7]
    h.sw.pre.mc_node_update(node, [6])
    assert sorted(port for port, _ in h.send(0, _frame(grp=2))) == [6, 7]
    h.sw.pre.mc_node_dissociate(2, node)
    assert sorted(port for port, _ in h.send(0, _frame(grp=2))) == [7]
    h.sw.pre.mc_group_delete(2)
    assert h.send(0, _frame(grp=2)) == []


def test_multicast_copy_dropped_in_egress_only_affects_that_copy() -> None:
    h = Harness(_mcast_program(drop_port_2=True))
    h.sw.pre.mc_group_set(1, [(1, 0), (2, 0), (3, 0)])
    assert sorted(port for port, _ in h.send(0, _frame(grp=1))) == [1, 3]


# -- standard metadata -------------------------------------------------------------------


def test_ingress_port_packet_length_and_default_egress_port() -> None:
    p = _base()
    p.run("ingress", [assign(fld("h", "x"), sm("ingress_port")),
                      assign(fld("h", "eport"), band16(sm("packet_length")))])
    p.start("egress", p.code("egress", "r", [assign(fld("h", "rid"), sm("egress_port")),
                                             assign(fld("h", "inst"), sm("instance_type"))]))
    h = Harness(p)
    f = _frame()
    # egress_spec left at 0: the packet leaves on port 0, as on simple_switch
    assert h.send(5, f) == [(0, _expect(1, NORMAL, 5, 0, 0, len(f)))]
    assert h.send(300, f + b"xx") == [(0, _expect(1, NORMAL, 300 & 0xFF, 0, 0, len(f) + 2) + b"xx")]


def test_timestamps_are_monotonic_and_egress_after_ingress() -> None:
    p = Program()
    p.header_type("t_t", [["ig", 48], ["eg", 48]])
    p.header("t", "t_t")
    p.state("start", [extract("t")])
    p.deparse("t")
    p.run("ingress", [assign(fld("t", "ig"), sm("ingress_global_timestamp")), set_port(1)])
    p.run("egress", [assign(fld("t", "eg"), sm("egress_global_timestamp"))])
    h = Harness(p)
    before = h.sw.now_us()
    stamps = []
    for _ in range(50):
        _, out = h.one(0, bytes(12))
        stamps.append((int.from_bytes(out[:6], "big"), int.from_bytes(out[6:12], "big")))
    after = h.sw.now_us()
    for ig, eg in stamps:
        assert before <= ig <= eg <= after
    assert [s[0] for s in stamps] == sorted(s[0] for s in stamps)
    assert [s[1] for s in stamps] == sorted(s[1] for s in stamps)


# -- priority queues ----------------------------------------------------------------------


def _prio_program() -> Program:
    p = _base()
    fl = p.field_list("fl", [])
    _if_first_pass(p, "ingress", [assign(sm("priority"), fld("h", "prio")),
                                  prim("clone_ingress_pkt_to_egress", hexv(1), hexv(fl)),
                                  set_port(1)])
    return p


def test_higher_priority_queue_leaves_first() -> None:
    h = Harness(_prio_program(), priority_queues=2)
    h.sw.pre.mirroring_add(1, egress_port=2)
    # the clone (priority reset to 0) is enqueued before the original (priority 1)
    assert [port for port, _ in h.send(0, _frame(prio=1))] == [1, 2]
    # same priority: first in, first out
    assert [port for port, _ in h.send(0, _frame(prio=0))] == [2, 1]


def test_priority_beyond_queue_count_is_dropped() -> None:
    h = Harness(_prio_program(), priority_queues=2)
    h.sw.pre.mirroring_add(1, egress_port=2)
    assert [port for port, _ in h.send(0, _frame(prio=2))] == [2]
    assert h.stat("drop_priority_out_of_range") == 1
    h1 = Harness(_prio_program())  # one queue: only priority 0 is valid
    h1.sw.pre.mirroring_add(1, egress_port=2)
    assert [port for port, _ in h1.send(0, _frame(prio=1))] == [2]
    assert [port for port, _ in h1.send(0, _frame(prio=0))] == [2, 1]


def test_qid_reports_the_priority_queue() -> None:
    """simple_switch sets queueing_metadata.qid to the priority the packet was queued with."""
    p = _base()
    p.meta("q", [["qid", 5], ["_pad", 3]])
    p.alias("queueing_metadata.qid", "q", "qid")
    p.run("ingress", [assign(sm("priority"), fld("h", "prio")), set_port(1)])
    p.run("egress", [assign(fld("h", "inst"), fld("q", "qid"))])
    h = Harness(p, priority_queues=4)
    for prio in (0, 1, 3):
        out = h.one(0, _frame(prio=prio))[1]
        assert out[1] == prio

