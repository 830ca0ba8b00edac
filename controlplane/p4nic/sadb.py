"""The driver's SA database: the keys behind key memory (seed 001).

Key memory in the pipeline (table sa_v4) only holds a key index per
(IPv4 destination, SPI); the database holds the SAs with their keys. When a
packet misses key memory, the pipeline sends a key request digest and the
driver answers it from here by installing the SA, so later packets hit.
"""

from __future__ import annotations

import threading

from p4nic.model import SecurityAssociation


class SADatabase:
    """Thread-safe (dst, spi) -> SecurityAssociation map."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sas: dict[tuple[str, int], SecurityAssociation] = {}

    def add(self, sa: SecurityAssociation) -> None:
        """Add or replace the SA for (sa.dst, sa.spi)."""
        with self._lock:
            self._sas[sa.key_tuple()] = sa

    def remove(self, dst: str, spi: int) -> SecurityAssociation:
        with self._lock:
            try:
                return self._sas.pop((str(dst), int(spi)))
            except KeyError:
                raise KeyError(f"no SA for SPI 0x{spi:x} to {dst} in the SA database") from None

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
