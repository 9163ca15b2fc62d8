"""Small markdown forms for the warehouse tests: every kind the warehouse stores, a repeat,
a select_multiple, a sensitive (S) question, and a second version adding a question and a choice."""

from __future__ import annotations

from suara.forms import Form, form_from_markdown

FORM_ID = "wh_demo"

V1 = """
| survey |
| | type | name | label::English (en) | label::Indonesian (id) | pii_class |
| | start | start | | | M |
| | end | end | | | M |
| | select_one yn | consent | Do you agree? | Apakah setuju? | - |
| | integer | workers | Workers | Pekerja | - |
| | decimal | wage | Wage | Upah | - |
| | select_multiple issue | issues | Issues | Masalah | - |
| | text | note | Note | Catatan | - |
| | date | visit_date | Visit date | Tanggal kunjungan | Q |
| | integer | harassed_n | Times harassed | Kali dilecehkan | S |
| | begin_repeat | kids | Children | Anak | - |
| | integer | kid_age | Age | Umur | - |
| | end_repeat | | | | |
| choices |
| | list_name | name | label::English (en) | label::Indonesian (id) |
| | yn | yes | Yes | Ya |
| | yn | no | No | Tidak |
| | issue | wage | Wages | Upah |
| | issue | hours | Hours | Jam kerja |
| settings |
| | form_id | version | default_language |
| | wh_demo | 2026010101 | Indonesian (id) |
"""

# Version 2: a new question (union_member) and a new choice (safety) for `issues`.
V2 = (
    V1.replace("| | text | note | Note | Catatan | - |",
               "| | text | note | Note | Catatan | - |\n| | integer | meetings | Meetings | Rapat | - |")
    .replace("| | issue | hours | Hours | Jam kerja |",
             "| | issue | hours | Hours | Jam kerja |\n| | issue | safety | Safety | Keselamatan |")
    .replace("2026010101", "2026020101")
)

# Version 3: `workers` becomes text — a type change the warehouse refuses.
V3_TYPE_CHANGE = V2.replace("| | integer | workers | Workers |", "| | text | workers | Workers |").replace(
    "2026020101", "2026030101")


def versions(*texts: str) -> dict[str, dict[str, Form]]:
    forms = [form_from_markdown(t) for t in texts]
    return {FORM_ID: {f.version: f for f in forms}}


def frames(ids, version: str = "2026010101", kids_per_submission: int = 2, extra: dict | None = None):
    """Typed frames as the anonymise stage hands them over: (analytics, restricted)."""
    import pandas as pd

    ids = list(ids)
    n = len(ids)
    common = {
        "_id": pd.array(ids, dtype="Int64"),
        "_form_version": [version] * n,
        "_submission_month": ["2026-01"] * n,
        "interview_minutes": pd.array([30 + i % 7 for i in ids], dtype="Int64"),
        "start_month": ["2026-01"] * n,
        "consent": ["yes"] * n,
        "workers": pd.array([100 + i for i in ids], dtype="Int64"),
        "wage": pd.array([4.5 + i for i in ids], dtype="Float64"),
        "issues": [("wage hours" if i % 2 else "hours") if i % 5 else None for i in ids],
        "note": [f"note {i}" for i in ids],
    }
    common.update(extra or {})
    analytics = pd.DataFrame({**common, "visit_date_month": ["2026-01"] * n})
    restricted = pd.DataFrame({
        **common,
        "visit_date": pd.to_datetime(["2026-01-15"] * n),
        "harassed_n": pd.array([i % 3 for i in ids], dtype="Int64"),
    })
    kid_rows = [(i, 0, k + 1, 5 + k) for i in ids for k in range(kids_per_submission)]
    kids = pd.DataFrame(kid_rows, columns=["_id", "_parent_index", "_index", "kid_age"]).astype("Int64")
    return (
        {FORM_ID: analytics, f"{FORM_ID}__kids": kids},
        {FORM_ID: restricted, f"{FORM_ID}__kids": kids.copy()},
    )
