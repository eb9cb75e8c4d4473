"""One set of assertions, run against the fake backend and the process backend (real
processes of the tiny pipeline, a real proxy server): the fake has the real one's
surface, errors and records, so runner tests and dry runs on it mean something."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.backends.base import Backend
from harness.backends.fake import FakeBackend
from harness.backends.process import ProcessBackend
from harness.clock import SystemClock
from harness.drivers.base import ProxyDriver
from harness.errors import DriverError
from harness.journal import Journal, read_records
from harness.pipeline import load_pipeline
from harness.timeline.records import (EnvOverridden, PipelineDown, PipelineUp, ServiceKilled, ServicePaused,
                                      ServiceResumed)

TINY = Path(__file__).resolve().parents[1] / "pipelines" / "tiny"


@pytest.fixture(params=["fake", "process"])
def backend(request, tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    kwargs = {"pipeline": load_pipeline(TINY), "run_dir": tmp_path, "journal": journal, "seed": 3}
    made = FakeBackend(**kwargs, clock=SystemClock()) if request.param == "fake" else ProcessBackend(**kwargs)
    try:
        yield made
    finally:
        made.down()
        journal.close()


def _records(backend, cls) -> list:
    return [r for r in read_records(backend.journal.path.parent) if isinstance(r, cls)]


def test_up_proxies_every_link_and_down_is_idempotent(backend):
    assert isinstance(backend, Backend)
    backend.up()
    assert isinstance(backend.proxies, ProxyDriver)
    url = backend.link_url("ingress")
    assert url.startswith("http://127.0.0.1:") and int(url.rsplit(":", 1)[1]) > 0
    (up,) = _records(backend, PipelineUp)
    assert list(up.links) == ["ingress"] and list(up.services) == ["echo"]
    backend.proxies.resolve("ingress")
    backend.down()
    backend.down()  # safe twice (each says so in the journal)
    assert _records(backend, PipelineDown)


def test_an_unknown_service_or_link_is_named_with_the_known_ones(backend):
    backend.up()
    with pytest.raises(DriverError, match=r"no running service 'nope'; services: echo"):
        backend.resolve("nope")
    with pytest.raises(DriverError, match=r"no running service 'nope'; services: echo"):
        backend.kill("nope")
    with pytest.raises(DriverError, match=r"declares no stores"):
        backend.store()


def test_kill_answers_when_the_signal_was_sent_and_is_journaled(backend):
    backend.up()
    backend.resolve("echo")
    before = time.time()
    sent = backend.kill("echo", "SIGKILL")
    assert before <= sent <= time.time()
    (killed,) = _records(backend, ServiceKilled)
    assert (killed.service, killed.signal, killed.sent_at) == ("echo", "SIGKILL", sent)


def test_pause_and_resume_answer_when_they_took_effect_and_are_journaled(backend):
    backend.up()
    before = time.time()
    paused, resumed = backend.pause("echo"), backend.resume("echo")
    assert before <= paused <= resumed <= time.time()
    assert [r.service for r in _records(backend, (ServicePaused, ServiceResumed))] == ["echo", "echo"]


@pytest.mark.parametrize("kind", ["fake", "process"])
def test_a_scenario_env_is_journaled_at_up_and_services_are_reached_on_loopback(kind, tmp_path):
    with Journal(tmp_path / "journal.jsonl") as journal:
        kwargs = {"pipeline": load_pipeline(TINY), "run_dir": tmp_path, "journal": journal,
                  "env": {"echo": {"GREETING": "hi"}}}
        made = FakeBackend(**kwargs, clock=SystemClock()) if kind == "fake" else ProcessBackend(**kwargs)
        try:
            made.up()
            urls = made.service_urls()
        finally:
            made.down()
    (overridden,) = [r for r in read_records(tmp_path) if isinstance(r, EnvOverridden)]
    assert overridden.services == {"echo": {"GREETING": "hi"}}
    assert set(urls) <= {"echo"} and all(u.startswith("http://127.0.0.1:") for u in urls.values())
