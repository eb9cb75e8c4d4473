"""The checks of a ``model-swap.yaml`` run's ``report.json``, the same on every backend
(``tests/e2e/test_model_swap.py``, ``tests/docker/test_model_swap_docker.py``)."""

from tests.e2e.conftest import window


def check_model_swap(report: dict) -> dict[str, dict]:
    """Corrupt then older model, each restored to its checksum; what the golden set saw.
    Returns the report's ``data.artifacts`` by fault name."""
    __tracebackhide__ = True
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
    # a known, older version is served without a flag: most golden answers wrong after the poll
    assert older["model_degraded_rate"] == 0 and older["error_rate"] == 0
    assert older["correctness"]["silent_wrong_rate"] > 0.5
    assert older["correctness"]["prediction_drift_ks"] > 0
    baseline = window(report, "baseline")["correctness"]
    assert (baseline["golden_accuracy"], baseline["silent_wrong_rate"]) == (1.0, 0.0)
    return artifacts
