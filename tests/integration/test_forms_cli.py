"""``suara forms check | build | deploy`` as a data manager runs them.

The real instruments in ``forms/`` are checked and built through the installed entry point
(a subprocess); failing forms and deploy run in-process through ``suara.cli.main`` against
forms written into a temporary ``SUARA_FORMS_DIR``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from pyxform.xls2xform import convert as pyxform_convert

from suara.cli import main
from suara.forms import load_form
from suara.forms.sheets import read_xlsx
from tests.unit.suara.forms.forms_md import BASE, variant

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
INSTRUMENTS = {"ilo_rights_baseline", "ilo_vh_reporting", "ilo_org_assessment"}
BROKEN = variant(("| ${age} >= 18 |", "| ${agee} >= 18 |"))


def suara(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUARA_", "KOBO_"))}
    return subprocess.run([sys.executable, "-m", "suara", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def project_form_ids() -> set[str]:
    return {p.stem for p in (REPO / "forms").glob("*.md") if p.name.lower() != "readme.md"}


@pytest.fixture
def forms_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "forms"
    d.mkdir()
    monkeypatch.setenv("SUARA_FORMS_DIR", str(d))
    return d


# -- the project's forms ----------------------------------------------------------------------


def test_the_project_forms_pass_the_check(tmp_path):
    result = suara("forms", "check", cwd=tmp_path)
    n = len(project_form_ids())
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    # No warnings at all; the one notice allowed is that a form carries the committed DEMO
    # public key (forms/keys/demo_public.pem) until a fieldwork key replaces it.
    assert not any(line.startswith("warning ") for line in lines), result.stdout
    notices = [line for line in lines if line.startswith("notice ")]
    assert all(line.startswith("notice [FORM_KEY_DEMO]") for line in notices), result.stdout
    expected = f"{n} form{'s' * (n != 1)}, 0 errors, 0 warnings"
    if notices:
        expected += f" ({len(notices)} notice{'s' * (len(notices) != 1)})"
    assert lines[-1] == expected
    assert not any(line.startswith("error ") for line in lines)
    if project_form_ids() >= INSTRUMENTS:
        assert project_form_ids() == INSTRUMENTS


def test_build_writes_an_xlsx_and_an_xform_per_project_form(tmp_path):
    result = suara("forms", "build", cwd=tmp_path)  # default output: ./build/forms
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "build" / "forms"
    ids = project_form_ids()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{i}.xlsx" for i in ids] + [f"{i}.xml" for i in ids])
    for form_id in ids:
        source = load_form(REPO / "forms" / f"{form_id}.md")
        rebuilt = load_form(out / f"{form_id}.xlsx")  # what Kobo receives parses to the same form
        assert [f.path for f in rebuilt.fields] == [f.path for f in source.fields]
        assert [f.pii_class for f in rebuilt.fields] == [f.pii_class for f in source.fields]
        assert rebuilt.policy == source.policy and rebuilt.version == source.version
        xml = (out / f"{form_id}.xml").read_text(encoding="utf-8")
        assert f'id="{form_id}"' in xml and f'version="{source.version}"' in xml
        if source.encrypted:
            assert "base64RsaPublicKey" in xml
        again = pyxform_convert(str(out / f"{form_id}.xlsx"), pretty_print=True, form_name="data")
        assert again.xform == xml and again.warnings == []  # Kobo gets what was checked
    assert set(read_xlsx(out / f"{sorted(ids)[0]}.xlsx").sheets) >= {"survey", "settings"}


# -- failing forms ----------------------------------------------------------------------------


def test_check_exits_1_and_names_the_line_of_each_error(forms_dir, capsys):
    (forms_dir / "test_form.md").write_text(BROKEN)
    assert main(["forms", "check"]) == 1
    out = capsys.readouterr().out
    line = next(n for n, text in enumerate(BROKEN.splitlines(), 1) if "${agee}" in text)
    assert f"error [FORM_217] {forms_dir / 'test_form.md'} line {line} (survey):" in out
    assert "PYXFORM_999" in out
    assert out.strip().splitlines()[-1] == "1 form, 2 errors, 0 warnings"


def test_an_unreadable_form_does_not_hide_the_others(forms_dir, capsys):
    (forms_dir / "test_form.md").write_text(BASE)
    (forms_dir / "broken.md").write_text("| survey |\n| | type | name |\n| | text | q | extra |\n")
    assert main(["forms", "check"]) == 1
    out = capsys.readouterr().out
    assert "error [FORM_002]" in out and "more cells than its header" in out
    assert out.strip().splitlines()[-1] == "2 forms, 1 error, 0 warnings"
    assert "Traceback" not in out


def test_build_refuses_failing_forms_and_writes_nothing(forms_dir, tmp_path, capsys):
    (forms_dir / "test_form.md").write_text(BROKEN)
    assert main(["forms", "build", "--out", str(tmp_path / "out")]) == 1
    assert "nothing built" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_unknown_form_id_is_a_clear_error(forms_dir, capsys):
    (forms_dir / "test_form.md").write_text(BASE)
    assert main(["forms", "check", "no_such_form"]) == 1
    err = capsys.readouterr().err
    assert "no form 'no_such_form'" in err and "known: test_form" in err


# -- deploy -----------------------------------------------------------------------------------


@pytest.fixture
def fake_deploy(monkeypatch):
    """Stands in for suara.kobo.deploy: records what the command hands over."""
    calls = []

    class Result:
        def __init__(self, form_id):
            self.form_id = form_id

        def __str__(self):
            return f"deployed {self.form_id}"

    def deploy_forms(settings, forms, built):
        calls.append({
            "forms": [f.form_id for f in forms],
            "built": {k: (p.name, p.is_file()) for k, p in built.items()},
            "forms_dir": settings.forms_dir(),
        })
        return [Result(f.form_id) for f in forms]

    module = types.ModuleType("suara.kobo.deploy")
    module.deploy_forms = deploy_forms
    monkeypatch.setitem(sys.modules, "suara.kobo.deploy", module)
    return calls


def test_deploy_checks_builds_and_hands_over_the_workbooks(forms_dir, fake_deploy, capsys):
    (forms_dir / "test_form.md").write_text(BASE)
    assert main(["forms", "deploy", "test_form"]) == 0
    [call] = fake_deploy
    assert call["forms"] == ["test_form"]
    assert call["built"] == {"test_form": ("test_form.xlsx", True)}  # exists while deploying
    assert call["forms_dir"] == forms_dir
    assert capsys.readouterr().out.strip().splitlines()[-1] == "deployed test_form"


def test_deploy_refuses_forms_that_fail_the_check(forms_dir, fake_deploy, capsys):
    (forms_dir / "test_form.md").write_text(BROKEN)
    assert main(["forms", "deploy"]) == 1
    assert fake_deploy == []
    assert "nothing deployed" in capsys.readouterr().err


def test_deploy_over_http_creates_the_asset_and_verifies_the_version(forms_dir, tmp_path, monkeypatch, capsys):
    """End to end against the local Kobo-compatible sandbox over real HTTP: import, deploy,
    verify the deployed version; a second deploy replaces the same asset."""
    from suara.sandbox import Sandbox

    (forms_dir / "test_form.md").write_text(BASE)
    monkeypatch.setenv("SUARA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SUARA_HTTP_TIMEOUT", "10")
    with Sandbox([], submissions=0) as sandbox:
        monkeypatch.setenv("KOBO_URL", sandbox.url)
        monkeypatch.setenv("KOBO_TOKEN", sandbox.token)
        status = main(["forms", "deploy", "test_form"])
        out = capsys.readouterr().out
        assert status == 0, out
        uid = sandbox.asset_uid("test_form")
        assert "test_form" in out and "2026112801" in out
        assert main(["forms", "deploy", "test_form"]) == 0
        assert sandbox.asset_uid("test_form") == uid
        imports = [r for r in sandbox.requests if r.path.endswith("/imports/") and r.method == "POST"]
        assert len(imports) == 2
