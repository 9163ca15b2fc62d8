"""The Form model and everything that reads, checks and builds the XLSForms in ``forms/``."""

from suara.forms.model import (
    Choice,
    ChoiceList,
    Field,
    Form,
    Group,
    form_from_markdown,
    load_form,
    load_form_versions,
    load_forms,
    parse_form,
)

__all__ = [
    "Choice", "ChoiceList", "Field", "Form", "Group", "form_from_markdown", "load_form",
    "load_form_versions", "load_forms", "parse_form",
]
