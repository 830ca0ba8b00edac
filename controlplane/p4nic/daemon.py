"""``p4nic start``: the long-running driver process.

It connects as the primary controller, loads the pipeline, sets the NIC up,
installs the configured flows, SAs, triggers, RTP ports and fragment
reassembly policies (``reassembly``, through the loopback pair), then keeps
running: the NIC clock mapping is refreshed into the state file (for
capture agents in other processes), key requests are answered from the SA
database, the capture agent runs if configured, and the control socket
serves the other ``p4nic`` commands. SIGINT/SIGTERM stop it cleanly.

With ``--no-load`` (a restart: the pipeline and its tables stay) it first
adopts every entry the device holds (p4nic.reconcile), so configuration
entries already there are kept as they are, not inserted twice.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from p4nic.capture import CaptureAgent
from p4nic.config import StartConfig
from p4nic.control import ControlServer
from p4nic.driver import NicDriver
from p4nic.reconcile import adopt_device, install_config
from p4nic.service import NicService

log = logging.getLogger("p4nic.daemon")

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the crypto engine child: SIGTERM when the daemon dies, even by SIGKILL, so a
    restarted daemon never finds an old engine still answering on the port."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class NicDaemon:
    def __init__(self, cfg: StartConfig):
        cfg.validate()
        self.cfg = cfg
        self.driver = NicDriver(cfg.grpc_addr, cfg.device_id, cfg.election_id)
        self.capture: CaptureAgent | None = None
        self.engine: subprocess.Popen | None = None
        self.server: ControlServer | None = None
        self.service: NicService | None = None
        self.stopping = threading.Event()
        self.ready = threading.Event()

    def start(self) -> None:
        cfg = self.cfg
        drv = self.driver
        os.makedirs(cfg.state_dir, exist_ok=True)
        # claim the socket first: a second daemon must fail before touching the device
        self.server = ControlServer(cfg.socket_path, self._handle)
        try:
            if cfg.crypto_iface:
                self._start_engine(cfg.crypto_iface)
            drv.connect()
            if cfg.load_pipeline:
                drv.load_pipeline(cfg.p4info, cfg.json)
                log.info("pipeline loaded: %s, %s", cfg.p4info, cfg.json)
            else:
                drv.use_device_pipeline()
            drv.setup(cfg.ports, nic_macs=cfg.nic_macs, promiscuous=cfg.promiscuous,
                      clock_interval=cfg.clock_interval, clock_state_path=cfg.clock_path)
            log.info("NIC set up: ports %s; %s", cfg.ports.to_dict(),
                     drv.clock.mapping.describe())
            if not cfg.load_pipeline:
                # a restart: the device keeps forwarding with what an earlier daemon
                # wrote; track it, and adopt (not insert) configuration entries it has
                log.info("adopted from the device: %s", adopt_device(drv))
            read = drv.sa_database.persist_to(os.path.join(cfg.state_dir, "sadb.json"))
            if read:
                log.info("SA database: %d SAs of an earlier daemon read back", read)
            log.info("configuration entries: %s", install_config(drv, cfg))
            policies = drv.entries("reasm_policy")
            if policies:
                log.info("fragment reassembly: %s; emit passes %s -> %s",
                         ", ".join(f"protocol {'all' if p.protocol is None else p.protocol} "
                                   f"({p.timeout_ms:g} ms)" for _, p in policies),
                         *(cfg.ports.loop or ("-", "-")))
            if cfg.capture is not None:
                clock = drv.clock
                self.capture = CaptureAgent(
                    cfg.capture.iface, cfg.capture.out,
                    clock=lambda: clock.mapping if clock.calibrated else None,
                    rotate_bytes=cfg.capture.rotate_bytes, max_files=cfg.capture.max_files)
                self.capture.start()
            self.service = NicService(drv, self.capture, daemon=True)
            with open(cfg.pid_path, "w") as f:
                f.write(f"{os.getpid()}\n")
        except BaseException:
            self.shutdown()
            raise
        self.server.start()
        log.info("control socket %s; clock state %s", cfg.socket_path, cfg.clock_path)
        self.ready.set()

    def _start_engine(self, iface: str) -> None:
        """The lookaside crypto engine (seed 004) as a child process on ``iface``; it must
        run before SAs of the configuration load their keys into it."""
        exe = os.path.join(os.path.dirname(sys.executable), "p4nic")
        log_path = os.path.join(self.cfg.state_dir, "crypto-engine.log")
        with open(log_path, "w") as f:
            self.engine = subprocess.Popen([exe if os.path.exists(exe) else "p4nic",
                                            "crypto-engine", "--iface", iface],
                                           stdout=f, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL,
                                           preexec_fn=_die_with_parent)
        time.sleep(0.3)
        if self.engine.poll() is not None:
            raise RuntimeError(f"p4nic crypto-engine on {iface} exited: "
                               f"{open(log_path).read().strip()[-500:]}")
        log.info("crypto engine on %s (pid %d), log %s", iface, self.engine.pid, log_path)

    def _handle(self, op: str, args: dict[str, Any]) -> Any:
        if self.service is None:
            raise RuntimeError("the daemon is still starting")
        if op == "shutdown":
            self.stopping.set()
            return {"stopping": True}
        return self.service.handle(op, args)

    def run(self) -> int:
        """start(), then serve until SIGINT/SIGTERM (or a shutdown request)."""
        def _stop(signum: int, _frame: object) -> None:
            log.info("signal %d: stopping", signum)
            self.stopping.set()
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.start()
        print(f"p4nic: running (pid {os.getpid()}), control socket {self.cfg.socket_path}",
              flush=True)
        while not self.stopping.wait(0.5):
            if self.driver.client.stream_failure is not None:
                log.error("lost the P4Runtime stream: %s", self.driver.client.stream_failure)
                self.shutdown()
                return 1
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        """Stop serving; the NIC keeps its tables (they are the data plane's state)."""
        if self.server is not None:
            try:
                self.server.stop()
            except OSError:
                pass
            self.server = None
        if self.capture is not None:
            self.capture.stop()
            log.info("capture: %s", self.capture.stats.to_dict())
            self.capture = None
        self.driver.close()
        if self.engine is not None:
            self.engine.terminate()       # by PID: it prints its counters and exits
            try:
                self.engine.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.engine.kill()
                self.engine.wait()
            self.engine = None
        try:
            os.unlink(self.cfg.pid_path)
        except FileNotFoundError:
            pass
