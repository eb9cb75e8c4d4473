"""PSI and KS where the truth is known: predictions shifted by a set amount.

The expected figures are computed here independently of ``harness.drift``: PSI from
numpy histograms over the baseline's decile edges, KS as the largest gap between the
two empirical CDFs evaluated at every observed value (no scipy)."""

import numpy as np
import pytest

from harness.drift import ks, psi


def independent_psi(base, window, bins=10):
    edges = np.quantile(base, np.linspace(0, 1, bins + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    e = np.histogram(base, edges)[0] / len(base)
    a = np.histogram(window, edges)[0] / len(window)
    e, a = np.maximum(e, 1e-4), np.maximum(a, 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def independent_ks(base, window):
    points = np.concatenate([base, window])
    cdf = lambda sample: np.searchsorted(np.sort(sample), points, side="right") / len(sample)
    return float(np.max(np.abs(cdf(base) - cdf(window))))


@pytest.mark.parametrize("shift", [0.05, 0.2, 0.5, 1.0])
def test_a_known_shift_gives_psi_and_ks_within_10_percent_of_the_truth(shift):
    rng = np.random.default_rng(12)
    base = rng.normal(0.3, 0.5, 4000)
    window = rng.normal(0.3, 0.5, 2000) + shift
    truth_psi, truth_ks = independent_psi(base, window), independent_ks(base, window)
    assert psi(base, window) == pytest.approx(truth_psi, rel=0.10)
    assert ks(base, window) == pytest.approx(truth_ks, rel=0.10)
    # and against the closed form for a normal shifted by d: KS = 2*Phi(d/2s) - 1
    from math import erf, sqrt
    assert ks(base, window) == pytest.approx(erf(shift / 0.5 / 2 / sqrt(2)), abs=0.05)


def test_no_shift_is_no_drift_and_no_values_is_no_evidence():
    rng = np.random.default_rng(3)
    same = rng.normal(size=3000)
    assert psi(same, same) == 0.0 and ks(same, same) == 0.0
    assert psi(same, []) is None and ks([], same) is None
    assert psi(same, [np.nan, np.inf]) is None  # only finite values count


def test_drift_grows_with_the_shift():
    rng = np.random.default_rng(5)
    base = rng.normal(size=3000)
    shifts = [psi(base, rng.normal(size=1500) + d) for d in (0.0, 0.3, 0.6, 1.2)]
    assert shifts == sorted(shifts) and shifts[0] < 0.05 < shifts[-1]
