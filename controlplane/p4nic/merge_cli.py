"""``p4nic merge ...``, ``p4nic merge-send`` and ``p4nic merge-recv``: the command line of
the redundant-stream merge offload (seed 000). Wired into p4nic.cli."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from p4nic import p4names as n


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None


def _prob(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"'{text}': a probability is in 0..1")
    return v


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v, 0) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}': expected numbers like 20,17,25") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': positive numbers")
    return values


def _stream_spec(text: str) -> dict[str, Any]:
    """src=IP,port=N,offset=K (any of them): how a stream is told apart."""
    out: dict[str, Any] = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not sep or key not in ("src", "port", "offset"):
            raise argparse.ArgumentTypeError(
                f"'{text}': expected src=IP,port=N,offset=K (any of them)")
        if key == "src":
            out["src"] = value
        else:
            out["in_port" if key == "port" else "psn_offset"] = _int(value)
    return out


def _group_flags(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--group", type=_int, required=True, help="merge group 0..63")
    p.add_argument("--slice-size", type=_int, required=required, help="B: payload bytes per slice")
    p.add_argument("--slices", type=_int, required=required, dest="slices_per_frame",
                   help="N: slices per frame")
    p.add_argument("--header-size", type=_int,
                   help="UDP payload bytes before the slice (12 RTP + payload header)")
    p.add_argument("--first-psn", type=_int, help="X: first PSN of frame 0")
    p.add_argument("--window", type=_int, help=f"dedup window in PSNs (1..{n.MERGE_WINDOW_MAX})")
    p.add_argument("--max-jump", type=_int, help="PSNs ahead that resynchronise the group")
    p.add_argument("--mode", choices=["drop", "overwrite"])
    p.add_argument("--esn", action="store_true", default=None,
                   help="32-bit PSNs from RFC 4175's extended sequence number")
    p.add_argument("--record-port", type=_int, help="port of the records (default: placement)")


def add_merge_commands(cmd: Callable[[str, str], argparse.ArgumentParser],
                       common: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    m = cmd("merge", "redundant-stream merge groups, streams, work items, counters")
    msub = m.add_subparsers(dest="action", metavar="ACTION", required=True)

    def sub(name: str, help_text: str) -> argparse.ArgumentParser:
        p = msub.add_parser(name, help=help_text, description=help_text)
        common(p, True)
        return p

    p = sub("group-add", "create a merge group (its QP context)")
    _group_flags(p, True)
    p.add_argument("--ring-slices", type=_int,
                   help="cyclic buffer of this many slices (a power of two; --slices is then "
                        "the completion chunk): no work items")
    p.add_argument("--ring-mkey", type=_int, help="memory key of the cyclic buffer's region")
    p.add_argument("--ring-base", type=_int, help="bus address of the cyclic buffer")
    p = sub("group-del", "remove a group with its streams and work items")
    p.add_argument("--group", type=_int, required=True)
    sub("groups", "groups on the device, with streams and posted work items")
    for name, text in (("stream-add", "add a received stream to a group"),
                       ("stream-del", "remove a stream")):
        p = sub(name, text)
        p.add_argument("--group", type=_int, required=True)
        p.add_argument("--stream", type=_int, default=0, help="stream index in the group")
        p.add_argument("--dst", required=True)
        p.add_argument("--dport", type=_int, required=True)
        p.add_argument("--src", help="source address or prefix")
        p.add_argument("--in-port", type=_int, help="wire port the stream arrives on")
        if name == "stream-add":
            p.add_argument("--psn-offset", type=_int, help="group PSN = RTP seq + offset")
    p = sub("post", "post the work item of a frame (buffer at --buf-base of region --mkey)")
    p.add_argument("--group", type=_int, required=True)
    p.add_argument("--frame", type=_int, required=True)
    p.add_argument("--mkey", type=_int, required=True)
    p.add_argument("--buf-base", type=_int, required=True)
    p = sub("retire", "remove a frame's work item")
    p.add_argument("--group", type=_int, required=True)
    p.add_argument("--frame", type=_int, required=True)
    p = sub("counters", "a group's counters")
    p.add_argument("--group", type=_int, required=True)

    p = cmd("merge-send", "send raw video frames as 1-3 redundant RTP streams, impaired")
    p.add_argument("--iface", action="append", required=True,
                   help="interface of a stream (repeat: one per stream)")
    p.add_argument("--src", action="append", help="source address of a stream (repeat)")
    p.add_argument("--dst", required=True)
    p.add_argument("--dport", type=_int, default=5004)
    p.add_argument("--dst-mac", default="02:00:00:00:00:01")
    p.add_argument("--frames", type=_int, default=100)
    p.add_argument("--slices", type=_int, default=20)
    p.add_argument("--frame-slices", type=_int_list,
                   help="frames of these packet counts in turn (e.g. 20,17,25): varying sizes")
    p.add_argument("--slice-size", type=_int, default=1200)
    p.add_argument("--header-bytes", type=_int, default=0, help="payload header after RTP")
    p.add_argument("--first-seq", type=_int, default=0)
    p.add_argument("--input", help="raw video file (default: a generated test pattern)")
    p.add_argument("--rate", type=float, default=2000.0, help="packets/s per stream")
    p.add_argument("--loss", type=_prob, action="append", help="per stream (repeat)")
    p.add_argument("--dup", type=_prob, action="append")
    p.add_argument("--reorder", type=_prob, action="append")
    p.add_argument("--reorder-depth", type=_int, default=4)
    p.add_argument("--delay-ms", type=float, action="append")
    p.add_argument("--seed", type=_int, default=1)

    p = cmd("merge-recv", "the receiving application: group, agent, frames to a directory")
    p.add_argument("--iface", required=True, help="interface of the NIC's placement port")
    p.add_argument("--out", required=True, help="directory for frames and manifest.json")
    _group_flags(p, True)
    p.add_argument("--dst", required=True)
    p.add_argument("--dport", type=_int, default=5004)
    p.add_argument("--stream", type=_stream_spec, action="append", required=True,
                   help="src=IP,port=N,offset=K: one per redundant stream")
    p.add_argument("--frames", type=_int, default=100, help="stop after N frames")
    p.add_argument("--ring", type=_int,
                   help="frame buffers in flight (default: enough for the window, at least 8)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="stop after S seconds without a completion")
    p.add_argument("--png-width", type=_int, help="also write frames as PNG, W pixels wide")
    p.add_argument("--cyclic", type=_int, metavar="RING_SLICES",
                   help="cyclic buffer of RING_SLICES slices (a power of two), no work items; "
                        "--slices is then the completion chunk, frames are cut at the RTP "
                        "markers")


def merge_request(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    a = ns.action

    def pick(*names: str) -> dict[str, Any]:
        return {k: getattr(ns, k) for k in names if getattr(ns, k, None) is not None}

    if a == "group-add":
        args = group_args(ns)
        if ns.ring_slices is not None:
            args.update(cyclic=True, ring_slices=ns.ring_slices, ring_mkey=ns.ring_mkey or 0,
                        ring_base=ns.ring_base or 0)
        elif ns.ring_mkey is not None or ns.ring_base is not None:
            raise ValueError("--ring-mkey/--ring-base describe a cyclic buffer: give "
                             "--ring-slices too")
        return "merge.group.add", args
    if a == "group-del":
        return "merge.group.del", pick("group")
    if a == "groups":
        return "merge.group.list", {}
    if a == "stream-add":
        return "merge.stream.add", pick("group", "stream", "dst", "dport", "src", "in_port",
                                        "psn_offset")
    if a == "stream-del":
        return "merge.stream.del", pick("group", "dst", "dport", "src", "in_port")
    if a == "post":
        return "merge.post", pick("group", "frame", "mkey", "buf_base")
    if a == "retire":
        return "merge.retire", pick("group", "frame")
    return "merge.counters", pick("group")


def group_args(ns: argparse.Namespace) -> dict[str, Any]:
    names = ("group", "slice_size", "slices_per_frame", "header_size", "first_psn", "window",
             "max_jump", "mode", "esn", "record_port")
    return {k: getattr(ns, k) for k in names if getattr(ns, k, None) is not None}


def _per_stream(values: list | None, count: int, default: Any, what: str) -> list:
    if not values:
        return [default] * count
    if len(values) == 1:
        return values * count
    if len(values) != count:
        raise ValueError(f"--{what}: give one value, or one per stream ({count})")
    return values


class _Progress:
    """A progress line on a TTY (stderr), nothing otherwise."""

    def __init__(self, what: str):
        self.what = what
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            print(f"\r{self.what}: {done}/{total}", end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def cmd_merge_send(ns: argparse.Namespace) -> int:
    from p4nic.mergetools import (
        Impairment,
        SendPlan,
        frames_from_file,
        merge_send,
        pattern_frame,
    )
    count = len(ns.iface)
    srcs = _per_stream(ns.src, count, None, "src")
    srcs = [s or f"10.0.{i + 1}.2" for i, s in enumerate(srcs)]
    imps = [Impairment(loss=lo, dup=d, reorder=r, reorder_depth=ns.reorder_depth, delay_ms=dl)
            for lo, d, r, dl in zip(_per_stream(ns.loss, count, 0.0, "loss"),
                                     _per_stream(ns.dup, count, 0.0, "dup"),
                                     _per_stream(ns.reorder, count, 0.0, "reorder"),
                                     _per_stream(ns.delay_ms, count, 0.0, "delay-ms"))]
    plan = SendPlan(ns.frames, ns.slices, ns.slice_size, ns.first_seq, ns.header_bytes, ns.rate,
                    tuple(ns.frame_slices or ()))
    frame_bytes = ns.slices * ns.slice_size
    if ns.input and ns.frame_slices:
        raise ValueError("--frame-slices goes with the test pattern, not --input")
    if ns.input:
        if not os.path.isfile(ns.input):
            raise ValueError(f"--input {ns.input}: no such file")
        data = list(frames_from_file(ns.input, frame_bytes))
        if not data:
            raise ValueError(f"--input {ns.input} is empty")

        def source(i: int) -> bytes:
            return data[i % len(data)]
    else:
        def source(i: int) -> bytes:
            return pattern_frame(i, plan.slices_of(i) * ns.slice_size)
    prog = _Progress("merge-send packets")
    res = merge_send(ns.iface, ns.dst, ns.dport, srcs, plan, imps, ns.seed, source,
                     ns.dst_mac, progress=prog)
    prog.end()
    print(f"sent {res['frames']} frames: {' + '.join(map(str, res['packets']))} packets "
          f"in {res['seconds']:.2f} s")
    return 0


def cmd_merge_recv(ns: argparse.Namespace, ports: Any) -> int:
    from p4nic.mergetools import Backend, merge_recv, merge_recv_cyclic
    group = group_args(ns)
    streams = [{"group": ns.group, "stream": i, "dst": ns.dst, "dport": ns.dport, **spec}
               for i, spec in enumerate(ns.stream)]
    from p4nic.merge import MergeGroup
    k = MergeGroup.from_dict(group).expiry_distance
    if ns.ring is None:
        ns.ring = min(2 * n.MERGE_FRAME_SLOTS, max(8, k + 3))
    if ns.ring < 1 or ns.ring > 2 * n.MERGE_FRAME_SLOTS:
        raise ValueError(f"--ring {ns.ring}: 1..{2 * n.MERGE_FRAME_SLOTS} buffers")
    if not ns.cyclic:
        if ns.ring <= k:
            # a frame with a slice lost everywhere keeps its buffer until the window has
            # moved k frames past it: with fewer buffers the sender runs out of work items
            raise ValueError(f"--ring {ns.ring}: a window of {group.get('window', 480)} PSNs "
                             f"reports a frame with missing slices {k} frames later; give "
                             f"--ring above {k} (or a smaller --window)")
    sock = ns.socket or os.path.join(ns.state_dir, "p4nic.sock")
    backend = Backend(sock, ns.grpc_addr, ns.device_id, ns.election_id, ports)
    prog = _Progress("merge-recv frames")
    try:
        if ns.cyclic:
            res = merge_recv_cyclic(backend, ns.iface, ns.out, group, streams, ns.frames,
                                    ns.cyclic, ns.timeout, progress=prog)
        else:
            res = merge_recv(backend, ns.iface, ns.out, group, streams, ns.frames, ns.ring,
                             ns.timeout, ns.png_width, progress=prog)
    finally:
        prog.end()
        backend.close()
    missing = sum(1 for f in res.frames or [] if f["status"] == "not completed")
    print(f"{res.complete} frames complete, {res.errors} with missing slices, "
          f"{missing} not completed; manifest: {os.path.join(ns.out, 'manifest.json')}")
    return 0
