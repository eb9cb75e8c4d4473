"""The golden answers' metrics per window, over a golden-answers.jsonl whose truth is known."""

import json

import numpy as np
import pytest

from harness.correctness import read_golden_log, window_correctness
from harness.drift import ks, psi
from harness.golden import is_right

ZERO = 1_700_000_000.0


def write(tmp_path, answers):
    (tmp_path / "golden-answers.jsonl").write_text("".join(json.dumps(a) + "\n" for a in answers))


def answer(t, *, right=True, flagged=False, status=200, score=0.1, service_ms=5.0):
    return {"ts": ZERO + t, "case": f"c{t}", "status": status, "service_ms": service_ms, "right": right,
            "flagged": flagged, "values": {"score": score}}


def test_accuracy_silent_wrong_and_drift_per_window(tmp_path):
    rng = np.random.default_rng(1)
    base_scores = rng.normal(0.3, 0.05, 100)
    hit_scores = rng.normal(0.3, 0.05, 100) + 0.1
    baseline = [answer(i * 0.05, score=float(s)) for i, s in enumerate(base_scores)]  # [0, 5) s
    # [10, 15): every 4th flagged wrong (a fallback), every 4th+1 silently wrong, one 503
    during = [answer(10 + i * 0.05, right=i % 4 > 1, flagged=i % 4 == 0, score=float(s))
              for i, s in enumerate(hit_scores)]
    during[-1] = answer(10 + 99 * 0.05, right=False, status=503, score=None)
    write(tmp_path, baseline + during)
    log = read_golden_log(tmp_path, ZERO)
    base = window_correctness(log, 0, 5, (0, 5))
    assert (base["golden_requests"], base["golden_accuracy"], base["silent_wrong_rate"]) == (100, 1.0, 0.0)
    assert base["prediction_drift_psi"] == 0.0 and base["score_drift_ks"] == 0.0
    hit = window_correctness(log, 10, 15, (0, 5))
    assert hit["golden_requests"] == 100
    assert hit["golden_accuracy"] == pytest.approx(49 / 100)  # i % 4 in (2, 3), the 503 (i = 99) not
    assert hit["silent_wrong_rate"] == pytest.approx(25 / 100)  # i % 4 == 1, 200 and not flagged
    assert hit["prediction_drift_psi"] == pytest.approx(psi(base_scores, hit_scores[:-1]))
    assert hit["prediction_drift_ks"] == pytest.approx(ks(base_scores, hit_scores[:-1]))
    assert hit["prediction_drift_psi"] > 1.0  # two standard deviations apart
    empty = window_correctness(log, 6, 9, (0, 5))
    assert empty["golden_requests"] == 0 and empty["golden_accuracy"] is None and empty["prediction_drift_ks"] is None


def test_an_answer_in_flight_when_a_fault_began_counts_in_the_fault(tmp_path):
    write(tmp_path, [answer(4.99, service_ms=30.0, right=False), answer(4.0)])
    log = read_golden_log(tmp_path, ZERO, injections=[(5.0, 5.01)])  # C = 5.0, I = 5.01
    assert list(log.at) == [4.0, 5.01]
    assert window_correctness(log, 0, 5.01, (0, 5.01))["golden_accuracy"] == 1.0


def test_no_golden_file_is_no_log(tmp_path):
    assert read_golden_log(tmp_path, ZERO) is None
    assert window_correctness(None, 0, 1, (0, 1)) == {}


@pytest.mark.parametrize("answer_, right", [
    ({"score": 0.1000, "fallback": False}, True),
    ({"score": 0.1049, "fallback": False}, True),   # within abs 1e-4 + 5%
    ({"score": 0.1060, "fallback": False}, False),
    ({"score": 0.1, "fallback": True}, False),
    ({"score": "0.1", "fallback": False}, False),
    ({"fallback": False}, False),
    ([], False),
])
def test_the_rule_of_a_golden_case(answer_, right):
    case = {"request": {}, "expect": {"score": 0.1, "fallback": False},
            "tolerance": {"score": {"abs": 1e-4, "rel": 0.05}}}
    assert is_right(case, answer_) is right


def test_drift_is_against_the_known_answers_of_the_same_cases(tmp_path):
    rng = np.random.default_rng(2)
    known = rng.uniform(0.0, 0.2, 200)  # 200 cases; the baseline replays the first 50 only

    def replay(t, k, shift=0.0):
        return {**answer(t, score=float(known[k] + shift)), "expected": {"score": float(known[k])}}

    healthy = [replay(i * 0.05, i) for i in range(50)] + [replay(10 + i * 0.05, 50 + i) for i in range(150)]
    shifted = [replay(20 + i * 0.05, i, shift=0.05) for i in range(200)]
    write(tmp_path, healthy + shifted)
    log = read_golden_log(tmp_path, ZERO)
    other_cases = window_correctness(log, 10, 18, (0, 3))
    assert other_cases["golden_requests"] == 150
    assert other_cases["prediction_drift_psi"] == 0.0 and other_cases["prediction_drift_ks"] == 0.0
    moved = window_correctness(log, 20, 30, (0, 3))
    assert moved["prediction_drift_psi"] == pytest.approx(psi(known, known + 0.05))
    assert moved["prediction_drift_ks"] == pytest.approx(ks(known, known + 0.05))
