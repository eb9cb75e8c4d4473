"""The locustfile the harness hands to Locust (run in Locust's own process, never imported
by the harness: importing locust monkey-patches the interpreter with gevent).

It wraps the pipeline's user class, turns the scenario's ``load`` block into a
``LoadTestShape``, and records **every** request to ``CHAOS_REQUEST_LOG`` as one JSON
line: ``ts`` (start, epoch s), ``latency_ms``, ``name``, ``ok``, ``status``, ``error``,
``fallback``. Configuration comes from environment variables set by ``harness.load``.

To ``CHAOS_LOAD_EVENTS`` it writes ``test_start`` and, when Locust quits (after its users
stopped), ``totals``: Locust's own request and failure counts, and how many writes to
the request log failed (a full disk). ``harness.integrity`` checks the log against them.
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
_log_errors = {"count": 0, "first": None}
_environment = None


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
    _to_log(_log.write, json.dumps({
        "ts": start_time if start_time else time.time() - response_time / 1000.0,
        "latency_ms": round(response_time, 3), "name": name, "ok": ok, "status": status,
        "error": None if ok else str(exception)[:200],
        "fallback": _fallback(response) if ok and response is not None else None,
    }) + "\n")


def _to_log(action, *args):
    """Write or flush the request log; a failure is counted, never raised into Locust."""
    try:
        action(*args)
    except OSError as exc:
        _log_errors["count"] += 1
        _log_errors["first"] = _log_errors["first"] or str(exc)


def _event(name, **fields):
    with open(os.environ["CHAOS_LOAD_EVENTS"], "a") as handle:
        handle.write(json.dumps({"event": name, "ts": time.time(), **fields}) + "\n")


def _flush_forever():
    while True:
        gevent.sleep(0.5)
        _to_log(_log.flush)


@events.init.add_listener
def _init(environment, **_):
    global _environment
    _environment = environment


@events.test_start.add_listener
def _started(**_):
    _event("test_start")
    gevent.spawn(_flush_forever)


@events.quit.add_listener
def _totals(exit_code, **_):
    _to_log(_log.flush)
    total = _environment.stats.total
    _event("totals", requests=total.num_requests, failures=total.num_failures,
           log_errors=_log_errors["count"], log_error=_log_errors["first"], exit_code=exit_code)


del _spec
