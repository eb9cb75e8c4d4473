"""The cold-start and deadline pipelines' services (stdlib only, fast to start).

``--role store``: answers ``GET /features`` at once (and ``/health``).

``--role model``: answers ``POST /predict`` and ``GET /health``. Two ways to need the store:

* ``--warmup-timeout S`` (cold start): at start, one ``GET /features`` through the
  ``--store`` address must answer within S seconds; until one does, ``/predict`` answers
  503. A failed warm-up backs off ``--backoff`` seconds before it tries again. Once warm,
  the model never calls the store again, so a slow store alone hurts nothing, and a
  kill alone costs only the restart; a kill while the store is slow costs the backoff.
* ``--deadline S`` (per request): every ``/predict`` reads the store with a timeout of
  S seconds and answers 503 when the read misses it, so a store latency below S
  passes and one above S fails every request it touches.
"""

import argparse
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _fetch(store: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(f"http://{store}/features", timeout=timeout) as answer:
            answer.read()
            return answer.status == 200
    except OSError:
        return False


class _Model:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.warm = threading.Event()

    def warm_up(self) -> None:
        while not _fetch(self.args.store, self.args.warmup_timeout):
            time.sleep(self.args.backoff)
        self.warm.set()

    def predict(self) -> int:
        if self.args.deadline is not None:
            return 200 if _fetch(self.args.store, self.args.deadline) else 503
        return 200 if self.warm.is_set() else 503


def _handler(model: "_Model | None") -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._answer(200, {"ok": True, "features": [1, 2, 3]})

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = model.predict() if model else 404
            self._answer(status, {"score": 0.5, "fallback": False})

        def log_message(self, *args):
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=["store", "model"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--store", help="host:port of the store (its link's proxy)")
    parser.add_argument("--warmup-timeout", type=float, default=0.3)
    parser.add_argument("--backoff", type=float, default=5.0)
    parser.add_argument("--deadline", type=float, default=None)
    args = parser.parse_args()
    model = _Model(args) if args.role == "model" else None
    if model is not None and args.deadline is None:
        threading.Thread(target=model.warm_up, daemon=True).start()
    ThreadingHTTPServer(("127.0.0.1", args.port), _handler(model)).serve_forever()


if __name__ == "__main__":
    main()
