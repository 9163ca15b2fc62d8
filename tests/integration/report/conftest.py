"""One demo-like SQLite warehouse shared by the report tests (they only read it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.report import demo_warehouse


@pytest.fixture(scope="session")
def demo_sqlite_root(tmp_path_factory) -> Path:
    """A folder with ``data/suara.db`` (+ restricted and reporting files beside it)."""
    root = tmp_path_factory.mktemp("analyst")
    demo_warehouse.build(f"sqlite:///{root / 'data' / 'suara.db'}").close()
    return root
