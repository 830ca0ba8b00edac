"""The driver's SA database: the keys behind key memory (seed 001).

Key memory in the pipeline (table sa_v4) only holds a key index per
(IPv4 destination, SPI); the database holds the SAs with their keys. When a
packet misses key memory, the pipeline sends a key request digest and the
driver answers it from here by installing the SA, so later packets hit.

A daemon keeps its database in its state directory (``persist_to``): a
restarted daemon still answers key requests for SAs added at run time, and
loads the keys of SAs an earlier daemon installed into its new crypto engine.
The file holds keys: it is written with mode 0600 (the state directory is
/run/p4nic, a tmpfs, by default).
"""

from __future__ import annotations

import json
import os
import threading

from p4nic.model import NicConfigError, SecurityAssociation


class SADatabase:
    """Thread-safe (dst, spi) -> SecurityAssociation map."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sas: dict[tuple[str, int], SecurityAssociation] = {}
        self._path: str | None = None

    def persist_to(self, path: str) -> int:
        """Keep the database in ``path`` from now on; SAs already there (an earlier
        daemon's) are added first. Returns how many were read back."""
        read: list[SecurityAssociation] = []
        if os.path.exists(path):
            try:
                with open(path) as f:
                    read = [SecurityAssociation.from_dict(d) for d in json.load(f)]
            except (OSError, ValueError, TypeError, NicConfigError) as e:
                raise NicConfigError(f"{path}: not an SA database ({e})") from None
        with self._lock:
            for sa in read:
                self._sas.setdefault(sa.key_tuple(), sa)
            self._path = path
            self._save()
        return len(read)

    def _save(self) -> None:
        if self._path is None:
            return
        tmp = f"{self._path}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump([sa.to_dict(with_key=True) for sa in self._sas.values()], f)
        os.replace(tmp, self._path)

    def add(self, sa: SecurityAssociation) -> None:
        """Add or replace the SA for (sa.dst, sa.spi)."""
        with self._lock:
            self._sas[sa.key_tuple()] = sa
            self._save()

    def remove(self, dst: str, spi: int) -> SecurityAssociation:
        with self._lock:
            try:
                sa = self._sas.pop((str(dst), int(spi)))
            except KeyError:
                raise KeyError(f"no SA for SPI 0x{spi:x} to {dst} in the SA database") from None
            self._save()
            return sa

    def get(self, dst: str, spi: int) -> SecurityAssociation | None:
        with self._lock:
            return self._sas.get((str(dst), int(spi)))

    def all(self) -> list[SecurityAssociation]:
        with self._lock:
            return list(self._sas.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._sas)

    def __contains__(self, key: tuple[str, int]) -> bool:
        with self._lock:
            return key in self._sas
