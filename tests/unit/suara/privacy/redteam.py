"""Red-team corpus for the scrubber (anonymisation.md G3).

``planted_corpus`` writes Indonesian answers with identifiers planted in many formats:
separators, +62/62/08 prefixes, split digits, full-width digits, zero-width characters,
look-alike letters, spelled-out digits, obfuscated e-mails, context-anchored ids. The
surrounding sentences contain no digits, so any digit run left after scrubbing is a leak.

``clean_corpus`` writes answers full of numbers that are *not* identifiers: wages, dates,
times, line numbers, years, percentages. Anything the scrubber changes there is a false
positive.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ZW = "\u200b"
SPELLED = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]

PREFIXES = [
    "tolong hubungi saya di", "kalau ada apa-apa, ini", "data saya:", "catat ya",
    "saya sudah kasih ke HRD,", "mohon dirahasiakan:", "ini punya teman saya",
]
SUFFIXES = ["terima kasih.", "sekian.", "itu saja", "tolong jangan disebar", ""]
NAMES = ["Siti", "Dewi", "Budi", "Agus", "Wati", "Rina", "Yanti", "Sri", "Eko", "Indah",
         "Joko", "Putri", "Ayu", "Nur", "Rahmat", "Lestari", "Bambang", "Fitri", "Hendra", "Ratna"]
HONORIFICS = ["Bu", "Pak", "Ibu", "Bapak", "Mbak", "Mas", "bu", "pak", "mbak", "mas", "Kak", "Bang"]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _nik(rng):
    prov = rng.choice(["31", "32", "33", "35", "36", "51", "64", "73"])
    day = rng.randrange(1, 29) + rng.choice([0, 40])
    return f"{prov}{rng.randrange(1, 80):02d}{rng.randrange(1, 40):02d}{day:02d}{rng.randrange(1, 13):02d}{rng.randrange(60, 99)}{rng.randrange(1, 9999):04d}"


def _mobile(rng):
    return "8" + rng.choice("1235789") + _digits(rng, rng.randrange(8, 11))


def _group(s: str, sizes, sep: str) -> str:
    out, i = [], 0
    for n in sizes:
        out.append(s[i:i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return sep.join(p for p in out if p)


# Each format returns (text as planted, type, digits or marker that must not survive).
def f_nik_plain(rng):
    n = _nik(rng)
    return f"NIK {n}", "NIK", n


def f_nik_spaced(rng):
    n = _nik(rng)
    return _group(n, (6, 6, 4), " "), "NIK", n


def f_nik_dotted(rng):
    n = _nik(rng)
    return _group(n, (2, 2, 2, 6, 4), "."), "NIK", n


def f_kk_dashed(rng):
    n = _nik(rng)
    return "no KK " + _group(n, (4, 4, 4, 4), "-"), "NIK", n


def f_npwp_legacy(rng):
    d = _digits(rng, 15)
    return f"NPWP {d[:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.{d[12:]}", "NPWP", d


def f_nitku(rng):
    d = _nik(rng) + "000000"
    return d, "NITKU", d


def f_bpjs(rng):
    d = "000" + _digits(rng, 10)
    return f"no kartu BPJS {d}", "BPJS", d


def f_kpj(rng):
    d = _digits(rng, 11)
    return f"KPJ {d}", "KPJ", d


def f_phone_08(rng):
    m = "0" + _mobile(rng)
    return _group(m, (4, 4, 4), rng.choice(["-", " ", ".", ""])), "PHONE", m


def f_phone_plus62(rng):
    m = _mobile(rng)
    return "+62 " + _group(m, (3, 4, 4), rng.choice([" ", "-"])), "PHONE", "62" + m


def f_phone_62(rng):
    m = _mobile(rng)
    return "62" + m, "PHONE", "62" + m


def f_phone_paren(rng):
    m = _mobile(rng)
    return "(+62) " + _group(m, (3, 4, 4), "."), "PHONE", "62" + m


def f_phone_trunk(rng):
    m = _mobile(rng)
    return "+62 (0)" + _group(m, (3, 4, 4), " "), "PHONE", "62" + m


def f_wame(rng):
    m = _mobile(rng)
    return f"wa.me/62{m}", "PHONE", "62" + m


def f_split_digits(rng):
    m = "0" + _mobile(rng)
    return " ".join(m), "PHONE", m


def f_full_width(rng):
    m = "0" + _mobile(rng)
    return _group(m, (4, 4, 4), "-").translate(FULL_WIDTH), "PHONE", m


def f_zero_width(rng):
    m = "0" + _mobile(rng)
    return ZW.join(m), "PHONE", m


def f_lookalike(rng):
    m = "0" + _mobile(rng)
    text = _group(m, (4, 4, 4), "-").replace("0", "O").replace("1", "l")
    return text, "PHONE", m


def f_spelled(rng):
    m = "0" + _mobile(rng)
    return " ".join(SPELLED[int(c)] for c in m), "PHONE", "SPELLED:" + " ".join(SPELLED[int(c)] for c in m[:6])


def f_landline(rng):
    m = "021" + _digits(rng, 8)
    return f"(021) {m[3:7]}-{m[7:]}", "PHONE", m


def f_email(rng):
    user = rng.choice(NAMES).lower() + "." + rng.choice(NAMES).lower() + _digits(rng, 2)
    return f"{user}@{rng.choice(['gmail.com', 'yahoo.co.id', 'mail.id'])}", "EMAIL", "EMAIL:" + user


def f_email_obfuscated(rng):
    user = rng.choice(NAMES).lower() + _digits(rng, 3)
    return f"{user} [at] gmail [dot] com", "EMAIL", "EMAIL:" + user


def f_nip(rng):
    d = f"19{rng.randrange(60, 99)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}20{rng.randrange(10, 24)}{rng.randrange(1, 13):02d}{rng.choice('12')}{_digits(rng, 3)}"
    return f"NIP {d}", "NIP", d


def f_employee(rng):
    code = rng.choice(["GT", "PTX", "ABC"]) + _digits(rng, 5)
    return f"no. karyawan {code}", "ID", "CODE:" + code


FORMATS = [f_nik_plain, f_nik_spaced, f_nik_dotted, f_kk_dashed, f_npwp_legacy, f_nitku, f_bpjs,
           f_kpj, f_phone_08, f_phone_plus62, f_phone_62, f_phone_paren, f_phone_trunk, f_wame,
           f_split_digits, f_full_width, f_zero_width, f_lookalike, f_spelled, f_landline,
           f_email, f_email_obfuscated, f_nip, f_employee]


@dataclass(frozen=True)
class Planted:
    text: str
    identifiers: tuple[tuple[str, str, str], ...]  # (format, type, secret)
    names: tuple[str, ...]


def planted_corpus(n_answers: int = 1100, seed: int = 7) -> list[Planted]:
    rng = random.Random(seed)
    out = []
    for i in range(n_answers):
        ids = []
        parts = [rng.choice(PREFIXES)]
        for j in range(2):
            fmt = FORMATS[(2 * i + j) % len(FORMATS)]
            text, kind, secret = fmt(rng)
            ids.append((fmt.__name__, kind, secret))
            parts.append(text)
            parts.append(rng.choice(["atau", "dan", ",", "juga"]))
        names = []
        if i % 2 == 0:
            name = rng.choice(NAMES)
            names.append(name)
            parts.append(f"{rng.choice(HONORIFICS)} {name} bilang begitu")
        parts.append(rng.choice(SUFFIXES))
        out.append(Planted(" ".join(parts), tuple(ids), tuple(names)))
    return out


CLEAN_TEMPLATES = [
    "Upah saya Rp {wage} per bulan, UMK {year} naik sedikit",
    "Gaji pokok Rp{wage}, lembur dibayar Rp {small} per jam",
    "Kontrak mulai {date} dan berakhir {date2}",
    "Saya kerja di line {line}, jalur {line2}, shift {shift}",
    "Lembur {hours} jam seminggu sejak {month} {year}",
    "Target {target} pcs per hari di line {line}, jam {time}",
    "Tanggal {date} jam {time} ada rapat di gedung {line}",
    "Potongan {pct}% dari upah, sekitar Rp {small}",
    "Kami {count} orang di bagian jahit, {women} perempuan",
    "THR tahun {year} dibayar Rp {wage} tanggal {date}",
    "PKWT {months} bulan, diperpanjang {times} kali sejak {year}",
    "Ruang laktasi di lantai {shift}, dekat line {line}",
    "Shift {shift}: {time}-{time2}, istirahat {hours} menit",
    "Upah {year} Rp {wage} dan {year2} Rp {wage2}",
    "Periode {date2} s/d {date2}, order PO {po}",
    "Tahun {year}, {year2} dan {year3} tidak ada kenaikan",
    "Pesangon Rp {big}, dibayar {date} jam {time}",
]


def _wage(rng):
    v = rng.randrange(1_500, 12_000) * 1000
    return f"{v:,}".replace(",", ".")


def clean_corpus(n: int = 1000, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    months = ["Januari", "Maret", "Juli", "Desember"]
    out = []
    for i in range(n):
        t = CLEAN_TEMPLATES[i % len(CLEAN_TEMPLATES)]
        out.append(t.format(
            wage=_wage(rng), small=f"{rng.randrange(10, 999)}.000", year=rng.randrange(2015, 2026),
            date=f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/{rng.randrange(2019, 2026)}",
            date2=f"{rng.randrange(1, 29)}-{rng.randrange(1, 13)}-{rng.randrange(2019, 2026)}",
            line=rng.randrange(1, 40), line2=rng.randrange(1, 12), shift=rng.randrange(1, 4),
            hours=rng.randrange(1, 30), month=rng.choice(months), target=rng.randrange(100, 2500),
            time=f"{rng.randrange(6, 23):02d}.{rng.choice(['00', '15', '30', '45'])}",
            pct=rng.randrange(1, 30), count=rng.randrange(5, 400), women=rng.randrange(1, 300),
            months=rng.randrange(3, 25), times=rng.randrange(1, 5), wage2=_wage(rng),
            time2=f"{rng.randrange(6, 23):02d}.00", year2=rng.randrange(2015, 2026),
            year3=rng.randrange(2015, 2026), po=rng.randrange(10_000_000, 99_999_999),
            big=f"{rng.randrange(10, 300)}.{rng.randrange(0, 999):03d}.000",
        ))
    return out
