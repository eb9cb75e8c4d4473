"""locustfile.py drives the model server (Locust runs as a subprocess: it patches gevent)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import PIPELINE_DIR, Service

WRAPPER = """\
import sys
sys.path.insert(0, {pipeline_dir!r})
from locust import constant_throughput
from locustfile import PipelineUser

PipelineUser.wait_time = constant_throughput(5)
"""


def test_locustfile_leaves_wait_time_shape_and_listeners_to_the_harness() -> None:
    tree = ast.parse((PIPELINE_DIR / "locustfile.py").read_text())
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    assert set(classes) == {"PipelineUser"}
    user = classes["PipelineUser"]
    assert [ast.unparse(b) for b in user.bases] == ["FastHttpUser"]
    assigned = {t.id for node in user.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    assert "wait_time" not in assigned and "host" not in assigned
    source = (PIPELINE_DIR / "locustfile.py").read_text()
    assert "LoadTestShape" not in source and "events." not in source


def test_short_locust_run(model_server: Service, tmp_path: Path) -> None:
    wrapper = tmp_path / "wrapped_locustfile.py"
    wrapper.write_text(WRAPPER.format(pipeline_dir=str(PIPELINE_DIR)))
    before = model_server.metrics()
    out = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(wrapper), "--headless", "-u", "5", "-r", "5", "-t", "5s",
         "--host", model_server.url, "--only-summary"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env={**os.environ, "CHAOS_SEED": "3"},
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text  # Locust exits 1 when any request failed
    line = next(l for l in text.splitlines() if re.match(r"\s*POST\s+/predict\s", l))
    requests, failures = map(int, re.findall(r"\s(\d+)\s+(\d+)\(", line)[0])
    assert requests >= 50 and failures == 0, line  # 5 users x 5/s x ~5 s
    after = model_server.metrics()
    served = after['predictions_total{fallback="false"}'] - before['predictions_total{fallback="false"}']
    assert served >= 0.95 * requests  # the primary path held
