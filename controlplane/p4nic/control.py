"""The local control socket of ``p4nic start``: JSON lines over a Unix socket.

One request per line, ``{"op": "flow.add", "args": {...}}``; one answer per
line, ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "why"}``.
One-shot ``p4nic`` commands talk to the running daemon this way instead of
opening their own P4Runtime connection, so they never take primary away
from it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("p4nic.control")

MAX_LINE = 1 << 20


class ControlError(RuntimeError):
    """The daemon refused a request; the message is its reason."""


class DaemonNotRunning(ConnectionError):
    """Nothing listens on the control socket."""


def to_jsonable(value: Any) -> Any:
    """Results as JSON: dataclasses with to_dict, tuples, bytes (hex)."""
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return value


Handler = Callable[[str, dict[str, Any]], Any]


class _RequestHandler(socketserver.StreamRequestHandler):
    server: ControlServer

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return
            answer = self.server.answer(line)
            self.wfile.write(json.dumps(answer).encode() + b"\n")
            self.wfile.flush()


class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, handler: Handler):
        self.path = path
        self.handler = handler
        if os.path.exists(path):
            if socket_alive(path):
                raise OSError(f"{path}: another p4nic daemon is listening there")
            os.unlink(path)     # left over by a daemon that did not exit cleanly
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        super().__init__(path, _RequestHandler)
        os.chmod(path, 0o600)   # it programs the NIC: root (the owner) only
        self._thread: threading.Thread | None = None

    def answer(self, line: bytes) -> dict[str, Any]:
        try:
            req = json.loads(line)
            if not isinstance(req, dict) or not isinstance(req.get("op"), str):
                raise ValueError('a request is {"op": NAME, "args": {...}}')
            args = req.get("args") or {}
            if not isinstance(args, dict):
                raise ValueError("args must be an object")
        except ValueError as e:
            return {"ok": False, "error": f"bad request: {e}"}
        try:
            return {"ok": True, "result": to_jsonable(self.handler(req["op"], args))}
        except Exception as e:   # every failure goes back to the client as its reason
            log.info("request %s refused: %s", req["op"], e)
            return {"ok": False, "error": str(e), "kind": type(e).__name__}

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="p4nic-control",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:   # shutdown() waits for a serve_forever that ran
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def socket_alive(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class ControlClient:
    """Talks to a running ``p4nic start``."""

    def __init__(self, path: str, timeout: float | None = 60.0):
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError) as e:
            self._sock.close()
            raise DaemonNotRunning(f"no p4nic daemon at {path}: {e.strerror}") from None
        self._file = self._sock.makefile("rwb")

    def call(self, op: str, **args: Any) -> Any:
        self._file.write(json.dumps({"op": op, "args": to_jsonable(args)}).encode() + b"\n")
        self._file.flush()
        line = self._file.readline(MAX_LINE)
        if not line:
            raise ControlError("the daemon closed the connection")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise ControlError(answer.get("error", "refused"))
        return answer.get("result")

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
