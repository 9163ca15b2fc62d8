"""The free-text scrubber: each rule, the red-team corpus (G3), and precision on clean text."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suara.privacy.scrub import normalise_text, residual_identifiers, scrub_series, scrub_text
from tests.unit.suara.privacy.redteam import FORMATS, clean_corpus, planted_corpus


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("hubungi 0812-3456-7890 ya", "[PHONE]"),
        ("WA +62 812 3456 7890", "[PHONE]"),
        ("nomor (+62) 813.1234.5678", "[PHONE]"),
        ("NIK 3201011234560001", "[NIK]"),
        ("320101 123456 0001", "[NIK]"),
        ("NPWP 12.345.678.9-012.345", "[NPWP]"),
        ("BPJS 0001234567890", "[BPJS]"),
        ("KPJ 12345678901", "[KPJ]"),
        ("surel budi.s@gmail.com", "[EMAIL]"),
        ("no. karyawan GT12345", "[ID]"),
        ("wa.me/6281234567890", "[PHONE]"),
        ("nomor KTP: 32.01.01.120590.0001", "[NIK]"),
        ("Telp. (022) 7301234", "[PHONE]"),
        ("SITI.AMINAH @ GMAIL . COM", "[EMAIL]"),
        ("BPJS Kes 000 1234 5678 90", "[BPJS]"),
        ("nol delapan satu dua tiga empat lima enam tujuh", "[PHONE]"),
    ],
)
def test_each_identifier_format_becomes_its_token(text, token):
    out = scrub_text(text)
    assert token in out
    assert not re.search(r"\d{4}", out)


def test_full_width_and_zero_width_digits_are_read_as_digits():
    planted = "０８１２\u200b３４５６\u200b７８９０"
    hits = Counter()
    assert scrub_text(f"hp {planted}", hits) == "hp [PHONE]"
    assert hits == {"PHONE": 1}


def test_honorific_names_go_but_roles_stay():
    out = scrub_text("Pak Budi Santoso dan pak mandor, lalu bu supervisor dan Mbak siti")
    assert "Budi" not in out and "Santoso" not in out and "siti" not in out
    assert "pak mandor" in out and "bu supervisor" in out
    assert out.count("[NAME]") == 2


def test_names_the_submission_gave_elsewhere_are_removed():
    values = pd.Series(["Saya dan Aminah dari line 3", "tidak ada", None])
    known = pd.Series([("Siti Aminah",), (), ()])
    result = scrub_series(values, known)
    assert result.values.tolist()[:2] == ["Saya dan [NAME] dari line 3", "tidak ada"]
    assert result.values.isna().tolist() == [False, False, True]
    assert result.hits == {"NAME": 1}


def test_wages_dates_and_line_numbers_are_left_alone():
    text = "Upah Rp 4.900.000, UMK 2024, tanggal 12/03/2024 jam 07.30 di line 12 jalur 7"
    assert scrub_text(text) == text


def test_redteam_corpus_has_no_survivors(capsys):
    corpus = planted_corpus()
    planted = sum(len(p.identifiers) for p in corpus)
    formats = {f for p in corpus for f, _, _ in p.identifiers}
    assert planted >= 2000 and len(formats) >= 10 and len(corpus) >= 1000
    survivors: Counter = Counter()
    per_type: Counter = Counter()
    leaked_type: Counter = Counter()
    names_total = names_caught = 0
    for p in corpus:
        out = scrub_text(p.text)
        digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", out))
        for fmt, kind, secret in p.identifiers:
            per_type[kind] += 1
            marker, _, value = secret.partition(":")
            leaked = value in out if value else (secret in digits)
            survivors[fmt] += leaked
            leaked_type[kind] += leaked
        # The sentences around identifiers carry no digits: any digit left is a leak.
        if digits:
            survivors["digits left"] += 1
        for name in p.names:
            names_total += 1
            names_caught += not re.search(rf"\b{name}\b", out)
    recall_names = names_caught / names_total
    with capsys.disabled():
        print(f"\nred team: {planted} identifiers in {len(formats)} formats, "
              f"{len(corpus)} answers; survivors {sum(survivors.values())}; honorific-name "
              f"recall {recall_names:.1%}; recall per type: "
              + ", ".join(f"{k} {1 - leaked_type[k] / n:.0%} of {n}" for k, n in sorted(per_type.items())))
    assert sum(survivors.values()) == 0, {k: v for k, v in survivors.items() if v}
    assert recall_names >= 0.95


def test_every_format_in_the_generator_is_planted():
    corpus = planted_corpus()
    assert {f for p in corpus for f, _, _ in p.identifiers} == {f.__name__ for f in FORMATS}


def test_clean_corpus_precision(capsys):
    corpus = clean_corpus()
    changed = [t for t in corpus if scrub_text(t) != normalise_text(t)]
    share = len(changed) / len(corpus)
    with capsys.disabled():
        print(f"\nclean corpus: {len(corpus)} answers with wages/dates/line numbers; "
              f"altered {len(changed)} ({share:.2%}); precision {1 - share:.2%}")
    assert share <= 0.02, changed[:5]


def test_residual_scanner_finds_identifiers_but_not_tokens():
    assert residual_identifiers(["[PHONE] dan [NIK]", "Rp 4.900.000"]) == Counter()
    assert residual_identifiers(["hp 081234567890"]) == Counter({"PHONE": 1})


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_scrubbing_is_idempotent(text):
    once = scrub_text(text)
    assert scrub_text(once) == once


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"0?8[1-35-9][0-9]{8,10}", fullmatch=True),
       st.sampled_from([" ", "-", ".", "", " - "]), st.sampled_from(["", "hp ", "nomor saya ", "HP", "wa:", "telp.", "no.hp="]))
def test_any_indonesian_mobile_number_is_removed(number, sep, prefix):
    mobile = number if number.startswith("0") else "0" + number
    text = prefix + sep.join(mobile[i:i + 4] for i in range(0, len(mobile), 4))
    assert not re.search(r"\d", scrub_text(text))
