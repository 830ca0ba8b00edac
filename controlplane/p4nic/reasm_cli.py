"""``p4nic reasm enable|disable|flush|counters`` and the reassembly flags of
``p4nic start`` (``--loop-ports OUT,IN`` in the port map flags, ``--reassemble``,
``--reasm-timeout-ms``): the command line of IP fragment reassembly in the NIC
(p4nic.reasm). The requests go through the daemon's control socket
(p4nic.reasm_service). Wired into p4nic.cli."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from p4nic.config import ReassemblyConfig, StartConfig, protocol_name
from p4nic.model import NicConfigError
from p4nic.reasm import DEFAULT_TIMEOUT_MS, PROTOCOLS, ReassemblyPolicy, parse_protocol

PROTO_HELP = f"{', '.join(PROTOCOLS)}, an IP protocol number, or all; comma-separated"


# ---- argument types ------------------------------------------------------------------------
def loop_ports(text: str) -> list[int]:
    """OUT,IN: the two ends of the loopback veth pair, both switch ports."""
    try:
        ports = [int(p, 0) for p in text.split(",")]
    except ValueError:
        ports = []
    if len(ports) != 2:
        raise argparse.ArgumentTypeError(f"'{text}': expected two ports OUT,IN like 8,9")
    if ports[0] == ports[1]:
        raise argparse.ArgumentTypeError(f"'{text}': the two ends are two different ports")
    return ports


def protocol_list(text: str) -> list[int | None]:
    """udp,icmp / 17 / all -> IP protocol numbers (None: every protocol)."""
    out: list[int | None] = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            proto = parse_protocol(part)
            ReassemblyPolicy(proto)          # 0..255
        except NicConfigError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        if proto not in out:
            out.append(proto)
    if not out:
        raise argparse.ArgumentTypeError(f"'{text}': at least one protocol ({PROTO_HELP})")
    return out


def timeout_ms(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    try:
        ReassemblyPolicy(None, v)
    except NicConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return v


# ---- p4nic start ----------------------------------------------------------------------------
def add_start_flags(p: argparse.ArgumentParser) -> None:
    """--reassemble and --reasm-timeout-ms of ``p4nic start`` (--loop-ports is a port
    map flag)."""
    g = p.add_argument_group("fragment reassembly (needs --loop-ports OUT,IN)")
    g.add_argument("--reassemble", type=protocol_list, metavar="PROTO[,PROTO]",
                   help=f"reassemble fragments of these protocols in the NIC ({PROTO_HELP})")
    g.add_argument("--reasm-timeout-ms", type=timeout_ms, metavar="MS",
                   help=f"drop a datagram not complete within MS (default "
                        f"{DEFAULT_TIMEOUT_MS:.0f})")


def apply_start_flags(ns: argparse.Namespace, cfg: StartConfig) -> None:
    """The flags over the configuration file's ``reassembly`` section."""
    if ns.reassemble is not None:
        timeout = ns.reasm_timeout_ms or (cfg.reassembly.timeout_ms if cfg.reassembly
                                          else DEFAULT_TIMEOUT_MS)
        cfg.reassembly = ReassemblyConfig(list(ns.reassemble), timeout)
    elif ns.reasm_timeout_ms is not None:
        if cfg.reassembly is None:
            raise NicConfigError("--reasm-timeout-ms without --reassemble PROTO[,PROTO] (or a "
                                 "reassembly section in the configuration)")
        cfg.reassembly = ReassemblyConfig(cfg.reassembly.protocols, ns.reasm_timeout_ms)


# ---- p4nic reasm ... ------------------------------------------------------------------------
def add_reasm_commands(cmd: Callable[[str, str], argparse.ArgumentParser],
                       common: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    r = cmd("reasm", "IP fragment reassembly in the NIC: policies, flush, counters")
    rsub = r.add_subparsers(dest="action", metavar="ACTION", required=True)

    def sub(name: str, help_text: str) -> argparse.ArgumentParser:
        p = rsub.add_parser(name, help=help_text, description=help_text)
        common(p, True)
        return p

    p = sub("enable", "reassemble fragments of these protocols (replaces their policies; "
                      "partial datagrams held so far are dropped)")
    p.add_argument("protocols", type=protocol_list, metavar="PROTO[,PROTO]", help=PROTO_HELP)
    p.add_argument("--timeout-ms", type=timeout_ms, metavar="MS",
                   help=f"drop a datagram not complete within MS (default "
                        f"{DEFAULT_TIMEOUT_MS:.0f})")
    p = sub("disable", "stop reassembling (these protocols' policies; none given: all)")
    p.add_argument("protocols", type=protocol_list, nargs="?", metavar="PROTO[,PROTO]",
                   help=PROTO_HELP)
    sub("flush", "drop every partial datagram the NIC holds (a new policy epoch)")
    sub("counters", "the policies and every reasm_events counter")


def reasm_request(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    a = ns.action
    if a == "enable":
        args: dict[str, Any] = {"protocols": [protocol_name(p) for p in ns.protocols]}
        if ns.timeout_ms is not None:
            args["timeout_ms"] = ns.timeout_ms
        return "reasm.enable", args
    if a == "disable":
        return "reasm.disable", ({"protocols": [protocol_name(p) for p in ns.protocols]}
                                 if ns.protocols else {})
    return f"reasm.{a}", {}


# ---- output ---------------------------------------------------------------------------------
def _policies(policies: list[dict[str, Any]]) -> str:
    if not policies:
        return "off (no policy)"
    return ", ".join(f"{p['protocol']} (timeout {p['timeout_ms']:g} ms, epoch {p['epoch']})"
                     for p in policies)


def print_reasm(op: str, result: dict[str, Any]) -> None:
    """Text output of a reasm.* request."""
    if op == "reasm.enable":
        print(f"reassembly: {_policies(result['policies'])}")
    elif op == "reasm.disable":
        print(f"removed {result['removed']} polic{'y' if result['removed'] == 1 else 'ies'}; "
              f"reassembly: {_policies(result['policies'])}")
    elif op == "reasm.flush":
        print(f"partial datagrams dropped (epoch {result['epoch']}); "
              f"reassembly: {_policies(result['policies'])}")
    else:
        loop = result.get("loop")
        print(f"reassembly: {_policies(result['policies'])}"
              + (f"; loopback {loop[0]} -> {loop[1]}" if loop else "; no loopback pair"))
        print("event              packets      bytes")
        for name, (pk, by) in result["events"].items():
            print(f"{name:<14} {pk:>11} {by:>10}")
