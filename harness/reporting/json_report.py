"""``report.json``: the Judgement itself (``Judgement.to_json()``), for machines and
for re-reading."""

from __future__ import annotations

import orjson

from harness.judge import Judgement
from harness.reporting.base import Reporter, register


@register
class JsonReporter(Reporter):
    """Writes ``Judgement.to_json()`` as indented JSON (missing numbers are null)."""

    filename = "report.json"

    def render(self, judgement: Judgement) -> str:
        """The report as JSON text."""
        return render_json(judgement.to_json())


def render_json(report: dict) -> str:
    """``report`` as indented JSON text; a value JSON cannot hold is written as text."""
    return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE,
                        default=str).decode()
