"""The reporting refresh's read-ahead in a whole sync (flows/sync_form.py ``_read_ahead``):
taken beside the release step for a sync of up to ``READ_AHEAD_MAX`` new submissions, left
to the refresh above that (memory), and the same reporting either way."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import N
from tests.e2e.test_pull_process import _sync_each_form
from tests.e2e.test_sync import _env, _state

pytestmark = [pytest.mark.e2e]


def test_sync__read_ahead_up_to_its_limit_only__same_warehouse_either_way(monkeypatch, tmp_path, sandbox,
                                                                        forms, forms_dir):
    from flows import sync_form
    from warehouse import facade

    asked: list[str] = []
    real = facade.Warehouse.indicator_sums_ahead

    def noting(self, form):
        asked.append(form.form_id)
        return real(self, form)

    monkeypatch.setattr(facade.Warehouse, "indicator_sums_ahead", noting)
    form = next(f for f in forms if not f.encrypted)
    monkeypatch.setattr(sync_form, "READ_AHEAD_MAX", N - 1)
    beside = _env(monkeypatch, sandbox, tmp_path, "over", forms_dir)
    _sync_each_form([form])
    assert asked == []                             # N new submissions: over the limit
    monkeypatch.setattr(sync_form, "READ_AHEAD_MAX", N)
    after = _env(monkeypatch, sandbox, tmp_path, "within", forms_dir)
    _sync_each_form([form])
    assert asked == [form.form_id]
    assert _state(after)["reporting.indicators"] and _state(after) == _state(beside)
