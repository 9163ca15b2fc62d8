"""The data endpoint's ``query`` parameter: a MongoDB filter with KPI's rules (kobo-api.md §5.3).

* Only whitelisted operators work (``MongoHelper.KEY_WHITELIST``); any other ``$key`` is
  base64-encoded into a literal field name by KPI, so its clause silently matches nothing.
* Keys with a dot are encoded the same way, except ``_validation_status.<sub-key>``.
* A scalar ``_id`` is cast to int; inside operators it is not.
* MongoDB never compares across types: ``{"age": {"$gt": 30}}`` on string answers is false.
* A query MongoDB would reject raises ``QueryRejected`` (HTTP 400 ``["Unsupported query"]``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

WHITELIST = {"$or", "$and", "$in", "$nin", "$not", "$exists", "$gt", "$gte", "$lt", "$lte",
             "$regex", "$options", "$all", "$elemMatch", "$ne", "$expr", "$ifNull"}
_MISSING = object()


class QueryRejected(Exception):
    """MongoDB refused the filter; ``body`` is what KPI answers (a bare JSON list)."""

    def __init__(self, body: list[str] | None = None):
        super().__init__("Unsupported query")
        self.body = body or ["Unsupported query"]


Record = Mapping[str, Any]


def compile_query(query: Any) -> Callable[[Record], bool]:
    """A predicate over one submission record (a mapping of Kobo keys to values)."""
    if not isinstance(query, dict):
        raise QueryRejected()
    return _document(query)


def _document(query: dict) -> Callable[[Record], bool]:
    clauses = [_clause(k, v) for k, v in query.items()]
    return lambda rec: all(c(rec) for c in clauses)


def _clause(key: str, cond: Any) -> Callable[[Record], bool]:
    if key in ("$or", "$and"):
        if not isinstance(cond, list) or not cond or not all(isinstance(q, dict) for q in cond):
            raise QueryRejected()
        subs = [_document(q) for q in cond]
        return (lambda rec: any(s(rec) for s in subs)) if key == "$or" \
            else (lambda rec: all(s(rec) for s in subs))
    if key in ("$expr",):
        raise QueryRejected()  # whitelisted by KPI, but the sandbox does not evaluate it
    if key.startswith("$") or ("." in key and not key.startswith("_validation_status.")):
        # KPI encodes the key into a field name no document has.
        return _field_test(_encoded, cond)
    return _field_test(_getter(key), _cast_id(key, cond))


def _encoded(rec: Record) -> Any:
    return _MISSING


def _getter(key: str) -> Callable[[Record], Any]:
    if key.startswith("_validation_status."):
        sub = key.split(".", 1)[1]
        return lambda rec: (rec.get("_validation_status") or {}).get(sub, _MISSING)
    return lambda rec: rec.get(key, _MISSING)


def _cast_id(key: str, cond: Any) -> Any:
    if key == "_id" and isinstance(cond, str) and cond.strip().lstrip("-").isdigit():
        return int(cond)
    return cond


def _is_operator_doc(cond: Any) -> bool:
    return isinstance(cond, dict) and bool(cond) and all(k.startswith("$") for k in cond)


def _field_test(get: Callable[[Record], Any], cond: Any) -> Callable[[Record], bool]:
    if _is_operator_doc(cond):
        if any(k not in WHITELIST for k in cond):
            return lambda rec: False  # the encoded operator makes a literal sub-document
        test = _operators(cond)
        return lambda rec: test(get(rec))
    return lambda rec: _equals(get(rec), cond)


def _operators(ops: dict) -> Callable[[Any], bool]:
    tests: list[Callable[[Any], bool]] = []
    for op, arg in ops.items():
        if op == "$options":
            continue
        tests.append(_operator(op, arg, ops.get("$options", "")))
    return lambda v: all(t(v) for t in tests)


def _operator(op: str, arg: Any, options: str) -> Callable[[Any], bool]:
    if op in ("$gt", "$gte", "$lt", "$lte"):
        cmp = {"$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b,
               "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b}[op]
        return lambda v: _any_value(v, lambda x: _same_type(x, arg) and cmp(x, arg))
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise QueryRejected()
        member = _membership(arg)
        return member if op == "$in" else (lambda v: not member(v))
    if op == "$ne":
        return lambda v: not _equals(v, arg)
    if op == "$exists":
        return lambda v: (v is not _MISSING) == bool(arg)
    if op == "$regex":
        pattern = _regex(arg, options)
        return lambda v: _any_value(v, lambda x: isinstance(x, str) and bool(pattern.search(x)))
    if op == "$not":
        if isinstance(arg, str):
            pattern = _regex(arg, "")
            return lambda v: not _any_value(v, lambda x: isinstance(x, str) and bool(pattern.search(x)))
        if not _is_operator_doc(arg):
            raise QueryRejected()
        inner = _operators(arg)
        return lambda v: not inner(v)
    if op == "$all":
        if not isinstance(arg, list):
            raise QueryRejected(["$all needs an array"])
        return lambda v: v is not _MISSING and all(_equals(v, a) for a in arg)
    if op == "$elemMatch":
        if not isinstance(arg, dict):
            raise QueryRejected()
        inner = _operators(arg) if _is_operator_doc(arg) else _document(arg)
        return lambda v: isinstance(v, list) and any(_safe(inner, x) for x in v)
    raise QueryRejected()  # $ifNull and friends only make sense inside $expr


def _type_key(x: Any) -> tuple | None:
    """A hashable key equal only for values MongoDB calls equal (no cross-type matches)."""
    if x is None or isinstance(x, bool | str):
        return (type(x).__name__, x)
    if isinstance(x, int | float):
        return ("number", x)
    return None


def _membership(arg: list) -> Callable[[Any], bool]:
    """``$in``: a set look-up for scalars (refetching 1,000 ids must not be quadratic)."""
    keys = {k for k in map(_type_key, arg) if k is not None}
    others = [a for a in arg if _type_key(a) is None]

    def test(v: Any) -> bool:
        if v is _MISSING:
            return None in arg
        items = v if isinstance(v, list) else [v]
        if any(_type_key(x) in keys for x in items if _type_key(x) is not None):
            return True
        return any(_equals(v, a) for a in others)
    return test


def _safe(test: Callable[[Any], bool], x: Any) -> bool:
    try:
        return test(x)
    except AttributeError:  # a document test applied to a scalar element
        return False


def _regex(pattern: Any, options: str) -> re.Pattern:
    if not isinstance(pattern, str):
        raise QueryRejected()
    flags = 0
    for ch in options or "":
        flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}.get(ch, 0)
    try:
        return re.compile(pattern, flags)
    except re.error:
        raise QueryRejected() from None


def _any_value(v: Any, test: Callable[[Any], bool]) -> bool:
    if v is _MISSING:
        return False
    if isinstance(v, list):
        return any(test(x) for x in v) or test(v)
    return test(v)


def _same_type(a: Any, b: Any) -> bool:
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, num) and isinstance(b, num):
        return True
    return isinstance(a, str) and isinstance(b, str)


def _equals(v: Any, cond: Any) -> bool:
    if v is _MISSING:
        return cond is None
    if isinstance(v, list) and not isinstance(cond, list):
        return any(_scalar_eq(x, cond) for x in v)
    return _scalar_eq(v, cond)


def _scalar_eq(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return type(a) is type(b) and a == b
    return _same_type(a, b) and a == b
