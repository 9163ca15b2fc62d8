"""Packaging and layout: the import direction of docs/architecture.md, and a wheel that holds
the four packages with their data (forms, migrations, expectation snapshots)."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("suara", "flows", "validation", "warehouse")
# Who may import whom (the CLI, suara.cli, sits on top of everything).
ALLOWED = {
    "suara": set(),
    "validation": {"suara"},
    "warehouse": {"suara"},
    "flows": {"suara", "validation", "warehouse"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_run_one_way(package):
    """Should keep suara (but its CLI) free of flows/validation/warehouse, and so on."""
    offenders = []
    for path in (REPO / package).rglob("*.py"):
        if package == "suara" and "cli" in path.relative_to(REPO / "suara").parts[:1]:
            continue
        bad = _imports(path) - ALLOWED[package] - {package}
        if bad:
            offenders.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.slow
def test_wheel_holds_the_packages_and_their_data(tmp_path):
    """Should build a wheel with the four packages, the forms, migrations and suite snapshots."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    [wheel] = tmp_path.glob("suara-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names
    for form_id in ("ilo_rights_baseline", "ilo_vh_reporting", "ilo_org_assessment"):
        assert f"suara/_forms/{form_id}.md" in names
        assert f"validation/expectations/{form_id}.json" in names
    assert any(n.startswith("warehouse/migrations/versions/") and n.endswith(".py") for n in names)
    assert "warehouse/migrations/script.py.mako" in names
