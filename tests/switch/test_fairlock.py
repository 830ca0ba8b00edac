"""FairRLock: reentrant, and handed over in the order threads asked for it."""
from __future__ import annotations

import threading
import time

import pytest

from pybm.switch.fairlock import FairRLock


def test_reentrant_and_owned():
    lock = FairRLock()
    with lock:
        with lock:
            pass
    with pytest.raises(RuntimeError):
        lock.release()


def test_waiters_get_it_in_the_order_they_asked():
    lock = FairRLock()
    order: list[int] = []
    lock.acquire()
    threads = []
    for i in range(5):
        t = threading.Thread(target=lambda i=i: (lock.acquire(), order.append(i), lock.release()))
        t.start()
        threads.append(t)
        while len(lock._waiting) < i + 1:      # each one is queued before the next starts
            time.sleep(0.001)
    lock.release()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_a_thread_asking_again_at_once_does_not_starve_a_waiting_one():
    """The pipeline's pattern: release and ask again straight away, over and over. A
    thread that asks meanwhile gets the lock at the next release (threading.RLock
    gives no such promise)."""
    lock = FairRLock()
    stop = threading.Event()
    rounds = [0]

    def busy() -> None:
        while not stop.is_set():
            with lock:
                rounds[0] += 1
                time.sleep(0.0002)           # a packet's worth of work, holding the lock

    def ask(into: list[int]) -> None:
        with lock:
            into.append(rounds[0])

    t = threading.Thread(target=busy)
    t.start()
    try:
        for _ in range(20):
            got: list[int] = []
            asker = threading.Thread(target=ask, args=(got,))
            asker.start()
            while not lock._waiting and not got:
                time.sleep(0)
            # the busy thread holds the lock in round queued_at, or in the next one when it
            # took the lock but has not counted yet
            queued_at = rounds[0]
            asker.join(5)
            # handed over at the end of that round: the busy thread did not go again first
            assert got and got[0] <= queued_at + 1
    finally:
        stop.set()
        t.join(5)
