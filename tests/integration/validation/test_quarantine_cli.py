"""``suara quarantine list|show|release|drop`` on a real SQLite warehouse: a data manager sees
why submissions are held, releases them after a form fix (re-validated), or drops them; every
action is recorded."""

from __future__ import annotations

import pytest

from suara.cli import main
from suara.forms import load_form_versions
from suara.normalise import normalise
from tests.unit.validation.forms import SURVEY, good
from validation import validate_batch
from warehouse import LoadBatch, QuarantineItem, Warehouse

KEY = "quarantine-test-key-0123456789abcdef"


@pytest.fixture
def setup(tmp_path, monkeypatch):
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "tiny.md").write_text(SURVEY.format(version="1", extra="", choices=""), encoding="utf-8")
    url = f"sqlite:///{tmp_path}/wh.db"
    monkeypatch.setenv("WAREHOUSE_URL", url)
    monkeypatch.setenv("SUARA_RESTRICTED_KEY", KEY)
    monkeypatch.setenv("SUARA_FORMS_DIR", str(forms))
    versions = load_form_versions("tiny", forms)
    subs = [good(1), good(2, consent="maybe"), good(3, __version__="2")]
    norm = normalise(versions, versions["1"], subs)
    result = validate_batch(versions, norm)
    assert sorted(q._id for q in result.quarantined) == [2, 3]
    with Warehouse(url, restricted_key=KEY) as wh:
        wh.upgrade({"tiny": versions})
        wh.apply_batch("tiny", LoadBatch(
            run_id="run-1",
            quarantine=[QuarantineItem(q._id, q._uuid, q.form_version, q.reasons, norm.raw[q._id])
                        for q in result.quarantined],
            form_versions={i: v for i, v in zip(norm.ids, norm.frames["tiny"]["_form_version"],
                                                strict=True)},
        ))
    return forms, url


def test_quarantine_list__shows_reason_codes_not_values(setup, capsys):
    assert main(["quarantine", "list"]) == 0
    out = capsys.readouterr().out
    assert "VAL_CHOICE:consent" in out and "VAL_UNKNOWN_VERSION:_form_version" in out
    assert "maybe" not in out


def test_quarantine_list__unknown_version_longer_than_the_column__every_line_aligned(setup, capsys):
    long_version = "unknown:vb2tfFhwDCUBxuM6ELUJ3a"  # as a Kobo version id the forms lack reads
    with Warehouse(setup[1], restricted_key=KEY) as wh:
        wh.apply_batch("tiny", LoadBatch(run_id="run-2", quarantine=[
            QuarantineItem(4, "uuid-4", long_version, [{"code": "VAL_UNKNOWN_VERSION", "field": "_form_version"}],
                           good(4))]))
    assert main(["quarantine", "list"]) == 0
    header, *rows, footer = capsys.readouterr().out.splitlines()
    assert len(rows) == 3 and any(long_version in r for r in rows)
    for column in ("status", "held since", "reasons"):
        at = header.index(column)
        assert all(r[at - 1] == " " and r[at] != " " for r in rows), (column, rows)


def test_quarantine_list__form_id_misspelt__error_names_the_known_forms(setup, capsys):
    assert main(["quarantine", "list", "--form", "tinny"]) == 1
    err = capsys.readouterr().err
    assert "tinny" in err and "Known forms: tiny" in err


def test_quarantine_list__known_form_with_nothing_held__says_so(setup, capsys):
    assert main(["quarantine", "list", "--form", "tiny", "--status", "dropped"]) == 0
    assert "no dropped quarantined submissions" in capsys.readouterr().out


def test_quarantine_show__reasons_with_meaning_and_hint(setup, capsys):
    assert main(["quarantine", "show", "tiny", "2"]) == 0
    out = capsys.readouterr().out
    assert "tiny.consent" in out and "not one of the choices" in out and "maybe" not in out
    assert main(["quarantine", "show", "tiny", "2", "--payload"]) == 0
    assert '"maybe"' in capsys.readouterr().out  # explicit, restricted: the data manager's view


def test_quarantine_release__still_invalid__refused_unchanged(setup, capsys):
    assert main(["quarantine", "release", "tiny", "2", "--actor", "dm1"]) == 1
    assert "still fails" in capsys.readouterr().out
    with Warehouse(setup[1], restricted_key=KEY) as wh:
        assert [e._id for e in wh.quarantine_list("tiny", "held")] == [2, 3]


def test_quarantine_release__after_archiving_the_version__released_and_refetchable(setup, capsys):
    forms, url = setup
    archive = forms / "versions" / "tiny"
    archive.mkdir(parents=True)
    (archive / "2.md").write_text(SURVEY.format(version="2", extra="", choices=""), encoding="utf-8")
    with Warehouse(url, restricted_key=KEY) as wh:
        assert 3 in wh.manifest("tiny")
    assert main(["quarantine", "release", "tiny", "3", "--actor", "dm1", "--note", "v2 archived"]) == 0
    assert "released 1" in capsys.readouterr().out
    with Warehouse(url, restricted_key=KEY) as wh:
        assert [e._id for e in wh.quarantine_list("tiny", "released")] == [3]
        assert 3 not in wh.manifest("tiny")  # the next sync's manifest scan refetches it
        actions = wh.quarantine_get("tiny", 3).actions
    assert [(a["action"], a["actor"], a["note"]) for a in actions] == [("release", "dm1", "v2 archived")]
    assert main(["quarantine", "show", "tiny", "3"]) == 0
    assert "release by dm1: v2 archived" in capsys.readouterr().out


def test_quarantine_drop__recorded_and_payload_deleted(setup, capsys):
    assert main(["quarantine", "drop", "tiny", "2", "--actor", "dm2"]) == 0
    with Warehouse(setup[1], restricted_key=KEY) as wh:
        entry = wh.quarantine_get("tiny", 2)
    assert entry.status == "dropped" and entry.payload is None
    assert entry.actions[0]["actor"] == "dm2"
    assert main(["quarantine", "list", "--status", "dropped", "--json"]) == 0
    assert '"_id": 2' in capsys.readouterr().out


def test_quarantine_drop__unknown_id__error_exit(setup, capsys):
    assert main(["quarantine", "drop", "tiny", "99", "--actor", "dm2"]) == 1
    assert "99" in capsys.readouterr().err


def test_quarantine_list__no_warehouse_file__clear_error_nothing_created(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE_URL", f"sqlite:///{tmp_path}/empty.db")
    assert main(["quarantine", "list"]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "suara warehouse upgrade" in err and "SELECT" not in err
    assert list(tmp_path.iterdir()) == []  # reading created no empty warehouse files


def test_quarantine_list__warehouse_without_schema__clear_error(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/empty.db"
    with Warehouse(url) as wh, wh.engine.connect():  # the zone files, no tables
        pass
    monkeypatch.setenv("WAREHOUSE_URL", url)
    assert main(["quarantine", "list"]) == 1
    err = capsys.readouterr().err
    assert "QUAR_004" in err and "suara warehouse upgrade" in err and "SELECT" not in err
