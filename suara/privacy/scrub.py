"""Free-text scrubbing: identifiers in answers are replaced by tokens such as ``[NIK]``.

Rules (anonymisation.md §5): e-mail; URLs; Indonesian phones (+62 / 62 / 08, any separators,
``wa.me`` links, spelled-out digits); NIK/KK (16 digits), NPWP (15), NITKU (22), BPJS (13),
KPJ (11 with context), NIP (18); identifiers after a context word (``NIK:``, ``no. karyawan``);
the catch-all for any run of ten or more digits; and names, either after an honorific
(``Bu Siti`` → ``Bu [NAME]``, keeping role words such as ``pak mandor``) or known from the
same submission. Wages (``Rp 4.900.000``), dates and line numbers are left alone.

Text is normalised first (NFKC maps full-width digits, zero-width characters are removed,
look-alike letters inside digit runs are read as digits), so the output is the normalised
text with tokens in place of identifiers. Hit counts per type are returned, never the values.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

TOKEN_TYPES = ("EMAIL", "URL", "PHONE", "NIK", "NPWP", "NITKU", "BPJS", "KPJ", "NIP", "ID",
               "NUMBER", "NAME")

_ZERO_WIDTH = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"})
# Letters people type for digits, read as digits when they sit inside a digit run.
_LOOKALIKE_RUN = re.compile(r"(?<![A-Za-z])[0-9OoIl|][0-9OoIl| .\-]{7,}[0-9OoIl|](?![A-Za-z])")
_LOOKALIKE = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})

_NUMBER_WORDS = ("nol|kosong|satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|"
                 "zero|one|two|three|four|five|six|seven|eight|nine|oh")
_HONORIFICS = ("bu|ibu|pak|bapak|bpk|mbak|mba|mas|kak|kakak|bang|abang|teh|teteh|neng|kang|"
               "akang|dik|adik|dek|sdr|sdri|saudara|saudari|cik|koh|tante")
# Words after an honorific that name a role, not a person: analysts need the perpetrator's
# role ("pak mandor"), so these stay.
ROLE_WORDS = frozenset(str.split("""
    mandor supervisor spv leader ketua kepala manager manajer hrd hr personalia satpam security
    direktur owner bos boss atasan pengawas kabag kasie kasi asisten admin staf staff qc koordinator
    chief line operator teknisi mekanik sopir supir guru dokter bidan perawat polisi lurah camat
    bupati menteri presiden pengurus anggota wakil sekretaris bendahara pimpinan majikan general
    gm mgr dan atau yang itu ini juga saja sudah belum tidak bukan ada sering selalu pernah
    dengan dari ke di untuk kami kita saya dia mereka kalian anda
"""))

# Every branch starts at the beginning of a word or at a digit; the leading guard skips the
# other positions (inside words) cheaply, which halves the time per answer.
_PATTERN = re.compile(
    r"""
    (?:(?<![^\W\d_])|(?=\d))
    (?:
    (?P<EMAIL>(?<![\w+-])[\w+-]+(?:\s?\.\s?[\w+-]+)*\s*(?:@|\[at\]|\(at\))\s*[\w-]+(?:\s*(?:\.|\[dot\]|\(dot\))\s*[A-Za-z]{2,})+)
  | (?P<WAME>(?:https?://)?(?:wa\.me|api\.whatsapp\.com/send\?phone=)/?\+?\d[\d.\-]*(?:\s\d[\d.\-]*)*)
  | (?P<URL>https?://\S+|www\.\S+)
  | (?P<MONEY>(?:Rp|IDR)\.?\s?\d{1,3}(?:[.,]\d{3})+(?:,\d{1,2})?(?![\d.,]?\d))
  | (?P<DATE>(?<![\d.\-/])\d{1,2}(?P<date_sep>[/.\-])\d{1,2}(?P=date_sep)\d{2,4}(?![\s.\-/]{0,3}\d))
  | (?P<CONTEXT>\b(?P<ctx>NIK|NIP|KTP|KK|NPWP|KPJ|BPJS(?:\s?(?:TK|Kes|Kesehatan|Ketenagakerjaan))?|
        no\.?\s?(?:karyawan|pegawai|absen|badge|kartu|ktp|kk|peserta|induk|id)|
        ID\s?(?:card|karyawan)|nomor\s(?:karyawan|pegawai|induk|ktp|kk|peserta))
        \s?[:\#.=\-]?\s?(?:(?:saya|nya|adalah|yaitu|ialah|no\.?|nomor)\s?[:\#.\-]?\s?)?
        (?P<ctx_value>(?=[A-Z0-9./\-\s]*\d)[A-Z0-9](?:[A-Z0-9./\-]|\s(?=[A-Z0-9]*\d)){2,30}))
  | (?P<SPELLED>\b(?:"""
    + _NUMBER_WORDS
    + r""")(?:[\s,.\-]+(?:"""
    + _NUMBER_WORDS
    + r"""|\d)\b){6,})
  | (?P<DIGITS>(?<!\d)[+(]{0,2}\d(?:[\s.\-()/_*~+]{0,3}\d)*)
  | (?P<HONORIFIC>\b(?P<hon>"""
    + _HONORIFICS
    + r""")\.?\s+(?P<name>[^\W\d_][\w'\-]*(?-i:(?:\s+[A-Z][a-z'\-]+){0,2})))
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)


@dataclass
class ScrubResult:
    values: pd.Series
    hits: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.hits.values())


def normalise_text(text: str) -> str:
    """NFKC (full-width digits and @), dashes to '-', zero-width characters removed,
    look-alike letters inside digit runs read as digits."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text)).translate(_DASHES)
    text = text.translate(_other_digits())
    return _LOOKALIKE_RUN.sub(_read_lookalikes, text)


def _read_lookalikes(m: re.Match) -> str:
    run = m.group(0)
    digits = sum(ch.isdigit() for ch in run)
    if digits < 3 or digits + sum(ch in "OoIl|" for ch in run) < 8:
        return run  # a word such as "lOOl" or "Oil 10" stays as written
    return run.translate(_LOOKALIKE)


@lru_cache(maxsize=1)
def _other_digits() -> dict[int, str]:
    """Decimal digits of every script (Arabic-Indic, Devanagari, …) mapped to ASCII."""
    table = {}
    for start in (0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66,
                  0x0CE6, 0x0D66, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x17E0, 0x1810, 0x1946, 0x19D0,
                  0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0,
                  0xAA50, 0xFF10, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6):
        for i in range(10):
            ch = chr(start + i)
            if unicodedata.category(ch) == "Nd":
                table[ord(ch)] = str(unicodedata.digit(ch))
    return table


def classify_digits(digits: str, context: str = "") -> str | None:
    """The identifier type of a digit string (separators removed), or None when it is short
    enough to be a wage, a date or a line number."""
    n = len(digits)
    if (digits.startswith("628") and 11 <= n <= 15) or (digits.startswith("08") and 10 <= n <= 14):
        return "PHONE"
    if digits.startswith("0") and n >= 9 and digits[1] in "234567":
        return "PHONE"  # landline with area code, e.g. 022 1234567
    if n < 10:
        return None
    ctx = context.lower()
    if n == 16:
        return "NIK"
    if n == 15:
        return "NPWP"
    if n == 22:
        return "NITKU"
    if n == 18:
        return "NIP"
    if n == 13 and ("bpjs" in ctx or "kis" in ctx or "jkn" in ctx or digits.startswith("000")):
        return "BPJS"
    if n == 11 and ("kpj" in ctx or "jamsostek" in ctx or "bpjs" in ctx):
        return "KPJ"
    return "NUMBER"


def _context_type(keyword: str, value: str) -> str:
    k = keyword.lower()
    digits = re.sub(r"\D", "", value)
    words = re.findall(r"[a-z]+", k)
    if {"nik", "ktp", "kk"} & set(words) and len(digits) == 16:
        return "NIK"
    if k.startswith("npwp"):
        return "NPWP"
    if k.startswith("kpj") or "ketenagakerjaan" in k or k.endswith("tk"):
        return "KPJ"
    if k.startswith("bpjs"):
        return "BPJS"
    if k.startswith("nip"):
        return "NIP"
    return "ID"


def _replace(m: re.Match, hits: Counter) -> str:
    kind = m.lastgroup
    text = m.group(0)
    if kind in ("EMAIL", "URL"):
        hits[kind] += 1
        return f"[{kind}]"
    if kind == "WAME":
        hits["PHONE"] += 1
        return "[PHONE]"
    if kind in ("MONEY", "DATE") or kind is None:
        return text
    if kind == "CONTEXT":
        value = m.group("ctx_value")
        label = _context_type(m.group("ctx"), value)
        hits[label] += 1
        return text[: m.start("ctx_value") - m.start()] + f"[{label}]"
    if kind == "SPELLED":
        hits["PHONE"] += 1
        return "[PHONE]"
    if kind == "DIGITS":
        line_start = m.string.rfind("\n", 0, m.start()) + 1
        label = classify_digits(re.sub(r"\D", "", text), m.string[max(line_start, m.start() - 40): m.start()])
        if label is None:
            return text
        hits[label] += 1
        return f"[{label}]"
    if kind == "HONORIFIC":
        name = m.group("name").split()[0]
        if name.lower() in ROLE_WORDS:
            return text
        hits["NAME"] += 1
        return text[: m.start("name") - m.start()] + "[NAME]"
    return text


def scrub_text(text: str, hits: Counter | None = None, known: Iterable[str] = (),
               shared: re.Pattern | None = None) -> str:
    """Scrub one answer. ``known`` holds names (or other values) the same submission gave
    elsewhere; ``shared`` is a compiled :func:`known_pattern` for the whole batch. Both are
    removed wherever they appear, whole or by their words."""
    hits = Counter() if hits is None else hits
    text = normalise_text(text)
    for pattern in (shared, known_pattern(known)):
        if pattern is not None:
            text, n = pattern.subn("[NAME]", text)
            if n:
                hits["NAME"] += n
    return _PATTERN.sub(lambda m: _replace(m, hits), text)


def known_pattern(values: Iterable[str]) -> re.Pattern | None:
    """One pattern for known names and codes (and their words of three letters or more)."""
    return _known_pattern(tuple(sorted({str(v) for v in values if v})))


@lru_cache(maxsize=4096)
def _known_pattern(known: tuple[str, ...]) -> re.Pattern | None:
    terms: set[str] = set()
    for value in known:
        value = normalise_text(str(value)).strip()
        if len(value) >= 3:
            terms.add(value)
        terms.update(w for w in re.findall(r"[^\W\d_]{3,}", value))
    if not terms:
        return None
    alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)


def scrub_series(values: pd.Series, known: pd.Series | None = None,
                 shared: Iterable[str] = ()) -> ScrubResult:
    """Scrub a text column. ``known`` (same index) holds, per row, an iterable of values the
    submission gave in identifying fields; ``shared`` holds such values for every row (the
    whole batch's). Missing stays missing."""
    hits: Counter = Counter()
    out = values.astype("object").copy()
    present = values.notna()
    batch = known_pattern(shared)
    out[present] = [
        scrub_text(str(v), hits, (known.get(i) or ()) if known is not None else (), batch)
        for i, v in values[present].items()
    ]
    return ScrubResult(out.where(present, pd.NA), hits)


def residual_identifiers(values: Iterable[str]) -> Counter:
    """Count identifier-shaped strings still present (a scanner for loaded tables, G2)."""
    hits: Counter = Counter()
    for v in values:
        if isinstance(v, str) and v:
            scrub_text(v, hits)
    hits.pop("NAME", None)  # honorific names are scrubbed, but a scanner cannot know names
    return hits
