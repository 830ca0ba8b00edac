"""P4_16 lexer feeding lark's LALR parser.

P4's grammar needs the lexer to tell type names (TYPE_IDENTIFIER) from other
identifiers, as p4c's lexer does with the parser's symbol table. Here a first
scan collects every declared type name (header, struct, enum, typedef, extern,
control, parser, package); type parameters are tracked with their scope, and so
are the objects (variables, constants, instances, parameters) whose names hide
a type name in their scope, as p4c's symbol table has them (lexscope.py).
The lexer also disambiguates '<' and '>': type-argument brackets versus
comparison and shift operators, so the LALR grammar stays conflict free.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from lark import Token
from lark.lexer import Lexer

from .errors import CompileError, SourceLoc
from .lexscope import declaration_at, parameter_names, skip_balanced

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


def _collect_type_names(toks: list[RawToken]) -> dict[str, RawToken]:
    """Every top-level type name, with the token that first declares it."""
    names: dict[str, RawToken] = {}
    n = len(toks)
    for i, t in enumerate(toks):
        k = t.kind
        if k in _DECL_KW and i + 1 < n and toks[i + 1].kind == "IDENTIFIER":
            names.setdefault(toks[i + 1].text, toks[i + 1])
        elif k == "ENUM":
            # enum [bit<W>] Name
            j = i + 1
            while j < n and toks[j].kind != "{":
                j += 1
            if toks[j - 1].kind == "IDENTIFIER":
                names.setdefault(toks[j - 1].text, toks[j - 1])
        elif k == "EXTERN" and i + 2 < n and toks[i + 1].kind == "IDENTIFIER" and toks[i + 2].kind in ("{", "<"):
            names.setdefault(toks[i + 1].text, toks[i + 1])
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
                names.setdefault(toks[j - 1].text, toks[j - 1])
    return names


class P4Lexer:
    """Turns preprocessed text into lark Tokens with the right terminal names."""

    def __init__(self, text: str, loc_of) -> None:
        self.text = text
        self.loc_of = loc_of
        # errors p4c's parser reports without stopping (a name declared as a type and
        # as an object at top level), in source order
        self.errors: list[CompileError] = []
        self._error_pos: list[int] = []

    def _redeclared(self, name: RawToken, previous: RawToken) -> None:
        later, earlier = (name, previous) if name.pos > previous.pos else (previous, name)
        err = CompileError(self.loc_of(later.line, later.col), f"Re-declaration of {later.text} with "
                           f"different type: {self.loc_of(earlier.line, earlier.col)}")
        k = sum(1 for p in self._error_pos if p < later.pos)
        self._error_pos.insert(k, later.pos)
        self.errors.insert(k, err)

    def tokens(self) -> Iterator[Token]:
        raw = _raw_tokens(self.text, self.loc_of)
        global_types = _collect_type_names(raw)
        # type parameter scopes: (names, brace depth at declaration)
        scopes: list[tuple[set[str], int]] = []
        # object scopes, one per open brace (and the top level): (depth, names); an
        # object hides a type of its name from the token after its declaration on
        frames: list[tuple[int, set[str]]] = [(0, set())]
        brace_kinds: list[str] = []  # per open '{': 'stmt', 'expr' or 'other'
        brace_hint: str | None = None  # the kind the next '{' opens, from a keyword
        pending_objs: set[str] = set()  # parameters declared in the next '{' scope
        pending_decls: dict[int, tuple[int, str]] = {}  # declared after raw[i]: (name index, kind)
        param_list_at: int | None = None  # raw index of a '(' whose parameters are declared
        want_params = False  # a control or parser declaration's parameter list comes next
        paren_owners: list[str] = []  # the token kind before each open '('
        last_closed = ""  # the token kind before the last closed '('
        stmt_start = True
        brackets: list[str] = []  # 'T' type-argument '<', '(' or '['
        depth = 0
        out_kinds: list[str] = []
        n = len(raw)

        def is_type(name: str) -> bool:
            obj_depth = -1
            for d, names in reversed(frames):
                if name in names:
                    obj_depth = d
                    break
            for s, d in reversed(scopes):
                if name in s:
                    if d + 0.5 > obj_depth:
                        return True
                    break
            return obj_depth < 0 and name in global_types

        def declare_object(j: int) -> None:
            name = raw[j].text
            if depth == 0 and name in global_types:
                self._redeclared(raw[j], global_types[name])
                return
            frames[-1][1].add(name)

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
            if stmt_start and kind not in ("ANNOTATION_NAME", "ANNOTATION_BODY"):
                stmt_start = False
                ctx = brace_kinds[-1] if brace_kinds else "top"
                decl = declaration_at(raw, i, is_type, ctx == "top") if ctx in ("stmt", "top") else None
                if decl is not None:
                    name_at, end_at, what = decl
                    pending_decls[end_at] = (name_at, what)
                    if what == "function":
                        j = name_at + 1
                        if raw[j].kind == "<":
                            j = skip_balanced(raw, j)
                        param_list_at = j
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
                if kind == "(":
                    paren_owners.append(out_kinds[-1] if out_kinds else "")
                    if (want_params and "(" not in brackets) or param_list_at == i:
                        pending_objs.update(raw[j].text for j in parameter_names(raw, i))
                        want_params = False
                        param_list_at = None
                brackets.append(kind)
            elif kind in (")", "]"):
                while brackets and brackets[-1] == "T":
                    brackets.pop()
                if brackets:
                    brackets.pop()
                if kind == ")" and paren_owners:
                    last_closed = paren_owners.pop()
            elif kind == "{":
                prev = out_kinds[-1] if out_kinds else ""
                if (brace_kinds and brace_kinds[-1] == "expr") or prev in ("=", "(", ",", "?", "RETURN"):
                    brace_kinds.append("expr")
                elif prev == ":":
                    brace_kinds.append("stmt")
                elif prev == ")" and last_closed in ("SELECT", "SWITCH"):
                    brace_kinds.append("other")
                else:
                    brace_kinds.append(brace_hint or "stmt")
                brace_hint = None
                depth += 1
                frames.append((depth, pending_objs))
                pending_objs = set()
                stmt_start = True
            elif kind == "}":
                depth -= 1
                while scopes and scopes[-1][1] >= depth:
                    scopes.pop()
                while len(frames) > 1 and frames[-1][0] > depth:
                    frames.pop()
                if brace_kinds:
                    brace_kinds.pop()
                stmt_start = True
            elif kind == ";":
                while scopes and scopes[-1][1] == depth:
                    scopes.pop()
                if "(" not in brackets and "[" not in brackets:
                    stmt_start = True
                    brace_hint = None
                    pending_objs = set()
                    want_params = False
            elif kind in ("HEADER", "STRUCT", "HEADER_UNION", "ENUM", "EXTERN", "TABLE"):
                brace_hint = "other"
            elif kind in ("ERROR", "MATCH_KIND") and i + 1 < n and raw[i + 1].kind == "{":
                brace_hint = "other"
            elif kind in ("CONTROL", "PARSER"):
                want_params = True
            out_kinds.append(kind)
            yield Token(kind, text, t.pos, t.line, t.col, t.line, t.col + len(text), t.pos + len(text))
            if i in pending_decls:
                declare_object(pending_decls.pop(i)[0])
            i += 1


class LarkP4Lexer(Lexer):
    """Adapter so lark's LALR front end pulls tokens from P4Lexer."""

    # a loc_of callback is installed by parser.py before each parse
    loc_of = staticmethod(lambda line, col: SourceLoc("<input>", line, col))
    terminal_map: dict[str, str] = {}
    history: list = []  # the last tokens handed to the parser, for error messages
    errors: list[CompileError] = []  # the errors the lexer found without stopping

    def __init__(self, lexer_conf) -> None:  # noqa: D107 - lark interface
        pass

    def lex(self, data: str) -> Iterator[Token]:  # type: ignore[override]
        tmap = LarkP4Lexer.terminal_map
        hist = LarkP4Lexer.history = []
        lexer = P4Lexer(data, LarkP4Lexer.loc_of)
        LarkP4Lexer.errors = lexer.errors
        for tok in lexer.tokens():
            name = tmap.get(tok.type, tok.type)
            t = Token(name, tok.value, tok.start_pos, tok.line, tok.column,
                      tok.end_line, tok.end_column, tok.end_pos)
            hist.append(t)
            if len(hist) > 8:
                del hist[0]
            yield t
