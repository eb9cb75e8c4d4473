"""Fixtures for hand-written resilience tests: a running pipeline, its fault proxy's
API, and faults injected as context managers.

::

    @pytest.mark.chaos_pipeline("path/to/pipeline", backend="process")
    def test_answers_while_slow(chaos_pipeline, inject, chaos_toxiproxy):
        with inject.latency("features", ms=300) as slow:
            answer = chaos_pipeline.get("ingress", "/recommendations?user_id=1")
        assert all(call.ok for call in slow.calls)
        with inject.kill("recommender") as killed:
            ...

* ``chaos_pipeline``: the pipeline named by the ``chaos_pipeline`` marker (else the
  ``chaos_pipeline`` ini option) brought up on the chosen backend (the marker's
  ``backend``, else ``--chaos-backend``, else ``process``) for one test, with its own
  run directory under ``--chaos-reports-dir`` (journal, logs, ``run.lock``, so
  ``chaos-harness cleanup`` knows it), torn down at the end whatever happens. Its
  ``get``/``post``/``call`` send HTTP requests through a link and record each one
  (:class:`Call`).
* ``chaos_toxiproxy``: the Toxiproxy-API client of that pipeline's fault proxy
  (:class:`~harness.drivers.toxiproxy.ToxiproxyDriver`: ``url``, ``proxies()``,
  ``add_toxic`` ...), one proxy per link, named after the link.
* ``inject``: ``inject.KIND(target, **params)`` for every registered fault kind;
  the first argument fills the kind's ``link`` or ``service``, ``ms=`` its
  ``<kind>_ms``. Entering the ``with`` injects it (journaled, through the same
  activation as a scenario's faults); leaving it reverts it, **always** — when the
  body raises too, and at the fixture's teardown for one entered by hand and never
  left. The :class:`Injection` keeps the calls made while it was active.

Nothing here is specific to one pipeline: links, services and fault kinds are
whatever the pipeline declares and the registry holds.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.pytest_scenarios import chosen_backend, reports_dir


@dataclass(frozen=True)
class Call:
    """One HTTP request a test sent through ``chaos_pipeline``, and how it went."""

    method: str
    link: str
    path: str
    ts: float
    """Epoch seconds when it was sent."""
    elapsed_ms: float
    status: int
    """The HTTP status; 0 when no answer came."""
    error: str | None

    @property
    def ok(self) -> bool:
        """An answer below 400 came back."""
        return self.error is None and 0 < self.status < 400


@dataclass
class ChaosPipeline:
    """A running pipeline for one test (see the module docstring)."""

    backend: Any
    pipeline: Any
    run_dir: Path
    journal: Any
    seed: int = 0
    calls: list[Call] = field(default_factory=list)
    """Every request sent through ``call``, in order."""
    timeout_s: float = 10.0
    """Each request's timeout."""
    _session: Any = None

    def url(self, link: str) -> str:
        """``http://host:port`` of ``link``'s proxy (what its callers reach)."""
        return self.backend.link_url(link)

    def call(self, method: str, link: str, path: str, **kwargs: Any):
        """Send one request through ``link``; record it; return the ``requests`` response
        (None when no answer came: the error is in the recorded Call)."""
        import requests

        if self._session is None:
            self._session = requests.Session()
        kwargs.setdefault("timeout", self.timeout_s)
        started, clock = time.time(), time.perf_counter()
        response, error = None, None
        try:
            response = self._session.request(method, self.url(link) + path, **kwargs)
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        self.calls.append(Call(method, link, path, started, (time.perf_counter() - clock) * 1000,
                               response.status_code if response is not None else 0, error))
        return response

    def get(self, link: str, path: str, **kwargs: Any):
        """``call("GET", ...)``."""
        return self.call("GET", link, path, **kwargs)

    def post(self, link: str, path: str, **kwargs: Any):
        """``call("POST", ...)``."""
        return self.call("POST", link, path, **kwargs)

    def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            self._session.close()


class Injection:
    """One fault as a context manager: injected on enter, reverted on exit (always)."""

    def __init__(self, injector: "Injector", spec: Any):
        self.injector, self.spec = injector, spec
        self.activation = None
        self.first_call = 0
        self.last_call: int | None = None

    @property
    def calls(self) -> list[Call]:
        """The calls made through the pipeline while this fault was active."""
        calls = self.injector.pipeline.calls
        return calls[self.first_call:self.last_call]

    def __enter__(self) -> "Injection":
        from harness.activation import FaultActivation
        from harness.faults.base import FaultContext

        injector = self.injector
        ctx = FaultContext(backend=injector.pipeline.backend, journal=injector.pipeline.journal,
                           rng=injector.rng, fault_name=self.spec.name, ledger=injector.ledger)
        activation = FaultActivation(self.spec, ctx)
        activation.__enter__()
        self.activation = activation
        self.first_call = len(injector.pipeline.calls)
        injector.active.append(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.activation is None:
            return
        self.last_call = len(self.injector.pipeline.calls)
        activation, self.activation = self.activation, None
        self.injector.active.remove(self)
        activation.__exit__(exc_type, exc, tb)


class Injector:
    """``inject.KIND(target, **params)`` builds an :class:`Injection` of a registered fault."""

    def __init__(self, pipeline: ChaosPipeline):
        import random

        from harness.ledger import TargetLedger

        self.pipeline, self.rng, self.ledger = pipeline, random.Random(pipeline.seed), TargetLedger()
        self.active: list[Injection] = []
        self._count = itertools.count(1)

    def __getattr__(self, kind: str):
        if kind.startswith("_"):
            raise AttributeError(kind)
        from harness.faults.registry import fault_kinds, get_fault

        if kind not in fault_kinds():
            raise AttributeError(f"no fault kind {kind!r}; known: {', '.join(sorted(fault_kinds()))}")
        fields = get_fault(kind).Params.model_fields

        def make(target: str | None = None, *, name: str | None = None, **params: Any) -> Injection:
            if "ms" in params:
                params[f"{kind}_ms"] = params.pop("ms")
            if target is not None:
                slot = next((f for f in ("link", "service") if f in fields), None)
                if slot is None:
                    raise TypeError(f"fault {kind!r} takes no link or service")
                params[slot] = target
            return self.fault(kind, params, name=name)
        return make

    def fault(self, kind: str, params: dict[str, Any], *, name: str | None = None) -> Injection:
        """An Injection of fault ``kind`` with ``params`` (the YAML shape's inner block)."""
        from harness.model import FaultSpec

        spec = FaultSpec.model_validate({"name": name or f"{kind}-{next(self._count)}", kind: params})
        return Injection(self, spec)

    def heal(self) -> None:
        """Revert every injection still active, newest first."""
        for injection in reversed(list(self.active)):
            injection.__exit__(None, None, None)


def _pipeline_dir(request: pytest.FixtureRequest) -> tuple[Path, str]:
    marker = request.node.get_closest_marker("chaos_pipeline")
    backend = (marker.kwargs.get("backend") if marker else None) or chosen_backend(request.config) or "process"
    if marker is not None and marker.args:
        return Path(request.config.invocation_params.dir, marker.args[0]), backend
    configured = request.config.getini("chaos_pipeline")
    if not configured:
        pytest.fail("chaos_pipeline needs @pytest.mark.chaos_pipeline('path/to/pipeline') "
                    "or the chaos_pipeline ini option", pytrace=False)
    return Path(configured[0]), backend


@pytest.fixture
def chaos_pipeline(request: pytest.FixtureRequest):
    """A running pipeline on the chosen backend for this test, torn down at the end."""
    from harness import __version__
    from harness.backends import get_backend
    from harness.journal import JOURNAL_FILE, Journal
    from harness.pipeline import load_pipeline
    from harness.runlock import RunLock
    from harness.timeline.records import RunFinished, RunStarted

    directory, backend_name = _pipeline_dir(request)
    pipeline = load_pipeline(directory)
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in request.node.name)[:60]
    run_dir = reports_dir(request.config) / f"{time.strftime('%Y%m%d-%H%M%S')}-pytest-{safe}-{secrets.token_hex(3)}"
    (run_dir / "logs").mkdir(parents=True)
    lock = RunLock.acquire(run_dir)
    journal = Journal(run_dir / JOURNAL_FILE)
    journal.emit(RunStarted(run_id=run_dir.name, scenario={"name": safe, "pipeline": str(directory)},
                            backend=backend_name, harness_version=__version__, pid=os.getpid(),
                            argv=[request.node.nodeid]))
    backend = get_backend(backend_name)(pipeline=pipeline, run_dir=run_dir, journal=journal, seed=0)
    running = ChaosPipeline(backend=backend, pipeline=pipeline, run_dir=run_dir, journal=journal)
    try:
        backend.up()
        yield running
    finally:
        try:
            running.close()
            backend.down()
            journal.emit(RunFinished(status="completed"))
            journal.close()
        finally:
            lock.release()


@pytest.fixture
def chaos_toxiproxy(chaos_pipeline: ChaosPipeline):
    """The Toxiproxy-API client of ``chaos_pipeline``'s fault proxy (one proxy per link)."""
    return chaos_pipeline.backend.proxies


@pytest.fixture
def inject(chaos_pipeline: ChaosPipeline):
    """Faults on ``chaos_pipeline`` as context managers; every one healed by the end."""
    injector = Injector(chaos_pipeline)
    try:
        yield injector
    finally:
        injector.heal()
