"""P4 integer literal parsing: [width][w|s](0x|0o|0d|0b)?digits with '_' separators."""
from __future__ import annotations

import re

_LIT = re.compile(r"^(?:(\d+)([ws]))?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[dD][0-9_]+|0[bB][01_]+|\d[0-9_]*)$")


def parse_int_literal(text: str) -> tuple[int, int | None, bool]:
    """Return (value, width or None, signed). Raises ValueError on bad syntax."""
    m = _LIT.match(text)
    if not m:
        raise ValueError(text)
    width = int(m.group(1)) if m.group(1) else None
    signed = m.group(2) == "s"
    digits = m.group(3).replace("_", "")
    low = digits[:2].lower()
    if low == "0x":
        value = int(digits[2:], 16)
    elif low == "0o":
        value = int(digits[2:], 8)
    elif low == "0d":
        value = int(digits[2:], 10)
    elif low == "0b":
        value = int(digits[2:], 2)
    else:
        value = int(digits, 10)
    return value, width, signed
