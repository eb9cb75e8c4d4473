"""POST /predict bodies: every bad shape is a counted 4xx with a message, never a 5xx; /metrics parses."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import Service, txn

import answers  # noqa: E402
import request_checks  # noqa: E402


def renamed(old: str, new: str) -> dict:
    body = txn(5)
    body[new] = body.pop(old)
    return body


def without(field: str) -> dict:
    body = txn(5)
    del body[field]
    return body


BAD_BODIES = [
    # (what the client did, body, field, kind)
    ("renamed field", renamed("amount", "amt"), "amount", "missing"),
    ("missing field", without("merchant_category"), "merchant_category", "missing"),
    ("string where a number was", txn(5, amount="42.5"), "amount", "wrong_type"),
    ("string entity id", txn("5"), "entity_id", "wrong_type"),
    ("float hour", txn(5, hour=3.0), "hour", "wrong_type"),
    ("boolean amount", txn(5, amount=True), "amount", "wrong_type"),
    ("number where a string was", txn(5, transaction_id=17), "transaction_id", "wrong_type"),
    ("nested object", txn(5, amount={"value": 1}), "amount", "wrong_type"),
    ("hour out of range", txn(5, hour=24), "hour", "out_of_range"),
    ("negative amount", txn(5, amount=-1), "amount", "out_of_range"),
    ("empty category", txn(5, merchant_category=""), "merchant_category", "out_of_range"),
    ("entity id beyond int64", txn(2**64), "entity_id", "out_of_range"),
    ("a list, not an object", [txn(5)], "body", "not_an_object"),
]


def rejections(svc: Service) -> dict[str, float]:
    return {k: v for k, v in svc.metrics().items() if k.startswith("request_rejections_total")}


@pytest.mark.parametrize("what, body, field, kind", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_body_is_a_counted_422(model_server: Service, what, body, field, kind) -> None:
    key = f'request_rejections_total{{field="{field}",kind="{kind}"}}'
    before = rejections(model_server)
    with model_server.http() as http:
        resp = http.post("/predict", json=body)
    assert resp.status_code == 422, (what, resp.text)
    out = resp.json()
    assert out["message"].startswith(f"{field}: "), out
    assert {"type", "loc", "msg"} <= set(out["detail"][0]) and "input" not in out["detail"][0]
    after = rejections(model_server)
    assert after[key] - before.get(key, 0) == 1, (what, after)
    assert sum(after.values()) - sum(before.values()) == len(out["detail"])


@pytest.mark.parametrize("raw, kind", [
    (b'{"transaction_id": "t", "entity_id": 1, "amount": 1e999, "hour": 1, "merchant_category": "fuel"}',
     "out_of_range"),  # FastAPI's own handler answers this with a 500 (it echoes inf)
    (b'{"transaction_id": "t", "entity_id": 1, "amount": NaN, "hour": 1, "merchant_category": "fuel"}',
     "out_of_range"),
    (b"{not json", "malformed_json"),
    (b"", "missing"),
    (b'"just a string"', "not_an_object"),
])
def test_unparsable_bodies_are_422_not_500(model_server: Service, raw: bytes, kind: str) -> None:
    before = rejections(model_server)
    with model_server.http() as http:
        resp = http.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["message"]
    after = rejections(model_server)
    assert sum(v for k, v in after.items() if f'kind="{kind}"' in k) - \
        sum(v for k, v in before.items() if f'kind="{kind}"' in k) == 1


def test_extra_fields_are_ignored_and_counted(model_server: Service) -> None:
    before = model_server.metrics()["request_extra_fields_total"]
    plain = model_server.predict(txn(6))
    extra = model_server.predict(txn(6, device="ios", amount_cents=4250))
    assert extra == plain  # the unknown fields changed nothing
    assert model_server.metrics()["request_extra_fields_total"] - before == 1


def test_every_answer_carries_every_flag(model_server: Service) -> None:
    for body in (txn(7), txn(10_000_000)):  # the model's answer and a fallback
        out = model_server.predict(body)
        assert list(out) == ["transaction_id", "score", "model_version", "fallback", "reason", *answers.FLAGS[1:]]
        assert all(isinstance(out[flag], bool) for flag in answers.FLAGS)


def test_rejection_kinds() -> None:
    assert request_checks.rejection_kind("float_parsing") == "wrong_type"
    assert request_checks.rejection_kind("string_type") == "wrong_type"
    assert request_checks.rejection_kind("less_than_equal") == "out_of_range"
    assert request_checks.rejection_kind("something_new") == "invalid"


def test_metrics_parse_with_prometheus_client(model_server: Service, feature_server: Service) -> None:
    model_server.predict(txn(8))
    with model_server.http() as http:
        http.post("/predict", json=txn(8, hour=99))
        families = {f.name: f for f in text_string_to_metric_families(http.get("/metrics").text)}
    kinds = {name: f.type for name, f in families.items()}
    for counter in ("http_requests", "predictions", "prediction_fallbacks", "prediction_flags",
                    "request_rejections", "request_extra_fields", "feature_fetch_attempts",
                    "feature_validation_failures", "feature_freshness_failures", "feature_schema_drift",
                    "circuit_breaker_opens", "model_reloads", "model_load_failures"):
        assert kinds[counter] == "counter", counter
    for gauge in ("circuit_breaker_state", "model_loaded", "model_degraded", "feature_validation_enabled",
                  "model_info"):
        assert kinds[gauge] == "gauge", gauge
    assert kinds["http_request_duration_seconds"] == kinds["feature_fetch_duration_seconds"] == "histogram"
    flags = {s.labels["flag"]: s.value for s in families["prediction_flags"].samples}
    assert set(flags) == set(answers.FLAGS)
    reasons = {s.labels["reason"] for s in families["prediction_fallbacks"].samples}
    assert reasons == set(answers.REASONS)
    assert [s.value for s in families["model_degraded"].samples] == [0.0]
    assert [s.value for s in families["feature_validation_enabled"].samples] == [1.0]
    with feature_server.http() as http:
        fs = {f.name: f.type for f in text_string_to_metric_families(http.get("/metrics").text)}
    assert fs == {"feature_requests": "counter"}
