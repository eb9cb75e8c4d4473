"""The workers' request logs merged into one ``requests.jsonl`` (``load.workers: N``).

Each Locust worker writes ``requests-worker-I.jsonl`` in the run directory. The merge
appends every one of their lines to ``requests.jsonl`` ordered by intended start (one
clock: the workers run on this machine), then removes the worker files. A line that
does not parse (torn by a crash or a full disk) is kept, after the others, so that the
integrity check still counts it as torn. The merged file is written beside the log and
renamed over it, so a crash mid-merge leaves the worker files and the old log intact;
``merge_worker_logs`` is idempotent and ``load_run`` calls it too (a run killed before
its load stopped is still read whole).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from harness.gcpause import gc_paused
from harness.journal import REQUEST_LOG_FILE

WORKER_LOG = "requests-worker-{}.jsonl"
"""A worker's own request log, by worker index."""


def worker_logs(run_dir: Path) -> list[Path]:
    """The workers' request logs still in ``run_dir``, by worker index."""
    return sorted(Path(run_dir).glob(WORKER_LOG.format("*")),
                  key=lambda p: int(p.stem.rsplit("-", 1)[-1]) if p.stem.rsplit("-", 1)[-1].isdigit() else -1)


def _intended(line: bytes) -> float | None:
    try:
        value = orjson.loads(line).get("intended_ts")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, (int, float)) else None


def merge_worker_logs(run_dir: Path) -> int:
    """Merge every worker log of ``run_dir`` into its ``requests.jsonl``; return the
    number of lines merged (0 when there was nothing to merge)."""
    run_dir = Path(run_dir)
    parts = worker_logs(run_dir)
    if not parts:
        return 0
    target = run_dir / REQUEST_LOG_FILE
    keyed: list[tuple[float, bytes]] = []
    torn: list[bytes] = []
    with gc_paused():
        for part in parts:
            for line in part.read_bytes().splitlines():
                if not line.strip():
                    continue
                at = _intended(line)
                if at is None:
                    torn.append(line)
                else:
                    keyed.append((at, line))
        keyed.sort(key=lambda pair: pair[0])
    temp = run_dir / f".{REQUEST_LOG_FILE}.merge.tmp"
    with open(temp, "wb") as out:
        if target.exists():
            existing = target.read_bytes()
            out.write(existing if not existing or existing.endswith(b"\n") else existing + b"\n")
        out.writelines(line + b"\n" for _, line in keyed)
        out.writelines(line + b"\n" for line in torn)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, target)
    for part in parts:
        part.unlink()
    return len(keyed) + len(torn)
