"""Check and build forms: pyxform + ODK Validate + the project rules, then ``.xlsx`` and XForm.

``check_form`` converts one Form with pyxform's Python API (never its exit status, which is 0
even on failure; forms-content.md §6.3), runs the bundled ODK Validate, and adds the findings
of ``suara.forms.rules``. pyxform stops at its first error, so the project rules run too and
usually name more problems at once. pyxform's messages (``[row : 5] On the 'survey' sheet, …``)
are kept and placed: the row number is mapped back to the source line of the row it counts.

``build`` writes ``<form_id>.xlsx`` (the workbook Kobo receives) and ``<form_id>.xml`` (the
XForm pyxform made from the same sheets during the check) for forms that passed.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from suara.errors import ConfigurationError, FormDefinitionError
from suara.forms.model import Form, form_files, load_form
from suara.forms.rules import Finding, error, from_error, run_rules, warning
from suara.forms.sheets import write_xlsx

# Sheets pyxform reads from a dict; others (``suara_policy``) are the project's own.
PYXFORM_SHEETS = ("survey", "choices", "settings", "external_choices", "entities", "osm")
# The XForm's root element; the Form model's paths leave it out (kobo-api.md §6.1).
ROOT = "data"
_ROW = re.compile(r"^\[row : (\d+)\]")
_SHEET = re.compile(r"On the '([^']+)' sheet")
_VALIDATE_FIELD = re.compile(r"field '([^']+)'")
# ODK Validate output lines that are Java plumbing or temporary file names, not news.
_VALIDATE_NOISE = re.compile(
    r"^(ODK Validate Errors:|Something broke the parser|Caused by:|\.\.\. \d+ more|at "
    r"|The following files failed validation|\$\{tmp|Result: Invalid)"
)


@dataclass
class FormCheck:
    """The outcome of checking one form source."""

    source: str
    form: Form | None
    findings: list[Finding] = field(default_factory=list)
    xform: str | None = None       # pyxform's XForm when conversion succeeded
    itemsets: str | None = None    # external choices as CSV, when the form has any

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def notices(self) -> list[Finding]:
        """Facts worth knowing that are not problems (e.g. the committed demo key)."""
        return [f for f in self.findings if f.severity == "notice"]

    @property
    def ok(self) -> bool:
        return self.form is not None and self.xform is not None and not self.errors


@dataclass(frozen=True)
class BuiltForm:
    form_id: str
    version: str
    xlsx: Path
    xml: Path


# -- pyxform ----------------------------------------------------------------------------------


def _pyxform_input(form: Form) -> dict[str, list[dict[str, str]]]:
    data = form.sheets.to_dict()
    return {name: rows for name, rows in data.items() if name in PYXFORM_SHEETS}


def _place(form: Form, message: str) -> str:
    """The source place of a pyxform message's ``[row : N]`` (dict rows count from 2)."""
    m = _ROW.match(message)
    if not m:
        return form.source
    sheet_m = _SHEET.search(message)
    sheet = sheet_m.group(1) if sheet_m else "survey"
    rows = form.sheets.rows(sheet)
    index = int(m.group(1)) - 2
    return rows[index].where if 0 <= index < len(rows) else form.source


def _validate_findings(form: Form, text: str) -> list[Finding]:
    lines = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("> ")
        if line and not _VALIDATE_NOISE.match(line) and line not in lines:
            lines.append(line)
    message = " ".join(lines) or "the XForm was rejected"
    m = _VALIDATE_FIELD.search(message)
    where = form.field(m.group(1)).where if m and form.has_field(m.group(1)) else form.source
    return [error(
        "ODK_VALIDATE", where, f"ODK Validate: {message}",
        "Fix the expression or structure it names; KoboCollect would refuse to open this form.",
    )]


def convert(form: Form, *, validate: bool = True) -> tuple[str | None, str | None, list[Finding]]:
    """pyxform (+ ODK Validate) on one form: ``(xform, itemsets, findings)``.

    Errors become findings naming the place, never exceptions; only a machine without Java
    raises (a ConfigurationError, since no form could be validated there).
    """
    from pyxform.errors import PyXFormError
    from pyxform.validators.odk_validate import ODKValidateError

    try:
        # Not sort_keys: column order sets the XForm's attribute order, so it is part of the key.
        xform, itemsets, warnings = _pyxform(json.dumps(_pyxform_input(form)), validate)
    except PyXFormError as exc:
        message = str(exc).strip()
        return None, None, [error(
            "PYXFORM_999", _place(form, message), message,
            "Fix the row named; pyxform stops at the first error, so run the check again after.",
        )]
    except ODKValidateError as exc:
        return None, None, _validate_findings(form, str(exc))
    except OSError as exc:
        if "java" in str(exc).lower():
            raise ConfigurationError(
                "ODK Validate needs Java, which is not on this machine's PATH.",
                hint="Install a Java runtime (OpenJDK 17 works) and run the command again.",
            ) from None
        raise
    findings = [
        warning("PYXFORM_101", _place(form, w.strip()), w.strip(),
                "Review the warning; the form converts, but it may not show what you expect.")
        for w in warnings
    ]
    return xform, itemsets, findings


@functools.lru_cache(maxsize=16)
def _pyxform(sheets_json: str, validate: bool) -> tuple[str, str | None, tuple[str, ...]]:
    """One conversion per distinct content: ODK Validate starts a JVM (~0.4 s), and a deploy or a
    test run may check the same form more than once. Failures raise and are not cached."""
    from pyxform.xls2xform import convert as pyxform_convert

    warnings: list[str] = []
    result = pyxform_convert(json.loads(sheets_json), warnings=warnings, validate=validate,
                             pretty_print=True, form_name=ROOT)
    return result.xform, result.itemsets, tuple(warnings)


# -- check ------------------------------------------------------------------------------------


def check_form(form: Form, *, validate: bool = True) -> FormCheck:
    """Project rules plus pyxform/ODK Validate for one parsed form."""
    check = FormCheck(source=form.source, form=form, findings=run_rules(form))
    check.xform, check.itemsets, findings = convert(form, validate=validate)
    check.findings.extend(findings)
    return check


def check_sources(paths: Iterable[Path], *, validate: bool = True) -> list[FormCheck]:
    """Check each form file on its own: one unreadable file never hides the others' results."""
    checks: list[FormCheck] = []
    for path in paths:
        try:
            form = load_form(path)
        except FormDefinitionError as exc:
            checks.append(FormCheck(str(path), None, [from_error(exc, str(path))]))
            continue
        checks.append(check_form(form, validate=validate))
    first: dict[str, str] = {}
    for check in checks:
        if check.form is None:
            continue
        form_id = check.form.form_id
        if form_id in first:
            check.findings.append(error(
                "FORM_223", check.source, f"form_id '{form_id}' is also used by {first[form_id]}.",
                "Every form needs its own form_id; archive old versions under versions/<form_id>/.",
            ))
        else:
            first[form_id] = check.source
    return checks


def form_sources(forms_dir: Path, selectors: Iterable[str] = ()) -> list[Path]:
    """The files to check: every ``<form_id>.md`` in the folder, or the ones named by id or path."""
    selectors = list(selectors)
    if not selectors:
        return form_files(forms_dir)
    out = []
    for sel in selectors:
        path = Path(sel)
        if path.suffix in (".md", ".xlsx", ".xlsm") and path.exists():
            out.append(path)
            continue
        candidate = Path(forms_dir) / f"{sel}.md"
        if not candidate.exists():
            known = ", ".join(p.stem for p in form_files(forms_dir)) or "none"
            raise FormDefinitionError(
                f"no form '{sel}' in {forms_dir} (known: {known}).",
                code="FORM_224",
                hint="Name a form_id from that folder, a path to a .md/.xlsx file, or set SUARA_FORMS_DIR.",
            )
        out.append(candidate)
    return out


def summary(checks: list[FormCheck]) -> str:
    n_err = sum(len(c.errors) for c in checks)
    n_warn = sum(len(c.warnings) for c in checks)
    n_note = sum(len(c.notices) for c in checks)
    forms = "form" if len(checks) == 1 else "forms"
    return (f"{len(checks)} {forms}, {n_err} error{'s' * (n_err != 1)}, "
            f"{n_warn} warning{'s' * (n_warn != 1)}"
            + (f" ({n_note} notice{'s' * (n_note != 1)})" if n_note else ""))


# -- build ------------------------------------------------------------------------------------


def _replace(path: Path, write) -> None:
    """Write through a temporary file in the same folder so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build(checks: list[FormCheck], out_dir: Path) -> list[BuiltForm]:
    """Write ``<form_id>.xlsx`` and ``<form_id>.xml`` for checked forms; refuse if any failed."""
    failed = [c.source for c in checks if not c.ok]
    if failed:
        raise FormDefinitionError(
            f"refusing to build: {len(failed)} form(s) failed the check ({', '.join(failed)}).",
            code="FORM_225",
            hint="Run `suara forms check`, fix every error, then build again.",
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    built = []
    for check in checks:
        form = check.form
        assert form is not None and check.xform is not None  # guaranteed by check.ok
        xlsx, xml = out_dir / f"{form.form_id}.xlsx", out_dir / f"{form.form_id}.xml"
        _replace(xlsx, lambda p, f=form: write_xlsx(f.sheets, p))
        _replace(xml, lambda p, x=check.xform: p.write_text(x, encoding="utf-8"))
        if check.itemsets:
            itemsets = out_dir / f"{form.form_id}.itemsets.csv"
            _replace(itemsets, lambda p, t=check.itemsets: p.write_text(t, encoding="utf-8"))
        built.append(BuiltForm(form.form_id, form.version, xlsx, xml))
    return built


__all__ = [
    "BuiltForm", "FormCheck", "build", "check_form", "check_sources", "convert",
    "form_sources", "summary",
]
