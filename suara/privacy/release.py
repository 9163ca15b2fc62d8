"""The k-anonymity decision over a whole table, for the warehouse's release step.

A sync no longer judges k-anonymity page by page: each page's analytics rows wait as
candidates, and after the pages the warehouse hands this decision the quasi-identifier (and
l-diversity) columns of every candidate row. What is released, suppressed or recoded is then
a function of the data alone — the same whether it arrived in one page or in 400 pages of
250 rows after a flaky network — and a row withheld while its class was small is released
once later submissions bring the class to k.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from suara.forms.model import Form
from suara.privacy.anonymise import disclosure_control
from suara.privacy.audit import PrivacyAudit
from suara.privacy.policy import policy_for


class ReleaseDecision:
    """Callable on ``{table: frame}`` (``_id`` plus :attr:`columns`), returning the released
    rows per table with their final values, and the audit (counts only).

    ``name`` maps the policy's table and column names to the warehouse's (its SQL names)."""

    def __init__(self, form: Form, key_version: str = "", name: Callable[[str], str] = str):
        self.policy = policy_for(form)
        self.key_version = key_version
        self._name = name
        self._tables = {name(t): t for t in self.policy.tables}
        self.columns: dict[str, list[str]] = {}
        self._back: dict[str, dict[str, str]] = {}
        for sql_table, table in self._tables.items():
            wanted = list(dict.fromkeys([*self.policy.quasi_identifiers(table), *self.policy.l_columns(table)]))
            if wanted:
                self.columns[sql_table] = [name(c) for c in wanted]
                self._back[sql_table] = {name(c): c for c in wanted}

    def __call__(self, frames: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], dict]:
        s = self.policy.settings
        audit = PrivacyAudit(self.policy.form.form_id, self.key_version, self.policy.domain, s.microdata)
        named = {self._tables[t]: f.rename(columns=self._back.get(t, {})) for t, f in frames.items()}
        disclosure_control(self.policy, named, audit)
        out = {}
        for sql_table, table in self._tables.items():
            if table in named:
                forth = {v: k for k, v in self._back.get(sql_table, {}).items()}
                out[sql_table] = named[table].rename(columns=forth)
        summary = audit.summary()
        return out, {
            "disclosure": {self._name(t): d.as_dict() for t, d in audit.disclosure.items()},
            "k_min_after": summary["k_min_after"], "max_risk_after": summary["max_risk_after"],
            "suppressed_cells": summary["suppressed_cells"], "rows_withheld_by_k": summary["rows_withheld_by_k"],
        }
