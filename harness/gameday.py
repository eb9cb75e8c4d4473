"""Game-day mode: a scenario run with people in the loop (``chaos-harness gameday``).

The operator types at the terminal while the run goes on; every line is read by one
thread (:class:`OperatorConsole`):

* a runbook step that fires is asked, ``step 3 done? [y/n/note]``: ``y`` (done), ``n``
  (not done: the step fails), or ``note`` then a line of text (the question comes back);
* between questions: Enter injects the next fault now (else it comes on the plan's
  clock; every later step moves earlier by as much), ``note TEXT`` adds a note, ``q``
  quits;
* quitting, Ctrl-C, or the terminal closing (SIGHUP, or the end of its input) heals
  every fault at once and tears everything down, like an interrupted run (exit 130).

Every answer and note is journaled with its time (``runbook_step_done`` with
``by: operator`` and ``answer``; ``operator_note``), so the reports show them.

Partial runs: ``--inject-only`` brings the pipeline up, injects every fault of the
scenario at once, holds until Enter (or ``--hold``), then heals; ``--verify-only`` runs
the scenario's load against a pipeline that is already running (``--url``) and judges
its steady state, injecting nothing.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
from typing import Any, Callable, TextIO

from harness.errors import HarnessError
from harness.model import Scenario
from harness.plan import plan_steps
from harness.runbook import RunbookStepText
from harness.timeline.records import FaultInjected, LoadStarted, OperatorNote, Record
from harness.units import format_duration

PROMPT = "step {n} done? [y/n/note] ({title})"


class OperatorConsole:
    """The operator's terminal during a game day (see the module docstring)."""

    def __init__(self, scenario: Scenario, *, write: Callable[[str], None], stdin: TextIO | None = None,
                 hold: bool = False):
        self.scenario, self.write, self.stdin = scenario, write, stdin or sys.stdin
        self.hold = hold
        self.ready = threading.Event()
        """Set when the operator wants the next fault now (``FaultPlayer.ready``)."""
        self.done = threading.Event()
        """Set when the operator ends a hold (``--inject-only``)."""
        self.journal = None
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._asking = threading.Event()
        self._injections = [s for s in plan_steps(scenario) if s.action == "inject"]
        self._thread = threading.Thread(target=self._read, name="operator", daemon=True)

    def attach(self, journal) -> None:
        """Start listening: the run's journal is open (called by the runner)."""
        self.journal = journal
        journal.events.record.add_listener(self.on_record)
        self._thread.start()

    def on_record(self, record: Record, **_: Any) -> None:
        """Tell the operator what comes next."""
        if isinstance(record, LoadStarted) or isinstance(record, FaultInjected):
            self._announce_next(record)

    def _announce_next(self, record: Record) -> None:
        if isinstance(record, FaultInjected):
            self._injections = [s for s in self._injections if s.spec.name != record.fault]
        if self.hold and isinstance(record, FaultInjected) and not self._injections:
            self.write("holding every fault: press Enter to heal (or wait for the hold to end)")
        elif self._injections:
            step = self._injections[0]
            self.write(f"next fault: {step.spec.name} at {format_duration(step.at)} on the plan's clock; "
                       f"press Enter to inject it now")

    def ask(self, step: RunbookStepText) -> tuple[bool, str] | None:
        """Ask about one runbook step until answered y or n (notes in between); None if
        the operator quit instead."""
        while True:
            self._asking.set()
            self.write(PROMPT.format(n=step.number, title=step.title))
            answer = self._answers.get()
            self._asking.clear()
            if answer is None:  # the operator quit meanwhile
                return None
            word = answer.strip().lower()
            if word in ("y", "yes"):
                return True, "y"
            if word in ("n", "no"):
                return False, "n"
            if word.startswith("note"):
                text = answer.strip()[4:].strip()
                if not text:
                    self.write("note:")
                    self._asking.set()
                    text = (self._answers.get() or "").strip()
                    self._asking.clear()
                self._note(text, step.number)
                continue
            self.write("answer y, n or note")

    def _read(self) -> None:
        for line in self.stdin:
            self._line(line.rstrip("\r\n"))
        self._answers.put(None)
        self.quit("the terminal closed")

    def _line(self, line: str) -> None:
        word = line.strip().lower()
        if word in ("q", "quit"):
            self._answers.put(None)
            self.quit("the operator quit")
        elif self._asking.is_set() and self._answers.empty():
            self._answers.put(line)
        elif word.startswith("note"):
            self._note(line.strip()[4:].strip(), None)
        elif word == "":
            (self.done if self.hold and not self._injections else self.ready).set()
        else:
            self.write("Enter: inject the next fault now · note TEXT · q: quit (heals everything)")

    def _note(self, text: str, step: int | None) -> None:
        if text and self.journal is not None:
            try:
                self.journal.emit(OperatorNote(text=text, step=step))
            except HarnessError:
                pass

    def quit(self, why: str) -> None:
        """End the game day: a SIGINT to ourselves, so the run heals and tears down in order."""
        self.write(f"{why}: healing every fault and tearing down")
        os.kill(os.getpid(), signal.SIGINT)


def inject_only(scenario: Scenario, hold_s: float) -> Scenario:
    """The scenario with every fault at 0 s held for ``hold_s`` (the load's duration), no
    runbook and no time expectations: inject, hold, heal."""
    faults = tuple(f.model_copy(update={"at": 0.0, "for_": None}) for f in scenario.faults)
    return scenario.model_copy(update={"faults": faults, "runbook": None, "load": scenario.load.model_copy(
        update={"duration": hold_s}), "expect": scenario.expect.model_copy(update={
            "recovery_time": None, "time_to_detect": None, "time_to_mitigate": None, "time_to_recover": None})})


def verify_only(scenario: Scenario) -> Scenario:
    """The scenario with no fault, runbook or expectation: its load and steady state only."""
    return scenario.model_copy(update={"faults": (), "runbook": None, "abort_if": scenario.abort_if,
                                       "expect": type(scenario.expect)()})


class ExternalBackend:
    """A pipeline that is already running (``--verify-only``): the harness starts and
    stops nothing of it, and reaches its ingress at ``url``."""

    name = "external"

    def __init__(self, *, url: str, link: str, journal, **_: Any):
        self.url, self.link, self.journal = url.rstrip("/"), link, journal
        self.links = {link: self.url.split("://", 1)[-1]}
        self.proxies = None

    def up(self) -> None:
        """Nothing to start: journal where the pipeline is."""
        from harness.timeline.records import PipelineUp

        self.journal.emit(PipelineUp(backend=self.name, links=self.links))

    def link_url(self, link: str) -> str:
        """The ingress URL given (the only link)."""
        if link != self.link:
            raise HarnessError(f"--verify-only reaches only the {self.link} link")
        return self.url

    def service_urls(self) -> dict[str, str]:
        """Empty: only the ingress URL is known."""
        return {}

    def down(self) -> None:
        """Nothing to stop: the pipeline is not ours."""
        from harness.timeline.records import PipelineDown

        self.journal.emit(PipelineDown(backend=self.name))


def check_url(url: str, allowed: tuple[str, ...]) -> str | None:
    """Why ``--url`` may not be used (blast radius: loopback or ``allowed_hosts``), or None."""
    from urllib.parse import urlsplit

    from harness.proxy.addr import is_loopback_host

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--url {url!r}: expected http://HOST:PORT"
    if not is_loopback_host(parts.hostname) and parts.hostname not in allowed:
        return (f"--url {url!r}: {parts.hostname} is off this machine and not in the scenario's "
                f"allowed_hosts")
    return None
