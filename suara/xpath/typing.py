"""Static facts about an expression: its result type, and whether a number is integral.

``static_type`` lets ``suara.cast`` type a ``calculate`` field from its calculation, and lets
the suite builder know what a constraint compares.
"""

from __future__ import annotations

from suara.xpath.functions import RESULT_KIND
from suara.xpath.parser import BinOp, Call, Current, Literal, Neg, Node, Parent, Ref, parse

_NUMBER_TYPES = {"integer", "decimal", "range"}
_DATE_TYPES = {"date", "dateTime", "start", "end", "today"}
_INTEGRAL_FUNCTIONS = {"count-selected", "string-length", "count", "int", "position", "floor",
                       "ceiling"}


def _field_type(name: str, form, seen: frozenset[str]) -> str:
    if form is None or not form.has_field(name):
        return "string"
    f = form.field(name)
    if f.type in _NUMBER_TYPES:
        return "number"
    if f.type in _DATE_TYPES:
        return "date"
    if f.type == "calculate" and f.calculation and name not in seen:
        try:
            return static_type(parse(f.calculation), form, seen | {name})
        except Exception:  # an unparseable calculation types as text (forms check reports it)
            return "string"
    return "string"


def static_type(node: Node, form=None, seen: frozenset[str] = frozenset()) -> str:
    """"number" | "string" | "boolean" | "date" for the expression's result."""
    if isinstance(node, Literal):
        return "number" if isinstance(node.value, float) else "string"
    if isinstance(node, Ref):
        return _field_type(node.name, form, seen)
    if isinstance(node, Current | Parent):
        return "string"
    if isinstance(node, Neg):
        return "number"
    if isinstance(node, BinOp):
        if node.op in ("and", "or", "=", "!=", "<", "<=", ">", ">="):
            return "boolean"
        return "number"
    if isinstance(node, Call):
        kind = RESULT_KIND.get(node.name)
        if kind is not None:
            return kind
        if node.name == "once":
            return static_type(node.args[0], form, seen)
        branches = node.args[1:] if node.name == "if" else node.args
        kinds = {static_type(a, form, seen) for a in branches}
        return kinds.pop() if len(kinds) == 1 else "string"
    return "string"  # pragma: no cover


def integral(node: Node, form=None, seen: frozenset[str] = frozenset()) -> bool:
    """True when a number-typed expression obviously yields whole numbers (counts, sums and
    if() of whole numbers, integer fields, int()); ``div`` never does."""
    if isinstance(node, Literal):
        return isinstance(node.value, float) and node.value == int(node.value)
    if isinstance(node, Ref):
        if form is None or not form.has_field(node.name):
            return False
        f = form.field(node.name)
        if f.type == "integer":
            return True
        if f.type == "calculate" and f.calculation and node.name not in seen:
            try:
                return integral(parse(f.calculation), form, seen | {node.name})
            except Exception:
                return False
        return False
    if isinstance(node, Neg):
        return integral(node.operand, form, seen)
    if isinstance(node, BinOp):
        return node.op in ("+", "-", "*", "mod") and integral(node.left, form, seen) and \
            integral(node.right, form, seen)
    if isinstance(node, Call):
        if node.name in _INTEGRAL_FUNCTIONS:
            return True
        if node.name == "round":
            return len(node.args) == 1 or (isinstance(node.args[1], Literal) and node.args[1].value == 0)
        if node.name == "if":
            return integral(node.args[1], form, seen) and integral(node.args[2], form, seen)
        if node.name in ("sum", "once", "abs", "min", "max"):
            return all(integral(a, form, seen) for a in node.args)
    return False
