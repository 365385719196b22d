"""Every user's run gives the right verdict (issue 14): the engineer, the customer's
self-check and the audit host, end to end against the demo's simulated customer.

The real checks run against the demo's simulators on loopback (gateways, WinRM and SSH
hosts, AD FS/WAP, DNS); only the profile and the vantage change between the tests. Each
vantage's outputs are rendered in both languages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from accessready.agent.app.audit import AuditOptions, run_audit
from accessready.agent.app.history import History
from accessready.agent.app.run import default_services, run_checks
from accessready.agent.core.findings import findings as all_findings
from accessready.agent.core.model import ExitCode, Requirement, Run, Status, Verdict
from accessready.agent.core.profile import load_profile
from accessready.agent.demo.environment import demo_environment
from accessready.agent.plugin.runner import RunOptions
from accessready.reports import RENDERERS
from accessready.reports import overview as ov
from accessready.reports.terminal import render_table

from .conftest import REPO

RESULT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "result.schema.json").read_text())
AUDIT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "audit.schema.json").read_text())
ENGINEER_ONLY = ("workstation.os", "workstation.no_admin", "workstation.clients",
                 "anyconnect.split_tunnel", "checkpoint.split_tunnel", "winvpn.split_tunnel",
                 "winvpn.connection")


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, dict[str, Any]]]:
    """The demo's simulated customer, running; (its profile's text, simulated services)."""
    simulated: dict[str, Any] = {}
    with demo_environment(simulated) as path:
        yield path.read_text("utf-8"), simulated


def variant(folder: Path, stem: str, text: str, *edits: tuple[str, str]) -> Path:
    """The demo profile with each (old, new) edit applied; every edit must apply."""
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / f"{stem}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def teamviewer_only(name: str) -> list[tuple[str, str]]:
    return [('name = "Exempel kommun (demo)"', f'name = "{name}"'),
            ('methods = ["anyconnect", "teamviewer", "checkpoint", "windows_vpn"]',
             'methods = ["teamviewer"]')]


TV_MATCHING_ID = ('id = "1 234 567 890"', 'id = "987 654 321"')  # the host's real ID
NO_TV_SERVER = ('server = "adfs01"\n', "")


def run_as(path: Path, simulated: dict[str, Any], **kw: Any) -> Run:
    profile = load_profile(path)
    return run_checks(profile, RunOptions(timeout=5), interactive=False,
                      services={**default_services(profile), **simulated}, **kw)


def by_check(run: Run) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in run.results:
        out.setdefault(r.check_id, []).append(r)
    return out


def rendered(run: Run, lang: str) -> tuple[str, str, dict[str, Any]]:
    """(HTML, terminal table, JSON) of ``run`` in ``lang``; the JSON validated."""
    data = json.loads(RENDERERS["json"](run, lang))
    jsonschema.validate(data, RESULT_SCHEMA)
    return RENDERERS["html"](run, lang).decode(), render_table(run, lang), data


def test_audit_over_several_profiles(tmp_path: Path, demo) -> None:
    """An audit of healthy customers ends ready with warnings, not unknown; the engineer's
    workstation and tunnel are skipped saying why; agreements gate; unknown ranks between
    not ready and warnings in every output and both languages."""
    text, simulated = demo
    folder = tmp_path / "profiles"
    folder.mkdir()
    paths = [
        variant(folder, "a-demo", text),
        variant(folder, "b-tv", text, *teamviewer_only("TV kommun"), TV_MATCHING_ID),
        variant(folder, "c-expired", text, ('name = "Exempel kommun (demo)"',
                                            'name = "Utgången kommun"'),
                ("agreement_valid_until = 2027-06-30", "agreement_valid_until = 2024-06-30")),
        variant(folder, "d-broken", '[customer]\nname = "Trasig kommun"\n'),
    ]
    db = tmp_path / "audit.db"
    report = run_audit(paths, AuditOptions(history=str(db), profiles_at_once=3),
                       services=lambda p: {**default_services(p), **simulated})
    verdicts = {e.customer: e.verdict for e in report.entries}
    assert verdicts == {"Exempel kommun (demo)": Verdict.READY_WITH_WARNINGS,
                        "TV kommun": Verdict.READY_WITH_WARNINGS,
                        "Utgången kommun": Verdict.NOT_READY,
                        "Trasig kommun": Verdict.UNKNOWN}
    demo_run = report.entries[0].run
    assert demo_run is not None and demo_run.vantage == "audit"
    checks = by_check(demo_run)
    for check_id in (*ENGINEER_ONLY, "teamviewer.network"):
        (skip,) = checks[check_id]
        assert skip.status is Status.SKIP and skip.details["reason"] == "vantage", check_id
        assert "not checked from an audit host" in skip.summary.en
        assert "kontrolleras inte från en granskningsserver" in skip.summary.sv
    (ws,) = checks["workstation.os"]
    assert ws.summary.en == ("The engineer's workstation is not checked from an audit host.")
    # TeamViewer Host is examined on the named server over WinRM, from the audit host too
    (tv,) = by_check(report.entries[1].run)["teamviewer.host"]
    assert tv.status is Status.PASS and tv.target == "adfs01"
    expired = report.entries[2].run
    admin = next(o for o in expired.requirements if o.requirement is Requirement.ADMIN)
    assert admin.blocking and "2024-06-30" in admin.reason.en

    # not ready > unknown > warnings, the same in the exit code, Nagios, JSON, Prometheus
    assert report.exit_code is ExitCode.NOT_READY
    nagios = ov.render_nagios_text(report, "en").splitlines()
    assert nagios[0].startswith("ACCESSREADY CRITICAL - 4 customers: Not ready 1, Unknown 1, "
                                "Ready with warnings 2") and "worst: Utgången kommun" in nagios[0]
    assert [line.split(":")[0] for line in nagios[1:]] == ["CRITICAL", "UNKNOWN", "WARNING",
                                                           "WARNING"]
    assert ov.render_nagios_text(report, "sv").startswith(
        "ACCESSREADY CRITICAL - 4 kunder: Inte redo 1, Okänt 1, Redo med varningar 2")
    data = json.loads(ov.render_json(report))
    jsonschema.validate(data, AUDIT_SCHEMA)
    assert data["exit_code"] == 2
    assert data["worst"] == {"verdict": "not_ready", "customers": ["Utgången kommun"]}
    assert {c["customer"]: c["vantage"] for c in data["customers"]} == {
        "Exempel kommun (demo)": "audit", "TV kommun": "audit", "Utgången kommun": "audit",
        "Trasig kommun": None}
    assert "accessready_audit_exit_code 2" in ov.render_prometheus_text(report)
    for lang, words in (("en", ["Not ready", "Unknown", "Ready with warnings"]),
                        ("sv", ["Inte redo", "Okänt", "Redo med varningar"])):
        page = ov.render_html(report, lang)
        table = page[page.index("<table"):]
        rows = [table.index(f"</span> {w}</span>") for w in words]
        assert rows == sorted(rows), lang  # worst first, unknown between the two
        assert ("Audit: checked from" if lang == "en" else "Granskning: kontrollerad") in page
    with History(db, create=False) as history:
        assert {r.vantage for r in history.runs("TV kommun")} == {"audit"}
    # each customer's own report says it was an audit, in both languages
    html_en, table_en, result = rendered(demo_run, "en")
    html_sv, table_sv, _ = rendered(demo_run, "sv")
    assert result["vantage"] == "audit" and result["vantage_kind"] == "audit"
    assert "the supplier&#39;s audit host" in html_en and "Audit: checked from" in html_en
    assert "leverantörens granskningsserver" in html_sv and "Granskning: kontrollerad" in html_sv
    assert "seen from the supplier's audit host" in table_en
    assert "sett från leverantörens granskningsserver" in table_sv


def test_self_check_from_the_customers_network(tmp_path: Path, demo) -> None:
    """The customer's admin: no password used, the engineer's machine and tunnel skipped,
    TeamViewer's routers checked from inside; the result and report say 'customer'."""
    text, simulated = demo
    run = run_as(variant(tmp_path, "self", text), simulated, self_check=True)
    assert run.vantage == "customer" and run.self_check
    checks = by_check(run)
    for check_id in ENGINEER_ONLY:
        (skip,) = checks[check_id]
        assert skip.status is Status.SKIP and skip.details["reason"] == "vantage"
        assert "inside the customer's network (self-check)" in skip.summary.en
        assert "kundens nätverk (egenkontroll)" in skip.summary.sv
    assert checks["teamviewer.network"][0].status is Status.PASS  # both ends need the way out
    # the named server needs the support account's password: a self-check never uses it
    assert checks["teamviewer.host"][0].status is Status.SKIP
    assert {r.status for r in checks["account.login"]} == {Status.SKIP}
    assert run.verdict is Verdict.READY_WITH_WARNINGS  # the demo's findings, not unknown
    html_en, table_en, data = rendered(run, "en")
    html_sv, table_sv, _ = rendered(run, "sv")
    assert data["vantage"] == "customer" and data["vantage_kind"] == "customer"
    assert data["checks"]["workstation.os"]["vantages"] == ["engineer"]
    assert "the customer&#39;s network" in html_en and "kundens nätverk" in html_sv
    assert "Self-check:" in html_en and "Egenkontroll:" in html_sv
    assert "seen from the customer's network" in table_en
    assert "sett från kundens nätverk" in table_sv


def test_engineers_run_against_the_demo(tmp_path: Path, demo) -> None:
    """The engineer: the demo customer stays ready with warnings, its TeamViewer Host
    examined on adfs01 over WinRM (failing on purpose: another ID)."""
    text, simulated = demo
    run = run_as(variant(tmp_path, "eng", text), simulated)
    assert run.vantage == "engineer" and run.verdict is Verdict.READY_WITH_WARNINGS
    checks = by_check(run)
    # AnyConnect made access usable: the other tunnels' "not connected" errors decided
    # nothing, so they are not high
    findings = {f.result.check_id: f.severity for f in all_findings(run)}
    assert findings["checkpoint.split_tunnel"] == findings["winvpn.split_tunnel"] == "medium"
    assert all(r.details.get("reason") != "vantage" for r in run.results)
    (tv,) = checks["teamviewer.host"]
    assert tv.status is Status.FAIL and tv.target == "adfs01" and "987 654 321" in tv.summary.en
    for lang, seen in (("en", "seen from the supplier's engineer"),
                       ("sv", "sett från leverantörens tekniker")):
        _, table, data = rendered(run, lang)
        assert seen in table and data["vantage_kind"] == "engineer"


def test_engineers_teamviewer_run_without_server_says_what_decides_it(tmp_path: Path,
                                                                      demo) -> None:
    """Without `server`, the engineer's laptop is not inspected: teamviewer.host cannot
    decide, the verdict is unknown, and the banner and terminal name the requirement and
    the one action that decides it (not "interrupted or no check could run")."""
    text, simulated = demo
    path = variant(tmp_path, "tv", text, *teamviewer_only("TV utan server"), NO_TV_SERVER)
    run = run_as(path, simulated)
    (tv,) = by_check(run)["teamviewer.host"]
    assert tv.status is Status.ERROR and tv.target == "-"
    assert run.verdict is Verdict.UNKNOWN and not run.interrupted
    access = next(o for o in run.requirements if o.requirement is Requirement.ACCESS)
    assert access.undecided and access.decides is not None
    assert access.decides.en.startswith("Name the server where TeamViewer Host runs")
    for lang, needles in (
            ("en", ["Remote-access method could not be decided", "To decide it: Name the "
                    "server where TeamViewer Host runs", "teamviewer.host"]),
            ("sv", ["Metod för fjärråtkomst kunde inte avgöras", "Så avgörs det: Ange "
                    "servern där TeamViewer Host körs", "teamviewer.host"])):
        html, table, data = rendered(run, lang)
        text_only = re.sub(r"<[^>]+>", "", html).replace("&#34;", '"').replace("&#39;", "'")
        verdict_part = text_only[text_only.index("No verdict" if lang == "en"
                                                 else "Ingen bedömning"):][:800]
        for needle in needles[1:]:
            assert needle in verdict_part, (lang, needle)
        assert "interrupted" not in verdict_part and "avbröts" not in verdict_part
        assert needles[0] in table and needles[1] in table, table
        outcome = next(o for o in data["requirements"] if o["requirement"] == "access")
        assert outcome["undecided"] is True and outcome["decides"]["en"] == access.decides.en


def test_engineer_without_a_vpn_up_could_not_decide_access(tmp_path: Path, demo) -> None:
    """TeamViewer fails (another ID) and Check Point's tunnel is not up: access could not
    be decided. That is an error everywhere (terminal, HTML, JSON, Prometheus), never a
    failure, and the reason keeps "could not be checked" apart from "failed"."""
    text, simulated = demo
    path = variant(tmp_path, "novpn", text, (
        'methods = ["anyconnect", "teamviewer", "checkpoint", "windows_vpn"]',
        'methods = ["teamviewer", "checkpoint"]'))
    run = run_as(path, simulated)
    checks = by_check(run)
    assert checks["teamviewer.host"][0].status is Status.FAIL
    assert checks["checkpoint.split_tunnel"][0].status is Status.ERROR
    assert run.verdict is Verdict.UNKNOWN
    access = next(o for o in run.requirements if o.requirement is Requirement.ACCESS)
    assert access.undecided and access.status is Status.ERROR and not access.blocking
    assert "; failed: teamviewer (teamviewer.host)" in access.reason.en
    assert "; misslyckades: teamviewer (teamviewer.host)" in access.reason.sv
    for lang in ("en", "sv"):
        html, table, data = rendered(run, lang)
        outcome = next(o for o in data["requirements"] if o["requirement"] == "access")
        assert outcome["status"] == "error" and outcome["undecided"] is True
        assert not re.search(r"^FAIL +access", table, re.M), table
        line = re.search(r'<li id="line-[^"]*" data-requirement="access"><span class="b '
                         r's-(\w+)"', html)
        assert line is not None and line.group(1) == "error", html
        split = next(r for r in data["results"] if r["check"] == "checkpoint.split_tunnel")
        assert split["severity"] == "high"  # it is what left access undecided
    prom = RENDERERS["prometheus"](run, "en").decode()
    assert re.search(r'^accessready_requirement_status\{[^}]*requirement="access"\} 3$', prom,
                     re.M), prom


def test_a_teamviewer_self_check_says_what_stood_behind_access(tmp_path: Path,
                                                                demo) -> None:
    """A self-check never has the password, so teamviewer.host is skipped: only the
    routers were tested, and the access reason says TeamViewer was partly checked."""
    text, simulated = demo
    path = variant(tmp_path, "tvself", text, *teamviewer_only("TV egen"))
    run = run_as(path, simulated, self_check=True)
    checks = by_check(run)
    assert checks["teamviewer.host"][0].status is Status.SKIP
    assert checks["teamviewer.network"][0].status is Status.PASS
    access = next(o for o in run.requirements if o.requirement is Requirement.ACCESS)
    assert not access.blocking and not access.undecided
    assert "Usable access method" not in access.reason.en
    for lang, words in (
            ("en", "Partly checked from here: teamviewer passed teamviewer.network; not "
                   "checked: teamviewer.host."),
            ("sv", "Delvis kontrollerad härifrån: teamviewer godkändes i teamviewer.network; "
                   "ej kontrollerat: teamviewer.host.")):
        html, _, data = rendered(run, lang)
        outcome = next(o for o in data["requirements"] if o["requirement"] == "access")
        assert outcome["reason"][lang] == words
        assert words in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
        assert "Usable access method" not in html and "Användbar åtkomstmetod" not in html
