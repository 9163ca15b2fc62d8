"""Resilience suite fixtures: one Prefect test server for the session, the size knob, and a
sandbox serving every form (the harassment report encrypted, as Kobo stores it).

``SUARA_RESILIENCE_SCALE=ci`` (default) fits the CI budget; ``full`` runs the issue's sizes
(20 SIGKILL points, more submissions per form).
"""

from __future__ import annotations

import pytest

from tests.resilience.harness import scale


@pytest.fixture(scope="session")
def prefect_backend():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def forms(forms_dir):
    from suara.forms import load_forms

    return load_forms(forms_dir)


@pytest.fixture()
def sandbox(forms):
    from suara.sandbox import Sandbox
    from suara.sandbox.encrypted import odk_encryptor

    with Sandbox(forms, submissions=scale().submissions, seed=21, edge_share=0.05,
                 encryptor=odk_encryptor()) as sb:
        yield sb
