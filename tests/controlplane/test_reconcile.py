"""A driver that restarts on a running NIC (p4nic start --no-load) against a real
pybm-switch: it adopts every entry an earlier driver left, configuration entries
already there are adopted untouched (generation and counters continue) or
modified in place, and clear_all afterwards removes exactly what is there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from p4nic.config import StartConfig
from p4nic.driver import NicDriver
from p4nic.merge import MergeGroup, MergeStream
from p4nic.model import CaptureTrigger, EspFlow, Flow, SecurityAssociation
from p4nic.reconcile import adopt_device, install_config
from p4nic.records import parse_rx_meta
from scapy.all import IP, UDP, Ether, raw

from .conftest import NIC_MAC, PEER_MAC, PORTS

A, B = "10.0.0.1", "10.0.0.2"


def udp(sport: int) -> bytes:
    return raw(Ether(dst=NIC_MAC, src=PEER_MAC) / IP(src=A, dst=B) / UDP(sport=sport, dport=7)
               / (b"u" * 40))


def snapshot(drv: NicDriver) -> dict:
    flows = sorted(drv.list_flows(counters=False), key=lambda r: r["flow_id"])
    return {"flows": flows,
            "sas": sorted((r["dst"], r["spi"], r["key_index"]) for r in drv.list_sas()),
            "triggers": sorted(str(i) for _, i in drv.list_capture_triggers()),
            "groups": [drv.merge.group_info(g.group) for g in drv.merge.groups()]}


@pytest.fixture
def fresh(lab, nic_build) -> Iterator[NicDriver]:
    """The first driver: pipeline loaded, set up, NOT cleared at the end (it 'dies')."""
    drv = NicDriver(grpc_addr=lab.grpc_addr, device_id=0, election_id=1)
    drv.connect()
    try:
        drv.load_pipeline(nic_build.p4info, nic_build.json)
        drv.setup(PORTS, nic_macs=[NIC_MAC], clock=False)
        yield drv
    finally:
        drv.close()


def restarted(lab) -> NicDriver:
    drv = NicDriver(grpc_addr=lab.grpc_addr, device_id=0, election_id=1)
    drv.connect()
    drv.use_device_pipeline()
    drv.setup(PORTS, nic_macs=[NIC_MAC], clock=False)
    return drv


def test_restart_adopts_everything_and_config_is_not_duplicated(fresh: NicDriver, lab,
                                                                taps) -> None:
    cfg = StartConfig(load_pipeline=False, nic_macs=[NIC_MAC])
    cfg.flows = [Flow(src=A, dst=B, proto="udp", sport=1, dport=7, flow_id=1,
                      ts_mode="in_packet"),
                 Flow(src=A, dst=B, proto="udp", sport=2, dport=7, flow_id=2,
                      ts_mode="in_packet")]
    cfg.esp_flows = [EspFlow(dst=B, spi=0x77, flow_id=3)]
    cfg.sas = [(SecurityAssociation(dst=B, spi=0x1001, key=bytes(16)), True)]
    cfg.triggers = [CaptureTrigger(capture_id=1, snaplen=64, dport=7)]
    cfg.rtp_ports = [5004]
    first = fresh
    assert install_config(first, cfg) == {"added": 6, "adopted": 0, "modified": 0}
    # and what the first daemon's users added at run time
    first.add_flow(Flow(src=A, dst=B, proto="udp", sport=3, dport=7, flow_id=9,
                        ts_mode="in_packet"))
    first.add_sa(SecurityAssociation(dst=B, spi=0x2002, key_index=40))
    first.add_capture_trigger(CaptureTrigger(capture_id=2, snaplen=0, sport=9, priority=20))
    first.add_rtp_port(6000)
    first.add_mac("02:00:00:00:00:42")
    first.merge.create_group(MergeGroup(group=5, slice_size=100, slices_per_frame=4,
                                        window=16))
    first.merge.add_stream(MergeStream(group=5, stream=0, dst=B, dport=5004, in_port=0))
    # (slices per frame is not in the group's context: adoption reads it from a work item)
    first.merge.post_frame(5, 0, 1, 0x10000)
    for sport in (1, 1, 3):
        taps[0].send(udp(sport))
    before_meta = [parse_rx_meta(f)[0] for f in taps[3].recv(3)]
    assert [(m.flow_id, m.flow_packets) for m in before_meta] == [(1, 1), (1, 2), (9, 1)]
    before = snapshot(first)
    gens = {h.key: o.generation for h, o in first.entries() if h.kind == "flow"}
    first.close()       # the daemon dies; the NIC keeps its tables

    # the second daemon: flow 2 is configured differently now (deliver to the host stack)
    cfg.flows[1] = Flow(src=A, dst=B, proto="udp", sport=2, dport=7, flow_id=2,
                        deliver_port=2)
    second = restarted(lab)
    try:
        found = adopt_device(second)
        assert found == {"flow": 3, "esp_flow": 1, "sa": 2, "trigger": 2, "rtp_port": 2,
                         "mac": 1, "reasm_policy": 0, "merge_group": 1}
        assert install_config(second, cfg) == {"added": 0, "adopted": 5, "modified": 1}
        after = snapshot(second)
        assert after["sas"] == before["sas"] and after["triggers"] == before["triggers"]
        assert after["groups"] == before["groups"]
        changed = {r["flow_id"]: r for r in after["flows"]}
        assert changed[2]["deliver_port"] == 2 and changed[2]["ts_mode"] == "none"
        assert [r for r in after["flows"] if r["flow_id"] != 2] == [
            r for r in before["flows"] if r["flow_id"] != 2]
        # generations kept (the per-flow totals in the descriptors continue), also for
        # the modified flow; direct counters continue
        assert {h.key: o.generation for h, o in second.entries() if h.kind == "flow"} == gens
        taps[0].send(udp(1))
        taps[0].send(udp(3))
        meta = [parse_rx_meta(f)[0] for f in taps[3].recv(2)]
        assert [(m.flow_id, m.flow_packets) for m in meta] == [(1, 3), (9, 2)]
        counts = {r["flow_id"]: r["packets"] for r in second.list_flows()}
        assert counts[1] == 3 and counts[9] == 2
        # a key request for an SA in key memory is already answered
        assert second.answer_key_request(0x1001, A, B)
        # everything is tracked: clear_all leaves empty tables
        second.clear_all()
        assert second.list_flows() == [] and second.list_sas() == []
        assert second.list_capture_triggers() == []
        assert second._read_table("NicIngress.rtp_ports") == []
        assert second._read_table("NicIngress.rx_checks.mac_filter") == []
        assert second._read_table("NicIngress.merge.merge_group") == []
    finally:
        second.close()


def test_adopt_on_an_empty_device_then_config_inserts(fresh: NicDriver, lab) -> None:
    fresh.close()
    drv = restarted(lab)
    try:
        assert set(adopt_device(drv).values()) == {0}
        cfg = StartConfig(load_pipeline=False, nic_macs=[NIC_MAC], rtp_ports=[5004])
        cfg.flows = [Flow(src=A, dst=B, proto="tcp", sport=1, dport=80, flow_id=4)]
        assert install_config(drv, cfg) == {"added": 2, "adopted": 0, "modified": 0}
        # the same configuration once more changes nothing
        assert install_config(drv, cfg) == {"added": 0, "adopted": 2, "modified": 0}
        assert [r["flow_id"] for r in drv.list_flows()] == [4]
    finally:
        drv.clear_all()
        drv.close()
