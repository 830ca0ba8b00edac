"""Decryption through the lookaside crypto engine (seed 004): the driver side.

An SA with ``decrypt`` set sends its datagrams to the crypto engine (port
``PortMap.crypto``); the engine needs the SA's key in its key memory first.
The driver loads it in band: a KEY_LOAD command frame sent out of the engine's
port (packet-out), answered by the engine on the same port and handed back to
the driver as a packet-in (reason IN_REASON_CRYPTO). Only when the engine said
OK is the key-memory entry installed, so no datagram ever reaches the engine
before its key. Key requests from the pipeline (seed 001's path) go through
the same ``add_sa`` and so load keys the same way.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from typing import TYPE_CHECKING

from p4nic import p4names as n
from p4nic.cryptoframe import (
    CryptoFrameError,
    key_delete_frame,
    parse_crypto_frame,
    sa_key_load_frame,
)
from p4nic.model import NicConfigError, SecurityAssociation

if TYPE_CHECKING:
    from p4nic.driver import NicDriver

ANSWER_TIMEOUT = 5.0
STATUS_NAMES = {n.CRYPTO_ST_OK: "ok", n.CRYPTO_ST_BAD_ICV: "bad ICV", n.CRYPTO_ST_NO_KEY: "no key",
                n.CRYPTO_ST_MALFORMED: "malformed", n.CRYPTO_ST_UNSUPPORTED: "unsupported"}
IPSEC_EVENT_NAMES = ("to_engine", "decrypted", "bad_icv", "replay", "too_old", "engine_no_key",
                     "engine_error", "foreign", "fragment_to_host")


def resolve_decrypt(sa: SecurityAssociation, crypto_port: int | None) -> SecurityAssociation:
    """The SA with ``decrypt`` decided: by default when there is an engine and the SA
    has what it needs (key and 4-byte salt); otherwise key memory only marks."""
    decrypt = sa.decrypt
    needs_salt = sa.cipher != "aes-cbc-hmac-sha256"
    if decrypt is None:
        decrypt = crypto_port is not None and bool(sa.key) and (
            len(sa.salt) == 4 or not needs_salt)
    if decrypt:
        if crypto_port is None:
            raise NicConfigError(f"SA 0x{sa.spi:x}: decrypt needs a crypto engine port "
                                 f"(PortMap.crypto)")
        if not sa.key or (needs_salt and len(sa.salt) != 4):
            raise NicConfigError(f"SA 0x{sa.spi:x}: decrypt needs the key and a 4-byte salt "
                                 f"(RFC 4106 / RFC 7634 nonce)")
        if sa.key_index is not None and sa.key_index >= n.MAX_SAS:
            raise NicConfigError(f"SA 0x{sa.spi:x}: key index {sa.key_index}: decrypting SAs "
                                 f"use key indexes below {n.MAX_SAS} (anti-replay state)")
    return dataclasses.replace(sa, decrypt=decrypt)


class KeyLoader:
    """Loads and deletes keys in the engine's key memory, one command at a time."""

    def __init__(self, driver: NicDriver):
        self.drv = driver
        self.answers: queue.Queue[bytes] = queue.Queue()
        self._lock = threading.Lock()
        self.loaded = 0

    def on_answer(self, payload: bytes) -> None:
        """From the stream reader: an engine answer the pipeline passed to the driver."""
        self.answers.put(payload)

    def _command(self, frame: bytes, what: str, port: int) -> int:
        with self._lock:
            while not self.answers.empty():        # answers of commands that timed out
                self.answers.get_nowait()
            self.drv.send_tx(frame, port)
            try:
                answer = self.answers.get(timeout=ANSWER_TIMEOUT)
            except queue.Empty:
                raise NicConfigError(f"{what}: the crypto engine on port {port} did not answer "
                                     f"within {ANSWER_TIMEOUT:.0f} s (is `p4nic crypto-engine` "
                                     f"running on it?)") from None
        try:
            header, _ = parse_crypto_frame(answer)
        except CryptoFrameError as e:
            raise NicConfigError(f"{what}: unreadable engine answer: {e}") from None
        return header.status

    def load(self, sa: SecurityAssociation, port: int) -> None:
        status = self._command(sa_key_load_frame(sa), f"load key of SA 0x{sa.spi:x}", port)
        if status != n.CRYPTO_ST_OK:
            raise NicConfigError(f"the crypto engine refused the key of SA 0x{sa.spi:x}: "
                                 f"{STATUS_NAMES.get(status, status)}")
        self.loaded += 1

    def delete(self, key_index: int, port: int) -> None:
        self._command(key_delete_frame(key_index), f"delete key {key_index}", port)


def ipsec_counters(drv: NicDriver) -> dict[str, tuple[int, int]]:
    """ipsec_events (crypto.p4): event -> (packets, bytes)."""
    from p4.v1 import p4runtime_pb2

    from p4nic.entries import entity
    cid = drv._schema().counter(n.IPSEC_EVENTS).preamble.id
    got = drv.client.read([entity(counter_entry=p4runtime_pb2.CounterEntry(counter_id=cid))],
                          "read ipsec_events")
    out = {name: (0, 0) for name in IPSEC_EVENT_NAMES}
    for e in got:
        i = e.counter_entry.index.index
        if i < len(IPSEC_EVENT_NAMES):
            out[IPSEC_EVENT_NAMES[i]] = (e.counter_entry.data.packet_count,
                                         e.counter_entry.data.byte_count)
    return out
