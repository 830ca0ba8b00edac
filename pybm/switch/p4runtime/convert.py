"""P4Runtime values <-> engine values.

Bytestrings follow the P4Runtime specification (section "Bytestrings"): the
server accepts any length as long as the value fits the P4Info bitwidth
(leading zero bytes are fine, an empty string is not) and answers with the
canonical, shortest encoding so that reads mirror writes. A value that does
not fit is refused with OUT_OF_RANGE.

Match fields follow section "Match Format": don't-care fields are omitted by
the client (and by us on reads), don't-care bits inside a value must be zero.
The engine's canonical match forms are those of :mod:`pybm.switch.tables`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from p4.v1 import p4data_pb2, p4runtime_pb2

from pybm.switch.p4runtime.errors import INVALID_ARGUMENT, OUT_OF_RANGE, P4RTError
from pybm.switch.p4runtime.pipeline import (
    COUNTER_BOTH,
    COUNTER_BYTES,
    COUNTER_PACKETS,
    EXACT,
    LPM,
    MATCH_NAMES,
    OPTIONAL,
    RANGE,
    TERNARY,
    ActionInfo,
    MatchFieldInfo,
)

# -- bytestrings ------------------------------------------------------------------


def decode_uint(data: bytes, bitwidth: int, what: str) -> int:
    """A bit<W> value; OUT_OF_RANGE if empty or wider than ``bitwidth``."""
    if not data:
        raise P4RTError(OUT_OF_RANGE, f"{what}: empty bytestring")
    value = int.from_bytes(data, "big")
    if value >> bitwidth:
        raise P4RTError(OUT_OF_RANGE, f"{what}: value {value:#x} does not fit in {bitwidth} bits")
    return value


def encode_uint(value: int) -> bytes:
    """Canonical (shortest, at least one byte) encoding of a bit<W> value."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def decode_int(data: bytes, bitwidth: int, what: str) -> int:
    """An int<W> value (two's complement, sign-extended); OUT_OF_RANGE if it does not fit."""
    if not data:
        raise P4RTError(OUT_OF_RANGE, f"{what}: empty bytestring")
    value = int.from_bytes(data, "big", signed=True)
    if bitwidth == 0 or not -(1 << (bitwidth - 1)) <= value < (1 << (bitwidth - 1)):
        raise P4RTError(OUT_OF_RANGE, f"{what}: value {value} does not fit in int<{bitwidth}>")
    return value


def encode_int(value: int) -> bytes:
    """Canonical encoding of an int<W> value."""
    n = 1
    while not -(1 << (8 * n - 1)) <= value < (1 << (8 * n - 1)):
        n += 1
    return value.to_bytes(n, "big", signed=True)


def to_unsigned(value: int, bitwidth: int) -> int:
    return value & ((1 << bitwidth) - 1)


def to_signed(value: int, bitwidth: int) -> int:
    value &= (1 << bitwidth) - 1
    return value - (1 << bitwidth) if bitwidth and value >> (bitwidth - 1) else value


def p4data_bitstring(value: int, bitwidth: int, signed: bool) -> p4data_pb2.P4Data:
    if signed:
        return p4data_pb2.P4Data(bitstring=encode_int(to_signed(value, bitwidth)))
    return p4data_pb2.P4Data(bitstring=encode_uint(to_unsigned(value, bitwidth)))


def p4data_to_int(data: p4data_pb2.P4Data, bitwidth: int, signed: bool, what: str) -> int:
    """The engine (unsigned) value of a bitstring P4Data."""
    if data.WhichOneof("data") != "bitstring":
        raise P4RTError(INVALID_ARGUMENT,
                        f"{what}: expected a bitstring P4Data, got {data.WhichOneof('data')}")
    if signed:
        return to_unsigned(decode_int(data.bitstring, bitwidth, what), bitwidth)
    return decode_uint(data.bitstring, bitwidth, what)


# -- match fields -----------------------------------------------------------------


def _prefix_mask(plen: int, width: int) -> int:
    return ((1 << plen) - 1) << (width - plen)


def field_to_engine(mf: MatchFieldInfo, fm: p4runtime_pb2.FieldMatch, where: str) -> Any:
    """One FieldMatch -> the engine's canonical match parameter for that key."""
    kind = fm.WhichOneof("field_match_type")
    want = {EXACT: "exact", LPM: "lpm", TERNARY: "ternary", RANGE: "range",
            OPTIONAL: "optional"}[mf.match_type]
    what = f"{where}: match field '{mf.name}'"
    if kind != want:
        raise P4RTError(INVALID_ARGUMENT,
                        f"{what} is {MATCH_NAMES[mf.match_type]}, got a '{kind}' match")
    w = mf.bitwidth
    full = (1 << w) - 1
    if kind == "exact":
        return decode_uint(fm.exact.value, w, what)
    if kind == "lpm":
        plen = fm.lpm.prefix_len
        value = decode_uint(fm.lpm.value, w, what)
        if plen <= 0:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{what}: prefix length {plen}; a don't-care LPM field must be omitted")
        if plen > w:
            raise P4RTError(INVALID_ARGUMENT, f"{what}: prefix length {plen} exceeds {w} bits")
        if value & ~_prefix_mask(plen, w):
            raise P4RTError(INVALID_ARGUMENT,
                            f"{what}: bits beyond the /{plen} prefix must be zero in the value")
        return value, plen
    if kind == "ternary":
        value = decode_uint(fm.ternary.value, w, what)
        mask = decode_uint(fm.ternary.mask, w, what)
        if mask == 0:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{what}: mask is zero; a don't-care ternary field must be omitted")
        if value & ~mask:
            raise P4RTError(INVALID_ARGUMENT, f"{what}: value has bits set outside the mask")
        return value, mask
    if kind == "range":
        lo = decode_uint(fm.range.low, w, what)
        hi = decode_uint(fm.range.high, w, what)
        if lo > hi:
            raise P4RTError(INVALID_ARGUMENT, f"{what}: low bound {lo} exceeds high bound {hi}")
        if lo == 0 and hi == full:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{what}: full range; a don't-care range field must be omitted")
        return lo, hi
    # optional: the engine has it as a ternary key with an all-ones mask
    return decode_uint(fm.optional.value, w, what), full


def dont_care(mf: MatchFieldInfo) -> Any:
    """The engine parameter of an omitted (don't-care) field."""
    if mf.match_type == LPM:
        return 0, 0
    if mf.match_type in (TERNARY, OPTIONAL):
        return 0, 0
    if mf.match_type == RANGE:
        return 0, (1 << mf.bitwidth) - 1
    raise AssertionError("exact fields have no don't-care value")


def match_to_engine(fields: Sequence[MatchFieldInfo], by_id: dict[int, MatchFieldInfo],
                    matches: Iterable[p4runtime_pb2.FieldMatch], where: str) -> list[Any]:
    """FieldMatch list -> engine match list in key order (INVALID_ARGUMENT if malformed)."""
    given: dict[int, Any] = {}
    for fm in matches:
        mf = by_id.get(fm.field_id)
        if mf is None:
            raise P4RTError(INVALID_ARGUMENT, f"{where}: unknown match field id {fm.field_id}")
        if fm.field_id in given:
            raise P4RTError(INVALID_ARGUMENT, f"{where}: match field '{mf.name}' given twice")
        given[fm.field_id] = field_to_engine(mf, fm, where)
    out = []
    for mf in fields:
        if mf.id in given:
            out.append(given[mf.id])
        elif mf.match_type == EXACT:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: exact match field '{mf.name}' is missing")
        else:
            out.append(dont_care(mf))
    return out


def match_from_engine(fields: Sequence[MatchFieldInfo], match: Sequence[Any]
                      ) -> list[p4runtime_pb2.FieldMatch]:
    """Engine match -> FieldMatch list, don't-care fields omitted."""
    out = []
    for mf, m in zip(fields, match):
        fm = p4runtime_pb2.FieldMatch(field_id=mf.id)
        w = mf.bitwidth
        if mf.match_type == EXACT:
            fm.exact.value = encode_uint(int(m))
        elif mf.match_type == LPM:
            value, plen = m
            if plen == 0:
                continue
            fm.lpm.value = encode_uint(value)
            fm.lpm.prefix_len = plen
        elif mf.match_type == TERNARY:
            value, mask = m
            if mask == 0:
                continue
            fm.ternary.value = encode_uint(value & mask)
            fm.ternary.mask = encode_uint(mask)
        elif mf.match_type == RANGE:
            lo, hi = m
            if lo == 0 and hi == (1 << w) - 1:
                continue
            fm.range.low = encode_uint(lo)
            fm.range.high = encode_uint(hi)
        else:  # OPTIONAL, kept by the engine as (value, mask) with an all-zero or all-ones mask
            value, mask = m
            if mask == 0:
                continue
            fm.optional.value = encode_uint(value)
        out.append(fm)
    return out


# -- actions ----------------------------------------------------------------------


def params_to_engine(action: ActionInfo, msg: p4runtime_pb2.Action, where: str) -> list[int]:
    """Action params -> engine action data in declaration order."""
    given: dict[int, int] = {}
    for p in msg.params:
        info = action.params_by_id.get(p.param_id)
        if info is None:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: action '{action.name}' has no parameter id {p.param_id}")
        if p.param_id in given:
            raise P4RTError(INVALID_ARGUMENT,
                            f"{where}: action '{action.name}': parameter '{info.name}' given twice")
        given[p.param_id] = decode_uint(
            p.value, info.bitwidth, f"{where}: action '{action.name}' parameter '{info.name}'")
    missing = [p.name for p in action.params if p.id not in given]
    if missing:
        raise P4RTError(INVALID_ARGUMENT,
                        f"{where}: action '{action.name}': missing parameter(s) {', '.join(missing)}")
    return [given[p.id] for p in action.params]


def action_from_engine(action: ActionInfo, data: Sequence[int]) -> p4runtime_pb2.Action:
    msg = p4runtime_pb2.Action(action_id=action.id)
    for info, v in zip(action.params, data):
        msg.params.add(param_id=info.id, value=encode_uint(v))
    return msg


# -- counters and meters -------------------------------------------------------------


def counter_data(nbytes: int, npackets: int, unit: int) -> p4runtime_pb2.CounterData:
    """CounterData with the fields the counter's unit provides (both if unspecified)."""
    d = p4runtime_pb2.CounterData()
    if unit in (COUNTER_BYTES, COUNTER_BOTH, 0):
        d.byte_count = nbytes
    if unit in (COUNTER_PACKETS, COUNTER_BOTH, 0):
        d.packet_count = npackets
    return d


def check_counter_data(d: p4runtime_pb2.CounterData, what: str) -> tuple[int, int]:
    if d.byte_count < 0 or d.packet_count < 0:
        raise P4RTError(INVALID_ARGUMENT, f"{what}: counter values cannot be negative")
    return d.byte_count, d.packet_count


US_PER_S = 1_000_000


def meter_config_to_rates(cfg: p4runtime_pb2.MeterConfig, what: str) -> list[tuple[float, int]]:
    """MeterConfig (units per second) -> engine trTCM rates (units per microsecond).

    BMv2 takes the same conversion from PI: rate / 1e6, bursts unchanged.
    """
    if min(cfg.cir, cfg.cburst, cfg.pir, cfg.pburst, cfg.eburst) < 0:
        raise P4RTError(INVALID_ARGUMENT, f"{what}: meter rates and bursts cannot be negative")
    if cfg.eburst:
        raise P4RTError(INVALID_ARGUMENT,
                        f"{what}: eburst applies to single-rate meters; v1model meters are "
                        "two-rate three-color")
    if cfg.pir < cfg.cir:
        raise P4RTError(INVALID_ARGUMENT,
                        f"{what}: peak rate {cfg.pir} is below committed rate {cfg.cir}")
    return [(cfg.cir / US_PER_S, cfg.cburst), (cfg.pir / US_PER_S, cfg.pburst)]


def rates_to_meter_config(rates: Sequence[tuple[float, int]]) -> p4runtime_pb2.MeterConfig | None:
    """Engine rates -> MeterConfig; None for an unconfigured meter (all packets GREEN)."""
    if not rates:
        return None
    (cir, cburst), (pir, pburst) = rates[0], rates[-1]
    return p4runtime_pb2.MeterConfig(cir=round(cir * US_PER_S), cburst=int(cburst),
                                     pir=round(pir * US_PER_S), pburst=int(pburst))
