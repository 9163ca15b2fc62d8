"""SQL-safe names for form-derived tables and columns.

XLSForm names may hold ``-`` and ``.``, and choice names anything (``-99``, ``don't know``);
SQL names here are lower-case ``[a-z0-9_]``, start with a letter or ``_``, and fit
PostgreSQL's 63-byte identifier limit. A name that had to be shortened keeps a short hash
of the original so two long names never collide. ``analytics.column_map`` records the way back.
"""

from __future__ import annotations

import hashlib
import re

MAX_IDENTIFIER = 63
_UNSAFE = re.compile(r"[^a-z0-9_]+")


def _digest(raw: str) -> str:
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:8]


def sql_name(raw: str) -> str:
    """A SQL-safe identifier for ``raw`` (stable: the same input always gives the same name)."""
    name = _UNSAFE.sub("_", raw.strip().lower()).strip("_") or "x"
    if name[0].isdigit():
        name = f"c_{name}"
    if raw.startswith("_") and not name.startswith("_"):
        name = f"_{name}"  # keep system columns (_id, _uuid) recognisable
    if len(name) > MAX_IDENTIFIER:
        name = f"{name[: MAX_IDENTIFIER - 9]}_{_digest(raw)}"
    return name


def flag_name(column: str, choice: str) -> str:
    """The 0/1 column of one choice of a select_multiple: ``<column>__<choice>``."""
    choice_part = _UNSAFE.sub("_", choice.strip().lower()).strip("_")
    if not choice_part or choice_part != choice.strip().lower():
        # '-99' and 'don't know' would otherwise lose what made them distinct
        choice_part = f"{choice_part or 'c'}_{_digest(choice)[:4]}"
    name = f"{column}__{choice_part}"
    if len(name) > MAX_IDENTIFIER:
        name = f"{name[: MAX_IDENTIFIER - 9]}_{_digest(column + '/' + choice)}"
    return name
