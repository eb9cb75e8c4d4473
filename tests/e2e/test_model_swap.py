"""``model_swap`` end to end on the embedded backend (``tests/scenarios/e2e/model-swap.yaml``):
the served model replaced by corrupt bytes, then by its older version, each restored
with its checksum verified; what the reference pipeline and the golden set make of it
(``model_swap_checks.py``, shared with the docker twin)."""

from pathlib import Path

import pytest

from tests.e2e.conftest import assert_nothing_left, chaos_run
from tests.e2e.model_swap_checks import check_model_swap, run_least_fallback

pytestmark = pytest.mark.slow


def test_a_corrupt_model_is_flagged_and_an_older_one_is_silently_wrong(reports_dir):
    result, run_dir, report = run_least_fallback(lambda: chaos_run("model-swap.yaml", reports_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    artifacts = check_model_swap(report)
    model_dir = Path(artifacts["corrupt-model"]["path"]).parent
    assert model_dir.is_dir() and not list(model_dir.glob("*.chaos-orig-*"))  # the backups went too
    assert_nothing_left(run_dir)
