"""The measuring instrument on real runs (embedded backend): stalls are counted from intent.

Real pipeline processes, real proxy, real Locust paced by the harness's own schedule;
the numbers are read from report.json (checks in ``tests/e2e/truth.py``, shared with
the docker twins in ``tests/docker/test_truth_docker.py``). Each run has 12 s of load.
"""

import pytest

from tests.e2e import truth
from tests.e2e.conftest import assert_nothing_left, chaos_run

pytestmark = pytest.mark.slow


def test_a_4_s_freeze_counts_the_due_requests_and_measures_latency_from_intent(reports_dir):
    result, run_dir, report = chaos_run("freeze.yaml", reports_dir)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    truth.check_freeze(report)
    assert_nothing_left(run_dir)


def test_a_black_holed_ingress_fails_a_latency_slo_during_it(reports_dir):
    result, run_dir, report = chaos_run("black-hole.yaml", reports_dir)
    assert result.returncode == 1, result.stdout + result.stderr
    truth.check_black_hole(result.returncode, report)
    assert_nothing_left(run_dir)
