"""Docker backend figures: image build (cold and cached), pipeline up, kill-to-serving.

    python bench/docker_bench.py                 # cached build, 3 x up, 3 x kill
    python bench/docker_bench.py --cold          # also a build from nothing (minutes)
    python bench/docker_bench.py --runs 5 --json bench.json

Targets: a cached build <= 2 s, pipeline healthy <= 20 s with cached images.

* **cold build**: every chaos-harness image removed, the apt cache (``.images/debs``)
  and the wheelhouse (``.images/wheels``) deleted, then ``build_images()``: debootstrap,
  pip wheel, every image. Needs root, debootstrap and the Debian mirror and PyPI.
* **cached build**: ``build_images()`` again with everything in place.
* **up**: ``DockerBackend.up()`` from nothing to every health check passing.
* **kill-to-serving**: from ``backend.kill("model-server")`` to the first prediction
  through the ingress proxy that the model (not the fallback rule) answered.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import images  # noqa: E402

TXN = {"transaction_id": "bench", "entity_id": 7, "amount": 30.0, "hour": 10,
       "merchant_category": "grocery"}


def cold_build() -> float:
    """Seconds to build every image with no image, apt cache or wheelhouse left."""
    from harness.dockerutil import docker_client

    client = docker_client()
    for key in ("proxy", "pipeline", "runtime", "postgres", "base"):
        try:
            client.images.remove(images.IMAGES[key], force=True)
        except Exception:  # not there: fine
            pass
    for cache in ("debs", "wheels"):
        shutil.rmtree(images.WORK_DIR / cache, ignore_errors=True)
    started = time.perf_counter()
    images.build_images(log=print)
    return time.perf_counter() - started


def cached_build() -> float:
    """Seconds for a build that finds every image up to date."""
    images.build_images(log=lambda line: None)  # make sure everything is there
    started = time.perf_counter()
    result = images.build_images(log=lambda line: None)
    assert not any(v["built"] for k, v in result.items() if k != "total_seconds"), result
    return time.perf_counter() - started


def one_run(workdir: Path) -> tuple[float, float]:
    """(up seconds, kill-to-serving seconds) for one fresh pipeline."""
    from harness.backends.docker import DockerBackend
    from harness.journal import Journal
    from harness.pipeline import load_pipeline
    from harness.probes import HttpProbe

    run_dir = workdir / f"bench-{secrets.token_hex(4)}"
    journal = Journal(run_dir / "journal.jsonl")
    backend = DockerBackend(pipeline=load_pipeline(ROOT / "fixtures" / "pipeline"), run_dir=run_dir,
                            journal=journal)
    try:
        started = time.perf_counter()
        backend.up()
        up = time.perf_counter() - started
        model_answers = HttpProbe(f"{backend.link_url('ingress')}/predict", method="POST", body=TXN,
                                  check=lambda body: body.get("fallback") is False).with_poll_interval(0.05)
        model_answers.with_timeout(30).wait()
        started = time.perf_counter()
        backend.kill("model-server")
        model_answers.with_timeout(60).with_hint("model-server not serving 60 s after the kill").wait()
        return up, time.perf_counter() - started
    finally:
        backend.down()
        journal.close()


def main(argv: list[str] | None = None) -> int:
    """The command line in the module docstring; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also time a build from nothing")
    parser.add_argument("--runs", type=int, default=3, help="pipelines to bring up (default 3)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    figures: dict[str, object] = {}
    if args.cold:
        figures["build_cold_s"] = round(cold_build(), 1)
    figures["build_cached_s"] = round(cached_build(), 2)
    ups, kills = [], []
    with tempfile.TemporaryDirectory(prefix="docker-bench-") as workdir:
        for _ in range(args.runs):
            up, kill = one_run(Path(workdir))
            ups.append(round(up, 2))
            kills.append(round(kill, 2))
            print(f"up {up:.2f} s   kill-to-serving {kill:.2f} s", flush=True)
    figures.update(up_s=ups, up_median_s=statistics.median(ups),
                   kill_to_serving_s=kills, kill_to_serving_median_s=statistics.median(kills))
    print("")
    if "build_cold_s" in figures:
        print(f"image build, from nothing : {figures['build_cold_s']:>7.1f} s")
    print(f"image build, cached       : {figures['build_cached_s']:>7.2f} s   (target <= 2 s)")
    print(f"pipeline up (healthy)     : {figures['up_median_s']:>7.2f} s   median of {ups} (target <= 20 s)")
    print(f"kill-to-serving           : {figures['kill_to_serving_median_s']:>7.2f} s   median of {kills}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    ok = figures["build_cached_s"] <= 2 and figures["up_median_s"] <= 20
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
