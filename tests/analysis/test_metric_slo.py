"""Metric expressions over scraped series whose truth is known, and the text parser."""

import pytest

from harness.metric_slo import evaluate_metric_slo
from harness.metrics_scrape import parse_expression, parse_samples
from harness.model import Expect

T0 = 1_000.0


def scrapes():
    out = []
    for k in range(11):  # 10 s, two label sets on one service, one on another
        out.append({"ts": T0 + k, "service": "a", "samples": {
            'fallbacks_total{reason="timeout"}': 2.0 * k, 'fallbacks_total{reason="circuit"}': 1.0 * k,
            "breaker_state": 1.0 if 3 <= k <= 5 else 0.0}})
        out.append({"ts": T0 + k, "service": "b", "samples": {'fallbacks_total{reason="timeout"}': 10.0}})
    return out


@pytest.mark.parametrize("text, observed, status", [
    ("rate(fallbacks_total) < 5/s", 3.0, "passed"),           # 2/s + 1/s + 0/s
    ("increase(fallbacks_total) >= 30", 30.0, "passed"),
    ('rate(fallbacks_total{reason="timeout"}) < 1', 2.0, "failed"),
    ("max(breaker_state) == 0", 1.0, "failed"),
    ("last(breaker_state) == 0", 0.0, "passed"),
    ("min(fallbacks_total) > 5", 10.0, "passed"),             # k = 0: 0 + 0 + 10
])
def test_expressions_over_known_series(text, observed, status):
    verdict = evaluate_metric_slo(text, scrapes(), T0, T0 + 10)
    assert (verdict.observed, verdict.status.value) == (pytest.approx(observed), status)


def test_no_samples_is_unknown_and_the_window_bounds_the_samples():
    assert evaluate_metric_slo("max(nothing) == 0", scrapes(), T0, T0 + 10).status.value == "unknown"
    assert evaluate_metric_slo("max(breaker_state) == 0", scrapes(), T0 + 6, T0 + 10).status.value == "passed"


def test_a_window_counts_from_the_scrape_before_it_to_the_scrape_after_it():
    """fallbacks_total grows 3/s on a and stays 10 on b; the window [2.5, 6.5] is widened to [2, 7]."""
    assert evaluate_metric_slo("increase(fallbacks_total[hit]) == 15", scrapes(), T0 + 2.5, T0 + 6.5).observed \
        == pytest.approx(15.0)  # the scrapes inside alone (3..6) would say 9
    assert evaluate_metric_slo("rate(fallbacks_total[hit]) == 3", scrapes(), T0 + 2.5, T0 + 6.5).status.value \
        == "passed"
    # gauges: the scrapes inside the window only (k = 3, 4, 5 -> 1; k = 6 -> 0)
    assert evaluate_metric_slo("max(breaker_state[hit]) == 0", scrapes(), T0 + 5.5, T0 + 9).status.value \
        == "passed"
    assert parse_expression("increase(x{a=\"1\"}[renamed]) > 2").window == "renamed"
    assert parse_expression("increase(x) > 2").window is None


def test_a_label_set_that_appears_mid_run_counts_from_zero():
    rows = [{"ts": T0 + k, "service": "a", "samples": {} if k < 3 else {'rejections_total{field="x"}': 5.0 * (k - 2)}}
            for k in range(6)]
    assert evaluate_metric_slo("increase(rejections_total) == 15", rows, T0, T0 + 5).observed == 15.0


def test_bad_expressions_are_refused_when_the_scenario_loads():
    for text in ("p99(x) < 1", "rate(x) ~ 1", "rate() < 1"):
        with pytest.raises(ValueError):
            parse_expression(text)
    with pytest.raises(ValueError, match="FUNCTION"):
        Expect.model_validate({"metrics": ["avg(x) < 1"]})


def test_prometheus_text_is_parsed_with_labels_sorted():
    text = ('# TYPE req counter\nreq_total{b="2",a="1"} 3\n# TYPE up gauge\nup 1\n')
    assert parse_samples(text) == {'req_total{a="1",b="2"}': 3.0, "up": 1.0}
