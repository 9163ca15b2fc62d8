"""The XPath/ODK functions, each once for one row (``SCALAR``) and, where it matters for
speed, once for a whole batch (``VECTOR``). A function with no vector form runs its scalar
form row by row, which is exact but slower; the ones forms use in relevance and constraints
(selected, count-selected, regex, string-length, if, not, …) are vectorised.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import string
import uuid as _uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from suara.xpath.values import (
    EPOCH,
    Day,
    Vec,
    booleans,
    days,
    from_python,
    numbers,
    strings,
    to_boolean,
    to_day,
    to_number,
    to_string,
)

PARSE_ONLY_MESSAGE = (
    "{name}() reads a file attached to the form on the device; Suara cannot evaluate it"
)

# Result kind of each function; None = depends on the arguments (if, coalesce, once, min…).
RESULT_KIND: dict[str, str | None] = {
    "selected": "boolean", "count-selected": "number", "string-length": "number",
    "regex": "boolean", "if": None, "coalesce": None, "concat": "string", "contains": "boolean",
    "starts-with": "boolean", "ends-with": "boolean", "substr": "string", "substring": "string",
    "number": "number", "int": "number", "round": "number", "sum": "number", "count": "number",
    "today": "date", "now": "date", "once": None, "uuid": "string", "jr:choice-name": "string",
    "position": "number", "selected-at": "string", "boolean-from-string": "boolean",
    "true": "boolean", "false": "boolean", "not": "boolean", "boolean": "boolean",
    "string": "string", "format-date": "string", "date": "date", "floor": "number",
    "ceiling": "number", "abs": "number", "min": "number", "max": "number",
    "normalize-space": "string", "pulldata": "string",
}


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _tokens(v: Any) -> list[str]:
    return to_string(v).split()


def _round(x: float, digits: float = 0.0) -> float:
    if math.isnan(x) or math.isnan(digits):
        return math.nan
    q = 10 ** int(digits)
    return math.floor(x * q + 0.5) / q  # XPath rounds halves up (towards +∞)


def _int(x: float) -> float:
    return math.nan if math.isnan(x) or math.isinf(x) else float(math.trunc(x))


def _substr(s: Any, start: Any, end: Any = None) -> str:
    text = to_string(s)
    a = to_number(start)
    b = len(text) if end is None else to_number(end)
    if math.isnan(a) or math.isnan(b):
        return ""
    a, b = int(a), int(b)
    if a < 0:
        a = max(len(text) + a, 0)
    if b < 0:
        b = len(text) + b
    return text[a:b]


def _substring(s: Any, start: Any, length: Any = None) -> str:  # XPath 1.0, 1-based
    text = to_string(s)
    a = _round(to_number(start))
    if math.isnan(a):
        return ""
    b = math.inf if length is None else a + _round(to_number(length))
    return "".join(ch for i, ch in enumerate(text, start=1) if a <= i < b)


def _selected_at(s: Any, i: Any) -> str:
    parts = _tokens(s)
    k = to_number(i)
    return parts[int(k)] if not math.isnan(k) and 0 <= int(k) < len(parts) else ""


_DATE_FORMATS = {
    "%Y": "%Y", "%y": "%y", "%m": "%m", "%d": "%d", "%H": "%H", "%M": "%M", "%S": "%S",
    "%b": "%b", "%a": "%a",
}


def _format_date(value: Any, fmt: Any) -> str:
    d = to_day(value)
    if math.isnan(d):
        return ""
    moment = EPOCH + dt.timedelta(days=d)
    out = []
    pattern = to_string(fmt)
    i = 0
    while i < len(pattern):
        piece = pattern[i:i + 2]
        if piece in _DATE_FORMATS:
            out.append(moment.strftime(_DATE_FORMATS[piece]))
        elif piece == "%n":
            out.append(str(moment.month))
        elif piece == "%e":
            out.append(str(moment.day))
        elif piece == "%h":
            out.append(str(moment.hour))
        elif piece == "%3":
            out.append(f"{moment.microsecond // 1000:03d}")
        else:
            out.append(pattern[i])
            i += 1
            continue
        i += 2
    return "".join(out)


def _choice_name(ctx, value: Any, ref: Any) -> str:
    form = ctx.form
    m = re.search(r"\$\{([A-Za-z_][\w.-]*)\}", to_string(ref))
    if form is None or not m or not form.has_field(m.group(1)):
        return to_string(value)
    choices = form.choices(form.field(m.group(1)))
    choice = choices.get(to_string(value)) if choices else None
    if choice is None:
        return ""
    return choice.labels.get(form.default_language) or next(iter(choice.labels.values()), "")


def _uuid_fn(n: Any = None) -> str:
    if n is None:
        return f"uuid:{_uuid.uuid4()}"
    k = to_number(n)
    alphabet = string.ascii_letters + string.digits
    return "".join(random.choice(alphabet) for _ in range(0 if math.isnan(k) else int(k)))


def _now() -> Day:
    return Day((dt.datetime.now(dt.UTC).replace(tzinfo=None) - EPOCH).total_seconds() / 86_400)


def _today() -> Day:
    return Day(dt.date.today().toordinal() - EPOCH.toordinal())


def _first_nonempty(a: Any, b: Any) -> Any:
    return a if to_string(a) != "" else b


# Scalar implementations: f(ctx, *args) with already evaluated XPath scalars.
SCALAR: dict[str, Callable[..., Any]] = {
    "selected": lambda c, s, v: to_string(v).strip() in _tokens(s),
    "count-selected": lambda c, s: float(len(_tokens(s))),
    "string-length": lambda c, s="": float(len(to_string(s))),
    "regex": lambda c, s, p: _regex(to_string(p)).search(to_string(s)) is not None,
    "if": lambda c, cond, a, b: a if to_boolean(cond) else b,
    "coalesce": lambda c, a, b: _first_nonempty(a, b),
    "concat": lambda c, *xs: "".join(to_string(x) for x in xs),
    "contains": lambda c, s, t: to_string(t) in to_string(s),
    "starts-with": lambda c, s, t: to_string(s).startswith(to_string(t)),
    "ends-with": lambda c, s, t: to_string(s).endswith(to_string(t)),
    "substr": lambda c, *a: _substr(*a),
    "substring": lambda c, *a: _substring(*a),
    "number": lambda c, x="": to_number(x),
    "int": lambda c, x: _int(to_number(x)),
    "round": lambda c, x, d=0.0: _round(to_number(x), to_number(d)),
    "today": lambda c: _today(),
    "now": lambda c: _now(),
    "once": lambda c, x: x,
    "uuid": lambda c, *n: _uuid_fn(*n),
    "jr:choice-name": _choice_name,
    "selected-at": lambda c, s, i: _selected_at(s, i),
    "boolean-from-string": lambda c, s: to_string(s).strip() in ("true", "1"),
    "true": lambda c: True,
    "false": lambda c: False,
    "not": lambda c, x: not to_boolean(x),
    "boolean": lambda c, x: to_boolean(x),
    "string": lambda c, x="": to_string(x),
    "format-date": lambda c, d, f: _format_date(d, f),
    "date": lambda c, x: Day(to_day(x)),
    "floor": lambda c, x: float(math.floor(v)) if not math.isnan(v := to_number(x)) else v,
    "ceiling": lambda c, x: float(math.ceil(v)) if not math.isnan(v := to_number(x)) else v,
    "abs": lambda c, x: abs(to_number(x)),
    "min": lambda c, *xs: min((to_number(x) for x in xs), default=math.nan),
    "max": lambda c, *xs: max((to_number(x) for x in xs), default=math.nan),
    "normalize-space": lambda c, s="": " ".join(to_string(s).split()),
}


# -- vectorised implementations: f(ctx, *Vec) -> Vec ----------------------------------------


def _series(a: Any, n: int) -> pd.Series:
    return pd.Series(a if isinstance(a, np.ndarray) else np.full(n, a, dtype=object), dtype=object)


def _per_unique(values: Any, n: int, fn: Callable[[str], Any], dtype) -> np.ndarray:
    """Apply ``fn`` once per distinct value: select answers repeat a handful of values over
    thousands of rows, so this is what makes selected()/count-selected() fast."""
    codes, uniques = pd.factorize(np.broadcast_to(np.asarray(values, dtype=object), n))
    mapped = np.array([fn(u) for u in uniques], dtype=dtype)
    return mapped[codes] if len(mapped) else np.zeros(n, dtype=dtype)


def _v_selected(ctx, s: Vec, v: Vec) -> Vec:
    hay = strings(s)
    needle = strings(v)
    if isinstance(needle, np.ndarray):
        return Vec("boolean", np.array([to_string(b).strip() in to_string(a).split()
                                        for a, b in zip(np.broadcast_to(hay, ctx.n), needle, strict=True)]))
    token = needle.strip()
    return Vec("boolean", _per_unique(hay, ctx.n, lambda x: token in x.split(), bool))


def _v_count_selected(ctx, s: Vec) -> Vec:
    return Vec("number", _per_unique(strings(s), ctx.n, lambda x: len(x.split()), "float64"))


def _v_string_length(ctx, s: Vec | None = None) -> Vec:
    s = s if s is not None else ctx.current_vec()
    return Vec("number", _series(strings(s), ctx.n).str.len().to_numpy("float64"))


def _v_regex(ctx, s: Vec, p: Vec) -> Vec:
    pattern = strings(p)
    if isinstance(pattern, np.ndarray):
        return _row_by_row(ctx, "regex", [s, p])
    compiled = _regex(pattern)
    return Vec("boolean", _per_unique(strings(s), ctx.n, lambda x: compiled.search(x) is not None, bool))


def _v_if(ctx, cond: Vec, a: Vec, b: Vec) -> Vec:
    kind = a.kind if a.kind == b.kind else "string"
    conv = {"number": numbers, "date": days, "boolean": booleans, "string": strings}[kind]
    x, y = conv(a), conv(b)
    out = np.where(booleans(cond), x, y)
    return Vec(kind, out.astype(object) if kind == "string" else out)


def _v_coalesce(ctx, a: Vec, b: Vec) -> Vec:
    x, y = strings(a), strings(b)
    return Vec("string", np.where(np.broadcast_to(x, ctx.n) != "", x, y).astype(object))


def _v_concat(ctx, *xs: Vec) -> Vec:
    out = _series("", ctx.n)
    for x in xs:
        out = out + _series(strings(x), ctx.n)
    return Vec("string", out.to_numpy(object))


def _v_str_test(method: str):
    def impl(ctx, s: Vec, t: Vec) -> Vec:
        needle = strings(t)
        if isinstance(needle, np.ndarray):
            return _row_by_row(ctx, {"contains": "contains", "startswith": "starts-with",
                                     "endswith": "ends-with"}[method], [s, t])
        ser = _series(strings(s), ctx.n).str
        res = ser.contains(needle, regex=False) if method == "contains" else getattr(ser, method)(needle)
        return Vec("boolean", res.to_numpy(bool))
    return impl


def _v_number_fn(fn: Callable[[np.ndarray], np.ndarray]):
    return lambda ctx, x: Vec("number", fn(np.asarray(numbers(x), dtype="float64")))


def _v_round(ctx, x: Vec, d: Vec | None = None) -> Vec:
    q = 10.0 ** (0 if d is None else np.trunc(numbers(d)))
    return Vec("number", np.floor(np.asarray(numbers(x), dtype="float64") * q + 0.5) / q)


def _v_sum_count(name: str):
    def impl(ctx, x: Vec) -> Vec:
        raw = ctx.raw_lists(x)
        if raw is None:  # a single node per row
            return Vec("number", numbers(x) if name == "sum" else 1.0)
        if name == "count":
            return Vec("number", np.array([float(len(v)) for v in raw]))
        return Vec("number", np.array([sum(to_number(y) for y in v) for v in raw]))
    return impl


VECTOR: dict[str, Callable[..., Vec]] = {
    "selected": _v_selected,
    "count-selected": _v_count_selected,
    "string-length": _v_string_length,
    "regex": _v_regex,
    "if": _v_if,
    "coalesce": _v_coalesce,
    "concat": _v_concat,
    "contains": _v_str_test("contains"),
    "starts-with": _v_str_test("startswith"),
    "ends-with": _v_str_test("endswith"),
    "not": lambda ctx, x: Vec("boolean", ~np.asarray(booleans(x), dtype=bool)),
    "boolean": lambda ctx, x: Vec("boolean", np.asarray(booleans(x), dtype=bool)),
    "true": lambda ctx: Vec("boolean", True),
    "false": lambda ctx: Vec("boolean", False),
    "number": lambda ctx, x=None: Vec("number", numbers(x if x is not None else ctx.current_vec())),
    "string": lambda ctx, x=None: Vec("string", strings(x if x is not None else ctx.current_vec())),
    "int": _v_number_fn(np.trunc),
    "floor": _v_number_fn(np.floor),
    "ceiling": _v_number_fn(np.ceil),
    "abs": _v_number_fn(np.abs),
    "round": _v_round,
    "once": lambda ctx, x: x,
    "today": lambda ctx: Vec("date", float(_today())),
    "now": lambda ctx: Vec("date", float(_now())),
    "position": lambda ctx, *_: ctx.position(),
    "sum": _v_sum_count("sum"),
    "count": _v_sum_count("count"),
}


def _row_by_row(ctx, name: str, args: list[Vec]) -> Vec:
    """Run a scalar implementation on every row (exact fallback for rarely used functions)."""
    kind = RESULT_KIND[name] or "string"
    cols = []
    for a in args:
        data = a.data
        if a.kind == "date":
            data = np.array([Day(x) for x in np.broadcast_to(data, ctx.n)], dtype=object)
        cols.append(np.broadcast_to(np.asarray(data, dtype=object), ctx.n))
    fn = SCALAR[name]
    out = [fn(ctx, *(from_python(v) if not isinstance(v, str | float | bool) else v
                     for v in row)) for row in zip(*cols, strict=True)] if cols else \
        [fn(ctx) for _ in range(ctx.n)]
    if kind == "boolean":
        return Vec(kind, np.array([to_boolean(v) for v in out], dtype=bool))
    if kind in ("number", "date"):
        conv = to_day if kind == "date" else to_number
        return Vec(kind, np.array([conv(v) for v in out], dtype="float64"))
    return Vec(kind, np.array([to_string(v) for v in out], dtype=object))


def call_vector(ctx, name: str, args: list[Vec]) -> Vec:
    impl = VECTOR.get(name)
    if impl is not None:
        return impl(ctx, *args)
    return _row_by_row(ctx, name, args)
