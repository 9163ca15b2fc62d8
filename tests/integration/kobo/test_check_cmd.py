"""`suara check` against the sandbox over real HTTP: each step's ✔/✘, the fix, the exit status."""

from __future__ import annotations

import socket

import pytest
import requests

from suara.cli import main
from suara.sandbox import Sandbox
from tests.unit.suara.kobo.fake_kobo import TOKEN
from tests.unit.suara.kobo.forms_md import FORM_MD, form

pytestmark = pytest.mark.integration


@pytest.fixture
def env(monkeypatch, tmp_path):
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "rights_baseline.md").write_text(FORM_MD.format(form_id="rights_baseline", version="1"))
    monkeypatch.setenv("SUARA_FORMS_DIR", str(forms))
    monkeypatch.setenv("SUARA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SUARA_HTTP_TIMEOUT", "5")
    monkeypatch.setenv("WAREHOUSE_URL", f"sqlite:///{tmp_path}/wh/suara.db")
    return monkeypatch


@pytest.fixture
def server():
    with Sandbox([form()], submissions=2, seed=1) as sb:
        yield sb


def _run(capsys, *args):
    status = main(["check", *args])
    return status, capsys.readouterr().out


def test_check__all_good__every_step_ticked_exit_0(env, server, capsys):
    env.setenv("KOBO_URL", server.url)
    env.setenv("KOBO_TOKEN", server.token)
    status, out = _run(capsys)
    assert status == 0, out
    assert "✘" not in out
    uid = server.asset_uid("rights_baseline")
    for expected in ("reachable", "KOBO_TOKEN is accepted", f"rights_baseline: asset {uid} (found by form_id",
                     "deployed and active", "may view submissions", "warehouse"):
        assert expected in out


def test_check__no_kobo_url__configuration_exit_2(env, capsys):
    status, out = _run(capsys)
    assert status == 2 and "✘ KOBO_URL is not set" in out and "kf.kobotoolbox.org" in out


def test_check__no_token__configuration_exit_2(env, server, capsys):
    env.setenv("KOBO_URL", server.url)
    status, out = _run(capsys)
    assert status == 2 and "✔ KOBO_URL" in out and "KOBO_TOKEN is not set" in out


def test_check__unreachable__exit_1_with_fix(env, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env.setenv("KOBO_URL", f"http://127.0.0.1:{port}")
    env.setenv("KOBO_TOKEN", TOKEN)
    status, out = _run(capsys)
    assert status == 1 and "✘ cannot reach" in out and "fix:" in out


def test_check__wrong_token__exit_1_says_rejected(env, server, capsys):
    env.setenv("KOBO_URL", server.url)
    env.setenv("KOBO_TOKEN", "f" * 40)
    status, out = _run(capsys)
    assert status == 1 and "rejected the token" in out and "f" * 40 not in out


def test_check__archived_and_no_permission__exit_1(env, server, capsys):
    uid = server.asset_uid("rights_baseline")
    requests.patch(f"{server.url}/api/v2/assets/{uid}/deployment/", json={"active": False},
                   headers={"Authorization": f"Token {server.token}"}, timeout=5).raise_for_status()
    server.add_token(TOKEN)  # an account that sees the project but not its submissions
    env.setenv("KOBO_URL", server.url)
    env.setenv("KOBO_TOKEN", TOKEN)
    status, out = _run(capsys)
    assert status == 1
    assert "archived" in out and "'view_submissions'" in out


def test_check__asset_missing__exit_1_suggests_deploy(env, capsys):
    with Sandbox([form(form_id="another_form")], submissions=0) as other:
        env.setenv("KOBO_URL", other.url)
        env.setenv("KOBO_TOKEN", other.token)
        status, out = _run(capsys)
    assert status == 1 and "no project" in out and "suara forms deploy" in out


def test_check__warehouse_down__exit_1(env, server, capsys):
    env.setenv("KOBO_URL", server.url)
    env.setenv("KOBO_TOKEN", server.token)
    env.setenv("WAREHOUSE_URL", "postgresql+psycopg://nobody:s3cretpw@127.0.0.1:1/none")
    status, out = _run(capsys)
    assert status == 1 and "not reachable" in out and "s3cretpw" not in out


def test_check__existing_sqlite_warehouse__select_1(env, server, capsys, tmp_path):
    import sqlite3

    env.setenv("KOBO_URL", server.url)
    env.setenv("KOBO_TOKEN", server.token)
    (tmp_path / "wh").mkdir()
    sqlite3.connect(tmp_path / "wh" / "suara.db").close()
    status, out = _run(capsys)
    assert status == 0 and "is reachable" in out.splitlines()[-2]
