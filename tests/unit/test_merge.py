"""Self-checks and merging the customer's inside view with the engineer's outside view."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest

from accessready.agent.app.run import run_checks
from accessready.agent.core.merge import MergeError, display_run, merge_runs
from accessready.agent.core.model import Requirement, Status, Verdict
from accessready.agent.core.profile import parse_profile
from accessready.agent.plugin.runner import RunOptions
from accessready.reports.html import build_context, render_html
from accessready.reports.json_report import from_dict, load, render, to_dict

from .fakes import make_check
from .runs import PROFILE, make_run, result

REPO = Path(__file__).resolve().parents[2]
RESULT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "result.schema.json").read_text())

ENGINEER_AT = "2026-05-02T09:00:00+00:00"
CUSTOMER_AT = "2026-05-01T14:00:00+00:00"


def _by_key(run, check: str, target: str) -> list:
    return [r for r in run.results if (r.check_id, r.target) == (check, target)]


# -- self-check ------------------------------------------------------------------------

PASSWORD_PROFILE = parse_profile("""
[customer]
name = "Egen kommun"
[access]
methods = ["teamviewer"]
[account]
username = "support"
password = { prompt = true }
""", "egen.toml")


def _password_checks() -> list:
    needs = make_check("account.login", Requirement.ACCOUNT)
    type(needs).needs = ("password",)
    return [needs, make_check("admin.agreement")]


def test_self_check_never_resolves_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured password (even a prompt, on a terminal) is never asked for."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a self-check must not resolve the password")

    monkeypatch.setattr("accessready.agent.app.run.resolve_secret", refuse)
    run = run_checks(PASSWORD_PROFILE, RunOptions(timeout=2), checks=_password_checks(),
                     services={}, interactive=True, self_check=True)
    login = _by_key(run, "account.login", "t")[0]
    assert login.status is Status.SKIP
    assert "never uses it" in login.summary.en and "aldrig" in login.summary.sv
    assert run.self_check and run.vantage == "customer"
    assert run.verdict is Verdict.READY  # everything else ran and passed


def test_ordinary_run_is_the_engineers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AR_TEST_PW", "x")
    profile = dataclasses.replace(PASSWORD_PROFILE, account=dataclasses.replace(
        PASSWORD_PROFILE.account, password=None))
    run = run_checks(profile, RunOptions(timeout=2), checks=_password_checks(), services={},
                     interactive=False)
    assert run.vantage == "engineer" and not run.self_check
    assert run.basis == {"methods": ["teamviewer"], "gating_servers": []}


def test_vantage_label_is_kept() -> None:
    run = run_checks(PASSWORD_PROFILE, RunOptions(timeout=2), checks=_password_checks(),
                     services={}, self_check=True, vantage="school-lan")
    assert run.vantage == "school-lan"
    data = to_dict(run)
    assert data["vantage"] == "school-lan" and data["self_check"] is True
    jsonschema.validate(data, RESULT_SCHEMA)


def test_old_result_without_vantage_reads_as_engineer() -> None:
    data = to_dict(make_run([result("admin.agreement", "x", "pass")]))
    for key in ("vantage", "self_check", "verdict_basis"):
        data.pop(key)
    run = from_dict(data)
    assert run.vantage == "engineer" and not run.self_check and run.basis == {}
    assert "vantage" not in data["results"][0]  # ordinary results carry no vantage key


def test_html_header_shows_vantage_and_self_check_note() -> None:
    run = make_run([result("admin.agreement", "x", "pass")], vantage="customer",
                   self_check=True)
    ctx = build_context(run, "sv")
    assert ctx["vantage"] == "kundens nätverk" and ctx["self_check"]
    page = render_html(run, "en")
    assert "Seen from" in page and "the customer&#39;s network" in page
    assert "password was not used" in page


# -- merging -----------------------------------------------------------------------------

def _engineer(*results):
    return make_run(results, vantage="engineer", finished_at=ENGINEER_AT)


def _customer(*results, at: str = CUSTOMER_AT):
    return make_run(results, vantage="customer", self_check=True, finished_at=at)


def test_agreeing_views_are_kept_once_with_both_vantages() -> None:
    merged = merge_runs([_customer(result("adfs.tls", "sts", "pass")),
                         _engineer(result("adfs.tls", "sts", "pass"))])
    (only,) = _by_key(merged, "adfs.tls", "sts")
    assert only.vantage == "engineer, customer"
    assert merged.vantage == "engineer+customer"
    assert [s["vantage"] for s in merged.sources] == ["engineer", "customer"]  # newest first


def test_disagreeing_views_are_both_kept() -> None:
    merged = merge_runs([_customer(result("adfs.dns", "sts", "pass")),
                         _engineer(result("adfs.dns", "sts", "warn"))])
    views = {r.vantage: r.status for r in _by_key(merged, "adfs.dns", "sts")}
    assert views == {"engineer": Status.WARN, "customer": Status.PASS}
    assert merged.verdict is Verdict.READY_WITH_WARNINGS  # adfs: every view counts


def test_freshest_result_of_each_vantage_wins() -> None:
    old = _customer(result("admin.contacts", "anna", "fail"), at="2026-04-01T10:00:00+00:00")
    new = _customer(result("admin.contacts", "anna", "pass"))
    merged = merge_runs([new, old, _engineer(result("admin.contacts", "anna", "pass"))])
    (only,) = _by_key(merged, "admin.contacts", "anna")
    assert only.status is Status.PASS and only.vantage == "engineer, customer"


def test_a_skip_never_hides_a_real_result() -> None:
    """The customer's self-check skips the login; the engineer's result stands alone."""
    merged = merge_runs([
        _customer(result("account.login", "adfs01", "skip")),
        _engineer(result("account.login", "adfs01", "fail"))])
    (only,) = _by_key(merged, "account.login", "adfs01")
    assert only.status is Status.FAIL and only.vantage == "engineer"
    assert merged.verdict is Verdict.NOT_READY


def test_an_older_real_result_beats_a_newer_skip_of_the_same_vantage() -> None:
    older = _engineer(result("remote.rdp", "adfs01", "pass"))
    newer = make_run([result("remote.rdp", "adfs01", "skip")],
                     finished_at="2026-05-03T00:00:00+00:00")
    merged = merge_runs([older, newer])
    assert [r.status for r in _by_key(merged, "remote.rdp", "adfs01")] == [Status.PASS]


def test_outside_view_decides_access_when_views_disagree() -> None:
    """A gateway failing from inside the customer's network (no hairpin NAT) does not make
    the customer not ready when the engineer reaches it from outside."""
    merged = merge_runs([
        _customer(result("anyconnect.gateway", "vpn", "fail"),
                  result("remote.rdp", "adfs01", "pass")),
        _engineer(result("anyconnect.gateway", "vpn", "pass"),
                  result("remote.rdp", "adfs01", "pass"))])
    assert len(_by_key(merged, "anyconnect.gateway", "vpn")) == 2  # both shown
    assert merged.verdict is Verdict.READY


def test_outside_failure_blocks_even_when_inside_passes() -> None:
    merged = merge_runs([
        _customer(result("anyconnect.gateway", "vpn", "pass"),
                  result("remote.rdp", "adfs01", "pass")),
        _engineer(result("anyconnect.gateway", "vpn", "pass"),
                  result("remote.rdp", "adfs01", "fail"))])
    assert merged.verdict is Verdict.NOT_READY
    remote = next(o for o in merged.requirements if o.requirement is Requirement.REMOTE)
    assert remote.blocking and "adfs01" in remote.reason.en


def test_inside_view_decides_when_it_is_the_only_one() -> None:
    merged = merge_runs([_customer(result("remote.rdp", "adfs01", "fail")),
                         _engineer(result("admin.agreement", "x", "pass"))])
    assert merged.verdict is Verdict.NOT_READY


def test_different_customers_are_refused_unless_forced() -> None:
    a = _engineer(result("admin.agreement", "x", "pass"))
    b = dataclasses.replace(_customer(result("admin.agreement", "x", "pass")),
                            customer="Annan kommun")
    with pytest.raises(MergeError, match=r"Annan kommun.*--force"):
        merge_runs([a, b], ["a.json", "b.json"])
    assert merge_runs([a, b], force=True).customer == "Exempel kommun"


def test_customer_name_case_and_spacing_do_not_matter() -> None:
    a = _engineer(result("admin.agreement", "x", "pass"))
    b = dataclasses.replace(_customer(result("admin.agreement", "x", "pass")),
                            customer="exempel  KOMMUN")
    merge_runs([a, b])


def test_different_profiles_are_refused() -> None:
    a = _engineer(result("admin.agreement", "x", "pass"))
    b = dataclasses.replace(_customer(result("admin.agreement", "x", "pass")),
                            basis={"methods": ["teamviewer"], "gating_servers": ["adfs01"]})
    with pytest.raises(MergeError, match="different profile"):
        merge_runs([a, b], ["a.json", "b.json"])


def test_without_basis_the_profile_is_needed() -> None:
    a = dataclasses.replace(_engineer(result("remote.rdp", "adfs01", "fail")), basis={})
    b = dataclasses.replace(_customer(result("remote.rdp", "adfs01", "fail")), basis={})
    with pytest.raises(MergeError, match="--profile"):
        merge_runs([a, b], ["a.json", "b.json"])
    assert merge_runs([a, b], profile=PROFILE).verdict is Verdict.NOT_READY


def test_profile_of_another_customer_is_refused() -> None:
    a = dataclasses.replace(_engineer(result("admin.agreement", "x", "pass")),
                            customer="Annan kommun")
    b = dataclasses.replace(_customer(result("admin.agreement", "x", "pass")),
                            customer="Annan kommun")
    with pytest.raises(MergeError, match="profile of 'Exempel kommun'"):
        merge_runs([a, b], profile=PROFILE)


def test_merged_result_round_trips_and_validates() -> None:
    merged = merge_runs([_customer(result("adfs.dns", "sts", "pass")),
                         _engineer(result("adfs.dns", "sts", "warn"))], ["c.json", "e.json"])
    data = json.loads(render(merged))
    jsonschema.validate(data, RESULT_SCHEMA)
    again = load(render(merged))
    assert again.sources == merged.sources and again.vantage == merged.vantage
    assert {r.vantage for r in again.results} == {"engineer", "customer"}


def test_display_run_marks_only_disagreeing_targets() -> None:
    merged = merge_runs([
        _customer(result("adfs.dns", "sts", "pass"), result("adfs.tls", "sts", "pass")),
        _engineer(result("adfs.dns", "sts", "warn"), result("adfs.tls", "sts", "pass"))])
    shown = {(r.check_id, r.target) for r in display_run(merged).results}
    assert ("adfs.dns", "sts @engineer") in shown and ("adfs.dns", "sts @customer") in shown
    assert ("adfs.tls", "sts") in shown


def test_merged_html_names_the_sources_and_each_view() -> None:
    merged = merge_runs([_customer(result("adfs.dns", "sts", "pass")),
                         _engineer(result("adfs.dns", "sts", "warn"))], ["c.json", "e.json"])
    page = render_html(merged, "sv")
    assert "Sammanslagen av 2 resultat" in page
    assert "sett från leverantörens tekniker" in page and "sett från kundens nätverk" in page
    assert "<code>c.json</code>" in page and "egenkontroll" in page


def test_merged_catalogue_and_statuses_stay_complete() -> None:
    merged = merge_runs([_customer(result("admin.dpa", "x", "pass")),
                         _engineer(result("admin.agreement", "x", "warn"))])
    assert {r.check_id for r in merged.results} == {"admin.dpa", "admin.agreement"}
    assert "anyconnect.gateway" in merged.catalogue
    assert merged.finished_at == ENGINEER_AT and merged.started_at == CUSTOMER_AT


# -- vantages: which view is inside, what applies where (issue 14) ----------------------

def test_merge_reads_the_vantage_kind_not_only_the_self_check_flag() -> None:
    """A run labelled "customer" is an inside view even with the password used; an audit
    host's view is an outside one and decides access like the engineer's."""
    inside = make_run([result("anyconnect.gateway", "vpn", "fail"),
                       result("remote.rdp", "adfs01", "pass")], vantage="customer",
                      finished_at=CUSTOMER_AT)
    audit = make_run([result("anyconnect.gateway", "vpn", "pass"),
                      result("remote.rdp", "adfs01", "pass")], vantage="audit",
                     finished_at=ENGINEER_AT)
    merged = merge_runs([inside, audit])
    assert merged.verdict is Verdict.READY  # the outside (audit) view decides access
    assert merged.vantage == "audit+customer" and merged.vantage_kind is None
    assert "vantage_kind" not in to_dict(merged)
    page = render_html(merged, "sv")
    assert "leverantörens granskningsserver" in page and "kundens nätverk" in page


def test_the_engineers_skips_from_an_audit_do_not_hide_the_engineers_results() -> None:
    engineer = _engineer(result("anyconnect.split_tunnel", "x", "fail"))
    audit = make_run([result("anyconnect.split_tunnel", "x", "skip",
                             {"reason": "vantage", "vantage": "audit"})],
                     vantage="audit", finished_at="2026-05-03T00:00:00+00:00")
    merged = merge_runs([engineer, audit])
    (only,) = _by_key(merged, "anyconnect.split_tunnel", "x")
    assert only.status is Status.FAIL and only.vantage == "engineer"


def test_self_check_with_an_outside_vantage_is_refused() -> None:
    with pytest.raises(ValueError, match="self-check"):
        run_checks(PASSWORD_PROFILE, RunOptions(timeout=2), checks=_password_checks(),
                   services={}, self_check=True, vantage="audit")
