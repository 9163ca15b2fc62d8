"""A sync keeps one running total of validation counts per form, not one result per page."""

from flows.pipeline import FormContext, _remember_validation
from validation.reasons import QuarantinedSubmission
from validation.run import Outcome, ValidationResult


def _page(evaluated, failed, quarantined_ids):
    outcomes = [Outcome("t", "1", "VAL_REQUIRED", "age", "required", "expect_x", evaluated, failed),
                Outcome("t", "1", "VAL_TYPE", "age", "integer", "expect_y", evaluated, 0)]
    q = [QuarantinedSubmission(i, f"u{i}", "1", []) for i in quarantined_ids]
    return ValidationResult("t", {"t": object()}, q, outcomes, submissions=evaluated)


def test_validation_totals__pages_add_up_in_one_result():
    """Should sum each expectation's counts over the pages and keep every quarantined id."""
    ctx = FormContext(form=None, versions={}, asset_uid="a", asset_how="", version_map={}, privacy_keys=None)
    for n, (ev, fail, q) in enumerate([(1000, 2, [1, 2]), (1000, 0, []), (500, 1, [2501])]):
        page = _page(ev, fail, q)
        _remember_validation(ctx, page)
        if n == 0:
            assert page.outcomes[0].evaluated == 1000  # the page's own result is not altered
    (total,) = ctx.validation
    assert total.submissions == 2500 and total.valid == {}
    assert [q._id for q in total.quarantined] == [1, 2, 2501]
    assert [(o.code, o.evaluated, o.failed) for o in total.outcomes] == [
        ("VAL_REQUIRED", 2500, 3), ("VAL_TYPE", 2500, 0)]
