"""OA-* indicators (forms-content.md §5.6), instrument ilo_org_assessment.

One row per union assessment. Ratios are pooled (Σ numerators / Σ denominators across
unions); shares of unions count unions. No sex breakdown: the by-sex variants are their own
indicators. Membership at the start of the period: M0 = mem_total − new + left.
"""

from __future__ import annotations

import pandas as pd

from suara.indicators.engine import Indicator, any_sel_other_than, b, eq, num, sel

F = "ilo_org_assessment"
T_MEETINGS = 4  # OA-10/OA-11 threshold until PER.32/2008 Art 14 is confirmed (brief §8 point 2)


def _consented(d):
    return eq(d, "consent_org", "yes")


def _z(d, name):
    return num(d, name).astype("float64").fillna(0) * b(_consented(d))


def _mem_total(d):
    return num(d, "mem_f").fillna(0) + num(d, "mem_m").fillna(0)


def _m0(d):
    new = num(d, "new_f").fillna(0) + num(d, "new_m").fillna(0)
    left = num(d, "left_f").fillna(0) + num(d, "left_m").fillna(0)
    return (_mem_total(d) - new + left) * b(_consented(d))


def _m0_f(d):
    return (num(d, "mem_f").fillna(0) - num(d, "new_f").fillna(0) + num(d, "left_f").fillna(0)) * b(_consented(d))


def _ratio(id_, en, idl, numerator, denominator, unit="%", **kw) -> Indicator:
    return Indicator(id_, F, en, idl, numerator, denominator, by=(), unit=unit, **kw)


def _unions(id_, en, idl, cond, den=_consented, **kw) -> Indicator:
    return Indicator(id_, F, en, idl, lambda d: b(cond(d)) * b(den(d)), lambda d: b(den(d)), by=(), **kw)


def _lks_required(d):
    return eq(d, "lks_required", "1") | (num(d, "lks_required") == 1)


def _p2k3_required(d):
    return eq(d, "p2k3_required", "1") | (num(d, "p2k3_required") == 1)


INDICATORS = [
    _ratio("OA-1", "Union density, women", "Kepadatan serikat, perempuan",
           lambda d: _z(d, "mem_f"), lambda d: _z(d, "workers_f")),
    _ratio("OA-1b", "Union density, men", "Kepadatan serikat, laki-laki",
           lambda d: _z(d, "mem_m"), lambda d: _z(d, "workers_m")),
    _ratio("OA-1c", "Union density, all workers", "Kepadatan serikat, semua pekerja",
           lambda d: _mem_total(d) * b(_consented(d)),
           lambda d: (num(d, "workers_f").fillna(0) + num(d, "workers_m").fillna(0)) * b(_consented(d))),
    _ratio("OA-2", "Women's share of members", "Proporsi perempuan di antara anggota",
           lambda d: _z(d, "mem_f"), lambda d: _mem_total(d) * b(_consented(d))),
    _ratio("OA-3", "Women's share of executive seats", "Proporsi perempuan di kursi pengurus",
           lambda d: _z(d, "exec_women"), lambda d: _z(d, "exec_total"), headline=True),
    _unions("OA-4", "Unions with a woman in a top-four post", "Serikat dengan perempuan di empat jabatan puncak",
            lambda d: any_sel_other_than(d, "top_women", "none")),
    _ratio("OA-5", "Recruitment rate", "Tingkat rekrutmen",
           lambda d: (num(d, "new_f").fillna(0) + num(d, "new_m").fillna(0)) * b(_consented(d)), _m0),
    _ratio("OA-5b", "Recruitment rate, women", "Tingkat rekrutmen, perempuan", lambda d: _z(d, "new_f"), _m0_f),
    Indicator("OA-6", F, "Retention rate", "Tingkat retensi",
              lambda d: _m0(d) - (num(d, "left_f").fillna(0) + num(d, "left_m").fillna(0)) * b(_consented(d)),
              _m0, by=()),
    Indicator("OA-6b", F, "Retention rate, women", "Tingkat retensi, perempuan",
              lambda d: _m0_f(d) - _z(d, "left_f"), _m0_f, by=()),
    _ratio("OA-7", "Net membership growth", "Pertumbuhan bersih keanggotaan",
           lambda d: (num(d, "new_f").fillna(0) + num(d, "new_m").fillna(0)
                      - num(d, "left_f").fillna(0) - num(d, "left_m").fillna(0)) * b(_consented(d)), _m0),
    _ratio("OA-8", "Members on PKWT or outsourced", "Anggota berstatus PKWT atau alih daya",
           lambda d: _z(d, "mem_pkwt"), lambda d: _mem_total(d) * b(_consented(d))),
    _unions("OA-9", "Workplaces with a collective agreement (PKB) in force", "Tempat kerja dengan PKB berlaku",
            lambda d: eq(d, "pkb_status", "in_force")),
    _unions("OA-9b", "PKBs with gender provisions", "PKB dengan ketentuan gender",
            lambda d: any_sel_other_than(d, "pkb_gender", "none"),
            lambda d: _consented(d) & eq(d, "pkb_status", "in_force")),
    _unions("OA-9c", "Women on the negotiating team", "Perempuan dalam tim perunding",
            lambda d: eq(d, "pkb_women_team", "yes"),
            lambda d: _consented(d) & eq(d, "pkb_status", "in_force", "negotiating")),
    _unions("OA-10", "LKS Bipartit where required", "LKS Bipartit di tempat yang wajib",
            lambda d: eq(d, "lks_exists", "yes"), lambda d: _consented(d) & _lks_required(d)),
    _unions("OA-10b", "LKS Bipartit functioning", "LKS Bipartit berfungsi",
            lambda d: eq(d, "lks_exists", "yes") & (num(d, "lks_meetings") >= T_MEETINGS) & eq(d, "lks_minutes", "yes")),
    _ratio("OA-10c", "Women's share of LKS Bipartit members", "Proporsi perempuan anggota LKS Bipartit",
           lambda d: _z(d, "lks_women"), lambda d: _z(d, "lks_members")),
    _unions("OA-11", "P2K3 where required", "P2K3 di tempat yang wajib",
            lambda d: eq(d, "p2k3_exists", "yes"), lambda d: _consented(d) & _p2k3_required(d)),
    _unions("OA-11b", "Gender-responsive P2K3", "P2K3 responsif gender",
            lambda d: eq(d, "p2k3_exists", "yes") & (num(d, "p2k3_meetings") >= T_MEETINGS)
            & any_sel_other_than(d, "p2k3_women_issues", "none")),
    _ratio("OA-11c", "Women's share of P2K3 members", "Proporsi perempuan anggota P2K3",
           lambda d: _z(d, "p2k3_women"), lambda d: _z(d, "p2k3_members")),
    _unions("OA-12", "Written grievance procedure", "Prosedur pengaduan tertulis",
            lambda d: eq(d, "griev_written", "yes")),
    _unions("OA-12b", "Satgas PPKS with a union seat", "Satgas PPKS dengan kursi serikat",
            lambda d: eq(d, "satgas_union", "yes")),
    _ratio("OA-12c", "Bipartite grievance resolution rate", "Tingkat penyelesaian pengaduan bipartit",
           lambda d: _z(d, "griev_resolved"), lambda d: _z(d, "griev_n")),
    _ratio("OA-12d", "Harassment share of grievances", "Proporsi pelecehan di antara pengaduan",
           lambda d: _z(d, "griev_sh"), lambda d: _z(d, "griev_n")),
    _ratio("OA-13", "Training participants", "Peserta pelatihan",
           lambda d: _z(d, "tr_women_sum") + _z(d, "tr_men_sum"),
           lambda d: pd.Series(1.0, index=d.index) * b(_consented(d)), unit="sum"),
    _ratio("OA-13b", "Women's share of training participants", "Proporsi perempuan peserta pelatihan",
           lambda d: _z(d, "tr_women_sum"), lambda d: _z(d, "tr_women_sum") + _z(d, "tr_men_sum"), headline=True),
    _ratio("OA-14", "Policy-dialogue activities", "Kegiatan dialog kebijakan",
           lambda d: _z(d, "adv_n"), lambda d: pd.Series(1.0, index=d.index) * b(_consented(d)), unit="sum"),
    _unions("OA-14b", "Unions with gender-specific policy dialogue", "Serikat dengan dialog kebijakan khusus gender",
            lambda d: num(d, "adv_gender_n") >= 1),
    _unions("OA-14c", "Women as spokespersons in policy dialogue", "Perempuan sebagai juru bicara dalam dialog kebijakan",
            lambda d: eq(d, "adv_woman_spoke", "yes"), lambda d: _consented(d) & (num(d, "adv_n") > 0)),
]

# OA-13 topic coverage: share of unions trained on each topic (codes from the form's list).
def training_topics(codes: tuple[tuple[str, str, str], ...], field: str = "tr_topics") -> list[Indicator]:
    """((code, English, Indonesian), …) from the form's topic list."""
    return [
        _unions(f"OA-13-{c}", f"Unions trained on: {en}", f"Serikat yang dilatih tentang: {idl}",
                lambda d, c=c: sel(d, field, c))
        for c, en, idl in codes
    ]
