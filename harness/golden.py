"""The golden probe: the pipeline's golden set replayed beside the load, each answer judged.

A pipeline declares ``golden`` (a ``golden.jsonl`` its setup writes: cases with known
answers). A scenario with ``golden: {rate_per_s: N}`` gets a :class:`GoldenProbe`: one
thread of the runner that sends the cases in turn, N per second on a fixed schedule
(a case due while the previous one is still out is sent when it returns: at most one
request in flight), for as long as the load runs, and writes one
:class:`~harness.timeline.golden.GoldenAnswer` per reply to ``golden-answers.jsonl``.
Journal: ``golden_started`` / ``golden_stopped``.

A case is ``{"id", "request", "expect", "tolerance"?}``. ``request`` is either an
HTTP request (``{"method", "path", "body"?}``) or a JSON body for the pipeline's
``probe`` method and path. An answer is **right** (:func:`is_right`) when every field
of ``expect`` matches the JSON answer: a number within ``abs + rel * |want|`` of
``tolerance[field]`` (exact without one), anything else equal.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from harness.timeline.golden import GOLDEN_ANSWERS_FILE, GoldenAnswer
from harness.timeline.records import GoldenStarted, GoldenStopped

REQUEST_TIMEOUT_S = 2.0
"""How long one golden request may take before it counts as unanswered."""
_EXPLICIT = {"method", "path", "body"}


def read_cases(path: str | Path) -> list[dict[str, Any]]:
    """The cases of a ``golden.jsonl`` file (ValueError naming the line when one is not a case)."""
    cases = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        case = json.loads(line)
        if not isinstance(case, dict) or not {"request", "expect"} <= set(case):
            raise ValueError(f"{path}:{number}: a golden case needs request and expect")
        cases.append(case)
    return cases


def _matches(got: Any, want: Any, tolerance: Mapping[str, float]) -> bool:
    if isinstance(want, bool) or not isinstance(want, (int, float)):
        return got == want
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return abs(got - want) <= tolerance.get("abs", 0.0) + tolerance.get("rel", 0.0) * abs(want)


def is_right(case: Mapping[str, Any], answer: Any) -> bool:
    """Whether ``answer`` (a decoded JSON body) is the known answer of ``case``."""
    if not isinstance(answer, dict):
        return False
    tolerances = case.get("tolerance") or {}
    return all(_matches(answer.get(field), want, tolerances.get(field) or {})
               for field, want in case["expect"].items())


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class GoldenProbe:
    """Replays ``cases`` against ``base_url`` at ``rate_per_s`` until stopped (see the module docstring)."""

    def __init__(self, *, base_url: str, cases: Sequence[dict[str, Any]], run_dir: Path, journal,
                 rate_per_s: float, flags: Sequence[str] = (), values: Sequence[str] = (),
                 method: str = "POST", path: str = "/", max_s: float = 3600.0, source: str = ""):
        self.base_url, self.cases, self.journal = base_url.rstrip("/"), list(cases), journal
        self.rate_per_s, self.flags, self.values = rate_per_s, tuple(flags), tuple(values)
        self.method, self.path, self.max_s, self.source = method, path, max_s, source
        self.file = Path(run_dir) / GOLDEN_ANSWERS_FILE
        self.answers = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None

    def start(self) -> "GoldenProbe":
        """Journal ``golden_started`` and begin replaying in a daemon thread."""
        self.journal.emit(GoldenStarted(cases=len(self.cases), rate_per_s=self.rate_per_s, url=self.base_url,
                                        file=str(self.file), source=self.source))
        self._thread = threading.Thread(target=self._loop, name="golden-probe", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop replaying (the request in flight may finish, within its timeout) and journal it."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(REQUEST_TIMEOUT_S + 1.0)
        self._thread = None
        self.journal.emit(GoldenStopped(answers=self.answers, error=self._error))

    def _request(self, case: Mapping[str, Any]) -> tuple[str, str, Any]:
        request = case["request"]
        if isinstance(request, dict) and "path" in request and set(request) <= _EXPLICIT:
            return request.get("method", "GET"), request["path"], request.get("body")
        return self.method, self.path, request

    def _loop(self) -> None:
        import requests

        started = time.monotonic()
        try:
            with requests.Session() as session, open(self.file, "a", buffering=1) as out:
                k = 0
                while not self._stop.is_set() and time.monotonic() - started < self.max_s:
                    case = self.cases[k % len(self.cases)]
                    out.write(json.dumps(self._replay(session, case).to_json()) + "\n")
                    self.answers += 1
                    k += 1
                    self._stop.wait(max(0.0, started + k / self.rate_per_s - time.monotonic()))
        except Exception as exc:  # the probe is a witness: its failure must not end the run
            self._error = f"{type(exc).__name__}: {exc}"

    def _replay(self, session, case: Mapping[str, Any]) -> GoldenAnswer:
        import requests

        method, path, body = self._request(case)
        sent = time.time()
        t0 = time.perf_counter()
        try:
            reply = session.request(method, self.base_url + path, json=body, timeout=REQUEST_TIMEOUT_S)
            status = reply.status_code
            try:
                answer = reply.json()
            except ValueError:
                answer = None
        except requests.RequestException:
            status, answer = None, None
        service_ms = (time.perf_counter() - t0) * 1000.0
        answer_dict = answer if isinstance(answer, dict) else {}
        return GoldenAnswer(ts=sent, case=str(case.get("id", "")), status=status, service_ms=round(service_ms, 3),
                            right=status == 200 and is_right(case, answer),
                            flagged=any(answer_dict.get(f) is True for f in self.flags),
                            values={v: _number(answer_dict.get(v)) for v in self.values},
                            expected={v: _number(case["expect"].get(v)) for v in self.values})


def start_golden(scenario, pipeline, backend, ingress: str, run_dir: Path, journal, stack) -> None:
    """Start the golden probe when the scenario asks for it; its stop goes on ``stack``.

    The cases come from the backend (``golden_file()``: the file the pipeline's setup
    wrote); the requests go through the ingress, like the load's."""
    if scenario.golden is None:
        return
    source = backend.golden_file()
    probe = pipeline.probe
    grace = 20.0
    golden = GoldenProbe(base_url=ingress, cases=read_cases(source), run_dir=run_dir, journal=journal,
                         rate_per_s=scenario.golden.rate_per_s, flags=pipeline.answers.flags,
                         values=pipeline.answers.values, method=probe.method if probe else "GET",
                         path=probe.path if probe else "/", max_s=scenario.load.duration + grace,
                         source=str(source))
    stack.callback(golden.stop)
    golden.start()
