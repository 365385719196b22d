"""Findings in the reports: who must act (customer, supplier, engineer), how urgent, by
when, and waived findings — in the HTML report (sv and en), the JSON result and the
terminal."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html as html_lib
import json
import re
from pathlib import Path

import jsonschema
import pytest

from accessready.agent.core.findings import findings, severity
from accessready.agent.core.model import Requirement, Result, Status, t
from accessready.reports.html import build_context, render_html
from accessready.reports.json_report import load, render
from accessready.reports.terminal import render_table

from .sample import full_results, full_run, outcomes
from .test_html import outline

R, S = Requirement, Status
RESULT_SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "reports" / "schemas"
                            / "result.schema.json").read_text("utf-8"))


def _finding(check: str, req: Requirement, target: str, status: Status, owner: str,
             due: str | None = None, waiver: dict | None = None,
             fix: str = "Do it.") -> Result:
    return Result(check_id=check, target=target, status=status,
                  summary=t(f"{check} {status.value}", f"{check} {status.value} (sv)"),
                  remediation=t(f"{fix} ({check})", f"{fix} (sv) ({check})"),
                  requirement=req, owner=owner, due=due, waiver=waiver)


def _sections(html: str) -> dict[str, str]:
    """Each to-do section's text, by its data-owner."""
    out = {}
    for owner, body in re.findall(r'<section class="todo" data-owner="(\w+)"(.*?)</section>',
                                  html, re.S):
        out[owner] = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())
    return out


@pytest.mark.parametrize("lang,headings", [
    ("en", ["What the customer must do", "What the engineer must do"]),
    ("sv", ["Det här behöver kunden göra", "Det här behöver teknikern göra"]),
])
def test_each_party_gets_only_its_own_actions(lang: str, headings: list[str]) -> None:
    html = render_html(full_run(lang), lang)
    h2 = [text for level, text in outline(html).headings if level == 2]
    assert [h for h in h2 if h in headings] == headings
    sections = _sections(html)
    assert set(sections) == {"customer", "engineer"}  # nothing for the supplier: no section
    customer, engineer = sections["customer"], sections["engineer"]
    for mine in ("vpn.exempel.se:443", "adfs01, wap01", "sts.exempel.se"):  # targets
        assert mine in customer and mine not in engineer
    for mine in ("this machine", "router1.teamviewer.com"):
        assert mine in engineer and mine not in customer


def test_actions_are_ordered_by_severity_then_due_date() -> None:
    results = (
        _finding("service.running", R.SERVERS, "sync01", S.WARN, "customer"),
        _finding("adfs.metadata", R.ADFS, "token-signing", S.WARN, "customer",
                 due="2027-03-01"),
        _finding("adfs.tls", R.ADFS, "sts", S.WARN, "customer", due="2026-12-06"),
        _finding("wap.proxy_trust", R.ADFS, "wap01", S.WARN, "customer", due="2026-12-01"),
        _finding("account.status", R.ACCOUNT, "adfs01", S.FAIL, "customer"),
        _finding("admin.contacts", R.ADMIN, "Exempel", S.WARN, "supplier"),
    )
    run = full_run("en", results=results)
    ctx = build_context(run, "en")
    customer = next(s for s in ctx["owner_sections"] if s.owner == "customer")
    assert [(a.check_id, a.severity) for a in customer.actions] == [
        ("wap.proxy_trust", "high"),     # due within 14 days of the run (2026-11-25)
        ("adfs.tls", "high"),            # … and later than the one above
        ("account.status", "high"),      # a fail (only account.login blocks); no date
        ("adfs.metadata", "medium"),     # a date, but months away
        ("service.running", "medium")]   # no date: last among equals
    assert customer.actions[0].due_words == "Due 2026-12-01"
    supplier = next(s for s in ctx["owner_sections"] if s.owner == "supplier")
    assert [a.check_id for a in supplier.actions] == ["admin.contacts"]
    html = render_html(run, "sv")
    assert "Senast 2026-12-01" in html and "Det här behöver leverantören göra" in html
    assert '<span class="sev sev-high">Hög</span>' in html


def test_severity_rule() -> None:
    day = dt.date(2026, 11, 25)
    blocking = {R.ACCESS}
    login = _finding("account.login", R.ACCOUNT, "adfs01", S.FAIL, "customer")
    assert severity(login, {R.ACCOUNT}, day) == "critical"
    status = _finding("account.status", R.ACCOUNT, "adfs01", S.FAIL, "customer")
    assert severity(status, {R.ACCOUNT}, day) == "high"
    access_fail = _finding("anyconnect.gateway", R.ACCESS, "gw", S.FAIL, "customer")
    assert severity(access_fail, blocking, day) == "critical"
    assert severity(access_fail, set(), day) == "high"  # another method works
    agreement = _finding("admin.agreement", R.ADMIN, "x", S.FAIL, "customer")
    assert severity(agreement, set(), day) == "critical"  # a condition of support
    login_error = _finding("account.login", R.ACCOUNT, "adfs01", S.ERROR, "engineer")
    assert severity(login_error, set(), day, {R.ACCOUNT}) == "high"  # verdict unknown
    status_error = _finding("account.status", R.ACCOUNT, "adfs01", S.ERROR, "engineer")
    assert severity(status_error, set(), day, {R.ACCOUNT}) == "medium"  # does not gate
    # an error where the gating rule decided anyway (another method made access usable)
    split = _finding("checkpoint.split_tunnel", R.ACCESS, "gw", S.ERROR, "engineer")
    assert severity(split, set(), day) == "medium"
    assert severity(split, set(), day, {R.ACCESS}) == "high"
    dpa_error = _finding("admin.dpa", R.ADMIN, "x", S.ERROR, "engineer")
    assert severity(dpa_error, set(), day, {R.ADMIN}) == "high"
    assert severity(_finding("admin.contacts", R.ADMIN, "x", S.ERROR, "engineer"), set(),
                    day, {R.ADMIN}) == "medium"
    assert severity(_finding("adfs.probe", R.ADFS, "x", S.ERROR, "engineer"), set(),
                    day) == "medium"
    assert severity(_finding("workstation.os", R.WORKSTATION, "pc", S.WARN, "engineer"),
                    set(), day) == "low"
    overdue = _finding("account.status", R.ACCOUNT, "a", S.WARN, "customer", due="2026-11-01")
    assert severity(overdue, set(), day) == "high"


def test_waived_findings_are_listed_apart_with_their_reason() -> None:
    waiver = {"reason": "PPTP kept for the old scanners", "until": "2027-01-31",
              "expired": False}
    ran_out = {"reason": "Until the upgrade", "until": "2026-10-31", "expired": True}
    results = (
        _finding("winvpn.pptp", R.ACCESS, "vpn2", S.WARN, "customer", waiver=waiver),
        _finding("service.running", R.SERVERS, "sync01", S.WARN, "customer",
                 waiver=ran_out),
    )
    for lang, waived_words, expired_words in (
            ("en", "Waived until 2027-01-31: PPTP kept for the old scanners",
             "The waiver ran out on 2026-10-31 (Until the upgrade): this counts again."),
            ("sv", "Undantaget till och med 2027-01-31: PPTP kept for the old scanners",
             "Undantaget gällde till och med 2026-10-31 (Until the upgrade): det räknas "
             "igen.")):
        html = render_html(full_run(lang, results=results), lang)
        sections = _sections(html)
        assert waived_words in sections["waived"] and "vpn2" in sections["waived"]
        assert "winvpn.pptp" not in sections["customer"]
        assert expired_words in sections["customer"]  # counts again: back in the list
        assert html.count(waived_words) == 2  # the list and the check's own result
        assert ("1 finding is waived by the profile" if lang == "en" else
                "1 fynd är undantaget i profilen") in html  # under the verdict


def test_junit_counts_a_waived_failure_as_skipped_with_its_reason() -> None:
    from accessready.reports.junit import render as junit

    waiver = {"reason": "Replaced in January", "until": "2027-01-31", "expired": False}
    results = (_finding("anyconnect.gateway", R.ACCESS, "gw", S.FAIL, "customer",
                        waiver=waiver),
               _finding("account.login", R.ACCOUNT, "adfs01", S.FAIL, "customer"))
    # another method works: access does not block, the waiver holds
    usable = tuple(dataclasses.replace(o, blocking=False, status=S.WARN)
                   if o.requirement is R.ACCESS else o for o in outcomes())
    xml = junit(full_run("en", results=results, requirements=usable), "en").decode()
    assert 'failures="1"' in xml and 'skipped="1"' in xml
    assert "Waived until 2027-01-31: Replaced in January — anyconnect.gateway fail" in xml
    # the only method: the failure blocks support, and no waiver lifts that
    xml = junit(full_run("en", results=results), "en").decode()
    assert 'failures="2"' in xml and 'skipped="0"' in xml
    assert ("Waived until 2027-01-31 (Replaced in January), but a waiver cannot lift this: "
            "it still blocks support. — anyconnect.gateway fail") in xml


@pytest.mark.parametrize("lang,html_words,terminal_words", [
    ("en", "Waived until 2027-01-31 (Replaced in January), but a waiver cannot lift this: "
           "it still blocks support.",
     "WAIVED until 2027-01-31 (Replaced in January), BUT IT STILL BLOCKS SUPPORT"),
    ("sv", "Undantaget till och med 2027-01-31 (Replaced in January), men ett undantag kan "
           "inte häva detta: det blockerar ändå supporten.",
     "UNDANTAGET till och med 2027-01-31 (Replaced in January), MEN BLOCKERAR ÄNDÅ SUPPORTEN"),
])
def test_a_waived_failure_that_blocks_is_listed_to_be_done(lang: str, html_words: str,
                                                           terminal_words: str) -> None:
    """Access blocks on the waived gateway failure: the customer must still act on it."""
    waiver = {"reason": "Replaced in January", "until": "2027-01-31", "expired": False}
    results = tuple(dataclasses.replace(r, waiver=waiver)
                    if r.check_id == "anyconnect.gateway" else r for r in full_results())
    run = full_run(lang, results=results)
    sections = _sections(render_html(run, lang))
    assert "waived" not in sections and html_words in sections["customer"]
    assert "vpn.exempel.se:443" in sections["customer"]
    assert terminal_words in render_table(run, lang)
def test_json_result_carries_owner_severity_due_and_waiver() -> None:
    waiver = {"reason": "PPTP on purpose", "until": "2027-01-31", "expired": False}
    run = full_run("en", results=(*full_run().results, _finding(
        "winvpn.pptp", R.ACCESS, "vpn2", S.WARN, "customer", waiver=waiver)))
    data = json.loads(render(run))
    jsonschema.validate({**data, "checks": {}}, RESULT_SCHEMA)  # (sample catalogue: not real)
    by = {(r["check"], r["target"]): r for r in data["results"]}
    tls = by[("adfs.tls", "sts.exempel.se")]
    assert (tls["owner"], tls["severity"], tls["due"]) == ("customer", "medium", "2026-12-16")
    assert by[("workstation.os", "this machine")]["owner"] == "engineer"
    assert by[("anyconnect.gateway", "vpn.exempel.se:443")]["severity"] == "critical"
    assert by[("winvpn.pptp", "vpn2")]["waiver"] == waiver
    assert "owner" not in by[("remote.rdp", "adfs01")]  # a pass is no finding
    again = load(render(run))
    assert [f.owner for f in findings(again)] == [f.owner for f in findings(run)]
    assert again.results[-1].waiver == waiver


def test_results_written_before_owners_still_load_and_render() -> None:
    """A result file without owner/severity/due: owners are worked out (errors are the
    engineer's to run again, the rest the customer's), the report renders."""
    data = json.loads(render(full_run()))
    for r in data["results"]:
        for key in ("owner", "severity", "due", "waiver"):
            r.pop(key, None)
    for entry in data["checks"].values():
        entry.pop("owner", None)
    old = load(json.dumps(data).encode())
    owners = {f.result.check_id: f.owner for f in findings(old)}
    assert owners["teamviewer.network"] == "engineer"
    assert owners["anyconnect.gateway"] == "customer"
    assert "What the customer must do" in render_html(old, "en")


def test_terminal_shows_waived_findings_with_reason() -> None:
    waiver = {"reason": "PPTP kept on purpose", "until": "2027-01-31", "expired": False}
    run = full_run("en", results=(_finding("winvpn.pptp", R.ACCESS, "vpn2", S.WARN,
                                           "customer", waiver=waiver),))
    for lang, words in (("en", "WAIVED until 2027-01-31: PPTP kept on purpose"),
                        ("sv", "UNDANTAGET till och med 2027-01-31: PPTP kept on purpose")):
        table = render_table(dataclasses.replace(run, lang=lang), lang)
        assert words in table, table


def test_terminal_says_who_must_act_on_how_many_findings() -> None:
    run = full_run("en")
    assert "(To do: customer 4, engineer 2)" in render_table(run, "en")
    assert "(Att göra: kunden 4, teknikern 2)" in render_table(run, "sv")


@pytest.mark.parametrize("field,value,words", [
    ("owner", "boss", "results[0].owner should be one of customer, supplier, engineer"),
    ("due", "next week", "results[0].due should be a date such as 2026-06-30"),
    ("waiver", "forever", "results[0].waiver should be an object"),
    ("waiver", {"until": "2027-01-31"}, "missing key 'reason'"),
    ("waiver", {"reason": "x", "until": "2027-01-31", "expired": "no"},
     "results[0].waiver.expired should be true or false"),
])
def test_broken_finding_fields_are_one_line_errors(field: str, value: object,
                                                    words: str) -> None:
    from accessready.reports.json_report import ResultFileError

    data = json.loads(render(full_run()))
    data["results"][0][field] = value
    with pytest.raises(ResultFileError) as caught:
        load(json.dumps(data).encode(), "r.json")
    assert words in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("lang,words", [
    ("en", ("What the engineer must do", "(To do: customer 6)")),
    ("sv", ("Det här behöver teknikern göra", "(Att göra: kunden 6)")),
])
def test_a_self_check_has_no_engineer_to_act(lang: str, words: tuple[str, str]) -> None:
    """Seen from inside the customer's network, "this machine, its network, run again"
    are the customer's: teamviewer.network's firewall fix is listed for the customer in
    the HTML report, the terminal and the JSON result."""
    run = full_run(lang, vantage="customer", self_check=True)
    html = render_html(run, lang)
    sections = _sections(html)
    assert set(sections) == {"customer"} and words[0] not in html
    assert "router1.teamviewer.com" in sections["customer"]
    assert words[1] in render_table(run, lang)
    data = json.loads(render(run))
    owners = {r["owner"] for r in data["results"] if "owner" in r}
    assert owners == {"customer"}
    # the same results from the engineer's side still give the engineer theirs
    assert {f.owner for f in findings(full_run(lang))} == {"customer", "engineer"}
