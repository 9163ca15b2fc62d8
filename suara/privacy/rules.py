"""The privacy vocabulary a form declares: the ``pii_rule`` column and the ``suara_policy`` sheet.

Suara owns this vocabulary (docs/privacy.md). Everything here is parsing and checking; what a
rule *does* lives in :mod:`suara.privacy.coarsen` and :mod:`suara.privacy.policy`.

A problem in a declaration is a :class:`~suara.errors.FormDefinitionError` naming the survey
row or the policy key, so a form author can fix it before the form is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass

from suara.errors import FormDefinitionError
from suara.forms.model import Field, Form

# pii_rule values. Parameterised rules (band, band_year) carry their edges after a colon.
SIMPLE_RULES = ("month", "quarter", "duration", "province", "drop", "pseudonym", "hmac", "keep")
BAND_RULES = ("band", "band_year")

DATE_TYPES = {"date", "dateTime", "today", "start", "end"}
NUMBER_TYPES = {"integer", "decimal", "range"}
# Types whose values never leave Kobo's raw store, whatever the class says: attachments carry
# a file name and an attachment URL; geopoints pin a person to a place.
NEVER_PASS_TYPES = {
    "image", "audio", "video", "file", "background-audio", "audit", "geopoint", "geotrace",
    "geoshape", "start-geopoint", "background-geopoint", "deviceid", "simserial",
    "subscriberid", "phonenumber", "email",
}

POLICY_KEYS = (
    "consent_fields", "withdrawn_fields", "share_fields", "microdata", "k", "l", "l_fields",
    "quasi_identifiers", "pseudonym_domain",
)
DEFAULT_K = 5
DEFAULT_L = 2
MICRODATA = ("release", "restricted")


@dataclass(frozen=True)
class Rule:
    """A parsed ``pii_rule``: ``name`` plus band ``edges`` for the band rules."""

    name: str
    edges: tuple[float, ...] = ()


@dataclass(frozen=True)
class FormPolicy:
    """The parsed ``suara_policy`` sheet with its defaults applied."""

    consent: tuple[tuple[str, str], ...]    # (field, value) pairs that must all hold
    withdrawn: tuple[tuple[str, str], ...]  # (field, value) pairs; any match → withdrawn
    share: tuple[tuple[str, str], ...]      # (field, value) pairs for release as microdata
    microdata: str                          # "release" | "restricted"
    k: int
    l: int  # noqa: E741 - the standard name of the l-diversity parameter
    l_fields: tuple[str, ...]
    quasi_identifiers: tuple[str, ...] | None  # None → every Q and O field (default)
    pseudonym_domain: str


def _policy_error(form: Form, key: str, problem: str, hint: str, code: str = "FORM_041"):
    return FormDefinitionError(
        f"{form.source}: suara_policy '{key}': {problem}", code=code, hint=hint
    )


def parse_rule(field: Field) -> Rule | None:
    """Parse one field's ``pii_rule``; None when the row declares none."""
    raw = (field.pii_rule or "").strip()
    if not raw:
        return None
    name, _, params = raw.partition(":")
    name = name.strip().lower()
    if name in SIMPLE_RULES and not params:
        rule = Rule(name)
    elif name in BAND_RULES:
        try:
            edges = tuple(float(e) for e in params.split(",") if e.strip())
        except ValueError:
            edges = ()
        if not edges or list(edges) != sorted(set(edges)):
            raise FormDefinitionError(
                f"{field.where}: field '{field.name}' has pii_rule '{raw}': band edges must be "
                "ascending numbers.",
                code="FORM_040",
                hint="Write the edges after the colon, e.g. 'band:500,1000,3000'.",
            )
        rule = Rule(name, edges)
    else:
        raise FormDefinitionError(
            f"{field.where}: field '{field.name}' has an unknown pii_rule '{raw}'.",
            code="FORM_040",
            hint="Use one of: " + ", ".join(SIMPLE_RULES)
            + ", band:<edges>, band_year:<edges> (see docs/privacy.md).",
        )
    _check_rule_fits(field, rule, raw)
    return rule


def _check_rule_fits(field: Field, rule: Rule, raw: str) -> None:
    def bad(why: str, hint: str) -> FormDefinitionError:
        return FormDefinitionError(
            f"{field.where}: field '{field.name}' (type {field.type}) cannot use pii_rule "
            f"'{raw}': {why}.",
            code="FORM_040",
            hint=hint,
        )

    cls = field.effective_class
    if rule.name in ("month", "quarter") and field.type not in DATE_TYPES:
        raise bad("it needs a date or timestamp", "Use month/quarter on date, dateTime, start, end or today.")
    if rule.name == "duration" and field.type not in {"start", "end", "dateTime"}:
        raise bad("a duration needs start/end timestamps", "Put 'duration' on the start and end rows.")
    if rule.name == "province" and field.type != "select_one":
        raise bad("it maps a district choice to its province", "Use it on a select_one district question.")
    if rule.name == "band" and field.type not in NUMBER_TYPES | {"calculate"}:
        raise bad("bands need numbers", "Use band on integer or decimal questions.")
    if rule.name == "band_year" and field.type not in NUMBER_TYPES | DATE_TYPES | {"calculate"}:
        raise bad("year bands need a year or a date", "Use band_year on a year (integer) or a date.")
    if rule.name == "keep" and cls == "D":
        raise bad("a direct identifier never passes", "Drop it, or declare 'pseudonym'.")
    if rule.name == "keep" and field.type in NEVER_PASS_TYPES:
        raise bad("device ids, attachments and locations never pass", "Remove the rule.")


def _pairs(form: Form, key: str) -> tuple[tuple[str, str], ...]:
    raw = form.policy.get(key, "") or ""
    out = []
    for item in (p.strip() for p in raw.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise _policy_error(form, key, f"'{item}' is not field=value.",
                                "Write e.g. 'consent=yes,age18=yes'.")
        if not form.has_field(name):
            raise _policy_error(form, key, f"the form has no field '{name}'.",
                                "Name a field of this form.", code="FORM_042")
        out.append((name, value))
    return tuple(out)


def _names(form: Form, key: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in (form.policy.get(key, "") or "").split(",") if n.strip())
    for n in names:
        if not form.has_field(n):
            raise _policy_error(form, key, f"the form has no field '{n}'.",
                                "Name fields of this form, comma-separated.", code="FORM_042")
    return names


def _int(form: Form, key: str, default: int, minimum: int) -> int:
    raw = (form.policy.get(key, "") or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise _policy_error(form, key, f"'{raw}' is not a whole number ≥ {minimum}.",
                            f"Write a whole number ≥ {minimum}.")
    return value


def parse_form_policy(form: Form) -> FormPolicy:
    """Read the ``suara_policy`` sheet; unknown keys are an error (a typo must not weaken it)."""
    for key in form.policy:
        if key not in POLICY_KEYS:
            raise _policy_error(form, key, "unknown key.",
                                "Known keys: " + ", ".join(POLICY_KEYS) + " (docs/privacy.md).")
    microdata = (form.policy.get("microdata") or "restricted").strip().lower()
    if microdata not in MICRODATA:
        raise _policy_error(form, "microdata", f"'{microdata}' is neither release nor restricted.",
                            "Write 'release' or 'restricted' (the default).")
    qi = _names(form, "quasi_identifiers")
    domain = (form.policy.get("pseudonym_domain") or form.form_id).strip()
    return FormPolicy(
        consent=_pairs(form, "consent_fields"),
        withdrawn=_pairs(form, "withdrawn_fields"),
        share=_pairs(form, "share_fields"),
        microdata=microdata,
        k=_int(form, "k", DEFAULT_K, 2),
        l=_int(form, "l", DEFAULT_L, 1),
        l_fields=_names(form, "l_fields"),
        quasi_identifiers=qi or None,
        pseudonym_domain=domain,
    )
