"""model_server.py: primary path, every fallback reason, the breaker, /metrics."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Iterator

import pytest

from .conftest import SEED, BlackHole, Service, renamed_column, saved_row, txn

import fraud_model  # noqa: E402
import model_artifact  # noqa: E402
import model_server  # noqa: E402
from feature_checks import FeatureChecks  # noqa: E402


def predict(svc: Service, body: dict) -> dict:
    with svc.http() as http:
        resp = http.post("/predict", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_health_reports_model(model_server: Service) -> None:
    with model_server.http() as http:
        body = http.get("/health").json()
    assert body["status"] == "ok" and body["model_version"].startswith(f"fraud-lr-s{SEED}-")


def test_primary_path(model_server: Service, prepared: dict) -> None:
    body = txn(321, amount=250.0, hour=3, merchant_category="electronics")
    out = predict(model_server, body)
    assert out["fallback"] is False and out["reason"] is None
    assert out["transaction_id"] == "t-321"
    assert 0.0 <= out["score"] <= 1.0
    model = model_artifact.load_model(prepared["model_dir"], SEED)
    assert out["model_version"] == model.meta["model_version"]
    assert not any(out[flag] for flag in ("stale_features", "schema_drift", "model_degraded"))
    # The score is the sklearn model's, computed from the stored row.
    conn = sqlite3.connect(prepared["db"])
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute("SELECT * FROM features WHERE entity_id = 321").fetchone())
    conn.close()
    x = fraud_model.feature_vector(row, 250.0, 3, "electronics")
    assert out["score"] == pytest.approx(model.estimator.predict_proba(x)[0, 1], abs=1e-6)
    # Deterministic: the same transaction scores the same.
    assert predict(model_server, body) == out


def test_bad_body_is_422(model_server: Service) -> None:
    with model_server.http() as http:
        for bad in ({"entity_id": 1}, txn(1, hour=24), txn(1, amount=-1), txn("x"), txn(1, merchant_category="")):
            assert http.post("/predict", json=bad).status_code == 422, bad
        assert http.post("/predict", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422


def test_unknown_entity_is_missing_features(model_server: Service) -> None:
    out = predict(model_server, txn(10_000_000))
    assert out == {**out, "fallback": True, "reason": "missing_features", "model_version": "fallback-rule-v1"}
    assert out["score"] == pytest.approx(fraud_model.fallback_score(42.5, 14, "online_retail"), abs=1e-6)


@pytest.mark.parametrize("value", ["NaN", "high", None, float("inf"), 50.0, -3.0])
def test_corrupted_row_is_invalid_features(model_server: Service, prepared: dict, value) -> None:
    before = model_server.metrics()
    with saved_row(prepared["db"], 42) as conn:
        conn.execute("UPDATE features SET chargeback_rate = ? WHERE entity_id = 42", (value,))
        stored = conn.execute("SELECT typeof(chargeback_rate) FROM features WHERE entity_id = 42").fetchone()[0]
        out = predict(model_server, txn(42))
    assert out["fallback"] is True and out["reason"] == "invalid_features", (value, stored, out)
    assert predict(model_server, txn(42))["fallback"] is False  # restored
    after = model_server.metrics()
    assert after['prediction_fallbacks_total{reason="invalid_features"}'] == \
        before['prediction_fallbacks_total{reason="invalid_features"}'] + 1
    failures = lambda m: sum(v for k, v in m.items()
                             if k.startswith('feature_validation_failures_total{feature="chargeback_rate"'))
    assert failures(after) == failures(before) + 1


def test_renamed_column_is_missing_features(model_server: Service, prepared: dict) -> None:
    key = 'feature_validation_failures_total{feature="txn_count_24h",kind="missing"}'
    before = model_server.metrics().get(key, 0)
    with renamed_column(prepared["db"], "txn_count_24h", "txn_count_1d"):
        out = predict(model_server, txn(9))
        assert out["fallback"] is True and out["reason"] == "missing_features"
    assert predict(model_server, txn(9))["fallback"] is False
    assert model_server.metrics()[key] - before == 1


def test_metrics_move(model_server: Service) -> None:
    before = model_server.metrics()
    for i in range(3):
        predict(model_server, txn(1000 + i))
    with model_server.http() as http:
        assert http.post("/predict", json={"bad": 1}).status_code == 422
    after = model_server.metrics()
    key = 'http_requests_total{handler="/predict",method="POST",code="200"}'
    assert after[key] - before.get(key, 0) == 3
    bad = 'http_requests_total{handler="/predict",method="POST",code="422"}'
    assert after[bad] - before.get(bad, 0) == 1
    ok = 'predictions_total{fallback="false"}'
    assert after[ok] - before.get(ok, 0) == 3
    lat = 'http_request_duration_seconds_count{handler="/predict"}'
    assert after[lat] - before.get(lat, 0) == 4
    fetched = 'feature_fetch_attempts_total{outcome="ok"}'
    assert after[fetched] - before.get(fetched, 0) == 3  # a series appears at its first event
    assert after["circuit_breaker_state"] == 0 and after["model_loaded"] == 1


class StubFeatures:
    """A feature server whose health the test switches: 'ok' or 'fail' (HTTP 500)."""

    def __init__(self) -> None:
        self.mode = "fail"
        self.hits = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                stub.hits += 1
                if stub.mode == "ok":
                    feats = {n: (lo + hi) / 4 for n, (lo, hi) in fraud_model.FEATURE_DOMAIN.items()}
                    payload, code = json.dumps({"entity_id": 1, "features": feats, "updated_at": "x"}).encode(), 200
                else:
                    payload, code = b'{"detail": "boom"}', 500
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def degraded(prepared: dict) -> Iterator[SimpleNamespace]:
    """Two model servers, started in parallel: one behind a black hole, one behind the stub."""
    hole, stub = BlackHole(), StubFeatures()
    common = {"MODEL_DIR": str(prepared["model_dir"]), "MODEL_SEED": str(SEED), "FEATURE_RETRIES": "1"}
    slow = Service("model_server", {**common, "FEATURE_URL": hole.url, "FEATURE_TIMEOUT_MS": "100",
                                    "BREAKER_FAILURES": "5", "BREAKER_RESET_S": "30"}, prepared["root"])
    flaky = Service("model_server", {**common, "FEATURE_URL": stub.url, "BREAKER_FAILURES": "3",
                                     "BREAKER_RESET_S": "2", "FEATURE_TIMEOUT_MS": "5000"}, prepared["root"])
    try:
        slow.wait_healthy()
        flaky.wait_healthy()
        yield SimpleNamespace(slow=slow, flaky=flaky, stub=stub)
    finally:
        slow.stop()
        flaky.stop()
        hole.close()
        stub.close()


def test_slow_feature_server_times_out_then_opens_breaker(degraded: SimpleNamespace) -> None:
    svc = degraded.slow  # FEATURE_TIMEOUT_MS=100, FEATURE_RETRIES=1, BREAKER_FAILURES=5
    with svc.http() as http:
        start = time.perf_counter()
        out = http.post("/predict", json=txn(1)).json()
        elapsed = time.perf_counter() - start
        assert out["fallback"] is True and out["reason"] == "timeout"
        assert 0.19 <= elapsed < 0.2 + 0.8  # two 100 ms attempts, plus slack for a busy VM
        reasons = [http.post("/predict", json=txn(i)).json()["reason"] for i in range(2, 7)]
    assert reasons == ["timeout"] * 4 + ["circuit_open"]
    metrics = svc.metrics()
    assert metrics['prediction_fallbacks_total{reason="timeout"}'] == 5
    assert metrics['prediction_fallbacks_total{reason="circuit_open"}'] == 1
    assert metrics['feature_fetch_attempts_total{outcome="timeout"}'] == 10
    assert metrics["circuit_breaker_state"] == 1 and metrics["circuit_breaker_opens_total"] == 1


def test_breaker_opens_and_recovers(degraded: SimpleNamespace) -> None:
    # BREAKER_FAILURES=3, BREAKER_RESET_S=2: the open breaker must still be open at the next
    # request however busy the machine (2 s of margin), and half-open after sleeping 2.1 s
    svc, stub_features = degraded.flaky, degraded.stub
    with svc.http() as http:
        post = lambda i: http.post("/predict", json=txn(i)).json()
        assert [post(i)["reason"] for i in range(3)] == ["feature_error"] * 3
        assert stub_features.hits == 6  # one retry each
        assert post(3)["reason"] == "circuit_open"
        assert stub_features.hits == 6  # not called while open
        stub_features.mode = "ok"
        time.sleep(2.1)
        out = post(4)  # the half-open trial succeeds and closes the breaker
        assert out["fallback"] is False and out["reason"] is None
        assert post(5)["fallback"] is False
    metrics = svc.metrics()
    assert metrics["circuit_breaker_state"] == 0 and metrics["circuit_breaker_opens_total"] == 1
    assert metrics['feature_fetch_attempts_total{outcome="http_error"}'] == 6


def test_breaker_state_machine() -> None:
    now = [0.0]
    opened = []
    breaker = model_server.CircuitBreaker(2, 1.0, lambda: opened.append(now[0]), clock=lambda: now[0])
    assert breaker.allow()
    breaker.failure()
    assert breaker.allow() and breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow() and opened == [0.0]
    now[0] = 1.0
    assert breaker.allow() and breaker.state == "half_open"
    assert not breaker.allow()  # only one trial at a time
    breaker.failure()  # the trial failed: open again
    assert breaker.state == "open" and opened == [0.0, 1.0] and not breaker.allow()
    now[0] = 2.5
    assert breaker.allow()
    breaker.abandon()  # the trial was cancelled: another may go
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.failures == 0 and breaker.allow()


def test_validation_rules() -> None:
    checks = FeatureChecks(features=fraud_model.FEATURES, max_age_s=0, enabled=True, metrics=model_server.Metrics())
    bounds = {n: (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)) for n, (lo, hi) in fraud_model.FEATURE_DOMAIN.items()}
    good = {n: lo for n, (lo, _) in fraud_model.FEATURE_DOMAIN.items()}
    reason = lambda features: checks.check({"features": features}, bounds).reason
    assert reason(good) is None
    assert checks.check({"features": {**good, "extra": "ignored"}}, bounds).drift is True
    assert reason({**good, "extra": "ignored"}) is None
    assert reason({**good, "chargeback_rate": 1.05}) is None  # inside the widened range
    for bad in (None, "0.1", "NaN", True, float("nan"), 1.2, -0.2, 10**400):
        assert reason({**good, "chargeback_rate": bad}) == "invalid_features", bad
    missing = dict(good)
    del missing["txn_count_24h"]
    assert reason(missing) == "missing_features"
