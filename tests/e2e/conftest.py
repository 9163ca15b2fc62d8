"""End-to-end fixtures: a Prefect test server for the session (started once, ~15 s)."""

import pytest


@pytest.fixture(scope="session")
def prefect_backend():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


N = 80  # synthetic submissions per form in the e2e sandboxes


@pytest.fixture()
def forms(forms_dir):
    from suara.forms import load_forms

    return load_forms(forms_dir)


@pytest.fixture()
def sandbox(forms):
    """All three forms, harassment reports encrypted as KoboCollect would."""
    from suara.sandbox import Sandbox
    from suara.sandbox.encrypted import odk_encryptor

    with Sandbox(forms, submissions=N, seed=11, edge_share=0.05, encryptor=odk_encryptor()) as sb:
        yield sb
