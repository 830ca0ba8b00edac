"""Indexed counters, meters and registers, and every hash algorithm the engine
offers, as reached from P4 actions (count, execute_meter, register_read/write,
modify_field_with_hash_based_offset)."""

from __future__ import annotations

import logging
import zlib

import pytest

from pybm.switch.hashes import CrcConfig

from .bmv2 import (
    Harness,
    Program,
    be,
    ex,
    fld,
    header_program,
    hexv,
    named,
    prim,
    set_port,
)

# -- counters --------------------------------------------------------------------------


def _counter_program() -> Program:
    p = header_program([["idx", 8]])
    p.counter("c", 4)
    p.run("ingress", [prim("count", named("counter_array", "c"), fld("h", "idx")), set_port(1)])
    return p


def test_count_packets_and_bytes_per_index() -> None:
    h = Harness(_counter_program())
    for idx, size in ((0, 10), (0, 20), (3, 64)):
        h.one(0, bytes([idx]) + bytes(size - 1))
    assert h.sw.counter_read("c", 0) == (30, 2)
    assert h.sw.counter_read("c", 3) == (64, 1)
    assert h.sw.counter_read("c", 1) == (0, 0)
    h.sw.counter_reset("c")
    assert h.sw.counter_read("c", 0) == (0, 0)


def test_count_out_of_bounds_index_counts_nothing(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(_counter_program())
    with caplog.at_level(logging.ERROR, logger="pybm.switch"):
        assert h.one(0, b"\x09abc") == (1, b"\x09abc")  # the packet still goes through
    assert [h.sw.counter_read("c", i) for i in range(4)] == [(0, 0)] * 4
    assert any("out of bounds" in r.getMessage() for r in caplog.records)


# -- meters ----------------------------------------------------------------------------


def _meter_program(kind: str) -> Program:
    p = header_program([["idx", 8], ["color", 8]])
    p.meter("m", 2, kind=kind)
    p.run("ingress", [prim("execute_meter", named("meter_array", "m"), fld("h", "idx"),
                           fld("h", "color")), set_port(1)])
    return p


def test_unconfigured_meter_is_green() -> None:
    h = Harness(_meter_program("packets"))
    assert [h.one(0, b"\x00\x09")[1][1] for _ in range(5)] == [0] * 5


def test_packet_meter_two_rate_three_color() -> None:
    """RFC 2698 color-blind trTCM: red when the peak bucket cannot take the packet,
    yellow when only the committed one cannot (rates low enough not to refill)."""
    h = Harness(_meter_program("packets"))
    h.sw.meter_set_rates("m", 1, [(1e-9, 3), (2e-9, 5)])
    colors = [h.one(0, b"\x01\x09")[1][1] for _ in range(8)]
    assert colors == [0, 0, 0, 1, 1, 2, 2, 2]
    # the other meter of the array is untouched (unconfigured -> green)
    assert h.one(0, b"\x00\x09")[1][1] == 0
    assert h.sw.meter_get_rates("m", 1) == [(1e-9, 3), (2e-9, 5)]


def test_byte_meter_counts_ingress_length() -> None:
    h = Harness(_meter_program("bytes"))
    h.sw.meter_set_rates("m", 0, [(1e-9, 100), (1e-9, 150)])
    frame = b"\x00\x00" + bytes(58)  # 60 bytes
    colors = [h.one(0, frame)[1][1] for _ in range(4)]
    # committed: 100 -> 40 -> (60 > 40: yellow); peak: 150 -> 90 -> 30 -> (60 > 30: red)
    assert colors == [0, 1, 2, 2]


def test_execute_meter_out_of_bounds_leaves_destination() -> None:
    h = Harness(_meter_program("packets"))
    assert h.one(0, b"\x05\x09") == (1, b"\x05\x09")


# -- registers ------------------------------------------------------------------------


def _register_program() -> Program:
    # out = r[idx]; r[idx] = out + val  (a read-modify-write per packet)
    p = header_program([["idx", 8], ["val", 16], ["out", 16]])
    p.register("r", 4, 16)
    p.run("ingress", [
        prim("register_read", fld("h", "out"), named("register_array", "r"), fld("h", "idx")),
        prim("register_write", named("register_array", "r"), fld("h", "idx"),
             ex("+", fld("h", "out"), fld("h", "val"))),
        set_port(1)])
    return p


def test_register_read_modify_write_across_packets() -> None:
    h = Harness(_register_program())
    outs = [h.one(0, b"\x02" + be(v, 2) + b"\xff\xff")[1][3:5] for v in (5, 7, 0xFFFF)]
    assert outs == [be(0, 2), be(5, 2), be(12, 2)]
    assert h.sw.register_read("r", 2) == (12 + 0xFFFF) & 0xFFFF  # truncated to 16 bits
    h.sw.register_write("r", 1, 1000)
    assert h.one(0, b"\x01" + be(1, 2) + b"\x00\x00")[1][3:5] == be(1000, 2)
    h.sw.register_reset("r")
    assert [h.sw.register_read("r", i) for i in range(4)] == [0, 0, 0, 0]


def test_register_out_of_bounds_no_crash_no_write() -> None:
    h = Harness(_register_program())
    h.sw.register_write("r", 3, 77)
    # index 4 and 200: read leaves 'out' as it came in, write changes nothing
    assert h.one(0, b"\x04" + be(9, 2) + be(0xABCD, 2)) == (1, b"\x04" + be(9, 2) + be(0xABCD, 2))
    assert h.one(0, b"\xc8" + be(9, 2) + be(0x1234, 2)) == (1, b"\xc8" + be(9, 2) + be(0x1234, 2))
    assert [h.sw.register_read("r", i) for i in range(4)] == [0, 0, 0, 77]


# -- hashes ----------------------------------------------------------------------------

CHECK = b"123456789"


def _hash_program(algo: str, base: int = 0, size: int = 1 << 32, data: bytes = CHECK) -> Program:
    """h.data (len(data) bytes) is hashed; h.res = base + hash % size."""
    p = Program()
    p.header_type("h_t", [["data", 8 * len(data)], ["res", 64]])
    p.header("h", "h_t")
    p.state("start", [{"op": "extract", "parameters": [{"type": "regular", "value": "h"}]}])
    p.deparse("h")
    p.calc("calc", algo, [fld("h", "data")])
    p.run("ingress", [prim("modify_field_with_hash_based_offset", fld("h", "res"), hexv(base),
                           named("calculation", "calc"), hexv(size)), set_port(1)])
    return p


def _hash(algo: str, data: bytes = CHECK, **kw: int) -> int:
    h = Harness(_hash_program(algo, data=data, **kw))
    _, out = h.one(0, data + bytes(8))
    assert out[:len(data)] == data
    return int.from_bytes(out[len(data):], "big")


def _crc(data: bytes, width: int, poly: int, init: int, refin: bool, refout: bool, xorout: int) -> int:
    """Bit-by-bit reference CRC (Rocksoft model), independent of the engine's tables."""
    def reflect(v: int, n: int) -> int:
        return int(f"{v:0{n}b}"[::-1], 2)
    crc = init
    top = 1 << (width - 1)
    mask = (1 << width) - 1
    for byte in data:
        if refin:
            byte = reflect(byte, 8)
        crc ^= byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
    if refout:
        crc = reflect(crc, width)
    return crc ^ xorout


def _ones_complement_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def test_crc16_check_value() -> None:
    assert _hash("crc16") == 0xBB3D  # CRC-16/ARC
    assert _hash("crc16", data=b"\x00\xff\x10") == _crc(b"\x00\xff\x10", 16, 0x8005, 0, True, True, 0)


def test_crc32_check_value() -> None:
    assert _hash("crc32") == 0xCBF43926
    data = bytes(range(40))
    assert _hash("crc32", data=data) == zlib.crc32(data)


def test_crc_ccitt() -> None:
    assert _hash("crcCCITT") == 0x29B1  # CRC-16/CCITT-FALSE


def test_custom_crcs_default_to_bmv2_parameters() -> None:
    assert _hash("crc16_custom") == 0xBB3D
    assert _hash("crc32_custom") == 0xCBF43926


def test_custom_crcs_reconfigured_at_run_time() -> None:
    h16 = Harness(_hash_program("crc16_custom"))
    h16.sw.set_crc_parameters("calc", CrcConfig(16, 0x1021, 0xFFFF, 0x0000, False, False))
    assert int.from_bytes(h16.one(0, CHECK + bytes(8))[1][9:], "big") == 0x29B1
    h16.sw.set_crc_parameters("calc", CrcConfig(16, 0x1021, 0x0000, 0x0000, True, True))
    assert int.from_bytes(h16.one(0, CHECK + bytes(8))[1][9:], "big") == 0x2189  # KERMIT

    h32 = Harness(_hash_program("crc32_custom"))
    h32.sw.set_crc_parameters("calc", CrcConfig(32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, True, True))
    assert int.from_bytes(h32.one(0, CHECK + bytes(8))[1][9:], "big") == 0xE3069283  # CRC-32C
    h32.sw.set_crc_parameters("calc", CrcConfig(32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, False, False))
    assert int.from_bytes(h32.one(0, CHECK + bytes(8))[1][9:], "big") == 0xFC891918  # BZIP2


def test_csum16_and_xor16_and_identity() -> None:
    for data in (CHECK, b"\xff\xff\x00\x01", bytes(range(1, 24))):
        assert _hash("csum16", data=data) == _ones_complement_sum(data)
    assert _hash("xor16", data=b"\x12\x34\x56\x78\x9a") == 0x1234 ^ 0x5678 ^ 0x9A00
    assert _hash("identity", data=b"\x01\x02\x03") == 0x010203
    # identity keeps the first 8 bytes of a longer input
    assert _hash("identity", data=bytes(range(1, 13)), size=1 << 64) == 0x0102030405060708


def test_xor32_and_other_custom_crc_widths() -> None:
    assert _hash("xor32", data=b"\x12\x34\x56\x78\x9a\xbc") == 0x12345678 ^ 0x9ABC0000
    assert _hash("crc8_custom") == 0xF4  # CRC-8 (poly 0x07), BMv2's default
    assert _hash("crc64_custom", size=1 << 64) == _crc(CHECK, 64, 0x1B, 0, True, True, 0)


def test_round_robin_hashes() -> None:
    h = Harness(_hash_program("round_robin"))
    outs = [int.from_bytes(h.one(0, d + bytes(8))[1][9:], "big")
            for d in (CHECK, CHECK, b"987654321", CHECK)]
    assert outs == [0, 1, 2, 3]
    h = Harness(_hash_program("round_robin_consistent"))
    outs = [int.from_bytes(h.one(0, d + bytes(8))[1][9:], "big")
            for d in (CHECK, b"987654321", CHECK, b"000000000", b"987654321")]
    assert outs == [0, 1, 0, 2, 1]


def test_hash_base_and_size() -> None:
    assert _hash("crc32", base=100, size=1000) == 100 + 0xCBF43926 % 1000
    assert _hash("crc16", base=7, size=1) == 7
    assert _hash("crc16", base=7, size=0) == 7  # BMv2 treats a size of 0 as 1


def test_random_hash_stays_in_range() -> None:
    h = Harness(_hash_program("random", base=50, size=10))
    seen = {int.from_bytes(h.one(0, CHECK + bytes(8))[1][9:], "big") for _ in range(200)}
    assert seen <= set(range(50, 60))
    assert len(seen) > 3


def test_hash_of_fields_not_byte_aligned() -> None:
    """Input bits are packed MSB first and the last byte padded with zero bits."""
    p = Program()
    p.header_type("h_t", [["a", 4], ["b", 12], ["res", 32]])
    p.header("h", "h_t")
    p.state("start", [{"op": "extract", "parameters": [{"type": "regular", "value": "h"}]}])
    p.deparse("h")
    p.calc("calc", "identity", [fld("h", "a"), {"type": "hexstr", "value": "0x5", "bitwidth": 4},
                                fld("h", "b")])
    p.run("ingress", [prim("modify_field_with_hash_based_offset", fld("h", "res"), hexv(0),
                           named("calculation", "calc"), hexv(1 << 32)), set_port(1)])
    _, out = Harness(p).one(0, b"\xab\xcd" + bytes(4))
    # a=0xa, 0x5, b=0xbcd -> 0xa5bcd packed into 20 bits -> bytes a5 bc d0
    assert out == b"\xab\xcd" + be(0xA5BCD0, 4)


def test_unknown_hash_algorithm_is_refused_at_load() -> None:
    from pybm.switch.engine import Switch
    from pybm.switch.errors import ConfigError
    with pytest.raises(ConfigError, match="no_such_algo"):
        Switch().load_config(_hash_program("no_such_algo").text())


def test_set_crc_parameters_on_non_custom_calculation_is_refused() -> None:
    from pybm.switch.errors import RuntimeApiError
    h = Harness(_hash_program("crc32"))
    with pytest.raises(RuntimeApiError) as e:
        h.sw.set_crc_parameters("calc", CrcConfig(32, 1, 0, 0, False, False))
    assert e.value.code == "INVALID_ARGUMENT"
    assert _hash("crc32") == 0xCBF43926

