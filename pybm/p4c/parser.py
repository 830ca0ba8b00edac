"""Front end: P4_16 text -> typed AST (ast.py), with lark's LALR parser.

The grammar is grammar.lark (after the P4_16 spec's grammar appendix); the
lexer is lexer.py. Locations are mapped back through the preprocessor's line
map, so errors point at the original file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from .errors import CompileError, SourceLoc, raise_all
from .lexer import LarkP4Lexer
from .literals import parse_int_literal
from .preprocessor import PreprocessedSource

_GRAMMAR = (Path(__file__).parent / "grammar.lark").read_text()
_LARK: Lark | None = None


def _cache_file() -> str | bool:
    """Building the LALR tables takes ~2 s: lark caches them, keyed by the grammar's hash."""
    import hashlib
    import os
    import tempfile
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(base, "pybm-p4c")
    try:
        os.makedirs(d, exist_ok=True)
    except OSError:
        d = tempfile.gettempdir()
    if not os.access(d, os.W_OK):
        return False
    digest = hashlib.sha256(_GRAMMAR.encode()).hexdigest()[:16]
    return os.path.join(d, f"grammar-{digest}.lark.cache")


def _lark() -> Lark:
    global _LARK
    if _LARK is None:
        _LARK = Lark(_GRAMMAR, parser="lalr", lexer=LarkP4Lexer, propagate_positions=True,
                     maybe_placeholders=False, cache=_cache_file())
        tmap = {}
        for t in _LARK.terminals:
            if t.pattern.type == "str":
                tmap[t.pattern.value] = t.name
        LarkP4Lexer.terminal_map = tmap
    return _LARK


_TOKEN_DESCR = {
    "SEMICOLON": "';'", "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'",
    "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "DOT": "'.'", "COLON": "':'",
    "EQUAL": "'='", "LESSTHAN": "'<'", "MORETHAN": "'>'", "QMARK": "'?'",
    "IDENTIFIER": "identifier", "TYPE_IDENTIFIER": "type name", "INTEGER": "integer",
}


def _describe(tok: Token) -> str:
    if tok.type == "$END":
        return "end of input"
    return f"'{tok.value}'"


def parse_program(src: PreprocessedSource) -> ast.Program:
    lark = _lark()
    LarkP4Lexer.loc_of = staticmethod(src.loc)  # type: ignore[assignment]
    LarkP4Lexer.errors = []
    try:
        tree = lark.parse(src.text)
    except CompileError as e:
        raise_all([*LarkP4Lexer.errors, e])
        raise
    except (UnexpectedToken, UnexpectedCharacters, UnexpectedInput) as e:
        # like p4c's parser: the errors found so far and the first syntax error
        raise_all([*LarkP4Lexer.errors, _syntax_error(e, src)])
        raise
    # like p4c, errors of the parser's symbol table stop the compilation after parsing
    raise_all(LarkP4Lexer.errors)
    try:
        return _ToAst(src).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, CompileError):
            raise e.orig_exc from None
        raise


def _syntax_error(e: UnexpectedInput, src: PreprocessedSource) -> CompileError:
    if isinstance(e, UnexpectedToken):
        tok = e.token
        hist = list(LarkP4Lexer.history)
        if hist and hist[-1] is tok:
            hist.pop()
        if len(hist) >= 2 and hist[-2].type == "IDENTIFIER" and hist[-1].type == "IDENTIFIER":
            # 'T x' where T is not a declared type
            prev = hist[-2]
            return CompileError(src.loc(prev.line, prev.column), f"unknown type '{prev.value}'")
        loc = src.loc(tok.line, tok.column) if tok.line else src.loc(len(src.line_map), 1)
        expected = sorted(_TOKEN_DESCR.get(x, x.lower()) for x in e.expected)[:8]
        return CompileError(loc, f"syntax error, unexpected {_describe(tok)}"
                            + (f" (expected {', '.join(expected)})" if expected else ""))
    if isinstance(e, UnexpectedCharacters):
        return CompileError(src.loc(e.line, e.column), "syntax error, unexpected character")
    return CompileError(src.loc(getattr(e, "line", 0), getattr(e, "column", 0)), "syntax error")


def _is_tok(x: Any, *types: str) -> bool:
    return isinstance(x, Token) and (not types or x.type in types)


class _Name(str):
    """A name (a str) that knows where it is written."""
    loc: SourceLoc | None = None


class _Annots(list):
    """Marker list type for annotation children."""


class _TypeParams(list):
    pass


class _Params(list):
    pass


class _Args(list):
    pass


class _Direction(str):
    pass


@v_args(meta=True)
class _ToAst(Transformer):
    def __init__(self, src: PreprocessedSource) -> None:
        super().__init__()
        self.src = src

    def _loc(self, meta: Any) -> SourceLoc | None:
        if getattr(meta, "empty", True):
            return None
        return self.src.loc(meta.line, meta.column)

    def _tloc(self, tok: Token) -> SourceLoc:
        return self.src.loc(tok.line, tok.column)

    @staticmethod
    def _annots(children: list) -> list[ast.Annotation]:
        for c in children:
            if isinstance(c, _Annots):
                return list(c)
        return []

    @staticmethod
    def _rest(children: list) -> list:
        """Children without annotation lists and keyword tokens."""
        return [c for c in children if not isinstance(c, _Annots)
                and not (isinstance(c, Token) and c.type not in ("IDENTIFIER", "TYPE_IDENTIFIER",
                                                                 "INTEGER", "STRING_LITERAL"))]

    # ------------------------------------------------------------ names
    def start(self, meta, ch):
        return ast.Program([c for c in ch if isinstance(c, ast.Node)], loc=self._loc(meta))

    def non_type_name(self, meta, ch):
        return self._name(ch[0])

    def name(self, meta, ch):
        return self._name(ch[0])

    def _name(self, tok: Any) -> str:
        """A name, remembering where it is written (for p4c's carets under a name)."""
        n = _Name(str(tok))
        n.loc = getattr(tok, "loc", None) or (self._tloc(tok) if isinstance(tok, Token) else None)
        return n

    def member(self, meta, ch):
        return ch[0]

    def non_table_kw_name(self, meta, ch):
        return str(ch[0])

    def annotations(self, meta, ch):
        return _Annots(ch)

    def annotation(self, meta, ch):
        body = str(ch[1]) if len(ch) > 1 else None
        return ast.Annotation(str(ch[0]), body, loc=self._loc(meta))

    def trailing_comma(self, meta, ch):
        return None

    # ------------------------------------------------------------ parameters
    def parameter_list(self, meta, ch):
        return _Params(ch)

    def direction(self, meta, ch):
        return _Direction(str(ch[0]) if ch else "")

    def parameter(self, meta, ch):
        annots = self._annots(ch)
        rest = [c for c in ch if not isinstance(c, _Annots)]
        direction, typeref, name = rest[0], rest[1], rest[2]
        default = rest[3] if len(rest) > 3 else None
        return ast.Param(name, str(direction), typeref, default, annotations=annots, loc=self._loc(meta))

    def opt_type_parameters(self, meta, ch):
        for c in ch:
            if isinstance(c, _TypeParams):
                return c
        return _TypeParams()

    def lt_any(self, meta, ch):
        return None

    def type_parameter_list(self, meta, ch):
        return _TypeParams(ch)

    def opt_constructor_parameters(self, meta, ch):
        return _Params(ch[0]) if ch else _Params()

    # ------------------------------------------------------------ types
    def prefixed_type(self, meta, ch):
        return ast.NamedTypeRef(str(ch[0]), loc=self._loc(meta))

    def dot_prefixed_type(self, meta, ch):
        return ast.NamedTypeRef(str(ch[0]), True, loc=self._loc(meta))

    def type_name(self, meta, ch):
        return ch[0]

    def named_type(self, meta, ch):
        return ch[0]

    def tuple_type(self, meta, ch):
        return ast.TupleTypeRef(list(ch[1]), loc=self._loc(meta))

    def list_type(self, meta, ch):
        return ast.TupleTypeRef([ch[1]], is_list=True, loc=self._loc(meta))

    def header_stack_type(self, meta, ch):
        return ast.StackTypeRef(ch[0], ch[1], loc=self._loc(meta))

    def specialized_type(self, meta, ch):
        return ast.SpecializedTypeRef(ch[0], list(ch[1]), loc=self._loc(meta))

    def type_argument_list(self, meta, ch):
        return list(ch)

    def _simple(kind):  # noqa: N805 - helper to build methods
        def f(self, meta, ch):
            return ast.SimpleTypeRef(kind, loc=self._loc(meta))
        return f

    bool_type = _simple("bool")
    match_kind_type = _simple("match_kind")
    error_type = _simple("error")
    string_type = _simple("string")
    int_type = _simple("int")
    void_type = _simple("void")
    dontcare_type = _simple("dontcare")

    def bit1_type(self, meta, ch):
        return ast.BitTypeRef(1, loc=self._loc(meta))

    def _width(self, tok: Token) -> int:
        v, w, _ = parse_int_literal(str(tok))
        if w is not None:
            raise CompileError(self._tloc(tok), "type width must be a plain integer")
        return v

    def bit_type(self, meta, ch):
        return ast.BitTypeRef(self._width(ch[1]), loc=self._loc(meta))

    def signed_type(self, meta, ch):
        return ast.BitTypeRef(self._width(ch[1]), True, loc=self._loc(meta))

    def varbit_type(self, meta, ch):
        return ast.VarbitTypeRef(self._width(ch[1]), loc=self._loc(meta))

    def bit_type_expr(self, meta, ch):
        return ast.BitTypeRef(ch[1], loc=self._loc(meta))

    def signed_type_expr(self, meta, ch):
        return ast.BitTypeRef(ch[1], True, loc=self._loc(meta))

    def varbit_type_expr(self, meta, ch):
        return ast.VarbitTypeRef(ch[1], loc=self._loc(meta))

    # ------------------------------------------------------------ type declarations
    def _struct_like(self, kind, meta, ch):
        annots = self._annots(ch)
        rest = self._rest(ch)
        name = rest[0]
        tps = [c for c in rest if isinstance(c, _TypeParams)]
        fields = [c for c in rest if isinstance(c, ast.StructField)]
        return ast.StructLikeDecl(name, kind, fields, list(tps[0]) if tps else [],
                                  annotations=annots, loc=self._loc(meta))

    def header_type_declaration(self, meta, ch):
        return self._struct_like("header", meta, ch)

    def header_union_declaration(self, meta, ch):
        return self._struct_like("header_union", meta, ch)

    def struct_type_declaration(self, meta, ch):
        return self._struct_like("struct", meta, ch)

    def struct_field(self, meta, ch):
        rest = [c for c in ch if not isinstance(c, _Annots)]
        return ast.StructField(rest[1], rest[0], annotations=self._annots(ch), loc=self._loc(meta))

    def identifier_list(self, meta, ch):
        if len(ch) == 1:
            return [ch[0]]
        return ch[0] + [ch[1]]

    def specified_identifier_list(self, meta, ch):
        if len(ch) == 1:
            return [ch[0]]
        return ch[0] + [ch[1]]

    def specified_identifier(self, meta, ch):
        return (ch[0], ch[1])

    def enum_plain(self, meta, ch):
        rest = self._rest(ch)
        return ast.EnumDecl(rest[0], [(n, None) for n in rest[1]], annotations=self._annots(ch),
                            loc=self._loc(meta))

    def enum_serializable(self, meta, ch):
        rest = self._rest(ch)
        return ast.EnumDecl(rest[1], list(rest[2]), rest[0], annotations=self._annots(ch),
                            loc=self._loc(meta))

    def error_declaration(self, meta, ch):
        rest = self._rest(ch)
        return ast.ErrorDecl("error", rest[0], loc=self._loc(meta))

    def match_kind_declaration(self, meta, ch):
        rest = self._rest(ch)
        return ast.MatchKindDecl("match_kind", rest[0], loc=self._loc(meta))

    def typedef_decl(self, meta, ch):
        rest = self._rest(ch)
        return ast.TypedefDecl(rest[1], rest[0], annotations=self._annots(ch), loc=self._loc(meta))

    def newtype_decl(self, meta, ch):
        rest = self._rest(ch)
        return ast.TypedefDecl(rest[1], rest[0], True, annotations=self._annots(ch), loc=self._loc(meta))

    def package_type_declaration(self, meta, ch):
        rest = self._rest(ch)
        return ast.PackageTypeDecl(rest[0], list(rest[1]), list(rest[2]), annotations=self._annots(ch),
                                   loc=self._loc(meta))

    def parser_type_declaration(self, meta, ch):
        rest = self._rest(ch)
        return ast.ParserTypeDecl(rest[0], list(rest[1]), list(rest[2]), annotations=self._annots(ch),
                                  loc=self._loc(meta))

    def control_type_declaration(self, meta, ch):
        rest = self._rest(ch)
        return ast.ControlTypeDecl(rest[0], list(rest[1]), list(rest[2]), annotations=self._annots(ch),
                                   loc=self._loc(meta))

    # ------------------------------------------------------------ externs and functions
    def function_prototype(self, meta, ch):
        return ast.FunctionProto(ch[1], ch[0], list(ch[2]), list(ch[3]), loc=self._loc(meta))

    def void_function_prototype(self, meta, ch):
        return ast.FunctionProto(ch[1], ast.SimpleTypeRef("void", loc=self._tloc(ch[0])),
                                 list(ch[2]), list(ch[3]), loc=self._loc(meta))

    def typevar_function_prototype(self, meta, ch):
        return ast.FunctionProto(ch[1], ast.NamedTypeRef(str(ch[0]), loc=self._tloc(ch[0])),
                                 list(ch[2]), list(ch[3]), loc=self._loc(meta))

    def method_proto(self, meta, ch):
        proto = [c for c in ch if isinstance(c, ast.FunctionProto)][0]
        proto.annotations = self._annots(ch)
        return proto

    def abstract_proto(self, meta, ch):
        proto = self.method_proto(meta, ch)
        proto.is_abstract = True
        return proto

    def constructor_proto(self, meta, ch):
        rest = self._rest(ch)
        return ast.FunctionProto(str(rest[0]), ast.SimpleTypeRef("void"), [], list(rest[1]),
                                 is_constructor=True, annotations=self._annots(ch), loc=self._loc(meta))

    def extern_object(self, meta, ch):
        rest = self._rest(ch)
        return ast.ExternDecl(str(rest[0]), list(rest[1]), [m for m in rest[2:] if isinstance(m, ast.FunctionProto)],
                              annotations=self._annots(ch), loc=self._loc(meta))

    def extern_function(self, meta, ch):
        proto = [c for c in ch if isinstance(c, ast.FunctionProto)][0]
        proto.annotations = self._annots(ch)
        return ast.ExternFunctionDecl(proto.name, proto, annotations=self._annots(ch), loc=self._loc(meta))

    def function_declaration(self, meta, ch):
        rest = [c for c in ch if not isinstance(c, _Annots)]
        proto, body = rest
        return ast.FunctionDecl(proto.name, proto, body, annotations=self._annots(ch), loc=self._loc(meta))

    def action_declaration(self, meta, ch):
        rest = self._rest(ch)
        return ast.ActionDecl(rest[0], list(rest[1]), rest[2], annotations=self._annots(ch),
                              loc=self._loc(meta))

    # ------------------------------------------------------------ instances, variables
    def instantiation(self, meta, ch):
        rest = [c for c in ch if not isinstance(c, _Annots)]
        return ast.Instantiation(rest[2], rest[0], list(rest[1]), annotations=self._annots(ch),
                                 loc=self._loc(meta))

    def instantiation_init(self, meta, ch):
        raise CompileError(self._loc(meta), "unsupported by pybm-p4c: instantiation with an "
                           "initializer block (abstract methods)")

    def object_initializer(self, meta, ch):
        return ch

    def variable_declaration(self, meta, ch):
        rest = [c for c in ch if not isinstance(c, _Annots)]
        init = rest[2] if len(rest) > 2 else None
        d = ast.VarDecl(rest[1], rest[0], init, annotations=self._annots(ch), loc=self._loc(meta))
        d.name_loc = getattr(rest[1], "loc", None)
        return d

    def constant_declaration(self, meta, ch):
        rest = self._rest(ch)
        d = ast.ConstDecl(rest[1], rest[0], rest[2], annotations=self._annots(ch), loc=self._loc(meta))
        d.name_loc = getattr(rest[1], "loc", None)
        return d

    def value_set_declaration(self, meta, ch):
        rest = self._rest(ch)
        return ast.ValueSetDecl(rest[2], rest[0], rest[1], annotations=self._annots(ch), loc=self._loc(meta))

    # ------------------------------------------------------------ parser
    def parser_declaration(self, meta, ch):
        ptype, ctor = ch[0], ch[1]
        locals_ = [c for c in ch[2:] if not isinstance(c, ast.ParserState)]
        states = [c for c in ch[2:] if isinstance(c, ast.ParserState)]
        return ast.ParserDecl(ptype.name, ptype.type_params, ptype.params, list(ctor), locals_, states,
                              annotations=ptype.annotations, loc=ptype.loc)

    def parser_state(self, meta, ch):
        rest = self._rest(ch)
        name = rest[0]
        stmts = [c for c in rest[1:] if not isinstance(c, _Transition)]
        trans = [c for c in rest[1:] if isinstance(c, _Transition)]
        return ast.ParserState(name, stmts, trans[0].target if trans else None,
                               annotations=self._annots(ch), loc=self._loc(meta))

    def parser_block_statement(self, meta, ch):
        return ast.BlockStmt([c for c in ch if not isinstance(c, _Annots)], self._annots(ch),
                             loc=self._loc(meta))

    def transition_statement(self, meta, ch):
        return _Transition(ch[1])

    def state_expression(self, meta, ch):
        return ch[0]

    def state_name(self, meta, ch):
        return ch[0]

    def select_expression(self, meta, ch):
        rest = self._rest(ch)
        return ast.SelectExpr(rest[0], rest[1:], loc=self._loc(meta))

    def select_case(self, meta, ch):
        return ast.SelectCase(ch[0], ch[1], loc=self._loc(meta))

    def keyset_expression(self, meta, ch):
        return ch[0]

    def tuple_keyset_expression(self, meta, ch):
        if len(ch) == 1:
            return ch[0]
        return ast.TupleKey([ch[0], *ch[1]], loc=self._loc(meta))

    def simple_expression_list(self, meta, ch):
        return list(ch)

    def keyset_expr(self, meta, ch):
        return ch[0]

    def keyset_default(self, meta, ch):
        return ast.DefaultKey(loc=self._loc(meta))

    def keyset_dontcare(self, meta, ch):
        return ast.DontCare(loc=self._loc(meta))

    def keyset_mask(self, meta, ch):
        return ast.MaskKey(ch[0], ch[2], loc=self._loc(meta))

    def keyset_range(self, meta, ch):
        return ast.RangeKey(ch[0], ch[2], loc=self._loc(meta))

    # ------------------------------------------------------------ control
    def control_declaration(self, meta, ch):
        ctype, ctor = ch[0], ch[1]
        body = ch[-1]
        locals_ = [c for c in ch[2:-1] if isinstance(c, ast.Node)]
        return ast.ControlDecl(ctype.name, ctype.type_params, ctype.params, list(ctor), locals_, body,
                               annotations=ctype.annotations, loc=ctype.loc)

    def control_body(self, meta, ch):
        return ch[0]

    def table_declaration(self, meta, ch):
        rest = self._rest(ch)
        return ast.TableDecl(rest[0], rest[1:], annotations=self._annots(ch), loc=self._loc(meta))

    def key_property(self, meta, ch):
        return ast.TableProperty("key", [c for c in ch if isinstance(c, ast.KeyElement)], loc=self._loc(meta))

    def actions_property(self, meta, ch):
        return ast.TableProperty("actions", [c for c in ch if isinstance(c, ast.ActionRef)],
                                 loc=self._loc(meta))

    def entries_property(self, meta, ch):
        is_const = any(_is_tok(c, "CONST") for c in ch)
        return ast.TableProperty("entries", [c for c in ch if isinstance(c, ast.TableEntry)], is_const,
                                 self._annots(ch), loc=self._loc(meta))

    def simple_property(self, meta, ch):
        is_const = any(_is_tok(c, "CONST") for c in ch)
        rest = [c for c in ch if not isinstance(c, _Annots) and not _is_tok(c, "CONST")]
        return ast.TableProperty(rest[0], rest[1], is_const, self._annots(ch), loc=self._loc(meta))

    def key_element(self, meta, ch):
        return ast.KeyElement(ch[0], ch[1], self._annots(ch), loc=self._loc(meta))

    def action_ref(self, meta, ch):
        rest = [c for c in ch if not isinstance(c, _Annots)]
        return ast.ActionRef(rest[0], None, self._annots(ch), loc=self._loc(meta))

    def action_ref_args(self, meta, ch):
        rest = [c for c in ch if not isinstance(c, _Annots)]
        return ast.ActionRef(rest[0], list(rest[1]), self._annots(ch), loc=self._loc(meta))

    def entry(self, meta, ch):
        annots: list[ast.Annotation] = []
        for c in ch:
            if isinstance(c, _Annots):
                annots.extend(c)
        is_const = any(_is_tok(c, "CONST") for c in ch)
        rest = [c for c in ch if not isinstance(c, _Annots) and not _is_tok(c, "CONST")]
        prio = None
        if isinstance(rest[0], _Priority):
            prio = rest.pop(0).expr
        return ast.TableEntry(rest[0], rest[1], prio, annots, is_const, loc=self._loc(meta))

    def entry_priority(self, meta, ch):
        return _Priority(ch[1])

    # ------------------------------------------------------------ statements
    def call_statement(self, meta, ch):
        call = ast.Call(ch[0], list(ch[1]), loc=self._loc(meta))
        return ast.CallStmt(call, loc=self._loc(meta))

    def generic_call_statement(self, meta, ch):
        call = ast.Call(ch[0], list(ch[3]), list(ch[2]), loc=self._loc(meta))
        return ast.CallStmt(call, loc=self._loc(meta))

    def assignment(self, meta, ch):
        return ast.AssignStmt(ch[0], ch[1], loc=self._loc(meta))

    def op_assignment(self, meta, ch):
        op = str(ch[1])[:-1]
        loc = self._loc(meta)
        return ast.AssignStmt(ch[0], ast.Binary(op, ch[0], ch[2], loc=loc), loc=loc)

    def empty_statement(self, meta, ch):
        return ast.EmptyStmt(loc=self._loc(meta))

    def return_statement(self, meta, ch):
        return ast.ReturnStmt(ch[1] if len(ch) > 1 else None, loc=self._loc(meta))

    def break_statement(self, meta, ch):
        return ast.BreakStmt(loc=self._loc(meta))

    def continue_statement(self, meta, ch):
        return ast.ContinueStmt(loc=self._loc(meta))

    def exit_statement(self, meta, ch):
        return ast.ExitStmt(loc=self._loc(meta))

    def if_statement(self, meta, ch):
        return ast.IfStmt(ch[1], ch[2], None, loc=self._loc(meta))

    def if_else_statement(self, meta, ch):
        return ast.IfStmt(ch[1], ch[2], ch[4], loc=self._loc(meta))

    def direct_application(self, meta, ch):
        loc = self._loc(meta)
        func = ast.Member(ast.TypeNameExpr(ch[0], loc=loc), "apply", loc=loc)
        return ast.CallStmt(ast.Call(func, list(ch[2]), loc=loc), loc=loc)

    def block_statement(self, meta, ch):
        return ast.BlockStmt([c for c in ch if not isinstance(c, _Annots)], self._annots(ch),
                             loc=self._loc(meta))

    def switch_statement(self, meta, ch):
        return ast.SwitchStmt(ch[1], list(ch[2:]), loc=self._loc(meta))

    def switch_case(self, meta, ch):
        return ast.SwitchCase(ch[0], ch[1], loc=self._loc(meta))

    def switch_fallthrough(self, meta, ch):
        return ast.SwitchCase(ch[0], None, loc=self._loc(meta))

    def switch_default(self, meta, ch):
        return None

    def switch_expr_label(self, meta, ch):
        return ch[0]

    def for_statement(self, meta, ch):
        init = next((c for c in ch if isinstance(c, _ForInit)), [])
        update = next((c for c in ch if isinstance(c, _ForUpdate)), [])
        rest = [c for c in ch if isinstance(c, ast.Node) and not isinstance(c, (_ForInit, _ForUpdate))]
        body = rest[-1]
        cond = rest[0] if len(rest) == 2 else None
        return ast.ForStmt(list(init), cond, list(update), body, loc=self._loc(meta))

    def for_in_statement(self, meta, ch):
        raise CompileError(self._loc(meta), "unsupported by pybm-p4c: for-in loops")

    def for_init_statements(self, meta, ch):
        return _ForInit(ch)

    def for_update_statements(self, meta, ch):
        return _ForUpdate(ch)

    def for_var_init(self, meta, ch):
        return ast.VarDecl(ch[1], ch[0], ch[2], loc=self._loc(meta))

    def for_assign(self, meta, ch):
        return ast.AssignStmt(ch[0], ch[1], loc=self._loc(meta))

    def for_op_assign(self, meta, ch):
        return self.op_assignment(meta, ch)

    def for_call(self, meta, ch):
        return self.call_statement(meta, ch)

    # ------------------------------------------------------------ arguments
    def argument_list(self, meta, ch):
        return _Args(ch)

    def arg_positional(self, meta, ch):
        return ast.Argument(ch[0], loc=self._loc(meta))

    def arg_named(self, meta, ch):
        return ast.Argument(ch[1], ch[0], loc=self._loc(meta))

    def arg_dontcare(self, meta, ch):
        return ast.Argument(None, loc=self._loc(meta))

    def arg_named_dontcare(self, meta, ch):
        return ast.Argument(None, ch[0], loc=self._loc(meta))

    def expression_list(self, meta, ch):
        return list(ch[0]) if ch else []

    def nonempty_expression_list(self, meta, ch):
        if len(ch) == 1:
            return [ch[0]]
        return ch[0] + [ch[1]]

    # ------------------------------------------------------------ expressions
    def path(self, meta, ch):
        return ast.PathExpr(ch[0], loc=self._loc(meta))

    def dot_path(self, meta, ch):
        return ast.PathExpr(ch[0], True, loc=self._loc(meta))

    def lvalue(self, meta, ch):
        return ch[0]

    def lv_member(self, meta, ch):
        return ast.Member(ch[0], ch[1], loc=self._loc(meta))

    def lv_index(self, meta, ch):
        return ast.Index(ch[0], ch[1], loc=self._loc(meta))

    def lv_slice(self, meta, ch):
        return ast.Slice(ch[0], ch[1], ch[2], loc=self._loc(meta))

    member_expr = lv_member
    index_expr = lv_index
    slice_expr = lv_slice

    def this_expr(self, meta, ch):
        return ast.This(loc=self._loc(meta))

    def ternary_expr(self, meta, ch):
        return ast.Ternary(ch[0], ch[1], ch[2], loc=self._loc(meta))

    def binop(self, meta, ch):
        return ast.Binary(str(ch[1]), ch[0], ch[2], loc=self._tloc(ch[1]))

    def unop(self, meta, ch):
        return ast.Unary(str(ch[0]), ch[1], loc=self._loc(meta))

    def cast(self, meta, ch):
        return ast.Cast(ch[0], ch[1], loc=self._loc(meta))

    def call_expr(self, meta, ch):
        return ast.Call(ch[0], list(ch[1]), loc=self._loc(meta))

    def generic_call_expr(self, meta, ch):
        loc = self._loc(meta)
        return ast.Call(ast.PathExpr(ch[0], loc=loc), list(ch[3]), list(ch[2]), loc=loc)

    def generic_method_call_expr(self, meta, ch):
        loc = self._loc(meta)
        return ast.Call(ast.Member(ch[0], ch[1], loc=loc), list(ch[4]), list(ch[3]), loc=loc)

    def int_literal(self, meta, ch):
        tok = ch[0]
        try:
            value, width, signed = parse_int_literal(str(tok))
        except ValueError:
            raise CompileError(self._tloc(tok), f"invalid integer literal '{tok}'") from None
        return ast.IntLit(value, width, signed, str(tok), loc=self._tloc(tok))

    def true_literal(self, meta, ch):
        return ast.BoolLit(True, loc=self._loc(meta))

    def false_literal(self, meta, ch):
        return ast.BoolLit(False, loc=self._loc(meta))

    def string_literal(self, meta, ch):
        from .annotations import unquote
        return ast.StringLit(unquote(str(ch[0])), loc=self._loc(meta))

    def list_expression(self, meta, ch):
        return ast.ListExpr(list(ch[0]) if ch else [], loc=self._loc(meta))

    def list_expression_dots(self, meta, ch):
        raise CompileError(self._loc(meta), "unsupported by pybm-p4c: '...' in list expressions")

    def dots_expression(self, meta, ch):
        return ast.StructInit([], True, loc=self._loc(meta))

    def struct_expression(self, meta, ch):
        return ast.StructInit(list(ch[0]), loc=self._loc(meta))

    def struct_expression_dots(self, meta, ch):
        return ast.StructInit(list(ch[0]), True, loc=self._loc(meta))

    def kv_list(self, meta, ch):
        if len(ch) == 1:
            return [ch[0]]
        return ch[0] + [ch[1]]

    def kv_pair(self, meta, ch):
        return (ch[0], ch[1])

    def type_member(self, meta, ch):
        loc = self._loc(meta)
        return ast.Member(ast.TypeNameExpr(ch[0], loc=loc), ch[1], loc=loc)

    def error_member(self, meta, ch):
        loc = self._loc(meta)
        return ast.Member(ast.TypeNameExpr(ast.SimpleTypeRef("error", loc=loc), loc=loc), ch[1], loc=loc)

    def constructor_call(self, meta, ch):
        return ast.ConstructorCall(ch[0], list(ch[1]), loc=self._loc(meta))


class _ForInit(list):
    pass


class _ForUpdate(list):
    pass


class _Transition:
    def __init__(self, target: Any) -> None:
        self.target = target


class _Priority:
    def __init__(self, expr: Any) -> None:
        self.expr = expr
