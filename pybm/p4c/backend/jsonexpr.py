"""Builders for BMv2 JSON expression objects, formatted as p4c-bm2-ss does."""
from __future__ import annotations

from typing import Any


def hexstr(value: int, width: int | None = None) -> dict:
    return {"type": "hexstr", "value": hexval(value, width)}


def hexval(value: int, width: int | None = None) -> str:
    neg = value < 0
    v = -value if neg else value
    if width:
        s = format(v, f"0{(width + 3) // 4}x")
    else:
        s = format(v, "x")
    return ("-0x" if neg else "0x") + s


def boolean(v: bool) -> dict:
    return {"type": "bool", "value": bool(v)}


def op(name: str, left: Any, right: Any) -> dict:
    return {"type": "expression", "value": {"op": name, "left": left, "right": right}}


def ternary(cond: dict, a: dict, b: dict) -> dict:
    return {"type": "expression", "value": {"op": "?", "left": a, "right": b, "cond": cond}}


def d2b(j: dict) -> dict:
    return op("d2b", None, j)


def b2d(j: dict) -> dict:
    return op("b2d", None, j)


def param(j: dict) -> dict:
    """A primitive parameter: computed expressions get one more wrapping level."""
    if j.get("type") == "expression":
        return {"type": "expression", "value": j}
    return j


def mask_unsigned(j: dict, width: int) -> dict:
    return op("&", j, hexstr((1 << width) - 1, width))


def two_comp(j: dict, width: int) -> dict:
    return op("two_comp_mod", j, hexstr(width))


def runtime_data_as_locals(prims: list[dict]) -> list[dict]:
    """Inside an expression BMv2 reads an action parameter as {"type": "local"}
    ("runtime_data" only as a primitive's own parameter), as p4c writes it."""
    def fix(j: Any, inside: bool) -> Any:
        if isinstance(j, dict):
            if inside and j.get("type") == "runtime_data":
                return {"type": "local", "value": j["value"]}
            nested = inside or j.get("type") == "expression"
            return {k: fix(v, nested) for k, v in j.items()}
        if isinstance(j, list):
            return [fix(v, inside) for v in j]
        return j
    return [{**p, "parameters": [fix(x, False) for x in p.get("parameters", [])]} for p in prims]
