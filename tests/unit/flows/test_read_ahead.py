"""The reporting refresh's read-ahead (flows/sync_form.py): an optimisation only, so a failed
one hands the refresh nothing and says so without any detail of the data."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future

from flows.sync_form import _read_ahead, _taken
from suara.forms.model import Form


class _Form:
    form_id = "ilo_rights_baseline"


FORM: Form = _Form()  # type: ignore[assignment] - only form_id is read


class _Warehouse:
    def __init__(self, result=None, error: Exception | None = None):
        self.result, self.error, self.asked = result, error, []

    def indicator_sums_ahead(self, form):
        self.asked.append(form.form_id)
        if self.error:
            raise self.error
        return self.result


def test_read_ahead__sums_found__handed_to_the_refresh_by_form():
    wh = _Warehouse(result="sums")
    assert _taken(_read_ahead(wh, FORM), FORM) == {"ilo_rights_baseline": "sums"}
    assert wh.asked == ["ilo_rights_baseline"]


def test_read_ahead__failed__refresh_gets_nothing_and_the_log_names_only_the_error_type(caplog):
    wh = _Warehouse(error=RuntimeError("value 9999999999999999 of nik"))
    with caplog.at_level(logging.INFO, logger="flows.sync_form"):
        assert _taken(_read_ahead(wh, FORM), FORM) is None
    assert "RuntimeError" in caplog.text and "the refresh reads the rows itself" in caplog.text
    assert "9999999999999999" not in caplog.text


def test_read_ahead__nothing_to_read__refresh_gets_nothing():
    assert _taken(_read_ahead(_Warehouse(result=None), FORM), FORM) is None
    assert _taken(None, FORM) is None


def test_read_ahead__future_still_running__refresh_waits_for_it():
    pending: Future = Future()
    pending.set_running_or_notify_cancel()
    threading.Timer(0.05, pending.set_result, args=("late sums",)).start()
    assert _taken(pending, FORM) == {"ilo_rights_baseline": "late sums"}
