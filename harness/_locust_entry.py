"""The locustfile the harness hands to Locust (run in Locust's own process, never imported
by the harness: importing locust monkey-patches the interpreter with gevent).

It wraps the pipeline's user class, turns the scenario's ``load`` block into a
``LoadTestShape``, paces every user on the harness's own schedule
(:mod:`harness.pacing`: slot k due at t0 + k / ``rate_per_user``) and records **every**
request to ``CHAOS_REQUEST_LOG`` as one :class:`~harness.timeline.requests.Request`
line: its intended start (the first request of a task: its slot's due time; later
ones: their own start), its actual start, its service time, outcome and answer flags
(the top-level fields of a JSON answer that are ``true`` and among the pipeline's
declared ``answers.flags``, ``CHAOS_FLAGS``; every ``true`` field when it declares
none). The slots that
came due while a user was blocked are written too, as ``sent: false`` lines with the
blocking request's outcome. Configuration comes from environment variables set by
``harness.load``.

To ``CHAOS_LOAD_EVENTS`` it writes ``test_start`` and, when Locust quits (after its users
stopped), ``totals``: Locust's own request and failure counts, the lines it wrote
(``sent``, ``omitted``), how many writes to the request log failed (a full disk) and
how many lines the live feed dropped (``harness.feed``: each line also goes, never
blocking, to the pipe ``CHAOS_REQUEST_FEED_FD`` when set).
``harness.integrity`` checks the log against them.

In Locust's distributed mode (``CHAOS_LOCUST_ROLE``: ``master`` or ``worker``, see
``harness.load``) the master runs the shape and no user: it writes ``test_start`` and
its aggregated totals (``role: master``, with the number of workers expected). Each
worker writes its own request log (``CHAOS_REQUEST_LOG`` names a file per worker), a
``worker_start`` event, and its own ``totals`` (``role: worker``) whose ``requests`` is
what Locust itself reported to the master (the sum of its stats reports), not a count of
our lines. User ids are ``worker index * USER_ID_BLOCK + n``, unique across workers.
"""

import importlib.util
import itertools
import json
import os
import time

import gevent
import orjson
from locust import LoadTestShape, events

from harness.pacing import Schedule, omitted_requests
from harness.payload import PAYLOAD_ENV, PayloadSwitch
from harness.timeline.requests import Request

_spec = importlib.util.spec_from_file_location("pipeline_locustfile", os.environ["CHAOS_USER_FILE"])
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_LOAD = json.loads(os.environ["CHAOS_LOAD"])
_FLAGS = frozenset(json.loads(os.environ.get("CHAOS_FLAGS") or "[]"))
_log = open(os.environ["CHAOS_REQUEST_LOG"], "ab", buffering=1 << 16)
_log_errors = {"count": 0, "first": None}
_lines = {"sent": 0, "omitted": 0}
_feed = {"fd": int(os.environ["CHAOS_REQUEST_FEED_FD"]) if os.environ.get("CHAOS_REQUEST_FEED_FD") else None,
         "dropped": 0}
if _feed["fd"] is not None:
    os.set_blocking(_feed["fd"], False)
_ROLE = os.environ.get("CHAOS_LOCUST_ROLE", "local")
_WORKER = int(os.environ.get("CHAOS_WORKER_INDEX", "0"))
USER_ID_BLOCK = 1_000_000
_user_ids = itertools.count(_WORKER * USER_ID_BLOCK)
_reported = {"requests": 0, "failures": 0}
"""A worker's requests and failures as Locust itself reported them to the master."""
_environment = None
_payload = PayloadSwitch(os.environ.get(PAYLOAD_ENV), seed=int(os.environ.get("CHAOS_SEED", "0")))


class ChaosUser(getattr(_module, os.environ.get("CHAOS_USER_CLASS", "PipelineUser"))):
    """The pipeline's user, paced at ``rate_per_user`` slots per second (harness.pacing)."""

    def on_start(self):
        self._chaos_id = next(_user_ids)
        self._chaos_schedule = Schedule(t0=time.time(), rate=_LOAD["rate_per_user"])
        self._chaos_last = None
        _reshape_bodies(self.client)
        super().on_start()

    def context(self):
        """Locust reads this at the start of every request: tag it with its slot."""
        return {**super().context(), "chaos_user": self,
                "chaos_intended_ts": self._chaos_schedule.claim()}

    def wait_time(self):
        """Write the slots that came due during the task; wait for the next one."""
        now = time.time()
        due, wait = self._chaos_schedule.finish(now)
        if due and self._chaos_last is not None:
            for request in omitted_requests(self._chaos_last, due, now):
                _write(request)
        return wait


def _reshape_bodies(client):
    """Pass every JSON body through the payload switch (``payload_schema_change``)."""
    send = client.request

    def request(method, url, *args, json=None, **kwargs):
        if json is not None:
            json = _payload.apply(json)
        return send(method, url, *args, json=json, **kwargs)

    client.request = request


class ChaosShape(LoadTestShape):
    """``users`` users spawned at ``spawn_rate``/s for ``duration`` seconds, then stop."""

    def tick(self):
        if self.get_run_time() >= _LOAD["duration"]:
            return None
        return (_LOAD["users"], _LOAD["spawn_rate"])


def _flags(response):
    try:
        answer = response.json()
    except Exception:
        return ()
    if not isinstance(answer, dict):
        return ()
    return tuple(key for key, value in answer.items() if value is True and (not _FLAGS or key in _FLAGS))


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None,
            exception=None, start_time=None, context=None, **_):
    context = context or {}
    ok = exception is None
    started = start_time if start_time else time.time() - response_time / 1000.0
    intended = context.get("chaos_intended_ts")
    request = Request(
        intended_ts=intended if intended is not None else started, ts=started,
        service_ms=round(response_time, 3), name=name, ok=ok,
        status=getattr(response, "status_code", 0) or 0,
        error=None if ok else str(exception)[:200],
        flags=_flags(response) if ok and response is not None else (),
        user=getattr(context.get("chaos_user"), "_chaos_id", None))
    user = context.get("chaos_user")
    if user is not None:
        user._chaos_last = request
    _write(request)


def _write(request):
    line = orjson.dumps(request.to_json()) + b"\n"
    if _to_log(_log.write, line):
        _lines["sent" if request.sent else "omitted"] += 1
    _to_feed(line)


def _to_feed(line):
    """Hand the line to the harness's live feed (harness.feed) without ever blocking."""
    if _feed["fd"] is None:
        return
    try:
        os.write(_feed["fd"], line)
    except BlockingIOError:
        _feed["dropped"] += 1
    except OSError:  # the harness closed its end: no more feed
        _feed["fd"] = None


def _to_log(action, *args):
    """Write or flush the request log; a failure is counted, never raised into Locust."""
    try:
        action(*args)
        return True
    except OSError as exc:
        _log_errors["count"] += 1
        _log_errors["first"] = _log_errors["first"] or str(exc)
        return False


def _event(name, **fields):
    with open(os.environ["CHAOS_LOAD_EVENTS"], "a") as handle:
        handle.write(json.dumps({"event": name, "ts": time.time(), **fields}) + "\n")


def _flush_forever():
    while True:
        gevent.sleep(0.5)
        _to_log(_log.flush)


def _count_reported(client_id, data, **_):
    """After Locust's own listener filled ``data`` (its stats since the last report)."""
    _reported["requests"] += data["stats_total"]["num_requests"]
    _reported["failures"] += data["stats_total"]["num_failures"]


@events.init.add_listener
def _init(environment, **_):
    global _environment
    _environment = environment
    if _ROLE == "worker":  # added after the runner's own listener: it runs second
        environment.events.report_to_master.add_listener(_count_reported)


@events.test_start.add_listener
def _started(**_):
    if _ROLE == "worker":
        _event("worker_start", worker=_WORKER)
    else:
        _event("test_start")
    gevent.spawn(_flush_forever)


@events.quit.add_listener
def _totals(exit_code, **_):
    _to_log(_log.flush)
    total = _environment.stats.total
    counts = (_reported if _ROLE == "worker"
              else {"requests": total.num_requests, "failures": total.num_failures})
    extra = {"workers": int(os.environ["CHAOS_WORKERS"])} if _ROLE == "master" else {}
    _event("totals", role=_ROLE, worker=_WORKER, **counts, **extra,
           sent=_lines["sent"], omitted=_lines["omitted"],
           log_errors=_log_errors["count"], log_error=_log_errors["first"], exit_code=exit_code,
           feed_dropped=_feed["dropped"])


del _spec
