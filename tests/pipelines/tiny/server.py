"""The tiny pipeline's only service: answers ``GET /health`` and ``POST /predict``.

Environment variables let a test keep a run in one phase for as long as it needs:

* ``TINY_STARTUP_DELAY`` (s): sleep before listening (the run stays in ``setup``);
* ``TINY_READY_AFTER`` (s): ``/predict`` answers 503 until this long after start (the
  baseline probe keeps waiting: the run stays in ``baseline``);
* ``TINY_IGNORE_SIGTERM=1``: ignore SIGTERM, so stopping it takes the supervisor's
  whole grace period (the run stays in ``teardown``).
"""

import argparse
import json
import os
import signal
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STARTED = time.monotonic()


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._answer(200, {"ok": True})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ready = time.monotonic() - STARTED >= float(os.environ.get("TINY_READY_AFTER", "0"))
        self._answer(200 if ready else 503, {"score": 0.5, "fallback": False})

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if os.environ.get("TINY_IGNORE_SIGTERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(float(os.environ.get("TINY_STARTUP_DELAY", "0")))
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
