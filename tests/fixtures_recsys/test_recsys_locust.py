"""locustfile.py drives the recommender (Locust runs as a subprocess: it patches gevent)."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import RECSYS_DIR, Recommender

WRAPPER = """\
import sys
sys.path.insert(0, {recsys_dir!r})
from locust import constant_throughput
from locustfile import RecsysUser

RecsysUser.wait_time = constant_throughput(10)
"""

STREAMS = """\
import json, sys
sys.path.insert(0, {recsys_dir!r})
from locustfile import RecsysUser
from locust.env import Environment

RecsysUser.host = "http://127.0.0.1:9"  # never contacted: only the query stream is read
env = Environment(user_classes=[RecsysUser])
users = [RecsysUser(env) for _ in range(3)]
print(json.dumps([[u.query() for _ in range(50)] for u in users]))
"""


def test_locustfile_leaves_wait_time_shape_and_listeners_to_the_harness():
    source = (RECSYS_DIR / "locustfile.py").read_text()
    classes = {node.name: node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}
    assert set(classes) == {"RecsysUser"}
    user = classes["RecsysUser"]
    assert [ast.unparse(b) for b in user.bases] == ["FastHttpUser"]
    assigned = {t.id for node in user.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    assert "wait_time" not in assigned and "host" not in assigned
    assert "LoadTestShape" not in source and "events." not in source


def _streams(seed: str) -> list[list[str]]:
    done = subprocess.run([sys.executable, "-c", STREAMS.format(recsys_dir=str(RECSYS_DIR))], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "CHAOS_SEED": seed})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_traffic_is_reproducible_from_chaos_seed():
    first, again, other = _streams("3"), _streams("3"), _streams("4")
    assert first == again and first != other
    assert len({tuple(s) for s in first}) == 3  # each user its own stream
    ids = [int(re.search(r"user_id=(\d+)", q).group(1)) for s in first for q in s]
    assert all(0 <= i < 5000 for i in ids) and sum(i < 50 for i in ids) >= 15  # skewed: ~20% go to 1% of users


def test_short_locust_run_has_no_failures(recommender: Recommender, tmp_path: Path):
    wrapper = tmp_path / "wrapped_locustfile.py"
    wrapper.write_text(WRAPPER.format(recsys_dir=str(RECSYS_DIR)))
    before = recommender.metrics()
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(wrapper), "--headless", "-u", "5", "-r", "5", "-t", "4s",
         "--host", recommender.url, "--only-summary"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env={**os.environ, "CHAOS_SEED": "3"})
    text = done.stdout + done.stderr
    assert done.returncode == 0, text  # Locust exits 1 when any request failed
    line = next(l for l in text.splitlines() if re.match(r"\s*GET\s+/recommendations\s", l))
    requests, failures = map(int, re.findall(r"\s(\d+)\s+(\d+)\(", line)[0])
    assert requests >= 50 and failures == 0, line  # 5 users x 10/s x ~4 s
    after = recommender.metrics()
    served = after['recommendations_total{fallback="false"}'] - before['recommendations_total{fallback="false"}']
    assert served >= requests  # every answer ranked by the model (Locust counts what it saw end)
