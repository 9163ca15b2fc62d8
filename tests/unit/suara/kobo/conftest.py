"""Fixtures: a FakeKobo adapter mounted on the client's session, sleeps recorded not slept."""

from __future__ import annotations

import random

import pytest
import requests

from suara.kobo import KoboClient, KoboSession
from suara.settings import load_settings
from tests.unit.suara.kobo.fake_kobo import BASE, TOKEN, FakeKobo


@pytest.fixture
def fake() -> FakeKobo:
    return FakeKobo()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def settings(tmp_path):
    return load_settings(kobo_url=BASE, kobo_token=TOKEN, suara_data_dir=tmp_path / "data",
                         suara_http_retries=4)


def make_session(fake, sleeps, *, retries=4, base=BASE, token=TOKEN) -> KoboSession:
    transport = requests.Session()
    transport.mount("https://", fake)
    transport.mount("http://", fake)
    return KoboSession(base, token, retries=retries, sleep=sleeps.append, rng=random.Random(7),
                       transport=transport)


@pytest.fixture
def session(fake, sleeps) -> KoboSession:
    return make_session(fake, sleeps)


@pytest.fixture
def client(settings, session) -> KoboClient:
    return KoboClient(settings, session=session)
