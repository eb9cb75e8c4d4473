"""``load.workers``: a Locust master and local workers; every worker's requests land in one
request log on one clock, paced on each user's schedule, and the totals add up."""

import collections
import json

import pytest

from harness.integrity import load_totals
from tests.e2e.conftest import assert_nothing_left, chaos_run, journal

pytestmark = pytest.mark.slow


def test_two_workers_one_request_log(tmp_path):
    result, run_dir, report = chaos_run("tiny-workers.yaml", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["integrity"] == []
    assert [r["kind"] for r in journal(run_dir)].count("load_launched") == 3  # master + 2 workers
    assert not list(run_dir.glob("requests-worker-*.jsonl"))  # merged, then removed

    lines = [json.loads(line) for line in (run_dir / "requests.jsonl").read_text().splitlines()]
    events = [json.loads(line) for line in (run_dir / "load-events.jsonl").read_text().splitlines()]
    workers = [e for e in events if e["event"] == "totals" and e.get("role") == "worker"]
    master = next(e for e in events if e["event"] == "totals" and e.get("role") == "master")
    assert sorted(w["worker"] for w in workers) == [0, 1]
    # Locust's own counts (what each worker reported to the master) against our lines; the
    # master's own sum may miss a worker's last report (it waits only 0.5 s for them at quit)
    assert sum(w["requests"] for w in workers) == len(lines)
    assert 0 < master["requests"] <= len(lines) and master["workers"] == 2
    assert load_totals(events)["missing_workers"] == 0
    assert report["requests"]["total"] == len(lines)

    by_user = collections.defaultdict(list)
    for line in lines:
        by_user[line["user"]].append(line["intended_ts"])
    assert len(by_user) == 4
    assert {user // 1_000_000 for user in by_user} == {0, 1}  # both workers ran users
    for slots in by_user.values():  # each user on its own schedule: a slot every 1/5 s
        assert all(abs(b - a - 0.2) < 1e-6 for a, b in zip(slots, slots[1:]))
        assert 15 <= len(slots) <= 55  # 6 s at 5/s, give or take spawning and stopping
    intended = [line["intended_ts"] for line in lines]
    assert intended == sorted(intended)  # one log on one clock
    assert_nothing_left(run_dir)
