"""The recommender on its primary path: known answers, every flag, 4xx never 5xx, /metrics."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

import golden_set
from answer_fields import FLAGS, REASONS
from query_checks import MAX_K

from .conftest import Recommender


def test_every_golden_request_gets_its_known_answer(recommender: Recommender, golden_cases: list[dict]):
    with recommender.http() as http:
        answers = [http.get(case["request"]["path"]).json() for case in golden_cases]
    assert len(answers) == 200
    wrong = [case["id"] for case, got in zip(golden_cases, answers) if not golden_set.judge(case, got)]
    assert wrong == []
    assert not any(got[flag] for got in answers for flag in FLAGS)


def test_an_answer_carries_every_field_and_flag(recommender: Recommender):
    got = recommender.get(42, k=7)
    assert set(got) == {"user_id", "k", "items", "scores", "top_score", "model_version", "reason", *FLAGS}
    assert all(isinstance(got[flag], bool) for flag in FLAGS)
    assert got["user_id"] == 42 and got["k"] == 7 and len(got["items"]) == len(set(got["items"])) == 7
    assert got["scores"] == sorted(got["scores"], reverse=True) and got["top_score"] == got["scores"][0]
    assert got["model_version"].startswith("recsys-lr-s7-") and got["reason"] is None


def test_an_unknown_user_gets_the_popularity_list_and_says_why(recommender: Recommender, prepared: dict):
    from ranking_model import load_model

    popular = list(load_model(prepared["model_dir"], 7).popular)
    got = recommender.get(10_000_000, k=MAX_K)
    assert got["items"] == popular[:MAX_K]
    assert (got["popular_fallback"], got["reason"], got["scores"], got["top_score"]) == (True, "unknown_user", None,
                                                                                        None)
    assert got["model_version"] == "popularity-v1"


@pytest.mark.parametrize("query, field, kind", [
    ("", "user_id", "missing"), ("user_id=abc", "user_id", "wrong_type"), ("user_id=1.5", "user_id", "wrong_type"),
    ("user_id=-3", "user_id", "wrong_type"), ("user_id=1e3", "user_id", "wrong_type"),
    ("user_id=99999999999999999999", "user_id", "wrong_type"), ("user_id=9223372036854775808", "user_id", "out_of_range"),
    ("user_id=1&user_id=2", "user_id", "repeated"), ("user_id=1&k=0", "k", "out_of_range"),
    ("user_id=1&k=21", "k", "out_of_range"), ("user_id=1&k=ten", "k", "wrong_type"), ("user_id=%FF", "user_id", "wrong_type"),
])
def test_a_bad_query_is_a_counted_422_with_a_message(recommender: Recommender, query: str, field: str, kind: str):
    label = f'request_rejections_total{{field="{field}",kind="{kind}"}}'
    before = recommender.metrics().get(label, 0.0)
    with recommender.http() as http:
        resp = http.get(f"/recommendations?{query}")
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["message"].startswith(f"{field}: ") and body["detail"][0]["type"] == kind
    assert recommender.metrics()[label] == before + 1


def test_unknown_parameters_are_ignored_and_counted(recommender: Recommender):
    before = recommender.metrics()["request_extra_params_total"]
    with recommender.http() as http:
        resp = http.get("/recommendations?user_id=3&k=2&campaign=x")
    assert resp.status_code == 200 and len(resp.json()["items"]) == 2
    assert recommender.metrics()["request_extra_params_total"] == before + 1


def test_other_methods_and_paths_are_4xx(recommender: Recommender):
    with recommender.http() as http:
        assert http.post("/recommendations?user_id=1").status_code == 405
        assert http.get("/recommend?user_id=1").status_code == 404


def test_metrics_parse_with_prometheus_client_and_count_what_was_served(recommender: Recommender):
    before = recommender.metrics()
    recommender.get(5, k=3)
    recommender.get(20_000_000, k=3)
    text = recommender.metrics_text()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for name in ("http_requests", "http_request_duration_seconds", "recommendations", "recommendation_fallbacks",
                 "recommendation_flags", "request_rejections", "store_calls", "store_call_duration_seconds",
                 "feature_validation_failures", "feature_entity_failures", "feature_freshness_failures",
                 "feature_schema_drift", "items_dropped", "cache_lookups", "cache_entries", "circuit_breaker_state",
                 "circuit_breaker_opens", "model_info", "feature_validation_enabled"):
        assert name in families, name
    reasons = {s.labels["reason"] for s in families["recommendation_fallbacks"].samples if s.name.endswith("_total")}
    flags = {s.labels["flag"] for s in families["recommendation_flags"].samples if s.name.endswith("_total")}
    assert reasons == set(REASONS) and flags == set(FLAGS)  # declared at 0 from the start
    after = recommender.metrics()
    assert after['recommendations_total{fallback="false"}'] == before['recommendations_total{fallback="false"}'] + 1
    assert after['recommendation_fallbacks_total{reason="unknown_user"}'] == (
        before['recommendation_fallbacks_total{reason="unknown_user"}'] + 1)
    assert after['store_calls_total{outcome="ok"}'] == before['store_calls_total{outcome="ok"}'] + 2
    assert after["feature_validation_enabled"] == 1.0 and after["circuit_breaker_state"] == 0.0
