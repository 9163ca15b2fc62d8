"""Normalising Kobo JSON pages into one frame per table (kobo-api.md §6.1 shapes)."""

import json

import pytest

from suara.errors import UnusableBatchError
from suara.forms import form_from_markdown
from suara.normalise import normalise, table_name

FORM_V1 = """
| survey |
| | type | name | label::English (en) | label::Indonesian (id) | pii_class | repeat_count |
| | start | start | | | M | |
| | begin_group | grp_a | A | A | - | |
| | select_multiple t | topics | T | T | - | |
| | integer | n_women | N | N | - | |
| | begin_repeat | tr | R | R | - | count-selected(${topics}) |
| | integer | tr_women | W | P | - | |
| | begin_repeat | sess | S | S | - | |
| | text | sess_note | S | S | - | |
| | end_repeat | | | | | |
| | end_repeat | | | | | |
| | end_group | | | | | |
| choices |
| | list_name | name | label::English (en) | label::Indonesian (id) |
| | t | a | A | A |
| | t | b | B | B |
| settings |
| | form_id | version | default_language |
| | demo | 2026010101 | Indonesian (id) |
"""
FORM_V2 = FORM_V1.replace("| | integer | n_women | N | N | - | |", "| | integer | n_women | N | N | - | |\n| | integer | n_men | M | M | - | |").replace("2026010101", "2026020101")


def _sub(i, **extra):
    sub = {
        "_id": i, "_uuid": f"u{i}", "_submission_time": "2026-05-04T08:22:05",
        "__version__": "vUID1", "_validation_status": {"uid": "validation_status_approved"},
        "_submitted_by": "enum7", "_attachments": [], "_geolocation": [None, None],
        "formhub/uuid": "x", "meta/instanceID": f"uuid:u{i}",
        "start": "2026-05-04T10:58:02.114+03:00", "grp_a/topics": "a b", "grp_a/n_women": "3",
        "grp_a/tr": [
            {"grp_a/tr/tr_women": "2", "grp_a/tr/sess": [{"grp_a/tr/sess/sess_note": "x"}, {"grp_a/tr/sess/sess_note": "y"}]},
            {"grp_a/tr/tr_women": "1"},
        ],
    }
    sub.update(extra)
    return sub


@pytest.fixture()
def versions():
    v1, v2 = form_from_markdown(FORM_V1), form_from_markdown(FORM_V2)
    return {v1.version: v1, v2.version: v2}, v2


def test_normalise__nested_repeats__one_frame_per_level_keyed_to_parent(versions):
    """Should give one frame per repeat with (_id, _parent_index, _index) pointing at the parent."""
    fv, current = versions
    n = normalise(fv, current, [_sub(7)], version_map={"vUID1": "2026010101"})
    assert set(n.frames) == {"demo", "demo__tr", "demo__sess"}
    tr = n.frames["demo__tr"]
    assert tr[["_id", "_parent_index", "_index", "tr_women"]].values.tolist() == [[7, 0, 1, "2"], [7, 0, 2, "1"]]
    sess = n.frames["demo__sess"]
    assert sess[["_id", "_parent_index", "_index", "sess_note"]].values.tolist() == [[7, 1, 1, "x"], [7, 1, 2, "y"]]


def test_normalise__mixed_versions__union_of_columns_and_version_recorded(versions):
    """Should keep one shape for a batch of two versions and record each row's own version."""
    fv, current = versions
    subs = [_sub(1), _sub(2, **{"__version__": "vUID2", "grp_a/n_men": "4"})]
    n = normalise(fv, current, subs, version_map={"vUID1": "2026010101", "vUID2": "2026020101"})
    top = n.frames["demo"]
    assert top["_form_version"].tolist() == ["2026010101", "2026020101"]
    assert top["n_men"].tolist() == [None, "4"]
    assert top["_validation_status"].tolist() == ["validation_status_approved"] * 2


def test_normalise__unknown_keys__reported_per_submission_not_loaded(versions):
    """Should report keys the form does not know, so privacy can fail closed on them."""
    fv, current = versions
    n = normalise(fv, current, [_sub(3, **{"grp_a/renamed_q": "secret", "new_kobo_field": "1"})])
    assert sorted(n.unknown_keys[3]) == ["grp_a/renamed_q", "new_kobo_field"]
    assert "secret" not in json.dumps(n.frames["demo"].astype(str).values.tolist())


def test_normalise__unknown_version__marked_for_the_validator(versions):
    """Should mark a version no form file knows so validation can quarantine it."""
    fv, current = versions
    n = normalise(fv, current, [_sub(4, **{"__version__": "zzz"})])
    assert n.frames["demo"]["_form_version"].tolist() == ["unknown:zzz"]


@pytest.mark.parametrize("page", [{"results": []}, [1, 2], [{"_id": "7"}], "oops"])
def test_normalise__not_a_list_of_submissions__whole_batch_unusable(versions, page):
    """Should refuse a page that is not a list of submissions with integer ids, loading nothing."""
    fv, current = versions
    with pytest.raises(UnusableBatchError):
        normalise(fv, current, page)


def test_table_name__repeat__uses_double_underscore():
    assert table_name("f", None) == "f"
    assert table_name("f", "grp/tr") == "f__tr"


def test_normalise__odd_values__null_unanswered_numbers_text_structures_unknown(versions):
    """Should read JSON null like an absent answer, a number as its text, and report a list or
    object where a value belongs as an unknown key (the value itself is dropped)."""
    fv, current = versions
    n = normalise(fv, current, [_sub(1, **{"grp_a/n_women": None, "start": 5}),
                                _sub(2, **{"grp_a/n_women": ["3"], "start": ""})])
    top = n.frames["demo"].set_index("_id")
    assert top.loc[1, "n_women"] is None and top.loc[1, "start"] == "5"
    assert top.loc[2, "n_women"] is None and top.loc[2, "start"] is None
    assert n.unknown_keys == {2: ["grp_a/n_women"]}
