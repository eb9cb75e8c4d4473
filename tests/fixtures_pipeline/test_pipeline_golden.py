"""The golden set: made at setup, answered right by a clean pipeline, and the silent failure it exposes."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest

from .conftest import SEED, Service, db_write, run_setup, scratch_pipeline

import answers  # noqa: E402
import fraud_model  # noqa: E402
import golden  # noqa: E402
from request_checks import Transaction  # noqa: E402

CORRUPT_FRACTION = 0.3


def golden_of(prepared: dict) -> list[dict]:
    return golden.read_cases(prepared["setup"]["golden"])


def replay(svc: Service, cases: list[dict]) -> list[tuple[dict, dict]]:
    """Every case's request answered by ``svc`` (each must be a 200)."""
    with svc.http() as http:
        pairs = []
        for case in cases:
            resp = http.post("/predict", json=case["request"])
            assert resp.status_code == 200, resp.text
            pairs.append((case, resp.json()))
    return pairs


def flagged(out: dict) -> bool:
    return any(out[flag] for flag in answers.FLAGS)


def test_golden_set_is_written_beside_the_table(prepared: dict) -> None:
    cases = golden_of(prepared)
    assert Path(prepared["setup"]["golden"]) == prepared["db"].with_name("golden.jsonl")
    assert len(cases) == golden.CASES == prepared["setup"]["golden_cases"]
    entities = [case["request"]["entity_id"] for case in cases]
    assert len(set(entities)) == len(entities) and all(0 <= e < 10_000 for e in entities)
    for case in cases:
        Transaction.model_validate(case["request"])  # a valid /predict body
        assert case["expect"]["fallback"] is False and 0 <= case["expect"]["score"] <= 1
        assert case["tolerance"] == {"score": golden.SCORE_TOLERANCE}
    assert len({case["model_version"] for case in cases}) == 1


def test_same_seed_same_golden_set_whatever_the_as_of(prepared: dict, tmp_path: Path) -> None:
    info = run_setup(tmp_path / "features.db", prepared["model_dir"], SEED, "--as-of", "1000000000")
    assert Path(info["golden"]).read_bytes() == Path(prepared["setup"]["golden"]).read_bytes()


def test_clean_pipeline_answers_every_golden_case(model_server: Service, prepared: dict) -> None:
    pairs = replay(model_server, golden_of(prepared))
    wrong = [case["id"] for case, out in pairs if not golden.judge(case, out)]
    assert wrong == []
    assert not any(flagged(out) for _, out in pairs)
    assert {out["model_version"] for _, out in pairs} == {pairs[0][0]["model_version"]}


def test_judge() -> None:
    case = {"expect": {"score": 0.1, "fallback": False}, "tolerance": {"score": {"abs": 1e-4, "rel": 0.05}}}
    assert golden.judge(case, {"score": 0.1, "fallback": False})
    assert golden.judge(case, {"score": 0.1 + 0.0050999, "fallback": False})  # within 1e-4 + 5%
    assert not golden.judge(case, {"score": 0.1 + 0.0052, "fallback": False})
    assert not golden.judge(case, {"score": 0.1, "fallback": True})
    assert not golden.judge(case, {"score": True, "fallback": False})
    assert not golden.judge(case, {"fallback": False})
    assert golden.judge({"expect": {"score": 0.3}}, {"score": 0.3}) and not golden.judge({"expect": {"score": 0.3}},
                                                                                       {"score": 0.30001})


# --------------------------------------------------------------------------- silent failure

@pytest.fixture(scope="module")
def guarded_and_blind(prepared: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """One scratch pipeline, two model servers on it: FEATURE_VALIDATION on and off."""
    with scratch_pipeline(prepared, tmp_path_factory.mktemp("golden")) as scratch:
        guarded, blind = scratch.model_server(), scratch.model_server(FEATURE_VALIDATION="off")
        try:
            guarded.wait_healthy()
            blind.wait_healthy()
            yield SimpleNamespace(scratch=scratch, guarded=guarded, blind=blind,
                                  cases=golden.read_cases(scratch.golden))
        finally:
            guarded.stop()
            blind.stop()


def corrupt(db: Path, fraction: float, rng: random.Random) -> tuple[set[int], list[tuple]]:
    """Corrupt every feature of ``fraction`` of the rows (NaN, out-of-range or text, by row), as
    ``corrupt_features`` does; return the entity ids hit and the saved rows."""
    columns = ", ".join(fraud_model.FEATURES)
    with db_write(db) as conn:
        ids = [row[0] for row in conn.execute("SELECT entity_id FROM features")]
        hit = sorted(rng.sample(ids, round(len(ids) * fraction)))
        marks = ",".join("?" * len(hit))
        saved = conn.execute(f"SELECT {columns}, entity_id FROM features WHERE entity_id IN ({marks})", hit).fetchall()
        modes = [lambda: float("nan"), lambda: rng.choice([-1e9, 1e12]), lambda: "corrupted"]
        sets = ", ".join(f"{name} = ?" for name in fraud_model.FEATURES)
        conn.execute("BEGIN")
        for k, entity in enumerate(hit):
            value = modes[k % 3]
            conn.execute(f"UPDATE features SET {sets} WHERE entity_id = ?",
                         (*(value() for _ in fraud_model.FEATURES), entity))
        conn.execute("COMMIT")
    return set(hit), saved


def restore(db: Path, saved: list[tuple]) -> None:
    sets = ", ".join(f"{name} = ?" for name in fraud_model.FEATURES)
    with db_write(db) as conn:
        conn.execute("BEGIN")
        conn.executemany(f"UPDATE features SET {sets} WHERE entity_id = ?", saved)
        conn.execute("COMMIT")


def test_validation_off_answers_corrupted_rows_wrong_and_unflagged(guarded_and_blind: SimpleNamespace) -> None:
    """The silent failure: with FEATURE_VALIDATION=off corrupted features are scored, 200, unflagged."""
    pipe, cases = guarded_and_blind, guarded_and_blind.cases
    for svc in (pipe.guarded, pipe.blind):  # clean table: both answer every case right
        assert all(golden.judge(case, out) and not flagged(out) for case, out in replay(svc, cases))
    hit, saved = corrupt(pipe.scratch.db, CORRUPT_FRACTION, random.Random(SEED))
    try:
        guarded, blind = replay(pipe.guarded, cases), replay(pipe.blind, cases)
    finally:
        restore(pipe.scratch.db, saved)
    on_hit = {case["id"] for case in cases if case["request"]["entity_id"] in hit}
    assert 0.2 * len(cases) < len(on_hit) < 0.4 * len(cases)

    # Guarded: every answer built from a corrupted row is flagged; no answer is silently wrong.
    assert {case["id"] for case, out in guarded if out["fallback"]} == on_hit
    assert all(out["reason"] == "invalid_features" for case, out in guarded if case["id"] in on_hit)
    assert [case["id"] for case, out in guarded if not flagged(out) and not golden.judge(case, out)] == []

    # Blind: nothing flagged, and the corrupted rows' answers are wrong.
    assert not any(flagged(out) for _, out in blind)
    silent_wrong = {case["id"] for case, out in blind if not golden.judge(case, out)}
    assert silent_wrong <= on_hit and len(silent_wrong) >= 0.9 * len(on_hit)
    metrics = pipe.blind.metrics()
    assert metrics["feature_validation_enabled"] == 0
    assert not any(v for k, v in metrics.items() if k.startswith("feature_validation_failures_total"))

    for svc in (pipe.guarded, pipe.blind):  # restored: right again
        assert all(golden.judge(case, out) for case, out in replay(svc, cases))


def test_silent_wrong_share_is_measurable(guarded_and_blind: SimpleNamespace) -> None:
    """The blind server's silent-wrong rate tracks the corrupted share (what issue 12's SLO reads)."""
    pipe = guarded_and_blind
    hit, saved = corrupt(pipe.scratch.db, 0.1, random.Random(SEED + 1))
    try:
        blind = replay(pipe.blind, pipe.cases)
    finally:
        restore(pipe.scratch.db, saved)
    rate = sum(not flagged(out) and not golden.judge(case, out) for case, out in blind) / len(blind)
    on_hit = sum(case["request"]["entity_id"] in hit for case in pipe.cases) / len(pipe.cases)
    assert 0.03 < rate <= on_hit


def test_feature_validation_setting_is_checked(prepared: dict, tmp_path: Path) -> None:
    svc = Service("model_server", {"FEATURE_URL": "http://127.0.0.1:9", "MODEL_DIR": str(prepared["model_dir"]),
                                   "FEATURE_VALIDATION": "maybe"}, tmp_path)
    try:
        assert svc.proc.wait(timeout=30) != 0
    finally:
        svc.stop()
    assert "FEATURE_VALIDATION must be one of on, off (got 'maybe')" in svc.log_path.read_text()


def test_stored_table_is_intact(guarded_and_blind: SimpleNamespace, prepared: dict) -> None:
    """The corruption above was undone: the scratch table equals the session's (same seed)."""
    query = f"SELECT entity_id, {', '.join(fraud_model.FEATURES)} FROM features ORDER BY entity_id"
    with sqlite3.connect(guarded_and_blind.scratch.db) as a, sqlite3.connect(prepared["db"]) as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
