"""Configuration of ``p4nic start``: a JSON or TOML file, overridden by flags.

Example (TOML; the JSON form has the same keys)::

    grpc_addr = "127.0.0.1:9559"
    p4info = "out/p4nic.p4info.txtpb"
    json = "out/p4nic.json"
    nic_macs = ["02:00:00:00:00:01"]
    rtp_ports = [5004]

    [ports]
    wire = [0, 1]
    host_stack = 2
    consumer = 3
    placement = 4
    records = 5
    capture = 6

    [[flows]]
    src = "10.0.0.1"
    dst = "10.0.0.2"
    proto = "tcp"
    sport = 1234
    dport = 80
    flow_id = 7
    ts_mode = "in_packet"

    [[sas]]            # the SA database; install = true puts it in key memory now
    dst = "10.0.0.2"
    spi = 0x1001
    key = "00112233445566778899aabbccddeeff"

    [[triggers]]
    capture_id = 1
    snaplen = 128
    dport = 80

    [capture]          # run the capture agent inside the daemon
    iface = "p4nic6"
    out = "/tmp/p4nic.pcapng"
    rotate_bytes = 10000000

    [reassembly]       # IP fragment reassembly in the NIC; needs ports.loop = [OUT, IN]
    protocols = ["udp", "icmp"]     # names, numbers or "all" (the default)
    timeout_ms = 5000
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from p4nic.model import (
    CaptureTrigger,
    EspFlow,
    Flow,
    NicConfigError,
    PortMap,
    SecurityAssociation,
)
from p4nic.reasm import DEFAULT_TIMEOUT_MS, PROTOCOLS, ReassemblyPolicy, parse_protocol

try:
    import tomllib
except ImportError:   # Python 3.10: JSON configurations only
    tomllib = None  # type: ignore[assignment]

DEFAULT_STATE_DIR = os.environ.get("P4NIC_STATE_DIR", "/run/p4nic")


@dataclass
class CaptureConfig:
    iface: str
    out: str
    rotate_bytes: int | None = None
    max_files: int | None = None


@dataclass
class ReassemblyConfig:
    """Reassemble the fragments of ``protocols`` (IP protocol numbers; None: every
    protocol) in the NIC, ``timeout_ms`` per datagram (p4nic.reasm)."""
    protocols: list[int | None] = field(default_factory=lambda: [None])
    timeout_ms: float = DEFAULT_TIMEOUT_MS

    def __post_init__(self) -> None:
        if isinstance(self.protocols, (str, int)):
            self.protocols = [self.protocols]
        try:
            self.timeout_ms = float(self.timeout_ms)
        except (TypeError, ValueError):
            raise NicConfigError(f"reassembly: timeout_ms {self.timeout_ms!r} is not a "
                                 f"number") from None
        protos: list[int | None] = []
        for p in self.protocols:
            for part in ([x for x in p.split(",") if x.strip()] if isinstance(p, str) else [p]):
                proto = None if part is None else parse_protocol(part)
                ReassemblyPolicy(proto, self.timeout_ms)      # refuses what the NIC cannot take
                if proto not in protos:
                    protos.append(proto)
        if not protos:
            raise NicConfigError("reassembly: give at least one protocol (or 'all')")
        self.protocols = protos

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReassemblyConfig:
        if not isinstance(d, dict):
            raise NicConfigError("'reassembly' must be a table/object (protocols, timeout_ms)")
        unknown = set(d) - {"protocols", "timeout_ms"}
        if unknown:
            raise NicConfigError(f"reassembly: unknown key(s) {', '.join(sorted(unknown))} "
                                 f"(protocols, timeout_ms)")
        return cls(d.get("protocols", ["all"]), d.get("timeout_ms", DEFAULT_TIMEOUT_MS))

    def to_dict(self) -> dict[str, Any]:
        return {"protocols": [protocol_name(p) for p in self.protocols],
                "timeout_ms": self.timeout_ms}


def protocol_name(proto: int | None) -> str | int:
    """17 -> 'udp', None -> 'all', 99 -> 99."""
    if proto is None:
        return "all"
    return next((k for k, v in PROTOCOLS.items() if v == proto), proto)


@dataclass
class StartConfig:
    grpc_addr: str = "127.0.0.1:9559"
    device_id: int = 0
    election_id: int = 1
    p4info: str | None = None
    json: str | None = None
    load_pipeline: bool = True
    ports: PortMap = field(default_factory=PortMap)
    nic_macs: list[str] = field(default_factory=list)
    promiscuous: bool = False
    flows: list[Flow] = field(default_factory=list)
    esp_flows: list[EspFlow] = field(default_factory=list)
    sas: list[tuple[SecurityAssociation, bool]] = field(default_factory=list)
    triggers: list[CaptureTrigger] = field(default_factory=list)
    rtp_ports: list[int] = field(default_factory=list)
    capture: CaptureConfig | None = None
    reassembly: ReassemblyConfig | None = None
    crypto_iface: str | None = None    # start `p4nic crypto-engine` on it (ports.crypto's outside)
    clock_interval: float = 5.0
    state_dir: str = DEFAULT_STATE_DIR
    socket: str | None = None

    @property
    def socket_path(self) -> str:
        return self.socket or os.path.join(self.state_dir, "p4nic.sock")

    @property
    def clock_path(self) -> str:
        return os.path.join(self.state_dir, "clock.json")

    @property
    def pid_path(self) -> str:
        return os.path.join(self.state_dir, "p4nic.pid")

    def validate(self) -> None:
        if self.load_pipeline and not (self.p4info and self.json):
            raise NicConfigError("loading the pipeline needs p4info and json (or use the "
                                 "pipeline already on the device: --no-load)")
        for path in (self.p4info, self.json) if self.load_pipeline else ():
            if not os.path.isfile(path):
                raise NicConfigError(f"{path}: no such file (run `make build`?)")
        if not self.nic_macs and not self.promiscuous:
            raise NicConfigError("give the NIC's MAC address(es) (--mac) or --promiscuous")
        if self.clock_interval <= 0:
            raise NicConfigError("clock_interval must be positive")
        if self.crypto_iface and self.ports.crypto is None:
            raise NicConfigError("crypto_iface given but the port map has no crypto port "
                                 "(--crypto-port / ports.crypto)")
        if self.reassembly is not None and self.ports.loop is None:
            raise NicConfigError("fragment reassembly needs the loopback port pair: "
                                 "--loop-ports OUT,IN (ports.loop = [OUT, IN])")


_KNOWN = {"grpc_addr", "device_id", "election_id", "p4info", "json", "load_pipeline", "ports",
          "nic_macs", "promiscuous", "flows", "esp_flows", "sas", "triggers", "rtp_ports",
          "capture", "crypto_iface", "clock_interval", "state_dir", "socket", "reassembly"}


def _list(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise NicConfigError(f"'{key}' must be a list of tables/objects")
    return items


def config_from_dict(data: dict[str, Any], base_dir: str = ".") -> StartConfig:
    """A StartConfig from parsed JSON/TOML; relative paths are taken from ``base_dir``."""
    unknown = set(data) - _KNOWN
    if unknown:
        raise NicConfigError(f"unknown configuration key(s): {', '.join(sorted(unknown))}")
    cfg = StartConfig()
    for key in ("grpc_addr", "device_id", "election_id", "load_pipeline", "nic_macs",
                "promiscuous", "rtp_ports", "clock_interval", "state_dir", "socket",
                "crypto_iface"):
        if key in data:
            setattr(cfg, key, data[key])
    for key in ("p4info", "json"):
        if data.get(key):
            setattr(cfg, key, os.path.normpath(os.path.join(base_dir, data[key])))
    if "ports" in data:
        cfg.ports = PortMap.from_dict(data["ports"])
    cfg.flows = [Flow.from_dict(f) for f in _list(data, "flows")]
    cfg.esp_flows = [EspFlow.from_dict(f) for f in _list(data, "esp_flows")]
    for s in _list(data, "sas"):
        s = dict(s)
        install = bool(s.pop("install", False))
        cfg.sas.append((SecurityAssociation.from_dict(s), install))
    cfg.triggers = [CaptureTrigger.from_dict(t) for t in _list(data, "triggers")]
    if data.get("capture"):
        c = data["capture"]
        try:
            cfg.capture = CaptureConfig(**c)
        except TypeError as e:
            raise NicConfigError(f"capture: {e}") from None
    if data.get("reassembly") is not None:
        cfg.reassembly = ReassemblyConfig.from_dict(data["reassembly"])
    return cfg


def load_config(path: str) -> StartConfig:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise NicConfigError(f"{path}: {e.strerror}") from None
    try:
        if path.endswith(".toml"):
            if tomllib is None:
                raise NicConfigError(f"{path}: TOML needs Python 3.11; use JSON")
            data = tomllib.loads(raw.decode())
        else:
            data = json.loads(raw)
    except ValueError as e:   # json and tomllib decode errors are ValueErrors
        raise NicConfigError(f"{path}: {e}") from None
    if not isinstance(data, dict):
        raise NicConfigError(f"{path}: the configuration is an object/table at the top")
    return config_from_dict(data, os.path.dirname(os.path.abspath(path)))
