"""End-to-end fixtures: a Prefect test server for the session (started once, ~15 s)."""

import pytest


@pytest.fixture(scope="session")
def prefect_backend():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
