"""Indicators of the three instruments, defined once and computed with pandas.

``indicators_for(form)`` lists a form's indicators, including those whose categories come
from the form's own choice lists (VH-10 reasons, OA-13 topics).
"""

from __future__ import annotations

from suara.forms import Form
from suara.indicators import baseline, harassment, organising
from suara.indicators.engine import Indicator, columns_used, compute_all, compute_chunks

__all__ = ["Indicator", "columns_used", "compute_all", "compute_chunks", "indicators_for"]


def _codes(form: Form, field: str, exclude: tuple[str, ...] = ()) -> tuple[tuple[str, str, str], ...]:
    """(code, English label, Indonesian label) of a field's choices."""
    if not form.has_field(field):
        return ()
    lst = form.choices(form.field(field))

    def label(c, code: str) -> str:
        return next((v for k, v in c.labels.items() if f"({code})" in k), c.name)

    return tuple((c.name, label(c, "en"), label(c, "id"))
                 for c in (lst.choices if lst else ()) if c.name not in exclude)


def indicators_for(form: Form) -> list[Indicator]:
    if form.form_id == baseline.F:
        return list(baseline.INDICATORS)
    if form.form_id == harassment.F:
        return harassment.INDICATORS + harassment.reasons_not_reporting(_codes(form, "i_why_not", ("dk", "refuse")))
    if form.form_id == organising.F:
        topics = _codes(form, "tr_topics", ("none",))
        return organising.INDICATORS + organising.training_topics(topics)
    return []
