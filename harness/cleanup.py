"""``chaos-harness cleanup``: remove whatever a killed or interrupted run left behind.

It reads the journals under ``reports/`` (each process a run starts is journaled with
its PID and command line *before* anything else happens), kills the process groups
that are still alive **and** still run the journaled command (a recycled PID is left
alone), deletes the run's proxies from an external Toxiproxy, and removes Docker
containers, networks and volumes labelled with the run id. A run that is still going
(its harness process, journaled in ``run_started``, is alive) is left alone, and so
are Docker objects whose creator is another live process.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Iterator

from harness.journal import JOURNAL_FILE, Journal, read_jsonl
from harness.procgroup import runs

_PROCESS_KINDS = ("service_started", "proxy_server_started", "load_launched")


def cleanup(reports_dir: Path, *, run_id: str | None = None) -> list[str]:
    """Clean up one run (or every run under ``reports_dir``); return what was done."""
    done: list[str] = []
    for journal_path in sorted(Path(reports_dir).glob(f"{run_id or '*'}/{JOURNAL_FILE}")):
        records = list(read_jsonl(journal_path))
        header = next((r for r in records if r.get("kind") == "run_started"), {})
        if runs(header.get("pid", 0), header.get("cmdline")):
            done.append(f"{journal_path.parent.name}: still running (pid {header['pid']}); left alone")
            continue
        actions = list(_kill_leftovers(records)) + list(_delete_external_proxies(journal_path.parent.name))
        if actions:
            with Journal(journal_path) as journal:
                journal.phase = "cleanup"
                journal.record("cleaned_up", actions=actions)
            done += [f"{journal_path.parent.name}: {a}" for a in actions]
    done += _docker_leftovers(run_id)
    return done or ["nothing to clean up"]


def _kill_leftovers(records: list[dict]) -> Iterator[str]:
    for record in records:
        if record.get("kind") not in _PROCESS_KINDS or "pid" not in record:
            continue
        pid, command = record["pid"], record.get("command")
        if runs(pid, command):
            try:
                os.killpg(pid, signal.SIGCONT)
                os.killpg(pid, signal.SIGKILL)
                yield f"killed leftover process group {pid} ({record['kind']})"
            except (ProcessLookupError, PermissionError):
                continue


def _delete_external_proxies(run_id: str) -> Iterator[str]:
    url = os.environ.get("TOXIPROXY_URL")
    if not url:
        return
    from harness.drivers.toxiproxy import ProxyDriver
    from harness.errors import DriverError

    driver = ProxyDriver(url)
    try:
        names = [n for n in driver.proxies() if n.startswith(f"chaos-{run_id}-")]
        for name in names:
            driver.delete(name)
            yield f"deleted proxy {name} on {url}"
    except DriverError:
        return


def _docker_leftovers(run_id: str | None) -> list[str]:
    try:
        from harness.dockerutil import cleanup_docker, docker_available
    except ImportError:
        return []
    if not docker_available()[0]:
        return []
    return cleanup_docker(run_id)
