"""A small form exercising every privacy class and rule, and typed frames for it."""

from __future__ import annotations

import pandas as pd
import pytest

from suara.forms import form_from_markdown
from suara.privacy.keys import PrivacyKeys

SURVEY = """
| survey |
| | type | name | pii_class | pii_rule | label::English (en) | choice_filter |
| | start | start | M | | | |
| | end | end | M | | | |
| | today | today | M | | | |
| | deviceid | deviceid | M | | | |
| | username | username | D | | | |
| | text | enum_code | D | pseudonym | Enumerator | |
| | text | fu_code | D | | Follow-up code | |
| | select_one prov | province | Q | | Province | |
| | select_one dist | district | Q | province | District | prov=${province} |
| | select_one factory | factory | O | | Factory | |
| | integer | workers | O | | Workers | |
| | select_one yn | consent | - | | Consent | |
| | select_one yn | share | - | | Share | |
| | select_one sex | sex | Q | | Sex | |
| | date | incident_date | Q | quarter | When | |
| | integer | year_est | Q | band_year:2000,2010,2020 | Year | |
| | select_multiple vh | vh_type | S | | Type | |
| | text | story | - | | Story | |
| | text | note_q | Q | | Other | |
| | geopoint | gps | - | | Where | |
| | integer | mystery | | | Unclassified | |
| | calculate | withdrawn | - | | | |
| | begin_repeat | kids | - | | Kids | |
| | integer | kid_age | Q | band:5,12 | Age | |
| | text | kid_note | - | | Note | |
| | end_repeat | | | | | |
"""
SETTINGS = """
| settings |
| | form_id | version |
| | tform | 2024010101 |
"""
CHOICES = """
| choices |
| | list_name | name | label::English (en) | prov |
| | prov | 32 | Jawa Barat | |
| | prov | 33 | Jawa Tengah | |
| | dist | 3204 | Bandung | 32 |
| | dist | 3374 | Semarang | 33 |
| | factory | f1 | One | |
| | factory | f2 | Two | |
| | yn | yes | Yes | |
| | yn | no | No | |
| | sex | f | F | |
| | sex | m | M | |
| | vh | verbal | Verbal | |
| | vh | sexual | Sexual | |
"""


def make_form(policy_rows: str = "", survey: str = SURVEY):
    policy = ""
    if policy_rows:
        policy = "\n| suara_policy |\n| | key | value |\n" + "\n".join(
            f"| | {k} | {v} |" for k, v in (r.split("=", 1) for r in policy_rows.split(";"))) + "\n"
    return form_from_markdown(survey + SETTINGS + CHOICES + policy)


DEFAULT_POLICY = ("consent_fields=consent=yes;withdrawn_fields=withdrawn=1;"
                  "share_fields=share=yes;k=2")


@pytest.fixture
def form():
    return make_form(DEFAULT_POLICY)


@pytest.fixture
def keys():
    return PrivacyKeys(b"0123456789abcdef0123456789abcdef", "3")


def typed_frames(n: int = 6) -> dict[str, pd.DataFrame]:
    ids = list(range(1, n + 1))
    main = pd.DataFrame({
        "_id": pd.array(ids, dtype="Int64"),
        "_uuid": [f"uuid-{i}" for i in ids],
        "_submission_time": pd.to_datetime(["2024-03-05T10:00:00"] * n, utc=True),
        "_form_version": ["2024010101"] * n,
        "_validation_status": ["validator Budi"] * n,
        "_submitted_by": ["budi_enum"] * n,
        "start": pd.to_datetime(["2024-03-05T09:00:00+07:00"] * n, utc=True),
        "end": pd.to_datetime(["2024-03-05T09:42:00+07:00"] * n, utc=True),
        "today": pd.to_datetime(["2024-03-05"] * n),
        "deviceid": ["imei:356938035643809"] * n,
        "username": ["enum_budi"] * n,
        "enum_code": ["E07"] * n,
        "fu_code": ["Siti Rahayu"] * n,
        "province": ["32"] * n,
        "district": ["3204"] * n,
        "factory": ["f1"] * n,
        "workers": pd.array([450, 800, 1200, 3500, 450, 800][:n], dtype="Int64"),
        "consent": ["yes"] * n,
        "share": ["yes"] * n,
        "sex": ["f"] * n,
        "incident_date": pd.to_datetime(["2024-05-02"] * n),
        "year_est": pd.array([1999, 2005, 2015, 2021, 2005, 1999][:n], dtype="Int64"),
        "vh_type": ["verbal", "sexual", "verbal sexual", "verbal", "sexual", "verbal"][:n],
        "story": ["Bu Siti Rahayu bilang hubungi 0812-3456-7890"] + ["tidak ada"] * (n - 1),
        "note_q": ["pabrik sebelah"] * n,
        "gps": ["-6.9 107.6 0 0"] * n,
        "mystery": pd.array([7] * n, dtype="Int64"),
        "withdrawn": ["0"] * n,
    })
    kids = pd.DataFrame({
        "_id": pd.array([1, 1, 2], dtype="Int64"),
        "_parent_index": pd.array([0, 0, 0], dtype="Int64"),
        "_index": pd.array([1, 2, 1], dtype="Int64"),
        "kid_age": pd.array([3, 9, 14], dtype="Int64"),
        "kid_note": ["anak Pak Joko, NIK 3201011234560001", None, "sehat"],
    })
    return {"tform": main, "tform__kids": kids}
