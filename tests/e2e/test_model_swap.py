"""``model_swap`` end to end on the embedded backend (``tests/scenarios/e2e/model-swap.yaml``):
the served model replaced by corrupt bytes, then by its older version, each restored
with its checksum verified; what the reference pipeline and the golden set make of it."""

import pytest

from tests.e2e.conftest import assert_nothing_left, chaos_run, window

pytestmark = pytest.mark.slow


def test_a_corrupt_model_is_flagged_and_an_older_one_is_silently_wrong(reports_dir):
    result, run_dir, report = chaos_run("model-swap.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    artifacts = {a["fault"]: a for a in report["data"]["artifacts"]}
    assert set(artifacts) == {"corrupt-model", "older-model"}
    for a in artifacts.values():
        assert a["restored"] and a["checksum_after"] == a["checksum_before"] != a["checksum_swapped"]
    assert artifacts["older-model"]["source"].endswith(".pkl")
    corrupt, older = window(report, "corrupt-model"), window(report, "older-model")
    # refused by checksum: the last good model answers, flagged (the server polls the file every 1 s of 5)
    assert corrupt["model_degraded_rate"] > 0.6 and corrupt["error_rate"] == 0
    assert corrupt["correctness"]["golden_accuracy"] == 1.0
    assert corrupt["correctness"]["prediction_drift_psi"] == 0.0
    # a known, older version is served without a flag: golden 88% wrong after the poll
    assert older["model_degraded_rate"] == 0 and older["error_rate"] == 0
    assert older["correctness"]["silent_wrong_rate"] > 0.5
    assert older["correctness"]["prediction_drift_ks"] > 0
    baseline = window(report, "baseline")["correctness"]
    assert (baseline["golden_accuracy"], baseline["silent_wrong_rate"]) == (1.0, 0.0)
    assert not list(run_dir.glob("*.chaos-orig-*"))
    assert_nothing_left(run_dir)
