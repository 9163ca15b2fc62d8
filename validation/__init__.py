"""Validation: Great Expectations suites derived from the Form model, row-level results.

``validate_batch(form_versions, normalised) -> ValidationResult`` (architecture.md, stage 4):
valid rows continue typed; failing submissions are quarantined with reasons that name the
form table, field and expectation — never a value.
"""

from validation.reasons import CATALOGUE, QuarantinedSubmission, Reason
from validation.run import Outcome, ValidationResult, validate_batch

__all__ = ["CATALOGUE", "Outcome", "QuarantinedSubmission", "Reason", "ValidationResult",
           "validate_batch"]
