"""The model server's defences on a private pipeline: stale rows, schema drift, model artifacts.

Every defence is checked three ways: the answer (200, the right flag, the right scorer),
the counter in /metrics, and the clean answer once the fault is undone.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest

from .conftest import SEED, Service, added_column, renamed_column, retyped_column, saved_row, scratch_pipeline, txn

import fraud_model  # noqa: E402
import model_artifact  # noqa: E402

ENTITY = 50


@pytest.fixture(scope="module")
def pipe(prepared: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """A scratch pipeline and a model server on it that polls its artifact every 0.1 s."""
    with scratch_pipeline(prepared, tmp_path_factory.mktemp("defences")) as scratch:
        server = scratch.model_server(MODEL_POLL_S="0.1").wait_healthy()
        try:
            yield SimpleNamespace(scratch=scratch, server=server, clean=server.predict(txn(ENTITY)))
        finally:
            server.stop()


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def delta(svc: Service, key: str, before: dict) -> float:
    return svc.metrics().get(key, 0) - before.get(key, 0)


@pytest.mark.parametrize("value, kind", [
    (stamp(time.time() - 2 * 86_400), "too_old"),  # FEATURE_MAX_AGE_S defaults to one day
    (stamp(time.time() + 3600), "future"),
    (None, "missing"),
    ("yesterday", "unreadable"),
], ids=["too_old", "future", "missing", "unreadable"])
def test_stale_row_is_flagged_and_counted(pipe: SimpleNamespace, value, kind: str) -> None:
    svc, before = pipe.server, pipe.server.metrics()
    with saved_row(pipe.scratch.db, ENTITY) as conn:
        conn.execute("UPDATE features SET updated_at = ? WHERE entity_id = ?", (value, ENTITY))
        out = svc.predict(txn(ENTITY))
    # Stale but valid values: the model still scores them, and says they are stale.
    assert out == {**pipe.clean, "stale_features": True}
    assert delta(svc, f'feature_freshness_failures_total{{kind="{kind}"}}', before) == 1
    assert delta(svc, 'prediction_flags_total{flag="stale_features"}', before) == 1
    assert svc.predict(txn(ENTITY)) == pipe.clean


def test_added_column_is_ignored_and_flagged(pipe: SimpleNamespace) -> None:
    svc, before = pipe.server, pipe.server.metrics()
    with added_column(pipe.scratch.db, "risk_v2", "REAL", 0.9):
        out = svc.predict(txn(ENTITY))
    assert out == {**pipe.clean, "schema_drift": True}  # same score: the extra column is ignored
    assert delta(svc, 'feature_schema_drift_total{column="risk_v2",kind="unexpected"}', before) == 1
    assert svc.predict(txn(ENTITY)) == pipe.clean


@pytest.mark.parametrize("sql_type", ["TEXT", "INTEGER"])
def test_retyped_column_falls_back(pipe: SimpleNamespace, sql_type: str) -> None:
    """TEXT keeps numeric-looking strings, INTEGER rounds the rates to 0: both are refused."""
    svc, before = pipe.server, pipe.server.metrics()
    with retyped_column(pipe.scratch.db, "chargeback_rate", sql_type):
        out = svc.predict(txn(ENTITY))
    assert out["fallback"] is True and out["reason"] == "schema_drift" and out["schema_drift"] is True
    assert out["model_version"] == "fallback-rule-v1"
    assert delta(svc, 'feature_schema_drift_total{column="chargeback_rate",kind="retyped"}', before) == 1
    assert delta(svc, 'prediction_fallbacks_total{reason="schema_drift"}', before) == 1
    assert svc.predict(txn(ENTITY)) == pipe.clean


def test_renamed_column_falls_back_and_is_drift(pipe: SimpleNamespace) -> None:
    svc, before = pipe.server, pipe.server.metrics()
    with renamed_column(pipe.scratch.db, "avg_amount_30d", "avg_amount_30d_v2"):
        out = svc.predict(txn(ENTITY))
    assert out["reason"] == "missing_features" and out["schema_drift"] is True
    assert delta(svc, 'feature_schema_drift_total{column="avg_amount_30d",kind="missing"}', before) == 1
    assert delta(svc, 'feature_schema_drift_total{column="avg_amount_30d_v2",kind="unexpected"}', before) == 1


def test_corrupted_row_is_flagged_not_drift(pipe: SimpleNamespace) -> None:
    with saved_row(pipe.scratch.db, ENTITY) as conn:
        conn.execute("UPDATE features SET account_age_days = 'corrupted' WHERE entity_id = ?", (ENTITY,))
        out = pipe.server.predict(txn(ENTITY))
    assert out["reason"] == "invalid_features" and not (out["schema_drift"] or out["stale_features"])


# --------------------------------------------------------------------------- model artifact

def artifact(pipe: SimpleNamespace) -> Path:
    return pipe.scratch.model_dir / model_artifact.model_key(SEED) / model_artifact.ARTIFACT


def manifest_versions(pipe: SimpleNamespace) -> dict[str, dict]:
    path = artifact(pipe).with_name(model_artifact.MANIFEST)
    return {v["label"]: v for v in json.loads(path.read_text())["versions"]}


@pytest.mark.parametrize("atomic", [True, False], ids=["renamed-into-place", "overwritten-in-place"])
def test_garbage_model_file_keeps_serving_and_says_so(pipe: SimpleNamespace, atomic: bool) -> None:
    svc, path = pipe.server, artifact(pipe)
    good, before = path.read_bytes(), svc.metrics()
    if atomic:
        model_artifact.write_atomic(path, b"\x80\x04garbage")
    else:
        path.write_bytes(b"\x80\x04garbage")
    try:
        health = svc.wait_for(lambda h: h["model_degraded"], "the refused artifact")
        assert health["status"] == "degraded" and "unknown_checksum" in health["model_problem"]
        out = svc.predict(txn(ENTITY))
        assert out == {**pipe.clean, "model_degraded": True}  # the last good model answered
        after = svc.metrics()
        assert after["model_degraded"] == 1 and after["model_loaded"] == 1
        refused = delta(svc, 'model_load_failures_total{reason="unknown_checksum"}', before)
        # overwritten in place, the server may also see the truncated file first (2 seen under CPU burners)
        assert refused == 1 if atomic else refused in (1, 2)
        assert after['prediction_flags_total{flag="model_degraded"}'] - \
            before['prediction_flags_total{flag="model_degraded"}'] == 1
    finally:
        model_artifact.write_atomic(path, good)
    svc.wait_for(lambda h: not h["model_degraded"], "the restored artifact")
    assert svc.predict(txn(ENTITY)) == pipe.clean
    assert svc.metrics()["model_degraded"] == 0


def test_older_version_is_served_and_named(pipe: SimpleNamespace, prepared: dict) -> None:
    svc, path = pipe.server, artifact(pipe)
    previous = manifest_versions(pipe)["previous"]
    good, before = path.read_bytes(), svc.metrics()
    model_artifact.write_atomic(path, (path.parent / previous["file"]).read_bytes())
    try:
        svc.wait_for(lambda h: h["model_version"] == previous["model_version"], "the older version")
        out = svc.predict(txn(ENTITY))
    finally:
        model_artifact.write_atomic(path, good)
    assert out["model_version"] == previous["model_version"] and not out["model_degraded"] and not out["fallback"]
    with pipe.scratch.feature_server.http() as http:
        features = http.get(f"/features/{ENTITY}").json()["features"]
    body = txn(ENTITY)
    x = fraud_model.feature_vector(features, body["amount"], body["hour"], body["merchant_category"])
    assert out["score"] == pytest.approx(fraud_model.LinearScorer(**previous["scorer"])(x), abs=1e-6)
    assert out["score"] != pipe.clean["score"]
    svc.wait_for(lambda h: h["model_version"] == pipe.clean["model_version"], "the restored version")
    assert delta(svc, "model_reloads_total", before) == 2


def test_no_model_at_start_serves_the_rule_until_one_appears(pipe: SimpleNamespace, tmp_path: Path) -> None:
    empty = tmp_path / "model"
    empty.mkdir()
    svc = pipe.scratch.model_server(MODEL_DIR=str(empty), MODEL_POLL_S="0.1")
    try:
        svc.wait_healthy(ok=(503,))
        out = svc.predict(txn(ENTITY))
        assert out["fallback"] is True and out["reason"] == "model_unavailable" and out["model_degraded"] is True
        metrics = svc.metrics()
        assert metrics["model_loaded"] == 0 and metrics["model_degraded"] == 1
        key = model_artifact.model_key(SEED)
        shutil.copytree(pipe.scratch.model_dir / key, tmp_path / key)
        (tmp_path / key).rename(empty / key)  # appears whole, as setup publishes it
        svc.wait_for(lambda h: h["status"] == "ok", "the model that appeared")
        assert svc.predict(txn(ENTITY)) == pipe.clean
    finally:
        svc.stop()
