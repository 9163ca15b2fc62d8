"""Serve the unit tests' FakeKobo over real HTTP on 127.0.0.1 (a thread), for CLI tests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from tests.unit.suara.kobo.fake_kobo import FakeKobo


class FakeKoboServer:
    def __init__(self, fake: FakeKobo | None = None):
        self.fake = fake or FakeKobo()
        fake_ref = self.fake

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                req = requests.Request(self.command, f"http://{self.headers['Host']}{self.path}",
                                       headers=dict(self.headers), data=body).prepare()
                try:
                    resp = fake_ref.send(req)
                except requests.RequestException:
                    self.close_connection = True  # a fault: drop the connection
                    return
                self.send_response(resp.status_code)
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeKoboServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
