"""``chaos-harness cleanup``: undo whatever a killed or interrupted run left behind.

For each run under ``reports/`` (the ``latest`` link is not a run of its own):

1. **Whose is it?** A run's owner holds ``run.lock`` (``harness.runlock``) for the
   run's life. A run whose owner is alive is never touched, ``--run-id`` or not; an
   orphan's lock is taken for the time of its cleanup (two cleanups never collide).
2. **Processes**: process groups journaled by the run that are still alive *and* still
   run the journaled command (a recycled PID is left alone) are killed.
3. **Data**: every store snapshot the run journaled (``store_snapshotting``, written
   before anything changed) and did not journal as restored is restored, and the
   checksum recorded before the change verified; the snapshot and its temp files go.
4. **Proxies**: the run's proxies (and so their toxics) are deleted from the Toxiproxy
   whose URL the run journaled (``proxy_server_found``), not from ``TOXIPROXY_URL``.
5. **Docker**: containers, networks and volumes labelled with the run id; without
   ``--run-id`` only orphans (their owner known dead), never another live run's.

What was done is journaled in the run (``store_restored``, ``proxies_deleted``,
``cleaned_up``). A line starting with ``FAILED`` means something could not be undone.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Iterator

from harness.errors import DriverError
from harness.journal import JOURNAL_FILE, Journal, read_jsonl
from harness.procgroup import runs
from harness.runlock import LockState, claim, read_owner

FAILED = "FAILED"
"""How a line that reports something not undone starts."""

_PROCESS_KINDS = ("service_started", "proxy_server_started", "load_launched")


def cleanup(reports_dir: Path, *, run_id: str | None = None) -> list[str]:
    """Clean up one run (or every orphaned run under ``reports_dir``); return what was done."""
    done: list[str] = []
    for run_dir in _run_dirs(Path(reports_dir), run_id):
        done += [f"{run_dir.name}: {line}" for line in _cleanup_run(run_dir)]
    done += _docker_leftovers(run_id)
    return done or ["nothing to clean up"]


def _run_dirs(reports_dir: Path, run_id: str | None) -> Iterator[Path]:
    """Run directories with a journal, each once: symlinks (``latest``) are not runs."""
    seen: set[Path] = set()
    for journal_path in sorted(reports_dir.glob(f"{run_id or '*'}/{JOURNAL_FILE}")):
        run_dir = journal_path.parent
        if (run_dir.is_symlink() and run_id is None) or run_dir.resolve() in seen:
            continue
        seen.add(run_dir.resolve())
        yield run_dir


def _cleanup_run(run_dir: Path) -> list[str]:
    state, lock = claim(run_dir)
    records = list(read_jsonl(run_dir / JOURNAL_FILE))
    header = next((r for r in records if r.get("kind") == "run_started"), {})
    if state is LockState.LIVE or (state is LockState.ABSENT and runs(header.get("pid", 0), header.get("cmdline"))):
        pid = read_owner(run_dir).get("pid") or header.get("pid")
        return [f"still running (pid {pid}); left alone"]
    try:
        with Journal(run_dir / JOURNAL_FILE) as journal:
            journal.phase = "cleanup"
            actions = [*_kill_leftovers(records), *_restore_stores(records, journal),
                       *_delete_proxies(records, journal)]
            if actions:
                journal.record("cleaned_up", actions=actions)
        return actions
    finally:
        if lock is not None:
            lock.release()


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


def _restore_stores(records: list[dict], journal: Journal) -> Iterator[str]:
    """Restore every journaled snapshot not journaled as restored (see the module docstring)."""
    done = {r.get("snapshot") for r in records if r.get("kind") == "store_restored" and r.get("ok")}
    for record in records:
        if record.get("kind") == "store_snapshotting" and record.get("snapshot") not in done:
            yield _restore_store(record, journal)


def _restore_store(record: dict, journal: Journal) -> str:
    from harness.stores import open_store

    described, snapshot, before = record["store"], record["snapshot"], record["checksum"]
    where = f"table {described.get('table')} in {_where(described)}"
    try:
        store = open_store(described)
        if store.checksum() == before:  # the change never began (or was undone): keep the table
            store.discard(snapshot)
            action = f"{where} unchanged; removed snapshot {snapshot}"
        else:
            store.restore(snapshot)
            after = store.checksum()
            if after != before:
                raise DriverError(f"checksum {after} after restore, {before} before the change")
            action = f"restored {where} from snapshot {snapshot} (checksum verified)"
    except Exception as exc:  # a store that cannot be reached or restored: say so, go on
        journal.record("store_restored", store=described, snapshot=snapshot, ok=False, error=str(exc))
        return f"{FAILED} to restore {where} from snapshot {snapshot}: {exc}"
    journal.record("store_restored", store=described, snapshot=snapshot, checksum=before, ok=True)
    return action


def _where(described: dict) -> str:
    if "path" in described:
        return str(described["path"])
    return re.sub(r"://([^:@/]*):[^@/]*@", r"://\1:***@", str(described.get("dsn", "?")))


def _delete_proxies(records: list[dict], journal: Journal) -> Iterator[str]:
    """Delete the run's proxies (toxics included) on each external Toxiproxy it journaled."""
    from harness.drivers.toxiproxy import ProxyDriver

    done = {(r.get("url"), r.get("prefix")) for r in records if r.get("kind") == "proxies_deleted"}
    for record in records:
        url, prefix = record.get("url"), record.get("prefix")
        if record.get("kind") != "proxy_server_found" or not prefix or (url, prefix) in done:
            continue
        done.add((url, prefix))
        try:
            driver = ProxyDriver(url)
            names = sorted(n for n in driver.proxies() if n.startswith(prefix))
            for name in names:
                driver.delete(name)
        except DriverError as exc:
            yield f"{FAILED} to delete proxies {prefix}* on {url}: {exc}"
            continue
        journal.record("proxies_deleted", url=url, prefix=prefix, proxies=names)
        yield from (f"deleted proxy {name} and its toxics on {url}" for name in names)


def _docker_leftovers(run_id: str | None) -> list[str]:
    try:
        from harness.dockerutil import cleanup_docker, docker_available
    except ImportError:
        return []
    if not docker_available()[0]:
        return []
    return cleanup_docker(run_id)
