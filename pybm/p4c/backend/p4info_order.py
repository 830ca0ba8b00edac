"""The order in which p4c's P4Info lists objects.

p4c serializes the program after its mid end: every sub-control is inlined
into the V1Switch block that applies it (its locals take the place of the
instance declaration), global actions are copied into each control that
uses them (placed before the control's own declarations, in the order the
control first refers to them), and the blocks are visited in the order of
V1Switch's parameters. Tables, actions and extern instances are listed in
that flattened order, digests in the order their calls appear.
"""
from __future__ import annotations

from typing import Any

from .. import ast
from ..typecheck import annotation_string
from ..types import StructT, TupleT, strip_newtype


def _qualify(prefix: str, decl: Any) -> str:
    n = annotation_string(getattr(decl, "annotations", []), "name")
    name = decl.name if n is None else n
    if n is not None and n.startswith("."):
        return n[1:]
    return f"{prefix}.{name}" if prefix else name


class ProgramOrder:
    """Positions of tables, actions, extern instances and digests, by name."""

    def __init__(self, program: ast.Program, blocks: list[tuple[Any, Any]]) -> None:
        self.globals = {id(d) for d in program.decls}
        self.actions: dict[str, int] = {}
        self.tables: dict[str, int] = {}
        self.externs: dict[str, int] = {}
        self.digests: dict[str, int] = {}
        self._instances: dict[int, tuple[Any, str]] = {}
        self._seen_bodies: set[int] = set()
        for d in program.decls:
            if isinstance(d, ast.Instantiation) and getattr(d, "otype", None) is not None \
                    and d.otype.kind == "extern":
                self._add(self.externs, _qualify("", d))
        for decl, _node in blocks:
            refs: list[str] = []
            own: list[tuple[str, str]] = []
            self._block(decl, decl.name, refs, own)
            for n in refs:
                self._add(self.actions, n)
            for kind, n in own:
                self._add({"a": self.actions, "t": self.tables, "e": self.externs}[kind], n)

    @staticmethod
    def _add(d: dict[str, int], name: str) -> None:
        d.setdefault(name, len(d))

    def _block(self, decl: Any, prefix: str, refs: list[str], own: list[tuple[str, str]]) -> None:
        for d in getattr(decl, "locals", []):
            q = _qualify(prefix, d)
            if isinstance(d, ast.ActionDecl):
                own.append(("a", q))
                self._scan(d.body, prefix, refs, own, in_action=True)
            elif isinstance(d, ast.TableDecl):
                own.append(("t", q))
                for ar in getattr(d, "action_refs", []):
                    if id(getattr(ar, "decl", None)) in self.globals:
                        refs.append(_qualify("", ar.decl))
            elif isinstance(d, ast.Instantiation):
                ot = getattr(d, "otype", None)
                if ot is None:
                    continue
                if ot.kind in ("control", "parser") and isinstance(ot.decl, (ast.ControlDecl, ast.ParserDecl)):
                    self._instances[id(d)] = (ot.decl, q)
                    self._block(ot.decl, q, refs, own)
                elif ot.kind == "extern":
                    own.append(("e", q))
        if isinstance(decl, ast.ControlDecl):
            self._scan(decl.body, prefix, refs, own, in_action=False)
        elif isinstance(decl, ast.ParserDecl):
            for st in decl.states:
                self._scan(st, prefix, refs, own, in_action=False)

    def _scan(self, node: Any, prefix: str, refs: list[str], own: list[tuple[str, str]], in_action: bool) -> None:
        if isinstance(node, ast.Call):
            self._call(node, prefix, refs, own, in_action)
        if isinstance(node, ast.Node):
            for v in vars(node).values():
                if isinstance(v, ast.Node):
                    self._scan(v, prefix, refs, own, in_action)
                elif isinstance(v, list):
                    for x in v:
                        if isinstance(x, ast.Node):
                            self._scan(x, prefix, refs, own, in_action)

    def _call(self, e: ast.Call, prefix: str, refs: list[str], own: list[tuple[str, str]], in_action: bool) -> None:
        kind = getattr(e, "kind", None)
        target = getattr(e, "target", None)
        if kind == "action" and target is not None:
            if id(target) in self.globals and not in_action:
                refs.append(_qualify("", target))
            if id(target.body) not in self._seen_bodies:
                self._seen_bodies.add(id(target.body))
                self._scan(target.body, prefix, refs, own, in_action=True)
                self._seen_bodies.discard(id(target.body))
        elif kind == "function" and target is not None:
            if id(target.body) not in self._seen_bodies:
                self._seen_bodies.add(id(target.body))
                self._scan(target.body, prefix, refs, own, in_action)
                self._seen_bodies.discard(id(target.body))
        elif kind == "apply":
            inst = getattr(getattr(e.func, "expr", None), "ref", None)
            if getattr(e, "direct", False) and target is not None:
                key = id(e.func)
                if key not in self._instances:
                    q = _qualify(prefix, target)
                    self._instances[key] = (target, q)
                    self._block(target, q, refs, own)
            elif inst is not None and id(inst) in self._instances:
                decl, q = self._instances[id(inst)]
                body = getattr(decl, "body", None)
                if body is not None and id(body) not in self._seen_bodies:
                    self._seen_bodies.add(id(body))
                    self._scan(body, q, refs, own, in_action=False)
                    self._seen_bodies.discard(id(body))
        elif kind == "extern_function" and target is not None and target.name == "digest":
            data = next((a for p, a in getattr(e, "bound", []) if p.name == "data"), None)
            t = strip_newtype(getattr(data, "type", None))
            if isinstance(t, StructT):
                self._add(self.digests, t.name)
            elif isinstance(t, TupleT):
                self._add(self.digests, "digest")
