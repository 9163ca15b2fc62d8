"""The settings the pull process gets (flows/puller.py ``PullSettings``): everything its Kobo
client and log filter read, secrets never printed, and nothing heavy to import where it starts."""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys
from pathlib import Path

from flows.puller import PullSettings
from suara.kobo import KoboClient
from suara.redact import install
from suara.settings import load_settings

TOKEN = "kobo-token-0123456789abcdef0123456789"
REPO = Path(__file__).resolve().parents[3]


def _settings(tmp_path):
    return load_settings(kobo_url="http://127.0.0.1:9/", kobo_token=TOKEN, suara_data_dir=tmp_path,
                         suara_pseudonym_key="p" * 32, suara_http_retries=2, suara_page_size=500)


def test_pull_settings__carry_what_the_client_reads_and_print_no_secret(tmp_path):
    pulled = pickle.loads(pickle.dumps(PullSettings.of(_settings(tmp_path))))
    client = KoboClient(pulled)
    assert client.base_url == "http://127.0.0.1:9" and client.session.retries == 2
    assert pulled.suara_page_size == 500 and pulled.suara_data_dir == tmp_path
    assert pulled.secret("kobo_token") == TOKEN and pulled.suara_restricted_key is None
    for shown in (repr(pulled), str(pulled), repr(pulled.kobo_token), str(pulled.kobo_token), f"{pulled.kobo_token}"):
        assert TOKEN not in shown and "p" * 32 not in shown


def test_pull_settings__the_log_filter_masks_their_secrets(tmp_path):
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        flt = install(PullSettings.of(_settings(tmp_path)))
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s key %s", (TOKEN, "p" * 32), None)
        flt.filter(record)
        assert TOKEN not in record.getMessage() and "p" * 32 not in record.getMessage()
    finally:
        logging.getLogger().removeHandler(handler)


def test_pull_settings__unpickle_where_the_pull_process_starts_without_pydantic_or_cryptography(tmp_path):
    """What the pull process imports to start (its target's module, its client, its filter, the
    stages) and its settings must not pull in pydantic (~80 ms of its start-up) nor, through
    validation's reason catalogue, the cryptography stack (~25 ms)."""
    code = ("import pickle, sys; import flows.puller, validation; from suara.kobo import KoboClient; "
            "from suara.redact import install; s = pickle.loads(sys.stdin.buffer.read()); KoboClient(s); install(s); "
            "print(sorted(m for m in ('pydantic', 'suara.settings', 'sqlalchemy', 'cryptography') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(PullSettings.of(_settings(tmp_path))),
                         capture_output=True, cwd=REPO, check=True)
    assert out.stdout.decode().strip() == "[]", out.stderr.decode()[-2000:]
