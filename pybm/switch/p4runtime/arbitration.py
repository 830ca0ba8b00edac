"""Client arbitration (spec "Client Arbitration and Controller Replication").

For each (device_id, role) the primary is the live controller whose election
id equals the highest election id the server has *ever* seen for that pair;
there may be none (e.g. after the primary disconnected, until a controller
arbitrates with an election id at least as high). Each stream learns about
its status through MasterArbitrationUpdate messages: OK for the primary,
ALREADY_EXISTS for backups while there is a primary, NOT_FOUND when there is
none.

Roles: a role name without ``role.config`` means full pipeline access; role
configurations are refused (no out-of-band scheme is agreed with pybm).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2

from pybm.switch.p4runtime.errors import (
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    NOT_FOUND,
    PERMISSION_DENIED,
    RESOURCE_EXHAUSTED,
    P4RTError,
)

ElectionId = tuple[int, int]  # (high, low): tuples compare as the 128-bit value does
MAX_CONTROLLERS = 16  # per (device_id, role), as PI's server
MAX_QUEUED = 4096  # notifications waiting for a slow client; more packet-ins etc. are dropped
CLOSE = object()  # queued to end a stream


class Stream:
    """One StreamChannel: its outgoing queue and, once arbitrated, its identity."""

    def __init__(self, peer: str = ""):
        self.peer = peer
        self.out: queue.Queue = queue.Queue()
        self.arbitrated = False
        self.role = ""
        self.election_id: ElectionId | None = None
        self.closed = False
        self.dropped = 0

    def send(self, msg: p4runtime_pb2.StreamMessageResponse, *, droppable: bool = False) -> None:
        """Queue a message; ``droppable`` ones (packet-ins, digests, stream errors) are
        dropped while the client is far behind, which the specification allows."""
        if self.closed:
            return
        if droppable and self.out.qsize() >= MAX_QUEUED:
            self.dropped += 1
            return
        self.out.put(msg)

    def close(self, error: P4RTError | None = None) -> None:
        """End the stream, with an error status if given."""
        if not self.closed:
            self.closed = True
            self.out.put(error if error is not None else CLOSE)


@dataclass
class _Role:
    streams: list[Stream] = field(default_factory=list)
    highest: ElectionId | None = None  # highest election id ever seen for this role

    def primary(self) -> Stream | None:
        if self.highest is None:
            return None
        for s in self.streams:
            if s.election_id == self.highest:
                return s
        return None


def election_id(msg: p4runtime_pb2.Uint128) -> ElectionId:
    return msg.high, msg.low


class Arbitrator:
    def __init__(self, device_id: int):
        self.device_id = device_id
        self._lock = threading.Lock()
        self._roles: dict[str, _Role] = {}

    def update(self, stream: Stream, upd: p4runtime_pb2.MasterArbitrationUpdate) -> None:
        """Handle a MasterArbitrationUpdate; P4RTError means: end the stream with that code."""
        role_name = upd.role.name
        eid = election_id(upd.election_id) if upd.HasField("election_id") else None
        with self._lock:
            if upd.device_id != self.device_id:
                if stream.arbitrated:
                    raise P4RTError(FAILED_PRECONDITION,
                                    f"this stream is for device {self.device_id}, "
                                    f"not {upd.device_id}")
                raise P4RTError(NOT_FOUND, f"unknown device id {upd.device_id} "
                                           f"(this server has device {self.device_id})")
            if stream.arbitrated and role_name != stream.role:
                raise P4RTError(FAILED_PRECONDITION,
                                f"this stream has role '{stream.role}'; open a new stream to "
                                f"change role")
            if upd.role.HasField("config"):
                raise P4RTError(INVALID_ARGUMENT,
                                "role.config is not supported: pybm-switch knows no role "
                                "configuration scheme (leave it unset for full access)")
            role = self._roles.setdefault(role_name, _Role())
            if eid is not None and any(s is not stream and s.election_id == eid
                                       for s in role.streams):
                raise P4RTError(INVALID_ARGUMENT,
                                f"election id {_fmt(eid)} is already used by another controller "
                                f"for role '{role_name}'")
            if not stream.arbitrated:
                if len(role.streams) >= MAX_CONTROLLERS:
                    raise P4RTError(RESOURCE_EXHAUSTED,
                                    f"too many controllers for role '{role_name}' "
                                    f"(at most {MAX_CONTROLLERS})")
                role.streams.append(stream)
                stream.arbitrated = True
                stream.role = role_name
            was_primary = role.primary() is stream
            stream.election_id = eid
            if eid is not None and (role.highest is None or eid >= role.highest):
                role.highest = eid
                # the new primary learns it last, after everyone else was told
                for s in role.streams:
                    if s is not stream:
                        s.send(self._status(role, s))
                stream.send(self._status(role, stream))
            elif was_primary:
                for s in role.streams:  # the primary stepped down: nobody is primary now
                    s.send(self._status(role, s))
            else:
                stream.send(self._status(role, stream))

    def remove(self, stream: Stream) -> None:
        with self._lock:
            if not stream.arbitrated:
                return
            role = self._roles[stream.role]
            was_primary = role.primary() is stream
            role.streams.remove(stream)
            stream.arbitrated = False
            if was_primary:
                for s in role.streams:
                    s.send(self._status(role, s))

    def _status(self, role: _Role, stream: Stream) -> p4runtime_pb2.StreamMessageResponse:
        msg = p4runtime_pb2.StreamMessageResponse()
        upd = msg.arbitration
        upd.device_id = self.device_id
        if stream.role:
            upd.role.name = stream.role
        if role.highest is not None:
            upd.election_id.high, upd.election_id.low = role.highest
        primary = role.primary()
        if primary is stream:
            upd.status.code = code_pb2.OK
            upd.status.message = "is primary"
        elif primary is not None:
            upd.status.code = code_pb2.ALREADY_EXISTS
            upd.status.message = f"is backup; the primary has election id {_fmt(role.highest)}"
        else:
            upd.status.code = code_pb2.NOT_FOUND
            upd.status.message = "is backup; there is no primary"
        return msg

    def check_primary(self, device_id: int, role_name: str,
                      eid_msg: p4runtime_pb2.Uint128 | None) -> None:
        """May a Write / SetForwardingPipelineConfig with these credentials proceed?

        As simple_switch_grpc (PI) does for debugging convenience, requests
        without an election id are accepted while no controller is connected
        for the role.
        """
        if device_id != self.device_id:
            raise P4RTError(NOT_FOUND, f"unknown device id {device_id}")
        eid = election_id(eid_msg) if eid_msg is not None else None
        with self._lock:
            role = self._roles.get(role_name)
            if role is None and role_name:
                raise P4RTError(NOT_FOUND, f"unknown role '{role_name}'")
            if role is None or not role.streams:
                if eid is None:
                    return
                raise P4RTError(PERMISSION_DENIED,
                                f"not primary: no controller is connected for role '{role_name}'")
            primary = role.primary()
            if primary is None:
                raise P4RTError(PERMISSION_DENIED,
                                f"not primary: there is no primary for role '{role_name}'")
            if eid != primary.election_id:
                raise P4RTError(PERMISSION_DENIED,
                                f"not primary: election id {_fmt(eid)} is not the primary's "
                                f"({_fmt(primary.election_id)})")

    def is_primary(self, stream: Stream) -> bool:
        with self._lock:
            role = self._roles.get(stream.role) if stream.arbitrated else None
            return role is not None and role.primary() is stream

    def primaries(self) -> Iterator[Stream]:
        """The primary of each role (each has full pipeline access)."""
        with self._lock:
            found = [r.primary() for r in self._roles.values()]
        return iter([s for s in found if s is not None])

    def close_all(self) -> None:
        with self._lock:
            streams = [s for r in self._roles.values() for s in r.streams]
        for s in streams:
            s.close()


def _fmt(eid: ElectionId | None) -> str:
    if eid is None:
        return "(unset)"
    high, low = eid
    return f"{low}" if high == 0 else f"{high}:{low}"
