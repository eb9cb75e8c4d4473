"""The golden answer: one line of ``golden-answers.jsonl`` per golden request replayed.

Written by :class:`harness.golden.GoldenProbe` beside the Locust load and read back by
:mod:`harness.correctness`; times are epoch seconds on the same clock as the journal
and the request log, so the three line up on one timeline. ``right`` is the case's
rule applied to the answer (``harness.golden.is_right``); ``flagged`` says whether any
of the pipeline's ``answers.flags`` was true; ``values`` holds its ``answers.values``
(None when absent or not a number). A **silently wrong** answer is ``status == 200``,
not ``flagged`` and not ``right``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

GOLDEN_ANSWERS_FILE = "golden-answers.jsonl"


@dataclass(frozen=True, kw_only=True)
class GoldenAnswer:
    """One replayed golden case and what the pipeline answered."""

    ts: float
    """When it was sent, epoch seconds."""
    case: str
    status: int | None
    """The HTTP status; None when no answer came (timeout, refused)."""
    service_ms: float
    right: bool
    flagged: bool
    values: dict[str, float | None] = field(default_factory=dict)
    expected: dict[str, float | None] = field(default_factory=dict)
    """The case's known answer for each of ``values`` (None where it gives none): what the
    healthy pipeline answers to this very request, the reference of the drift metrics."""

    @property
    def silent_wrong(self) -> bool:
        """A 200, not flagged, and not right: the failure no status code shows."""
        return self.status == 200 and not self.flagged and not self.right

    def to_json(self) -> dict[str, Any]:
        """The line's object."""
        return asdict(self)


def parse_golden_answer(data: dict[str, Any]) -> GoldenAnswer:
    """The typed answer of one line's object (KeyError/TypeError when it does not fit)."""
    return GoldenAnswer(ts=float(data["ts"]), case=str(data["case"]), status=data.get("status"),
                        service_ms=float(data.get("service_ms", 0.0)), right=bool(data["right"]),
                        flagged=bool(data["flagged"]), values=dict(data.get("values") or {}),
                        expected=dict(data.get("expected") or {}))
