"""A reentrant lock handed to the threads that ask for it in the order they asked.

The switch's lock is taken once per packet by the pipeline thread and once per
request by the P4Runtime threads. ``threading.RLock`` gives no order: the pipeline
thread, which releases it and asks again at once, nearly always got it back while a
P4Runtime write waited, so under load table writes stalled for as long as packets
kept coming (BMv2 lets a write in between packets).
"""
from __future__ import annotations

import threading
from collections import deque


class FairRLock:
    """Like ``threading.RLock`` (reentrant, a context manager), granted first come,
    first served: releasing hands it straight to the longest waiting thread."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiting: deque[tuple[int, threading.Lock]] = deque()

    def acquire(self) -> bool:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None:
                self._owner, self._depth = me, 1
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append((me, turn))
        turn.acquire()          # released by the thread that hands the lock over
        return True

    def release(self) -> None:
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("cannot release a lock this thread does not hold")
            self._depth -= 1
            if self._depth:
                return
            if self._waiting:
                self._owner, turn = self._waiting.popleft()
                self._depth = 1
                turn.release()
            else:
                self._owner = None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
