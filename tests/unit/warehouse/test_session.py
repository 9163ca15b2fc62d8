"""Warehouse URLs → zone files and engines."""

from pathlib import Path

import pytest

from suara.errors import ConfigurationError
from warehouse.session import _parse, zone_files


def test_zone_files__sqlite_url__restricted_and_reporting_beside_analytics():
    """Should name NAME.db the analytics file and put the other zones beside it."""
    files = zone_files("sqlite:///data/suara.db")
    assert files == {"analytics": Path("data/suara.db"), "restricted": Path("data/suara.restricted.db"),
                     "reporting": Path("data/suara.reporting.db")}


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_zone_files__in_memory__refused(url):
    """Should refuse an in-memory SQLite URL: zones need files."""
    with pytest.raises(ConfigurationError, match="file path"):
        zone_files(url)


def test_parse__other_backend__refused_and_bare_postgresql_uses_psycopg3():
    """Should refuse MySQL and pick psycopg 3 for a bare postgresql:// URL."""
    with pytest.raises(ConfigurationError, match="mysql"):
        _parse("mysql://u@h/db")
    assert _parse("postgresql://u@h/db").drivername == "postgresql+psycopg"
