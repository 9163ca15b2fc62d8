"""XPath 1.0 values and conversions, for one row (scalars) and for a batch (numpy arrays).

Kinds: ``string``, ``number``, ``boolean``, ``date``. An empty or absent answer is ``""`` in
string context and NaN in number context (XPath 1.0 §4.4), so comparisons with it are false
except ``!=``. Dates are carried as days since 1970-01-01 (a float, fraction = time of day),
the way JavaRosa compares them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

EPOCH = dt.datetime(1970, 1, 1)


class Day(float):
    """A scalar date/dateTime value: days since the epoch."""


# -- scalar conversions --------------------------------------------------------------------


def scalar_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, Day):
        return "date"
    if isinstance(v, float):
        return "number"
    return "string"


def to_number(v: Any) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float):
        return float(v)
    s = str(v).strip()
    if not s:
        return math.nan
    try:
        return float(s)
    except ValueError:
        return math.nan


def to_string(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Day):
        return format_day(v)
    if isinstance(v, float):
        return format_number(v)
    return str(v)


def to_boolean(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return not (math.isnan(v) or v == 0.0)
    return len(str(v)) > 0


def to_day(v: Any) -> float:
    if isinstance(v, Day | float) and not isinstance(v, bool):
        return float(v)
    s = str(v).strip()
    if not s:
        return math.nan
    try:
        parsed = dt.datetime.fromisoformat(s)
    except ValueError:
        return math.nan
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return (parsed - EPOCH).total_seconds() / 86_400


def format_number(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def format_day(d: float) -> str:
    if math.isnan(d):
        return ""
    moment = EPOCH + dt.timedelta(days=float(d))
    if d == int(d):
        return moment.date().isoformat()
    return moment.isoformat()


def from_python(v: Any) -> Any:
    """A Python/pandas answer value as an XPath scalar (None → "")."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | float | np.integer | np.floating):
        return "" if v != v else float(v)  # NaN is how pandas marks a missing answer
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        return Day((v - EPOCH).total_seconds() / 86_400)
    if isinstance(v, dt.date):
        return Day(v.toordinal() - EPOCH.toordinal())
    return v if isinstance(v, str) else str(v)


# -- vectorised values ---------------------------------------------------------------------


@dataclass
class Vec:
    """A column of XPath values: ``data`` is a numpy array of length n, or a Python scalar
    that broadcasts (literals). strings: object arrays of str (never None); numbers and
    dates: float64; booleans: bool."""

    kind: str
    data: Any


def column(series: pd.Series) -> Vec:
    """Read one frame column as XPath values, from either Kobo strings or typed columns."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        # Seconds, not nanoseconds: years beyond 2262 would overflow datetime64[ns].
        secs = series.to_numpy().astype("datetime64[s]").view("i8").astype("float64")
        secs[series.isna().to_numpy()] = np.nan
        return Vec("date", secs / 86_400)
    if pd.api.types.is_bool_dtype(dtype):
        return Vec("boolean", series.fillna(False).to_numpy(dtype=bool))
    if pd.api.types.is_numeric_dtype(dtype):
        return Vec("number", series.to_numpy(dtype="float64", na_value=np.nan))
    if dtype == np.dtype(object):  # to_numpy(na_value="") costs 4x this on object columns
        arr = series.to_numpy(dtype=object, copy=True)  # never a view of the frame's data
        arr[pd.isna(arr)] = ""
    else:
        arr = series.to_numpy(dtype=object, na_value="")
    if len(arr) and isinstance(arr[0], list | tuple):  # a repeat's values, for sum()/count()
        return Vec("string", arr)
    if len(arr) and any(not isinstance(x, str) for x in arr[:50]):  # mixed object columns
        arr = np.array([to_string(from_python(x)) for x in arr], dtype=object)
    return Vec("string", arr)


def numbers(v: Vec) -> Any:
    if v.kind in ("number", "date"):
        return v.data
    if v.kind == "boolean":
        return np.asarray(v.data, dtype="float64") if isinstance(v.data, np.ndarray) else float(v.data)
    if not isinstance(v.data, np.ndarray):
        return to_number(v.data)
    return pd.to_numeric(pd.Series(v.data, dtype=object).str.strip(), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )


def strings(v: Vec) -> Any:
    if v.kind == "string":
        return v.data
    if not isinstance(v.data, np.ndarray):
        return to_string(Day(v.data) if v.kind == "date" else v.data)
    if v.kind == "boolean":
        return np.where(v.data, "true", "false").astype(object)
    fmt = format_day if v.kind == "date" else format_number
    return np.array([fmt(x) for x in v.data], dtype=object)


def booleans(v: Vec) -> Any:
    if v.kind == "boolean":
        return v.data
    if not isinstance(v.data, np.ndarray):
        return to_boolean(Day(v.data) if v.kind == "date" else v.data)
    if v.kind in ("number", "date"):
        return ~np.isnan(v.data) & (v.data != 0)
    return v.data != ""


def days(v: Vec) -> Any:
    if v.kind in ("date", "number"):
        return v.data
    if v.kind == "boolean":
        return numbers(v)
    if not isinstance(v.data, np.ndarray):
        return to_day(v.data)
    parsed = pd.to_datetime(pd.Series(v.data, dtype=object).replace("", None), errors="coerce",
                            utc=True, format="ISO8601")
    return column(parsed).data


def convert(v: Vec, kind: str) -> Any:
    return {"number": numbers, "string": strings, "boolean": booleans, "date": days}[kind](v)
