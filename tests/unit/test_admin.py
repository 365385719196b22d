"""The admin family against a real DNS server on loopback (the demo's simulator)."""

from __future__ import annotations

import datetime as dt

import pytest

from accessready.agent.app.run import run_checks
from accessready.agent.core.model import Status
from accessready.agent.core.profile import parse_profile
from accessready.agent.demo.simulators.dns import DnsSimulator
from accessready.agent.plugin.runner import RunOptions
from accessready.checks.admin.checks import CHECKS, check_phone, email_domain


@pytest.fixture(scope="module")
def dns():
    with DnsSimulator({
        ("exempel.se.", "MX"): ["10 mx.exempel.se."],
        ("a-only.se.", "A"): ["203.0.113.5"],
        ("nullmx.se.", "MX"): ["0 ."],
    }) as server:
        yield server


def run_admin(dns: DnsSimulator, customer: str, resolver: str | None = None):
    profile = parse_profile(f"""
[customer]
{customer}
[network]
external_resolvers = ["{resolver or dns.address}"]
[access]
methods = ["teamviewer"]
""")
    run = run_checks(profile, RunOptions(timeout=3), checks=[c() for c in CHECKS])
    return {(r.check_id, r.target): r for r in run.results}


@pytest.mark.parametrize(("number", "ok"), [
    ("+46 10 123 45 67", True), ("010-209 73 10", True), ("08-123 456 78", True),
    ("0046 70 123 45 67", True), ("+46 070 123 45 67", False), ("12345", False),
    ("+46 70 123 45 67 89 00", False), ("070-CALL-NOW", False), ("+1 415 555 0100", True),
    ("+46 (0)8 123 456 78", True),
])
def test_phone_formats(number: str, ok: bool) -> None:
    assert check_phone(number).ok is ok


def test_email_domain() -> None:
    assert email_domain("Anna@Exempel.SE") == "exempel.se"
    assert email_domain("not-an-address") is None
    assert email_domain("a@b") is None


def test_complete_customer_passes(dns: DnsSimulator) -> None:
    results = run_admin(dns, '''
name = "X"
agreement = "SA-1"
agreement_valid_until = 2099-01-01
dpa_signed = 2025-01-01
support_email = "support@exempel.se"
support_phone = "+46 10 123 45 67"
maintenance_contact = "drift@a-only.se"
contacts = [{ name = "Anna", email = "anna@exempel.se" }]
''')
    assert {k: v.status for k, v in results.items()} == {
        ("admin.agreement", "X"): Status.PASS,
        ("admin.dpa", "X"): Status.PASS,
        ("admin.contacts", "support"): Status.PASS,
        ("admin.contacts", "Anna"): Status.PASS,
        ("admin.maintenance_contact", "X"): Status.PASS,
    }
    evidence = results[("admin.contacts", "Anna")].details["dns"][0]
    assert evidence["records"] == ["10 mx.exempel.se."] and evidence["server"] == dns.address
    assert "implicit MX" in results[("admin.maintenance_contact", "X")].details[
        "mail_domain"]["verdict"]


def test_problems_are_found(dns: DnsSimulator) -> None:
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    results = run_admin(dns, f'''
name = "X"
agreement = "SA-1"
agreement_valid_until = {yesterday}
support_email = "support@nullmx.se"
contacts = [{{ name = "Bo", email = "bo@nowhere.se", phone = "+46 070 12" }}, {{ name = "Cy" }}]
''')
    assert results[("admin.agreement", "X")].status is Status.FAIL
    assert results[("admin.dpa", "X")].status is Status.FAIL
    assert results[("admin.contacts", "support")].status is Status.WARN  # phone missing
    bo = results[("admin.contacts", "Bo")]
    assert bo.status is Status.FAIL and "does not exist" in bo.summary.en
    assert "+46 must not be followed" in bo.summary.en and bo.remediation is not None
    assert results[("admin.contacts", "Cy")].status is Status.WARN
    assert results[("admin.maintenance_contact", "X")].status is Status.WARN


def test_agreement_expiring_soon_warns(dns: DnsSimulator) -> None:
    soon = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    results = run_admin(dns, f'name = "X"\nagreement = "SA-1"\nagreement_valid_until = {soon}')
    result = results[("admin.agreement", "X")]
    assert result.status is Status.WARN and result.details["days_left"] == 10
    assert (result.due, result.owner) == (soon, "customer")  # renewing it: the customer's
    missing = run_admin(dns, 'name = "X"')[("admin.agreement", "X")]
    assert (missing.owner, missing.due) == ("supplier", None)  # recording it in the profile


def test_null_mx_fails(dns: DnsSimulator) -> None:
    results = run_admin(dns, 'name = "X"\nmaintenance_contact = "drift@nullmx.se"')
    result = results[("admin.maintenance_contact", "X")]
    assert result.status is Status.FAIL and "null MX" in result.summary.en


def test_silent_resolver_is_an_error_not_a_hang() -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        results = run_admin(None, 'name = "X"\nmaintenance_contact = "drift@exempel.se"',
                            resolver=address)  # type: ignore[arg-type]
    result = results[("admin.maintenance_contact", "X")]
    # the check's own error (the runner's stand-in for a hang says "deadline"), in about
    # its 3 s: the resolver never answers, the rest is slack for a busy machine
    assert result.status is Status.ERROR and result.details.get("reason") != "deadline"
    assert result.duration_s < 5.5


def test_a_shared_mail_domain_is_asked_once(dns: DnsSimulator) -> None:
    """Four addresses at exempel.se: one MX question, not four."""
    before = dns.queries
    run_admin(dns, '''
name = "X"
support_email = "s@exempel.se"
support_phone = "+46 10 123 45 67"
maintenance_contact = "m@exempel.se"
contacts = [{ name = "A", email = "a@exempel.se" }, { name = "B", email = "b@exempel.se" }]
''')
    assert dns.queries - before == 1
