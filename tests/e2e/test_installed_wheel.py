"""The harness as a team would get it: the built wheel installed into a fresh venv in
a temporary directory outside the repository, driving a copy of a pipeline it was not
written for (fixtures/recsys) from another directory, on both backends.

The wheel is built once per session (``pip wheel --no-deps``, the real build) and
installed with ``--no-deps``; its dependencies come from this environment's
site-packages, added to the fresh venv as a plain path (after its own site-packages,
and without this environment's ``.pth`` files, so the editable checkout is never on
the path): ``harness`` must import from the fresh venv. Numbers are checked in
report.json. The docker half is ``tests/docker/test_installed_wheel.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECSYS = ROOT / "fixtures" / "recsys"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("redis-server") is None,
                                 reason="redis-server is not installed (apt-get install redis-server)")]

SCENARIO = """\
name: wheel-store-latency
pipeline: recsys
seed: 7
load: {users: 6, spawn_rate: 6, duration: 14s, rate_per_user: 10}
steady_state:
  window: 2s
  slo: {error_rate: "< 1%", popular_fallback_rate: "< 5%"}
faults:
  - {name: slow-store, at: 4s, for: 6s, latency: {link: features, latency_ms: 300}}
expect:
  overall: {error_rate: "< 1%"}
  during:
    slow-store: {popular_fallback_rate: "> 50%"}
  recovery_time: "< 6s"
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv outside the repository with the built wheel installed; its bin dir."""
    top = tmp_path_factory.mktemp("wheel")
    assert ROOT not in top.parents
    wheels = top / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                   check=True, timeout=300, cwd=top)
    [wheel] = wheels.glob("chaos_harness-*.whl")
    venv = top / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = next(venv.glob("lib/python*/site-packages"))
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "zz_project_deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    return venv / "bin"


def workdir(tmp_path: Path) -> Path:
    """A directory holding a copy of the recsys pipeline (``recsys/``) and a scenario (``run/s.yaml``)."""
    shutil.copytree(RECSYS, tmp_path / "recsys", ignore=shutil.ignore_patterns("__pycache__", "scenarios"))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "s.yaml").write_text(SCENARIO)
    return tmp_path / "run"


def harness(bin_dir: Path, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(bin_dir / "chaos-harness"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    where = subprocess.run([str(installed / "python"), "-c",
                            "import harness, harness.images as i; print(harness.__file__); print(i.DOCKER_DIR)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout.split()
    package = Path(where[0]).parent
    assert installed.parent in package.parents and ROOT not in package.parents
    assert os.access(Path(where[1]) / "proxy" / "toxiproxy", os.X_OK)  # package data, executable
    assert (Path(where[1]) / "runtime.Dockerfile").is_file()


def check(result: subprocess.CompletedProcess, reports: Path) -> dict:
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(((reports / "latest").resolve() / "report.json").read_text())
    assert report["verdict"] == "passed"
    windows = {w["name"]: w for w in report["windows"]}
    assert windows["slow-store"]["popular_fallback_rate"] > 0.5
    assert windows["baseline"]["popular_fallback_rate"] < 0.05
    assert report["requests"]["errors"] == 0
    assert report["faults"][0]["recovery_time_s"] < 6
    return report


def test_an_installed_harness_runs_a_foreign_pipeline_on_the_process_backend(installed, tmp_path):
    run = workdir(tmp_path)
    assert harness(installed, "validate", "s.yaml", cwd=run).returncode == 0
    check(harness(installed, "run", "s.yaml", "--reports-dir", str(tmp_path / "reports"), cwd=run),
          tmp_path / "reports")
