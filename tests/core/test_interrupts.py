"""RunGuard: SIGINT and SIGTERM raise once before teardown, are only noted after it, wait
for a fault step to finish, and another thread's abort reaches the main thread."""

import os
import signal
import threading
import time

import pytest

from harness.errors import RunAborted
from harness.interrupts import RunGuard
from harness.journal import Journal, read_jsonl


def _until_raised(seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "journal.jsonl") as journal:
        yield journal


def test_the_first_signal_raises_later_ones_are_noted(journal):
    with RunGuard(journal) as guard:
        journal.enter_phase("inject")
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            os.kill(os.getpid(), signal.SIGTERM)
            _until_raised()
        journal.enter_phase("teardown")
        os.kill(os.getpid(), signal.SIGINT)  # noted only: the teardown must go on
        time.sleep(0.05)
    assert guard.signals == ["SIGTERM", "SIGINT"]
    received = [(r["signal"], r["phase"]) for r in read_jsonl(journal.path) if r["kind"] == "signal_received"]
    assert received == [("SIGTERM", "inject"), ("SIGINT", "teardown")]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_a_signal_during_a_fault_step_raises_after_it(journal):
    steps = []
    with RunGuard(journal) as guard:
        with pytest.raises(KeyboardInterrupt):
            with guard.deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)
                steps.append("injected and journaled")
            steps.append("never")
    assert steps == ["injected and journaled"]


def test_after_hold_nothing_raises(journal):
    with RunGuard(journal) as guard:
        guard.hold()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
    assert guard.interrupted


def test_an_abort_from_another_thread_raises_in_the_main_thread(journal):
    with RunGuard(journal) as guard:
        started = time.monotonic()
        with pytest.raises(RunAborted, match="the proxy died"):
            threading.Thread(target=guard.abort, args=("the proxy died",)).start()
            _until_raised()
        assert time.monotonic() - started < 2.0
    assert not guard.interrupted  # an abort is no interrupt: exit 3, not 130
