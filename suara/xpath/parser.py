"""Tokenizer and parser for the XPath subset XLSForm expressions use.

Grammar (XPath 1.0 precedence, lowest first)::

    or  →  and  →  = !=  →  < <= > >=  →  + -  →  * div mod  →  unary -  →  primary
    primary: number | 'string' | "string" | ${name} | . | .. | name(args) | ( expr )

Anything outside it (absolute paths, predicates, ``instance()``, ``|`` unions, variables,
unknown functions) raises ``XPathUnsupported`` naming the construct, so a form that uses it
is refused at ``suara forms check`` time instead of being silently left unchecked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from suara.errors import SuaraError


class XPathUnsupported(SuaraError):  # noqa: N818 - the name is the public contract
    """An expression uses XPath the evaluator cannot handle (or is malformed)."""

    code = "XPATH_001"


# -- nodes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    pass


@dataclass(frozen=True)
class Literal(Node):
    value: str | float  # str for string literals, float for numbers


@dataclass(frozen=True)
class Ref(Node):
    name: str  # ${name}


@dataclass(frozen=True)
class Current(Node):
    """``.``: the field the expression belongs to."""


@dataclass(frozen=True)
class Parent(Node):
    """``..``: only meaningful as the argument of ``position(..)``."""


@dataclass(frozen=True)
class ChoiceColumn(Node):
    """A bare name in a ``choice_filter``: a column of the choice being filtered (``name``,
    or an extra column such as ``prov``). Only parsed with ``choice_columns=True``."""

    name: str


CHOICE_PREFIX = "@choice:"  # frame column / row key holding a ChoiceColumn's values


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class BinOp(Node):
    op: str  # or and = != < <= > >= + - * div mod
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


# Functions the parser accepts: name → (min args, max args or None for any).
# ``pulldata`` reads a CSV attached to the form on the device; it parses (calculations use it)
# but cannot be evaluated here, which ``suara.xpath.evaluable`` reports.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "selected": (2, 2), "count-selected": (1, 1), "string-length": (0, 1), "regex": (2, 2),
    "if": (3, 3), "coalesce": (2, 2), "concat": (1, None), "contains": (2, 2),
    "starts-with": (2, 2), "ends-with": (2, 2), "substr": (2, 3), "substring": (2, 3),
    "number": (0, 1), "int": (1, 1), "round": (1, 2), "sum": (1, 1), "count": (1, 1),
    "today": (0, 0), "now": (0, 0), "once": (1, 1), "uuid": (0, 1), "jr:choice-name": (2, 2),
    "position": (0, 1), "selected-at": (2, 2), "boolean-from-string": (1, 1), "true": (0, 0),
    "false": (0, 0), "not": (1, 1), "boolean": (1, 1), "string": (0, 1),
    "format-date": (2, 2), "date": (1, 1), "floor": (1, 1), "ceiling": (1, 1), "abs": (1, 1),
    "min": (1, None), "max": (1, None), "normalize-space": (0, 1), "pulldata": (4, 4),
}
PARSE_ONLY = {"pulldata"}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{(?P<refname>[A-Za-z_][\w.-]*)\})
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,|\.\.|\.|\||/|\[|\]|\$|@)
  | (?P<name>[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)
    """,
    re.VERBOSE,
)

_OPERATOR_NAMES = {"and", "or", "div", "mod"}


@dataclass(frozen=True)
class Token:
    kind: str  # ref, number, string, op, name, end
    text: str
    pos: int


def tokenize(expr: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise XPathUnsupported(
                f"cannot read {expr[pos:pos + 10]!r} at position {pos + 1} of the expression",
                hint="Check quotes and ${...} references.",
            )
        kind = m.lastgroup  # for ${name} the enclosing group "ref" (it closes last)
        if kind != "ws":
            text = m.group("refname") if kind == "ref" else m.group(kind)
            # XPath 1.0 §3.7: after an operand, `and`/`or`/`div`/`mod` and `*` are operators.
            if kind == "name" and text in _OPERATOR_NAMES and tokens and _ends_operand(tokens[-1]):
                kind = "op"
            tokens.append(Token(kind, text, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(expr)))
    return tokens


def _ends_operand(tok: Token) -> bool:
    return tok.kind in ("ref", "number", "string", "name") or tok.text in (")", ".", "..")


class _Parser:
    def __init__(self, expr: str, choice_columns: bool = False):
        self.expr = expr
        self.tokens = tokenize(expr)
        self.i = 0
        self.choice_columns = choice_columns

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        if self.tok.text != text or self.tok.kind not in ("op",):
            self.fail(f"expected '{text}'")
        self.i += 1

    def fail(self, what: str):
        found = self.tok.text or "end of expression"
        raise XPathUnsupported(
            f"{what} but found '{found}' at position {self.tok.pos + 1}",
            hint="Write the expression with comparisons, and/or/not(), arithmetic, ${field} "
            "references and the functions XLSForm documents.",
        )

    def binary(self, ops: tuple[str, ...], sub) -> Node:
        left = sub()
        while self.tok.kind == "op" and self.tok.text in ops:
            op = self.take().text
            left = BinOp(op, left, sub())
        return left

    def or_(self) -> Node:
        return self.binary(("or",), self.and_)

    def and_(self) -> Node:
        return self.binary(("and",), self.equality)

    def equality(self) -> Node:
        return self.binary(("=", "!="), self.relational)

    def relational(self) -> Node:
        return self.binary(("<", "<=", ">", ">="), self.additive)

    def additive(self) -> Node:
        return self.binary(("+", "-"), self.multiplicative)

    def multiplicative(self) -> Node:
        return self.binary(("*", "div", "mod"), self.unary)

    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text == "-":
            self.take()
            return Neg(self.unary())
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.take()
            return Literal(float(tok.text))
        if tok.kind == "string":
            self.take()
            return Literal(tok.text[1:-1])
        if tok.kind == "ref":
            self.take()
            node: Node = Ref(tok.text)
        elif tok.kind == "op" and tok.text == ".":
            self.take()
            node = Current()
        elif tok.kind == "op" and tok.text == "..":
            self.take()
            node = Parent()
        elif tok.kind == "op" and tok.text == "(":
            self.take()
            node = self.or_()
            self.expect(")")
        elif tok.kind == "name":
            node = self.call()
        else:
            self._refuse(tok)
        self._no_path_after()
        return node

    def call(self) -> Node:
        name = self.take().text
        if self.tok.text != "(" and self.choice_columns and ":" not in name:
            return ChoiceColumn(name)
        if self.tok.text != "(":
            raise XPathUnsupported(
                f"'{name}' is a path step; only ${{field}} references and '.' are supported",
                hint=f"Refer to the field as ${{{name}}}.",
            )
        if name not in FUNCTIONS:
            raise XPathUnsupported(
                f"function {name}() is not supported by Suara's validator",
                hint="Use the functions listed in docs (selected, count-selected, regex, if, …) "
                "or ask the validation engineer to add it.",
            )
        self.take()
        args: list[Node] = []
        if self.tok.text != ")":
            args.append(self.or_())
            while self.tok.text == ",":
                self.take()
                args.append(self.or_())
        self.expect(")")
        lo, hi = FUNCTIONS[name]
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"{lo}" if lo == hi else f"{lo}+" if hi is None else f"{lo}-{hi}"
            raise XPathUnsupported(
                f"{name}() takes {want} arguments, got {len(args)}",
                hint=f"Check the arguments of {name}().",
            )
        return Call(name, tuple(args))

    def _no_path_after(self) -> None:
        if self.tok.kind == "op" and self.tok.text in ("/", "["):
            what = "a path step ('/')" if self.tok.text == "/" else "a predicate ('[...]')"
            raise XPathUnsupported(
                f"{what} at position {self.tok.pos + 1} is not supported",
                hint="Refer to fields with ${name}; paths and predicates are not checked by Suara.",
            )

    def _refuse(self, tok: Token):
        words = {"/": "an absolute path ('/')", "|": "a node-set union ('|')",
                 "$": "a variable ('$')", "@": "an attribute ('@')", "[": "a predicate ('[')",
                 "*": "a wildcard ('*')"}
        if tok.text in words:
            raise XPathUnsupported(
                f"{words[tok.text]} at position {tok.pos + 1} is not supported",
                hint="Refer to fields with ${name}.",
            )
        self.fail("expected a value, ${field}, '.' or a function call")


def parse(expr: str, *, choice_columns: bool = False) -> Node:
    """Parse one XLSForm expression; raise ``XPathUnsupported`` naming what is not supported.

    ``choice_columns=True`` parses a ``choice_filter``, where bare names (``name``, ``prov``)
    are columns of the choice list (``ChoiceColumn``)."""
    return _parse(expr, choice_columns)


# Validation parses the same relevance/constraint/calculation strings on every page of a sync;
# nodes are frozen, so one parse per distinct expression can be shared (errors are not cached).
@lru_cache(maxsize=4096)
def _parse(expr: str, choice_columns: bool) -> Node:
    if not expr or not expr.strip():
        raise XPathUnsupported("the expression is empty", hint="Remove the empty cell.")
    p = _Parser(expr, choice_columns)
    node = p.or_()
    if p.tok.kind != "end":
        if p.tok.kind == "op" and p.tok.text == "|":
            p._refuse(p.tok)
        p.fail("expected an operator or the end of the expression")
    return node


def references(node: Node) -> set[str]:
    """Field names referenced with ``${name}`` anywhere in the expression."""
    if isinstance(node, Ref):
        return {node.name}
    out: set[str] = set()
    for child in children(node):
        out |= references(child)
    return out


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, Neg):
        return (node.operand,)
    return ()


def choice_columns_used(node: Node) -> set[str]:
    out = {node.name} if isinstance(node, ChoiceColumn) else set()
    for child in children(node):
        out |= choice_columns_used(child)
    return out


def functions_used(node: Node) -> set[str]:
    out = {node.name} if isinstance(node, Call) else set()
    for child in children(node):
        out |= functions_used(child)
    return out
