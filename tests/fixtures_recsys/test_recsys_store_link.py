"""The ``features`` link (raw TCP, RESP) under faults, through our Toxiproxy-API server.

The recommender reaches Redis through ``python -m harness.proxy`` exactly as the
harness routes it; toxics and ``down`` are set over the proxy's HTTP API. Cache on
(60 s, so "still cached" cannot expire on a busy machine), breaker reset short.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Iterator

import pytest

import golden_set
from feature_store import FeatureStore, RedisPool

from .conftest import Proxy, Recommender, Redis, recommender_env

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def proxy(redis_server: Redis) -> Iterator[Proxy]:
    server = Proxy()
    server.listen = server.create("features", f"127.0.0.1:{redis_server.port}")
    yield server
    server.close()


@pytest.fixture(scope="module")
def fronted(prepared: dict, proxy: Proxy) -> Iterator[Recommender]:
    env = recommender_env(prepared, f"redis://{proxy.listen}/0", CACHE_TTL_S="60", STORE_TIMEOUT_MS="100",
                          STORE_RETRIES="1", BREAKER_FAILURES="3", BREAKER_RESET_S="0.3")
    svc = Recommender(env, prepared["root"]).wait_healthy()
    yield svc
    svc.stop()


_next_user = iter(range(1000, 5000))


def fresh_user() -> int:
    """A user no test of this module asked for yet (so never cached)."""
    return next(_next_user)


def recovered(svc: Recommender, timeout: float = 20.0) -> dict:
    """Ask for fresh users until the model answers again (bounded); that answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = svc.get(fresh_user())
        if not got["popular_fallback"]:
            return got
        time.sleep(0.05)
    raise AssertionError(f"no model answer within {timeout:g} s; last: {got}")


def assert_golden(svc: Recommender, cases: list[dict], count: int = 40) -> None:
    with svc.http() as http:
        wrong = [c["id"] for c in cases[:count] if not golden_set.judge(c, http.get(c["request"]["path"]).json())]
    assert wrong == []


def test_the_cache_answers_repeats_and_keeps_no_degraded_answer(fronted: Recommender):
    user = fresh_user()
    before = fronted.metrics()
    first, second, other_k = fronted.get(user, 5), fronted.get(user, 5), fronted.get(user, 6)
    assert (first["cache_hit"], second["cache_hit"], other_k["cache_hit"]) == (False, True, False)
    assert {**second, "cache_hit": False} == first
    unknown = [fronted.get(50_000_000, 5) for _ in range(2)]
    assert [a["cache_hit"] for a in unknown] == [False, False] and unknown[0]["popular_fallback"]
    after = fronted.metrics()
    assert after['cache_lookups_total{result="hit"}'] == before['cache_lookups_total{result="hit"}'] + 1
    assert after['store_calls_total{outcome="ok"}'] == before['store_calls_total{outcome="ok"}'] + 4


def test_a_slow_store_falls_back_within_the_deadline_and_recovers_with_right_answers(
        fronted: Recommender, proxy: Proxy, golden_cases: list[dict]):
    cached = fresh_user()
    warm = fronted.get(cached, 10)
    before = fronted.metrics()
    proxy.toxic("features", "latency", latency=2000)
    try:
        answers, slowest = [], 0.0
        for _ in range(6):
            started = time.perf_counter()
            answers.append(fronted.get(fresh_user(), 10))
            slowest = max(slowest, time.perf_counter() - started)
        during_cached = fronted.get(cached, 10)
    finally:
        proxy.heal("features")
    assert all(a["popular_fallback"] for a in answers)
    assert answers[0]["reason"] == "timeout" and {a["reason"] for a in answers} <= {"timeout", "circuit_open"}
    assert "circuit_open" in {a["reason"] for a in answers}  # 3 failures opened the breaker
    assert slowest < 1.5  # 2 x 100 ms deadlines, not the 2 s toxic (a margin no busy machine eats)
    assert during_cached["cache_hit"] and during_cached["items"] == warm["items"]  # the cache hides the outage
    after = fronted.metrics()
    assert after['store_calls_total{outcome="timeout"}'] >= before['store_calls_total{outcome="timeout"}'] + 2
    assert after["circuit_breaker_opens_total"] >= before["circuit_breaker_opens_total"] + 1
    recovered(fronted)
    assert_golden(fronted, golden_cases)  # late replies of timed-out calls were never read as answers


def test_a_link_that_is_down_falls_back_and_recovers(fronted: Recommender, proxy: Proxy, golden_cases: list[dict]):
    proxy.enabled("features", False)
    try:
        answers = [fronted.get(fresh_user(), 5) for _ in range(5)]
    finally:
        proxy.enabled("features", True)
    assert all(a["popular_fallback"] for a in answers)
    assert answers[0]["reason"] == "store_error" and {a["reason"] for a in answers} <= {"store_error", "circuit_open"}
    recovered(fronted)
    assert_golden(fronted, golden_cases[40:], count=20)


def test_a_truncated_reply_is_a_store_error_never_a_short_answer(fronted: Recommender, proxy: Proxy):
    proxy.toxic("features", "limit_data", bytes=2000)  # one answer is ~10 KB
    try:
        got = fronted.get(fresh_user(), 5)
    finally:
        proxy.heal("features")
    assert (got["popular_fallback"], got["reason"]) == (True, "store_error")
    recovered(fronted)


def test_a_killed_redis_falls_back_then_comes_back_with_the_seeded_data(fronted: Recommender, redis_server: Redis):
    user = fresh_user()
    seeded = redis_server.hash(f"user:{user}")
    redis_server.command("HSET", f"user:{user}", "activity", "not-a-number")
    redis_server.kill()
    try:
        got = fronted.get(fresh_user(), 5)
    finally:
        redis_server.start()
    assert (got["popular_fallback"], got["reason"]) == (True, "store_error")
    assert redis_server.hash(f"user:{user}") == seeded  # the snapshot, not the write before the kill
    answer = recovered(fronted)
    assert not answer["popular_fallback"]
    assert fronted.get(fresh_user(), 5)["popular_fallback"] is False  # no dead pooled connection left behind


def test_a_timed_out_connection_is_never_reused(redis_server: Redis, proxy: Proxy):
    """The invariant of feature_store.py, in-process: a late reply is never read as the next answer."""
    pool = RedisPool(f"redis://{proxy.listen}/0", max_idle=4)
    store = FeatureStore(pool, timeout_s=0.2, retries=0)

    async def scenario() -> tuple:
        await pool.pipeline([("PING",)])
        assert len(pool._idle) == 1
        proxy.toxic("features", "latency", latency=600)
        try:
            slow = await store.fetch("user:1", [])
        finally:
            proxy.heal("features")
        idle_after_timeout = len(pool._idle)
        await asyncio.sleep(0.8)  # the late reply has arrived by now on the dropped connection
        patient = FeatureStore(pool, timeout_s=10.0, retries=0)  # no busy machine reaches this deadline
        replies, reason = await patient.fetch("user:2", ["item:3"])
        pool.close()
        return slow, idle_after_timeout, replies, reason

    slow, idle, replies, reason = asyncio.run(scenario())
    assert slow == (None, "timeout") and idle == 0
    assert reason is None
    flat = [x.decode() for x in replies[0]]
    assert dict(zip(flat[0::2], flat[1::2])) == redis_server.hash("user:2")


def test_bytes_that_are_not_resp_are_a_store_error():
    """A server that answers HTTP on the store's port: an error, not a value."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(5)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.recv(4096)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    outcomes = []
    store = FeatureStore(RedisPool(f"redis://127.0.0.1:{server.getsockname()[1]}/0"), timeout_s=2.0, retries=0,
                         record=lambda outcome, seconds: outcomes.append(outcome))
    try:
        assert asyncio.run(store.fetch("user:1", ["item:1"])) == (None, "store_error")
    finally:
        thread.join(timeout=5)
        server.close()
    assert outcomes == ["error"]
