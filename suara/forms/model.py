"""The Form model: one parsed XLSForm, the single source every later stage derives from.

Tables, expectations, the privacy policy, synthetic data and the data dictionary are all
computed from a ``Form``. It is immutable and fully typed.

Paths follow Kobo's submission keys (kobo-api.md §6.1): the question path without the root
element, ``/``-separated, groups included (``grp_site/enum_code``); metadata keep their bare
names (``start``), and ``audit`` lives at ``meta/audit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from suara.errors import FormDefinitionError
from suara.forms.sheets import Row, Sheets, read_sheets

# Question types that never produce a value in a submission.
NO_VALUE_TYPES = {"note"}
# Metadata types (pyxform's preload and special types).
METADATA_TYPES = {
    "start", "end", "today", "deviceid", "username", "simserial", "subscriberid",
    "phonenumber", "email", "audit", "start-geopoint", "background-audio", "background-geopoint",
}
SELECT_TYPES = {"select_one", "select_multiple", "select_one_from_file", "select_multiple_from_file", "rank"}
MEDIA_TYPES = {"image", "audio", "video", "file", "background-audio", "audit"}
GEO_TYPES = {"geopoint", "geotrace", "geoshape", "start-geopoint", "background-geopoint"}
TRANSLATABLE = ("label", "hint", "constraint_message", "required_message", "guidance_hint",
                "image", "audio", "video", "media::image", "media::audio", "media::video")
PII_CLASSES = ("D", "O", "Q", "S", "M", "-")

_TRANSLATABLE_BASES = {b.split("::")[-1] for b in TRANSLATABLE}
_TYPE_ALIASES = {
    "begin group": "begin_group", "end group": "end_group",
    "begin repeat": "begin_repeat", "end repeat": "end_repeat",
    "datetime": "dateTime", "select one": "select_one", "select multiple": "select_multiple",
}
# Greedy base, so "media::audio::Javanese (jv)" reads as base "media::audio", language "Javanese (jv)".
_LANG_COL = re.compile(r"^(?P<base>[a-z_:]+)::(?P<lang>[^:].*)$")


def _yes(value: str) -> bool:
    return value.strip().lower() in {"yes", "true", "true()", "1"}


@dataclass(frozen=True)
class Choice:
    name: str
    labels: dict[str, str]
    extra: dict[str, str]  # non-label columns, e.g. the cascade column `prov` of list `dist`
    where: str = ""


@dataclass(frozen=True)
class ChoiceList:
    name: str
    choices: tuple[Choice, ...]

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.choices)

    def get(self, name: str) -> Choice | None:
        return next((c for c in self.choices if c.name == name), None)


@dataclass(frozen=True)
class Group:
    name: str
    path: str
    kind: str  # "group" | "repeat"
    labels: dict[str, str]
    relevant: str
    repeat_count: str
    appearance: str
    pii_class: str | None
    where: str
    parent_repeat: str | None  # path of the enclosing repeat, None at top level

    @property
    def is_repeat(self) -> bool:
        return self.kind == "repeat"


@dataclass(frozen=True)
class Field:
    """One survey row that is not a group boundary."""

    name: str
    type: str                 # base type: "select_one", "integer", "calculate", "start", …
    list_name: str | None     # choice list for selects
    path: str                 # Kobo key: "grp_site/enum_code"; "meta/audit" for audit
    labels: dict[str, str]
    hints: dict[str, str]
    required: bool
    required_message: dict[str, str]
    relevant: str             # the field's own relevant, not its groups'
    constraint: str
    constraint_message: dict[str, str]
    calculation: str
    choice_filter: str
    appearance: str
    parameters: str
    default: str
    pii_class: str | None     # None when the row has no class (treated as D: fail closed)
    pii_rule: str             # optional declared treatment, e.g. "month", "band:0,500,1000,3000"
    groups: tuple[str, ...]   # names of enclosing groups and repeats, outermost first
    repeat: str | None        # path of the innermost enclosing repeat, None at submission level
    where: str
    raw: dict[str, str] = field(repr=False, default_factory=dict)
    generated: bool = False   # added by pyxform (e.g. a repeat's `<name>_count`), not in the sheet

    @property
    def is_select(self) -> bool:
        return self.type in SELECT_TYPES

    @property
    def is_multiple(self) -> bool:
        return self.type in {"select_multiple", "select_multiple_from_file", "rank"}

    @property
    def is_metadata(self) -> bool:
        return self.type in METADATA_TYPES

    @property
    def has_value(self) -> bool:
        """True when submissions can carry an answer for this field."""
        return self.type not in NO_VALUE_TYPES

    @property
    def effective_class(self) -> str:
        """The privacy class, failing closed: no class means direct identifier."""
        return self.pii_class or "D"


@dataclass(frozen=True)
class Form:
    form_id: str
    title: str
    version: str
    default_language: str
    languages: tuple[str, ...]
    settings: dict[str, str]
    fields: tuple[Field, ...]
    groups: tuple[Group, ...]
    choice_lists: dict[str, ChoiceList]
    policy: dict[str, str]        # the optional `suara_policy` sheet: key → value
    source: str
    sheets: Sheets = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    # -- lookups ---------------------------------------------------------------------------

    @cached_property
    def _by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def _by_path(self) -> dict[str, Field]:
        return {f.path: f for f in self.fields}

    def field(self, name: str) -> Field:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"form {self.form_id} has no field {name!r}") from None

    def has_field(self, name: str) -> bool:
        return name in self._by_name

    def field_at(self, path: str) -> Field | None:
        return self._by_path.get(path)

    @cached_property
    def repeats(self) -> tuple[Group, ...]:
        return tuple(g for g in self.groups if g.is_repeat)

    def group(self, name: str) -> Group:
        return next(g for g in self.groups if g.name == name)

    def value_fields(self, repeat: str | None = None) -> tuple[Field, ...]:
        """Fields that carry values at one level: the submission (None) or a repeat path."""
        return tuple(f for f in self.fields if f.has_value and f.repeat == repeat)

    def choices(self, field: Field) -> ChoiceList | None:
        return self.choice_lists.get(field.list_name) if field.list_name else None

    def relevant_chain(self, field: Field) -> tuple[str, ...]:
        """The field's own relevant plus those of its enclosing groups, outermost first."""
        chain = [g.relevant for g in self.groups if g.name in field.groups and g.relevant]
        if field.relevant:
            chain.append(field.relevant)
        return tuple(chain)

    @property
    def encrypted(self) -> bool:
        return bool(self.settings.get("public_key"))


# -- parsing ----------------------------------------------------------------------------------


def _translations(row: Row, base: str, languages: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for lang in languages:
        v = row.get(f"{base}::{lang}")
        if v:
            out[lang] = v
    if not out and row.get(base):
        out["default"] = row.get(base)
    return out


def _languages(sheets: Sheets) -> tuple[str, ...]:
    langs: list[str] = []
    for sheet in ("survey", "choices"):
        for col in sheets.headers.get(sheet, []):
            m = _LANG_COL.match(col)
            translatable = m and m.group("base").split("::")[-1] in _TRANSLATABLE_BASES
            if translatable and m.group("lang") not in langs:
                langs.append(m.group("lang"))
    return tuple(langs)


def _split_type(raw: str, where: str) -> tuple[str, str | None]:
    t = " ".join(raw.split())
    t = _TYPE_ALIASES.get(t, t)
    parts = t.split(" ")
    base = _TYPE_ALIASES.get(parts[0], parts[0])
    if base in SELECT_TYPES:
        if len(parts) < 2:
            raise FormDefinitionError(
                f"{where}: type '{raw}' names no choice list.",
                code="FORM_010",
                hint="Write the list name after the type, e.g. 'select_one yn'.",
            )
        return base, parts[1]
    return base, None


def parse_form(sheets: Sheets) -> Form:
    """Build a Form from sheets. Structural problems raise FormDefinitionError naming the place."""
    src = sheets.source
    for required in ("survey", "settings"):
        if required not in sheets.sheets:
            similar = [s for s in sheets.sheets if s.lower().startswith(required[:4])]
            raise FormDefinitionError(
                f"{src}: the '{required}' sheet is missing"
                + (f" (found {', '.join(repr(s) for s in similar)})" if similar else "")
                + ".",
                code="FORM_003",
                hint=f"Add a sheet named exactly '{required}'.",
            )
    settings_rows = sheets.rows("settings")
    settings = dict(settings_rows[0].cells) if settings_rows else {}
    settings = {k: v for k, v in settings.items() if v}
    form_id = settings.get("form_id", "")
    if not form_id:
        raise FormDefinitionError(
            f"{src}: settings has no form_id.", code="FORM_004", hint="Add a form_id column to settings."
        )
    languages = _languages(sheets)

    # choices
    lists: dict[str, list[Choice]] = {}
    for row in sheets.rows("choices"):
        ln = row.get("list_name") or row.get("list name")
        if not ln:
            raise FormDefinitionError(f"{row.where}: choice row without list_name.", code="FORM_011")
        labels = _translations(row, "label", languages)
        extra = {
            k: v for k, v in row.cells.items()
            if k not in ("list_name", "list name", "name", "label") and "::" not in k and v
        }
        lists.setdefault(ln, []).append(Choice(row.get("name"), labels, extra, row.where))
    choice_lists = {k: ChoiceList(k, tuple(v)) for k, v in lists.items()}

    # survey
    fields: list[Field] = []
    groups: list[Group] = []
    stack: list[Group] = []
    for row in sheets.rows("survey"):
        raw_type = row.get("type")
        if not raw_type:
            if any(v for k, v in row.cells.items() if k != "pii_class"):
                raise FormDefinitionError(
                    f"{row.where}: row has no type.", code="FORM_010", hint="Give the row a type or delete it."
                )
            continue
        base, list_name = _split_type(raw_type, row.where)
        name = row.get("name")
        pii = row.get("pii_class") or None
        if base in ("begin_group", "begin_repeat"):
            if not name:
                raise FormDefinitionError(f"{row.where}: a group without a name.", code="FORM_012")
            path = "/".join([*[g.name for g in stack], name])
            parent_repeat = next((g.path for g in reversed(stack) if g.is_repeat), None)
            grp = Group(
                name=name, path=path, kind="repeat" if base == "begin_repeat" else "group",
                labels=_translations(row, "label", languages), relevant=row.get("relevant"),
                repeat_count=row.get("repeat_count"), appearance=row.get("appearance"),
                pii_class=pii, where=row.where, parent_repeat=parent_repeat,
            )
            groups.append(grp)
            stack.append(grp)
            continue
        if base in ("end_group", "end_repeat"):
            want = "repeat" if base == "end_repeat" else "group"
            if not stack or stack[-1].kind != want:
                raise FormDefinitionError(
                    f"{row.where}: '{raw_type}' does not close an open {want}.",
                    code="FORM_012",
                    hint="Check begin/end pairs; groups close in reverse order of opening.",
                )
            closed = stack.pop()
            if closed.is_repeat and closed.repeat_count and not re.fullmatch(
                r"\s*(\d+|\$\{[A-Za-z_][\w.-]*\})\s*", closed.repeat_count
            ):
                # pyxform adds a calculate "<repeat>_count" beside the repeat for expressions.
                fields.append(_generated_count(closed, stack))
            continue
        if not name:
            raise FormDefinitionError(
                f"{row.where}: a '{raw_type}' row has no name.", code="FORM_012", hint="Give every question a name."
            )
        if base == "audit":
            path = "meta/audit"
        elif base in METADATA_TYPES and not stack:
            path = name
        else:
            path = "/".join([*[g.name for g in stack], name])
        repeat = next((g.path for g in reversed(stack) if g.is_repeat), None)
        fields.append(
            Field(
                name=name, type=base, list_name=list_name, path=path,
                labels=_translations(row, "label", languages),
                hints=_translations(row, "hint", languages),
                required=_yes(row.get("required")),
                required_message=_translations(row, "required_message", languages),
                relevant=row.get("relevant"), constraint=row.get("constraint"),
                constraint_message=_translations(row, "constraint_message", languages),
                calculation=row.get("calculation") or row.get("calculate"),
                choice_filter=row.get("choice_filter"), appearance=row.get("appearance"),
                parameters=row.get("parameters"), default=row.get("default"),
                pii_class=pii, pii_rule=row.get("pii_rule"),
                groups=tuple(g.name for g in stack), repeat=repeat, where=row.where,
                raw=dict(row.cells),
            )
        )
    if stack:
        raise FormDefinitionError(
            f"{stack[-1].where}: {stack[-1].kind} '{stack[-1].name}' is never closed.",
            code="FORM_012",
            hint=f"Add an end_{stack[-1].kind} row.",
        )
    policy = {}
    for row in sheets.rows("suara_policy"):
        if row.get("key"):
            policy[row.get("key")] = row.get("value")
    return Form(
        form_id=form_id,
        title=settings.get("form_title", form_id),
        version=settings.get("version", ""),
        default_language=settings.get("default_language", ""),
        languages=languages,
        settings=settings,
        fields=tuple(fields),
        groups=tuple(groups),
        choice_lists=choice_lists,
        policy=policy,
        source=src,
        sheets=sheets,
    )


def _generated_count(repeat: Group, stack: list[Group]) -> Field:
    name = f"{repeat.name}_count"
    return Field(
        name=name, type="calculate", list_name=None,
        path="/".join([*[g.name for g in stack], name]),
        labels={}, hints={}, required=False, required_message={}, relevant="",
        constraint="", constraint_message={}, calculation=repeat.repeat_count,
        choice_filter="", appearance="", parameters="", default="",
        pii_class="-", pii_rule="", groups=tuple(g.name for g in stack),
        repeat=next((g.path for g in reversed(stack) if g.is_repeat), None),
        where=repeat.where, generated=True,
    )


def load_form(path: Path | str) -> Form:
    return parse_form(read_sheets(Path(path)))


def form_from_markdown(text: str, source: str = "<markdown>") -> Form:
    from suara.forms.sheets import read_markdown

    return parse_form(read_markdown(text, source))


def form_files(forms_dir: Path) -> list[Path]:
    """The current form sources in a folder: ``<form_id>.md`` (archived versions live below
    ``versions/<form_id>/<version>.md`` and are not listed here)."""
    return sorted(p for p in Path(forms_dir).glob("*.md") if p.name.lower() != "readme.md")


def load_forms(forms_dir: Path | str | None = None) -> list[Form]:
    from suara.forms.locate import default_forms_dir

    d = Path(forms_dir) if forms_dir else default_forms_dir()
    return [load_form(p) for p in form_files(d)]


def load_form_versions(form_id: str, forms_dir: Path | str | None = None) -> dict[str, Form]:
    """Every known version of a form: the current one plus archived ``versions/<form_id>/*.md``.

    Old submissions are validated and typed against the version they were filled with.
    """
    from suara.forms.locate import default_forms_dir

    d = Path(forms_dir) if forms_dir else default_forms_dir()
    out: dict[str, Form] = {}
    for p in sorted((d / "versions" / form_id).glob("*.md")):
        f = load_form(p)
        out[f.version] = f
    current = d / f"{form_id}.md"
    if current.exists():
        f = load_form(current)
        out[f.version] = f
    return out
