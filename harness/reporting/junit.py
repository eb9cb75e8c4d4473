"""``junit.xml``: one ``<testcase>`` per SLO verdict, for CI dashboards.

``failed`` becomes ``<failure>``, ``unknown`` becomes ``<error>`` (the harness could not
judge: that is not the system's fault, but it is not a pass either). A run whose record
is incomplete (``harness.integrity``) gets one more case, ``record_complete``, in error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from harness.analysis import Run
from harness.reporting.base import Reporter, register

_PROPERTIES = ("run_id", "seed", "backend", "status", "verdict", "started_at",
               "harness_version", "git_commit")


@register
class JUnitReporter(Reporter):
    """Writes ``<testsuites><testsuite name=scenario>`` with one testcase per SLO."""

    filename = "junit.xml"

    def render(self, report: dict[str, Any], run: Run) -> str:
        """The JUnit XML document."""
        slos, incomplete = report["slos"], bool(report["integrity"])
        counts = {
            "tests": str(len(slos) + incomplete),
            "failures": str(sum(s["status"] == "failed" for s in slos)),
            "errors": str(sum(s["status"] == "unknown" for s in slos) + incomplete),
            "skipped": "0",
            "time": f"{report['requests']['duration_s']:.3f}",
        }
        root = ET.Element("testsuites", name="chaos-harness", **counts)
        suite = ET.SubElement(root, "testsuite", name=report["scenario"],
                              timestamp=report["started_at"] or "", **counts)
        properties = ET.SubElement(suite, "properties")
        for key in _PROPERTIES:
            ET.SubElement(properties, "property", name=key, value=str(report.get(key)))
        for slo in slos:
            case = ET.SubElement(suite, "testcase", classname=report["scenario"],
                                 name=slo["name"], time="0")
            detail = f"observed: {slo['observed']}\nthreshold: {slo['threshold']}"
            if slo["status"] == "failed":
                ET.SubElement(case, "failure", message=slo["message"],
                              type="SLOViolation").text = detail
            elif slo["status"] == "unknown":
                ET.SubElement(case, "error", message=slo["message"],
                              type="SLOUnknown").text = detail
        if incomplete:
            case = ET.SubElement(suite, "testcase", classname=report["scenario"],
                                 name="record_complete", time="0")
            ET.SubElement(case, "error", message="; ".join(report["integrity"]),
                          type="IncompleteRecord").text = "\n".join(report["integrity"])
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
