"""One respondent's interview as a device would record it: answers chosen from the Form model,
relevance, constraints and calculations evaluated with ``suara.xpath``, Kobo's JSON shape."""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
import random
import re
import uuid
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from suara import xpath
from suara.forms.model import GEO_TYPES, MEDIA_TYPES, Field, Form, Group
from suara.synth.ids import formhub_uuid, stable_uid
from suara.xpath.parser import _OPERATOR_NAMES, BinOp, Current, tokenize
from suara.xpath.values import to_boolean, to_number, to_string

# Answers start on this day (WIB, UTC+7) and move forward ~40 minutes per respondent.
BASE_TIME = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
_RARE = {"dk", "refuse", "other", "na", "none", "nobody", "prefer_not", "not_sure"}
_WORDS = ("pabrik", "serikat", "pekerja", "lembur", "upah", "kontrak", "shift", "jahit",
          "gudang", "pengawas", "rapat", "federasi", "lokal", "baru", "lama", "bagian")
_DEVICES = 12  # enumerators/devices per form
log = logging.getLogger(__name__)


# -- expressions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Expr:
    node: xpath.Node
    pulldata: tuple[tuple[xpath.Node, ...], ...]  # args of each pulldata() call, in order


@lru_cache(maxsize=8192)
def _prepare(expr: str, choice_columns: bool = False) -> _Expr:
    """Parse ``expr`` for one respondent's device: ``today()`` reads the interview date,
    ``uuid()`` a seeded value, ``pulldata()`` a precomputed lookup; in a ``choice_filter`` a bare
    name (``prov``, ``name``) is a column of the choice row, read as ``${__c_<name>}``."""
    toks = tokenize(expr)
    parts: list[str] = []
    calls: list[tuple[xpath.Node, ...]] = []
    i = 0
    while toks[i].kind != "end":
        t, nxt = toks[i], toks[i + 1]
        if t.kind == "name" and nxt.text == "(" and t.text in ("today", "uuid") \
                and toks[i + 2].text == ")":
            parts.append("date(${__today})" if t.text == "today" else "${__uuid}")
            i += 3
            continue
        if t.kind == "name" and t.text == "pulldata" and nxt.text == "(":
            depth, j, args, cur = 0, i + 1, [], []
            while True:
                tj = toks[j]
                depth += (tj.text == "(") - (tj.text == ")")
                if depth == 0 and tj.text == ")" or depth == 1 and tj.text == ",":
                    args.append(_prepare(_join(cur)).node)
                    cur = []
                    if depth == 0:
                        break
                elif j > i + 1:
                    cur.append(tj)
                j += 1
            parts.append(f"${{__pulldata_{len(calls)}}}")
            calls.append(tuple(args))
            i = j + 1
            continue
        if choice_columns and t.kind == "name" and nxt.text != "(" \
                and t.text not in _OPERATOR_NAMES:
            parts.append(f"${{__c_{t.text}}}")
        else:
            parts.append(_join([t]))
        i += 1
    return _Expr(xpath.parse(" ".join(parts)), tuple(calls))


def _join(tokens) -> str:
    return " ".join("${" + t.text + "}" if t.kind == "ref" else t.text for t in tokens)


def _kobo_string(v) -> str | None:
    s = to_string(v)
    return None if s in ("", "NaN", "Infinity", "-Infinity") else s


@cache
def _csv_rows(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- the generator ----------------------------------------------------------------------------


class _Repeat:
    def __init__(self, group: Group):
        self.group = group
        self.children: list[Field | _Repeat] = []


class Generator:
    """Respondents of one form: ``respondent(i, _id)`` is row ``i`` (its own seeded RNG, so
    it does not depend on how many rows are made)."""

    def __init__(self, form: Form, seed: int, version: str):
        self.form, self.seed, self.version = form, seed, version
        self.formhub = formhub_uuid(form)
        self.tree = self._tree()
        self.gates = self._gate_fields()
        self.groups = {g.name: g for g in form.groups}
        self._leaf_cache: dict[tuple[str, str], float] = {}
        self.cascades: dict[str, list[Field]] = {}
        for f in form.fields:
            refs = set(re.findall(r"\$\{([\w.-]+)\}", f.choice_filter or ""))
            if len(refs) == 1:
                self.cascades.setdefault(refs.pop(), []).append(f)

    def _tree(self) -> list[Field | _Repeat]:
        root: list = []
        nodes: dict[str | None, list] = {None: root}
        repeats = {g.path: g for g in self.form.repeats}

        def container(path: str | None) -> list:
            if path not in nodes:
                node = _Repeat(repeats[path])
                container(repeats[path].parent_repeat).append(node)
                nodes[path] = node.children
            return nodes[path]

        for f in self.form.fields:
            container(f.repeat).append(f)
        return root

    def _gate_fields(self) -> set[str]:
        """Yes/no questions whose answer decides what is asked next (consent, eligibility)."""
        exprs = [g.relevant for g in self.form.groups if g.relevant]
        exprs += [f.calculation for f in self.form.fields if f.calculation]
        refs = set().union(*(set(re.findall(r"\$\{([\w.-]+)\}", e)) for e in exprs)) if exprs else set()
        out = set()
        for name in refs:
            if self.form.has_field(name):
                cl = self.form.choices(self.form.field(name))
                if cl and set(cl.names) == {"yes", "no"}:
                    out.add(name)
        return out

    # -- evaluation seam ----------------------------------------------------------------------

    def _eval(self, expr: str, values: dict, current: str | None = None, *, choice_columns=False,
              default=""):
        """Evaluate ``expr`` as the device would; XPath Suara cannot evaluate (refused at
        ``forms check``) gives ``default`` (relevant/constraint: true) instead of failing."""
        try:
            prepared = _prepare(expr, choice_columns)
            if prepared.pulldata:
                values = dict(values)
                for k, args in enumerate(prepared.pulldata):
                    values[f"__pulldata_{k}"] = self._pulldata(args, values)
            return xpath.evaluate_row(prepared.node, values, current, form=self.form)
        except xpath.XPathUnsupported:
            log.debug("synth: cannot evaluate an expression of form %s; using a default",
                      self.form.form_id)
            return default

    def _pulldata(self, args, values) -> str:
        name, column, key_col, key = (
            to_string(xpath.evaluate_row(a, values, form=self.form)) for a in args)
        here = Path(self.form.source).parent
        for path in (here / f"{name}.csv", here / "media" / f"{name}.csv"):
            if path.is_file():
                for row in _csv_rows(str(path)):
                    if row.get(key_col) == key:
                        return row.get(column, "")
        return ""

    def _true(self, expr: str, values: dict, current: str | None = None) -> bool:
        return to_boolean(self._eval(expr, values, current, default=True))

    def relevant(self, f: Field, values: dict, cache: dict) -> bool:
        for g in f.groups:
            grp = self.groups[g]
            if grp.relevant and not grp.is_repeat:
                if g not in cache:
                    cache[g] = self._true(grp.relevant, values)
                if not cache[g]:
                    return False
        return not f.relevant or self._true(f.relevant, values)

    def satisfies(self, f: Field, value: str, values: dict) -> bool:
        if not f.constraint:
            return True
        return self._true(f.constraint, {**values, f.name: value}, f.name)

    # -- one respondent -----------------------------------------------------------------------

    def respondent(self, i: int, _id: int) -> tuple[dict, dict]:
        rng = random.Random(f"{self.seed}:{self.form.form_id}:{i}")
        start = BASE_TIME + dt.timedelta(minutes=41 * i + rng.randint(0, 30),
                                         seconds=rng.randint(0, 59), milliseconds=rng.randint(0, 999))
        end = start + dt.timedelta(minutes=rng.randint(12, 40), seconds=rng.randint(0, 59),
                                   milliseconds=rng.randint(0, 999))
        device = rng.randrange(_DEVICES)
        iid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        meta = {
            "start": _iso_ms(start), "end": _iso_ms(end), "today": start.date().isoformat(),
            "deviceid": "collect:" + stable_uid("", self.form.form_id, "device", device)[:16],
            "username": f"enumerator_{device + 1:02d}", "audit": "audit.csv",
        }
        self.rng, self.meta, self.today = rng, meta, start.date()
        values = {"__today": start.date().isoformat(), "__uuid": iid}
        answers: dict = {}
        self._fill(self.tree, values, answers, {})
        received = (end + dt.timedelta(minutes=rng.randint(1, 180))).astimezone(dt.UTC)
        sub = {"_id": _id, "formhub/uuid": self.formhub, **answers,
               "__version__": self.version, "meta/instanceID": "uuid:" + iid,
               "_uuid": iid, "meta/rootUuid": "uuid:" + iid, "_attachments": [],
               "_status": "submitted_via_web", "_geolocation": self._geolocation(answers),
               "_submission_time": received.strftime("%Y-%m-%dT%H:%M:%S"),
               "_validation_status": {}, "_submitted_by": meta["username"]}
        return sub, values

    def _geolocation(self, answers: dict) -> list:
        for f in self.form.value_fields(None):
            if f.type == "geopoint" and f.path in answers:
                lat, lon = answers[f.path].split()[:2]
                return [float(lat), float(lon)]
        return [None, None]

    def _fill(self, nodes: list, values: dict, out: dict, cache: dict, index: int = 0) -> None:
        for node in nodes:
            if isinstance(node, _Repeat):
                items = self._repeat(node, values, cache)
                if items:
                    out[node.group.path] = items
                continue
            if not node.has_value:
                continue
            value = self._answer(node, values, cache) if self.relevant(node, values, cache) else None
            values[node.name] = value
            if value is not None:
                out[node.path] = value

    def _repeat(self, node: _Repeat, values: dict, cache: dict) -> list[dict]:
        g = node.group
        if g.relevant and not self._true(g.relevant, values):
            return []
        if g.repeat_count:
            count = to_number(self._eval(g.repeat_count, values))
            count = 0 if math.isnan(count) else max(0, min(50, int(count)))
        else:
            count = self.rng.randint(1, 3)
        items, collected = [], {}
        for k in range(1, count + 1):
            scope = {**values, "_index": float(k)}
            item: dict = {}
            self._fill(node.children, scope, item, {})
            for f in node.children:
                if isinstance(f, Field):
                    collected.setdefault(f.name, []).append(scope.get(f.name))
            if item:
                items.append(item)
        values.update(collected)  # sum(${x}) / count(${x}) outside the repeat see every item
        return items

    # -- answers ------------------------------------------------------------------------------

    def _answer(self, f: Field, values: dict, cache: dict) -> str | None:
        rng = self.rng
        if f.type == "calculate":
            return _kobo_string(self._eval(f.calculation, values)) if f.calculation else None
        if f.is_metadata:
            return self.meta.get(f.type)
        if not f.required and f.name not in self.gates and not f.calculation and rng.random() < 0.05:
            return None  # optional questions are sometimes skipped
        make = {
            "select_one": self._select_one, "select_multiple": self._select_multiple,
            "rank": self._rank, "integer": self._number, "decimal": self._number,
            "range": self._number, "text": self._text, "date": self._date,
            "dateTime": self._datetime, "time": self._time, "acknowledge": lambda *a: "OK",
            "barcode": lambda *a: str(rng.randrange(10**11, 10**12)),
        }.get(f.type)
        if make is None:
            if f.type in GEO_TYPES:
                return self._geopoint()
            if f.type in MEDIA_TYPES:
                ext = {"image": "jpg", "audio": "m4a", "video": "mp4"}.get(f.type, "bin")
                return f"{rng.randrange(10**12, 10**13)}.{ext}"
            return None
        value = None
        for _ in range(25):  # rejection sampling against the constraint
            value = make(f, values)
            if value is None or self.satisfies(f, value, values):
                return value
        # Unsatisfiable here (e.g. bounded by a skipped answer): a device would not let the
        # enumerator go on, so leave optional questions empty.
        return value if f.required else None

    def allowed_choices(self, f: Field, values: dict) -> list:
        cl = self.form.choices(f)
        if cl is None:
            return []
        if not f.choice_filter:
            return list(cl.choices)
        keep = []
        for c in cl.choices:
            scope = {**values, "__c_name": c.name, **{f"__c_{k}": v for k, v in c.extra.items()}}
            if to_boolean(self._eval(f.choice_filter, scope, choice_columns=True, default=True)):
                keep.append(c)
        return keep

    def _leaves(self, f: Field, name: str) -> float:
        """How many final choices of a cascade (province → district → factory) lie below this
        choice: picking in proportion spreads rows evenly over the leaves (factories)."""
        key = (f.name, name)
        if key not in self._leaf_cache:
            kids = self.cascades.get(f.name)
            self._leaf_cache[key] = 1.0 if not kids else max(
                sum(self._leaves(g, c.name) for c in self.allowed_choices(g, {f.name: name}))
                for g in kids)
        return self._leaf_cache[key]

    def _weight(self, f: Field, name: str) -> float:
        if f.name in self.gates:
            return 19.0 if name == "yes" else 1.0
        if name == "female":
            return 4.0
        if name in _RARE:
            return 0.15
        if name == "yes" and f.effective_class == "S":
            return 0.25
        if f.effective_class == "Q" and f.type == "select_one" and not f.choice_filter \
                and f.name not in self.cascades:
            # Real workforces are concentrated (most workers are young sewing operators on
            # the same contract type); a Zipf-like skew over the list's order gives the
            # quasi-identifier combinations the k-anonymity check sees in real data.
            cl = self.form.choices(f)
            rank = cl.names.index(name) if cl and name in cl.names else 0
            return 1.0 / (rank + 1) ** 1.6
        return 1.0

    def _select_one(self, f: Field, values: dict) -> str | None:
        choices = self.allowed_choices(f, values)
        if not choices:
            return None
        weights = [self._weight(f, c.name) * self._leaves(f, c.name) for c in choices]
        return self.rng.choices(choices, weights)[0].name

    def _select_multiple(self, f: Field, values: dict) -> str | None:
        choices, rng = self.allowed_choices(f, values), self.rng
        if not choices:
            return None
        rare = [c for c in choices if c.name in _RARE]
        common = [c for c in choices if c.name not in _RARE]
        if rare and (not common or rng.random() < 0.1):
            return rng.choice(rare).name
        k = 1
        while k < len(common) and rng.random() < 0.45:
            k += 1
        picked = rng.sample(common, k)
        order = {c.name: n for n, c in enumerate(choices)}
        return " ".join(sorted((c.name for c in picked), key=order.__getitem__))

    def _rank(self, f: Field, values: dict) -> str | None:
        names = [c.name for c in self.allowed_choices(f, values)]
        self.rng.shuffle(names)
        return " ".join(names) or None

    def _number(self, f: Field, values: dict) -> str:
        lo, hi = self._bounds(f, values)
        rng = self.rng
        if f.type == "decimal":
            return f"{rng.uniform(lo, hi):.2f}"
        lo, hi = math.ceil(lo), math.floor(hi)
        if hi - lo > 2000:  # wide ranges (workforce, rupiah): log-uniform, like real sizes
            return str(min(hi, max(lo, round(math.exp(rng.uniform(math.log(max(lo, 1)),
                                                                     math.log(hi + 1)))))))
        return str(rng.randint(lo, max(lo, hi)))

    def _bounds(self, f: Field, values: dict) -> tuple[float, float]:
        """Numeric bounds read from ``. >= a and . <= b`` parts of the constraint."""
        lo, hi = -math.inf, math.inf
        if f.type == "range":
            params = dict(p.split("=", 1) for p in f.parameters.split() if "=" in p)
            lo, hi = to_number(params.get("start", "0")), to_number(params.get("end", "10"))
        try:
            stack = [_prepare(f.constraint).node] if f.constraint else []
        except xpath.XPathUnsupported:
            stack = []
        while stack:
            node = stack.pop()
            if not isinstance(node, BinOp):
                continue
            if node.op == "and":
                stack += [node.left, node.right]
                continue
            op, other = node.op, None
            if isinstance(node.left, Current):
                other = node.right
            elif isinstance(node.right, Current):
                other = node.left
                op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
            if other is None or op not in ("<", "<=", ">", ">="):
                continue
            bound = to_number(xpath.evaluate_row(other, values, form=self.form))
            if math.isnan(bound):
                continue
            if op in (">", ">="):
                lo = max(lo, bound + (1 if op == ">" and f.type != "decimal" else 0))
            else:
                hi = min(hi, bound - (1 if op == "<" and f.type != "decimal" else 0))
        lo = 0.0 if lo == -math.inf else lo
        hi = lo + 30 if hi == math.inf else hi
        return lo, max(lo, hi)

    def _text(self, f: Field, values: dict) -> str:
        m = re.search(r"regex\(\s*\.\s*,\s*(['\"])(.*?)\1\s*\)", f.constraint or "")
        if m:
            return _from_regex(m.group(2), self.rng)
        return " ".join(self.rng.choice(_WORDS) for _ in range(self.rng.randint(1, 4)))

    def _date(self, f: Field, values: dict) -> str:
        d = self.today - dt.timedelta(days=self.rng.randint(0, 3 * 365))
        if "month-year" in f.appearance:
            d = d.replace(day=1)
        elif "year" in f.appearance.split():
            d = d.replace(month=1, day=1)
        return d.isoformat()

    def _datetime(self, f: Field, values: dict) -> str:
        return _iso_ms(BASE_TIME + dt.timedelta(minutes=self.rng.randint(0, 60 * 24 * 365)))

    def _time(self, f: Field, values: dict) -> str:
        return f"{self.rng.randint(6, 21):02d}:{self.rng.randint(0, 59):02d}:00.000+07:00"

    def _geopoint(self) -> str:
        r = self.rng
        return f"{r.uniform(-7.8, -6.0):.5f} {r.uniform(106.4, 112.7):.5f} {r.uniform(5, 900):.1f} {r.uniform(3, 25):.1f}"


def _iso_ms(t: dt.datetime) -> str:
    return t.isoformat(timespec="milliseconds")


_CLASSES = {r"\d": "0123456789", r"\w": "abcdefghijklmnopqrstuvwxyz0123456789", ".": "abcxyz"}


def _from_regex(pattern: str, rng: random.Random) -> str:
    """A string matching a simple regex: literals, [..] classes with ranges, \\d, \\w, and
    the quantifiers ? * + {n} {n,m} (what XLSForm code constraints use)."""
    p = pattern.removeprefix("^").removesuffix("$")
    out, i = [], 0
    while i < len(p):
        if p[i] == "[":
            j = p.index("]", i)
            body, chars, k = p[i + 1:j], [], 0
            while k < len(body):
                if k + 2 < len(body) and body[k + 1] == "-":
                    chars += [chr(c) for c in range(ord(body[k]), ord(body[k + 2]) + 1)]
                    k += 3
                else:
                    chars.append(body[k])
                    k += 1
            atom, i = "".join(chars), j + 1
        elif p[i] == "\\" and i + 1 < len(p):
            atom, i = _CLASSES.get(p[i:i + 2], p[i + 1]), i + 2
        else:
            atom, i = _CLASSES.get(p[i], p[i]), i + 1
        lo = hi = 1
        if i < len(p) and p[i] in "?*+":
            lo, hi = {"?": (0, 1), "*": (0, 3), "+": (1, 3)}[p[i]]
            i += 1
        elif i < len(p) and p[i] == "{":
            j = p.index("}", i)
            nums = p[i + 1:j].split(",")
            lo = int(nums[0])
            hi = int(nums[-1]) if nums[-1] else lo + 3
            i = j + 1
        out.extend(rng.choice(atom) for _ in range(rng.randint(lo, hi)))
    return "".join(out)
