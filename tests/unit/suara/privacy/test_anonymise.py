"""anonymise(): consent gating, zones, columns, scrubbing, disclosure control and the audit."""

from __future__ import annotations

import json

from suara.privacy import anonymise, policy_for
from tests.unit.suara.privacy.conftest import make_form, typed_frames

RAW_SECRETS = ("E07", "enum_budi", "Siti Rahayu", "0812-3456-7890", "3201011234560001",
               "imei:356938035643809", "budi_enum", "validator Budi", "uuid-1", "Joko")


def all_text(frames):
    return "\n".join(frames[t].astype(str).to_csv() for t in frames)


def test_frames_have_exactly_the_policy_columns(form, keys):
    release = anonymise(form, typed_frames(), keys)
    p = policy_for(form)
    for table in p.tables:
        assert list(release.analytics[table].columns) == p.column_names(table, "analytics")
        assert list(release.restricted[table].columns) == p.column_names(table, "restricted")


def test_no_raw_identifier_reaches_any_zone(form, keys):
    release = anonymise(form, typed_frames(), keys)
    text = all_text(release.analytics) + all_text(release.restricted)
    for secret in RAW_SECRETS:
        assert secret not in text, secret
    assert keys.master.decode() not in text + json.dumps(release.audit.record())
    assert "[PHONE]" in text and "[NAME]" in text


def test_consent_missing_or_withdrawn_is_withheld_everywhere_and_withdrawn_erased(form, keys):
    frames = typed_frames()
    frames["tform"].loc[1, "consent"] = "no"          # _id 2: no consent
    frames["tform"].loc[2, "withdrawn"] = "1"         # _id 3: withdrew
    release = anonymise(form, frames, keys)
    assert release.withheld == {2, 3} and release.erase == {3}
    for zone in (release.analytics, release.restricted):
        for frame in zone.values():
            assert not frame["_id"].isin([2, 3]).any()
    assert release.audit.withheld == 2 and release.audit.erased == 1


def test_no_consent_to_share_keeps_the_row_restricted_only(form, keys):
    frames = typed_frames()
    frames["tform"].loc[0, "share"] = "no"
    release = anonymise(form, frames, keys)
    assert 1 not in set(release.analytics["tform"]["_id"])
    assert 1 in set(release.restricted["tform"]["_id"])
    assert release.audit.not_shared == 1


def test_unknown_keys_and_columns_are_reported_not_passed(form, keys):
    frames = typed_frames()
    frames["tform"]["new_question"] = "Nama saya Siti"
    release = anonymise(form, frames, keys, unknown_keys={1: ["grp/new_question"], 2: ["grp/new_question"]})
    assert release.audit.unknown_keys == {"grp/new_question": 2}
    assert release.audit.unknown_columns == ["tform.new_question"]
    assert "new_question" not in all_text(release.analytics)


def test_analytics_release_is_k_anonymous_on_declared_qis(keys):
    form = make_form("consent_fields=consent=yes;k=3;quasi_identifiers=sex,year_est")
    frames = typed_frames(6)
    release = anonymise(form, frames, keys)
    qis = policy_for(form).quasi_identifiers("tform")
    sizes = release.analytics["tform"].groupby(qis, dropna=False).size()
    assert sizes.min() >= 3
    d = release.audit.disclosure["tform"]
    assert d.before.k_min < 3 <= d.after.k_min


def test_audit_holds_counts_and_names_but_no_values(form, keys):
    release = anonymise(form, typed_frames(), keys)
    record = json.dumps(release.audit.record())
    summary = release.audit.summary()
    assert release.audit.scrub_hits["PHONE"] == 1 and release.audit.scrub_hits["NIK"] == 1
    assert summary["key_version"] == "3" and summary["columns_dropped"] == 5
    assert "p3_" not in record  # no pseudonym
    for secret in RAW_SECRETS:
        assert secret not in record


def test_empty_batch_gives_empty_frames_with_columns(form, keys):
    release = anonymise(form, {}, keys)
    p = policy_for(form)
    assert list(release.analytics["tform"].columns) == p.column_names("tform", "analytics")
    assert release.withheld == set() and len(release.restricted["tform__kids"]) == 0


def test_without_disclosure_control_the_batch_is_all_candidates(keys):
    """Should leave k-anonymity to the release step when asked: a page of two rows is judged
    with the whole table later, not withheld on its own."""
    form = make_form("consent_fields=consent=yes;k=5;quasi_identifiers=sex")
    batch = typed_frames(2)
    alone = anonymise(form, batch, keys)
    assert len(alone.analytics["tform"]) == 0  # two rows cannot be 5-anonymous on their own
    candidates = anonymise(form, batch, keys, disclosure=False)
    assert sorted(candidates.analytics["tform"]["_id"]) == [1, 2]
    assert candidates.audit.disclosure == {}


def test_a_name_given_in_one_submission_is_scrubbed_from_every_answer_of_the_batch(form, keys):
    frames = typed_frames()
    frames["tform"]["fu_code"] = [None] * 6
    frames["tform"].loc[0, "fu_code"] = "Wulandari Putri"
    frames["tform"].loc[3, "story"] = "ketemu wulandari kemarin di kantin"
    release = anonymise(form, frames, keys)
    story = release.analytics["tform"].set_index("_id").loc[4, "story"]
    assert story == "ketemu [NAME] kemarin di kantin"


def test_choice_codes_of_organisation_fields_are_not_treated_as_names(form, keys):
    frames = typed_frames()
    frames["tform"]["factory"] = "employer"
    frames["tform"].loc[1, "story"] = "the employer paid late"
    release = anonymise(form, frames, keys)
    assert release.analytics["tform"].set_index("_id").loc[2, "story"] == "the employer paid late"
