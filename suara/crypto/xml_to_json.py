"""Submission XML ↔ Kobo's JSON shape (kobo-api.md §6.1).

``flatten_xml`` follows KPI's parser (``xform_instance_parser.py``: ``_xml_node_to_dict`` then
``_flatten_dict_nest_repeats``) so a decrypted submission reaches the pipeline exactly as Kobo
would have served it unencrypted: keys are full paths without the root, values the XML text,
empty leaves and empty groups absent, repeats lists of dicts with full-path keys, and element
names as written (prefixes kept, so a Collect manifest gives ``orx:meta/orx:instanceID``).

``xml_from_submission`` goes the other way for the sandbox: the instance XML KoboCollect would
have encrypted for a Kobo-shaped record.
"""

from __future__ import annotations

import re
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from suara.crypto.odk import MALFORMED
from suara.errors import DecryptionError
from suara.forms.model import Form

# Kobo's parser removes whitespace between tags before parsing (``clean_and_parse_xml``), so a
# whitespace-only leaf is empty there too.
_BETWEEN_TAGS = re.compile(rb">\s+<")


class _Node:
    __slots__ = ("name", "children", "text")

    def __init__(self, name: str):
        self.name = name
        self.children: list[_Node] = []
        self.text: list[str] = []


def _parse(xml: bytes) -> _Node:
    """A minimal element tree keeping qualified names (expat without namespace processing)."""
    parser = expat.ParserCreate()
    root = _Node("")
    stack = [root]

    def start(name, _attrs):
        node = _Node(name)
        stack[-1].children.append(node)
        stack.append(node)

    def end(_name):
        stack.pop()

    def chars(data):
        stack[-1].text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.buffer_text = True
    try:
        parser.Parse(_BETWEEN_TAGS.sub(b"><", xml.strip()), True)
    except expat.ExpatError:
        raise DecryptionError("the submission XML is not well-formed.", code=MALFORMED,
                              hint="Review the submission in quarantine.") from None
    return root.children[0]


def _to_value(node: _Node, xpath: str, repeats: frozenset[str]) -> Any:
    """KPI's ``_xml_node_to_dict`` for one node, returning the value instead of {name: value}."""
    if not node.children:
        text = "".join(node.text)
        return text if text else None
    value: dict[str, Any] = {}
    for child in node.children:
        child_path = f"{xpath}/{child.name}" if xpath else child.name
        v = _to_value(child, child_path, repeats)
        if v is None:
            continue
        if child_path in repeats:
            value.setdefault(child.name, []).append(v)
        elif child.name not in value:
            value[child.name] = v
        else:  # a node repeated without being declared a repeat: Kobo aggregates it in a list
            prior = value[child.name]
            value[child.name] = [*prior, v] if isinstance(prior, list) else [prior, v]
    return value or None


def _flatten(value: dict[str, Any], prefix: list[str], out: dict[str, Any]) -> dict[str, Any]:
    """KPI's ``_flatten_dict_nest_repeats``; ``prefix`` excludes the root element."""
    for key, v in value.items():
        path = [*prefix, key]
        if isinstance(v, dict):
            _flatten(v, path, out)
        elif isinstance(v, list):
            out["/".join(path)] = [
                _flatten(item, path, {}) if isinstance(item, dict) else {"/".join(path): item}
                for item in v
            ]
        else:
            out["/".join(path)] = v
    return out


def flatten_xml(xml: bytes, repeats: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """Kobo's flat JSON of a submission (or manifest) XML; ``repeats`` are the repeat paths."""
    root = _parse(xml)
    value = _to_value(root, "", frozenset(repeats))
    return _flatten(value, [], {}) if isinstance(value, dict) else {}


def repeat_paths(form: Form) -> frozenset[str]:
    return frozenset(g.path for g in form.repeats)


def submission_from_xml(form: Form, xml: bytes) -> dict[str, Any]:
    """The answers of a (decrypted) instance XML, shaped as Kobo's ``/data/`` API returns them."""
    return flatten_xml(xml, repeat_paths(form))


# -- JSON → XML (the phone's side, for the sandbox) -----------------------------------------

# Keys the server adds to a record: never part of what the phone submits.
_SERVER_KEYS = {"meta/rootUuid"}


# Characters XML 1.0 cannot carry: a phone can never submit them, so they cannot survive into
# an instance (a record holding them can only come from outside the XML path).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _is_server_key(key: str) -> bool:
    return key in _SERVER_KEYS or (key.startswith("_") and not key.startswith("__"))


class _Tree:
    """An ordered element tree built from paths; a node's children keep first-seen order."""

    __slots__ = ("children", "value", "items")

    def __init__(self):
        self.children: dict[str, _Tree] = {}
        self.value: str | None = None
        self.items: list[dict[str, Any]] | None = None  # repeat instances, when a repeat

    def at(self, parts: list[str]) -> _Tree:
        node = self
        for part in parts:
            node = node.children.setdefault(part, _Tree())
        return node


def _skeleton(form: Form, level: str | None) -> _Tree:
    """Every node of one level (the submission or one repeat item) in survey order, so absent
    answers serialise as empty elements, as Collect writes them (same order as pyxform's
    instance)."""
    tree = _Tree()
    skip = len(level.split("/")) if level else 0
    for f in form.fields:  # notes too: they are (empty) nodes of the instance
        if f.repeat == level:
            tree.at(f.path.split("/")[skip:])
        elif f.repeat and (level is None or f.repeat.startswith(level + "/")):
            # a field of a nested repeat: place the repeat node at this level
            outer = next(g.path for g in form.repeats if g.parent_repeat == level and (
                f.repeat == g.path or f.repeat.startswith(g.path + "/")))
            tree.at(outer.split("/")[skip:]).items = []
    return tree


def _fill(form: Form, tree: _Tree, data: dict[str, Any], skip: int) -> None:
    repeats = repeat_paths(form)
    for key, value in data.items():
        if _is_server_key(key):
            continue
        node = tree.at(key.split("/")[skip:])
        if isinstance(value, list) or key in repeats:
            node.items = list(value or [])
        else:
            node.value = "" if value is None else _NOT_XML.sub("", str(value))


def _write(form: Form, name: str, node: _Tree, path: str, out: list[str]) -> None:
    if node.items is not None:
        level = path
        for item in node.items:
            sub = _skeleton(form, level) if level in repeat_paths(form) else _Tree()
            _fill(form, sub, item, len(level.split("/")))
            _write_element(form, name, sub, path, out)
        return
    _write_element(form, name, node, path, out)


def _write_element(form: Form, name: str, node: _Tree, path: str, out: list[str]) -> None:
    if node.children:
        out.append(f"<{name}>")
        for child_name, child in node.children.items():
            _write(form, child_name, child, f"{path}/{child_name}" if path else child_name, out)
        out.append(f"</{name}>")
    elif node.value:
        out.append(f"<{name}>{escape(node.value)}</{name}>")
    else:
        out.append(f"<{name}/>")


def xml_from_submission(form: Form, submission: dict[str, Any], *, form_id: str | None = None,
                        version: str | None = None) -> bytes:
    """The instance XML KoboCollect would submit for a Kobo-shaped record: compact, declaration
    ``<?xml version='1.0' ?>``, root ``id``/``version`` attributes, questions in survey order
    (unanswered ones as empty elements), KPI's ``formhub/uuid`` first and ``__version__`` and
    ``meta`` last. ``form_id``/``version`` override the form's (KPI rewrites both on deploy)."""
    tree = _Tree()
    if "formhub/uuid" in submission:
        tree.at(["formhub", "uuid"])
    skeleton = _skeleton(form, None)
    meta = skeleton.children.pop("meta", None)
    tree.children.update(skeleton.children)
    if "__version__" in submission:
        tree.at(["__version__"])
    tree.children["meta"] = meta or _Tree()
    data = dict(submission)
    if "meta/instanceID" not in data and data.get("_uuid"):
        data["meta/instanceID"] = "uuid:" + str(data["_uuid"])
    tree.at(["meta", "instanceID"])
    _fill(form, tree, data, 0)
    root = form.settings.get("name", "data")
    attrs = f" id={quoteattr(form_id or form.form_id)}"
    v = version if version is not None else form.version
    if v:
        attrs += f" version={quoteattr(v)}"
    out = [f"<?xml version='1.0' ?><{root}{attrs}>"]
    for child_name, child in tree.children.items():
        _write(form, child_name, child, child_name, out)
    out.append(f"</{root}>")
    return "".join(out).encode("utf-8")
