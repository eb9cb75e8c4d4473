"""Runs a scenario's runbook during the run: triggers, commands, the operator's answers.

Each bound step (``runbook.steps`` of the scenario) fires once, on its trigger:

* ``at: 20s`` - a timer from the load's start;
* ``when: fallback_rate > 50% for 2s`` - a condition on the live feed (``harness.watch``),
  watched from the runbook's fault on (a runbook answers that fault, not noise before it);
* ``after: 1`` - when step 1 is done (whatever its outcome).

Fired steps are carried out one at a time, in the order they fired, by a worker thread:
in automated mode a step's command runs under ``bash -c`` in its own process group,
with the link URLs in its environment (``CHAOS_LINK_<NAME>``, e.g.
``CHAOS_LINK_INGRESS=http://127.0.0.1:40123``) and ``CHAOS_RUN_DIR``; its output goes
to ``runbook/step-N.log`` in the run directory; after ``timeout`` its group is killed
and the step fails. A step without a command is done when it fires. With an
``operator`` (game-day mode) every step is asked of the operator instead.

Journal: ``runbook_step_triggered``, ``runbook_step_done``; the runbook's alert
(``detect``, default the first ``when``) is watched from the fault's injection and
journaled as ``condition_held`` with role ``detect``. ``stop()`` ends whatever runs
(teardown): no command outlives the run.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from harness.errors import HarnessError
from harness.runbook import Runbook, RunbookStepText
from harness.timeline.records import LoadStarted, Record, RunbookStepDone, RunbookStepTriggered
from harness.watch import ConditionWatch

if TYPE_CHECKING:
    from harness.journal import Journal
    from harness.model import RunbookSpec, RunbookStep

Operator = Callable[[RunbookStepText], "tuple[bool, str] | None"]
"""Game-day mode: asks the operator about a step; returns (done, answer as typed), or
None if the operator quit instead of answering."""

RUNBOOK_DIR = "runbook"


class RunbookRunner:
    """Fires and carries out the bound steps of one runbook (see the module docstring)."""

    def __init__(self, spec: "RunbookSpec", runbook: Runbook, *, fault: str | None, journal: "Journal",
                 run_dir: Path, links: dict[str, str], operator: Operator | None = None):
        self.spec, self.runbook, self.journal, self.run_dir = spec, runbook, journal, Path(run_dir)
        self.operator = operator
        self.env = {**os.environ, "CHAOS_RUN_DIR": str(self.run_dir),
                    **{f"CHAOS_LINK_{name.upper().replace('-', '_')}": url for name, url in links.items()}}
        self.watch = ConditionWatch(journal)
        self._queue: queue.Queue[RunbookStep | None] = queue.Queue()
        self._fired: set[int] = set()
        self._timers: list[threading.Timer] = []
        self._process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name="runbook", daemon=True)
        detect = spec.detect or next((s.when for s in spec.steps if s.when is not None), None)
        if detect is not None:
            self.watch.watch(detect, "detect", armed_by=fault)
        for step in spec.steps:
            if step.when is not None:
                self.watch.watch(step.when, "trigger", lambda _, step=step: self.fire(step), step=step.step,
                                 armed_by=fault)

    def listen(self, events) -> "RunbookRunner":
        """Subscribe to the run's records and requests and start the worker; returns itself."""
        self.watch.listen(events)
        events.record.add_listener(self.on_record)
        self._worker.start()
        return self

    def on_record(self, record: Record, **_: Any) -> None:
        """Start the ``at`` timers at the load's start; fire ``after`` steps."""
        if isinstance(record, LoadStarted):
            for step in self.spec.steps:
                if step.at is not None:
                    delay = max(record.load_ts + step.at - time.time(), 0.0)
                    timer = threading.Timer(delay, self.fire, (step,))
                    timer.daemon = True
                    self._timers.append(timer)
                    timer.start()
        elif isinstance(record, RunbookStepDone):
            for step in self.spec.steps:
                if step.after == record.step:
                    self.fire(step)

    def fire(self, step: "RunbookStep") -> None:
        """Fire ``step`` (once): journal it and queue it for the worker."""
        with self._lock:
            if step.step in self._fired or self._stopping.is_set():
                return
            self._fired.add(step.step)
        text = self.runbook.steps[step.step]
        try:
            self.journal.emit(RunbookStepTriggered(step=step.step, title=text.title, trigger=step.trigger,
                                                   command=text.command))
        except HarnessError:
            return
        self._queue.put(step)

    def _work(self) -> None:
        while (step := self._queue.get()) is not None:
            if self._stopping.is_set():
                return
            text = self.runbook.steps[step.step]
            done = self._carry_out(text)
            if done is None:  # the operator quit: the step was never done
                return
            try:
                self.journal.emit(done)
            except HarnessError:
                return

    def _carry_out(self, text: RunbookStepText) -> RunbookStepDone | None:
        started = time.time()
        if self.operator is not None:
            answered = self.operator(text)
            if answered is None:
                return None
            done, answer = answered
            return RunbookStepDone(step=text.number, ok=done, by="operator", answer=answer, started_at=started,
                                   duration_s=time.time() - started)
        if text.command is None:
            return RunbookStepDone(step=text.number, ok=True, by="none", started_at=started, duration_s=0.0)
        output = Path(RUNBOOK_DIR) / f"step-{text.number}.log"
        (self.run_dir / RUNBOOK_DIR).mkdir(exist_ok=True)
        with open(self.run_dir / output, "wb") as log:
            self._process = subprocess.Popen(["bash", "-c", text.command], stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, env=self.env, cwd=self.run_dir,
                                             start_new_session=True)
            timed_out = False
            try:
                code = self._process.wait(self.spec.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                self._kill()
                code = self._process.wait()
        return RunbookStepDone(step=text.number, ok=code == 0 and not timed_out, exit_code=code,
                               timed_out=timed_out, started_at=started, duration_s=round(time.time() - started, 6),
                               output=str(output))

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 5.0) -> None:
        """End the runbook: no more steps fire, a running command's group is killed; idempotent."""
        self._stopping.set()
        for timer in self._timers:
            timer.cancel()
        self._kill()
        self._queue.put(None)
        if self._worker.is_alive():
            self._worker.join(timeout)
