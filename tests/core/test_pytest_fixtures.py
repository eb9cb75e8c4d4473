"""The ``inject`` helper's own logic on the fake backend: arguments to fault params,
one undo per injection, healing on an exception and at teardown."""

from pathlib import Path

import pytest

from harness.backends.fake import FakeBackend
from harness.clock import SystemClock
from harness.journal import Journal, read_records
from harness.pipeline import load_pipeline
from harness.pytest_fixtures import ChaosPipeline, Injector
from harness.timeline.records import FaultInjected, FaultReverted

TINY = Path(__file__).resolve().parents[1] / "pipelines" / "tiny"


@pytest.fixture
def injector(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    backend = FakeBackend(pipeline=load_pipeline(TINY), run_dir=tmp_path, journal=journal, clock=SystemClock())
    backend.up()
    yield Injector(ChaosPipeline(backend=backend, pipeline=backend.pipeline, run_dir=tmp_path, journal=journal))
    backend.down()
    journal.close()


def _actions(injector):
    return [(c.action, getattr(c, "proxy", getattr(c, "service", ""))) for c in injector.pipeline.backend.calls
            if c.action in ("add_toxic", "remove_toxic", "kill", "pause", "resume", "set_enabled")]


def test_arguments_become_the_kinds_params(injector):
    slow = injector.latency("ingress", ms=300, jitter_ms=5)
    assert slow.spec.kind == "latency" and slow.spec.name == "latency-1"
    assert (slow.spec.params.link, slow.spec.params.latency_ms, slow.spec.params.jitter_ms) == ("ingress", 300, 5)
    assert injector.kill("echo").spec.params.service == "echo"
    assert injector.timeout("ingress", ms=0, name="black-hole").spec.name == "black-hole"
    with pytest.raises(AttributeError, match="no fault kind 'slowness'; known: .*latency"):
        injector.slowness("ingress")


def test_each_with_injects_once_and_heals_even_when_the_body_raises(injector, tmp_path):
    with injector.latency("ingress", ms=300):
        assert _actions(injector) == [("add_toxic", "ingress")]
    with pytest.raises(KeyError):
        with injector.pause("echo"):
            raise KeyError("the test's own failure")
    assert _actions(injector) == [("add_toxic", "ingress"), ("remove_toxic", "ingress"),
                                  ("pause", "echo"), ("resume", "echo")]
    records = read_records(tmp_path)
    assert [r.fault for r in records if isinstance(r, FaultInjected)] == ["latency-1", "pause-2"]
    assert [(r.fault, r.ok, r.interrupted) for r in records if isinstance(r, FaultReverted)] == [
        ("latency-1", True, False), ("pause-2", True, True)]


def test_heal_reverts_what_was_entered_and_never_left(injector):
    first, second = injector.latency("ingress", ms=10), injector.down("ingress")
    first.__enter__()
    second.__enter__()
    injector.heal()
    assert injector.active == []
    assert _actions(injector)[-2:] == [("set_enabled", "ingress"), ("remove_toxic", "ingress")]  # newest first
    injector.heal()  # nothing left: nothing more happens
    assert len(_actions(injector)) == 4
