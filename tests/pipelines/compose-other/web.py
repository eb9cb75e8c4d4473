"""The front service of the hand-written compose stack: every GET asks API_URL first.

Standard library only; it runs in chaos-harness/runtime:local with this file mounted.
Every answer, ``/healthz`` included (a deep health check: ready when the API answers
too), waits for the API's answer (2 s at most), so latency on the web -> api edge
shows in every answer's latency; an API error is a 502.
"""

import os
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_URL = os.environ["API_URL"]


class Handler(BaseHTTPRequestHandler):
    """Any path: one call to the API, then 200 (or 502 if the API failed)."""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        try:
            with urllib.request.urlopen(API_URL, timeout=2) as answer:
                status, body = 200, b"api answered %d bytes\n" % len(answer.read())
        except OSError as exc:
            status, body = 502, f"api: {exc}\n".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        """No access log."""


ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
