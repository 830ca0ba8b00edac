"""IP fragment reassembly (p4nic.reasm): the data plane's arithmetic in Python against
brute force and pybm's hashes, policy validation; then against a real pybm-switch with
a loopback veth pair (both ends on the switch): policies enabled, flushed, disabled,
counters read, fragments sent through the NIC and delivered whole, and policies (with
the partial datagrams they hold) adopted by a restarted driver."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
import zlib
from collections.abc import Iterator

import pytest
from p4nic import p4names as n
from p4nic.config import ReassemblyConfig, StartConfig
from p4nic.driver import NicDriver, PortMap
from p4nic.lab import REASM_MTU, NicLab
from p4nic.model import NicConfigError
from p4nic.reasm import (
    DEFAULT_TIMEOUT_MS,
    MAX_TIMEOUT_MS,
    ReassemblyPolicy,
    datagram_passes,
    disable_reassembly,
    enable_reassembly,
    flush_reassembly,
    fragment_units,
    parse_protocol,
    range_mask,
    reasm_key,
    reasm_slot,
    reassembly_counters,
    set_reassembly_timeout,
    store_passes,
    store_plan,
)
from p4nic.reconcile import adopt_device, install_config
from scapy.all import IP, UDP, Ether, Raw, fragment, raw

from pybm.switch import hashes

from .conftest import LOOP, NIC_MAC, PEER_MAC, Build, Tap

A, B = "10.0.0.1", "10.0.0.2"
PORTS = PortMap(wire=(0, 1), host_stack=2, consumer=3, placement=4, records=5, capture=6,
                loop=LOOP, cpu=255)
NO_LOOP = PortMap(wire=(0, 1), host_stack=2, consumer=3, placement=4, records=5, capture=6,
                  cpu=255)


# ---- the data plane's arithmetic -----------------------------------------------------------
def simulate_store(offset_units: int, payload_len: int) -> tuple[int, set[int]]:
    """Store passes of one fragment by store_plan: (passes, units stored), checking
    that no pass crosses a 16-unit row."""
    u0, u1 = fragment_units(offset_units, payload_len)
    unit, units, tail = u0, u1 - u0, payload_len % 8
    passes, stored = 0, set()
    while units:
        first, full, tail_now = store_plan(unit, units, tail)
        assert first == unit % 16
        took = full + (1 if tail_now else 0)
        assert 0 < took and first + took <= 16, (unit, units, tail)
        assert tail_now in (0, tail)
        stored |= set(range(unit, unit + took))
        unit, units, passes = unit + took, units - took, passes + 1
    return passes, stored


@pytest.mark.parametrize("unit, units, tail, plan", [
    (0, 5, 0, (0, 5, 0)),          # all in the first row
    (0, 16, 0, (0, 16, 0)),        # exactly a row
    (0, 16, 3, (0, 15, 3)),        # a row whose last unit is partial
    (0, 20, 0, (0, 16, 0)),        # stops at the end of the row
    (14, 5, 3, (14, 2, 0)),        # the tail waits for the next row
    (3, 4, 5, (3, 3, 5)),          # three full units and the partial one
    (31, 1, 7, (15, 0, 7)),        # only a partial unit, last lane
])
def test_store_plan(unit: int, units: int, tail: int, plan: tuple[int, int, int]) -> None:
    assert store_plan(unit, units, tail) == plan


def test_store_passes_cover_the_fragment_row_by_row() -> None:
    for offset in (0, 1, 7, 15, 16, 17, 69, 138, 500):
        for length in (1, 7, 8, 9, 64, 127, 128, 129, 552, 1000, 1480, 4096):
            passes, stored = simulate_store(offset, length)
            u0, u1 = fragment_units(offset, length)
            assert stored == set(range(u0, u1))
            assert passes == store_passes(offset, length) == len({u // 16 for u in stored})


@pytest.mark.parametrize("u0, u1, base", [(0, 64, 0), (0, 0, 0), (3, 5, 0), (60, 70, 0),
                                          (60, 70, 64), (100, 200, 0), (0, 512, 448),
                                          (130, 131, 128), (5, 3, 0), (64, 128, 64)])
def test_range_mask_is_the_units_in_the_word(u0: int, u1: int, base: int) -> None:
    want = sum(1 << (u - base) for u in range(u0, u1) if base <= u < base + 64)
    assert range_mask(u0, u1, base) == want


def test_range_mask_words_partition_a_fragment() -> None:
    u0, u1 = 70, 300
    words = [range_mask(u0, u1, 64 * j) for j in range(8)]
    assert sum(bin(w).count("1") for w in words) == u1 - u0
    assert words[0] == 0 and words[1] == ((1 << 64) - 1) & ~((1 << 6) - 1)
    assert words[4] == (1 << (300 - 256)) - 1 and words[5:] == [0, 0, 0]


def test_fragment_units() -> None:
    assert fragment_units(0, 1) == (0, 1)
    assert fragment_units(0, 8) == (0, 1)
    assert fragment_units(0, 9) == (0, 2)
    assert fragment_units(69, 552) == (69, 138)
    assert fragment_units(10, 0) == (10, 10)


def test_datagram_passes() -> None:
    # 600 + 408 bytes: store 5 rows + 4 rows, the turn into the emitter, 8 emit rows
    assert datagram_passes([(0, 600), (75, 408)]) == 5 + 4 + 1 + 8
    # order does not matter; a one-row datagram: 1 store + 1 turn + 1 emit
    assert datagram_passes([(75, 408), (0, 600)]) == 18
    assert datagram_passes([(0, 64), (8, 64)]) == 1 + 1 + 1 + 1
    # the largest datagram, in 1480-byte fragments
    frags = [(0, 1480), (185, 1480), (370, 1136)]
    assert datagram_passes(frags) == sum(store_passes(*f) for f in frags) + 1 + 32


def test_reasm_key_layout() -> None:
    k = reasm_key(A, B, 17, 0x1234)
    assert k == (17 << 102) | (0x1234 << 70) | (0x0A000001 << 32) | 0x0A000002
    assert reasm_key(A, B, 17, 0x1234, decrypted=True, key_index=5) == (
        k | 1 << 126 | 5 << 110)
    assert reasm_key(B, A, 17, 0x1234) != k                    # direction matters
    v6 = reasm_key("fe80::1", "fe80::2", 58, 0xABCDE)
    assert v6 >> 127 == 1 and (v6 >> 102) & 0xFF == 58 and (v6 >> 70) & 0xFFFFFFFF == 0xABCDE
    a, b = (ipaddress.ip_address(x).packed for x in ("fe80::1", "fe80::2"))
    assert v6 & ((1 << 64) - 1) == zlib.crc32(a) << 32 | zlib.crc32(b)
    with pytest.raises(ValueError, match="different IP versions"):
        reasm_key(A, "fe80::2", 17, 1)


def test_reasm_slot_is_the_top_of_bmv2s_crc32() -> None:
    slots = set()
    for ident in range(0, 4096, 7):
        key = reasm_key(A, B, 17, ident)
        s = reasm_slot(key)
        assert s == hashes.crc32(key.to_bytes(16, "big")) >> 26
        slots.add(s)
    assert slots == set(range(n.REASM_SLOTS))


def test_consecutive_identifications_spread_over_the_slots() -> None:
    """One sender's next 64 datagrams: (nearly) every one in a slot of its own."""
    for base in (0, 1000, 5000):
        slots = {reasm_slot(reasm_key(A, B, 17, i)) for i in range(base, base + 64)}
        assert len(slots) >= 56, (base, len(slots))


@pytest.mark.parametrize("text, proto", [("udp", 17), ("UDP ", 17), ("icmp", 1), ("tcp", 6),
                                         ("esp", 50), ("icmpv6", 58), ("17", 17),
                                         ("0x11", 17), (17, 17), ("all", None), ("*", None),
                                         ("any", None)])
def test_parse_protocol(text: str | int, proto: int | None) -> None:
    assert parse_protocol(text) == proto


@pytest.mark.parametrize("text", ["gre", "", "1.5", "udp,tcp"])
def test_parse_protocol_refuses(text: str) -> None:
    with pytest.raises(NicConfigError, match="unknown IP protocol"):
        parse_protocol(text)


def test_policy_validation_and_handles() -> None:
    assert ReassemblyPolicy().timeout_ms == DEFAULT_TIMEOUT_MS
    ReassemblyPolicy(255, MAX_TIMEOUT_MS)
    for proto in (-1, 256):
        with pytest.raises(NicConfigError, match="outside 0..255"):
            ReassemblyPolicy(proto)
    for t in (0, -5, MAX_TIMEOUT_MS + 1):
        with pytest.raises(NicConfigError, match="reassembly timeout"):
            ReassemblyPolicy(17, t)
    every, udp = ReassemblyPolicy().handle(), ReassemblyPolicy(17).handle()
    assert (every.kind, every.table, every.key, every.priority) == (
        "reasm_policy", n.REASM_POLICY, (0, 0), 10)
    assert (udp.key, udp.priority) == ((17, 0xFF), 20)       # a protocol beats "all"
    assert ReassemblyPolicy(17, 1000, 3).handle() == udp       # one entry per protocol


def test_reassembly_config() -> None:
    assert ReassemblyConfig().protocols == [None]
    rc = ReassemblyConfig.from_dict({"protocols": ["udp", "icmp,6", 17], "timeout_ms": 250})
    assert rc.protocols == [17, 1, 6] and rc.timeout_ms == 250.0
    assert rc.to_dict() == {"protocols": ["udp", "icmp", "tcp"], "timeout_ms": 250.0}
    assert ReassemblyConfig.from_dict({}).protocols == [None]
    for bad, reason in (({"protocols": []}, "at least one protocol"),
                        ({"protocols": ["gre"]}, "unknown IP protocol"),
                        ({"timeout_ms": 0}, "reassembly timeout"),
                        ({"timeout_ms": "soon"}, "not a number"),
                        ({"protocol": "udp"}, "unknown key")):
        with pytest.raises(NicConfigError, match=reason):
            ReassemblyConfig.from_dict(bad)
    with pytest.raises(NicConfigError, match="loopback port pair"):
        StartConfig(load_pipeline=False, promiscuous=True, reassembly=rc).validate()
    StartConfig(load_pipeline=False, promiscuous=True, reassembly=rc, ports=PORTS).validate()


# ---- on a pybm-switch with a loopback pair --------------------------------------------------
@pytest.fixture
def taps(loop_lab: NicLab) -> Iterator[dict[int, Tap]]:
    t = {p: Tap(loop_lab.outside(p)) for p in loop_lab.ports}
    try:
        yield t
    finally:
        for tap in t.values():
            tap.close()


def connect(lab: NicLab) -> NicDriver:
    drv = NicDriver(grpc_addr=lab.grpc_addr, device_id=0, election_id=1)
    drv.connect()
    return drv


@pytest.fixture
def drv(loop_lab: NicLab, nic_build: Build) -> Iterator[NicDriver]:
    d = connect(loop_lab)
    try:
        d.load_pipeline(nic_build.p4info, nic_build.json)
        d.setup(PORTS, nic_macs=[NIC_MAC], clock=False)
        yield d
        d.clear_all()
    finally:
        d.close()


def datagram(ident: int, size: int) -> IP:
    return IP(src=A, dst=B, id=ident, ttl=64) / UDP(sport=4000, dport=4001) / Raw(
        bytes((ident + i) % 251 for i in range(size)))


def frames(dgram: IP, fragsize: int) -> list[bytes]:
    out = []
    for f in fragment(dgram, fragsize=fragsize):
        b = raw(Ether(src=PEER_MAC, dst=NIC_MAC) / f)
        out.append(b + bytes(max(0, 60 - len(b))))
    return out


def whole(dgram: IP) -> bytes:
    return raw(Ether(src=PEER_MAC, dst=NIC_MAC) / IP(raw(dgram)))


def shape(dgram: IP, fragsize: int) -> list[tuple[int, int]]:
    return [(f.frag, len(raw(f.payload))) for f in fragment(dgram, fragsize=fragsize)]


def events(d: NicDriver) -> dict[str, int]:
    return {k: v[0] for k, v in reassembly_counters(d).items()}


def wait_events(d: NicDriver, want: dict[str, int], timeout: float = 10.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        got = events(d)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def plus(before: dict[str, int], **more: int) -> dict[str, int]:
    return {k: v + more.get(k, 0) for k, v in before.items()}


def policies_on_device(d: NicDriver) -> list[tuple[int, int, int, int, int]]:
    """(value, mask, timeout µs, epoch, loop) of each reasm_policy entry."""
    out = []
    for te in d._read_table(n.REASM_POLICY):
        v, m = d.schema.decode_match(te).get(n.MF_IP_PROTO, (0, 0))
        _, p = d.schema.decode_action(te)
        out.append((v, m, p["timeout"], p["policy_epoch"], p["loop"]))
    return sorted(out)


def test_loop_pair_is_one_veth_on_the_switch(loop_lab: NicLab) -> None:
    ns = ["ip", "netns", "exec", loop_lab.netns]
    for a, b in (LOOP, LOOP[::-1]):
        link = subprocess.run(ns + ["ip", "-o", "link", "show", f"sw{a}"], capture_output=True,
                              text=True, check=True).stdout
        assert f"sw{a}@sw{b}" in link and f"mtu {REASM_MTU}" in link and "state UP" in link
    host = subprocess.run(["ip", "-o", "link", "show", loop_lab.outside(2)],
                          capture_output=True, text=True, check=True).stdout
    assert f"mtu {REASM_MTU}" in host            # a reassembled datagram fits the host port
    assert not os.path.exists(f"/sys/class/net/{loop_lab.outside(8)}")


def test_enable_without_a_loop_pair_is_refused(loop_lab: NicLab, nic_build: Build) -> None:
    d = connect(loop_lab)
    try:
        d.load_pipeline(nic_build.p4info, nic_build.json)
        d.setup(NO_LOOP, nic_macs=[NIC_MAC], clock=False)
        with pytest.raises(NicConfigError, match="needs the loopback port pair"):
            enable_reassembly(d, ["udp"])
        assert d.entries("reasm_policy") == [] and policies_on_device(d) == []
        d.clear_all()
    finally:
        d.close()


def test_enable_deliver_flush_disable_and_counters(drv: NicDriver, taps) -> None:
    before = events(drv)
    assert list(before) == list(n.REASM_EVENT_NAMES) and set(before.values()) == {0}

    handles = enable_reassembly(drv, ["udp", "icmp"], timeout_ms=3000)
    assert [h.key for h in handles] == [(17, 0xFF), (1, 0xFF)]
    on_dev = policies_on_device(drv)
    epoch = on_dev[0][3]
    assert on_dev == [(1, 0xFF, 3_000_000, epoch, 8), (17, 0xFF, 3_000_000, epoch, 8)]

    # a datagram in three fragments, last first: whole to the host stack
    dg = datagram(1, 2500)
    frs = frames(dg, 1000)
    for f in reversed(frs):
        taps[0].send(f)
    assert taps[2].recv(1) == [whole(dg)]
    assert wait_events(drv, plus(before, accepted=3, reassembled=1,
                                 passes=datagram_passes(shape(dg, 1000)))) == plus(
        before, accepted=3, reassembled=1, passes=datagram_passes(shape(dg, 1000)))

    # flush: every policy moves to a new epoch, the partial datagram held is dropped
    dg = datagram(2, 1200)
    first, second = frames(dg, 800)
    taps[0].send(first)
    time.sleep(0.3)
    new_epoch = flush_reassembly(drv)
    assert new_epoch != epoch
    assert {e for _, _, _, e, _ in policies_on_device(drv)} == {new_epoch}
    taps[0].send(second)                   # starts afresh: the first one is gone
    assert taps[2].recv(1, timeout=1.0) == []
    taps[0].send(first)
    assert taps[2].recv(1) == [whole(dg)]

    # another protocol joins (a new epoch for all), then everything is disabled
    enable_reassembly(drv, ["tcp"], timeout_ms=1000)
    on_dev = policies_on_device(drv)
    assert [(v, t) for v, _, t, _, _ in on_dev] == [(1, 3_000_000), (6, 1_000_000),
                                                    (17, 3_000_000)]
    assert len({e for _, _, _, e, _ in on_dev}) == 1
    assert disable_reassembly(drv) == 3
    assert policies_on_device(drv) == [] and drv.entries("reasm_policy") == []
    before = events(drv)
    dg = datagram(3, 1200)
    for f in frames(dg, 800):
        taps[0].send(f)
        assert taps[2].recv(1) == [f]            # as it came: the host stack reassembles
    assert wait_events(drv, plus(before, not_enabled=2)) == plus(before, not_enabled=2)


def test_timeout_changed_in_place_keeps_the_datagrams_held(drv: NicDriver, taps) -> None:
    enable_reassembly(drv, ["udp"], timeout_ms=60_000)
    epoch = policies_on_device(drv)[0][3]
    before = events(drv)
    dg = datagram(4, 1200)
    first, second = frames(dg, 800)
    taps[0].send(first)
    assert wait_events(drv, plus(before, accepted=1, passes=store_passes(0, 800))) == plus(
        before, accepted=1, passes=store_passes(0, 800))
    assert set_reassembly_timeout(drv, 30_000) == 1
    assert policies_on_device(drv) == [(17, 0xFF, 30_000_000, epoch, 8)]   # same epoch
    taps[0].send(second)
    assert taps[2].recv(1) == [whole(dg)]           # the fragment held was kept

    # a shorter timeout applies to a datagram already held
    dg = datagram(5, 1200)
    first, second = frames(dg, 800)
    before = events(drv)
    taps[0].send(first)
    assert wait_events(drv, plus(before, accepted=1, passes=store_passes(0, 800))) == plus(
        before, accepted=1, passes=store_passes(0, 800))
    set_reassembly_timeout(drv, 200)
    time.sleep(0.4)                                 # past the timeout, not a timing check
    taps[0].send(second)                            # finds the slot expired: starts afresh
    assert taps[2].recv(1, timeout=1.0) == []
    want = plus(before, accepted=2, timeout=1, passes=store_passes(0, 800) + store_passes(100, 408))
    assert wait_events(drv, want) == want
    with pytest.raises(NicConfigError):
        set_reassembly_timeout(drv, 0)
    disable_reassembly(drv)


def test_restart_adopts_policies_and_their_partial_datagrams(loop_lab: NicLab,
                                                              nic_build: Build, taps) -> None:
    first = connect(loop_lab)
    try:
        first.load_pipeline(nic_build.p4info, nic_build.json)
        first.setup(PORTS, nic_macs=[NIC_MAC], clock=False)
        cfg = StartConfig(load_pipeline=False, nic_macs=[NIC_MAC], ports=PORTS,
                          reassembly=ReassemblyConfig(["udp"], 4000))
        assert install_config(first, cfg) == {"added": 1, "adopted": 0, "modified": 0}
        enable_reassembly(first, ["icmp"], 4000)          # a run-time addition
        (epoch,) = {e for _, _, _, e, _ in policies_on_device(first)}
        dg = datagram(10, 1500)
        head, tail = frames(dg, 1000)
        taps[0].send(head)                                 # held in a slot
        time.sleep(0.5)
    finally:
        first.close()                                      # the daemon dies

    second = connect(loop_lab)
    try:
        second.use_device_pipeline()
        second.setup(PORTS, nic_macs=[NIC_MAC], clock=False)
        assert adopt_device(second)["reasm_policy"] == 2
        assert install_config(second, cfg) == {"added": 0, "adopted": 1, "modified": 0}
        assert {e for _, _, _, e, _ in policies_on_device(second)} == {epoch}
        taps[0].send(tail)                                 # completes what the first held
        assert taps[2].recv(1) == [whole(dg)]

        # another timeout in the configuration: modified (a new epoch for both)
        cfg.reassembly = ReassemblyConfig(["udp"], 2000)
        assert install_config(second, cfg) == {"added": 0, "adopted": 0, "modified": 1}
        got = policies_on_device(second)
        assert [(v, t) for v, _, t, _, _ in got] == [(1, 4_000_000), (17, 2_000_000)]
        (epoch,) = {e for _, _, _, e, _ in got}

        # a restart with the loop pair the other way round: pointed at it in place
        third_ports = PortMap(**{**PORTS.to_dict(), "loop": [9, 8]})
        second.setup(third_ports, nic_macs=[NIC_MAC], clock=False)
        assert install_config(second, cfg) == {"added": 0, "adopted": 1, "modified": 2}
        assert {(e, lp) for _, _, _, e, lp in policies_on_device(second)} == {(epoch, 9)}
        dg = datagram(11, 1500)
        for f in frames(dg, 1000):
            taps[0].send(f)
        assert taps[2].recv(1) == [whole(dg)]

        # and without one: removed (their emit passes would leave on no loopback)
        second.setup(NO_LOOP, nic_macs=[NIC_MAC], clock=False)
        install_config(second, StartConfig(load_pipeline=False, nic_macs=[NIC_MAC]))
        assert policies_on_device(second) == [] and second.entries("reasm_policy") == []
        second.clear_all()
    finally:
        second.close()
