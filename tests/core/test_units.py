"""Durations and SLO thresholds: parse, print and compare."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.units import Threshold, format_duration, parse_duration


@pytest.mark.parametrize("text,seconds", [("15s", 15), ("500ms", 0.5), ("1.5m", 90), ("1h", 3600), (3, 3)])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["10 parsecs", "-3s", "", "s", True, None, -1])
def test_bad_durations_say_what_is_expected(bad):
    with pytest.raises(ValueError, match="duration|>= 0"):
        parse_duration(bad)


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_duration_round_trip(seconds):
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("text,observed,unit,holds", [
    ("< 1%", 0.009, None, True), ("< 1%", 0.01, None, False), ("<= 250", 250, "ms", True),
    ("> 50%", 0.6, None, True), ("< 2s", 1500, "ms", True), ("< 2s", 2500, "ms", False),
    ("< 500ms", 0.4, "s", True), (">= 100", 99, None, False),
])
def test_threshold_holds(text, observed, unit, holds):
    assert Threshold.parse(text).holds(observed, unit) is holds


@pytest.mark.parametrize("bad,why", [("< fast", "expected a number after '<'"), ("about 5", "comparison"),
                                     ("<", "expected a number"), ([1], "expected a string")])
def test_threshold_errors(bad, why):
    with pytest.raises(ValueError, match=why):
        Threshold.parse(bad)


@given(op=st.sampled_from(["<", "<=", ">", ">="]), value=st.integers(0, 10**6),
       unit=st.sampled_from(["", "%", "ms", "s"]))
def test_threshold_parse_print_round_trip(op, value, unit):
    text = f"{op} {value}{unit}"
    parsed = Threshold.parse(text)
    assert Threshold.parse(parsed.text) == parsed
    assert parsed.model_dump() == text


@given(bound=st.floats(0, 1000), observed=st.floats(0, 1000), extra=st.floats(0, 1000))
def test_upper_bounds_are_monotone(bound, observed, extra):
    if Threshold.parse(f"< {bound:.4f}").holds(observed):
        assert Threshold.parse(f"< {bound + extra:.4f}").holds(observed)
