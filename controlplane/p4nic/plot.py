"""PNG figures of what the NIC measured and delivered (``p4nic plot``).

Four figures, each from files the other commands write:

* :func:`dispersion_png` -- per flow, the inter-arrival gaps (dispersion) the
  NIC stamped, over time and as a histogram, with the mean dispersion and the
  path-capacity estimate of seed 002 (p4nic.netprops);
* :func:`timeline_png` -- a capture (pcapng of the capture agent): packets per
  flow and direction over NIC time (cumulative counts);
* :func:`merge_png` -- merge-recv's ``manifest.json``: complete and error
  completions over NIC time, and the group's NIC counters;
* :func:`frames_png` -- reconstructed frames (merge-recv's PNGs) tiled.

matplotlib draws with its Agg backend (no display). Each function returns a
small summary of what it drew, which the tests and the command print.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from p4nic.netmon import FlowArrivals  # noqa: E402
from p4nic.netprops import dispersions, estimate  # noqa: E402
from p4nic.pcapng import PacketRecord  # noqa: E402

DPI = 100


def _save(fig: Figure, out: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


# ---- (a) dispersion -----------------------------------------------------------------------
def dispersion_png(flows: dict[int, FlowArrivals], out: str, title: str = "") -> dict[str, Any]:
    """Gaps over time and their histogram, one row per flow (at most 6 flows)."""
    usable = {fid: f for fid, f in sorted(flows.items()) if len(f.arrivals_us) >= 2}
    if not usable:
        raise ValueError("no flow with two or more timestamped arrivals")
    shown = list(usable.items())[:6]
    fig, axes = plt.subplots(len(shown), 2, figsize=(11, 3.2 * len(shown)), squeeze=False,
                             gridspec_kw={"width_ratios": [2, 1]})
    summary: dict[str, Any] = {"flows": {}}
    for row, (fid, f) in zip(axes, shown):
        order = sorted(range(len(f.arrivals_us)), key=lambda i: f.arrivals_us[i])
        arr = [f.arrivals_us[i] for i in order]
        sizes = [f.sizes[i] for i in order]
        gaps = dispersions(arr)
        props = estimate(arr, sizes)
        t = [(a - arr[0]) * 1e-6 for a in arr[1:]]
        mean = props.mean_dispersion_us
        cap = props.capacity_bps
        row[0].plot(t, gaps, ".", markersize=3, color="tab:blue", label="gap")
        row[0].axhline(mean, color="tab:red", label=f"mean {mean:.1f} us")
        row[0].set_xlabel("NIC time since the flow's first arrival (s)")
        row[0].set_ylabel("inter-arrival gap (us)")
        row[0].set_title(f"flow {fid}: {len(arr)} packets, capacity estimate "
                         f"{cap / 1e6:.2f} Mbit/s")
        row[0].legend(loc="upper right")
        row[0].grid(alpha=0.3)
        bins = min(50, max(5, int(math.sqrt(len(gaps)))))
        row[1].hist(gaps, bins=bins, color="tab:blue", alpha=0.8)
        row[1].axvline(mean, color="tab:red")
        row[1].set_xlabel("gap (us)")
        row[1].set_ylabel("packets")
        row[1].set_title("dispersion")
        summary["flows"][fid] = {"packets": len(arr), "mean_dispersion_us": mean,
                                 "capacity_bps": cap}
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, out)
    return summary


# ---- (b) capture timeline -------------------------------------------------------------------
def nic_time_us(rec: PacketRecord) -> int:
    """The raw NIC time of a capture agent's packet (its comment), else its timestamp."""
    for c in rec.comments:
        for word in c.split():
            if word.startswith("nic_ts="):
                return int(word[7:])
    return rec.ts_us


def direction_of(rec: PacketRecord) -> str:
    text = " ".join(rec.comments)
    if "dir=tx" in text:
        return "tx"
    if "dir=rx" in text:
        return "rx"
    return "?"


def flow_label(frame: bytes) -> str:
    """``src:port > dst:port proto`` of an Ethernet frame (802.1Q tags skipped)."""
    off, ethertype = 14, int.from_bytes(frame[12:14], "big") if len(frame) >= 14 else 0
    while ethertype in (0x8100, 0x88A8) and len(frame) >= off + 4:
        ethertype = int.from_bytes(frame[off + 2:off + 4], "big")
        off += 4
    if ethertype == 0x0800 and len(frame) >= off + 20:
        proto = frame[off + 9]
        src = ipaddress.IPv4Address(frame[off + 12:off + 16])
        dst = ipaddress.IPv4Address(frame[off + 16:off + 20])
        l4 = off + (frame[off] & 0x0F) * 4
        fragment = int.from_bytes(frame[off + 6:off + 8], "big") & 0x1FFF
    elif ethertype == 0x86DD and len(frame) >= off + 40:
        proto = frame[off + 6]
        src = ipaddress.IPv6Address(frame[off + 8:off + 24])
        dst = ipaddress.IPv6Address(frame[off + 24:off + 40])
        l4, fragment = off + 40, 0
    else:
        return f"ethertype 0x{ethertype:04x}"
    names = {6: "tcp", 17: "udp", 50: "esp", 1: "icmp", 58: "icmpv6"}
    pname = names.get(proto, str(proto))
    if proto in (6, 17) and not fragment and len(frame) >= l4 + 4:
        sport = int.from_bytes(frame[l4:l4 + 2], "big")
        dport = int.from_bytes(frame[l4 + 2:l4 + 4], "big")
        return f"{src}:{sport} > {dst}:{dport} {pname}"
    return f"{src} > {dst} {pname}"


def timeline_png(records: Iterable[PacketRecord], out: str, title: str = "",
                 max_flows: int = 12) -> dict[str, Any]:
    """Cumulative packets per (flow, direction) over NIC time."""
    series: dict[tuple[str, str], list[int]] = {}
    for rec in records:
        series.setdefault((flow_label(rec.data), direction_of(rec)), []).append(nic_time_us(rec))
    if not series:
        raise ValueError("the capture holds no packets")
    t0 = min(min(v) for v in series.values())
    ranked = sorted(series.items(), key=lambda kv: -len(kv[1]))
    shown, rest = ranked[:max_flows], ranked[max_flows:]
    fig, ax = plt.subplots(figsize=(11, 5.5))
    for (label, d), times in shown:
        times = sorted(times)
        xs = [(t - t0) * 1e-6 for t in times]
        ax.step(xs, range(1, len(xs) + 1), where="post", linestyle="-" if d != "tx" else "--",
                label=f"{label} [{d}] ({len(xs)})")
        ax.plot(xs, range(1, len(xs) + 1), ".", markersize=3, color=ax.lines[-1].get_color())
    ax.set_xlabel("NIC time since the first captured packet (s)")
    ax.set_ylabel("packets captured (cumulative)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title or f"capture timeline: {sum(len(v) for v in series.values())} packets, "
                 f"{len(series)} flow directions" + (f" ({len(rest)} not shown)" if rest else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    _save(fig, out)
    return {"packets": sum(len(v) for v in series.values()),
            "flows": {f"{label} [{d}]": len(v) for (label, d), v in ranked}}


# ---- (c) merge statistics -------------------------------------------------------------------
def _numeric(d: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in d.items() if isinstance(v, (int, float))
            and not isinstance(v, bool)}


def merge_png(manifests: Sequence[dict[str, Any]], out: str, title: str = "") -> dict[str, Any]:
    """Per manifest (one merge group each): complete and error completions over NIC
    time, missing slices of the error frames, and the group's NIC counters."""
    if not manifests:
        raise ValueError("no manifest")
    fig, axes = plt.subplots(len(manifests), 2, figsize=(12, 3.8 * len(manifests)),
                             squeeze=False, gridspec_kw={"width_ratios": [3, 2]})
    summary: dict[str, Any] = {"groups": []}
    for row, man in zip(axes, manifests):
        group = (man.get("group") or {}).get("group", "?")
        done = [f for f in man.get("frames", []) if f.get("nic_ts_us") is not None]
        done.sort(key=lambda f: f["nic_ts_us"])
        t0 = done[0]["nic_ts_us"] if done else 0
        ok = [(f["nic_ts_us"] - t0) * 1e-6 for f in done if f.get("status") == "complete"]
        bad = [f for f in done if f.get("status") != "complete"]
        bad_t = [(f["nic_ts_us"] - t0) * 1e-6 for f in bad]
        ax = row[0]
        if ok:
            ax.step(ok, range(1, len(ok) + 1), where="post", color="tab:green",
                    label=f"complete ({len(ok)})")
        if bad_t:
            ax.step(bad_t, range(1, len(bad_t) + 1), where="post", color="tab:red",
                    label=f"error completions ({len(bad_t)})")
            ax2 = ax.twinx()
            ax2.plot(bad_t, [f.get("missing", 0) for f in bad], "x", color="tab:red", alpha=0.6)
            ax2.set_ylabel("missing slices of an error frame", color="tab:red")
        pending = len(man.get("frames", [])) - len(done)
        ax.set_xlabel("NIC time since the first completion (s)")
        ax.set_ylabel("frames (cumulative)")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"merge group {group}: {len(ok)} complete, {len(bad_t)} error, "
                     f"{pending} not completed")
        ax.grid(alpha=0.3)
        if ok or bad_t:
            ax.legend(loc="upper left")
        counters = _numeric(man.get("nic_counters") or {})
        ax = row[1]
        if counters:
            names = list(counters)
            ax.barh(names, [counters[k] for k in names], color="tab:blue")
            for y, k in enumerate(names):
                ax.text(counters[k], y, f" {int(counters[k])}", va="center", fontsize=8)
            ax.invert_yaxis()
        ax.set_title("NIC counters of the group")
        ax.tick_params(axis="y", labelsize=8)
        summary["groups"].append({"group": group, "complete": len(ok), "errors": len(bad_t),
                                  "not_completed": pending, "counters": counters})
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, out)
    return summary


# ---- (d) reconstructed frames ---------------------------------------------------------------
def frames_png(images: Sequence[tuple[str, str]], out: str, cols: int = 4,
               title: str = "") -> dict[str, Any]:
    """Tile PNG images, each as (path, caption)."""
    if not images:
        raise ValueError("no frame images")
    cols = max(1, min(cols, len(images)))
    rows = math.ceil(len(images) / cols)
    first = plt.imread(images[0][0])
    h, w = first.shape[:2]
    tile = 3.5                                  # inches per tile, the longer side
    tw, th = (tile, tile * h / w) if w >= h else (tile * w / h, tile)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * tw, rows * (th + 0.3) + 0.4),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (path, caption) in zip(axes.flat, images):
        img = plt.imread(path)
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_title(caption, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, out)
    return {"frames": len(images), "grid": [rows, cols], "frame_size": [w, h]}
