"""The XPath subset XLSForm uses in ``relevant``, ``constraint`` and ``calculation``.

``parse(expr)`` refuses (``XPathUnsupported``) anything the evaluator cannot handle, so a form
that uses it fails ``suara forms check`` rather than being silently left unchecked.
``evaluate`` runs an expression over a whole batch (one column per field name);
``evaluate_row`` over one row (the synthetic-data generator uses it).
"""

from suara.xpath.coverage import Unevaluable, unevaluable
from suara.xpath.evaluate import evaluate, evaluate_row
from suara.xpath.parser import (
    CHOICE_PREFIX,
    FUNCTIONS,
    PARSE_ONLY,
    BinOp,
    Call,
    ChoiceColumn,
    Current,
    Literal,
    Neg,
    Node,
    Parent,
    Ref,
    XPathUnsupported,
    choice_columns_used,
    functions_used,
    parse,
    references,
)
from suara.xpath.typing import integral, static_type
from suara.xpath.values import Day


def evaluable(expr: str, *, choice_columns: bool = False) -> Node:
    """Parse ``expr`` and also refuse functions that parse but cannot be evaluated here
    (``pulldata``): use it for ``relevant``, ``constraint`` and ``choice_filter``, which
    validation evaluates (``choice_columns=True`` for a choice_filter)."""
    node = parse(expr, choice_columns=choice_columns)
    blocked = functions_used(node) & PARSE_ONLY
    if blocked:
        name = sorted(blocked)[0]
        raise XPathUnsupported(
            f"{name}() reads a file attached to the form on the device; Suara cannot check it",
            hint=f"Move {name}() into a calculate field and refer to that field instead.",
        )
    return node


__all__ = [
    "CHOICE_PREFIX", "FUNCTIONS", "BinOp", "Call", "ChoiceColumn", "Current", "Day", "Literal",
    "Neg", "Node", "Parent", "Ref", "Unevaluable", "XPathUnsupported", "choice_columns_used",
    "evaluable", "evaluate", "evaluate_row", "integral", "parse", "references", "static_type",
    "unevaluable",
]
