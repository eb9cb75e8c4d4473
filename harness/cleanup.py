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
   **Artifacts**: every file a ``model_swap`` journaled as swapping
   (``artifact_swapping``: path, backup beside it, checksum before) and not as
   restored is put back from its backup and its checksum verified; the backup goes.
   Only local files (process backend): an artifact inside a container goes with the
   run's containers and volumes (5.).
4. **Proxies**: the run's proxies (and so their toxics) are deleted from the Toxiproxy
   whose URL the run journaled (``proxy_server_found``), not from ``TOXIPROXY_URL``.
5. **Docker**: containers, networks and volumes labelled with the run id; without
   ``--run-id`` only orphans (their owner known dead), never another live run's.

What was done is journaled in the run (``store_restored``, ``proxies_deleted``,
``cleaned_up``). A line starting with ``FAILED`` means something could not be undone
(a journal that does not read as typed records is one: nothing of it is touched).
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Iterator

from harness.errors import DriverError
from harness.files import sha256_of
from harness.journal import JOURNAL_FILE, Journal, read_records
from harness.procgroup import runs
from harness.runlock import LockState, claim, read_owner
from harness.timeline.records import (ArtifactRestored, ArtifactSwapping, CleanedUp, LoadLaunched, Phase, ProxiesDeleted, ProxyServerFound,
                                      ProxyServerStarted, Record, RunStarted, ServiceStarted,
                                      StoreRestored, StoreSnapshotting, TimelineError)

FAILED = "FAILED"
"""How a line that reports something not undone starts."""

_PROCESS_RECORDS = (ServiceStarted, ProxyServerStarted, LoadLaunched)


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
    try:
        try:
            records = read_records(run_dir)
        except TimelineError as exc:
            return [f"{FAILED}: its journal does not read ({exc}); nothing of it was touched"]
        header = next((r for r in records if isinstance(r, RunStarted)), None)
        if state is LockState.LIVE or (state is LockState.ABSENT and header is not None
                                       and runs(header.pid or 0, header.cmdline)):
            pid = read_owner(run_dir).get("pid") or (header.pid if header else None)
            return [f"still running (pid {pid}); left alone"]
        with Journal(run_dir / JOURNAL_FILE) as journal:
            journal.phase = Phase.CLEANUP.value
            actions = [*_kill_leftovers(records), *_restore_stores(records, journal),
                       *_restore_artifacts(records, journal), *_delete_proxies(records, journal)]
            if actions:
                journal.emit(CleanedUp(actions=actions))
        return actions
    finally:
        if lock is not None:
            lock.release()


def _kill_leftovers(records: list[Record]) -> Iterator[str]:
    for record in records:
        if not isinstance(record, _PROCESS_RECORDS) or not record.pid:
            continue
        if runs(record.pid, record.command):
            try:
                os.killpg(record.pid, signal.SIGCONT)
                os.killpg(record.pid, signal.SIGKILL)
                yield f"killed leftover process group {record.pid} ({record.kind})"
            except (ProcessLookupError, PermissionError):
                continue


def _restore_stores(records: list[Record], journal: Journal) -> Iterator[str]:
    """Restore every journaled snapshot not journaled as restored (see the module docstring)."""
    done = {r.snapshot for r in records if isinstance(r, StoreRestored) and r.ok}
    for record in records:
        if isinstance(record, StoreSnapshotting) and record.snapshot not in done:
            yield _restore_store(record, journal)


def _restore_store(record: StoreSnapshotting, journal: Journal) -> str:
    from harness.stores import open_store

    described, snapshot, before = record.store, record.snapshot, record.checksum
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
        journal.emit(StoreRestored(store=described, snapshot=snapshot, ok=False, error=str(exc)))
        return f"{FAILED} to restore {where} from snapshot {snapshot}: {exc}"
    journal.emit(StoreRestored(store=described, snapshot=snapshot, checksum=before, ok=True))
    return action


def _restore_artifacts(records: list[Record], journal: Journal) -> Iterator[str]:
    """Put back every local artifact swapped and not restored (see the module docstring)."""
    done = {r.backup for r in records if isinstance(r, ArtifactRestored) and r.ok}
    for record in records:
        if isinstance(record, ArtifactSwapping) and record.where == "local" and record.backup not in done:
            yield _restore_artifact(record, journal)


def _restore_artifact(record: ArtifactSwapping, journal: Journal) -> str:
    from harness.files import LocalFiles

    files, path, backup, before = LocalFiles(), record.path, record.backup, record.checksum
    common = dict(fault=record.fault, fault_kind=record.fault_kind, target=record.target, path=path, backup=backup)
    try:
        if files.glob(path) and files.sha256(path) == before:  # never swapped, or put back already
            action = f"artifact {path} unchanged; removed backup {backup}"
        else:
            data = files.read(backup)
            if sha256_of(data) != before:
                raise DriverError(f"backup {backup} has checksum {sha256_of(data)}, not {before}")
            files.replace(path, data)
            if files.sha256(path) != before:
                raise DriverError(f"checksum {files.sha256(path)} after restore, {before} before the swap")
            action = f"restored artifact {path} from {backup} (checksum verified)"
        files.remove(backup)
    except DriverError as exc:
        journal.emit(ArtifactRestored(**common, ok=False, error=str(exc)))
        return f"{FAILED} to restore artifact {path} from {backup}: {exc}"
    journal.emit(ArtifactRestored(**common, checksum=before, ok=True))
    return action


def _where(described: dict) -> str:
    if "path" in described:
        return str(described["path"])
    return re.sub(r"://([^:@/]*):[^@/]*@", r"://\1:***@", str(described.get("dsn") or described.get("url", "?")))


def _delete_proxies(records: list[Record], journal: Journal) -> Iterator[str]:
    """Delete the run's proxies (toxics included) on each external Toxiproxy it journaled."""
    from harness.drivers.toxiproxy import ToxiproxyDriver

    done = {(r.url, r.prefix) for r in records if isinstance(r, ProxiesDeleted)}
    for record in records:
        if not isinstance(record, ProxyServerFound) or not record.prefix or (record.url, record.prefix) in done:
            continue
        url, prefix = record.url, record.prefix
        done.add((url, prefix))
        try:
            names = _delete_prefixed(ToxiproxyDriver(url), prefix)
        except DriverError as exc:
            yield f"{FAILED} to delete proxies {prefix}* on {url}: {exc}"
            continue
        journal.emit(ProxiesDeleted(url=url, prefix=prefix, proxies=names))
        yield from (f"deleted proxy {name} and its toxics on {url}" for name in names)


def _delete_prefixed(driver, prefix: str) -> list[str]:
    """Delete every proxy whose name starts with ``prefix``; return their names."""
    try:
        names = sorted(n for n in driver.proxies() if n.startswith(prefix))
        for name in names:
            driver.delete(name)
        return names
    finally:
        driver.close()


def _docker_leftovers(run_id: str | None) -> list[str]:
    try:
        from harness.dockerutil import cleanup_docker, docker_available
    except ImportError:
        return []
    if not docker_available()[0]:
        return []
    return cleanup_docker(run_id)
