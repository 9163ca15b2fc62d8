"""Hand-written cross-field rules: what forms-content.md needs beyond each field's own
constraint (e.g. women members ≤ women workers even when a form version lacks the
constraint, and calculated totals that must agree with their parts).

Each rule is an XPath expression that must hold whenever every field it references is
answered; it applies to a form version only if all those fields exist in it, so an old
version without a field is not judged by a rule about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from suara.forms.model import Form
from suara.xpath import parse, references


@dataclass(frozen=True)
class CrossFieldRule:
    name: str
    form_id: str
    expression: str
    field: str  # the field a reason names (the one a data manager would correct first)

    @property
    def fields(self) -> set[str]:
        return references(parse(self.expression))


def _le(form_id: str, small: str, big: str, name: str | None = None) -> CrossFieldRule:
    return CrossFieldRule(name or f"{small}_le_{big}", form_id, f"${{{small}}} <= ${{{big}}}", small)


_OA = "ilo_org_assessment"
_RB = "ilo_rights_baseline"
_VH = "ilo_vh_reporting"

RULES: tuple[CrossFieldRule, ...] = (
    # Organising assessment §5.3/5.6: members, flows and committee seats are parts of wholes.
    _le(_OA, "mem_f", "workers_f"),
    _le(_OA, "mem_m", "workers_m"),
    CrossFieldRule("mem_pkwt_le_members", _OA, "${mem_pkwt} <= ${mem_f} + ${mem_m}", "mem_pkwt"),
    _le(_OA, "new_f", "mem_f"),
    _le(_OA, "new_m", "mem_m"),
    _le(_OA, "exec_women", "exec_total"),
    _le(_OA, "lks_women", "lks_members"),
    _le(_OA, "p2k3_women", "p2k3_members"),
    _le(_OA, "griev_sh", "griev_n"),
    _le(_OA, "griev_resolved", "griev_n"),
    _le(_OA, "adv_gender_n", "adv_n"),
    CrossFieldRule("contract_shares_le_100", _OA, "${workers_pkwt_pct} + ${workers_out_pct} <= 100",
                   "workers_out_pct"),
    CrossFieldRule("respondents_at_least_one", _OA, "${resp_n_women} + ${resp_n_men} >= 1",
                   "resp_n_men"),
    CrossFieldRule("mem_total_is_sum", _OA, "${mem_total} = ${mem_f} + ${mem_m}", "mem_total"),
    CrossFieldRule("workers_total_is_sum", _OA, "${workers_total} = ${workers_f} + ${workers_m}",
                   "workers_total"),
    # Rights baseline §3.3-3.4: 18 knowledge items, 8 law-change items.
    CrossFieldRule("k_score_and_dk_le_18", _RB,
                   "${k_score} >= 0 and ${k_dk} >= 0 and ${k_score} + ${k_dk} <= 18", "k_score"),
    CrossFieldRule("j_score_0_to_8", _RB, "${j_score} >= 0 and ${j_score} <= 8", "j_score"),
    CrossFieldRule("eligible_matches_consent", _RB,
                   "${eligible} = if(${privacy_ok} = 'yes' and ${consent} = 'yes' and "
                   "${age18} = 'yes', 1, 0)", "eligible"),
    # Harassment reporting §4.4: `go` gates everything; any_vh summarises the harm counts.
    CrossFieldRule("go_matches_consent", _VH,
                   "${go} = if(${safe_now} = 'yes' and ${consent_part} = 'yes' and "
                   "${consent_stats} = 'yes' and ${age18} = 'yes', 1, 0)", "go"),
    CrossFieldRule("any_vh_matches_counts", _VH,
                   "${any_vh} = if(${n_psy} + ${n_phys} + ${n_sex} + ${n_econ} + ${n_gb} > 0, 1, 0)",
                   "any_vh"),
)


def rules_for(form: Form, repeat: str | None = None) -> tuple[CrossFieldRule, ...]:
    """The rules that apply to one table of one form version: every referenced field exists
    in this version, at this level or at the submission level above it."""
    out = []
    for rule in RULES:
        if rule.form_id != form.form_id:
            continue
        if not all(form.has_field(n) for n in rule.fields):
            continue
        levels = {form.field(n).repeat for n in rule.fields}
        if form.field(rule.field).repeat == repeat and levels <= {None, repeat}:
            out.append(rule)
    return tuple(out)
