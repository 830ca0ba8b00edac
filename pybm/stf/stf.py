"""p4c's STF (simple test framework) format, run against pybm-switch.

The dialect is the one p4c's BMv2 harness (backends/bmv2/bmv2stf.py) reads:
``add TABLE [PRIO] KEY:VALUE ... ACTION(ARG:VAL, ...)``, ``setdefault``,
``packet PORT HEX``, ``expect PORT HEX`` (``*`` nibble wildcards, ``$`` end of
packet), multicast/mirroring set-up, register and counter checks. Table,
key and action names may be given as suffixes of the JSON names, as the
reference harness allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pybm.switch.engine import Switch
from pybm.switch.errors import ConfigError, RuntimeApiError
from pybm.switch.tables import MatchTable


class StfError(Exception):
    """A malformed or unresolvable STF line."""


@dataclass
class Expectation:
    port: int
    pattern: str  # hex nibbles, '*' wildcards, uppercase, no spaces
    exact_end: bool
    line: int


@dataclass
class StfResult:
    passed: bool
    failures: list[str] = field(default_factory=list)
    packets_in: int = 0
    packets_out: int = 0

    def summary(self) -> str:
        if self.passed:
            return f"PASS ({self.packets_in} packets in, {self.packets_out} out)"
        return "FAIL\n" + "\n".join("  " + f for f in self.failures)


def _num(tok: str) -> int:
    tok = tok.strip()
    try:
        return int(tok, 0) if not re.fullmatch(r"0[0-9]+", tok) else int(tok, 10)
    except ValueError:
        raise StfError(f"not a number: {tok!r}") from None


def _split_words(line: str) -> list[str]:
    return line.split()


class StfRunner:
    def __init__(self, switch: Switch):
        self.sw = switch
        self.ports: set[int] = set()
        self.expected: dict[int, list[Expectation]] = {}
        self.any_ports: set[int] = set()
        self.received: dict[int, list[bytes]] = {}
        self.failures: list[str] = []
        self.packets_in = 0
        self.sw.transmit = self._on_transmit

    def _on_transmit(self, port: int, data: bytes) -> None:
        self.received.setdefault(port, []).append(data)

    # -- name resolution (as bmv2stf.py) --------------------------------------

    def find_table(self, name: str) -> MatchTable:
        tables = self.sw.cp.tables
        if name in tables:
            return tables[name]
        cands = [t for n, t in tables.items() if n.endswith(name)]
        if len(cands) == 1:
            return cands[0]
        if not cands:
            raise StfError(f"no table named {name!r}")
        raise StfError(f"table name {name!r} is ambiguous: {', '.join(t.name for t in cands)}")

    @staticmethod
    def find_action(table: MatchTable, name: str) -> Any:
        for a in table.actions.values():
            if a.name == name:
                return a
        cands = [a for a in table.actions.values() if a.name.endswith(name)]
        if len(cands) == 1:
            return cands[0]
        if not cands:
            raise StfError(f"no action {name!r} in table {table.name}")
        raise StfError(f"action name {name!r} is ambiguous in table {table.name}")

    @staticmethod
    def find_key(table: MatchTable, key: str) -> int:
        m = re.match(r"(.*)\$([0-9]+)(.*)", key)
        if m:
            key = f"{m.group(1)}[{m.group(2)}]{m.group(3)}"
        names = [k.name for k in table.keys]
        for cand in (key, key + "$", key + ".$valid$"):
            if cand in names:
                return names.index(cand)
        if key.endswith(".valid") and key[:-5] + "$valid$" in names:
            return names.index(key[:-5] + "$valid$")
        for i, n in enumerate(names):
            if n.endswith("." + key) or n.endswith("." + key + "$"):
                return i
            if key == "valid" and n.endswith(".$valid$"):
                return i
        raise StfError(f"table {table.name} has no key field {key!r} (keys: {', '.join(names)})")

    # -- value parsing -------------------------------------------------------

    @staticmethod
    def _ternary(value: str, width: int) -> tuple[int, int]:
        if "&&&" in value:
            v, m = value.split("&&&", 1)
            return _num(v), _num(m)
        for prefix, bits, digits in (("0x", 4, "0123456789abcdefABCDEF"), ("0b", 1, "01"),
                                     ("0o", 3, "01234567")):
            if value.startswith(prefix):
                body = value[2:]
                v = m = 0
                for ch in body:
                    v <<= bits
                    m <<= bits
                    if ch == "*":
                        continue
                    if ch not in digits:
                        raise StfError(f"bad ternary value {value!r}")
                    v |= int(ch, 1 << bits)
                    m |= (1 << bits) - 1
                return v, m
        n = _num(value)
        return n, (1 << width) - 1

    @staticmethod
    def _lpm(value: str, width: int) -> tuple[int, int]:
        if "/" in value:
            v, plen = value.split("/", 1)
            return _num(v), int(plen)
        if value.startswith("0x"):
            bits = 4
        elif value.startswith("0b"):
            bits = 1
        elif value.startswith("0o"):
            bits = 3
        else:
            return _num(value), width
        body = value[2:]
        digits = len(body) - body.count("*")
        return int(body.replace("*", "0"), 1 << bits), digits * bits

    def _match_value(self, table: MatchTable, idx: int, value: str) -> Any:
        spec = table.keys[idx]
        if spec.kind in ("ternary", "optional"):
            return self._ternary(value, spec.width)
        if spec.kind == "lpm":
            return self._lpm(value, spec.width)
        if spec.kind == "range":
            if "->" in value:
                lo, hi = value.split("->", 1)
                return _num(lo), _num(hi)
            if ".." in value:
                lo, hi = value.split("..", 1)
                return _num(lo), _num(hi)
            n = _num(value)
            return n, n
        if spec.kind == "valid":
            return 1 if value.lower() in ("1", "true") else 0
        return _num(value)

    def _default_match(self, table: MatchTable, idx: int) -> Any:
        spec = table.keys[idx]
        if spec.kind in ("ternary", "optional"):
            return 0, 0
        if spec.kind == "lpm":
            return 0, 0
        if spec.kind == "range":
            return 0, (1 << spec.width) - 1
        return 0

    @staticmethod
    def _parse_action(text: str) -> tuple[str, list[tuple[str, str]]]:
        m = re.fullmatch(r"\s*([^\s(]+)\s*\((.*)\)\s*", text)
        if not m:
            raise StfError(f"bad action call {text!r}")
        args = []
        for part in m.group(2).split(","):
            part = part.strip()
            if not part:
                continue
            k, _, v = part.partition(":")
            args.append((k.strip(), v.strip()))
        return m.group(1), args

    def _action_data(self, action: Any, args: list[tuple[str, str]]) -> list[int]:
        given = dict(args)
        data = []
        for pname, _w in action.params:
            if pname not in given:
                raise StfError(f"action {action.name}: missing argument {pname!r}")
            data.append(_num(given.pop(pname)))
        if given:
            raise StfError(f"action {action.name}: unexpected arguments {', '.join(given)}")
        return data

    # -- commands ------------------------------------------------------------

    def cmd_add(self, rest: str) -> None:
        paren = rest.find("(")
        if paren < 0:
            raise StfError("add: missing action call")
        words = rest[:paren].split()
        action_start = rest.rfind(" ", 0, paren)
        head = rest[:action_start].split()
        action_text = rest[action_start:].strip()
        if "=" in action_text.split(")")[-1]:
            action_text = action_text[:action_text.rfind(")") + 1]
        if not head:
            raise StfError("add: missing table name")
        table = self.find_table(head[0])
        prio = None
        keys = head[1:]
        if keys and re.fullmatch(r"[0-9]+", keys[0]):
            prio = int(keys[0])
            keys = keys[1:]
        match = [self._default_match(table, i) for i in range(len(table.keys))]
        for kv in keys:
            k, _, v = kv.rpartition(":")
            if not k:
                raise StfError(f"add: bad key {kv!r}")
            idx = self.find_key(table, k)
            match[idx] = self._match_value(table, idx, v)
        aname, args = self._parse_action(action_text)
        action = self.find_action(table, aname)
        data = self._action_data(action, args)
        if table.match_type in ("ternary", "range"):
            # bmv2stf.py: BMv2 priorities run the other way (lowest value wins).
            bprio = 10000 - prio if prio is not None else 10000
        else:
            bprio = None
        del words
        self.sw.table_add(table.name, match, action.id, data, bprio)

    def cmd_setdefault(self, rest: str) -> None:
        name, _, call = rest.strip().partition(" ")
        table = self.find_table(name)
        aname, args = self._parse_action(call)
        action = self.find_action(table, aname)
        self.sw.table_set_default(table.name, action.id, self._action_data(action, args))

    def cmd_packet(self, rest: str, lineno: int) -> None:
        port_s, _, hexdata = rest.strip().partition(" ")
        port = _num(port_s)
        hexdata = "".join(hexdata.split())
        if len(hexdata) % 2:
            raise StfError(f"line {lineno}: odd number of hex digits in packet")
        try:
            data = bytes.fromhex(hexdata)
        except ValueError:
            raise StfError(f"line {lineno}: invalid packet data") from None
        self.ports.add(port)
        self.packets_in += 1
        self.sw.receive(port, data)

    def cmd_expect(self, rest: str, lineno: int) -> None:
        port_s, _, pattern = rest.strip().partition(" ")
        port = _num(port_s)
        self.ports.add(port)
        pattern = "".join(pattern.split()).upper()
        if not pattern:
            self.any_ports.add(port)
            return
        exact = pattern.endswith("$")
        pattern = pattern.rstrip("$")
        if not re.fullmatch(r"[0-9A-F*]*", pattern):
            raise StfError(f"line {lineno}: bad expected packet pattern")
        self.expected.setdefault(port, []).append(Expectation(port, pattern, exact, lineno))

    def run_line(self, line: str, lineno: int) -> None:
        line = line.split("#", 1)[0].strip()
        if not line:
            return
        cmd, _, rest = line.partition(" ")
        sw = self.sw
        w = rest.split()
        if cmd == "add":
            self.cmd_add(rest)
        elif cmd == "setdefault":
            self.cmd_setdefault(rest)
        elif cmd == "packet":
            self.cmd_packet(rest, lineno)
        elif cmd == "expect":
            self.cmd_expect(rest, lineno)
        elif cmd == "wait":
            pass  # processing is synchronous: everything sent so far is done
        elif cmd == "mirroring_add":
            sw.pre.mirroring_add(_num(w[0]), egress_port=_num(w[1]))
        elif cmd == "mirroring_add_mc":
            sw.pre.mirroring_add(_num(w[0]), mgid=_num(w[1]))
        elif cmd == "mirroring_get":
            sw.pre.mirroring_get(_num(w[0]))
        elif cmd == "mc_mgrp_create":
            sw.pre.mc_mgrp_create(_num(w[0]))
        elif cmd == "mc_node_create":
            sw.pre.mc_node_create(_num(w[0]), [_num(p) for p in w[1:]])
        elif cmd == "mc_node_associate":
            sw.pre.mc_node_associate(_num(w[0]), _num(w[1]))
        elif cmd == "register_write":
            sw.register_write(w[0], _num(w[1]), _num(w[2]))
        elif cmd == "register_reset":
            sw.register_reset(w[0])
        elif cmd == "register_read":
            value = sw.register_read(w[0], _num(w[1]))
            if len(w) > 2 and value != _num(w[2]):
                self.failures.append(
                    f"line {lineno}: register {w[0]}[{w[1]}] is {value:#x}, expected {w[2]}")
        elif cmd in ("meter_set_rates", "meter_array_set_rates"):
            self._meter_rates(cmd, w)
        elif cmd == "meter_get_rates":
            sw.meter_get_rates(w[0], _num(w[1]))
        elif cmd == "check_counter":
            self._check_counter(rest, lineno)
        else:
            raise StfError(f"line {lineno}: unknown STF command {cmd!r}")

    def _meter_rates(self, cmd: str, w: list[str]) -> None:
        name = w[0]
        rest = w[1:] if cmd == "meter_array_set_rates" else w[2:]
        rates = []
        for r in rest:
            rate, _, burst = r.partition(":")
            rates.append((float(rate), int(burst)))
        meter = self.sw._extern("meters", name)
        indexes = range(meter.size) if cmd == "meter_array_set_rates" else [_num(w[1])]
        for i in indexes:
            self.sw.meter_set_rates(name, i, rates)

    def _check_counter(self, rest: str, lineno: int) -> None:
        m = re.fullmatch(r"\s*([\w.]+)\(([^)]*)\)\s*(packets|bytes|count)?\s*(==|!=|<=|>=|<|>)?\s*(\S+)\s*",
                         rest)
        if not m:
            raise StfError(f"line {lineno}: bad check_counter")
        name, idx, what, op, value = m.groups()
        nbytes, npackets = self.sw.counter_read(name, _num(idx))
        actual = nbytes if what == "bytes" else npackets
        expected = _num(value)
        ok = {"==": actual == expected, "!=": actual != expected, "<=": actual <= expected,
              ">=": actual >= expected, "<": actual < expected, ">": actual > expected}[op or "=="]
        if not ok:
            self.failures.append(f"line {lineno}: counter {name}({idx}) {what or 'packets'} is "
                                 f"{actual}, expected {op or '=='} {expected}")

    # -- verdict ---------------------------------------------------------------

    def check(self) -> StfResult:
        failures = list(self.failures)
        out = 0
        for port in sorted(self.ports):
            got = self.received.get(port, [])
            out += len(got)
            if port in self.any_ports:
                continue
            exp = self.expected.get(port, [])
            if len(got) != len(exp):
                failures.append(f"port {port}: expected {len(exp)} packet(s), received {len(got)}")
                for i, g in enumerate(got):
                    failures.append(f"  received #{i} on port {port}: {g.hex().upper()}")
            for i, (e, g) in enumerate(zip(exp, got)):
                msg = compare_packet(e, g)
                if msg:
                    failures.append(f"port {port} packet #{i} (expect on line {e.line}): {msg}")
        return StfResult(not failures, failures, self.packets_in, out)


def compare_packet(e: Expectation, data: bytes) -> str | None:
    got = data.hex().upper()
    pat = e.pattern
    if len(got) < len(pat):
        return f"received packet too short ({len(got) // 2} bytes, expected {len(pat) // 2})\n" \
               f"    expected {pat}\n    received {got}"
    if e.exact_end and len(got) != len(pat):
        return f"received packet too long ({len(got) // 2} bytes, expected exactly {len(pat) // 2})\n" \
               f"    expected {pat}\n    received {got}"
    for i, (p, g) in enumerate(zip(pat, got)):
        if p != "*" and p != g:
            return (f"differs at byte {i // 2} (nibble {i}): expected {p}, received {g}\n"
                    f"    expected {pat}\n    received {got}")
    return None


def run_stf(json_text: str | bytes, stf_text: str, *, trace: bool = False) -> StfResult:
    """Load a program into a fresh switch and run one STF test on it."""
    sw = Switch(trace=trace)
    try:
        sw.load_config(json_text)
    except ConfigError as e:
        return StfResult(False, [f"cannot load JSON: {e}"])
    runner = StfRunner(sw)
    for lineno, line in enumerate(stf_text.splitlines(), 1):
        try:
            runner.run_line(line, lineno)
        except (StfError, RuntimeApiError) as e:
            return StfResult(False, runner.failures + [f"line {lineno}: {e}"])
        except (IndexError, ValueError) as e:
            return StfResult(False, runner.failures + [f"line {lineno}: malformed command ({e})"])
    res = runner.check()
    return res
