"""When a form's pull starts a pull process (flows/puller.py ``wanted``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from flows import puller


def _page(n=1000, more=True, count=None):
    return SimpleNamespace(results=[{}] * n, next_after_id=n if more else None, count=count)


PLAIN, ENCRYPTED = SimpleNamespace(encrypted=False), SimpleNamespace(encrypted=True)


@pytest.fixture(autouse=True)
def two_cores(monkeypatch):
    monkeypatch.setattr(puller.os, "cpu_count", lambda: 2)


def test_wanted__server_count_decides_on_the_first_page():
    assert puller.wanted("auto", PLAIN, _page(count=puller.WORTH), 1)
    assert not puller.wanted("auto", PLAIN, _page(count=puller.WORTH - 1), 1)
    assert not puller.wanted("auto", PLAIN, _page(count=10 * puller.WORTH), 2)  # decided at page 1


def test_wanted__without_a_count_once_enough_pages_were_read():
    pages_needed = puller.WORTH // 1000
    assert not puller.wanted("auto", PLAIN, _page(), pages_needed - 1)
    assert puller.wanted("auto", PLAIN, _page(), pages_needed)


def test_wanted__never_for_the_last_page_an_encrypted_form_or_one_core(monkeypatch):
    assert not puller.wanted("on", PLAIN, _page(more=False), 1)
    assert not puller.wanted("on", ENCRYPTED, _page(count=10**6), 1)
    monkeypatch.setattr(puller.os, "cpu_count", lambda: 1)
    assert not puller.wanted("auto", PLAIN, _page(count=10**6), 1)


def test_wanted__auto_by_default_and_a_wrong_value_says_which_are_right(monkeypatch):
    from suara.errors import ConfigurationError
    from suara.settings import Settings, load_settings

    assert Settings.model_fields["suara_pull_process"].default == "auto"
    assert not puller.wanted("off", PLAIN, _page(count=10**6), 1)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "yes")
    with pytest.raises(ConfigurationError, match="SUARA_PULL_PROCESS.*'off', 'auto' or 'on'"):
        load_settings()


def test_wanted__on_overrides_the_size():
    assert puller.wanted("on", PLAIN, _page(n=10, count=10), 1)
    assert not puller.wanted("off", PLAIN, _page(count=10**6), 1)


def _ctx(count, form=PLAIN):
    return SimpleNamespace(form=form, server_count=count)


def test_wanted_first__first_pull_of_a_form_the_counter_says_is_big_enough():
    assert puller.wanted_first("auto", _ctx(puller.WORTH), 0)
    assert not puller.wanted_first("auto", _ctx(puller.WORTH - 1), 0)
    assert not puller.wanted_first("auto", _ctx(None), 0)  # counter withheld: decided on the first page


def test_wanted_first__not_after_a_watermark_not_encrypted_not_forced_and_not_on_one_core(monkeypatch):
    assert not puller.wanted_first("auto", _ctx(10**6), 5_000)  # the counter says nothing of what is new
    assert not puller.wanted_first("auto", _ctx(10**6, ENCRYPTED), 0)
    assert not puller.wanted_first("off", _ctx(10**6), 0)
    assert not puller.wanted_first("on", _ctx(10**6), 0)  # "on" decides on the first page, as before
    monkeypatch.setattr(puller.os, "cpu_count", lambda: 1)
    assert not puller.wanted_first("auto", _ctx(10**6), 0)
