"""``report.json``: the report itself, for machines and for re-reading."""

from __future__ import annotations

import json
from typing import Any

from harness.analysis import Run
from harness.reporting.base import Reporter, register


@register
class JsonReporter(Reporter):
    """Writes the report dict as indented JSON (no NaN: missing numbers are null)."""

    filename = "report.json"

    def render(self, report: dict[str, Any], run: Run) -> str:
        """The report as JSON text."""
        return json.dumps(report, indent=2, allow_nan=False, default=str) + "\n"
