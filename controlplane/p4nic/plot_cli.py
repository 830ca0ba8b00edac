"""``p4nic plot``: PNG figures from what the other commands wrote (p4nic.plot draws them).

    p4nic plot dispersion RECORDS.pcapng|ARRIVALS.json --out gaps.png [--flow-id N]
    p4nic plot timeline CAPTURE.pcapng --out timeline.png
    p4nic plot merge DIR|manifest.json ... --out merge.png
    p4nic plot frames DIR --out frames.png [--count 8] [--cols 4]

Inputs: for ``dispersion``, frames of the NIC's records port or of a consumer
port with rx descriptors (``p4nic netprops --save F.pcapng``, or tshark/tcpdump
on ``p4nic5``), or JSON arrivals (``[{"flow_id": 1, "arrivals_us": [...],
"sizes": [...]}]``); for ``timeline``, a capture agent's pcapng; for ``merge``
and ``frames``, ``p4nic merge-recv``'s output directory (manifest.json, and the
frame PNGs of ``--png-width``). Wired into p4nic.cli.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
from collections.abc import Callable
from typing import Any


def add_plot_command(cmd: Callable[[str, str], argparse.ArgumentParser],
                     common: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    p = cmd("plot", "PNG figures: dispersion, capture timeline, merge statistics, frames")
    psub = p.add_subparsers(dest="action", metavar="FIGURE", required=True)

    def sub(name: str, help_text: str) -> argparse.ArgumentParser:
        q = psub.add_parser(name, help=help_text, description=help_text)
        common(q, True)
        q.add_argument("--out", "-o", required=True, help="PNG file to write")
        q.add_argument("--title", default="", help="figure title")
        return q

    q = sub("dispersion", "inter-arrival gaps per flow with the capacity estimate")
    q.add_argument("input", help="pcapng of records-port / consumer-port frames, or JSON arrivals")
    q.add_argument("--flow-id", type=int, help="only this flow")
    q = sub("timeline", "a capture's packets per flow and direction over NIC time")
    q.add_argument("input", help="pcapng written by the capture agent")
    q.add_argument("--max-flows", type=int, default=12)
    q = sub("merge", "merge-recv's completions over NIC time and the group's NIC counters")
    q.add_argument("input", nargs="+", help="merge-recv output directories or manifest.json files")
    q = sub("frames", "reconstructed frames (merge-recv --png-width) tiled")
    q.add_argument("input", help="merge-recv output directory")
    q.add_argument("--count", type=int, default=8, help="frames to show, spread over the run")
    q.add_argument("--cols", type=int, default=4)


def load_arrivals(path: str) -> dict[int, Any]:
    """Per-flow arrivals from JSON or from NIC frames in a pcapng file."""
    from p4nic.netmon import FlowArrivals, arrivals_from_frames
    from p4nic.pcapng import PcapngFormatError, read_pcapng
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    if path.endswith(".json"):
        with open(path) as f:
            data = json.load(f)
        items = data if isinstance(data, list) else [data]
        try:
            return {int(d["flow_id"]): FlowArrivals(int(d["flow_id"]), list(d["arrivals_us"]),
                                                    list(d["sizes"])) for d in items}
        except (KeyError, TypeError) as e:
            raise ValueError(f"{path}: expected flow_id, arrivals_us, sizes ({e})") from None
    try:
        return arrivals_from_frames(rec.data for rec in read_pcapng(path))
    except PcapngFormatError as e:
        raise ValueError(f"{path}: {e}") from None


def save_frames(path: str, iface: str, frames: list[bytes]) -> None:
    """Frames a NIC port delivered, as pcapng (``p4nic netprops --save``): the NIC
    times are inside the records, the packet times are when they were saved."""
    import time

    from p4nic.pcapng import PcapngWriter
    now = int(time.time() * 1e6)
    with PcapngWriter(path, comment=f"p4nic netprops: frames read on {iface}") as w:
        w.add_interface(0, 65535, iface)
        for data in frames:
            w.write_packet(0, now, data, len(data))


def load_manifest(path: str) -> dict[str, Any]:
    if os.path.isdir(path):
        path = os.path.join(path, "manifest.json")
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file (merge-recv writes it at the end)")
    with open(path) as f:
        return json.load(f)


def frame_images(out_dir: str, count: int) -> list[tuple[str, str]]:
    """Up to ``count`` frame PNGs of merge-recv's directory, evenly spread, with captions."""
    pngs = sorted(glob.glob(os.path.join(out_dir, "frame-*.png")))
    if not pngs:
        raise ValueError(f"{out_dir}: no frame-*.png (run merge-recv with --png-width)")
    info: dict[int, dict[str, Any]] = {}
    manifest = os.path.join(out_dir, "manifest.json")
    if os.path.isfile(manifest):
        with open(manifest) as f:
            info = {fr["frame"]: fr for fr in json.load(f).get("frames", [])}
    count = max(1, min(count, len(pngs)))
    picked = [pngs[round(i * (len(pngs) - 1) / max(1, count - 1))] for i in range(count)]
    out = []
    for path in dict.fromkeys(picked):
        n = int(os.path.basename(path)[6:-4])
        fr = info.get(n, {})
        caption = f"frame {n}"
        if "first_psn" in fr:
            caption += f", PSN {fr['first_psn']}"
        out.append((path, caption))
    return out


def cmd_plot(ns: argparse.Namespace) -> int:
    from p4nic import plot
    from p4nic.pcapng import read_pcapng
    if ns.action == "dispersion":
        flows = load_arrivals(ns.input)
        if ns.flow_id is not None:
            flows = {k: v for k, v in flows.items() if k == ns.flow_id}
        summary = plot.dispersion_png(flows, ns.out, ns.title)
        lines = [f"flow {fid}: {s['packets']} packets, mean dispersion "
                 f"{s['mean_dispersion_us']:.1f} us, capacity {s['capacity_bps'] / 1e6:.2f} Mbit/s"
                 for fid, s in summary["flows"].items()]
    elif ns.action == "timeline":
        if not os.path.isfile(ns.input):
            raise ValueError(f"{ns.input}: no such file")
        summary = plot.timeline_png(read_pcapng(ns.input), ns.out, ns.title, ns.max_flows)
        lines = [f"{summary['packets']} packets"] + [f"  {n:6d}  {k}"
                                                     for k, n in summary["flows"].items()]
    elif ns.action == "merge":
        summary = plot.merge_png([load_manifest(p) for p in ns.input], ns.out, ns.title)
        lines = [f"group {g['group']}: {g['complete']} complete, {g['errors']} error, "
                 f"{g['not_completed']} not completed" for g in summary["groups"]]
    else:
        summary = plot.frames_png(frame_images(ns.input, ns.count), ns.out, ns.cols, ns.title)
        lines = [f"{summary['frames']} frames in a {summary['grid'][0]}x{summary['grid'][1]} grid"]
    if getattr(ns, "json_out", False):
        print(json.dumps({"out": ns.out, **summary}, default=str))
    else:
        print("\n".join(lines + [f"wrote {ns.out}"]))
    return 0
