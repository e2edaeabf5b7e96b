"""junit.xml: one test case per check, so CI systems show which check failed and why."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from brownout.checks import Status, Verdict


def render_junit(verdict: Verdict) -> str:
    suite = ET.Element("testsuite", name="brownout", tests=str(len(verdict.checks)))
    failures = skipped = 0
    for check in verdict.checks:
        case = ET.SubElement(suite, "testcase", classname="brownout.checks", name=check.name)
        message = "; ".join(check.reasons) or check.summary
        if verdict.counts_against(check):
            failures += 1
            failure = ET.SubElement(case, "failure", message=message, type=str(check.status))
            failure.text = check.summary
        elif check.status is Status.UNKNOWN:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"unknown (allowed): {message}")
        output = ET.SubElement(case, "system-out")
        output.text = json.dumps(check.figures, indent=1, default=str)[:20000]
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", "0")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
