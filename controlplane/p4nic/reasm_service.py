"""Control-socket requests of IP fragment reassembly (``p4nic reasm ...``).

Registered into :class:`p4nic.service.NicService`; every request is checked
(``check_reasm_request``) before anything talks to the device. A one-shot
command (no daemon) first adopts the policies on the device, so it keeps their
epochs and never inserts one twice, and takes the loopback pair from the
device's ``port_config`` (ROLE_LOOP) when its port map has none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from p4nic import p4names as n
from p4nic.config import ReassemblyConfig, protocol_name
from p4nic.driver import NicDriver
from p4nic.model import NicConfigError
from p4nic.reasm import (
    DEFAULT_TIMEOUT_MS,
    ReassemblyPolicy,
    disable_reassembly,
    enable_reassembly,
    flush_reassembly,
    reassembly_counters,
)
from p4nic.reconcile import device_reasm_policies


def _protocols(args: dict[str, Any], required: bool) -> list[int | None] | None:
    protos = args.get("protocols")
    if protos is None or protos == []:
        if required:
            raise NicConfigError("reasm enable needs the protocols (udp, icmp, ..., a number, "
                                 "or all)")
        return None
    if not isinstance(protos, (list, str, int)):
        raise NicConfigError(f"protocols must be a list, not {protos!r}")
    return ReassemblyConfig(protos).protocols


def _timeout(args: dict[str, Any]) -> float:
    t = args.get("timeout_ms")
    if t is None:
        return DEFAULT_TIMEOUT_MS
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise NicConfigError(f"timeout_ms must be a number, not {t!r}")
    ReassemblyPolicy(None, float(t))          # refuses a timeout the NIC cannot hold
    return float(t)


def check_reasm_request(op: str, args: dict[str, Any]) -> None:
    """Refuse a malformed reassembly request with the reason."""
    if op == "reasm.enable":
        _protocols(args, required=True)
        _timeout(args)
    elif op == "reasm.disable":
        _protocols(args, required=False)


def policy_dict(pol: ReassemblyPolicy) -> dict[str, Any]:
    return {"protocol": protocol_name(pol.protocol), "timeout_ms": pol.timeout_ms,
            "epoch": pol.epoch}


def device_loop_ports(drv: NicDriver) -> tuple[int, int] | None:
    """The loopback pair ``setup()`` wrote into port_config (ROLE_LOOP), out port first
    (the one the device's policies send emit passes out of), or None."""
    schema = drv._schema()
    ports = []
    for te in drv._read_table(n.PORT_CONFIG):
        _, p = schema.decode_action(te)
        if p.get("role") == n.ROLE_LOOP:
            ports.append(schema.decode_match(te)[n.MF_IN_PORT])
    if len(ports) != 2:
        return None
    outs = {lp for _, _, lp in device_reasm_policies(drv)}
    a, b = sorted(ports)
    return (b, a) if b in outs and a not in outs else (a, b)


def reasm_ops(driver: NicDriver, daemon: bool) -> dict[str, Callable[[dict[str, Any]], Any]]:
    """op name -> handler."""
    adopted = False

    def drv() -> NicDriver:
        nonlocal adopted
        if not daemon and not adopted:
            with driver._lock:
                for h, pol, _ in device_reasm_policies(driver):
                    driver._entries.setdefault(h, pol)
            if driver.ports is not None and driver.ports.loop is None:
                loop = device_loop_ports(driver)
                if loop is not None:
                    driver.ports = dataclasses.replace(driver.ports, loop=loop)
            adopted = True
        return driver

    def policies() -> list[dict[str, Any]]:
        return [policy_dict(p) for _, p in drv().entries("reasm_policy")]

    def enable(a: dict[str, Any]) -> dict[str, Any]:
        d = drv()
        handles = enable_reassembly(d, _protocols(a, required=True), _timeout(a))
        held = dict(d.entries("reasm_policy"))
        return {"enabled": [policy_dict(held[h]) for h in handles], "policies": policies()}

    def disable(a: dict[str, Any]) -> dict[str, Any]:
        d = drv()
        protos = _protocols(a, required=False)
        if protos is None:
            return {"removed": disable_reassembly(d), "policies": []}
        removed = 0
        for proto in protos:
            h = ReassemblyPolicy(proto).handle()
            if h not in dict(d.entries("reasm_policy")):
                raise NicConfigError(f"no reassembly policy for {protocol_name(proto)}")
            d._remove(h)
            removed += 1
        return {"removed": removed, "policies": policies()}

    def flush(a: dict[str, Any]) -> dict[str, Any]:
        d = drv()
        if not d.entries("reasm_policy"):
            raise NicConfigError("no reassembly policy is installed: nothing to flush "
                                 "(p4nic reasm enable ...)")
        return {"epoch": flush_reassembly(d), "policies": policies()}

    def counters(a: dict[str, Any]) -> dict[str, Any]:
        d = drv()
        return {"events": {k: list(v) for k, v in reassembly_counters(d).items()},
                "policies": policies(),
                "loop": list(d.ports.loop) if d.ports is not None and d.ports.loop else None}

    return {"reasm.enable": enable, "reasm.disable": disable, "reasm.flush": flush,
            "reasm.counters": counters}
