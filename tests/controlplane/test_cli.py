"""`p4nic` refuses bad flags and bad requests with the reason and a non-zero status,
before it touches any device."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from p4nic.cli import build_parser, main, request_for, resolve_common, start_config
from p4nic.config import config_from_dict, load_config
from p4nic.model import NicConfigError

P4NIC = os.path.join(os.path.dirname(sys.executable), "p4nic")
# no daemon there, no switch there: anything that got that far would fail differently
NOWHERE = ["--socket", "/nonexistent/p4nic.sock", "--grpc-addr", "unix:/nonexistent/p4rt.sock"]


def run_cli(*args: str) -> tuple[int, str]:
    done = subprocess.run([P4NIC, *args], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stderr


@pytest.mark.parametrize("args, reason", [
    (["flow", "add", "--src", "10.0.0.1"], "the following arguments are required"),
    (["flow", "add", "--src", "a", "--dst", "b", "--proto", "tcp", "--sport", "x",
      "--dport", "1", "--flow-id", "1"], "'x' is not a number"),
    (["flow", "add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--proto", "tcp", "--sport", "1",
      "--dport", "2", "--flow-id", "1", "--state", "BUSY"], "invalid choice"),
    (["trigger", "add", "--capture-id", "1", "--direction", "up"], "invalid choice"),
    (["trigger", "add", "--capture-id", "1", "--dport", "80/zz"], "VALUE/MASK"),
    (["replay", "x.pcapng", "--speed", "0"], "must be positive"),
    (["start", "--wire", ","], "at least one port"),
    (["frobnicate"], "invalid choice"),
])
def test_usage_errors_exit_2(args: list[str], reason: str) -> None:
    code, err = run_cli(*args)
    assert code == 2 and reason in err


@pytest.mark.parametrize("args, reason", [
    (["flow", "add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--proto", "tcp", "--sport", "1",
      "--dport", "2", "--flow-id", "5000"], "flow_id=5000 is outside 0..1023"),
    (["flow", "add", "--src", "10.0.0.1", "--dst", "::2", "--proto", "tcp", "--sport", "1",
      "--dport", "2", "--flow-id", "1"], "one IPv4 and one IPv6 address"),
    (["flow", "add", "--src", "10.0.0.1", "--dst", "10.0.0.300", "--proto", "tcp", "--sport",
      "1", "--dport", "2", "--flow-id", "1"], "'10.0.0.300' is not an IP address"),
    (["flow", "add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--proto", "gre", "--sport", "1",
      "--dport", "2", "--flow-id", "1"], "unknown protocol 'gre'"),
    (["flow", "add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--proto", "udp", "--sport", "1",
      "--dport", "2", "--flow-id", "1", "--ack-every", "2"], "ack_every needs a TCP flow"),
    (["flow", "add", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--proto", "tcp", "--sport", "1",
      "--dport", "2", "--flow-id", "1", "--state", "ZERO_COPY"], "ZERO_COPY needs a buffer"),
    (["flow", "del", "--src", "10.0.0.1"], "flow del needs --flow-id or all of"),
    (["flow", "modify", "--flow-id", "1"], "give at least one thing to change"),
    (["esp-flow", "add", "--dst", "fe80::1", "--spi", "0x100000000", "--flow-id", "1"],
     "spi=4294967296 is outside 0..4294967295"),
    (["sa", "add", "--dst", "10.0.0.2", "--spi", "1", "--key", "0011"],
     "aes-gcm-128 needs a 16-byte key"),
    (["sa", "add", "--dst", "10.0.0.2", "--spi", "0x100000000"], "spi=4294967296 is outside"),
    (["trigger", "add", "--capture-id", "1", "--src", "fe80::/64"],
     "capture triggers match IPv4 addresses"),
    (["trigger", "add", "--capture-id", "1", "--dport", "0x51/0x50"], "has bits outside mask"),
    (["trigger", "add", "--capture-id", "1", "--payload-head", "00112233445566778899"],
     "first 1..8 payload bytes"),
    (["rtp-port", "add", "70000"], "UDP port 70000 outside 0..65535"),
    (["merge", "group-add", "--group", "1", "--slice-size", "100", "--slices", "2"],
     "a window of 480 PSNs spans 241 frames"),
    (["merge", "group-add", "--group", "1", "--slice-size", "100", "--slices", "8",
      "--ring-mkey", "5"], "give --ring-slices too"),
    (["merge", "group-add", "--group", "1", "--slice-size", "100", "--slices", "6",
      "--window", "32", "--ring-slices", "64"], "slices_per_frame=6 must be a power of two"),
    (["merge-recv", "--iface", "lo", "--out", "/tmp/p4nic-x", "--group", "1", "--slice-size",
      "1000", "--slices", "20", "--dst", "10.0.0.1", "--stream", "src=10.0.1.2", "--ring", "8"],
     "give --ring above 25"),
    (["capture", "--iface", "lo", "--out", "/tmp/x.pcapng", "--rotate-bytes", "100"],
     "--rotate-bytes must be at least 1024"),
    (["capture", "--iface", "lo", "--out", "/tmp/x.pcapng", "--clock", "/nonexistent.json"],
     "no such file"),
    (["start", "--mac", "02:00:00:00:00:01"], "needs p4info and json"),
    (["start", "--p4info", "/nonexistent.txtpb", "--p4-json", "/nonexistent.json", "--mac",
      "02:00:00:00:00:01"], "no such file (run `make build`?)"),
    (["start", "--no-load"], "give the NIC's MAC address"),
    (["start", "--no-load", "--promiscuous", "--wire", "0,7"], "wire port=7 is outside 0..6"),
    (["start", "--no-load", "--promiscuous", "--consumer", "0"], "uses a port twice"),
])
def test_bad_requests_exit_1_with_the_reason(args: list[str], reason: str) -> None:
    code, err = run_cli(*NOWHERE, *args)
    assert code == 1, err
    assert err.startswith("p4nic: error: ") and reason in err


def test_no_daemon_and_no_switch_is_a_clear_error() -> None:
    code, err = run_cli(*NOWHERE, "flow", "list")
    assert code == 1 and "no P4Runtime server at unix:/nonexistent/p4rt.sock" in err


def parse(*argv: str):
    ns = build_parser().parse_args(list(argv))
    ns.given = resolve_common(ns)
    return ns


def test_requests_built_from_flags() -> None:
    op, args = request_for(parse("flow", "add", "--src", "10.0.0.1", "--dst", "10.0.0.2",
                                 "--proto", "tcp", "--sport", "0x4d2", "--dport", "80",
                                 "--flow-id", "7", "--ts-mode", "record", "--ack-every", "2"))
    assert op == "flow.add"
    assert args == {"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "tcp", "sport": 1234,
                    "dport": 80, "flow_id": 7, "ts_mode": "record", "ack_every": 2}
    op, args = request_for(parse("trigger", "add", "--capture-id", "1", "--proto", "6",
                                 "--dport", "0x50/0xfff0", "--direction", "rx"))
    assert op == "trigger.add" and args["proto"] == 6 and args["dport"] == [0x50, 0xFFF0]
    op, args = request_for(parse("--json", "replay", "cap.pcapng", "--port", "1", "--no-pad"))
    assert op == "replay" and args["path"] == os.path.abspath("cap.pcapng")
    assert args["pad"] is False and args["port"] == 1


def test_common_options_before_or_after_the_command() -> None:
    a = parse("--grpc-addr", "unix:/a", "counters")
    b = parse("counters", "--grpc-addr", "unix:/a")
    assert a.grpc_addr == b.grpc_addr == "unix:/a" and a.given == b.given == {"grpc_addr"}
    c = parse("counters")
    assert c.grpc_addr == "127.0.0.1:9559" and c.given == set()


def test_start_configuration_file_and_flags(tmp_path) -> None:
    cfg_file = tmp_path / "nic.json"
    cfg_file.write_text(json.dumps({
        "grpc_addr": "unix:/from/file", "p4info": "p4nic.p4info.txtpb", "json": "p4nic.json",
        "nic_macs": ["02:00:00:00:00:01"], "ports": {"wire": [0], "host_stack": 1, "consumer": 2,
                                                     "placement": 3, "records": 4, "capture": 5},
        "flows": [{"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "tcp", "sport": 1,
                   "dport": 2, "flow_id": 3}],
        "sas": [{"dst": "10.0.0.2", "spi": 4097, "key": "00" * 16, "install": True}],
        "triggers": [{"capture_id": 1, "dport": [80, 65535]}],
        "capture": {"iface": "p4nic6", "out": "/tmp/c.pcapng"}}))
    cfg = start_config(parse("start", "--config", str(cfg_file), "--records", "9"))
    assert cfg.grpc_addr == "unix:/from/file"                # not overridden
    assert cfg.p4info == str(tmp_path / "p4nic.p4info.txtpb")   # relative to the file
    assert cfg.ports.records == 9 and cfg.ports.wire == (0,)
    assert cfg.flows[0].flow_id == 3 and cfg.sas[0][1] is True
    assert cfg.sas[0][0].key == bytes(16) and cfg.triggers[0].dport == (80, 65535)
    assert cfg.capture.iface == "p4nic6"
    cfg = start_config(parse("--grpc-addr", "unix:/flag", "start", "--config", str(cfg_file)))
    assert cfg.grpc_addr == "unix:/flag"


def test_bad_configurations_are_refused(tmp_path) -> None:
    with pytest.raises(NicConfigError, match="unknown configuration key"):
        config_from_dict({"flowz": []})
    with pytest.raises(NicConfigError, match="flow: unknown field"):
        config_from_dict({"flows": [{"src": "10.0.0.1", "speed": 3}]})
    bad = tmp_path / "bad.toml"
    bad.write_text("ports = [")
    with pytest.raises(NicConfigError, match="bad.toml"):
        load_config(str(bad))
    good = tmp_path / "good.toml"
    good.write_text('nic_macs = ["02:00:00:00:00:01"]\nrtp_ports = [5004]\n'
                    '[[flows]]\nsrc = "10.0.0.1"\ndst = "10.0.0.2"\nproto = "udp"\n'
                    'sport = 1\ndport = 2\nflow_id = 0\nts_mode = "record"\n')
    cfg = load_config(str(good))
    assert cfg.rtp_ports == [5004] and cfg.flows[0].ts_mode == "record"


def test_main_in_process_refusal(capsys) -> None:
    assert main([*NOWHERE, "sa", "add", "--dst", "10.0.0.2", "--spi", "1", "--cipher",
                 "aes-gcm-256", "--key", "00" * 16]) == 1
    assert "aes-gcm-256 needs a 32-byte key" in capsys.readouterr().err
