"""The checks of a ``model-swap.yaml`` run's ``report.json``, the same on every backend
(``tests/e2e/test_model_swap.py``, ``tests/docker/test_model_swap_docker.py``).

What the golden set sees of the model holds only while the model scores: an answer
whose feature read ran past the model server's deadline (``FEATURE_TIMEOUT_MS``) is
served by the fallback rule, flagged ``fallback``, whatever model is on disk. The
scenario raises that deadline to 1 s through its ``env``; on a machine others keep busy
reads can still burst past it, which can only make the fallback rate larger, so
:func:`run_least_fallback` runs the scenario up to three times and
judges the run whose windows fell back least (the house rule for timed checks: the
best of a few repeats).
"""

from typing import Callable

from tests.e2e.conftest import window

WINDOWS = ("baseline", "corrupt-model", "older-model")
FEATURES_HEALTHY = 0.05
"""Largest fallback rate in a window for its model figures to be judged."""


def worst_fallback(report: dict | None) -> float:
    """The largest ``fallback_rate`` of the scenario's windows (1.0 without a report)."""
    if report is None:
        return 1.0
    return max(window(report, name)["fallback_rate"] for name in WINDOWS)


def run_least_fallback(run: Callable[[], tuple], attempts: int = 3) -> tuple:
    """``run()`` until a run's windows fell back at most :data:`FEATURES_HEALTHY`, at most
    ``attempts`` times; the ``(result, run_dir, report)`` that fell back least."""
    runs = []
    for _ in range(attempts):
        runs.append(run())
        if worst_fallback(runs[-1][2]) <= FEATURES_HEALTHY:
            break
    return min(runs, key=lambda r: worst_fallback(r[2]))


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
    assert older["model_degraded_rate"] == 0 and older["error_rate"] == 0
    assert worst_fallback(report) <= FEATURES_HEALTHY, (
        f"feature reads fell back in {worst_fallback(report):.0%} of a window's answers on every attempt "
        f"(a busy machine): the model's answers could not be judged")
    assert corrupt["correctness"]["golden_accuracy"] == 1.0
    assert corrupt["correctness"]["prediction_drift_psi"] == 0.0
    # a known, older version is served without a flag: most golden answers wrong after the poll
    assert older["correctness"]["silent_wrong_rate"] > 0.5
    assert older["correctness"]["prediction_drift_ks"] > 0
    baseline = window(report, "baseline")["correctness"]
    assert (baseline["golden_accuracy"], baseline["silent_wrong_rate"]) == (1.0, 0.0)
    return artifacts
