"""JUnit XML: parsed, and held to the JUnit schema's rules (the Ant/Jenkins dialect CI
systems read): element nesting and order, required attributes, counts that add up."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

from accessready.agent.core.model import Requirement, Result, Run, Status, t
from accessready.reports import RENDERERS
from accessready.reports.junit import render

from .hostile import hostile_run

DECIMAL = re.compile(r"^\d+(\.\d+)?$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")  # xs:dateTime, no zone
SUITE_ATTRS = {"name", "tests", "failures", "errors", "skipped", "time", "timestamp",
               "hostname", "id", "package"}
CASE_ATTRS = {"name", "classname", "time"}


def check_schema(root: ET.Element) -> None:
    """The structural rules of the JUnit XSD, as assertions."""
    assert root.tag == "testsuites"
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root:
        assert suite.tag == "testsuite"
        assert set(suite.attrib) <= SUITE_ATTRS, set(suite.attrib) - SUITE_ATTRS
        for required in ("name", "tests", "failures", "errors", "time"):
            assert required in suite.attrib, f"testsuite lacks {required}"
        assert DECIMAL.match(suite.get("time", ""))
        if "timestamp" in suite.attrib:
            assert TIMESTAMP.match(suite.attrib["timestamp"])
        children = [c.tag for c in suite]
        # properties first (at most once), then testcases, then system-out/err
        assert children.count("properties") <= 1
        if "properties" in children:
            assert children[0] == "properties"
            for prop in suite.find("properties"):
                assert prop.tag == "property" and set(prop.attrib) == {"name", "value"}
        assert set(children) <= {"properties", "testcase", "system-out", "system-err"}
        cases = suite.findall("testcase")
        counts = {"tests": len(cases), "failures": 0, "errors": 0, "skipped": 0}
        for case in cases:
            assert set(case.attrib) <= CASE_ATTRS
            assert case.get("name") and case.get("classname")
            assert DECIMAL.match(case.get("time", ""))
            kinds = [c.tag for c in case]
            assert set(kinds) <= {"failure", "error", "skipped", "system-out", "system-err"}
            outcome = [k for k in kinds if k in ("failure", "error", "skipped")]
            assert len(outcome) <= 1, f"{case.get('name')}: more than one outcome"
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    assert "message" in child.attrib
            counts["failures"] += kinds.count("failure")
            counts["errors"] += kinds.count("error")
            counts["skipped"] += kinds.count("skipped")
        for key, value in counts.items():
            assert int(suite.get(key, "0")) == value, f"{suite.get('name')}: {key} is wrong"
            totals[key] += value
    for key, value in totals.items():
        assert int(root.get(key, "-1")) == value, f"testsuites {key} is wrong"


def parse(run: Run, lang: str = "en") -> ET.Element:
    data = render(run, lang)
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(data)


def test_registered(sample_run: Run) -> None:
    assert RENDERERS["junit"](sample_run, "en") == render(sample_run, "en")


def test_schema_rules_hold(sample_run: Run) -> None:
    check_schema(parse(sample_run))


def test_schema_check_can_fail() -> None:
    """The checker itself rejects a wrong count and a doubled outcome."""
    bad = ET.fromstring('<testsuites tests="1" failures="0" errors="0" skipped="0">'
                        '<testsuite name="a" tests="1" failures="0" errors="0" time="0">'
                        '<testcase name="x" classname="c" time="0"><failure message="m"/>'
                        '</testcase></testsuite></testsuites>')
    try:
        check_schema(bad)
    except AssertionError:
        pass
    else:
        raise AssertionError("a wrong failure count passed the schema check")


def test_one_testcase_per_result_in_suites_per_requirement(sample_run: Run) -> None:
    root = parse(sample_run)
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(sample_run.results)
    names = [s.get("name") for s in root]
    assert names == [r.value for r in Requirement
                     if any(x.requirement is r for x in sample_run.results)]
    first = cases[0]
    assert first.get("name") == "admin.agreement[Exempel kommun]"
    assert first.get("classname") == "accessready.admin"
    assert first.get("time") == "0.120"


def test_statuses_map_to_junit_outcomes(sample_run: Run) -> None:
    root = parse(sample_run)
    by_name = {c.get("name"): c for c in root.iter("testcase")}
    gw = by_name["anyconnect.gateway[vpn.exempel.se:443]"]
    failure = gw.find("failure")
    assert failure is not None and failure.get("type") == "fail"
    assert failure.get("message") == "TLS handshake succeeded but group 'Leverantorer' is " \
                                     "not offered."
    assert "What to do: Open TCP 443" in failure.text and '"elapsed_ms": 143.2' in failure.text
    err = by_name["teamviewer.network[router1.teamviewer.com]"].find("error")
    assert err is not None and err.get("message").startswith("Timed out")
    assert by_name["anyconnect.split_tunnel[vpn.exempel.se]"].find("skipped") is not None
    # warn: a pass, with the warning in system-out
    warn = by_name["workstation.os[this machine]"]
    assert warn.find("failure") is None and warn.find("error") is None
    assert warn.find("skipped") is None
    assert warn.find("system-out").text.startswith("WARNING (counted as passed): Windows 10")
    assert root.get("failures") == "3" and root.get("errors") == "1"
    assert root.get("skipped") == "1" and root.get("tests") == "12"


def test_properties_and_timestamp(sample_run: Run) -> None:
    suite = parse(sample_run).find("testsuite[@name='access']")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props == {"customer": "Exempel kommun", "verdict": "not_ready",
                     "requirement": "Remote-access method", "requirement.status": "fail",
                     "requirement.blocking": "true"}
    assert suite.get("timestamp") == "2026-11-25T08:14:03"  # converted to UTC
    assert suite.get("hostname") == "LAPTOP-ENG07"


def test_swedish_messages(sample_run: Run) -> None:
    root = parse(sample_run, "sv")
    warn = next(c for c in root.iter("testcase") if c.get("name").startswith("workstation"))
    assert warn.find("system-out").text.startswith("VARNING (räknas som godkänd)")


def test_hostile_text_stays_well_formed_xml() -> None:
    run = hostile_run("http://127.0.0.1:9")
    data = render(run, "en")
    root = ET.fromstring(data)  # well-formed despite NULs, surrogates, ]]>, quotes
    check_schema(root)
    text = data.decode("utf-8")
    assert "\x00" not in text and "\x1b" not in text
    assert not re.search("[\ud800-\udfff\ufffe\uffff]", text)
    names = [c.get("name") for c in root.iter("testcase")]
    assert any("<script>" in n for n in names)  # kept as text, escaped by the serializer
    assert len(data) < 3_000_000


def test_illegal_xml_characters_are_removed(sample_run: Run) -> None:
    odd = Result(check_id="x.y", target="a\x00b\x0bc", status=Status.FAIL,
                 summary=t("bad \x07 bell", "x"), details={"k": "\x1f"},
                 requirement=Requirement.ADMIN)
    root = ET.fromstring(render(dataclasses.replace(sample_run, results=(odd,)), "en"))
    case = root.find("./testsuite/testcase")
    assert case.get("name") == "x.y[a\ufffdb\ufffdc]"
    assert case.find("failure").get("message") == "bad \ufffd bell"
