"""Findings: owners declared by every check, the waiver rules, and the verdict with waivers."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from accessready.agent.core.findings import apply_waivers, counted, findings, owner_of, waived
from accessready.agent.core.model import OWNERS, Requirement, Status, Vantage, Verdict, t
from accessready.agent.core.profile import (
    ProfileError,
    check_waivers,
    expired_waivers,
    parse_profile,
)
from accessready.agent.core.verdict import decide
from accessready.agent.plugin.checkapi import GENERIC_OWNERS, Check, Target
from accessready.agent.plugin.registry import load_registry
from accessready.agent.plugin.runner import ContextFactory, Job, run_job

from .runs import PROFILE, PROFILE_TOML, make_run, result

TODAY = dt.date(2026, 12, 3)


def test_every_check_declares_owners_for_its_own_remediation_keys() -> None:
    for check in load_registry().checks:
        assert check.owner in OWNERS, check.id
        for key, owner in check.owners.items():
            assert owner in OWNERS, (check.id, key)
            assert key in check.remediation or key in GENERIC_OWNERS, (check.id, key)


@pytest.mark.parametrize("check_id,key,owner", [
    ("workstation.os", "stale", "engineer"),           # the engineer's own machine
    ("anyconnect.split_tunnel", "connect", "engineer"),  # connect the VPN and run again
    ("anyconnect.split_tunnel", "full", "customer"),   # split tunnelling on the gateway
    ("anyconnect.split_tunnel", "profile", "supplier"),  # networks missing from the profile
    ("admin.contacts", "default", "supplier"),         # correct the profile
    ("admin.contacts", "missing", "customer"),         # name a support address
    ("adfs.tls", "expiring", "customer"),
    ("adfs.tls", "verify_off", "supplier"),
    ("account.login", "account_locked", "customer"),
    ("account.login", "resolver", "engineer"),         # this machine's DNS
    ("remote.rdp", "error", "engineer"),               # could not decide: look, run again
    ("service.running", "missing", "supplier"),         # a name in the profile to check
    ("remote.winrm", "insecure", "supplier"),          # verify = false in the profile
    ("account.login", "insecure", "supplier"),         # credentials refused: the profile
    ("teamviewer.host", "not_running", "customer"),    # the host is the customer's
    ("teamviewer.host", "no_server", "supplier"),      # the profile must name it
])
def test_owner_of_remediation(check_id: str, key: str, owner: str) -> None:
    check = next(c for c in load_registry().checks if c.id == check_id)
    assert check.owner_of(key) == owner


class _Stuck(Check):
    id = "mine.stuck"
    title = t("Stuck", "Fast")
    requirement = Requirement.SERVERS

    def run(self, ctx, target):
        raise RuntimeError("boom")


def test_a_crash_is_the_engineers_to_look_at_and_a_pass_has_no_owner() -> None:
    [crashed] = run_job(Job(0, _Stuck(), Target("x")), ContextFactory(PROFILE), 5.0)
    assert crashed.status is Status.ERROR and crashed.owner == "engineer"
    passed = _Stuck().result("x", Status.PASS, t("ok", "ok"), due=dt.date(2027, 1, 1))
    assert (passed.owner, passed.due) == (None, None)
    due = _Stuck().result("x", Status.WARN, t("soon", "snart"),
                          due=dt.datetime(2027, 1, 1, 23, 30, tzinfo=dt.UTC))
    assert (due.owner, due.due) == ("customer", "2027-01-01")


WAIVED_TOML = PROFILE_TOML + """
[[waivers]]
check = "anyconnect.gateway"
target = "vpn.exempel.se"
reason = "Replaced in January"
until = 2026-12-31
[[waivers]]
check = "account.login"
reason = "cannot waive an error"
until = 2026-12-31
"""
LINES = WAIVED_TOML.splitlines()


def test_waivers_apply_to_matching_warn_and_fail_until_their_date() -> None:
    profile = parse_profile(WAIVED_TOML, allow_expired_waivers=True)
    results = [result("anyconnect.gateway", "vpn.exempel.se", "fail"),
               result("anyconnect.gateway", "vpn2.exempel.se", "fail"),  # other target
               result("account.login", "adfs01", "error")]                # not waivable
    applied = apply_waivers(results, profile.waivers, TODAY)
    assert applied[0].waiver == {"reason": "Replaced in January", "until": "2026-12-31",
                                 "expired": False}
    assert applied[1].waiver is None and applied[2].waiver is None
    assert [waived(r) for r in applied] == [True, False, False]
    assert [r.status for r in counted(applied)] == [Status.PASS, Status.FAIL, Status.ERROR]
    later = apply_waivers(results, profile.waivers, dt.date(2027, 1, 1))
    assert later[0].waiver["expired"] is True and not waived(later[0])


def test_a_waived_warning_keeps_the_run_ready_until_it_runs_out() -> None:
    """The issue's example: a customer keeps a finding on purpose; while the waiver holds
    it no longer makes the run "with warnings"."""
    profile = parse_profile(WAIVED_TOML, allow_expired_waivers=True)
    gateway = [result("anyconnect.gateway", "vpn.exempel.se", "warn")]
    assert decide(gateway, profile)[0] is Verdict.READY_WITH_WARNINGS
    on_day = apply_waivers(gateway, profile.waivers, dt.date(2026, 12, 31))  # the last day
    assert decide(on_day, profile)[0] is Verdict.READY
    after = apply_waivers(gateway, profile.waivers, dt.date(2027, 1, 1))
    assert decide(after, profile)[0] is Verdict.READY_WITH_WARNINGS
    # the report still lists it, as waived
    [finding] = findings(make_run(on_day))
    assert finding.waived and finding.owner == "customer"


def test_a_waiver_never_lifts_a_gating_rule() -> None:
    """A waived failure of the only access method still blocks: not ready, the requirement
    failed, and the finding is listed with what the customer must do, not apart."""
    profile = parse_profile(WAIVED_TOML, allow_expired_waivers=True)
    gateway = apply_waivers([result("anyconnect.gateway", "vpn.exempel.se", "fail")],
                            profile.waivers, dt.date(2026, 12, 31))
    assert waived(gateway[0])
    verdict, outcomes = decide(gateway, profile)
    access = next(o for o in outcomes if o.requirement is Requirement.ACCESS)
    assert verdict is Verdict.NOT_READY and access.blocking and access.status is Status.FAIL
    [finding] = findings(make_run(gateway))
    assert finding.severity == "critical" and not finding.waived
    # a waived failure of a login blocks too
    login = [dataclasses.replace(result("account.login", "adfs01", "fail"),
                                 waiver={"reason": "r", "until": "2099-01-01",
                                         "expired": False}),
             result("anyconnect.gateway", "vpn.exempel.se", "pass")]
    assert decide(login, profile)[0] is Verdict.NOT_READY


@pytest.mark.parametrize("check", ["admin.agreement", "admin.dpa"])
def test_the_agreement_and_the_dpa_cannot_be_waived(check: str) -> None:
    text = PROFILE_TOML + f"""
[[waivers]]
check = "{check}"
reason = "Being renewed"
until = 2099-01-31
"""
    line = text.splitlines().index(f'check = "{check}"') + 1
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "p.toml")
    assert str(caught.value).startswith(
        f"p.toml:{line}: waivers[0].check: {check} cannot be waived: a support agreement "
        "and a signed DPA are conditions for support; they cannot be waived — ")


def test_expired_waivers_and_unknown_checks_are_one_line_errors() -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(WAIVED_TOML.replace("2026-12-31", "2020-01-01"), "p.toml")
    until = [i for i, line in enumerate(LINES, 1) if line.startswith("until =")]
    check = LINES.index('check = "anyconnect.gateway"') + 1
    assert str(caught.value).startswith(f"p.toml:{until[0]}: waivers[0].until: the waiver "
                                        "of anyconnect.gateway ran out on 2020-01-01")
    profile = parse_profile(WAIVED_TOML, "p.toml", allow_expired_waivers=True)
    assert [str(e).split(":")[1] for e in expired_waivers(profile, dt.date(2027, 1, 1))] == \
        [str(n) for n in until]
    typo = dataclasses.replace(profile, waivers=(dataclasses.replace(
        profile.waivers[0], check="anyconect.gateway"),))
    with pytest.raises(ProfileError) as caught:
        check_waivers(typo, {c.id for c in load_registry().checks})
    assert str(caught.value) == (f"p.toml:{check}: waivers[0].check: no check is named "
                                 "'anyconect.gateway' — did you mean 'anyconnect.gateway'?")


def test_seen_from_the_customers_side_the_engineers_part_is_the_customers() -> None:
    """A self-check has no engineer: "this machine, its network, run again" are the
    customer's; in a merge, so for a result seen only from the customer's side."""
    mine = dataclasses.replace(result("anyconnect.gateway", "gw", "error"), owner="engineer")
    assert owner_of(mine) == "engineer"
    assert owner_of(mine, vantage=Vantage.ENGINEER) == "engineer"
    assert owner_of(mine, vantage=Vantage.CUSTOMER) == "customer"
    assert owner_of(dataclasses.replace(mine, vantage="customer")) == "customer"
    assert owner_of(dataclasses.replace(mine, vantage="customer, engineer")) == "engineer"
    supplier = dataclasses.replace(mine, owner="supplier")
    assert owner_of(supplier, vantage=Vantage.CUSTOMER) == "supplier"
    [finding] = findings(make_run([mine], vantage="customer", self_check=True))
    assert finding.owner == "customer"
