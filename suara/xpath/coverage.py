"""Which of a form's expressions validation could not evaluate.

``suara forms check`` refuses such a form, so nothing is silently left unchecked: every
``relevant``, ``constraint``, ``choice_filter`` and ``repeat_count`` must pass ``evaluable``.
``calculation`` only needs to parse (validation reads calculated values, it does not recompute
them, so ``pulldata()`` is fine there).
"""

from __future__ import annotations

from dataclasses import dataclass

from suara.forms.model import Form
from suara.xpath.parser import PARSE_ONLY, XPathUnsupported, functions_used, parse


@dataclass(frozen=True)
class Unevaluable:
    where: str    # sheet/row of the form source
    name: str     # field or group name
    column: str   # relevant | constraint | choice_filter | repeat_count | calculation
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.column} of '{self.name}': {self.message}"


def _problem(expr: str, *, evaluated: bool, choice_columns: bool = False) -> str | None:
    try:
        node = parse(expr, choice_columns=choice_columns)
    except XPathUnsupported as exc:
        return exc.message
    blocked = sorted(functions_used(node) & PARSE_ONLY) if evaluated else []
    if blocked:
        return f"{blocked[0]}() reads a file attached to the form; validation cannot evaluate it here"
    return None


def unevaluable(form: Form) -> list[Unevaluable]:
    """Every expression of ``form`` the validator could not run, with its place."""
    out: list[Unevaluable] = []
    for f in form.fields:
        if f.generated:
            continue
        checks = [("relevant", f.relevant, True, False), ("constraint", f.constraint, True, False),
                  ("calculation", f.calculation, False, False)]
        if f.choice_filter and not f.type.endswith("_from_file"):
            checks.append(("choice_filter", f.choice_filter, True, True))
        for column, expr, evaluated, choice_columns in checks:
            if expr and (msg := _problem(expr, evaluated=evaluated, choice_columns=choice_columns)):
                out.append(Unevaluable(f.where, f.name, column, msg))
    for g in form.groups:
        for column, expr in (("relevant", g.relevant), ("repeat_count", g.repeat_count)):
            if expr and (msg := _problem(expr, evaluated=True)):
                out.append(Unevaluable(g.where, g.name, column, msg))
    return out
