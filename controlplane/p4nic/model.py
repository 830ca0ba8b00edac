"""What the driver programs into the NIC: ports, flows, SAs, capture triggers.

Plain dataclasses with validation that says what is wrong and why, so a bad
request is refused before anything reaches the device. They also convert
to and from JSON-able dicts (CLI, control socket, configuration files).
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from p4nic import p4names as n


class NicConfigError(ValueError):
    """A request the NIC cannot carry out as given; the message says why."""


PROTO_NAMES = {"icmp": n.IP_PROTO_ICMP, "tcp": n.IP_PROTO_TCP, "udp": n.IP_PROTO_UDP,
               "esp": n.IP_PROTO_ESP, "icmpv6": n.IP_PROTO_ICMPV6}


def parse_proto(value: int | str) -> int:
    if isinstance(value, str):
        key = value.strip().lower()
        if key in PROTO_NAMES:
            return PROTO_NAMES[key]
        try:
            value = int(key, 0)
        except ValueError:
            raise NicConfigError(f"unknown protocol '{value}' (use a number or one of "
                                 f"{', '.join(PROTO_NAMES)})") from None
    if not isinstance(value, int) or not 0 <= value <= 255:
        raise NicConfigError(f"protocol {value!r} is not 0..255")
    return value


def _check_range(what: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NicConfigError(f"{what} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise NicConfigError(f"{what}={value} is outside {low}..{high}")
    return value


def _ip(what: str, text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        raise NicConfigError(f"{what} '{text}' is not an IP address") from None


def _from_dict(cls: type, data: dict[str, Any], what: str) -> Any:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise NicConfigError(f"{what}: unknown field(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(sorted(names))})")
    try:
        return cls(**data)
    except TypeError as e:
        raise NicConfigError(f"{what}: {e}") from None


@dataclass(frozen=True)
class PortMap:
    """Switch port numbers of the NIC's roles (README "The NIC" has the picture).

    wire: network ports (receive path); host_stack: the host stack's queue
    (misses, IDLE flows, connection control, ESP without key); consumer: the
    default queue of MONITOR flows; placement: placement records (ZERO_COPY);
    records: separate timestamp records; capture: the capture stream;
    crypto: the lookaside crypto engine's port (seed 004), None without one
    (SAs are then only marked with their key index, never decrypted).
    loop: two ports looped back to each other (a veth pair, both ends on the
    switch): fragment reassembly builds datagrams through them; None without
    (the NIC then does not reassemble).
    bare: delivery ports whose receiver is a kernel stack: frames leave them
    without the rx descriptor (decrypted plaintext, marked ESP, timestamps).
    priority_queues: the strict-priority egress queues the switch runs with
    (simple_switch --priority-queues N; 1 for simple_switch_grpc). Regular
    traffic leaves at the highest of them, capture copies at 0.
    """
    wire: tuple[int, ...] = (0, 1)
    host_stack: int = 2
    consumer: int = 3
    placement: int = 4
    records: int = 5
    capture: int = 6
    crypto: int | None = None
    loop: tuple[int, int] | None = None
    bare: tuple[int, ...] = ()
    cpu: int = n.CPU_PORT
    priority_queues: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "wire", tuple(self.wire))
        if self.loop is not None:
            object.__setattr__(self, "loop", tuple(self.loop))
        object.__setattr__(self, "bare", tuple(self.bare))
        self.validate()

    @property
    def regular_priority(self) -> int:
        """standard_metadata.priority of regular traffic (below the queue count)."""
        return self.priority_queues - 1

    @property
    def host_ports(self) -> tuple[int, ...]:
        return (self.host_stack, self.consumer)

    @property
    def deliver_ports(self) -> tuple[int, ...]:
        """Ports packets of received traffic are delivered to."""
        return tuple(dict.fromkeys((self.host_stack, self.consumer, self.placement)))

    def validate(self) -> None:
        if not self.wire:
            raise NicConfigError("at least one wire port is needed")
        for w in self.wire:
            # ack_code = wire port + 1 lives in bits 0..2 of the multicast group id
            _check_range("wire port", w, 0, n.MAX_ACK_CODE - 1)
        for name in ("host_stack", "consumer", "placement", "records", "capture"):
            # deliver_port << 4 must stay below MCAST_BASE; the others are plain ports
            _check_range(f"{name} port", getattr(self, name), 0, n.MAX_DELIVER_PORT)
        _check_range("cpu port", self.cpu, 0, 511)
        _check_range("priority_queues", self.priority_queues, 1, 8)  # bit<3> priority
        if self.crypto is not None:
            _check_range("crypto port", self.crypto, 0, 511)
        for p in self.bare:
            if p not in self.deliver_ports:
                raise NicConfigError(f"bare port {p}: not a delivery port "
                                     f"{list(self.deliver_ports)}")
        if self.loop is not None:
            if len(self.loop) != 2:
                raise NicConfigError(f"loop: two ports (out, in), not {list(self.loop)}")
            for p in self.loop:
                _check_range("loop port", p, 0, 511)
        roles = [*self.wire, self.host_stack, self.consumer, self.placement, self.records,
                 self.capture] + ([] if self.crypto is None else [self.crypto]) + list(
                     self.loop or ())
        if len(set(roles)) != len(roles):
            raise NicConfigError(f"port map uses a port twice: {self.to_dict()}")
        if self.cpu in roles:
            raise NicConfigError(f"cpu port {self.cpu} also has a NIC role")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["wire"] = list(self.wire)
        if self.loop is not None:
            d["loop"] = list(self.loop)
        d["bare"] = list(self.bare)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortMap:
        return _from_dict(cls, dict(data), "ports")


@dataclass(frozen=True)
class Flow:
    """A flow tuple (seed 001) and its handling; IPv4 or IPv6 from the addresses."""
    src: str
    dst: str
    proto: int | str
    sport: int
    dport: int
    flow_id: int
    state: str = "MONITOR"
    deliver_port: int | None = None
    ack_every: int = 0
    ts_mode: str = "none"
    buf_base: int = 0
    buf_size: int = 0
    start_seq: int = 0
    # tags the NIC's per-flow state (timestamps, ACK counts) so that a flow id
    # installed again starts afresh; 0 = the driver picks one when installing
    generation: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "proto", parse_proto(self.proto))
        object.__setattr__(self, "state", str(self.state).upper())
        object.__setattr__(self, "ts_mode", str(self.ts_mode).lower())
        src, dst = _ip("flow src", self.src), _ip("flow dst", self.dst)
        if src.version != dst.version:
            raise NicConfigError(f"flow {self.src} -> {self.dst}: one IPv4 and one IPv6 address")
        object.__setattr__(self, "src", str(src))
        object.__setattr__(self, "dst", str(dst))
        self.validate()

    @property
    def ip_version(self) -> int:
        return ipaddress.ip_address(self.src).version

    def validate(self) -> None:
        if self.proto not in (n.IP_PROTO_TCP, n.IP_PROTO_UDP):
            raise NicConfigError(f"flow proto {self.proto}: the flow tables match TCP (6) and "
                                 f"UDP (17) only; ESP flows go through add_esp_flow")
        _check_range("sport", self.sport, 0, 0xFFFF)
        _check_range("dport", self.dport, 0, 0xFFFF)
        _check_range("generation", self.generation, 0, 0xFFFF)
        validate_handling(self.flow_id, self.state, self.deliver_port, self.ack_every,
                          self.ts_mode, self.buf_base, self.buf_size, self.start_seq)
        if self.proto != n.IP_PROTO_TCP and self.ack_every:
            raise NicConfigError("ack_every needs a TCP flow (the NIC generates TCP ACKs)")
        if self.state == "ZERO_COPY" and self.proto != n.IP_PROTO_TCP:
            raise NicConfigError("ZERO_COPY places TCP payload by sequence number: TCP only")

    def key(self) -> tuple:
        return (self.src, self.dst, self.proto, self.sport, self.dport)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Flow:
        return _from_dict(cls, dict(data), "flow")


@dataclass(frozen=True)
class EspFlow:
    """An (IPv4 or IPv6 destination, SPI) flow tuple (seed 001: fields 142 and 152)."""
    dst: str
    spi: int
    flow_id: int
    state: str = "MONITOR"
    deliver_port: int | None = None
    ts_mode: str = "none"
    generation: int = 0  # see Flow.generation

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", str(self.state).upper())
        object.__setattr__(self, "ts_mode", str(self.ts_mode).lower())
        _check_range("generation", self.generation, 0, 0xFFFF)
        dst = _ip("esp flow dst", self.dst)
        object.__setattr__(self, "dst", str(dst))
        _check_range("spi", self.spi, 0, 0xFFFFFFFF)
        if self.state == "ZERO_COPY":
            raise NicConfigError("ZERO_COPY needs TCP; an ESP flow is MONITOR or IDLE")
        validate_handling(self.flow_id, self.state, self.deliver_port, 0, self.ts_mode, 0, 0, 0)

    def key(self) -> tuple:
        return (self.dst, self.spi)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EspFlow:
        return _from_dict(cls, dict(data), "esp flow")


def validate_handling(flow_id: int, state: str, deliver_port: int | None, ack_every: int,
                      ts_mode: str, buf_base: int, buf_size: int, start_seq: int) -> None:
    _check_range("flow_id", flow_id, 0, n.MAX_FLOWS - 1)
    if state not in n.FLOW_STATES:
        raise NicConfigError(f"state '{state}' is not one of {', '.join(n.FLOW_STATES)}")
    if ts_mode not in n.TS_MODES:
        raise NicConfigError(f"ts_mode '{ts_mode}' is not one of {', '.join(n.TS_MODES)}")
    if deliver_port is not None:
        _check_range("deliver_port", deliver_port, 0, n.MAX_DELIVER_PORT)
    _check_range("ack_every", ack_every, 0, 255)
    _check_range("buf_base", buf_base, 0, (1 << 64) - 1)
    _check_range("buf_size", buf_size, 0, 0xFFFFFFFF)
    _check_range("start_seq", start_seq, 0, 0xFFFFFFFF)
    if state == "ZERO_COPY" and buf_size == 0:
        raise NicConfigError("ZERO_COPY needs a buffer: buf_size > 0")


CIPHERS = ("aes-gcm-128", "aes-gcm-256", "chacha20-poly1305", "aes-cbc-hmac-sha256")
# key bytes per cipher; aes-cbc-hmac-sha256: 16 (AES-128) then 32 (the HMAC key)
KEY_LENGTHS = {"aes-gcm-128": 16, "aes-gcm-256": 32, "chacha20-poly1305": 32,
               "aes-cbc-hmac-sha256": 48}


@dataclass(frozen=True)
class SecurityAssociation:
    """An SA of key memory (seed 001): (IPv4 or IPv6 destination, SPI) -> key slot.

    The pipeline only holds ``key_index``; the key bytes stay in the driver's
    SA database for the crypto engine. ``key_index=None`` lets the driver
    pick a free slot when it installs the SA.
    """
    dst: str
    spi: int
    key_index: int | None = None
    src: str | None = None
    key: bytes = b""
    cipher: str = "aes-gcm-128"
    salt: bytes = b""
    # decrypt: the NIC sends the SA's datagrams to the crypto engine (seed 004);
    # None: when the port map has an engine port and the SA a key
    decrypt: bool | None = None
    # tags the SA's anti-replay state in the NIC (picked by the driver)
    generation: int = 0
    # 64-bit extended sequence numbers (RFC 4303 2.2.1): the NIC infers the high
    # half, the engine's ICV check covers it
    esn: bool = False

    def __post_init__(self) -> None:
        dst = _ip("sa dst", self.dst)
        object.__setattr__(self, "dst", str(dst))
        if self.src is not None:
            object.__setattr__(self, "src", str(_ip("sa src", self.src)))
        _check_range("spi", self.spi, 0, 0xFFFFFFFF)
        if self.key_index is not None:
            _check_range("key_index", self.key_index, 0, 0xFFFF)
        for name in ("key", "salt"):
            value = getattr(self, name)
            if isinstance(value, str):
                try:
                    object.__setattr__(self, name, bytes.fromhex(value))
                except ValueError:
                    raise NicConfigError(f"sa {name} must be hex, got '{value}'") from None
        if self.cipher not in CIPHERS:
            raise NicConfigError(f"cipher '{self.cipher}' is not one of {', '.join(CIPHERS)}")
        want = KEY_LENGTHS[self.cipher]
        if self.key and len(self.key) != want:
            raise NicConfigError(f"{self.cipher} needs a {want}-byte key, got {len(self.key)}")

    def key_tuple(self) -> tuple[str, int]:
        return (self.dst, self.spi)

    def to_dict(self, with_key: bool = False) -> dict[str, Any]:
        d = asdict(self)
        d["key"] = self.key.hex() if with_key else ("<set>" if self.key else "")
        d["salt"] = self.salt.hex()
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SecurityAssociation:
        return _from_dict(cls, dict(data), "sa")


def _ternary_pair(what: str, value: Any, width: int) -> tuple[int, int] | None:
    """None, an exact int, or (value, mask) -> (value, mask) with range checks."""
    if value is None:
        return None
    full = (1 << width) - 1
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise NicConfigError(f"{what}: expected (value, mask)")
        v = _check_range(what, value[0], 0, full)
        m = _check_range(what + " mask", value[1], 0, full)
        if v & ~m:
            raise NicConfigError(f"{what}: value 0x{v:x} has bits outside mask 0x{m:x}")
        return v, m
    return _check_range(what, value, 0, full), full


def _prefix(what: str, text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        net = ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        raise NicConfigError(f"{what} '{text}' is not an address or prefix") from None
    if net.version != 4:
        raise NicConfigError(f"{what} '{text}': capture triggers match IPv4 addresses "
                             f"(meta.ip_src/ip_dst are zero for IPv6 packets)")
    return int(net.network_address), int(net.netmask)


def payload_head_pair(value: Any) -> tuple[int, int] | None:
    """Trigger payload match: bytes prefix (up to 8), hex text, or (value, mask) ints/bytes."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value)
        except ValueError:
            raise NicConfigError(f"payload_head '{value}' is not hex") from None
    if isinstance(value, (bytes, bytearray)):
        if not 1 <= len(value) <= 8:
            raise NicConfigError("payload_head matches the first 1..8 payload bytes")
        v = int.from_bytes(bytes(value).ljust(8, b"\0"), "big")
        m = int.from_bytes(b"\xff" * len(value) + b"\0" * (8 - len(value)), "big")
        return v, m
    if isinstance(value, (tuple, list)) and len(value) == 2:
        v, m = value
        if isinstance(v, (bytes, bytearray)) or isinstance(m, (bytes, bytearray)):
            if len(v) > 8 or len(m) > 8:
                raise NicConfigError("payload_head value/mask are at most 8 bytes")
            v = int.from_bytes(bytes(v).ljust(8, b"\0"), "big")
            m = int.from_bytes(bytes(m).ljust(8, b"\0"), "big")
        return _ternary_pair("payload_head", (v, m), 64)
    raise NicConfigError(f"payload_head {value!r}: give bytes, hex text or (value, mask)")


@dataclass(frozen=True)
class CaptureTrigger:
    """A capture trigger (seed 003): ternary match -> capture stream ``capture_id``.

    Unset fields match anything. src/dst take an IPv4 address or prefix;
    sport/dport/in_port/proto an exact value or (value, mask); payload_head
    the first payload bytes (prefix match) or a (value, mask) over 8 bytes.
    Higher ``priority`` wins when triggers overlap.
    """
    capture_id: int
    snaplen: int = 65535
    priority: int = 10
    direction: str | None = None
    in_port: int | tuple[int, int] | None = None
    src: str | None = None
    dst: str | None = None
    proto: int | str | tuple[int, int] | None = None
    sport: int | tuple[int, int] | None = None
    dport: int | tuple[int, int] | None = None
    payload_head: Any = None
    match: dict[str, tuple[int, int]] = field(default_factory=dict, init=False, compare=False,
                                              repr=False)

    def __post_init__(self) -> None:
        _check_range("capture_id", self.capture_id, 0, 0xFFFF)
        _check_range("snaplen", self.snaplen, 0, 0xFFFF)
        _check_range("priority", self.priority, 1, 0x7FFFFFFF)
        if self.direction is not None and self.direction not in n.DIRECTIONS:
            raise NicConfigError(f"direction '{self.direction}' is not rx, tx or unset")
        proto = self.proto
        if isinstance(proto, str):
            proto = parse_proto(proto)
        m = {
            n.MF_DIRECTION: None if self.direction is None else (n.DIRECTIONS[self.direction], 0xFF),
            n.MF_CAP_IN_PORT: _ternary_pair("in_port", self.in_port, 9),
            n.MF_CAP_IP_SRC: _prefix("src", self.src),
            n.MF_CAP_IP_DST: _prefix("dst", self.dst),
            n.MF_CAP_IP_PROTO: _ternary_pair("proto", proto, 8),
            n.MF_CAP_L4_SRC: _ternary_pair("sport", self.sport, 16),
            n.MF_CAP_L4_DST: _ternary_pair("dport", self.dport, 16),
            n.MF_CAP_PAYLOAD_HEAD: payload_head_pair(self.payload_head),
        }
        object.__setattr__(self, "match", {k: v for k, v in m.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("match")
        if isinstance(self.payload_head, (bytes, bytearray)):
            d["payload_head"] = bytes(self.payload_head).hex()
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaptureTrigger:
        data = dict(data)
        for k in ("in_port", "proto", "sport", "dport", "payload_head"):
            if isinstance(data.get(k), list):
                data[k] = tuple(data[k])
        return _from_dict(cls, data, "trigger")


@dataclass(frozen=True)
class Handle:
    """What the driver returns for an entry it installed; pass it back to change it."""
    kind: str             # "flow", "esp_flow", "sa", "trigger", "rtp_port", "mac", ...
    table: str
    key: tuple            # the entry's match, as the driver built it
    priority: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "table": self.table, "key": list(self.key),
                "priority": self.priority}
