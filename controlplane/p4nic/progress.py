"""Progress lines for long-running commands (capture, replay, netprops) on a TTY.

As ``merge-send``/``merge-recv`` do (p4nic.merge_cli): one line on stderr,
rewritten in place with ``\\r``, only when stderr is a terminal; nothing at
all otherwise, so pipes, logs and ``--json`` output stay as they were.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO, TypeVar

T = TypeVar("T")


class Progress:
    """``progress(done, total)`` rewrites ``WHAT: done/total [extra]``; ``end()`` ends
    the line. At most ``rate`` updates a second (the last one always shows)."""

    def __init__(self, what: str, stream: IO[str] | None = None, rate: float = 10.0):
        import sys
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.interval = 1.0 / rate
        self._last = 0.0
        self._shown = False

    def __call__(self, done: float, total: float | None = None, extra: str = "",
                 force: bool = False) -> None:
        if not self.tty:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval and done != total:
            return
        self._last = now
        count = f"{done}/{total}" if total is not None else f"{done}"
        print(f"\r{self.what}: {count}{' ' + extra if extra else ''}\033[K", end="",
              file=self.stream, flush=True)
        self._shown = True

    def end(self) -> None:
        if self.tty and self._shown:
            print(file=self.stream, flush=True)


def timed(what: str, seconds: float, fn: Callable[[], T], stream: IO[str] | None = None,
          tick: float = 0.2) -> T:
    """Run ``fn()`` (e.g. a request another process carries out) while a TTY shows the
    seconds elapsed of the ``seconds`` it is expected to take."""
    prog = Progress(what, stream)
    if not prog.tty:
        return fn()
    done = threading.Event()
    start = time.monotonic()

    def show() -> None:
        while not done.wait(tick):
            prog(f"{time.monotonic() - start:.1f}", f"{seconds:.1f} s", force=True)

    t = threading.Thread(target=show, daemon=True)
    t.start()
    try:
        return fn()
    finally:
        done.set()
        t.join()
        prog.end()
