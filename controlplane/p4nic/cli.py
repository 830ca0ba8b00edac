"""The ``p4nic`` command.

``p4nic start`` is the driver daemon. The other commands act through its
control socket; when no daemon runs they connect to the switch themselves
as primary (using the pipeline already on the device), do their one thing
and disconnect. Bad flags and refused requests print the reason and exit
non-zero (2 for usage errors, 1 for refused requests).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from p4nic.capture import CaptureAgent, FileClock
from p4nic.clock import load_mapping
from p4nic.config import DEFAULT_STATE_DIR, CaptureConfig, StartConfig, load_config
from p4nic.control import ControlClient, ControlError, DaemonNotRunning
from p4nic.crypto_cli import add_crypto_engine_command, cmd_crypto_engine
from p4nic.merge_cli import add_merge_commands, cmd_merge_recv, cmd_merge_send, merge_request
from p4nic.model import NicConfigError, PortMap
from p4nic.p4info import P4InfoError
from p4nic.p4rt import P4RuntimeError
from p4nic.plot_cli import add_plot_command, cmd_plot, save_frames
from p4nic.progress import Progress, timed
from p4nic.reasm_cli import (
    add_reasm_commands,
    add_start_flags,
    apply_start_flags,
    loop_ports,
    print_reasm,
    reasm_request,
)

log = logging.getLogger("p4nic")


class CliError(Exception):
    """A refused command: the message is printed, the exit status is 1."""


# ---- argument types ----------------------------------------------------------------------
def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None


def _port_list(text: str) -> list[int]:
    try:
        ports = [int(p, 0) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}': expected port numbers like 0,1") from None
    if not ports:
        raise argparse.ArgumentTypeError("at least one port")
    return ports


def _masked(text: str) -> int | list[int]:
    """VALUE or VALUE/MASK (trigger fields)."""
    value, sep, mask = text.partition("/")
    try:
        return [int(value, 0), int(mask, 0)] if sep else int(value, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}': expected VALUE or VALUE/MASK") from None


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return v


# ---- parser -------------------------------------------------------------------------------------
COMMON_DEFAULTS: dict[str, Any] = {
    "state_dir": DEFAULT_STATE_DIR, "socket": None, "grpc_addr": "127.0.0.1:9559",
    "device_id": 0, "election_id": 1, "json_out": False, "log_level": "warning"}


def _common(p: argparse.ArgumentParser, suppress: bool) -> None:
    """Options accepted before and after the command word; defaults are applied
    after parsing (resolve_common) so that ``start`` knows which were given."""
    d = argparse.SUPPRESS if suppress else None
    p.add_argument("--state-dir", default=d,
                   help=f"daemon state (socket, clock.json) (default {DEFAULT_STATE_DIR})")
    p.add_argument("--socket", default=d, help="control socket (default STATE_DIR/p4nic.sock)")
    p.add_argument("--grpc-addr", default=d,
                   help="P4Runtime server when no daemon runs (default 127.0.0.1:9559)")
    p.add_argument("--device-id", type=_int, default=d)
    p.add_argument("--election-id", type=_int, default=d)
    p.add_argument("--json", dest="json_out", action="store_true", default=d,
                   help="print results as JSON")
    p.add_argument("--log-level", default=d, choices=["debug", "info", "warning", "error"])


def resolve_common(ns: argparse.Namespace) -> set[str]:
    """Fill in the common defaults; returns the names given on the command line."""
    given = {k for k in COMMON_DEFAULTS if getattr(ns, k, None) is not None}
    for k, v in COMMON_DEFAULTS.items():
        if getattr(ns, k, None) is None:
            setattr(ns, k, v)
    return given


def _ports_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("port map (defaults: wire 0,1 host-stack 2 consumer 3 "
                             "placement 4 records 5 capture 6 cpu 255)")
    g.add_argument("--wire", type=_port_list)
    for name in ("host-stack", "consumer", "placement", "records", "capture-port", "cpu-port",
                 "crypto-port"):
        g.add_argument(f"--{name}", type=_int)
    g.add_argument("--loop-ports", type=loop_ports, metavar="OUT,IN",
                   help="the loopback pair (reassembly): two ends of one veth, both switch ports")
    g.add_argument("--bare-ports", type=_port_list, metavar="PORT[,PORT]",
                   help="delivery ports whose receiver is a kernel stack: no rx descriptor")


def _flow_handling_flags(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--flow-id", type=_int, required=required)
    p.add_argument("--state", choices=["IDLE", "MONITOR", "ZERO_COPY"], type=str.upper)
    p.add_argument("--deliver-port", type=_int)
    p.add_argument("--ts-mode", choices=["none", "in_packet", "record"])


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="p4nic", description="p4nic SmartNIC driver and tools")
    _common(ap, suppress=False)
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def cmd(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p, suppress=True)
        return p

    p = cmd("start", "connect as primary, load and set up the NIC, serve the control socket")
    p.add_argument("--config", help="JSON or TOML configuration (flags override it)")
    p.add_argument("--p4info", help="P4Info text file (out/p4nic.p4info.txtpb)")
    p.add_argument("--p4-json", dest="p4_json", help="BMv2 JSON (out/p4nic.json)")
    p.add_argument("--no-load", action="store_true", help="use the pipeline already on the device")
    p.add_argument("--mac", action="append", help="a MAC address of the NIC (repeatable)")
    p.add_argument("--promiscuous", action="store_true", help="accept every destination MAC")
    p.add_argument("--capture-iface", help="run the capture agent on this interface")
    p.add_argument("--capture-out", help="pcapng file of the capture agent")
    p.add_argument("--capture-rotate-bytes", type=_int)
    p.add_argument("--capture-max-files", type=_int)
    p.add_argument("--clock-interval", type=_positive, help="seconds between clock probes")
    p.add_argument("--crypto-iface",
                   help="start the crypto engine on this interface (the crypto port's outside)")
    _ports_flags(p)
    add_start_flags(p)

    flow = cmd("flow", "flow tuples (IPv4/IPv6 five-tuples)")
    fsub = flow.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = fsub.add_parser("add", help="install a flow")
    _common(p, suppress=True)
    for name in ("src", "dst"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--proto", required=True, help="tcp, udp or a number")
    p.add_argument("--sport", type=_int, required=True)
    p.add_argument("--dport", type=_int, required=True)
    _flow_handling_flags(p, required=True)
    p.add_argument("--ack-every", type=_int)
    for name in ("buf-base", "buf-size", "start-seq"):
        p.add_argument(f"--{name}", type=_int)
    _ports_flags(p)
    p = fsub.add_parser("del", help="remove a flow (by --flow-id or by its five-tuple)")
    _common(p, suppress=True)
    p.add_argument("--flow-id", type=_int)
    for name in ("src", "dst", "proto"):
        p.add_argument(f"--{name}")
    p.add_argument("--sport", type=_int)
    p.add_argument("--dport", type=_int)
    p = fsub.add_parser("modify", help="change a flow's handling")
    _common(p, suppress=True)
    _flow_handling_flags(p, required=True)
    p.add_argument("--ack-every", type=_int)
    for name in ("buf-base", "buf-size", "start-seq"):
        p.add_argument(f"--{name}", type=_int)
    _ports_flags(p)
    p = fsub.add_parser("list", help="flows on the device with their counters")
    _common(p, suppress=True)

    esp = cmd("esp-flow", "(IPv4 destination, SPI) flow tuples")
    esub = esp.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = esub.add_parser("add", help="install an ESP flow")
    _common(p, suppress=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--spi", type=_int, required=True)
    _flow_handling_flags(p, required=True)
    _ports_flags(p)
    p = esub.add_parser("del", help="remove an ESP flow")
    _common(p, suppress=True)
    p.add_argument("--dst")
    p.add_argument("--spi", type=_int)
    p.add_argument("--flow-id", type=_int)

    sa = cmd("sa", "security associations (key memory and the SA database)")
    ssub = sa.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = ssub.add_parser("add", help="add an SA to the SA database (--install: key memory now)")
    _common(p, suppress=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--spi", type=_int, required=True)
    p.add_argument("--src")
    p.add_argument("--key-index", type=_int)
    p.add_argument("--key", help="key in hex")
    p.add_argument("--salt", help="salt/nonce in hex")
    p.add_argument("--cipher", choices=["aes-gcm-128", "aes-gcm-256", "chacha20-poly1305",
                                        "aes-cbc-hmac-sha256"])
    p.add_argument("--esn", action="store_true",
                   help="64-bit extended sequence numbers (RFC 4303 2.2.1)")
    p.add_argument("--install", action="store_true")
    p = ssub.add_parser("del", help="remove an SA (database and key memory)")
    _common(p, suppress=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--spi", type=_int, required=True)
    p = ssub.add_parser("list", help="SAs in the database and in key memory")
    _common(p, suppress=True)

    trig = cmd("trigger", "capture triggers")
    tsub = trig.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = tsub.add_parser("add", help="capture matching packets into stream --capture-id")
    _common(p, suppress=True)
    p.add_argument("--capture-id", type=_int, required=True)
    p.add_argument("--snaplen", type=_int)
    p.add_argument("--priority", type=_int)
    p.add_argument("--direction", choices=["rx", "tx"])
    p.add_argument("--in-port", type=_masked, help="PORT or VALUE/MASK")
    p.add_argument("--src", help="IPv4 address or prefix")
    p.add_argument("--dst", help="IPv4 address or prefix")
    p.add_argument("--proto", help="tcp, udp, number or VALUE/MASK")
    p.add_argument("--sport", type=_masked)
    p.add_argument("--dport", type=_masked)
    p.add_argument("--payload-head", help="first payload bytes in hex (prefix match)")
    p = tsub.add_parser("del", help="remove the triggers of a capture id")
    _common(p, suppress=True)
    p.add_argument("--capture-id", type=_int, required=True)
    p.add_argument("--priority", type=_int)
    p = tsub.add_parser("list", help="capture triggers on the device")
    _common(p, suppress=True)

    cmd("counters", "drop reasons and per-flow counters")
    cmd("status", "what the daemon is doing")
    p = cmd("clock", "probe the NIC clock and show its mapping to wall-clock time")
    p.add_argument("--probes", type=_int, default=1)

    p = cmd("capture", "capture agent: capture port -> pcapng")
    p.add_argument("--iface", required=True, help="interface of the capture port")
    p.add_argument("--out", required=True, help="pcapng file")
    p.add_argument("--rotate-bytes", type=_int, help="start a new file after N bytes")
    p.add_argument("--max-files", type=_int, help="keep only the newest N files")
    p.add_argument("--clock", help="clock state file (default STATE_DIR/clock.json)")
    p.add_argument("--count", type=_int, help="stop after N packets")
    p.add_argument("--duration", type=_positive, help="stop after S seconds")

    p = cmd("replay", "re-inject a pcapng capture into the receive path at its timing")
    p.add_argument("file")
    p.add_argument("--port", type=_int, help="wire port to inject as (default: as captured)")
    p.add_argument("--speed", type=_positive, default=1.0, help="time scale (2 = twice as fast)")
    p.add_argument("--include-tx", action="store_true", help="also replay outbound packets")
    p.add_argument("--no-pad", action="store_true",
                   help="send truncated frames as cut instead of padding to the original length")

    p = cmd("netprops", "network properties from NIC timestamps and the protocol they select")
    p.add_argument("--iface", required=True,
                   help="records port (timestamp records) or a consumer port (in_packet flows)")
    p.add_argument("--count", type=_int, default=100, help="frames to read (default 100)")
    p.add_argument("--timeout", type=_positive, default=10.0, help="seconds to wait for them")
    p.add_argument("--flow-id", type=_int, help="only this flow")
    p.add_argument("--rtt-ms", type=_positive, help="round-trip time, if known")
    p.add_argument("--real-time", action="store_true", help="the application is real-time")
    p.add_argument("--save", metavar="F.pcapng", help="also write the frames read (p4nic plot)")
    p.add_argument("--apply", metavar="PREFIX",
                   help="set the selected congestion control on the route to PREFIX")

    p = cmd("watch", "decode what the NIC delivers on a port (descriptors, records, captures)")
    p.add_argument("--iface", required=True, help="outside end of a NIC port, e.g. p4nic3")
    p.add_argument("--count", type=_int, help="stop after N frames")
    p.add_argument("--timeout", type=_positive, help="stop after S seconds without a frame")

    rtp = cmd("rtp-port", "UDP destination ports that carry RTP")
    rsub = rtp.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action in ("add", "del"):
        p = rsub.add_parser(action)
        _common(p, suppress=True)
        p.add_argument("port", type=_int)
    add_merge_commands(cmd, _common)
    add_crypto_engine_command(cmd, _common)
    add_plot_command(cmd, _common)
    add_reasm_commands(cmd, _common)
    _ports_flags(sub.choices["merge-recv"])
    return ap


# ---- requests --------------------------------------------------------------------------------
def _pick(ns: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {k: getattr(ns, k) for k in names if getattr(ns, k, None) is not None}


def _port_map(ns: argparse.Namespace, base: PortMap | None = None) -> PortMap:
    d = (base or PortMap()).to_dict()
    for flag, key in (("wire", "wire"), ("host_stack", "host_stack"), ("consumer", "consumer"),
                      ("placement", "placement"), ("records", "records"),
                      ("capture_port", "capture"), ("cpu_port", "cpu"),
                      ("crypto_port", "crypto"), ("loop_ports", "loop"), ("bare_ports", "bare")):
        if getattr(ns, flag, None) is not None:
            d[key] = getattr(ns, flag)
    return PortMap.from_dict(d)


def request_for(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The (op, args) a one-shot command sends."""
    c, a = ns.command, getattr(ns, "action", None)
    if c == "flow" and a == "add":
        return "flow.add", _pick(ns, "src", "dst", "proto", "sport", "dport", "flow_id", "state",
                                 "deliver_port", "ack_every", "ts_mode", "buf_base", "buf_size",
                                 "start_seq")
    if c == "flow" and a == "del":
        args = _pick(ns, "flow_id", "src", "dst", "proto", "sport", "dport")
        if "flow_id" not in args and len(args) != 5:
            raise CliError("flow del needs --flow-id or all of --src --dst --proto --sport --dport")
        return "flow.del", args
    if c == "flow" and a == "modify":
        changes = _pick(ns, "state", "deliver_port", "ts_mode", "ack_every", "buf_base",
                        "buf_size", "start_seq")
        if not changes:
            raise CliError("flow modify: give at least one thing to change")
        return "flow.modify", {"flow_id": ns.flow_id, "changes": changes}
    if c == "esp-flow" and a == "add":
        return "esp-flow.add", _pick(ns, "dst", "spi", "flow_id", "state", "deliver_port",
                                     "ts_mode")
    if c == "esp-flow" and a == "del":
        args = _pick(ns, "dst", "spi", "flow_id")
        if "flow_id" not in args and ("dst" not in args or "spi" not in args):
            raise CliError("esp-flow del needs --flow-id or --dst and --spi")
        return "esp-flow.del", args
    if c == "sa" and a == "add":
        args = _pick(ns, "dst", "spi", "src", "key_index", "key", "salt", "cipher")
        if ns.esn:
            args["esn"] = True
        args["install"] = ns.install
        return "sa.add", args
    if c == "sa":
        return f"sa.{a}", _pick(ns, "dst", "spi")
    if c == "trigger" and a == "add":
        args = _pick(ns, "capture_id", "snaplen", "priority", "direction", "in_port", "src",
                     "dst", "sport", "dport", "payload_head")
        if ns.proto is not None:
            args["proto"] = _masked(ns.proto) if ns.proto[:1].isdigit() else ns.proto
        return "trigger.add", args
    if c == "trigger":
        return f"trigger.{a}", _pick(ns, "capture_id", "priority")
    if c == "rtp-port":
        return f"rtp-port.{a}", {"port": ns.port}
    if c == "clock":
        return "clock", {"probes": ns.probes}
    if c == "replay":
        return "replay", {"path": os.path.abspath(ns.file), "port": ns.port, "speed": ns.speed,
                          "include_tx": ns.include_tx, "pad": not ns.no_pad}
    if c == "merge":
        return merge_request(ns)
    if c == "reasm":
        return reasm_request(ns)
    if c in ("counters", "status"):
        return c, {}
    if c == "flow" and a == "list":
        return "flow.list", {}
    raise CliError(f"unknown command {c} {a or ''}")


def run_request(ns: argparse.Namespace, op: str, args: dict[str, Any]) -> Any:
    """Through the daemon's socket; without a daemon, directly as primary."""
    from p4nic.service import check_request
    check_request(op, args)
    sock = ns.socket or os.path.join(ns.state_dir, "p4nic.sock")
    try:
        with ControlClient(sock) as client:
            return client.call(op, **args)
    except DaemonNotRunning:
        pass
    if op == "status":
        return {"daemon": False, "socket": sock}
    from p4nic.driver import NicDriver
    from p4nic.service import NicService
    drv = NicDriver(ns.grpc_addr, ns.device_id, ns.election_id)
    try:
        drv.connect(timeout=5.0)
        drv.use_device_pipeline()
        drv.ports = _port_map(ns)
        return NicService(drv, daemon=False).handle(op, args)
    finally:
        drv.close()


# ---- output ------------------------------------------------------------------------------------
def _print_result(ns: argparse.Namespace, op: str, result: Any) -> None:
    if ns.json_out:
        print(json.dumps(result, indent=1, sort_keys=True))
        return
    if op == "flow.list":
        if not result:
            print("no flows")
        for r in result:
            where = (f"{r['dst']} spi 0x{r['spi']:x}" if r["kind"] == "esp_flow" else
                     f"{r['src']}:{r['sport']} -> {r['dst']}:{r['dport']} proto {r['proto']}")
            print(f"flow {r['flow_id']:>4}  {where}  {r['state']} -> port {r['deliver_port']}  "
                  f"ts {r['ts_mode']}  ack/{r.get('ack_every', 0)}  "
                  f"{r['packets']} pkts {r['bytes']} bytes")
    elif op == "counters":
        print("drop reason          packets      bytes")
        for name, (pk, by) in result["drops"].items():
            print(f"{name:<18} {pk:>9} {by:>10}")
        for f in result["flows"]:
            print(f"flow {f['flow_id']:<13} {f['packets']:>9} {f['bytes']:>10}")
        for name, (pk, by) in result.get("ipsec", {}).items():
            print(f"ipsec {name:<12} {pk:>9} {by:>10}")
    elif op.startswith("reasm."):
        print_reasm(op, result)
    elif op == "clock":
        print(result["description"])
        lp = result["last_probe"]
        print(f"last probe: NIC {lp['nic_us']} us -> {lp['mapped_wall']:.6f} "
              f"(host saw {lp['wall']:.6f}, RTT {lp['rtt_us']} us)")
    else:
        print(json.dumps(result, indent=1, sort_keys=True))


# ---- start / capture ------------------------------------------------------------------------------
def start_config(ns: argparse.Namespace) -> StartConfig:
    cfg = load_config(ns.config) if ns.config else StartConfig()
    # flags given on the command line win over the file
    for name in ("grpc_addr", "device_id", "election_id", "state_dir"):
        if ns.config is None or name in ns.given:
            setattr(cfg, name, getattr(ns, name))
    if ns.socket:
        cfg.socket = ns.socket
    if ns.p4info:
        cfg.p4info = os.path.abspath(ns.p4info)
    if ns.p4_json:
        cfg.json = os.path.abspath(ns.p4_json)
    if ns.no_load:
        cfg.load_pipeline = False
    if ns.mac:
        cfg.nic_macs = ns.mac
    if ns.promiscuous:
        cfg.promiscuous = True
    if ns.clock_interval:
        cfg.clock_interval = ns.clock_interval
    if ns.crypto_iface:
        cfg.crypto_iface = ns.crypto_iface
    cfg.ports = _port_map(ns, cfg.ports)
    if ns.capture_iface or ns.capture_out:
        if not (ns.capture_iface and ns.capture_out):
            raise CliError("--capture-iface and --capture-out go together")
        cfg.capture = CaptureConfig(ns.capture_iface, ns.capture_out, ns.capture_rotate_bytes,
                                    ns.capture_max_files)
    apply_start_flags(ns, cfg)
    return cfg


def cmd_start(ns: argparse.Namespace) -> int:
    from p4nic.daemon import NicDaemon
    return NicDaemon(start_config(ns)).run()


def cmd_capture(ns: argparse.Namespace) -> int:
    if ns.rotate_bytes is not None and ns.rotate_bytes < 1024:
        raise CliError("--rotate-bytes must be at least 1024")
    clock_path = ns.clock or os.path.join(ns.state_dir, "clock.json")
    if ns.clock and not os.path.isfile(ns.clock):
        raise CliError(f"--clock {ns.clock}: no such file")
    if os.path.isfile(clock_path):
        load_mapping(clock_path)      # refuse a broken state file up front
    else:
        print(f"p4nic capture: no clock state at {clock_path}: writing raw NIC times "
              f"(start the daemon to map them to wall-clock time)", file=sys.stderr)
    agent = CaptureAgent(ns.iface, ns.out, FileClock(clock_path), rotate_bytes=ns.rotate_bytes,
                         max_files=ns.max_files)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        agent.start()
    except OSError as e:
        agent.writer.close()
        raise CliError(f"cannot read {ns.iface}: {e.strerror or e}") from None
    print(f"p4nic capture: {ns.iface} -> {agent.files[-1]}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + ns.duration if ns.duration else None
    prog = Progress("p4nic capture: written")
    while not stop.wait(0.1):
        prog(agent.stats.written, ns.count, f"({agent.stats.dropped} dropped)")
        if ns.count is not None and agent.stats.written >= ns.count:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
    prog.end()
    agent.stop()
    s = agent.stats
    print(f"p4nic capture: {s.written} written, {s.dropped} dropped (writer behind), "
          f"{s.kernel_drops} dropped by the kernel, {s.invalid} not capture records; "
          f"files: {', '.join(agent.files)}", file=sys.stderr)
    return 0


def _replay_seconds(args: dict[str, Any]) -> float:
    from p4nic.replay import load_frames
    try:
        frames = load_frames(str(args["path"]), bool(args.get("include_tx", False)))
    except (OSError, ValueError):
        return 0.0           # the request itself says what is wrong with the file
    return frames[-1].offset_us * 1e-6 / float(args.get("speed") or 1.0) if frames else 0.0


def cmd_netprops(ns: argparse.Namespace) -> int:
    from p4nic.netmon import arrivals_from_frames, assess, frames_in
    from p4nic.netprops import apply_congestion_control
    frames, prog = [], Progress("p4nic netprops: frames")
    for f in frames_in(ns.iface, ns.count, ns.timeout, on_ready=lambda: print(
            f"p4nic netprops: reading {ns.iface}", file=sys.stderr, flush=True)):
        frames.append(f)
        prog(len(frames), ns.count)
    prog.end()
    if ns.save:
        save_frames(ns.save, ns.iface, frames)
    flows = arrivals_from_frames(frames)
    if ns.flow_id is not None:
        flows = {k: v for k, v in flows.items() if k == ns.flow_id}
    flows = {k: v for k, v in flows.items() if len(v.arrivals_us) >= 2}
    if not flows:
        raise CliError(f"no flow with two or more timestamped arrivals on {ns.iface} "
                       f"within {ns.timeout} s")
    if ns.apply and len(flows) != 1:
        raise CliError("--apply needs exactly one flow (use --flow-id)")
    results = []
    for fid, f in sorted(flows.items()):
        props, sel = assess(f, ns.rtt_ms, True if ns.real_time else None)
        results.append({"flow_id": fid, **props.__dict__, "protocol": sel.protocol,
                        "why": sel.why})
        if ns.apply:
            results[-1]["route"] = " ".join(apply_congestion_control(ns.apply, sel.protocol,
                                                                     run=True))
    if ns.json_out:
        print(json.dumps(results, indent=1))
        return 0
    for r in results:
        print(f"flow {r['flow_id']}: {r['packets']} packets, mean dispersion "
              f"{r['mean_dispersion_us']:.1f} us, capacity {r['capacity_bps'] / 1e6:.1f} Mbit/s, "
              f"arrival rate {r['arrival_rate_bps'] / 1e6:.1f} Mbit/s, loss "
              f"{100 * r['loss_rate']:.2f} %, bursts mean {r['mean_burst']:.1f} max "
              f"{r['max_burst']}")
        print(f"  -> {r['protocol']}: {r['why']}" + (f" ({r['route']})" if "route" in r else ""))
    return 0


def cmd_watch(ns: argparse.Namespace) -> int:
    from p4nic.netmon import describe, frames_in
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # NIC times also as UTC when the daemon's clock state is there
    clock = FileClock(os.path.join(ns.state_dir, "clock.json"))
    try:
        for frame in frames_in(ns.iface, ns.count, ns.timeout, on_ready=lambda: print(
                f"p4nic watch: reading {ns.iface}", file=sys.stderr, flush=True)):
            print(describe(frame, clock()), flush=True)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    ns = ap.parse_args(argv)
    ns.given = resolve_common(ns)
    logging.basicConfig(level=getattr(logging, ns.log_level.upper()),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        if ns.command == "start":
            return cmd_start(ns)
        if ns.command == "capture":
            return cmd_capture(ns)
        if ns.command == "netprops":
            return cmd_netprops(ns)
        if ns.command == "watch":
            return cmd_watch(ns)
        if ns.command == "crypto-engine":
            return cmd_crypto_engine(ns)
        if ns.command == "plot":
            return cmd_plot(ns)
        if ns.command == "merge-send":
            return cmd_merge_send(ns)
        if ns.command == "merge-recv":
            return cmd_merge_recv(ns, _port_map(ns))
        op, args = request_for(ns)
        if op == "replay":     # the daemon replays; a TTY sees the time it takes
            _print_result(ns, op, timed("p4nic replay", _replay_seconds(args),
                                        lambda: run_request(ns, op, args)))
            return 0
        _print_result(ns, op, run_request(ns, op, args))
        return 0
    except BrokenPipeError:
        # output piped into e.g. head, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CliError, NicConfigError, P4InfoError, ControlError, P4RuntimeError,
            ValueError, LookupError, RuntimeError, OSError) as e:
        print(f"p4nic: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
