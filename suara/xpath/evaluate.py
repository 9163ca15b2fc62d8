"""Evaluate a parsed expression over a batch (``evaluate``) or one row (``evaluate_row``).

Columns are field names; ``.`` is the column of the field the expression belongs to
(``current``). Frames may hold Kobo's strings or the typed columns of ``suara.cast``: both
read the same way (an integer column compares as a number, a string "12" converts to 12 when
compared with a number, per XPath 1.0 §3.4).
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
import pandas as pd

from suara.xpath.functions import PARSE_ONLY_MESSAGE, SCALAR, call_vector
from suara.xpath.parser import (
    CHOICE_PREFIX,
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
)
from suara.xpath.values import (
    Day,
    Vec,
    booleans,
    column,
    days,
    from_python,
    numbers,
    scalar_kind,
    strings,
    to_boolean,
    to_day,
    to_number,
    to_string,
)

_CMP = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


def _comparison_kind(op: str, a: str, b: str) -> str:
    kinds = {a, b}
    if op in ("=", "!="):
        for k in ("boolean", "number", "date"):
            if k in kinds:
                return k
        return "string"
    return "date" if "date" in kinds else "number"


def _arith(op: str, x, y):
    with np.errstate(all="ignore"):
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "div":
            return np.divide(x, y) if isinstance(x, np.ndarray) or isinstance(y, np.ndarray) \
                else (x / y if y else (math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x)))
        return np.fmod(x, y)  # XPath mod truncates like C's fmod


# -- vectorised ----------------------------------------------------------------------------


class _Batch:
    def __init__(self, frame: pd.DataFrame, current: str | None, form, columns: dict | None = None):
        self.frame = frame
        self.current = current
        self.form = form
        self.n = len(frame)
        self._cols: dict[str, Vec] = {} if columns is None else columns

    def col(self, name: str) -> Vec:
        if name not in self._cols:
            if name in self.frame.columns:
                self._cols[name] = column(self.frame[name])
            else:  # a field this batch has no answers for: every row is empty
                self._cols[name] = Vec("string", np.full(self.n, "", dtype=object))
        return self._cols[name]

    def current_vec(self) -> Vec:
        if self.current is None:
            raise XPathUnsupported("'.' is used where there is no current field",
                                   hint="Use ${name} to refer to a field.")
        return self.col(self.current)

    def position(self) -> Vec:
        if "_index" in self.frame.columns:
            return Vec("number", pd.to_numeric(self.frame["_index"], errors="coerce").to_numpy("float64"))
        return Vec("number", 1.0)

    def raw_lists(self, v: Vec) -> list | None:
        data = v.data
        if isinstance(data, np.ndarray) and data.dtype == object and self.n and \
                isinstance(data[0], list | tuple):
            return list(data)
        return None

    def eval(self, node: Node) -> Vec:
        if isinstance(node, Literal):
            return Vec("number" if isinstance(node.value, float) else "string", node.value)
        if isinstance(node, Ref):
            return self.col(node.name)
        if isinstance(node, ChoiceColumn):
            return self.col(CHOICE_PREFIX + node.name)
        if isinstance(node, Current):
            return self.current_vec()
        if isinstance(node, Neg):
            return Vec("number", -np.asarray(numbers(self.eval(node.operand)), dtype="float64"))
        if isinstance(node, BinOp):
            return self._binop(node)
        if isinstance(node, Call):
            if node.name in PARSE_ONLY:
                raise XPathUnsupported(PARSE_ONLY_MESSAGE.format(name=node.name))
            if node.name == "position" and node.args and not isinstance(node.args[0], Parent):
                raise XPathUnsupported("position() takes only '..'")
            args = [] if node.name == "position" else [self.eval(a) for a in node.args]
            return call_vector(self, node.name, args)
        if isinstance(node, Parent):
            raise XPathUnsupported("'..' is only supported inside position(..)")
        raise XPathUnsupported(f"cannot evaluate {type(node).__name__}")  # pragma: no cover

    def _binop(self, node: BinOp) -> Vec:
        op = node.op
        a, b = self.eval(node.left), self.eval(node.right)
        if op in ("and", "or"):
            x, y = booleans(a), booleans(b)
            return Vec("boolean", (np.logical_and if op == "and" else np.logical_or)(x, y))
        if op in ("=", "!=") and (empty := _empty_test(a, b)) is not None:
            return Vec("boolean", empty if op == "=" else ~empty)
        if op in _CMP:
            kind = _comparison_kind(op, a.kind, b.kind)
            conv = {"boolean": booleans, "number": numbers, "date": days, "string": strings}[kind]
            x, y = conv(a), conv(b)
            with np.errstate(invalid="ignore"):
                return Vec("boolean", _CMP[op](x, y))
        return Vec("number", _arith(op, np.asarray(numbers(a), dtype="float64")
                                    if isinstance(a.data, np.ndarray) else numbers(a),
                                    np.asarray(numbers(b), dtype="float64")
                                    if isinstance(b.data, np.ndarray) else numbers(b)))


def _empty_test(a: Vec, b: Vec):
    """``${n} = ''`` on a typed number/date column tests for a missing answer, as in
    JavaRosa where an empty node reads as "" whatever the field's type."""
    for x, y in ((a, b), (b, a)):
        if isinstance(y.data, str) and y.data == "" and x.kind in ("number", "date") and \
                isinstance(x.data, np.ndarray):
            return np.isnan(x.data)
    return None


def evaluate(node: Node, frame: pd.DataFrame, current: str | None = None, *, form=None,
             columns: dict | None = None) -> pd.Series:
    """Evaluate over every row of ``frame``; returns a Series aligned with ``frame.index``:
    bool for boolean expressions, float for numbers/dates (dates as days since 1970-01-01),
    object str for strings.

    ``columns`` is a cache of columns read as XPath values, to share between evaluations over
    the same rows (a table's relevance and constraints read the same fields again and again);
    values are never modified in place, so sharing is safe."""
    batch = _Batch(frame, current, form, columns)
    v = batch.eval(node)
    data = v.data
    if not isinstance(data, np.ndarray) or data.shape != (len(frame),):
        dtype = {"boolean": bool, "number": "float64", "date": "float64"}.get(v.kind, object)
        data = np.full(len(frame), data, dtype=dtype)
    return pd.Series(data, index=frame.index, name=None)


# -- one row -------------------------------------------------------------------------------


class _Row:
    def __init__(self, values: dict, current: str | None, form):
        self.values = values
        self.current = current
        self.form = form

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def eval(self, node: Node) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Ref):
            return self._value(node.name)
        if isinstance(node, ChoiceColumn):
            return self._value(CHOICE_PREFIX + node.name)
        if isinstance(node, Current):
            if self.current is None:
                raise XPathUnsupported("'.' is used where there is no current field")
            return self._value(self.current)
        if isinstance(node, Neg):
            return -to_number(self.eval(node.operand))
        if isinstance(node, BinOp):
            return self._binop(node)
        if isinstance(node, Call):
            return self._call(node)
        raise XPathUnsupported("'..' is only supported inside position(..)")

    def _value(self, name: str) -> Any:
        v = self.values.get(name)
        if isinstance(v, list | tuple):  # a repeat's values outside sum()/count(): the first
            return from_python(v[0]) if v else ""
        return from_python(v)

    def _call(self, node: Call) -> Any:
        name = node.name
        if name in PARSE_ONLY:
            raise XPathUnsupported(PARSE_ONLY_MESSAGE.format(name=name))
        if name == "position":
            return to_number(from_python(self.values.get("_index", 1.0)))
        if name in ("sum", "count") and isinstance(node.args[0], Ref | Current):
            ref = node.args[0].name if isinstance(node.args[0], Ref) else self.current
            raw = self.values.get(ref)
            items = list(raw) if isinstance(raw, list | tuple) else [raw]
            if name == "count":
                return float(len(items)) if isinstance(raw, list | tuple) else 1.0
            return float(sum(to_number(from_python(x)) for x in items))
        if name == "if":  # lazy, like XPath engines
            cond = to_boolean(self.eval(node.args[0]))
            return self.eval(node.args[1] if cond else node.args[2])
        return SCALAR[name](self, *(self.eval(a) for a in node.args))

    def _binop(self, node: BinOp) -> Any:
        op = node.op
        if op == "and":
            return to_boolean(self.eval(node.left)) and to_boolean(self.eval(node.right))
        if op == "or":
            return to_boolean(self.eval(node.left)) or to_boolean(self.eval(node.right))
        a, b = self.eval(node.left), self.eval(node.right)
        if op in _CMP:
            kind = _comparison_kind(op, scalar_kind(a), scalar_kind(b))
            conv = {"boolean": to_boolean, "number": to_number, "date": to_day,
                    "string": to_string}[kind]
            return bool(_CMP[op](conv(a), conv(b)))
        return float(_arith(op, to_number(a), to_number(b)))


def evaluate_row(node: Node, values: dict, current: str | None = None, *, form=None) -> Any:
    """Evaluate for one row: ``values`` maps field names to answers (Kobo strings, typed
    Python values, or lists for a repeat's values in ``sum()``/``count()``). Returns a
    Python bool, float, str, or a ``Day`` (float days since 1970-01-01) for dates."""
    result = _Row(values, current, form).eval(node)
    return Day(result) if isinstance(result, Day) else result
