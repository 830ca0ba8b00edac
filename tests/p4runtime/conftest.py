"""Fixtures: a pybm Switch served by a real P4RuntimeServer on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from p4rt_helpers import Client, Info, program

from pybm.switch.engine import Switch
from pybm.switch.p4runtime.server import P4RuntimeServer

CPU_PORT = 255


@dataclass
class Rig:
    """One switch + server, with the frames the switch transmitted (CPU port excluded)."""
    switch: Switch
    server: P4RuntimeServer
    port: int
    sent: list[tuple[int, bytes]] = field(default_factory=list)
    sent_event: threading.Event = field(default_factory=threading.Event)
    clients: list[Client] = field(default_factory=list)

    def client(self, device_id: int = 0) -> Client:
        c = Client(self.port, device_id)
        self.clients.append(c)
        return c

    def primary(self, name: str | None = None, election_id: tuple[int, int] = (0, 1)
                ) -> tuple[Client, Info | None]:
        """An arbitrated primary client, with ``name``'s pipeline pushed if given."""
        c = self.client()
        upd = c.arbitrate(election_id)
        assert upd.status.code == 0, upd
        info = None
        if name is not None:
            p4info, json_bytes = program(name)
            c.set_pipeline(p4info, json_bytes)
            info = Info(p4info)
        return c, info

    def frames(self) -> list[tuple[int, bytes]]:
        out, self.sent[:] = list(self.sent), []
        return out


@pytest.fixture
def rig() -> Iterator[Rig]:
    sw = Switch(cpu_port=CPU_PORT)
    srv = P4RuntimeServer(sw, device_id=0, cpu_port=CPU_PORT)
    r = Rig(sw, srv, 0)

    def transmit(port: int, data: bytes) -> None:  # what the port layer does
        if port == CPU_PORT:
            srv.packet_in(data)
        else:
            r.sent.append((port, data))
            r.sent_event.set()

    sw.transmit = transmit
    r.port = srv.start("127.0.0.1:0")
    yield r
    for c in r.clients:
        c.close()
    srv.stop(grace=0)

