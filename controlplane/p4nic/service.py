"""The requests ``p4nic`` commands make, carried out on a NicDriver.

The same :class:`NicService` runs inside ``p4nic start`` (requests arrive on
the control socket) and in a one-shot command when no daemon runs (the
command connects as primary itself). Requests are ``(op, args)`` with
JSON-able args; results are JSON-able; anything refused raises with the
reason.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from p4nic import p4names as n
from p4nic.capture import CaptureAgent
from p4nic.driver import NicDriver
from p4nic.entries import flow_handle
from p4nic.merge_service import check_merge_request, merge_ops
from p4nic.model import (
    CaptureTrigger,
    EspFlow,
    Flow,
    Handle,
    NicConfigError,
    SecurityAssociation,
    parse_proto,
)
from p4nic.reasm_service import check_reasm_request, reasm_ops
from p4nic.replay import load_frames, replay


def _require(args: dict[str, Any], *names: str) -> None:
    missing = [x for x in names if args.get(x) is None]
    if missing:
        raise NicConfigError(f"missing {', '.join(missing)}")


def check_request(op: str, args: dict[str, Any]) -> None:
    """Refuse a malformed request before anything talks to a device."""
    if op == "flow.add":
        Flow.from_dict(args)
    elif op == "esp-flow.add":
        EspFlow.from_dict(args)
    elif op == "sa.add":
        SecurityAssociation.from_dict({k: v for k, v in args.items() if k != "install"})
    elif op == "trigger.add":
        CaptureTrigger.from_dict(args)
    elif op == "flow.modify":
        known = set(Flow.__dataclass_fields__)
        unknown = set(args.get("changes") or {}) - known
        if unknown:
            raise NicConfigError(f"flow has no field(s) {', '.join(sorted(unknown))}")
    elif op.startswith("merge."):
        check_merge_request(op, args)
    elif op.startswith("reasm."):
        check_reasm_request(op, args)
    elif op.startswith("rtp-port."):
        port = args.get("port")
        if not isinstance(port, int) or not 0 <= port <= 0xFFFF:
            raise NicConfigError(f"UDP port {port!r} outside 0..65535")


class NicService:
    """Request handlers; ``daemon`` says whether the process outlives the request."""

    def __init__(self, driver: NicDriver, capture: CaptureAgent | None = None,
                 daemon: bool = True):
        self.driver = driver
        self.capture = capture
        self.daemon = daemon
        self.started = time.time()
        self._ops: dict[str, Callable[[dict[str, Any]], Any]] = {
            "status": self.status,
            "flow.add": self.flow_add,
            "flow.del": self.flow_del,
            "flow.modify": self.flow_modify,
            "flow.list": self.flow_list,
            "esp-flow.add": self.esp_flow_add,
            "esp-flow.del": self.esp_flow_del,
            "sa.add": self.sa_add,
            "sa.del": self.sa_del,
            "sa.list": self.sa_list,
            "trigger.add": self.trigger_add,
            "trigger.del": self.trigger_del,
            "trigger.list": self.trigger_list,
            "counters": self.counters,
            "clock": self.clock,
            "replay": self.replay,
            "rtp-port.add": self.rtp_port_add,
            "rtp-port.del": self.rtp_port_del,
        }
        self._ops.update(merge_ops(driver, daemon))
        self._ops.update(reasm_ops(driver, daemon))

    @property
    def ops(self) -> list[str]:
        return sorted(self._ops)

    def handle(self, op: str, args: dict[str, Any]) -> Any:
        fn = self._ops.get(op)
        if fn is None:
            raise NicConfigError(f"unknown request '{op}' (known: {', '.join(self.ops)})")
        return fn(dict(args))

    # ---- status ------------------------------------------------------------------------
    def status(self, args: dict[str, Any]) -> dict[str, Any]:
        drv = self.driver
        out: dict[str, Any] = {
            "daemon": self.daemon, "pid": os.getpid(), "primary": drv.is_primary,
            "grpc_addr": drv.client.addr, "device_id": drv.client.device_id,
            "ports": drv.ports.to_dict() if drv.ports else None,
            "installed": {kind: len(drv.entries(kind))
                          for kind in ("flow", "esp_flow", "sa", "trigger", "rtp_port",
                                       "reasm_policy")},
            "sa_database": len(drv.sa_database),
            "key_requests": {"answered": drv.key_requests_answered,
                             "unanswered": drv.key_requests_unanswered},
            "clock": drv.clock.mapping.to_json() if drv.clock.calibrated else None,
        }
        if self.capture is not None:
            self.capture.kernel_drops()
            out["capture"] = {"iface": self.capture.iface, "files": self.capture.files,
                              **self.capture.stats.to_dict()}
        return out

    # ---- flows ----------------------------------------------------------------------------
    def flow_add(self, args: dict[str, Any]) -> dict[str, Any]:
        flow = Flow.from_dict(args)
        h = self.driver.add_flow(flow)
        return {"flow_id": flow.flow_id, "handle": h.to_dict()}

    def _flow_handle(self, args: dict[str, Any]) -> Handle:
        if args.get("flow_id") is not None:
            return self.driver.find_flow(int(args["flow_id"]))
        _require(args, "src", "dst", "proto", "sport", "dport")
        key = Flow(src=args["src"], dst=args["dst"], proto=parse_proto(args["proto"]),
                   sport=int(args["sport"]), dport=int(args["dport"]), flow_id=0,
                   state="IDLE")
        return Handle("flow", n.FLOW_V4 if key.ip_version == 4 else n.FLOW_V6, key.key())

    def flow_del(self, args: dict[str, Any]) -> dict[str, Any]:
        h = self._flow_handle(args)
        self.driver.remove_flow(h)
        return {"removed": h.to_dict()}

    def flow_modify(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "flow_id")
        changes = dict(args.get("changes") or {})
        if not changes:
            raise NicConfigError("nothing to change")
        self.driver.adopt_flows()
        h = self.driver.find_flow(int(args["flow_id"]))
        new = self.driver.modify_flow(h, **changes)
        return {"flow": self.driver.flow(new).to_dict()}

    def flow_list(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return self.driver.list_flows(counters=True)

    def esp_flow_add(self, args: dict[str, Any]) -> dict[str, Any]:
        f = EspFlow.from_dict(args)
        h = self.driver.add_esp_flow(f)
        return {"flow_id": f.flow_id, "handle": h.to_dict()}

    def esp_flow_del(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("flow_id") is not None:
            h = self.driver.find_flow(int(args["flow_id"]))
        else:
            _require(args, "dst", "spi")
            h = flow_handle(EspFlow(dst=args["dst"], spi=int(args["spi"]), flow_id=0))
        if h.kind != "esp_flow":
            raise NicConfigError(f"flow {args.get('flow_id')} is not an ESP flow")
        self.driver.remove_flow(h)
        return {"removed": h.to_dict()}

    # ---- key memory ------------------------------------------------------------------------------
    def sa_add(self, args: dict[str, Any]) -> dict[str, Any]:
        install = bool(args.pop("install", False))
        sa = SecurityAssociation.from_dict(args)
        if not self.daemon and not install:
            raise NicConfigError("no p4nic daemon runs to answer key requests from its SA "
                                 "database: start one (p4nic start) or use --install to put "
                                 "the SA into key memory now")
        self.driver.sa_database.add(sa)
        result: dict[str, Any] = {"sa": sa.to_dict(), "installed": False}
        if install:
            h = self.driver.add_sa(sa)
            result["installed"] = True
            result["key_index"] = dict(self.driver.entries("sa"))[h].key_index
        return result

    def sa_del(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "dst", "spi")
        dst, spi = str(args["dst"]), int(args["spi"])
        in_db = self.driver.sa_database.get(dst, spi) is not None
        if in_db:
            self.driver.sa_database.remove(dst, spi)
        installed = any(r["dst"] == dst and r["spi"] == spi for r in self.driver.list_sas())
        if installed:
            self.driver.remove_sa((dst, spi))
        if not in_db and not installed:
            raise NicConfigError(f"no SA for SPI 0x{spi:x} to {dst}")
        return {"removed_from_database": in_db, "removed_from_key_memory": installed}

    def sa_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"database": [sa.to_dict() for sa in self.driver.sa_database.all()],
                "key_memory": self.driver.list_sas()}

    # ---- capture triggers -------------------------------------------------------------------------
    def trigger_add(self, args: dict[str, Any]) -> dict[str, Any]:
        t = CaptureTrigger.from_dict(args)
        self.driver.add_capture_trigger(t)
        return {"trigger": t.to_dict()}

    def trigger_del(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "capture_id")
        cid = int(args["capture_id"])
        prio = args.get("priority")
        removed = 0
        for h, info in self.driver.list_capture_triggers():
            if info["capture_id"] == cid and (prio is None or info["priority"] == int(prio)):
                self.driver.remove_capture_trigger(h)
                removed += 1
        if not removed:
            raise NicConfigError(f"no capture trigger with capture id {cid}"
                                 + (f" and priority {prio}" if prio is not None else ""))
        return {"removed": removed}

    def trigger_list(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return [info for _, info in self.driver.list_capture_triggers()]

    def rtp_port_add(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "port")
        self.driver.add_rtp_port(int(args["port"]))
        return {"port": int(args["port"])}

    def rtp_port_del(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "port")
        self.driver.remove_rtp_port(int(args["port"]))
        return {"port": int(args["port"])}

    # ---- counters, clock, replay ---------------------------------------------------------------------
    def counters(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"drops": self.driver.drop_counters(),
                "ipsec": self.driver.ipsec_counters(),
                "flows": [{k: r[k] for k in ("kind", "flow_id", "packets", "bytes")}
                          for r in self.driver.list_flows(counters=True)]}

    def clock(self, args: dict[str, Any]) -> dict[str, Any]:
        probes = int(args.get("probes", 1))
        if probes < 1:
            raise NicConfigError("probes must be at least 1")
        for _ in range(probes):
            sample = self.driver.clock.probe()
        mapping = self.driver.clock.refit()
        return {"mapping": mapping.to_json(), "description": mapping.describe(),
                "last_probe": {"nic_us": sample.nic_us, "rtt_us": round(sample.rtt_us, 1),
                               "wall": sample.wall_mid_us * 1e-6,
                               "mapped_wall": mapping.to_wall(sample.nic_us)}}

    def replay(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "path")
        path = str(args["path"])
        if not os.path.isfile(path):
            raise NicConfigError(f"{path}: no such file")
        frames = load_frames(path, include_tx=bool(args.get("include_tx", False)),
                             pad=bool(args.get("pad", True)))
        port = args.get("port")
        if port is not None:
            port = int(port)
            wire = self.driver.ports.wire if self.driver.ports else ()
            if wire and port not in wire:
                raise NicConfigError(f"port {port} is not a wire port {list(wire)}: replay "
                                     f"injects into the receive path")
        sent = replay(frames, self.driver.inject_rx, port, float(args.get("speed", 1.0)))
        return {"sent": sent,
                "duration_us": frames[-1].offset_us if frames else 0}
