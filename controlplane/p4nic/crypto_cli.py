"""``p4nic crypto-engine``: run the lookaside crypto engine on the NIC's crypto port.

A separate process rather than a thread of ``p4nic start`` because it plays a
separate piece of hardware (the NIC's crypto block): it can be restarted, or
run in the switch's namespace, without touching the driver; the driver fills
its key memory with KEY_LOAD frames through the pipeline. Wired into p4nic.cli.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable


def add_crypto_engine_command(cmd: Callable[[str, str], argparse.ArgumentParser],
                              common: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    """Add ``crypto-engine`` to the parser ``cmd`` makes subcommands with (``common``
    is accepted for the same signature as add_merge_commands; ``cmd`` applies it)."""
    del common
    p = cmd("crypto-engine", "lookaside crypto engine: decrypt ESP for the NIC on its crypto port")
    p.add_argument("--iface", required=True, help="outside end of the crypto port")
    p.add_argument("--netns", help="network namespace the interface lives in")
    p.add_argument("--rcvbuf", type=int, default=8 << 20, help="socket receive buffer, bytes")
    p.add_argument("--stats-every", type=float, metavar="S",
                   help="also print the counters every S seconds")


def _print_stats(stats: dict[str, int], reasons: dict[str, int], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"stats": stats, "reasons": reasons}), flush=True)
        return
    print("crypto engine: " + " ".join(f"{k}={v}" for k, v in stats.items()), flush=True)
    for reason, count in sorted(reasons.items()):
        print(f"  {count:8d}  {reason}", flush=True)


def cmd_crypto_engine(ns: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT, then print the counters."""
    from p4nic.crypto_engine import CryptoEngine
    engine = CryptoEngine(ns.iface, netns=ns.netns, rcvbuf=ns.rcvbuf)
    done = threading.Event()

    def on_signal(*_: object) -> None:
        done.set()

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    as_json = bool(getattr(ns, "json_out", False))
    try:
        engine.start()
        print(f"p4nic crypto-engine: answering on {ns.iface}"
              + (f" in netns {ns.netns}" if ns.netns else ""), file=sys.stderr, flush=True)
        interval = ns.stats_every if ns.stats_every and ns.stats_every > 0 else None
        while not done.wait(interval):
            _print_stats(engine.stats(), dict(engine.reasons), as_json)
    finally:
        engine.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    _print_stats(engine.stats(), dict(engine.reasons), as_json)
    return 0
