"""A demo-like warehouse for tests that query it as an analyst would: the three real
instruments, synthetic submissions (suara.synth) carried through normalise → cast →
anonymise → load with the warehouse's public API, then the reporting zone refreshed.

Disclosure control is switched off for these loads. On a few hundred synthetic respondents
with many distinct quasi-identifier combinations, k-anonymity withholds almost every row
from analytics, and the SQL under test must return figures to be compared with
suara.indicators. Every other transformation (consent, coarsening, pseudonyms, scrubbing,
the restricted/analytics split) is the real one; k-anonymity has its own tests.
"""

from __future__ import annotations

from suara import synth
from suara.cast import cast_frame
from suara.forms import load_form_versions
from suara.normalise import normalise
from suara.privacy import PrivacyKeys, anonymise
from tests.conftest import FORMS_DIR
from tests.unit.suara.report.report_data import real_forms
from warehouse import LoadBatch, Warehouse

TEST_KEY = "test-only-restricted-key-0123456789abcdef"


def build(url: str, n: int = 300, seed: int = 3) -> Warehouse:
    forms = real_forms()
    wh = Warehouse(url, restricted_key=TEST_KEY)
    wh.upgrade({f.form_id: load_form_versions(f.form_id, FORMS_DIR) for f in forms})
    keys = PrivacyKeys(b"test-only-pseudonym-key-0123456789")
    for form in forms:
        # The version map a Kobo server gives (deployment uid → form version), so rows carry
        # the form version analysts join choice_labels on.
        norm = normalise({form.version: form}, form, synth.generate(form, n, seed=seed),
                         version_map={synth.version_uid(form): form.version})
        typed = {t: cast_frame(form, t, f)[0] for t, f in norm.frames.items()}
        release = anonymise(form, typed, keys, disclosure=False)
        loaded = {i: norm.uuids[i] for i in norm.ids if i not in release.withheld}
        wh.apply_batch(form, LoadBatch(run_id="demo", analytics=release.analytics,
                                       restricted=release.restricted, loaded=loaded,
                                       withheld={i: norm.uuids[i] for i in release.withheld}))
        # Every candidate row released: a decision that reads no column keeps them all.
        wh.release(form, {}, lambda frames: ({}, {}), run_id="demo")
    wh.refresh_reporting(list(forms))
    return wh
