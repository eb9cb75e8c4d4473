"""Journal records: live conditions and runbooks."""

from __future__ import annotations

from harness.timeline.records.base import Record, kind


@kind("condition_held")
class ConditionHeld(Record):
    """A condition on the live request feed first held (``harness.conditions``).

    ``role``: ``abort`` (an ``abort_if``: the run stops and heals at once), ``detect``
    (the runbook's alert) or ``trigger`` (a runbook step's ``when``).
    """

    condition: str
    role: str
    held_at: float
    """Epoch seconds: the answer time of the request that made it hold."""
    value: float | None = None
    step: int | None = None


@kind("runbook_step_triggered")
class RunbookStepTriggered(Record):
    """A runbook step's trigger fired (``at``, ``when``, ``after``)."""

    step: int
    title: str
    trigger: str
    command: str | None = None


@kind("runbook_step_done")
class RunbookStepDone(Record):
    """A runbook step ended: its command's exit (``ok``), or the operator's answer.

    ``by``: ``command`` (run by the harness), ``operator`` (game-day mode) or ``none``
    (a step without a command, in automated mode: done when triggered).
    """

    step: int
    ok: bool
    by: str = "command"
    exit_code: int | None = None
    timed_out: bool = False
    started_at: float | None = None
    duration_s: float | None = None
    output: str | None = None
    """The file holding the command's output, relative to the run directory."""
    answer: str | None = None


@kind("operator_note")
class OperatorNote(Record):
    """A note the operator typed during a game day (timestamped by the record)."""

    text: str
    step: int | None = None
