"""Kobo's strings → typed columns, per the Form model (stack.md P11).

Kobo sends every answer as a string. Validation and loading need numbers, dates and
booleans, so each column is cast by the *kind* of its field; a cell that does not parse is
left empty in the typed frame and reported as a ``CastError`` (row label, field), which the
validator turns into a ``VAL_TYPE`` reason. Casting never fails a whole batch.

Kinds and dtypes: integer → ``Int64``; decimal → ``Float64``; date → ``datetime64[ns]``;
datetime → ``datetime64[ns, UTC]``; boolean → ``boolean``; everything else (text, choice,
choices, time, geopoint, binary) stays an object column of ``str``/``None``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from suara.forms.model import Field, Form
from suara.xpath import XPathUnsupported, integral, parse, static_type

KINDS = ("integer", "decimal", "text", "date", "datetime", "time", "choice", "choices",
         "geopoint", "binary", "boolean")

_TYPE_KIND = {
    "integer": "integer", "decimal": "decimal", "range": "decimal",
    "date": "date", "today": "date", "dateTime": "datetime", "start": "datetime",
    "end": "datetime", "time": "time",
    "select_one": "choice", "select_one_from_file": "choice",
    "select_multiple": "choices", "select_multiple_from_file": "choices", "rank": "choices",
    "geopoint": "geopoint", "start-geopoint": "geopoint", "background-geopoint": "geopoint",
    "image": "binary", "audio": "binary", "video": "binary", "file": "binary",
    "audit": "binary", "background-audio": "binary",
    "acknowledge": "boolean",
}
_SYSTEM_INTEGERS = ("_id", "_index", "_parent_index")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$")
_NUMBER = r"-?\d+(\.\d+)?"
_GEOPOINT = re.compile(rf"^{_NUMBER}\s+{_NUMBER}(\s+{_NUMBER}){{0,2}}$")
# datetime64[ns] holds years 1678–2261; anything outside cannot be a real survey date.
_YEAR = re.compile(r"^\s*(\d{4})-")
_TRUE = {"ok", "true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class CastError(NamedTuple):
    row: object  # the frame's index label
    field: str
    kind: str


def _range_kind(field: Field) -> str:
    params = dict(p.split("=", 1) for p in field.parameters.split() if "=" in p)
    numbers = [params.get(k, "") for k in ("start", "end", "step")]
    return "decimal" if any("." in n for n in numbers) else "integer"


def field_kind(form: Form, field: Field) -> str:
    """The storage kind of a field (one of ``KINDS``); calculates are typed from their
    calculation: number → decimal, or integer when obviously whole (counts, if(…, 1, 0), sums
    of integers)."""
    if field.type == "range":
        return _range_kind(field)
    if field.type == "calculate":
        if not field.calculation:
            return "text"
        try:
            node = parse(field.calculation)
        except XPathUnsupported:
            return "text"
        kind = static_type(node, form)
        if kind == "number":
            return "integer" if integral(node, form) else "decimal"
        return {"boolean": "boolean", "date": "date"}.get(kind, "text")
    return _TYPE_KIND.get(field.type, "text")


# Kinds depend only on the Form, and a sync casts many pages of the same Form objects (typing a
# calculate walks its expression). Keyed by id() with the Form kept, so an id is never reused
# while cached. Callers must not mutate the returned dicts.
_KINDS: dict[tuple[int, str | None], tuple[Form, dict[str, str]]] = {}


def _cached_kinds(form: Form, table: str | None) -> dict[str, str]:
    hit = _KINDS.get((id(form), table))
    if hit is None or hit[0] is not form:
        if len(_KINDS) > 256:
            _KINDS.clear()
        fields = [f for f in form.fields if f.has_value] if table is None else table_fields(form, table)
        hit = _KINDS[(id(form), table)] = (form, {f.name: field_kind(form, f) for f in fields})
    return hit[1]


def form_kinds(form: Form) -> dict[str, str]:
    """{field name: kind} for every value field of ``form`` (read-only, cached per Form)."""
    return _cached_kinds(form, None)


def table_fields(form: Form, table: str) -> tuple[Field, ...]:
    """The value fields whose columns make up ``table`` (``<form_id>`` or
    ``<form_id>__<repeat name>``)."""
    if table == form.form_id:
        return form.value_fields(None)
    prefix = f"{form.form_id}__"
    if table.startswith(prefix):
        name = table[len(prefix):]
        for g in form.repeats:
            if g.name == name:
                return form.value_fields(g.path)
    raise KeyError(f"form {form.form_id} has no table {table!r}")


def _strings(series: pd.Series) -> np.ndarray:
    """Object array of str/None (NaN and "" become None)."""
    arr = series.to_numpy(dtype=object, na_value=None, copy=True)
    arr[pd.isna(arr) | (arr == "")] = None
    return _stringified(arr)


def _stringified(arr: np.ndarray) -> np.ndarray:
    """``arr`` (str/None after emptying) with any other value made a str."""
    # Kobo gives strings; a typed source (a test, a re-cast) may not: sample, then stringify.
    if any(v is not None and not isinstance(v, str) for v in arr[:64]):
        arr = np.array([None if v is None else str(v) for v in arr], dtype=object)
    return arr


def _string_columns(frame: pd.DataFrame, names: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{name: (``_strings`` of the column, answered mask)} for object columns, from one 2-D
    array and one isna: per-column Series access and isna calls were most of cast_frame's time."""
    if not names:
        return {}
    # Rows are columns; no copy of the frame beyond the one np.where makes (large batches).
    block = (frame if names == list(frame.columns) else frame[names]).to_numpy(dtype=object).T
    empty = pd.isna(block) | (block == "")
    block = np.where(empty, None, block)
    return {name: (_stringified(block[j]), ~empty[j]) for j, name in enumerate(names)}


# What JavaRosa writes for a calculation that divides by zero or reads an empty field: no
# number, but not a typing error either, so it reads as an empty answer.
_NOT_A_NUMBER = ("NaN", "Infinity", "-Infinity")
_MAX_EXACT = 2.0**53


def _cast_numbers(raw: np.ndarray, integer: bool) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray]:
    # Parse each distinct answer once (a page repeats a few values per question; to_numeric is
    # elementwise, so parsing the distinct values gives the same numbers).
    codes, uniques = pd.factorize(raw)  # None → -1
    uniques = np.asarray(uniques, dtype=object)
    if len(uniques):
        text = ~np.isin(uniques, _NOT_A_NUMBER)
        parsed = pd.to_numeric(pd.Series(np.where(text, uniques, None), dtype=object),
                               errors="coerce").to_numpy("float64", na_value=np.nan)
        present = (codes >= 0) & text[codes]
        nums = np.where(codes >= 0, parsed[codes], np.nan)
    else:
        present = np.zeros(len(raw), dtype=bool)
        nums = np.full(len(raw), np.nan)
    with np.errstate(invalid="ignore"):
        unusable = ~np.isfinite(nums)  # unparseable, "inf", or beyond float range
        if integer:  # whole numbers that float64 (and Int64) hold exactly
            unusable |= (nums != np.floor(nums)) | (np.abs(nums) > _MAX_EXACT)
    bad = present & unusable
    nums[unusable] = np.nan
    if integer:
        out = pd.arrays.IntegerArray(np.where(unusable, 0, nums).astype("int64"), unusable)
    else:
        out = pd.arrays.FloatingArray(nums, unusable)
    return out, bad


def _year_in_range(raw: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Which cells are empty or start with a year datetime64[ns] can hold (``_YEAR``).
    Vectorised for the ASCII "dddd-" Kobo sends (the code points of the first five characters);
    any other answer takes the regex."""
    codes = np.where(present, raw, "").astype("U5").view(np.uint32).reshape(-1, 5)
    digits = codes[:, :4] - 48  # unsigned: characters below "0" wrap to large numbers
    fast = (digits <= 9).all(axis=1) & (codes[:, 4] == ord("-"))
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    out = ~present | (fast & (year >= 1678) & (year <= 2261))
    for i in np.flatnonzero(present & ~fast):
        m = _YEAR.match(str(raw[i]))
        out[i] = m is not None and 1678 <= int(m.group(1)) <= 2261
    return out


def _cast_dates(raw: np.ndarray, utc: bool) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray]:
    present = raw != None  # noqa: E711
    in_range = _year_in_range(raw, present)
    usable = np.where(in_range, raw, None)
    if utc:
        parsed = pd.to_datetime(pd.Series(usable, dtype=object), errors="coerce", utc=True,
                                format="ISO8601").dt.as_unit("ns")
    else:
        # A date is the calendar day the enumerator picked: keep its wall-clock day.
        local = pd.to_datetime(pd.Series(usable, dtype=object).str.slice(0, 10), errors="coerce",
                               format="%Y-%m-%d")
        parsed = local.astype("datetime64[ns]")
    bad = present & parsed.isna().to_numpy()
    return parsed.array, bad


def _cast_pattern(raw: np.ndarray, pattern: re.Pattern) -> tuple[np.ndarray, np.ndarray]:
    bad = np.array([v is not None and not pattern.match(str(v)) for v in raw], dtype=bool)
    return np.where(bad, None, raw), bad


def _cast_boolean(raw: np.ndarray) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray]:
    lowered = [None if v is None else str(v).strip().lower() for v in raw]
    bad = np.array([v is not None and v not in _TRUE and v not in _FALSE for v in lowered], dtype=bool)
    values = pd.array([None if v is None or b else v in _TRUE for v, b in zip(lowered, bad, strict=True)],
                      dtype="boolean")
    return values, bad


def cast_column(kind: str, series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Cast one column of strings; returns (typed values with a fresh RangeIndex, bad mask)."""
    values, bad = _cast_strings(kind, _strings(series))
    return pd.Series(values, dtype=values.dtype), bad


def _cast_strings(kind: str, raw: np.ndarray) -> tuple[np.ndarray | pd.api.extensions.ExtensionArray, np.ndarray]:
    """Cast a ``_strings`` array: an object ndarray (str/None) or an extension array, and the
    bad mask. ``raw`` is not modified."""
    if kind in ("integer", "decimal"):
        return _cast_numbers(raw, kind == "integer")
    if kind in ("date", "datetime"):
        return _cast_dates(raw, kind == "datetime")
    if kind == "time":
        return _cast_pattern(raw, _TIME)
    if kind == "geopoint":
        return _cast_pattern(raw, _GEOPOINT)
    if kind == "boolean":
        return _cast_boolean(raw)
    if kind == "choices":  # one space between codes, as selected() and the warehouse expect
        raw = np.array([None if v is None else " ".join(str(v).split()) or None for v in raw], dtype=object)
    return raw, np.zeros(len(raw), dtype=bool)


class CastTable(NamedTuple):
    """``cast_frame``'s result with what validation reuses instead of recomputing: ``answered``
    (raw cell neither missing nor "") and ``present`` (typed cell not missing), per cast column."""

    typed: pd.DataFrame
    errors: list[CastError]
    answered: dict[str, np.ndarray]
    present: dict[str, np.ndarray]
    values: dict[str, object]  # each cast column as an ndarray or extension array


def _typed_present(kind: str, values, answered: np.ndarray | None, bad: np.ndarray) -> np.ndarray:
    if values.dtype != object:  # the extension array's own mask
        return ~np.asarray(values.isna(), dtype=bool)
    if answered is not None and kind != "choices":  # text kinds keep each answer unless bad
        return answered & ~bad
    return np.not_equal(values, None)  # cast object columns hold str or None


def _assemble(frame: pd.DataFrame, objects: dict[str, np.ndarray], others: dict[str, object]) -> pd.DataFrame:
    """The typed frame, columns in ``frame``'s order. Object columns go in as one 2-D block with
    dtype=object: one ndarray each would be inferred as pandas' str dtype, and a Series each
    costs more than the rest of casting a text column. The few other columns are inserted at
    their places (reordering afterwards would copy every column)."""
    if not objects:
        return pd.DataFrame(others, index=frame.index)
    typed = pd.DataFrame(np.vstack(list(objects.values())).T, index=frame.index,
                         columns=list(objects), dtype=object, copy=False)
    for loc, name in enumerate(frame.columns):
        if name in others:
            typed.insert(loc, name, others[name])
    return typed


def cast_table(form: Form, table: str, frame: pd.DataFrame, *,
               other_kinds: dict[str, str] | None = None) -> CastTable:
    """``cast_frame`` with the presence masks validation needs."""
    own = _cached_kinds(form, table)
    kinds = {**(other_kinds or {}), **own}
    column_kinds = {}
    for name in frame.columns:
        kind = kinds.get(name)
        if kind is None:
            kind = "integer" if name in _SYSTEM_INTEGERS else \
                "datetime" if name == "_submission_time" else None
        column_kinds[name] = kind
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    strings = _string_columns(frame, [n for n, k in column_kinds.items()
                                      if k is not None and dtypes[n] == np.dtype(object)])
    objects: dict[str, np.ndarray] = {}
    others: dict[str, object] = {}
    errors: list[CastError] = []
    answered: dict[str, np.ndarray] = {}
    present: dict[str, np.ndarray] = {}
    for name, kind in column_kinds.items():
        if kind is None:
            others[name] = frame[name]
            continue
        if name in strings:
            raw, answered[name] = strings[name]
        else:
            raw = _strings(frame[name])
        values, bad = _cast_strings(kind, raw)
        present[name] = _typed_present(kind, values, answered.get(name), bad)
        (objects if values.dtype == object else others)[name] = values
        if bad.any() and name in own:
            errors.extend(CastError(row, name, kind) for row in frame.index[bad])
    arrays = {**objects, **{n: v for n, v in others.items() if not isinstance(v, pd.Series)}}
    return CastTable(_assemble(frame, objects, others), errors, answered, present, arrays)


def cast_frame(form: Form, table: str, frame: pd.DataFrame, *,
               other_kinds: dict[str, str] | None = None) -> tuple[pd.DataFrame, list[CastError]]:
    """Type every column of ``frame`` that is a field of ``table`` in ``form``; system columns
    ``_id``/``_index``/``_parent_index`` become Int64 and ``_submission_time`` UTC datetimes.

    ``other_kinds`` types columns this version lacks (fields of other versions, empty in these
    rows) so frames of several versions concatenate with one dtype per column; errors are only
    reported for the form's own fields. Other columns are left as they are."""
    cast = cast_table(form, table, frame, other_kinds=other_kinds)
    return cast.typed, cast.errors
