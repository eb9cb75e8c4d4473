"""The locustfile the harness hands to Locust (run in Locust's own process, never imported
by the harness: importing locust monkey-patches the interpreter with gevent).

It wraps the pipeline's user class, turns the scenario's ``load`` block into a
``LoadTestShape``, and records **every** request to ``CHAOS_REQUEST_LOG`` as one JSON
line: ``ts`` (start, epoch s), ``latency_ms``, ``name``, ``ok``, ``status``, ``error``,
``fallback``. Configuration comes from environment variables set by ``harness.load``.
"""

import importlib.util
import json
import os
import time

import gevent
from locust import LoadTestShape, constant_throughput, events

_spec = importlib.util.spec_from_file_location("pipeline_locustfile", os.environ["CHAOS_USER_FILE"])
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_LOAD = json.loads(os.environ["CHAOS_LOAD"])
_log = open(os.environ["CHAOS_REQUEST_LOG"], "a", buffering=1 << 16)


class ChaosUser(getattr(_module, os.environ.get("CHAOS_USER_CLASS", "PipelineUser"))):
    """The pipeline's user, paced at ``rate_per_user`` requests per second."""

    wait_time = constant_throughput(_LOAD["rate_per_user"])


class ChaosShape(LoadTestShape):
    """``users`` users spawned at ``spawn_rate``/s for ``duration`` seconds, then stop."""

    def tick(self):
        if self.get_run_time() >= _LOAD["duration"]:
            return None
        return (_LOAD["users"], _LOAD["spawn_rate"])


def _fallback(response):
    try:
        return bool(response.json().get("fallback"))
    except Exception:
        return None


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None,
            exception=None, start_time=None, **_):
    ok = exception is None
    status = getattr(response, "status_code", 0) or 0
    _log.write(json.dumps({
        "ts": start_time if start_time else time.time() - response_time / 1000.0,
        "latency_ms": round(response_time, 3), "name": name, "ok": ok, "status": status,
        "error": None if ok else str(exception)[:200],
        "fallback": _fallback(response) if ok and response is not None else None,
    }) + "\n")


def _flush_forever():
    while True:
        gevent.sleep(0.5)
        _log.flush()


@events.test_start.add_listener
def _started(**_):
    with open(os.environ["CHAOS_LOAD_EVENTS"], "a") as handle:
        handle.write(json.dumps({"event": "test_start", "ts": time.time()}) + "\n")
    gevent.spawn(_flush_forever)


@events.quitting.add_listener
def _quitting(**_):
    _log.flush()
    with open(os.environ["CHAOS_LOAD_EVENTS"], "a") as handle:
        handle.write(json.dumps({"event": "quitting", "ts": time.time()}) + "\n")


del _spec
