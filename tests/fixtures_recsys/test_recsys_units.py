"""Units of the recommender's own logic: RESP parsing, the cache, the breaker, the query rules."""

from __future__ import annotations

import math

import pytest

from answer_cache import AnswerCache
from query_checks import MAX_K, Rejection, parse_query
from resp import NOTHING, ProtocolError, ReplyParser, RespError, encode
from store_breaker import BreakerState, CircuitBreaker


def _parse_all(data: bytes, step: int) -> list:
    parser, out = ReplyParser(), []
    for i in range(0, len(data), step):
        parser.feed(data[i:i + step])
        while (reply := parser.pop()) is not NOTHING:
            out.append(reply)
    return out


def test_replies_parse_whatever_way_the_bytes_are_cut():
    data = (b"+OK\r\n-WRONGTYPE Operation against a key\r\n:42\r\n$-1\r\n*-1\r\n*0\r\n"
            b"*2\r\n$8\r\nactivity\r\n$5\r\n3.125\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n")
    for step in (1, 2, 3, 7, len(data)):
        out = _parse_all(data, step)
        assert out[0] == "OK" and isinstance(out[1], RespError) and out[1].message.startswith("WRONGTYPE")
        assert out[2:] == [42, None, None, [], [b"activity", b"3.125"], [[1], b""]], step


@pytest.mark.parametrize("garbage", [b"HTTP/1.1 200 OK\r\n", b"$abc\r\n", b"$3\r\nabcdef\r\n", b"\r\n",
                                     b"*99999999\r\n", b"$99999999\r\n", b"?x\r\n"])
def test_bytes_that_are_not_resp_raise_a_protocol_error(garbage):
    parser = ReplyParser()
    parser.feed(garbage)
    with pytest.raises(ProtocolError):
        parser.pop()


def test_a_line_that_never_ends_is_refused_once_it_passes_the_size_limit():
    parser = ReplyParser()
    parser.feed(b"+" + b"x" * 100)
    assert parser.pop() is NOTHING
    parser.feed(b"x" * (1 << 20))
    with pytest.raises(ProtocolError):
        parser.pop()


def test_commands_encode_as_arrays_of_bulk_strings():
    assert encode("HSET", "user:1", "activity", 1.5) == (
        b"*4\r\n$4\r\nHSET\r\n$6\r\nuser:1\r\n$8\r\nactivity\r\n$3\r\n1.5\r\n")
    assert _parse_all(encode("a", b"\r\n"), 1) == [[b"a", b"\r\n"]]  # binary safe


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_serves_for_its_ttl_then_forgets_and_evicts_the_least_recently_used():
    clock = Clock()
    cache = AnswerCache(ttl_s=10, size=2, clock=clock)
    cache.put("a", {"v": 1})
    cache.put("b", {"v": 2})
    clock.now = 9.9
    assert cache.get("a") == {"v": 1}  # refreshes a's LRU position, not its age
    cache.put("c", {"v": 3})            # evicts b, the least recently used
    assert cache.get("b") is None and cache.evictions == 1 and len(cache) == 2
    clock.now = 10.0
    assert cache.get("a") is None and cache.get("c") == {"v": 3}
    off = AnswerCache(ttl_s=0, size=10, clock=clock)
    off.put("a", {"v": 1})
    assert not off.enabled and off.get("a") is None


def test_the_breaker_opens_after_consecutive_failures_and_lets_one_trial_through():
    clock, opened = Clock(), []
    breaker = CircuitBreaker(failures=3, reset_s=2.0, on_open=lambda: opened.append(clock.now), clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    breaker.success()  # a success resets the count
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state is BreakerState.OPEN and opened == [0.0] and not breaker.allow()
    clock.now = 2.0
    assert breaker.allow() and not breaker.allow()  # one trial only
    breaker.failure()
    assert breaker.state is BreakerState.OPEN and opened == [0.0, 2.0]
    clock.now = 4.0
    assert breaker.allow()
    breaker.abandon()  # a cancelled trial frees the slot
    assert breaker.allow()
    breaker.success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()


def _query(**params):
    values = {name: (v if isinstance(v, list) else [v]) for name, v in params.items()}
    return parse_query(lambda name: values.get(name, []), list(values))


def test_the_query_rules():
    assert _query(user_id="17") == (17, 10, False)
    assert _query(user_id="0", k=str(MAX_K), utm="x") == (0, MAX_K, True)
    assert _query(user_id=str(2**63 - 1), k="1")[0] == 2**63 - 1
    for params, field, kind in (({}, "user_id", "missing"), ({"user_id": ["1", "2"]}, "user_id", "repeated"),
                                ({"user_id": "1.0"}, "user_id", "wrong_type"), ({"user_id": "-1"}, "user_id", "wrong_type"),
                                ({"user_id": "+1"}, "user_id", "wrong_type"), ({"user_id": " 1"}, "user_id", "wrong_type"),
                                ({"user_id": "١"}, "user_id", "wrong_type"), ({"user_id": str(2**63)}, "user_id", "out_of_range"),
                                ({"user_id": "1", "k": "0"}, "k", "out_of_range"),
                                ({"user_id": "1", "k": str(MAX_K + 1)}, "k", "out_of_range"),
                                ({"user_id": "1", "k": ""}, "k", "wrong_type")):
        with pytest.raises(Rejection) as caught:
            _query(**params)
        assert (caught.value.field, caught.value.kind) == (field, kind), params
        assert caught.value.body()["message"].startswith(f"{field}: ")


def test_scores_of_absurd_unchecked_input_stay_numbers():
    from ranking_model import RankingModel, rank
    import numpy as np

    model = RankingModel(seed=0, model_version="m", weights=np.ones(10), bias=0.0, popular=(1, 2), n_items=3,
                         candidates=3)
    user = {"activity": 1e308, "price_sensitivity": 1e308, **{f"affinity_{i}": 1e308 for i in range(6)}}
    item = {"popularity": 1e308, "quality": -1e308, "price": -5.0, **{f"embedding_{i}": 1e308 for i in range(6)}}
    ids, scores = rank(model, user, [(0, item), (1, item)], 2)
    assert ids == [0, 1] and all(math.isfinite(s) for s in scores)
