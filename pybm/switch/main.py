"""pybm-switch: a BMv2 JSON v1model switch with a P4Runtime server.

Command line of the same shape as simple_switch / simple_switch_grpc::

    pybm-switch [--json] PROG.json -i 0@veth0 -i 1@veth2 \\
        --grpc-addr 127.0.0.1:9559 --cpu-port 255
    pybm-switch --no-p4 -i 0@veth0 ...        # wait for SetForwardingPipelineConfig
    pybm-switch --use-files 0 -i 0@foo PROG.json   # foo_in.pcap -> foo_out.pcap

Target options may follow ``--`` as with simple_switch_grpc.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from typing import NoReturn

from pybm.switch.engine import Switch
from pybm.switch.errors import ConfigError
from pybm.switch.ports import FilePort, InterfacePort, PortManager

log = logging.getLogger("pybm.switch")

LOG_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO,
              "warn": logging.WARNING, "error": logging.ERROR, "off": logging.CRITICAL + 1}


def _interface(text: str) -> tuple[int, str]:
    port, sep, name = text.partition("@")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"'{text}': expected PORT@INTERFACE, e.g. 0@veth0")
    try:
        n = int(port, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}': port '{port}' is not a number") from None
    if not 0 <= n <= 510:
        raise argparse.ArgumentTypeError(f"'{text}': port {n} out of range 0..510")
    return n, name


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # simple_switch (bm::OptionsParser) exits with status 1 on a bad command line
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    ap = _ArgumentParser(
        prog="pybm-switch",
        description="BMv2-compatible v1model software switch with a P4Runtime server (pybm).")
    ap.add_argument("json_pos", nargs="?", metavar="JSON", help="BMv2 JSON program")
    ap.add_argument("--json", help="BMv2 JSON program (alternative to the positional argument)")
    ap.add_argument("-i", "--interface", action="append", type=_interface, default=[],
                    metavar="PORT@IFACE", help="bind switch port PORT to a Linux interface (repeatable)")
    ap.add_argument("--no-p4", action="store_true",
                    help="start without a program and wait for SetForwardingPipelineConfig")
    ap.add_argument("--use-files", type=float, metavar="WAIT",
                    help="ports are pcap files: IFACE_in.pcap is read, IFACE_out.pcap written, "
                         "after waiting WAIT seconds")
    ap.add_argument("--exit-when-done", action="store_true",
                    help="with --use-files: exit once the input files are processed (pybm extension)")
    ap.add_argument("--pcap", nargs="?", const=".", metavar="DIR",
                    help="write IFACE_in.pcap / IFACE_out.pcap of every port's traffic into DIR")
    ap.add_argument("--device-id", type=int, default=0)
    ap.add_argument("--log-console", action="store_true", help="log packet processing to stderr")
    ap.add_argument("--log-level", "-L", choices=sorted(LOG_LEVELS), default=None)
    ap.add_argument("--log-file", help="also write the log to this file")
    ap.add_argument("--grpc-addr", "--grpc-server-addr", dest="grpc_addr", default="127.0.0.1:9559",
                    help="P4Runtime server address (default 127.0.0.1:9559)")
    ap.add_argument("--no-grpc", action="store_true", help="do not start the P4Runtime server")
    ap.add_argument("--cpu-port", type=int, default=None,
                    help="port number carrying P4Runtime PacketIn/PacketOut (e.g. 255)")
    ap.add_argument("--drop-port", type=int, default=511)
    ap.add_argument("--priority-queues", type=int, default=1, metavar="N",
                    help="strict-priority egress queues per port (standard_metadata.priority)")
    ap.add_argument("--thrift-port", type=int, help="accepted for compatibility; pybm has no Thrift server")
    return ap


def main(argv: list[str] | None = None) -> int:  # noqa: C901 - one start-up sequence
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = [a for a in argv if a != "--"]  # simple_switch_grpc target options separator
    ap = build_parser()
    args = ap.parse_args(argv)

    level = LOG_LEVELS[args.log_level] if args.log_level else (
        logging.DEBUG if args.log_console else logging.INFO)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if args.log_file:
        handlers.append(logging.FileHandler(args.log_file))
    logging.basicConfig(level=level, handlers=handlers,
                        format="[%(asctime)s.%(msecs)03d] [pybm] [%(levelname).1s] %(message)s",
                        datefmt="%H:%M:%S")

    json_path = args.json or args.json_pos
    if args.no_p4 and json_path:
        ap.error("--no-p4 and a JSON program are mutually exclusive")
    if not args.no_p4 and not json_path:
        ap.error("a BMv2 JSON program is required (or --no-p4)")
    if args.priority_queues < 1 or args.priority_queues > 8:
        ap.error("--priority-queues must be between 1 and 8")
    if args.cpu_port is not None and not 0 <= args.cpu_port <= 511:
        ap.error("--cpu-port must be between 0 and 511")
    if args.thrift_port is not None:
        log.warning("--thrift-port ignored: pybm-switch has no Thrift server (use P4Runtime)")
    if args.exit_when_done and args.use_files is None:
        ap.error("--exit-when-done needs --use-files")
    if args.pcap and not os.path.isdir(args.pcap):
        ap.error(f"--pcap: '{args.pcap}' is not a directory")

    sw = Switch(device_id=args.device_id, drop_port=args.drop_port, cpu_port=args.cpu_port,
                priority_queues=args.priority_queues, trace=args.log_console)
    if json_path:
        try:
            with open(json_path, "rb") as f:
                sw.load_config(f.read())
        except OSError as e:
            print(f"pybm-switch: cannot read '{json_path}': {e.strerror}", file=sys.stderr)
            return 1
        except ConfigError as e:
            print(f"pybm-switch: {json_path}: {e}", file=sys.stderr)
            return 1

    ports = PortManager(sw, cpu_port=args.cpu_port)
    ports.pcap_dir = args.pcap
    try:
        for number, name in args.interface:
            if args.use_files is not None:
                ports.add(FilePort(number, name))
            else:
                ports.add(InterfacePort(number, name))
    except (OSError, ValueError) as e:
        print(f"pybm-switch: {e}", file=sys.stderr)
        ports.close()
        return 1

    server = None
    if not args.no_grpc:
        try:
            from pybm.switch.p4runtime.server import P4RuntimeServer
        except ImportError as e:
            print(f"pybm-switch: P4Runtime server unavailable: {e}", file=sys.stderr)
            return 1
        server = P4RuntimeServer(sw, device_id=args.device_id, cpu_port=args.cpu_port)
        try:
            bound = server.start(args.grpc_addr)
        except Exception as e:  # address in use, bad address
            print(f"pybm-switch: cannot start P4Runtime server on {args.grpc_addr}: {e}",
                  file=sys.stderr)
            ports.close()
            return 1
        ports.packet_in = server.packet_in
        log.info("P4Runtime server listening on %s (port %s)", args.grpc_addr, bound)

    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    ports.start()
    for number, p in sorted(ports.ports.items()):
        log.info("port %d bound to %s", number, p.name)
    if args.use_files is not None:
        t0 = time.process_time()
        n = ports.run_files(args.use_files)
        cpu = time.process_time() - t0
        log.info("processed %d frames from files in %.3f s CPU", n, cpu)
        if args.exit_when_done:
            stop.set()
    while not stop.wait(0.5):
        pass
    if server is not None:
        server.stop(grace=0.5)
    ports.close()
    log.info("stopped; counters: %s", sw.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
