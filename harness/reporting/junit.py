"""``junit.xml``: one ``<testcase>`` per SLO verdict, for CI dashboards.

A run with a ``--baseline`` also gets one case per regression check (classname
``<scenario>.regression``); ``regressed`` becomes ``<failure>``.

``failed`` becomes ``<failure>``, ``unknown`` becomes ``<error>`` (the harness could not
judge: that is not the system's fault, but it is not a pass either). A run whose record
is incomplete (``harness.integrity``) gets one more case, ``record_complete``, in error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.judge import Judgement
from harness.reporting.base import Reporter, register
from harness.slo import Status


@register
class JUnitReporter(Reporter):
    """Writes ``<testsuites><testsuite name=scenario>`` with one testcase per SLO."""

    filename = "junit.xml"

    def render(self, judgement: Judgement) -> str:
        """The JUnit XML document."""
        slos, incomplete = judgement.slos, bool(judgement.integrity)
        checks = judgement.regression.checks if judgement.regression else ()
        counts = {
            "tests": str(len(slos) + incomplete + len(checks)),
            "failures": str(sum(s.status is Status.FAILED for s in slos)
                            + sum(c.status == "regressed" for c in checks)),
            "errors": str(sum(s.status is Status.UNKNOWN for s in slos) + incomplete),
            "skipped": "0",
            "time": f"{judgement.totals.duration_s:.3f}",
        }
        root = ET.Element("testsuites", name="chaos-harness", **counts)
        suite = ET.SubElement(root, "testsuite", name=judgement.scenario,
                              timestamp=judgement.started_at or "", **counts)
        properties = ET.SubElement(suite, "properties")
        header = judgement.run.header
        for key, value in (("run_id", judgement.run_id), ("seed", header.seed),
                           ("backend", header.backend), ("status", judgement.status),
                           ("verdict", judgement.verdict.value),
                           ("started_at", judgement.started_at),
                           ("harness_version", header.harness_version),
                           ("git_commit", header.git_commit),
                           ("resolution_s", judgement.resolution_s)):
            ET.SubElement(properties, "property", name=key, value=str(value))
        for slo in slos:
            case = ET.SubElement(suite, "testcase", classname=judgement.scenario,
                                 name=slo.name, time="0")
            detail = f"observed: {slo.observed}\nthreshold: {slo.threshold}"
            if slo.status is Status.FAILED:
                ET.SubElement(case, "failure", message=slo.message,
                              type="SLOViolation").text = detail
            elif slo.status is Status.UNKNOWN:
                ET.SubElement(case, "error", message=slo.message,
                              type="SLOUnknown").text = detail
        for check in checks:
            case = ET.SubElement(suite, "testcase", classname=f"{judgement.scenario}.regression",
                                 name=f"{check.figure.name}.{check.figure.metric}", time="0")
            if check.status == "regressed":
                ET.SubElement(case, "failure", message=check.message,
                              type="Regression").text = check.message
        if incomplete:
            case = ET.SubElement(suite, "testcase", classname=judgement.scenario,
                                 name="record_complete", time="0")
            ET.SubElement(case, "error", message="; ".join(judgement.integrity),
                          type="IncompleteRecord").text = "\n".join(judgement.integrity)
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
