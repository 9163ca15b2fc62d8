"""The parser accepts the XLSForm subset and refuses, by name, anything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suara.xpath import (
    BinOp,
    Call,
    Current,
    Literal,
    Ref,
    XPathUnsupported,
    evaluable,
    parse,
    references,
)


def test_parse__precedence__and_binds_tighter_than_or():
    node = parse("${a} = 1 or ${b} = 2 and ${c} = 3")
    assert node.op == "or"
    assert node.right.op == "and"


def test_parse__div_mod_and_unary_minus__arithmetic_nodes():
    node = parse("-${a} div 2 mod 3 + 1")
    assert node == BinOp("+", BinOp("mod", BinOp("div", node.left.left.left, Literal(2.0)),
                                    Literal(3.0)), Literal(1.0))


def test_parse__and_as_name_after_operand__is_operator():
    node = parse(". >= 0 and . <= 20")
    assert node.op == "and"
    assert node.left == BinOp(">=", Current(), Literal(0.0))


def test_parse__functions_with_prefix_and_hyphen():
    node = parse("jr:choice-name(${tr_code}, '${tr_topics}')")
    assert node == Call("jr:choice-name", (Ref("tr_code"), Literal("${tr_topics}")))


def test_parse__position_of_parent__accepted():
    node = parse("selected-at(${tr_topics}, position(..) - 1)")
    assert isinstance(node, Call) and node.name == "selected-at"


def test_references__nested__all_names():
    assert references(parse("if(${a} > 0, ${b} div ${a}, coalesce(${c}, 'x'))")) == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("expr", "named"),
    [
        ("/data/x = 1", "absolute path"),
        ("${a}[1] = 2", "predicate"),
        ("foo(1)", "foo()"),
        ("instance('x')/root/item", "instance()"),
        ("${a} | ${b}", "union"),
        ("$x = 1", "variable"),
        ("name = 'x'", "path step"),
        ("selected(${a})", "takes 2 arguments"),
        ("selected(${a}, 'x'", "expected ')'"),
        ("${a} = ", "expected a value"),
        ("'unterminated", "cannot read"),
        ("", "empty"),
    ],
)
def test_parse__unsupported_construct__refused_with_name(expr, named):
    with pytest.raises(XPathUnsupported) as info:
        parse(expr)
    assert named in info.value.message
    assert info.value.code == "XPATH_001"


def test_evaluable__pulldata__refused_but_parse_accepts():
    expr = "pulldata('umk','umk_amount','district_code',${district})"
    parse(expr)
    with pytest.raises(XPathUnsupported, match="pulldata"):
        evaluable(expr)


def test_parse__every_expression_of_the_real_forms(forms_dir):
    from suara.forms import load_forms

    forms = load_forms(forms_dir)
    assert forms, "the three instruments should be in forms/"
    count = 0
    for form in forms:
        for f in form.fields:
            for expr in (f.relevant, f.constraint):
                if expr:
                    evaluable(expr)
                    count += 1
            if f.calculation:
                parse(f.calculation)
                count += 1
        for g in form.groups:
            if g.relevant:
                evaluable(g.relevant)
    assert count > 100


def test_static_type__expressions_and_field_references():
    from suara.forms import form_from_markdown
    from suara.xpath import integral, static_type

    form = form_from_markdown("""
| survey   |            |       |       |                              |
|          | type       | name  | label | calculation                  |
|          | integer    | n     | N     |                              |
|          | date       | d     | D     |                              |
|          | text       | t     | T     |                              |
|          | calculate  | twice |       | ${n} * 2                     |
|          | calculate  | half  |       | ${n} div 2                   |
| settings |            |       |       |                              |
|          | form_id    |       |       |                              |
|          | st         |       |       |                              |
""")
    cases = {
        "${n} + 1": "number", "${d}": "date", "${t}": "string", "${n} > 1": "boolean",
        "concat(${t}, 'x')": "string", "if(${n} > 1, 1, 0)": "number", "if(${n} > 1, 1, 'a')": "string",
        "today()": "date", "selected(${t}, 'a')": "boolean", "${twice}": "number",
        "once(uuid())": "string",
    }
    for expr, kind in cases.items():
        assert static_type(parse(expr), form) == kind, expr
    assert integral(parse("${twice} + count-selected(${t})"), form)
    assert not integral(parse("${half}"), form)
    assert not integral(parse("${n} div 1"), form)
    assert integral(parse("round(${half})"), form) and not integral(parse("round(${half}, 2)"), form)


def test_parse__choice_filter__bare_names_are_choice_columns():
    import pandas as pd

    from suara.xpath import CHOICE_PREFIX, ChoiceColumn, evaluate

    node = parse("prov=${province} or name = 'any'", choice_columns=True)
    assert node.left.left == ChoiceColumn("prov")
    assert references(node) == {"province"}
    frame = pd.DataFrame({"province": ["32", "33"], CHOICE_PREFIX + "prov": ["32", "32"],
                          CHOICE_PREFIX + "name": ["3216", "any"]})
    assert evaluate(node, frame).tolist() == [True, True]
    with pytest.raises(XPathUnsupported):
        parse("prov=${province}")  # outside a choice_filter a bare name is a path step


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="${}()'\". ,=!<>+-*/|[]abcdiomnrtsl0123456789_:", max_size=30))
def test_parse__any_text__parses_or_refuses_cleanly(text):
    try:
        parse(text)
    except XPathUnsupported as exc:
        assert exc.message


def test_unevaluable__names_row_column_and_construct():
    from suara.forms import form_from_markdown
    from suara.xpath import unevaluable

    form = form_from_markdown("""
| survey   |                |      |       |                          |                               |                                   |
|          | type           | name | label | relevant                 | constraint                    | calculation                       |
|          | integer        | a    | A     |                          | . > /data/b                   |                                   |
|          | integer        | b    | B     | instance('x')/root = 1   |                               |                                   |
|          | calculate      | c    |       |                          |                               | pulldata('f', 'v', 'k', ${a})     |
|          | integer        | d    | D     |                          | . = pulldata('f', 'v', 'k', 1) |                                  |
|          | integer        | e    | E     | ${a} > 1                 | . < 5                         |                                   |
| settings |                |      |       |                          |                               |                                   |
|          | form_id        |      |       |                          |                               |                                   |
|          | unev           |      |       |                          |                               |                                   |
""")
    problems = {(p.name, p.column) for p in unevaluable(form)}
    assert problems == {("a", "constraint"), ("b", "relevant"), ("d", "constraint")}
    assert all("survey" in p.where for p in unevaluable(form))
