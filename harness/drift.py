"""How far a window's answers moved from the baseline's: PSI and the two-sample KS statistic.

* **PSI** (population stability index) over ``bins`` bins cut at the baseline's
  quantiles (``numpy.quantile``, linear; repeated edges merged; the outer bins open to
  ±inf): ``sum((a_i - e_i) * ln(a_i / e_i))`` with ``e_i``/``a_i`` the baseline's and
  the window's share in bin ``i``, each floored at :data:`PSI_FLOOR` so that an empty
  bin counts as very unlikely rather than infinite. 0 for the same distribution; the
  usual reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 a major one.
* **KS**: the two-sample Kolmogorov-Smirnov statistic (``scipy.stats.ks_2samp``), the
  largest gap between the two empirical CDFs, 0 to 1.

Both are None when either side has no values (no evidence of anything).

>>> round(psi(np.arange(1000.0), np.arange(1000.0)), 6), ks(np.arange(10.0), np.arange(10.0))
(0.0, 0.0)
"""

from __future__ import annotations

import numpy as np

PSI_BINS = 10
PSI_FLOOR = 1e-4


def _finite(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def psi(baseline, window, *, bins: int = PSI_BINS) -> float | None:
    """The PSI of ``window`` against ``baseline`` (see the module docstring)."""
    expected, actual = _finite(baseline), _finite(window)
    if not len(expected) or not len(actual):
        return None
    inner = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(inner, expected, side="right"), minlength=len(inner) + 1) / len(expected)
    a = np.bincount(np.searchsorted(inner, actual, side="right"), minlength=len(inner) + 1) / len(actual)
    e, a = np.maximum(e, PSI_FLOOR), np.maximum(a, PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def ks(baseline, window) -> float | None:
    """The two-sample KS statistic of ``window`` against ``baseline``."""
    from scipy.stats import ks_2samp

    expected, actual = _finite(baseline), _finite(window)
    if not len(expected) or not len(actual):
        return None
    return float(ks_2samp(expected, actual).statistic)
