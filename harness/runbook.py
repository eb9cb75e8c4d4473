"""Runbooks: Markdown whose numbered steps the harness (or an operator) carries out.

A step is a top-level numbered list item (``3. Switch to the standby source``): its first
line is its title, the indented lines after it its text, and the first fenced code
block among them (```` ```sh ```` ... ```` ``` ````) its **command**, run with ``bash``
in automated mode. A step without a fenced block is a human step: in game-day mode the
operator is asked whether it is done; in automated mode it is done when triggered.
Step numbers are as written and must be unique in the file::

    1. Confirm the alert on the dashboard.
    2. Fail over to the standby.

       ```sh
       curl -fsS -X POST "$CHAOS_LINK_INGRESS/admin/failover"
       ```

Which steps run, and when, is the scenario's ``runbook:`` (``harness.model.RunbookSpec``);
``harness.runbook_runner`` runs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import Problem

_ITEM = re.compile(r"^(\d{1,4})[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^#\s+(.*)$")


@dataclass(frozen=True)
class RunbookStepText:
    """One numbered step as written."""

    number: int
    title: str
    line: int
    command: str | None = None


@dataclass(frozen=True)
class Runbook:
    """A parsed runbook: its title (first ``#`` heading) and numbered steps."""

    path: Path
    title: str
    steps: dict[int, RunbookStepText]


def parse_runbook(path: Path) -> Runbook:
    """Read and parse a runbook; RunbookError (with file and line) if it cannot be used."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunbookError([Problem(file=str(path), line=None, path="runbook",
                                    message=f"cannot read the runbook ({exc})")]) from None
    return parse_runbook_text(text, path)


def parse_runbook_text(text: str, path: Path) -> Runbook:
    """Parse runbook ``text`` (from ``path``, for the messages)."""
    lines = text.splitlines()
    title, steps, problems = path.stem, {}, []
    i = 0
    while i < len(lines):
        line = lines[i]
        heading = _HEADING.match(line)
        if heading and title == path.stem:
            title = heading[1].strip()
        item = _ITEM.match(line)
        if not item:
            i += 1
            continue
        number, start = int(item[1]), i + 1
        body, i = _body(lines, i + 1)
        command, problem = _command(body)
        if problem:
            problems.append(Problem(file=str(path), line=start, path=f"step {number}", message=problem))
        if number in steps:
            problems.append(Problem(file=str(path), line=start, path=f"step {number}",
                                    message=f"step {number} is numbered twice (first on line {steps[number].line})"))
            continue
        steps[number] = RunbookStepText(number, item[2].strip(), start, command)
    if not steps and not problems:
        problems.append(Problem(file=str(path), line=None, path="runbook",
                                message="no numbered steps ('1. ...' at the start of a line)"))
    if problems:
        raise RunbookError(problems)
    return Runbook(path=path, title=title, steps=steps)


def _body(lines: list[str], i: int) -> tuple[list[str], int]:
    """The step's own lines from ``i``: indented or blank ones, up to the next item or heading."""
    body = []
    while i < len(lines):
        line = lines[i]
        if line.strip() and not line[:1].isspace() and not _FENCE.match(line):
            break
        body.append(line)
        i += 1
    return body, i


def _command(body: list[str]) -> tuple[str | None, str | None]:
    """The first fenced block of the body, dedented; or a problem if it is never closed."""
    for start, line in enumerate(body):
        fence = _FENCE.match(line)
        if not fence:
            continue
        indent = len(line) - len(line.lstrip())
        for end in range(start + 1, len(body)):
            if body[end].strip().startswith(fence[1]):
                code = [text[indent:] if text[:indent].isspace() else text.lstrip()
                        for text in body[start + 1:end]]
                return "\n".join(code).strip() or None, None
        return None, "a fenced command block that is never closed"
    return None, None


class RunbookError(Exception):
    """A runbook that cannot be used; ``problems`` say where."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
