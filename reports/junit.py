"""JUnit XML: one ``<testcase>`` per result, so CI systems show a run like a test run.

Mapping (the common Ant/Jenkins/GitLab dialect):

* ``<testsuites>`` for the run, one ``<testsuite>`` per requirement (named after it,
  with ``<properties>``: customer, verdict, the requirement's status and whether it
  blocks);
* testcase ``name="check_id[target]"``, ``classname="accessready.<requirement>"``,
  ``time`` = the result's duration;
* ``fail`` → ``<failure>``, ``error`` (the check could not decide) → ``<error>``,
  ``skip`` → ``<skipped>``;
* ``warn`` → a *passing* testcase with the warning in ``<system-out>``. JUnit has no
  warning state; counting a warning as a failure would turn every "ready with warnings"
  customer red in CI, which the verdict rules say it is not. The warning stays visible
  in the test's output, and the exit code (1) still says "warnings".

Built with ``xml.etree`` (which escapes), after removing what XML 1.0 cannot carry at all.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections import defaultdict

from accessready.agent.core.findings import findings, overruled, waived
from accessready.agent.core.model import Requirement, Result, Run, Status
from accessready.agent.core.textsafe import evidence_json, xml_text
from accessready.reports.html import waiver_words
from accessready.reports.i18n import Translator, check_title

MESSAGE_LIMIT = 1_000
BODY_LIMIT = 30_000


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"


def _timestamp(iso: str) -> str | None:
    """ISO 8601 without offset, as the JUnit schema's ``timestamp`` wants (UTC)."""
    try:
        stamp = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return None
    if stamp.utcoffset() is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return stamp.isoformat(timespec="seconds")


def _body(result: Result, tr: Translator, summary: bool = True) -> str:
    """The text inside failure/error/system-out: summary, remediation, evidence."""
    parts = [tr.text(result.summary)] if summary else []
    if result.remediation is not None:
        parts.append(f"{tr('checks.remediation')}: {tr.text(result.remediation)}")
    evidence, truncated = evidence_json(result.details)
    if evidence:
        parts.append(f"{tr('checks.evidence')}:\n{evidence}")
        if truncated:
            parts.append(tr("checks.truncated", n=len(evidence)))
    return xml_text("\n\n".join(parts), BODY_LIMIT)


def _testcase(result: Result, tr: Translator, catalogue: dict, blocks: bool) -> ET.Element:
    case = ET.Element("testcase", {
        "name": xml_text(f"{result.check_id}[{result.target}]", 500, multiline=False),
        "classname": xml_text(f"accessready.{result.requirement.value}", 200, multiline=False),
        "time": _seconds(result.duration_s),
    })
    message = xml_text(tr.text(result.summary), MESSAGE_LIMIT, multiline=False)
    title = xml_text(check_title(catalogue, result.check_id, tr.lang), 300, multiline=False)
    if waived(result) and not blocks:
        # accepted in the profile until a date: not a failure of this run (counted as passed)
        note = xml_text(waiver_words(result, tr), MESSAGE_LIMIT, multiline=False)
        ET.SubElement(case, "skipped", {"message": f"{note} — {message}"})
    elif result.status is Status.FAIL:
        if blocks:  # waived, yet it blocks: say the waiver lifts nothing
            message = f"{xml_text(waiver_words(result, tr, True), MESSAGE_LIMIT)} — {message}"
        ET.SubElement(case, "failure", {"message": message, "type": "fail"}).text = \
            _body(result, tr)
    elif result.status is Status.ERROR:
        ET.SubElement(case, "error", {"message": message, "type": "error"}).text = \
            _body(result, tr)
    elif result.status is Status.SKIP:
        ET.SubElement(case, "skipped", {"message": message})
    elif result.status is Status.WARN:
        out = ET.SubElement(case, "system-out")
        out.text = xml_text(tr("junit.warning", summary=tr.text(result.summary)) + "\n\n"
                            + _body(result, tr, summary=False), BODY_LIMIT)
    if result.status in (Status.PASS, Status.SKIP) and title:
        # the readable title, for CI views that show only system-out
        ET.SubElement(case, "system-out").text = title
    return case


def to_element(run: Run, lang: str | None = None) -> ET.Element:
    """The ``<testsuites>`` element of ``run``."""
    tr = Translator(lang or run.lang)
    catalogue = dict(run.catalogue or {})
    by_req: dict[str, list[Result]] = defaultdict(list)
    for result in run.results:
        by_req[result.requirement.value].append(result)
    # a waived failure that still blocks support is a failure here too
    blocked = {id(run.results[i]) for i in overruled(findings(run))}
    outcomes = {o.requirement.value: o for o in run.requirements}
    stamp = _timestamp(run.started_at)
    host = xml_text((run.host or {}).get("hostname", ""), 200, multiline=False)

    root = ET.Element("testsuites", {"name": "accessready"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for index, req in enumerate(r.value for r in Requirement):
        results = by_req.get(req, [])
        if not results:
            continue  # a suite with no tests says nothing and some parsers reject it
        counts = {
            "tests": len(results),
            "failures": sum(r.status is Status.FAIL and (not waived(r) or id(r) in blocked)
                            for r in results),
            "errors": sum(r.status is Status.ERROR for r in results),
            "skipped": sum(r.status is Status.SKIP or (waived(r) and id(r) not in blocked)
                           for r in results),
        }
        suite_time = sum(max(0.0, r.duration_s) for r in results)
        attrs = {"name": req, "id": str(index), "package": "accessready",
                 **{k: str(v) for k, v in counts.items()}, "time": _seconds(suite_time)}
        if stamp:
            attrs["timestamp"] = stamp
        if host:
            attrs["hostname"] = host
        suite = ET.SubElement(root, "testsuite", attrs)
        props = ET.SubElement(suite, "properties")
        outcome = outcomes.get(req)
        for name, value in (
            ("customer", run.customer),
            ("verdict", run.verdict.value),
            ("requirement", tr.requirement(req)),
            ("requirement.status", outcome.status.value if outcome else ""),
            ("requirement.blocking", str(bool(outcome and outcome.blocking)).lower()),
        ):
            ET.SubElement(props, "property", {"name": name,
                                              "value": xml_text(value, 500, multiline=False)})
        for result in results:
            suite.append(_testcase(result, tr, catalogue, id(result) in blocked))
        for key, value in counts.items():
            totals[key] += value
    root.attrib.update({k: str(v) for k, v in totals.items()})
    # checks run concurrently: the run's wall time, not the sum of the suites' times
    root.set("time", _seconds(run.duration_s))
    return root


def render(run: Run, lang: str | None = None) -> bytes:
    """The JUnit XML document's bytes (UTF-8, with declaration)."""
    root = to_element(run, lang)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
