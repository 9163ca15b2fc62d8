"""The project's own rules for a form, beyond what pyxform and ODK Validate enforce.

Each rule is a function ``rule(form) -> list[Finding]`` listed once in ``RULES``; ``run_rules``
runs them all. Rules read the parsed ``Form`` (and, for column-level checks, the sheets it was
parsed from) and never repeat form content: the only constants here are project conventions
(the two languages, the name patterns, the privacy classes' meaning).

Where the rules come from: shared/forms-content.md §2.1 (languages, names, settings), §2.2
(identifier classes), §2.3 and §6.5 (confidential-form safeguards) and §6.3 (what pyxform lets
through silently: a missing translation, a default language that matches no column, a plain
``label`` beside translated ones, duplicate names that are never referenced).

Confidential forms. A form is *confidential* unless its ``suara_policy`` sheet says
``microdata = release``. That follows the privacy policy's own default (microdata stays
restricted unless released) and fails closed: deleting the policy row of the harassment form
makes its checks stricter, never looser. Confidential forms must be encrypted (``public_key``),
capture no location, image, sound, video or file, never reuse ``last-saved`` values (kept
unencrypted on the device), keep the audit log free of parameters (``track-changes`` would copy
old and new answers into it), and ask no free text of the respondent (a ``text`` row must be
constrained with ``regex()``, like the enumerator code).

Messages name the place (``Field.where`` / ``Row.where``), say what to do, and quote form
structure only (names, columns, types): never an answer.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from suara.errors import SuaraError
from suara.forms.model import GEO_TYPES, MEDIA_TYPES, PII_CLASSES, Field, Form
from suara.forms.sheets import Row

PROJECT_LANGUAGES = ("English (en)", "Indonesian (id)")
# Columns whose text must exist in every language once it exists in one. Media columns are
# left out on purpose: audio prompts exist in Indonesian only (forms-content.md §4.1).
PAIRED_COLUMNS = ("label", "hint", "constraint_message", "required_message", "guidance_hint")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_MAX = 32
CHOICE_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")
VERSION_RE = re.compile(r"^\d{10}$")
# Class D (direct identifier) is allowed only for staff/account identifiers that the privacy
# policy pseudonymises or drops (forms-content.md §2.2, §6.5 rule 5).
D_METADATA = {"username", "email", "phonenumber"}
D_VALUE_TYPES = {"text", "calculate", "hidden"}
D_RULES = {"pseudonym", "drop"}
# Types a confidential form must not contain (forms-content.md §2.3, §6.5 rule 6).
CONFIDENTIAL_FORBIDDEN = (GEO_TYPES | MEDIA_TYPES | {"background-audio"}) - {"audit"}
_REF = re.compile(r"\$\{([^}]*)\}")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_WORD = re.compile(r"(?<![\w:/@$.-])([A-Za-z_][\w.-]*(?::[\w.-]+)?)(?![\w.-])")
_XPATH_WORDS = {"and", "or", "div", "mod", "true", "false", "current", "instance", "label"}


@dataclass(frozen=True)
class Finding:
    """One finding in a form. ``severity`` is ``error`` (blocks build/deploy), ``warning``, or
    ``notice`` (a fact to know, not a problem: e.g. the committed demo key)."""

    severity: str
    code: str
    where: str
    message: str
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        text = f"{self.severity} [{self.code}] {self.where}: {self.message}"
        return text + (f"\n  → {self.hint}" if self.hint else "")


def error(code: str, where: str, message: str, hint: str = "") -> Finding:
    return Finding("error", code, where, message, hint)


def warning(code: str, where: str, message: str, hint: str = "") -> Finding:
    return Finding("warning", code, where, message, hint)


def from_error(exc: SuaraError, source: str) -> Finding:
    """An error finding from a SuaraError whose message may start with its place
    (``"<source> line 4 (survey): …"``, as the Form model and the privacy policy write them)."""
    where, sep, message = exc.message.partition(": ")
    if not (sep and where.startswith(source)):
        where, message = source, exc.message
    return error(exc.code, where, message, exc.hint or "")


Rule = Callable[[Form], list[Finding]]


# -- helpers ----------------------------------------------------------------------------------


def _rows(form: Form, *sheets: str) -> Iterator[Row]:
    for sheet in sheets:
        yield from form.sheets.rows(sheet) if form.sheets else ()


def _header_where(form: Form, sheet: str) -> str:
    return f"{form.source}, '{sheet}' sheet header"


def _sheet_fields(form: Form) -> list[Field]:
    """Fields written in the sheet (not the ones pyxform adds, like a repeat's ``_count``)."""
    return [f for f in form.fields if not f.generated]


def is_confidential(form: Form) -> bool:
    """True unless the form's policy releases microdata (see the module docstring)."""
    return form.policy.get("microdata", "").strip().lower() != "release"


def references(text: str) -> list[str]:
    """Field names referenced as ``${name}`` (``${last-saved#name}`` gives ``name``)."""
    return [ref.split("#")[-1].strip() for ref in _REF.findall(text or "")]


def filter_columns(choice_filter: str) -> set[str]:
    """Choice-sheet columns a ``choice_filter`` reads: bare names that are neither references,
    strings, function names, XPath operators nor ``label``."""
    text = _REF.sub(" ", _STRING.sub(" ", choice_filter))
    out = set()
    for m in _WORD.finditer(text):
        word = m.group(1)
        after = text[m.end():].lstrip()
        if after.startswith("(") or word in _XPATH_WORDS or word.startswith("label::"):
            continue
        out.add(word)
    return out


# -- rules ------------------------------------------------------------------------------------


def rule_languages(form: Form) -> list[Finding]:
    """Both project languages exist, and every translated text exists in every language."""
    out = []
    missing = [lang for lang in PROJECT_LANGUAGES if lang not in form.languages]
    if missing:
        out.append(error(
            "FORM_201", form.source,
            f"the form has no columns for {', '.join(repr(m) for m in missing)}.",
            "Add 'label::English (en)' and 'label::Indonesian (id)' (and the same suffixes on "
            "hint, constraint_message, required_message) to the survey and choices sheets.",
        ))
    # Rows are compared across the languages the form has: a language missing everywhere is
    # one finding above, not one per row.
    languages = form.languages
    for row in _rows(form, "survey", "choices"):
        for base in PAIRED_COLUMNS:
            present = [lang for lang in languages if row.get(f"{base}::{lang}")]
            absent = [lang for lang in languages if lang not in present]
            if present and absent:
                out.append(error(
                    "FORM_202", row.where,
                    f"'{base}' has {', '.join(present)} text but none in {', '.join(absent)}.",
                    f"Fill '{base}::{absent[0]}' on this row (the other language would show "
                    "blank or '-' on the device).",
                ))
    return out


def rule_plain_columns(form: Form) -> list[Finding]:
    """No untranslated ``label``/``hint``… column (pyxform turns it into a 'default' language)."""
    out = []
    for sheet in ("survey", "choices"):
        for col in form.sheets.headers.get(sheet, []) if form.sheets else ():
            if col in PAIRED_COLUMNS:
                out.append(error(
                    "FORM_203", _header_where(form, sheet),
                    f"plain '{col}' column; pyxform would add a third language 'default'.",
                    f"Move its text into '{col}::English (en)' / '{col}::Indonesian (id)' "
                    "and delete the plain column.",
                ))
    return out


def rule_default_language(form: Form) -> list[Finding]:
    if form.default_language and form.default_language in form.languages:
        return []
    if not form.default_language:
        message = "settings has no default_language."
    else:
        message = (f"default_language '{form.default_language}' matches no language column "
                   f"(columns use {', '.join(repr(lang) for lang in form.languages) or 'none'}).")
    return [error(
        "FORM_204", f"{form.source}, settings", message,
        "Set default_language to the column suffix exactly, e.g. 'Indonesian (id)'.",
    )]


def rule_names(form: Form) -> list[Finding]:
    """Names are lower-case ASCII, at most 32 characters, and unique across the whole form."""
    out = []
    seen: dict[str, str] = {}
    named = [(g.name, g.where) for g in form.groups] + [(f.name, f.where) for f in _sheet_fields(form)]
    for name, where in named:
        if not NAME_RE.match(name) or len(name) > NAME_MAX:
            out.append(error(
                "FORM_205", where,
                f"name '{name}' is not a lower-case ASCII name of at most {NAME_MAX} characters.",
                "Use letters a-z, digits and '_', starting with a letter, e.g. 'e_sx_touch'.",
            ))
        if name in seen:
            out.append(error(
                "FORM_206", where, f"name '{name}' is already used at {seen[name]}.",
                "Give every row a name unique in the whole form: exports drop group prefixes, "
                "so two fields with one name would land in one column.",
            ))
        else:
            seen[name] = where
    return out


def rule_choice_names(form: Form) -> list[Finding]:
    out = []
    for clist in form.choice_lists.values():
        for choice in clist.choices:
            if not CHOICE_NAME_RE.match(choice.name or ""):
                out.append(error(
                    "FORM_207", choice.where,
                    f"choice name '{choice.name}' in list '{clist.name}' is not a short ASCII code.",
                    "Use letters, digits and '_' only (e.g. 'dont_know'); the label carries the text.",
                ))
    return out


def rule_pii_class(form: Form) -> list[Finding]:
    """Every field is classified with a known class; a class on a group must be known too."""
    out = []
    allowed = ", ".join(PII_CLASSES)
    for f in _sheet_fields(form):
        if f.pii_class is None:
            out.append(error(
                "FORM_208", f.where, f"field '{f.name}' has no pii_class.",
                f"Put one of {allowed} in its pii_class cell (forms-content.md §2.2); an "
                "unclassified field is treated as a direct identifier.",
            ))
    for item in [*_sheet_fields(form), *form.groups]:
        if item.pii_class is not None and item.pii_class not in PII_CLASSES:
            out.append(error(
                "FORM_209", item.where, f"'{item.name}' has an unknown pii_class '{item.pii_class}'.",
                f"Use one of {allowed}.",
            ))
    return out


def rule_direct_identifiers(form: Form) -> list[Finding]:
    """Class D is for staff and account identifiers that are pseudonymised or dropped, never for
    something the respondent says about themself."""
    out = []
    for f in _sheet_fields(form):
        if f.pii_class != "D":
            continue
        if f.type in D_METADATA:
            continue
        if f.type in D_VALUE_TYPES and f.pii_rule.strip() in D_RULES:
            continue
        out.append(error(
            "FORM_210", f.where,
            f"field '{f.name}' ({f.type}) is class D: direct identifiers of respondents are "
            "never collected.",
            "Class D is only for staff/account codes: a text, calculate or hidden field with "
            "pii_rule 'pseudonym' or 'drop', or username/email/phonenumber metadata. "
            "Remove the question or reclassify it.",
        ))
    return out


def rule_version(form: Form) -> list[Finding]:
    version = form.version
    valid = bool(VERSION_RE.match(version))
    if valid:
        try:
            datetime.strptime(version[:8], "%Y%m%d")
        except ValueError:
            valid = False
    if valid:
        return []
    return [error(
        "FORM_211", f"{form.source}, settings",
        f"version '{version}' is not a yyyymmddrr stamp." if version else "settings has no version.",
        "Set version to the date of the change plus a two-digit revision, e.g. 2026112801, "
        "and bump it on every change.",
    )]


def rule_confidential(form: Form) -> list[Finding]:
    """Safeguards of confidential forms (see the module docstring)."""
    if not is_confidential(form):
        return []
    out = []
    why = "this form is confidential (its suara_policy does not say microdata = release)"
    if not form.encrypted:
        out.append(error(
            "FORM_212", f"{form.source}, settings", f"{why} but has no public_key.",
            "Add the project's RSA public key to settings.public_key (and submission_url) so "
            "submissions are encrypted on the device.",
        ))
    for f in _sheet_fields(form):
        if f.type in CONFIDENTIAL_FORBIDDEN:
            out.append(error(
                "FORM_213", f.where, f"'{f.name}' is a {f.type} question; {why}.",
                "Remove it: confidential forms capture no location, photo, sound, video or file.",
            ))
        if f.type == "audit" and f.parameters:
            out.append(error(
                "FORM_214", f.where, f"the audit row has parameters; {why}.",
                "Clear the parameters cell: track-changes would copy old and new answers into "
                "the audit log, and location parameters would record where people were.",
            ))
        if f.type == "text" and "regex(" not in f.constraint.replace(" ", ""):
            out.append(error(
                "FORM_215", f.where, f"'{f.name}' is a free-text question; {why}.",
                "Ask with choices instead, or constrain the code with regex(), as for enum_code.",
            ))
    for row in _rows(form, *(form.sheets.sheets if form.sheets else ())):
        cols = [c for c, v in row.cells.items() if "last-saved" in v]
        if cols:
            out.append(error(
                "FORM_216", row.where, f"'{cols[0]}' uses last-saved; {why}.",
                "Remove the last-saved reference: the values it reuses stay unencrypted on the device.",
            ))
    return out


def rule_references(form: Form) -> list[Finding]:
    """Every ``${name}`` on the survey and choices sheets names a field or group of the form."""
    known = {f.name for f in form.fields} | {g.name for g in form.groups}
    out = []
    for row in _rows(form, "survey", "choices"):
        for col, value in row.cells.items():
            for ref in references(value):
                if ref not in known:
                    out.append(error(
                        "FORM_217", row.where, f"'{col}' refers to ${{{ref}}}, which is not in the form.",
                        "Fix the spelling or add the field; names are case-sensitive.",
                    ))
    return out


def rule_select_lists(form: Form) -> list[Finding]:
    out = []
    for f in _sheet_fields(form):
        if f.is_select and "from_file" not in f.type and f.list_name not in form.choice_lists:
            out.append(error(
                "FORM_218", f.where, f"'{f.name}' uses choice list '{f.list_name}', which the choices sheet lacks.",
                f"Add rows with list_name '{f.list_name}' to the choices sheet, or fix the list name.",
            ))
    return out


def rule_choice_filters(form: Form) -> list[Finding]:
    """A choice_filter reads only columns that the filtered list fills."""
    out = []
    for f in _sheet_fields(form):
        clist = form.choices(f)
        if not f.choice_filter or clist is None:
            continue
        columns = {"name"} | {k for c in clist.choices for k in c.extra}
        for col in sorted(filter_columns(f.choice_filter) - columns):
            out.append(error(
                "FORM_219", f.where,
                f"the choice_filter of '{f.name}' reads column '{col}', which list '{clist.name}' does not fill.",
                f"Add a '{col}' column to the choices of '{clist.name}', or fix the filter.",
            ))
    return out


def _optional(form: Form, module: str, attribute: str) -> tuple[Callable | None, list[Finding]]:
    """A function from a module another engineer delivers: (None, []) when the module is absent,
    (None, [warning]) when it is present but fails to import, so the check is never silently
    skipped because of a broken module."""
    try:
        return getattr(importlib.import_module(module), attribute), []
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None, []
        problem = exc
    except (ImportError, AttributeError) as exc:
        problem = exc
    return None, [warning(
        "FORM_222", form.source,
        f"{module}.{attribute} could not be loaded ({type(problem).__name__}), so its check was skipped.",
        f"Fix the import of {module} (run: python -c 'import {module}').",
    )]


def rule_xpath_supported(form: Form) -> list[Finding]:
    """Refuse expressions the validation engine's XPath evaluator cannot run (suara.xpath):
    relevant, constraint, calculation, choice_filter and repeat_count, as validation uses them."""
    unevaluable, out = _optional(form, "suara.xpath", "unevaluable")
    if unevaluable is None:
        return out
    for item in unevaluable(form):
        out.append(error(
            "FORM_220", item.where, f"the {item.column} of '{item.name}' cannot be evaluated by the pipeline: {item.message}",
            "Rewrite it with the functions suara.xpath supports, or extend suara.xpath; "
            "otherwise validation could not check these submissions.",
        ))
    return out


def rule_privacy_policy(form: Form) -> list[Finding]:
    """The privacy policy can be derived (it validates pii_rule values and suara_policy keys)."""
    policy_for, out = _optional(form, "suara.privacy", "policy_for")
    if policy_for is None:
        return out
    try:
        policy_for(form)
    except SuaraError as exc:
        return [from_error(exc, form.source)]
    return []


def rule_encryption(form: Form) -> list[Finding]:
    """The public key parses and the encryption settings around it hold (suara.crypto)."""
    encryption_findings, out = _optional(form, "suara.crypto.form_rules", "encryption_findings")
    if encryption_findings is None:
        return out
    return [Finding(f.severity, f.code, f.where, f.message, f.hint) for f in encryption_findings(form)]


_PULLDATA = re.compile(r"pulldata\(\s*'([^']+)'\s*,\s*'([^']+)'\s*,\s*'([^']+)'")


def rule_media_files(form: Form) -> list[Finding]:
    """CSV files the form reads (``pulldata``, ``select_*_from_file``) sit beside its source and
    have the columns it reads; Kobo needs them uploaded with the form."""
    folder = Path(form.source).parent
    if not Path(form.source).is_file():
        return []  # an in-memory form: nothing to look beside
    out = []
    for f in _sheet_fields(form):
        wanted: list[tuple[str, tuple[str, ...]]] = []
        for text in (f.calculation, f.relevant, f.constraint, f.default):
            wanted += [(f"{name}.csv", (col, key)) for name, col, key in _PULLDATA.findall(text or "")]
        if "from_file" in f.type and f.list_name:
            wanted.append((f.list_name, ()))
        for file_name, columns in wanted:
            path = folder / file_name
            if not path.is_file():
                out.append(error(
                    "FORM_226", f.where, f"'{f.name}' reads {file_name}, which is not beside the form.",
                    f"Add {path} (it is uploaded to Kobo as a form media file).",
                ))
                continue
            header = path.read_text(encoding="utf-8").partition("\n")[0].strip().split(",")
            for col in columns:
                if col not in header:
                    out.append(error(
                        "FORM_227", f.where, f"'{f.name}' reads column '{col}' of {file_name}, which has no such column.",
                        f"Add a '{col}' column to {path}, or fix the expression.",
                    ))
    return out


def rule_file_name(form: Form) -> list[Finding]:
    """A markdown source is named ``<form_id>.md``: versions and deploys find it by that name."""
    path = Path(form.source)
    if path.suffix != ".md" or path.stem == form.form_id:
        return []
    return [error(
        "FORM_221", form.source, f"the file is named '{path.name}' but its form_id is '{form.form_id}'.",
        f"Rename the file to '{form.form_id}.md' (or fix form_id in settings).",
    )]


RULES: list[Rule] = [
    rule_languages,
    rule_plain_columns,
    rule_default_language,
    rule_names,
    rule_choice_names,
    rule_pii_class,
    rule_direct_identifiers,
    rule_version,
    rule_confidential,
    rule_references,
    rule_select_lists,
    rule_choice_filters,
    rule_xpath_supported,
    rule_privacy_policy,
    rule_encryption,
    rule_media_files,
    rule_file_name,
]


def run_rules(form: Form, rules: list[Rule] | None = None) -> list[Finding]:
    """All findings of the project rules for one form, in rule order."""
    return [finding for rule in (RULES if rules is None else rules) for finding in rule(form)]
