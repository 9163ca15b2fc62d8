"""RB-* indicators (forms-content.md §3.7), instrument ilo_rights_baseline."""

from __future__ import annotations

from suara.indicators.engine import Indicator, answered, b, eq, everyone, num, share

F = "ilo_rights_baseline"


def _eligible(d):
    return eq(d, "eligible", "1") | (num(d, "eligible") == 1)


def _s(id_, en, id_label, cond, den, **kw) -> Indicator:
    n, dd = share(cond, lambda d: den(d) & _eligible(d))
    return Indicator(id_, F, en, id_label, n, dd, **kw)


INDICATORS = [
    *[
        _s(f"RB-1{suffix}", f"Workers on {label_en} contracts", f"Pekerja dengan kontrak {label_id}",
           lambda d, c=code: eq(d, "contract", c),
           lambda d: answered(d, "contract") & ~eq(d, "contract", "dk"),
           by=("sex",), headline=(code == "pkwtt"))
        for suffix, code, label_en, label_id in (
            ("", "pkwtt", "permanent (PKWTT)", "tetap (PKWTT)"),
            ("b", "pkwt", "fixed-term (PKWT)", "waktu tertentu (PKWT)"),
            ("c", "daily", "daily", "harian"),
            ("d", "outsourced", "outsourced", "alih daya"),
        )
    ],
    _s("RB-2", "Have a copy of a written contract", "Memiliki salinan kontrak tertulis",
       lambda d: eq(d, "contract_copy", "yes"),
       lambda d: answered(d, "contract_copy") & ~eq(d, "contract_copy", "dk")),
    _s("RB-3", "PKWT workers reporting probation in their contract (unlawful)",
       "Pekerja PKWT yang melaporkan masa percobaan dalam kontrak (melanggar hukum)",
       lambda d: eq(d, "pkwt_probation", "yes"),
       lambda d: eq(d, "contract", "pkwt") & answered(d, "pkwt_probation") & ~eq(d, "pkwt_probation", "dk")),
    _s("RB-4", "Registered with BPJS Ketenagakerjaan", "Terdaftar di BPJS Ketenagakerjaan",
       lambda d: eq(d, "ss_bpjstk", "yes"),
       lambda d: answered(d, "ss_bpjstk") & ~eq(d, "ss_bpjstk", "dk"), by=("sex", "contract")),
    Indicator("RB-5", F, "Rights-knowledge score (mean % correct)", "Skor pengetahuan hak (rata-rata % benar)",
              lambda d: num(d, "k_score").fillna(0) / 18 * b(_eligible(d)), lambda d: b(_eligible(d)),
              headline=True),
    _s("RB-5b", "Adequate rights knowledge (score ≥ 14 of 18)", "Pengetahuan hak memadai (skor ≥ 14 dari 18)",
       lambda d: num(d, "k_score") >= 14, everyone),
    Indicator("RB-5c", F, "'Don't know' rate on rights items", "Tingkat 'tidak tahu' pada butir hak",
              lambda d: num(d, "k_dk").fillna(0) / 18 * b(_eligible(d)), lambda d: b(_eligible(d))),
    Indicator("RB-6", F, "Knowledge of Job Creation Law changes (mean % correct)",
              "Pengetahuan perubahan UU Cipta Kerja (rata-rata % benar)",
              lambda d: num(d, "j_score").fillna(0) / 8 * b(_eligible(d)), lambda d: b(_eligible(d))),
    _s("RB-6b", "Heard of the Job Creation Law", "Pernah mendengar UU Cipta Kerja",
       lambda d: eq(d, "jcl_heard", "yes"), everyone),
    _s("RB-7", "Know the district minimum wage (within ±5 %)", "Mengetahui UMK (selisih ±5 %)",
       lambda d: eq(d, "umk_close", "1") | (num(d, "umk_close") == 1), everyone),
    _s("RB-8", "Would take a sexual-harassment concern first to the union",
       "Akan membawa masalah pelecehan seksual pertama kali ke serikat",
       lambda d: eq(d, "g_sh_channel", "union_rep", "union_women"), everyone, headline=True),
    _s("RB-8b", "Would use any formal channel for sexual harassment",
       "Akan menggunakan saluran resmi untuk pelecehan seksual",
       lambda d: answered(d, "g_sh_channel") & ~eq(d, "g_sh_channel", "family", "nobody", "dk"), everyone),
    _s("RB-9", "Confident complaints stay confidential", "Yakin pengaduan tetap rahasia",
       lambda d: eq(d, "g_trust", "very", "somewhat"),
       lambda d: eq(d, "g_mech", "yes") & answered(d, "g_trust") & ~eq(d, "g_trust", "dk")),
    _s("RB-10", "Union membership rate (workplaces with a union)", "Tingkat keanggotaan serikat",
       lambda d: eq(d, "u_member", "yes"), lambda d: eq(d, "u_member", "yes", "no"), headline=True),
    _s("RB-11", "Women willing to stand for union office", "Perempuan bersedia mencalonkan diri sebagai pengurus",
       lambda d: eq(d, "u_stand", "yes", "maybe"), lambda d: eq(d, "sex", "female"), by=()),
    _s("RB-12", "Any antenatal care (women pregnant while employed)", "Pemeriksaan kehamilan (perempuan yang hamil saat bekerja)",
       lambda d: eq(d, "m_anc", "yes"), lambda d: eq(d, "m_preg", "yes"), by=(), sensitive=True),
    _s("RB-12b", "Six or more antenatal contacts", "Enam kali atau lebih pemeriksaan kehamilan",
       lambda d: eq(d, "m_anc_visits", "v6p"), lambda d: eq(d, "m_preg", "yes"), by=(), sensitive=True),
    _s("RB-12c", "Antenatal care paid by BPJS", "Pemeriksaan kehamilan dibayar BPJS",
       lambda d: eq(d, "m_anc_bpjs", "yes"), lambda d: eq(d, "m_anc", "yes"), by=(), sensitive=True),
    _s("RB-12d", "Paid time off for antenatal care", "Izin berbayar untuk pemeriksaan kehamilan",
       lambda d: eq(d, "m_anc_time", "yes"), lambda d: eq(d, "m_anc", "yes"), by=(), sensitive=True),
    _s("RB-12e", "Maternity leave of 3 months or more", "Cuti melahirkan 3 bulan atau lebih",
       lambda d: eq(d, "m_leave", "yes_3m"), lambda d: eq(d, "m_leave", "yes_3m", "yes_lt3m", "no"),
       by=(), sensitive=True),
    _s("RB-12f", "Pregnancy-related pressure", "Tekanan terkait kehamilan",
       lambda d: eq(d, "m_pressure", "yes"), lambda d: eq(d, "m_pressure", "yes", "no"), by=(), sensitive=True),
    _s("RB-13", "Lactation room available (women's reports)", "Tersedia ruang laktasi (laporan perempuan)",
       lambda d: eq(d, "m_lactation", "yes"),
       lambda d: answered(d, "m_lactation") & ~eq(d, "m_lactation", "dk"), by=()),
    _s("RB-14", "Aware of an LKS Bipartit", "Mengetahui LKS Bipartit", lambda d: eq(d, "u_lks", "yes"), everyone),
    _s("RB-14b", "Aware of a P2K3 committee", "Mengetahui P2K3", lambda d: eq(d, "u_p2k3", "yes"), everyone),
]
