"""P4_16 lexer feeding lark's LALR parser.

P4's grammar needs the lexer to tell type names (TYPE_IDENTIFIER) from other
identifiers, as p4c's lexer does with the parser's symbol table. Here a first
scan collects every declared type name (header, struct, enum, typedef, extern,
control, parser, package) and type parameters are tracked with their scope.
The lexer also disambiguates '<' and '>': type-argument brackets versus
comparison and shift operators, so the LALR grammar stays conflict free.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from lark import Token
from lark.lexer import Lexer

from .errors import CompileError, SourceLoc

KEYWORDS = {
    "abstract": "ABSTRACT", "action": "ACTION", "actions": "ACTIONS", "apply": "APPLY",
    "bool": "BOOL", "bit": "BIT", "break": "BREAK", "continue": "CONTINUE", "const": "CONST", "control": "CONTROL",
    "default": "DEFAULT", "else": "ELSE", "entries": "ENTRIES", "enum": "ENUM",
    "error": "ERROR", "exit": "EXIT", "extern": "EXTERN", "false": "FALSE", "for": "FOR",
    "header": "HEADER", "header_union": "HEADER_UNION", "if": "IF", "in": "IN",
    "inout": "INOUT", "int": "INT", "key": "KEY", "list": "LIST", "match_kind": "MATCH_KIND",
    "out": "OUT", "package": "PACKAGE", "parser": "PARSER", "priority": "PRIORITY",
    "return": "RETURN", "select": "SELECT", "state": "STATE", "string": "STRING",
    "struct": "STRUCT", "switch": "SWITCH", "table": "TABLE", "this": "THIS",
    "transition": "TRANSITION", "true": "TRUE", "tuple": "TUPLE", "type": "TYPE",
    "typedef": "TYPEDEF", "varbit": "VARBIT", "value_set": "VALUESET", "void": "VOID",
}
# keywords after which '<' opens type arguments
_TYPE_KW_BEFORE_LT = {"BIT", "INT", "VARBIT", "TUPLE", "LIST", "VALUESET"}
_TYPE_START = {"BIT", "INT", "VARBIT", "BOOL", "TUPLE", "TYPE_IDENTIFIER", "DONTCARE",
               "VOID", "STRING", "ERROR", "LIST"}
# tokens that can end the return type before a function or method name
_RET_TYPE_END = {"TYPE_IDENTIFIER", "VOID", "BOOL", ">", "IDENTIFIER", "BIT", "INT", "STRING", "ERROR"}
_DECL_KW = {"HEADER", "STRUCT", "HEADER_UNION", "CONTROL", "PARSER", "PACKAGE"}

_PUNCT = [
    ("...", "DOTS"), ("&&&", "MASK"), ("..", "RANGE"), ("|+|=", "ASSIGN_OP"),
    ("|-|=", "ASSIGN_OP"), ("|+|", "PLUS_SAT"), ("|-|", "MINUS_SAT"),
    ("&&", "AND"), ("||", "OR"), ("==", "EQ"), ("!=", "NE"),
    ("++", "PP"), ("+=", "ASSIGN_OP"), ("-=", "ASSIGN_OP"), ("*=", "ASSIGN_OP"),
    ("/=", "ASSIGN_OP"), ("%=", "ASSIGN_OP"), ("&=", "ASSIGN_OP"), ("|=", "ASSIGN_OP"),
    ("^=", "ASSIGN_OP"),
    ("+", "PLUS"), ("-", "MINUS"), ("*", "STAR"), ("/", "SLASH"), ("%", "PERCENT"),
    ("!", "BANG"), ("~", "TILDE"), ("|", "BAR"), ("^", "CARET"), ("&", "AMP"),
    ("(", "("), (")", ")"), ("{", "{"), ("}", "}"), ("[", "["), ("]", "]"), (";", ";"),
    (",", ","), (".", "."), (":", ":"), ("=", "="), ("?", "?"),
]

_RE_SPACE = re.compile(r"\s+")
_RE_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# P4 integer literals: [width][w|s]value with 0x/0o/0d/0b prefixes and '_' separators
_RE_INT = re.compile(r"(?:\d+[ws])?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[dD][0-9_]+|0[bB][01_]+|\d[0-9_]*)")
_RE_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


class RawToken:
    __slots__ = ("kind", "text", "pos", "line", "col")

    def __init__(self, kind: str, text: str, pos: int, line: int, col: int) -> None:
        self.kind, self.text, self.pos, self.line, self.col = kind, text, pos, line, col


def _raw_tokens(text: str, loc_of) -> list[RawToken]:
    """Split text into raw tokens; '<' and '>' stay single characters here."""
    toks: list[RawToken] = []
    i, n, line, line_start = 0, len(text), 1, 0
    while i < n:
        c = text[i]
        if c.isspace():
            m = _RE_SPACE.match(text, i)
            assert m
            chunk = m.group(0)
            nl = chunk.count("\n")
            if nl:
                line += nl
                line_start = i + chunk.rfind("\n") + 1
            i = m.end()
            continue
        col = i - line_start + 1
        if c.isalpha() or c == "_":
            m = _RE_IDENT.match(text, i)
            assert m
            word = m.group(0)
            kind = KEYWORDS.get(word, "DONTCARE" if word == "_" else "IDENTIFIER")
            toks.append(RawToken(kind, word, i, line, col))
            i = m.end()
            continue
        if c.isdigit():
            m = _RE_INT.match(text, i)
            assert m
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] == "_"):
                raise CompileError(loc_of(line, col), f"invalid integer literal '{text[i:end + 1]}'")
            toks.append(RawToken("INTEGER", m.group(0), i, line, col))
            i = end
            continue
        if c == '"':
            m = _RE_STRING.match(text, i)
            if not m:
                raise CompileError(loc_of(line, col), "unterminated string literal")
            toks.append(RawToken("STRING_LITERAL", m.group(0), i, line, col))
            i = m.end()
            continue
        if c == "@":
            m = _RE_IDENT.match(text, i + 1)
            if not m:
                raise CompileError(loc_of(line, col), "annotation name expected after '@'")
            toks.append(RawToken("ANNOTATION_NAME", m.group(0), i, line, col))
            i = m.end()
            j = i
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] in "([":
                # an annotation body is kept as raw text and parsed on demand
                open_c, close_c = text[j], ")" if text[j] == "(" else "]"
                depth, k = 0, j
                while k < n:
                    if text[k] == '"':
                        ms = _RE_STRING.match(text, k)
                        k = ms.end() if ms else k + 1
                        continue
                    if text[k] == open_c:
                        depth += 1
                    elif text[k] == close_c:
                        depth -= 1
                        if depth == 0:
                            break
                    k += 1
                if k >= n:
                    raise CompileError(loc_of(line, col), "unterminated annotation body")
                body = text[j:k + 1]
                toks.append(RawToken("ANNOTATION_BODY", body, j, line, j - line_start + 1))
                nl = body.count("\n")
                if nl:
                    line += nl
                    line_start = j + body.rfind("\n") + 1
                i = k + 1
            continue
        if c in "<>":
            toks.append(RawToken(c, c, i, line, col))
            i += 1
            continue
        for p, kind in _PUNCT:
            if text.startswith(p, i):
                toks.append(RawToken(kind, p, i, line, col))
                i += len(p)
                break
        else:
            raise CompileError(loc_of(line, col), f"unexpected character '{c}'")
    return toks


def _collect_type_names(toks: list[RawToken]) -> set[str]:
    names: set[str] = set()
    n = len(toks)
    for i, t in enumerate(toks):
        k = t.kind
        if k in _DECL_KW and i + 1 < n and toks[i + 1].kind == "IDENTIFIER":
            names.add(toks[i + 1].text)
        elif k == "ENUM":
            # enum [bit<W>] Name
            j = i + 1
            while j < n and toks[j].kind != "{":
                j += 1
            if toks[j - 1].kind == "IDENTIFIER":
                names.add(toks[j - 1].text)
        elif k == "EXTERN" and i + 2 < n and toks[i + 1].kind == "IDENTIFIER" and toks[i + 2].kind in ("{", "<"):
            names.add(toks[i + 1].text)
        elif k in ("TYPEDEF", "TYPE") and (i == 0 or toks[i - 1].kind != "."):
            depth = 0
            j = i + 1
            while j < n:
                if toks[j].kind == "{":
                    depth += 1
                elif toks[j].kind == "}":
                    depth -= 1
                elif toks[j].kind == ";" and depth == 0:
                    break
                j += 1
            if j < n and toks[j - 1].kind == "IDENTIFIER":
                names.add(toks[j - 1].text)
    return names


class P4Lexer:
    """Turns preprocessed text into lark Tokens with the right terminal names."""

    def __init__(self, text: str, loc_of) -> None:
        self.text = text
        self.loc_of = loc_of

    def tokens(self) -> Iterator[Token]:
        raw = _raw_tokens(self.text, self.loc_of)
        global_types = _collect_type_names(raw)
        # type parameter scopes: (names, brace depth at declaration)
        scopes: list[tuple[set[str], int]] = []
        brackets: list[str] = []  # 'T' type-argument '<', '(' or '['
        depth = 0
        out_kinds: list[str] = []
        n = len(raw)

        def is_type(name: str) -> bool:
            return name in global_types or any(name in s for s, _ in scopes)

        def type_param_list_at(j: int, declaring: bool = False) -> tuple[list[str], int] | None:
            """If raw[j] is '<' starting 'Ident, Ident, ...>' of unknown names (any names when
            declaring: type parameters may shadow global types), return them."""
            names: list[str] = []
            k = j + 1
            while k < n and raw[k].kind == "IDENTIFIER" and (declaring or not is_type(raw[k].text)):
                names.append(raw[k].text)
                k += 1
                if k < n and raw[k].kind == ",":
                    k += 1
                    continue
                break
            if names and k < n and raw[k].kind == ">":
                return names, k
            return None

        def generic_call_ahead(j: int) -> bool:
            """raw[j] is '<' after a name: is it '<types>(' ?"""
            if j + 1 >= n:
                return False
            first = raw[j + 1]
            if first.kind == "IDENTIFIER" and is_type(first.text):
                pass
            elif first.kind not in _TYPE_START and not (first.kind == "." and j + 2 < n
                                                         and raw[j + 2].kind == "IDENTIFIER"):
                return False
            lvl = 0
            k = j
            while k < n:
                kk = raw[k].kind
                if kk == "<":
                    lvl += 1
                elif kk == ">":
                    lvl -= 1
                    if lvl == 0:
                        return k + 1 < n and raw[k + 1].kind == "("
                elif kk in (";", "{", "}"):
                    return False
                k += 1
            return False

        pending_params: list[str] | None = None
        i = 0
        while i < n:
            t = raw[i]
            kind = t.kind
            text = t.text
            if kind == "IDENTIFIER":
                kind = "TYPE_IDENTIFIER" if is_type(text) else "IDENTIFIER"
            elif kind == "<" and i + 1 < n and raw[i + 1].pos == t.pos + 1 and raw[i + 1].kind in ("<", "="):
                if raw[i + 1].kind == "=":
                    kind, text = "LE", "<="
                    i += 1
                elif i + 2 < n and raw[i + 2].kind == "=" and raw[i + 2].pos == t.pos + 2:
                    kind, text = "ASSIGN_OP", "<<="
                    i += 2
                else:
                    kind, text = "SHL", "<<"
                    i += 1
            elif kind == "<":
                prev = out_kinds[-1] if out_kinds else ""
                if prev == "TYPE_IDENTIFIER" or prev in _TYPE_KW_BEFORE_LT:
                    before = out_kinds[-2] if len(out_kinds) > 1 else ""
                    params = type_param_list_at(i, declaring=before in _DECL_KW or before == "EXTERN")
                    if params and prev == "TYPE_IDENTIFIER":
                        pending_params = params[0]
                    brackets.append("T")
                    kind = "<"
                elif prev in ("IDENTIFIER", "APPLY", "KEY", "ACTIONS", "STATE", "ENTRIES",
                              "TYPE", "PRIORITY"):
                    before = out_kinds[-2] if len(out_kinds) > 1 else ""
                    params = type_param_list_at(i, declaring=before in _RET_TYPE_END)
                    if params and params[1] + 1 < n and raw[params[1] + 1].kind == "(":
                        pending_params = params[0]
                        brackets.append("T")
                        kind = "TLT"
                    elif generic_call_ahead(i):
                        brackets.append("T")
                        kind = "TLT"
                    else:
                        kind = "<"
                else:
                    kind = "<"
            elif kind == ">":
                if brackets and brackets[-1] == "T":
                    brackets.pop()
                    kind = ">"
                    if pending_params is not None and "T" not in brackets:
                        scopes.append((set(pending_params), depth))
                        pending_params = None
                elif i + 1 < n and raw[i + 1].kind == ">" and raw[i + 1].pos == t.pos + 1:
                    if i + 2 < n and raw[i + 2].kind == "=" and raw[i + 2].pos == t.pos + 2:
                        kind, text = "SHR_ASSIGN", ">>="
                        i += 2
                    else:
                        kind, text = "SHR", ">>"
                        i += 1
                elif i + 1 < n and raw[i + 1].kind == "=" and raw[i + 1].pos == t.pos + 1:
                    kind, text = "GE", ">="
                    i += 1
                else:
                    kind = ">"
            elif kind in ("(", "["):
                brackets.append(kind)
            elif kind in (")", "]"):
                while brackets and brackets[-1] == "T":
                    brackets.pop()
                if brackets:
                    brackets.pop()
            elif kind == "{":
                depth += 1
            elif kind == "}":
                depth -= 1
                while scopes and scopes[-1][1] >= depth:
                    scopes.pop()
            elif kind == ";":
                while scopes and scopes[-1][1] == depth:
                    scopes.pop()
            out_kinds.append(kind)
            yield Token(kind, text, t.pos, t.line, t.col, t.line, t.col + len(text), t.pos + len(text))
            i += 1


class LarkP4Lexer(Lexer):
    """Adapter so lark's LALR front end pulls tokens from P4Lexer."""

    # a loc_of callback is installed by parser.py before each parse
    loc_of = staticmethod(lambda line, col: SourceLoc("<input>", line, col))
    terminal_map: dict[str, str] = {}
    history: list = []  # the last tokens handed to the parser, for error messages

    def __init__(self, lexer_conf) -> None:  # noqa: D107 - lark interface
        pass

    def lex(self, data: str) -> Iterator[Token]:  # type: ignore[override]
        tmap = LarkP4Lexer.terminal_map
        hist = LarkP4Lexer.history = []
        for tok in P4Lexer(data, LarkP4Lexer.loc_of).tokens():
            name = tmap.get(tok.type, tok.type)
            t = Token(name, tok.value, tok.start_pos, tok.line, tok.column,
                      tok.end_line, tok.end_column, tok.end_pos)
            hist.append(t)
            if len(hist) > 8:
                del hist[0]
            yield t
