"""VH-* indicators (forms-content.md §4.8), instrument ilo_vh_reporting.

N = respondents with go = 1 and withdrawn = 0 (withheld submissions never reach the
warehouse, so N is every loaded row; the filter stays for safety). All are sensitive:
the stricter suppression threshold applies.
"""

from __future__ import annotations

from suara.indicators.engine import Indicator, eq, num, sel, share

F = "ilo_vh_reporting"


def _n(d):
    go = eq(d, "go", "1") | (num(d, "go") == 1)
    withdrawn = eq(d, "withdrawn", "1") | (num(d, "withdrawn") == 1)
    return go & ~withdrawn


def _s(id_, en, id_label, cond, den=None, **kw) -> Indicator:
    base = (lambda d: den(d) & _n(d)) if den else _n
    n, dd = share(cond, base)
    return Indicator(id_, F, en, id_label, n, dd, sensitive=True, **kw)


_FORMS = (("psy", "psychological", "psikologis"), ("phys", "physical", "fisik"),
          ("sex", "sexual", "seksual"), ("econ", "economic", "ekonomi"),
          ("gb", "gender-based", "berbasis gender"))

INDICATORS = [
    _s("VH-1", "Any violence or harassment at work, past 12 months",
       "Mengalami kekerasan atau pelecehan di dunia kerja, 12 bulan terakhir",
       lambda d: eq(d, "any_vh", "1") | (num(d, "any_vh") == 1), headline=True),
    *[
        _s(f"VH-2{t}", f"Experienced {en} harm", f"Mengalami bentuk {idl}",
           lambda d, t=t: num(d, f"n_{t}") > 0)
        for t, en, idl in _FORMS
    ],
    _s("VH-3", "Women who experienced sexual harassment or violence",
       "Perempuan yang mengalami pelecehan atau kekerasan seksual",
       lambda d: num(d, "n_sex") > 0, lambda d: eq(d, "sex", "female"), by=()),
    _s("VH-4", "Reported the most recent incident", "Melaporkan kejadian terakhir",
       lambda d: eq(d, "i_reported", "yes"),
       lambda d: (eq(d, "any_vh", "1") | (num(d, "any_vh") == 1)) & eq(d, "i_reported", "yes", "no")),
    _s("VH-5", "Reported incidents that went to the union", "Kejadian yang dilaporkan ke serikat",
       lambda d: sel(d, "i_to_whom", "union_rep") | sel(d, "i_to_whom", "union_women"),
       lambda d: eq(d, "i_reported", "yes")),
    _s("VH-6", "Satisfactory resolution of reported incidents", "Penyelesaian memuaskan atas laporan",
       lambda d: eq(d, "i_outcome", "resolved"),
       lambda d: eq(d, "i_reported", "yes") & ~eq(d, "i_outcome", "dk")),
    _s("VH-7", "Retaliation after reporting", "Pembalasan setelah melapor",
       lambda d: eq(d, "i_retaliation", "yes"),
       lambda d: eq(d, "i_reported", "yes") & eq(d, "i_retaliation", "yes", "no")),
    _s("VH-8", "Would feel safe reporting sexual harassment to a union representative",
       "Merasa aman melaporkan pelecehan seksual kepada perwakilan serikat",
       lambda d: eq(d, "v_safe_union", "yes"), headline=True),
    _s("VH-8b", "Would feel safe reporting sexual harassment to management",
       "Merasa aman melaporkan pelecehan seksual kepada manajemen",
       lambda d: eq(d, "v_safe_mgmt", "yes")),
    _s("VH-9", "Aware of a written harassment policy", "Mengetahui kebijakan tertulis tentang pelecehan",
       lambda d: eq(d, "v_policy", "yes")),
    _s("VH-9b", "Aware of a Satgas PPKS", "Mengetahui Satgas PPKS", lambda d: eq(d, "v_satgas", "yes")),
    _s("VH-P1", "Referral information offered", "Informasi rujukan diberikan",
       lambda d: eq(d, "ref_given", "OK", "ok", "1", "yes"), by=()),
    _s("VH-P2", "Interview interrupted", "Wawancara terganggu", lambda d: eq(d, "x_interrupted", "yes"), by=()),
    _s("VH-P3", "Respondent distress noted", "Responden tampak tertekan", lambda d: eq(d, "x_distress", "yes"), by=()),
]


def reasons_not_reporting(reasons: tuple[tuple[str, str, str], ...]) -> list[Indicator]:
    """VH-10: one indicator per reason of ``i_why_not`` ((code, English, Indonesian) from the form)."""
    return [
        _s(f"VH-10-{r}", f"Reason for not reporting: {en}", f"Alasan tidak melapor: {idl}",
           lambda d, r=r: sel(d, "i_why_not", r), lambda d: eq(d, "i_reported", "no"), by=())
        for r, en, idl in reasons
    ]
