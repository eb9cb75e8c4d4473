"""Bad data in the store: corrupted, stale, renamed and retyped hashes, flagged or (unchecked) silent.

Every write goes to the live Redis and is restored exactly afterwards (``restored``).
The recommenders here read Redis directly with the cache off, so every answer reads
the store as it is now.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

import golden_set
from recsys_data import CANDIDATES, N_ITEMS, candidates

from .conftest import SEED, Recommender, Redis, recommender_env, restored


@pytest.fixture(scope="module")
def unchecked(prepared: dict, redis_server: Redis) -> Iterator[Recommender]:
    """The same recommender with FEATURE_VALIDATION=off: the silent-failure mode."""
    env = recommender_env(prepared, f"redis://127.0.0.1:{redis_server.port}/0", CACHE_TTL_S="0",
                          STORE_TIMEOUT_MS="5000", FEATURE_VALIDATION="off")
    svc = Recommender(env, prepared["root"]).wait_healthy()
    yield svc
    svc.stop()


def case_user(case: dict) -> tuple[int, int]:
    query = dict(part.split("=") for part in case["request"]["path"].split("?")[1].split("&"))
    return int(query["user_id"]), int(query["k"])


def iso(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("value, kind", [("abc", "non_numeric"), ("nan", "non_finite"), ("", "empty"),
                                         ("7", "out_of_range"), ("1e999", "non_finite"), ("0x1", "non_numeric"),
                                         ("1_0", "non_numeric"), ("-inf", "non_finite")])
def test_a_corrupted_user_value_falls_back_flagged_and_counted(recommender: Recommender, redis_server: Redis,
                                                               golden_cases: list[dict], value: str, kind: str):
    user, k = case_user(golden_cases[0])
    label = f'feature_validation_failures_total{{entity="user",field="affinity_0",kind="{kind}"}}'
    before = recommender.metrics()[label]
    with restored(redis_server, f"user:{user}"):
        redis_server.command("HSET", f"user:{user}", "affinity_0", value)
        got = recommender.get(user, k)
    assert (got["popular_fallback"], got["reason"]) == (True, "invalid_features")
    assert recommender.metrics()[label] == before + 1
    assert golden_set.judge(golden_cases[0], recommender.get(user, k))  # restored


def test_a_corrupted_candidate_is_dropped_and_the_rest_still_ranked(recommender: Recommender, redis_server: Redis,
                                                                   golden_cases: list[dict]):
    case = golden_cases[1]
    user, k = case_user(case)
    top = case["expect"]["items"][0]
    before = recommender.metrics()["items_dropped_total"]
    with restored(redis_server, f"item:{top}"):
        redis_server.command("HSET", f"item:{top}", "quality", "corrupt")
        got = recommender.get(user, k)
    assert got["items_dropped"] and not got["popular_fallback"] and len(got["items"]) == k
    assert top not in got["items"] and got["items"][:k - 1] == case["expect"]["items"][1:]
    assert recommender.metrics()["items_dropped_total"] == before + 1


def test_a_renamed_user_field_is_schema_drift_and_missing_features(recommender: Recommender, redis_server: Redis,
                                                                  golden_cases: list[dict]):
    user, k = case_user(golden_cases[2])
    key = f"user:{user}"
    with restored(redis_server, key):
        redis_server.commands(("HSET", key, "affinity3", redis_server.hash(key)["affinity_3"]),
                              ("HDEL", key, "affinity_3"))
        got = recommender.get(user, k)
    assert (got["popular_fallback"], got["reason"], got["schema_drift"]) == (True, "missing_features", True)


def test_an_unexpected_field_is_flagged_and_ignored(recommender: Recommender, redis_server: Redis,
                                                    golden_cases: list[dict]):
    case = golden_cases[3]
    user, k = case_user(case)
    with restored(redis_server, f"user:{user}"):
        redis_server.command("HSET", f"user:{user}", "segment", "gold")
        got = recommender.get(user, k)
    assert got["schema_drift"] and not got["popular_fallback"] and golden_set.judge(case, got)


def test_a_key_of_another_type_is_invalid(recommender: Recommender, redis_server: Redis, golden_cases: list[dict]):
    user, k = case_user(golden_cases[4])
    before = recommender.metrics()['feature_entity_failures_total{entity="user",kind="wrong_type"}']
    with restored(redis_server, f"user:{user}"):
        redis_server.commands(("DEL", f"user:{user}"), ("SET", f"user:{user}", "a string, not a hash"))
        got = recommender.get(user, k)
    assert (got["popular_fallback"], got["reason"]) == (True, "invalid_features")
    assert recommender.metrics()['feature_entity_failures_total{entity="user",kind="wrong_type"}'] == before + 1


@pytest.mark.parametrize("stamp, kind", [(iso(timedelta(days=-2)), "too_old"), (iso(timedelta(days=1)), "future"),
                                         ("yesterday", "unreadable"), (None, "missing")],
                         ids=["too_old", "future", "unreadable", "missing"])  # stable ids: xdist workers compare them
def test_stale_features_are_flagged_and_still_ranked(recommender: Recommender, redis_server: Redis,
                                                    golden_cases: list[dict], stamp: str | None, kind: str):
    case = golden_cases[5]
    user, k = case_user(case)
    label = f'feature_freshness_failures_total{{entity="user",kind="{kind}"}}'
    before = recommender.metrics()[label]
    with restored(redis_server, f"user:{user}"):
        if stamp is None:
            redis_server.command("HDEL", f"user:{user}", "updated_at")
        else:
            redis_server.command("HSET", f"user:{user}", "updated_at", stamp)
        got = recommender.get(user, k)
    assert got["stale_features"] and not got["popular_fallback"] and golden_set.judge(case, got)  # stale is not wrong
    assert recommender.metrics()[label] == before + 1


def test_too_many_bad_candidates_fall_back(recommender: Recommender, redis_server: Redis):
    user, k = 77, 20
    victims = candidates(SEED, user)[:CANDIDATES - k + 1]  # 11 of 30 unusable: 19 < k left
    keys = [f"item:{i}" for i in victims]
    with restored(redis_server, *keys):
        redis_server.commands(*(("HDEL", key, "price") for key in keys))
        got = recommender.get(user, k)
        fewer = recommender.get(user, k - 1)
    assert (got["popular_fallback"], got["reason"], got["items_dropped"], got["schema_drift"]) == (
        True, "too_few_items", True, True)
    assert not fewer["popular_fallback"] and fewer["items_dropped"] and len(fewer["items"]) == k - 1


def _replay(svc: Recommender, cases: list[dict]) -> dict[str, int]:
    tally = {"right": 0, "flagged": 0, "silent_wrong": 0}
    with svc.http() as http:
        for case in cases:
            got = http.get(case["request"]["path"]).json()
            flagged = any(got[f] for f in ("popular_fallback", "stale_features", "items_dropped", "schema_drift"))
            right = golden_set.judge(case, got)
            tally["right"] += right
            tally["flagged"] += flagged
            tally["silent_wrong"] += not right and not flagged
    return tally


def test_validation_off_turns_flagged_answers_into_silent_wrong_ones(recommender: Recommender,
                                                                    unchecked: Recommender, redis_server: Redis,
                                                                    golden_cases: list[dict]):
    """The same corruptions, both modes: checked, every wrong answer is flagged; unchecked, none is."""
    results = {}
    item_keys = [f"item:{i}" for i in range(0, N_ITEMS, 10)]  # 10% of the items: popularity out of its domain
    with restored(redis_server, *item_keys):
        redis_server.commands(*(("HSET", key, "popularity", "-5") for key in item_keys))
        results["items"] = (_replay(recommender, golden_cases), _replay(unchecked, golden_cases))
    user_keys = [f"user:{case_user(c)[0]}" for c in golden_cases[::4]]  # a quarter of the cases' users
    with restored(redis_server, *user_keys):
        redis_server.commands(*(("HSET", key, "affinity_0", "n/a") for key in user_keys))
        results["users"] = (_replay(recommender, golden_cases), _replay(unchecked, golden_cases))
    renamed = [f"item:{i}" for i in range(N_ITEMS)]  # a schema change: quality renamed on every item
    with restored(redis_server, *renamed):
        redis_server.commands(*(("HDEL", key, "quality") for key in renamed),
                              *(("HSET", key, "item_quality", "0.5") for key in renamed))
        results["schema"] = (_replay(recommender, golden_cases), _replay(unchecked, golden_cases))
    print({name: r for name, r in results.items()})  # the README's table (pytest -s)
    for name, (checked, silent) in results.items():
        assert checked["silent_wrong"] == 0, (name, checked)
        assert silent["flagged"] == 0, (name, silent)
    assert results["items"][0]["flagged"] >= 150          # ~3 of 30 candidates hit: most cases touched
    assert results["items"][1]["silent_wrong"] >= 50
    assert results["users"][0]["flagged"] == 50 and results["users"][0]["right"] == 150
    assert results["users"][1]["silent_wrong"] >= 25      # affinity_0 imputed as 0 reorders most lists
    assert results["schema"][0]["right"] == 0 and results["schema"][1]["silent_wrong"] >= 150
    assert _replay(recommender, golden_cases)["right"] == 200  # everything restored
