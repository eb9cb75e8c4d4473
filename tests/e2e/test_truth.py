"""Known truth on real runs of the embedded backend: the report held to the run's own files.

Real pipeline processes, real proxy, real Locust. Each expected figure is derived in
the test from ``journal.jsonl`` and ``requests.jsonl`` (``tests/e2e/truth.py``), not
from a wall-clock guess: the faults' call, effect and heal times, and the moment
requests succeed again. The same checks run on docker in ``tests/docker/test_truth_docker.py``;
``bench/truth_corpus.py`` repeats the two-fault run N times per backend.
"""

import pytest

from tests.e2e import truth
from tests.e2e.conftest import assert_nothing_left, chaos_run

pytestmark = pytest.mark.slow


def test_ingress_refused_for_5_s_errs_only_inside_and_recovery_is_the_truth(reports_dir):
    result, run_dir, report = chaos_run("truth-refused.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    truth.check_refused(run_dir, report)
    assert_nothing_left(run_dir)


def test_killed_model_server_recovery_is_when_requests_succeed_again(reports_dir):
    result, run_dir, report = chaos_run("truth-kill.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    truth.check_kill(run_dir, report)
    assert_nothing_left(run_dir)


def test_feature_latency_then_a_kill_5_s_later_the_first_recovers_at_once(reports_dir):
    result, run_dir, report = chaos_run("truth-two-faults.yaml", reports_dir)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # an SLO may miss on a busy machine
    truth.check_two_faults(run_dir, report)
    assert_nothing_left(run_dir)
