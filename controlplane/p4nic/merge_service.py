"""Control-socket requests of the redundant-stream merge (``p4nic merge ...``).

Registered into :class:`p4nic.service.NicService`; every request is checked
(``check_merge_request``) before anything talks to the device.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from p4nic.driver import NicDriver
from p4nic.merge import MergeGroup, MergeManager, MergeStream
from p4nic.model import NicConfigError, _check_range

STREAM_KEY = ("dst", "dport", "src", "in_port")


def _group_id(args: dict[str, Any]) -> int:
    g = args.get("group")
    if g is None:
        raise NicConfigError("missing group")
    return _check_range("group", g, 0, 63)


def check_merge_request(op: str, args: dict[str, Any]) -> None:
    """Refuse a malformed merge request with the reason."""
    if op == "merge.group.add":
        MergeGroup.from_dict(args)
    elif op == "merge.stream.add":
        MergeStream.from_dict(args)
    elif op in ("merge.group.del", "merge.group.show", "merge.counters", "merge.stream.del",
                "merge.post", "merge.retire"):
        _group_id(args)
        if op == "merge.post":
            for k in ("frame", "mkey", "buf_base"):
                if not isinstance(args.get(k), int):
                    raise NicConfigError(f"merge post needs an integer {k}")
        if op == "merge.retire" and not isinstance(args.get("frame"), int):
            raise NicConfigError("merge retire needs an integer frame")
        if op == "merge.stream.del" and ("dst" not in args or "dport" not in args):
            raise NicConfigError("merge stream del needs dst and dport (and src/in_port "
                                 "if the stream has them)")


def merge_ops(driver: NicDriver, daemon: bool) -> dict[str, Callable[[dict[str, Any]], Any]]:
    """op name -> handler, on the driver's MergeManager."""

    def mm() -> MergeManager:
        m: MergeManager = driver.merge
        if not daemon and not m.adopted:
            m.adopt()      # one-shot: act on what is on the device
        return m

    def group_add(a: dict[str, Any]) -> dict[str, Any]:
        return mm().create_group(MergeGroup.from_dict(a)).to_dict()

    def group_del(a: dict[str, Any]) -> dict[str, Any]:
        mm().delete_group(_group_id(a))
        return {"removed": a["group"]}

    def group_list(a: dict[str, Any]) -> list[dict[str, Any]]:
        m = mm()
        return [m.group_info(g.group) for g in m.groups()]

    def group_show(a: dict[str, Any]) -> dict[str, Any]:
        return mm().group_info(_group_id(a))

    def stream_add(a: dict[str, Any]) -> dict[str, Any]:
        return mm().add_stream(MergeStream.from_dict(a)).to_dict()

    def stream_del(a: dict[str, Any]) -> dict[str, Any]:
        probe = MergeStream(group=_group_id(a), stream=0, dst=a["dst"], dport=a["dport"],
                            src=a.get("src"), in_port=a.get("in_port"))
        mm().remove_stream(probe.group, probe.key())
        return {"removed": dict(zip(STREAM_KEY, probe.key()))}

    def post(a: dict[str, Any]) -> dict[str, Any]:
        pf = mm().post_frame(_group_id(a), a["frame"], a["mkey"], a["buf_base"])
        return {"frame": pf.frame, "tag": pf.tag, "first_psn": pf.first_psn,
                "last_psn": pf.last_psn, "buf_base": pf.buf_base, "mkey": pf.mkey}

    def retire(a: dict[str, Any]) -> dict[str, Any]:
        mm().retire_frame(_group_id(a), a["frame"])
        return {"retired": a["frame"]}

    def counters(a: dict[str, Any]) -> dict[str, Any]:
        m = mm()
        g = _group_id(a)
        out: dict[str, Any] = dict(m.counters(g))
        try:
            out["streams"] = [{**s.to_dict(), "packets": m.stream_counters(s)[0],
                               "bytes": m.stream_counters(s)[1]} for s in m.streams(g)]
        except NicConfigError:
            out["streams"] = []
        return out

    return {"merge.group.add": group_add, "merge.group.del": group_del,
            "merge.group.list": group_list, "merge.group.show": group_show,
            "merge.stream.add": stream_add, "merge.stream.del": stream_del,
            "merge.post": post, "merge.retire": retire, "merge.counters": counters}
