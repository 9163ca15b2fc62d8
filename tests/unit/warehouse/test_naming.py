"""SQL-safe names: stable, distinct, within PostgreSQL's 63-byte limit."""

from warehouse.naming import MAX_IDENTIFIER, flag_name, sql_name


def test_sql_name__xlsform_punctuation__lower_snake():
    """Should turn dashes, dots and capitals into a lower-case snake name."""
    assert sql_name("Grp-A.Q1") == "grp_a_q1"
    assert sql_name("_id") == "_id"
    assert sql_name("1st_job") == "c_1st_job"


def test_sql_name__too_long__shortened_and_distinct():
    """Should fit 63 characters and keep two long names that differ only at the end apart."""
    a, b = sql_name("q" * 80 + "_a"), sql_name("q" * 80 + "_b")
    assert len(a) <= MAX_IDENTIFIER and len(b) <= MAX_IDENTIFIER
    assert a != b


def test_flag_name__awkward_choices__distinct_columns():
    """Should give '-99', '99' and "don't know" their own columns."""
    names = {flag_name("issues", c) for c in ("-99", "99", "don't know", "dont_know")}
    assert len(names) == 4
    assert flag_name("issues", "wage") == "issues__wage"
    assert all(n.startswith("issues__") for n in names)
