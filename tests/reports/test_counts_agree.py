"""Every output counts a run alike (a waived finding as ``waived``), and the audit
overview carries what a single report says loudly: insecure settings, why a customer is
unknown, each finding's severity — reviewer's findings after issues 14/15/16."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from accessready.agent.core.audit_types import AuditEntry, AuditReport
from accessready.agent.core.model import INSECURE, Result, Run, Verdict, t
from accessready.reports import overview
from accessready.reports.counts import status_counts
from accessready.reports.html import build_context, render_html
from accessready.reports.json_report import load, render
from accessready.reports.nagios import render_line
from accessready.reports.prometheus import render_text

from ..unit.runs import make_run, result

SCHEMAS = Path(__file__).resolve().parents[2] / "reports" / "schemas"
WAIVER = {"reason": "Kept on purpose", "until": "2099-01-31", "expired": False}
INSECURE_NOTE = t("WinRM TLS is not verified (verify = false).",
                  "WinRM-TLS verifieras inte (verify = false).")


def _waived(r: Result) -> Result:
    return dataclasses.replace(r, waiver=WAIVER)


def waived_run() -> Run:
    """Ready (the verdict counts the two waived failures as passed): 2 waived, 3 pass."""
    return make_run([
        result("admin.agreement", "-", "pass"),
        result("anyconnect.gateway", "vpn.exempel.se", "pass"),
        result("account.login", "adfs01", "pass", {INSECURE: INSECURE_NOTE.to_json()}),
        _waived(result("service.running", "sync01", "fail")),
        _waived(result("service.running", "sync02", "fail")),
    ])


def unknown_run() -> Run:
    """Unknown: the only access method could not be checked."""
    return make_run([result("admin.agreement", "-", "pass"),
                     result("anyconnect.gateway", "vpn.exempel.se", "error")],
                    customer="TV kommun")


def test_waived_run_is_ready() -> None:
    run = waived_run()
    assert run.verdict is Verdict.READY
    assert status_counts(run) == {"pass": 3, "skip": 0, "warn": 0, "error": 0,
                                          "fail": 0, "waived": 2}


def test_nagios_counts_waived_apart() -> None:
    line = render_line(waived_run(), "en")
    assert line.startswith("ACCESSREADY OK - Ready: 0 fail, 0 warn, 0 error, 3 pass, 0 skip,"
                           " 2 waived")
    assert " fail=0;;;;" in line and " waived=2;;;;" in line
    assert "undantagna: 2" in render_line(waived_run(), "sv")


def test_prometheus_counts_waived_apart_and_shows_insecure() -> None:
    text = render_text(waived_run())
    assert 'accessready_results{customer="Exempel kommun",status="fail"} 0' in text
    assert 'accessready_results{customer="Exempel kommun",status="waived"} 2' in text
    waived_checks = re.findall(r'^accessready_check_status\{[^}]*check="service.running"'
                               r'[^}]*\} (\S+)$', text, re.M)
    assert waived_checks == ["-2", "-2"]  # not 2 (fail) beside a requirement status 0
    assert 'accessready_insecure_settings{customer="Exempel kommun"} 1' in text
    assert "not with max()" in text  # the verdict's HELP says how to alert on it
    samples = [line.rsplit(" ", 1)[0] for line in text.splitlines()
               if line and not line.startswith("#")]
    assert len(samples) == len(set(samples))
    out = subprocess.run([shutil.which("promtool") or "/usr/bin/promtool", "check",
                          "metrics"], input=text, text=True, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_json_counts_waived_and_old_files_still_load() -> None:
    data = json.loads(render(waived_run()))
    assert data["counts"]["fail"] == 0 and data["counts"]["waived"] == 2
    schema = json.loads((SCHEMAS / "result.schema.json").read_text("utf-8"))
    jsonschema.validate(data, schema)
    del data["counts"]["waived"]  # a file written before the bucket existed
    assert load(json.dumps(data).encode()).verdict is Verdict.READY
    jsonschema.validate(data, schema)


@pytest.mark.parametrize("lang,pill,row", [
    ("en", "2 waived", "(2 passed, 2 waived)"),
    ("sv", "2 undantagna", "(2 godkända, 2 undantagna)")])
def test_html_pills_and_requirement_counts_show_waived(lang: str, pill: str, row: str) -> None:
    run = waived_run()
    context = build_context(run, lang)
    words = dict(context["counts"])
    assert words["fail"] in ("0 failed", "0 underkända") and words["waived"] == pill
    servers = next(r for r in context["requirements"] if r.key == "servers")
    assert dict(servers.counts) == {"waived": pill}
    html = render_html(run, lang)
    assert 'class="s-waived"' in html and "failed" not in dict(servers.counts).values()
    # with passing results in the same requirement, the row reads "(2 passed, 2 waived)"
    more = make_run([*run.results, result("service.running", "sync03", "pass"),
                     result("service.running", "sync04", "pass")])
    servers = next(r for r in build_context(more, lang)["requirements"] if r.key == "servers")
    assert "(" + ", ".join(w for _, w in servers.counts) + ")" == row


def _report(*entries: AuditEntry) -> AuditReport:
    return AuditReport(started_at="2026-05-01T02:00:00+00:00",
                       finished_at="2026-05-01T02:01:00+00:00", duration_s=60.0,
                       entries=entries, host={"hostname": "audit01"})


def _audit() -> AuditReport:
    return _report(AuditEntry(profile="exempel.toml", customer="Exempel kommun",
                              run=waived_run()),
                   AuditEntry(profile="tv-only.toml", customer="TV kommun",
                              run=unknown_run()))


def test_audit_json_counts_insecure_undecided_and_severity() -> None:
    data = overview.to_dict(_audit())
    jsonschema.validate(data, json.loads((SCHEMAS / "audit.schema.json").read_text("utf-8")))
    ready, tv = data["customers"]
    assert ready["counts"]["waived"] == 2 and ready["counts"]["fail"] == 0
    assert ready["insecure"] == [{"check": "account.login", "target": "adfs01",
                                  "text": INSECURE_NOTE.to_json()}]
    assert tv["insecure"] == [] and tv["verdict"] == "unknown"
    assert [u["requirement"] for u in tv["undecided"]] == ["access"]
    assert tv["undecided"][0]["reason"]["en"].startswith("No offered access method passed")
    assert tv["findings"] and all(f["severity"] in ("critical", "high", "medium", "low")
                                  for f in tv["findings"])


def test_audit_nagios_says_insecure_and_why_unknown() -> None:
    lines = overview.render_nagios_text(_audit(), "en").splitlines()
    tv = next(line for line in lines if line.startswith("UNKNOWN: TV kommun"))
    assert "Remote-access method could not be decided: No offered access method passed" in tv
    ready = overview.render_nagios_text(_report(AuditEntry(
        profile="x.toml", customer="Insecure kommun",
        run=make_run([*waived_run().results, result("service.running", "sync09", "warn")],
                     customer="Insecure kommun"))), "en").splitlines()
    assert ready[1].startswith("WARNING: Insecure kommun — Ready with warnings; INSECURE: 1 ")
    # a ready customer gets its line when a security setting is off, and only then
    lines = overview.render_nagios_text(_report(
        AuditEntry(profile="a.toml", customer="A kommun", run=waived_run()),
        AuditEntry(profile="b.toml", customer="B kommun", run=make_run(
            [result("anyconnect.gateway", "vpn.exempel.se", "pass")]))), "en").splitlines()
    assert lines[0].startswith("ACCESSREADY OK - ")
    assert lines[1:] == ["OK: A kommun — Ready; INSECURE: 1 security settings turned off in "
                         "the profile"]


def test_audit_table_says_why_a_customer_is_unknown() -> None:
    table = overview.render_table(_audit(), "sv", width=400)
    tv = next(line for line in table.splitlines() if "TV kommun" in line)
    assert "kunde inte avgöras" in tv


@pytest.mark.parametrize("lang,insecure,waived,why", [
    ("en", "INSECURE: 1 security settings", "2 waived", "could not be decided"),
    ("sv", "OSÄKERT: 1 säkerhetsinställningar", "2 undantagna", "kunde inte avgöras")])
def test_audit_html_row_shows_insecure_waived_and_why(lang: str, insecure: str, waived: str,
                                                      why: str) -> None:
    context = overview.build_context(_audit(), lang)
    rows = {r.customer: r for r in context["rows"]}
    assert rows["Exempel kommun"].insecure.startswith(insecure)
    assert rows["Exempel kommun"].waived == waived
    assert why in rows["TV kommun"].why_unknown and not rows["Exempel kommun"].why_unknown
    html = overview.render_html(_audit(), lang)
    assert insecure in html and waived in html and why in html


def test_audit_prometheus_has_insecure_per_customer() -> None:
    text = overview.render_prometheus_text(_audit())
    assert 'accessready_insecure_settings{customer="Exempel kommun"} 1' in text
    assert 'accessready_insecure_settings{customer="TV kommun"} 0' in text
    assert text.count("# TYPE accessready_insecure_settings gauge") == 1


def test_overview_worst_findings_put_failures_before_warnings_due_soon() -> None:
    warn_due = dataclasses.replace(result("adfs.tls", "sts", "warn"), due="2026-05-03")
    fail = result("service.running", "sync01", "fail")
    run = make_run([result("anyconnect.gateway", "vpn.exempel.se", "pass"), warn_due, fail])
    ranked = overview.ranked_findings(run)
    # both are "high" (a fail; a warning due in two days) — the failure comes first
    assert [f.severity for f in ranked] == ["high", "high"]
    assert [f.result.status.value for f in ranked] == ["fail", "warn"]


def test_one_run_is_not_runs() -> None:
    report = _report(AuditEntry(profile="x.toml", customer="X", run=waived_run(),
                                trend=(("2026-05-01T02:00:00+00:00", Verdict.READY),)))
    assert overview.build_context(report, "en")["trend_label"] == "Verdict of the last run"
    pruned = dataclasses.replace(report, pruned={"runs": 1, "before": "2025-05-01T00:00:00"})
    assert overview.build_context(pruned, "en")["pruned"].startswith("Removed 1 run older")


def test_history_of_one_run_says_one_run() -> None:
    from types import SimpleNamespace

    row = SimpleNamespace(error=None, counts={"pass": 3}, finished_at="2026-05-01T02:00:00",
                          verdict=Verdict.READY, id=7, changes=())
    assert overview.render_history("X", [row], "en").startswith("X: 1 run\n")
    assert overview.render_history("X", [row, row], "sv").startswith("X: 2 körningar, nyaste")
