"""Where the project's forms live: the repository's ``forms/`` in a checkout, or the copy
shipped inside the wheel (``suara/_forms``) when installed."""

from __future__ import annotations

from pathlib import Path


def default_forms_dir() -> Path:
    here = Path(__file__).resolve()
    checkout = here.parents[2] / "forms"
    if checkout.is_dir():
        return checkout
    return here.parents[1] / "_forms"
