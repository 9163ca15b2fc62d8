"""Tables derived from the Form model and its privacy policy, across versions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from suara.errors import SchemaEvolutionError, WarehouseError
from suara.forms import form_from_markdown
from tests.unit.warehouse.sample_forms import FORM_ID, V1, V2, V3_TYPE_CHANGE
from warehouse.derive import derive_form


def _versions(*texts):
    forms = [form_from_markdown(t) for t in texts]
    return {f.version: f for f in forms}


def test_derive_form__sample__zones_follow_policy():
    """Should keep the sensitive question and exact date in restricted, select_multiple flags in analytics."""
    schema = derive_form(_versions(V1))
    analytics = schema.tables[("analytics", FORM_ID)].columns
    restricted = schema.tables[("restricted", FORM_ID)].columns
    assert "harassed_n" not in analytics and "harassed_n" in restricted
    assert "visit_date" not in analytics and analytics["visit_date_month"].kind == "text"
    assert [c for c in analytics if c.startswith("issues")] == ["issues", "issues__wage", "issues__hours"]
    assert analytics["issues__hours"].kind == "flag" and analytics["issues__hours"].choice == "hours"
    assert analytics["workers"].xlsform_path == "workers"
    kids = schema.tables[("analytics", f"{FORM_ID}__kids")]
    assert kids.parent == FORM_ID and list(kids.columns) == ["kid_age"]


def test_derive_form__two_versions__union_records_version_added():
    """Should union the versions' columns and remember which version added each."""
    schema = derive_form(_versions(V2, V1))
    analytics = schema.tables[("analytics", FORM_ID)].columns
    assert analytics["meetings"].added_in == "2026020101"
    assert analytics["issues__safety"].added_in == "2026020101"
    assert analytics["workers"].added_in == "2026010101"
    assert list(schema.by_version) == ["2026010101", "2026020101"]


def test_derive_form__type_change__refused_naming_both_versions():
    """Should refuse a question whose type changes, naming column, types and versions."""
    with pytest.raises(SchemaEvolutionError) as err:
        derive_form(_versions(V1, V3_TYPE_CHANGE))
    text = str(err.value)
    assert "workers" in text and "2026010101" in text and "2026030101" in text
    assert err.value.code == "WH_010" and err.value.hint


def test_derive_form__reclassified_as_sensitive__refused():
    """Should refuse a question moved from analytics into restricted only (its old answers stay in analytics)."""
    v2 = V1.replace("| | integer | workers | Workers | Pekerja | - |", "| | integer | workers | Workers | Pekerja | S |")
    v2 = v2.replace("2026010101", "2026020101")
    with pytest.raises(SchemaEvolutionError, match="restricted only"):
        derive_form(_versions(V1, v2))


@dataclass(frozen=True)
class _Col:
    name: str
    kind: str
    source: str | None
    treatment: str
    zone: str


class _Policy:
    def __init__(self, cols):
        self.cols = cols

    def columns(self, table):
        return self.cols if table == FORM_ID else []


def test_derive_form__unknown_kind__refused():
    """Should refuse a policy column kind the warehouse cannot store."""
    policy = _Policy([_Col("workers", "geopoint", "workers", "keep", "analytics")])
    with pytest.raises(WarehouseError, match="geopoint"):
        derive_form(_versions(V1), policy_for=lambda form: policy)


def test_derive_form__restricted_only_repeat__parent_created_in_zone():
    """Should create a repeat's parent table in the same zone so its foreign key has a target."""
    policy = _Policy([])
    policy.columns = lambda t: [_Col("kid_age", "integer", "kid_age", "keep", "restricted")] if t.endswith("kids") else []
    schema = derive_form(_versions(V1), policy_for=lambda form: policy)
    assert ("restricted", FORM_ID) in schema.tables and ("restricted", f"{FORM_ID}__kids") in schema.tables
    assert ("analytics", FORM_ID) in schema.tables
