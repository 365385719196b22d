"""The verdict rules of design §5."""

from __future__ import annotations

from accessready.agent.core.model import Requirement, Result, Status, Verdict, t
from accessready.agent.core.profile import parse_profile
from accessready.agent.core.verdict import decide

PROFILE = parse_profile("""
[customer]
name = "X"
[access]
methods = ["anyconnect", "teamviewer"]
[access.anyconnect]
gateway = "vpn.example.se"
[[servers]]
name = "adfs01"
address = "192.0.2.10"
roles = ["adfs"]
remote = ["rdp", "winrm"]
[[servers]]
name = "sync01"
address = "192.0.2.20"
roles = ["sync"]
remote = ["ssh"]
""")


def r(check: str, status: Status, target: str = "t", req: Requirement = Requirement.ADMIN,
      method: str | None = None) -> Result:
    return Result(check, target, status, t("s", "s"), requirement=req, method=method)


def access(method: str, status: Status, check: str = "gateway") -> Result:
    return r(f"{method}.{check}", status, req=Requirement.ACCESS, method=method)


def verdict(*results: Result, interrupted: bool = False) -> Verdict:
    return decide(list(results), PROFILE, interrupted)[0]


def test_all_pass_is_ready() -> None:
    assert verdict(r("admin.dpa", Status.PASS), access("anyconnect", Status.PASS)) \
        is Verdict.READY


def test_no_signed_dpa_or_valid_agreement_is_not_ready() -> None:
    """The seed's general requirements: no support without both agreements."""
    ok = access("anyconnect", Status.PASS)
    for check in ("admin.dpa", "admin.agreement"):
        v, outcomes = decide([r(check, Status.FAIL), ok], PROFILE)
        assert v is Verdict.NOT_READY, check
        admin = next(o for o in outcomes if o.requirement is Requirement.ADMIN)
        assert admin.blocking and "data-processing agreement" in admin.reason.en
        assert "personuppgiftsbiträdesavtal" in admin.reason.sv


def test_contacts_and_expiring_agreement_only_warn() -> None:
    ok = access("anyconnect", Status.PASS)
    for check in ("admin.contacts", "admin.maintenance_contact"):
        assert verdict(r(check, Status.FAIL), ok) is Verdict.READY_WITH_WARNINGS, check
    assert verdict(r("admin.agreement", Status.WARN), ok) is Verdict.READY_WITH_WARNINGS


def test_agreement_that_could_not_be_read_is_unknown_and_says_what_decides() -> None:
    err = Result("admin.agreement", "t", Status.ERROR, t("crashed", "kraschade"),
                 remediation=t("Fix the plugin.", "Laga insticksmodulen."))
    v, outcomes = decide([err, access("anyconnect", Status.PASS)], PROFILE)
    admin = next(o for o in outcomes if o.requirement is Requirement.ADMIN)
    assert v is Verdict.UNKNOWN and admin.undecided and not admin.blocking
    assert admin.decides == t("Fix the plugin.", "Laga insticksmodulen.")


def test_one_working_method_is_enough() -> None:
    v, outcomes = decide([access("anyconnect", Status.FAIL), access("teamviewer", Status.PASS),
                          access("teamviewer", Status.PASS, "host")], PROFILE)
    assert v is Verdict.READY_WITH_WARNINGS
    acc = next(o for o in outcomes if o.requirement is Requirement.ACCESS)
    assert not acc.blocking and acc.status is Status.WARN and "teamviewer" in acc.reason.en


def test_method_passes_only_when_every_check_passes() -> None:
    v, outcomes = decide([access("anyconnect", Status.PASS),
                          access("anyconnect", Status.FAIL, "split_tunnel"),
                          access("teamviewer", Status.FAIL)], PROFILE)
    assert v is Verdict.NOT_READY
    acc = next(o for o in outcomes if o.requirement is Requirement.ACCESS)
    assert acc.blocking and "anyconnect.split_tunnel" in acc.reason.en


def test_warn_inside_a_method_still_counts_as_usable() -> None:
    assert verdict(access("anyconnect", Status.WARN)) is Verdict.READY_WITH_WARNINGS


def test_login_failure_anywhere_blocks() -> None:
    assert verdict(access("teamviewer", Status.PASS),
                   r("account.login", Status.PASS, "adfs01", Requirement.ACCOUNT),
                   r("account.login", Status.FAIL, "sync01", Requirement.ACCOUNT)) \
        is Verdict.NOT_READY


def test_account_status_failure_only_warns() -> None:
    assert verdict(access("teamviewer", Status.PASS),
                   r("account.status", Status.FAIL, "sync01", Requirement.ACCOUNT)) \
        is Verdict.READY_WITH_WARNINGS


def test_adfs_server_unreachable_by_all_methods_blocks() -> None:
    ok = access("teamviewer", Status.PASS)
    rdp_down = r("remote.rdp", Status.FAIL, "adfs01", Requirement.REMOTE)
    winrm_up = r("remote.winrm", Status.PASS, "adfs01", Requirement.REMOTE)
    winrm_down = r("remote.winrm", Status.ERROR, "adfs01", Requirement.REMOTE)
    assert verdict(ok, rdp_down, winrm_up) is Verdict.READY_WITH_WARNINGS
    assert verdict(ok, rdp_down, winrm_down) is Verdict.NOT_READY


def test_unreachable_sync_server_does_not_block() -> None:
    assert verdict(access("teamviewer", Status.PASS),
                   r("remote.ssh", Status.FAIL, "sync01", Requirement.REMOTE)) \
        is Verdict.READY_WITH_WARNINGS


def test_interrupted_or_nothing_run_is_unknown() -> None:
    assert verdict(access("teamviewer", Status.PASS), interrupted=True) is Verdict.UNKNOWN
    assert verdict(r("admin.dpa", Status.SKIP)) is Verdict.UNKNOWN


def test_requirement_not_run_neither_blocks_nor_passes() -> None:
    _, outcomes = decide([r("admin.dpa", Status.PASS)], PROFILE)
    acc = next(o for o in outcomes if o.requirement is Requirement.ACCESS)
    assert acc.status is Status.SKIP and not acc.blocking


def test_gating_errors_without_failures_are_unknown_not_not_ready() -> None:
    """Could not check is UNKNOWN (exit 3), as monitoring systems read it."""
    assert verdict(access("anyconnect", Status.ERROR), access("teamviewer", Status.ERROR)) \
        is Verdict.UNKNOWN
    assert verdict(access("anyconnect", Status.ERROR), access("teamviewer", Status.FAIL)) \
        is Verdict.UNKNOWN  # anyconnect might still work
    assert verdict(access("teamviewer", Status.PASS),
                   r("account.login", Status.ERROR, "sync01", Requirement.ACCOUNT)) \
        is Verdict.UNKNOWN
    assert verdict(access("teamviewer", Status.PASS),
                   r("remote.rdp", Status.ERROR, "adfs01", Requirement.REMOTE)) \
        is Verdict.UNKNOWN


def test_a_failure_elsewhere_still_blocks_over_unknown() -> None:
    assert verdict(access("anyconnect", Status.ERROR), access("teamviewer", Status.ERROR),
                   r("account.login", Status.FAIL, "sync01", Requirement.ACCOUNT)) \
        is Verdict.NOT_READY


def test_undecided_outcome_names_the_action_that_decides_it() -> None:
    """The unknown banner needs the requirement and one action, from the check's remedy."""
    vpn_down = Result("anyconnect.split_tunnel", "t", Status.ERROR,
                      t("Not connected.", "Inte ansluten."), requirement=Requirement.ACCESS,
                      method="anyconnect",
                      remediation=t("Connect the VPN and run again.",
                                    "Anslut VPN:en och kör igen."))
    v, outcomes = decide([access("anyconnect", Status.PASS), vpn_down,
                          access("teamviewer", Status.FAIL)], PROFILE)
    acc = next(o for o in outcomes if o.requirement is Requirement.ACCESS)
    assert v is Verdict.UNKNOWN and acc.undecided
    assert "anyconnect.split_tunnel" in acc.reason.en
    assert acc.decides is not None and acc.decides.en == "Connect the VPN and run again."
    assert acc.to_json()["decides"]["sv"] == "Anslut VPN:en och kör igen."
    decided = [o for o in outcomes if o.requirement is not Requirement.ACCESS]
    assert not any(o.undecided or o.decides for o in decided)
    assert "undecided" not in decided[0].to_json()  # decided outcomes keep their old shape


def test_an_undecided_requirement_is_an_error_not_a_failure() -> None:
    """No VPN up: access could not be decided, so it is "could not decide", not "fail",
    and the reason keeps the methods that could not be checked apart from those that
    failed."""
    v, outcomes = decide([access("anyconnect", Status.PASS),
                          access("anyconnect", Status.ERROR, "split_tunnel"),
                          access("teamviewer", Status.FAIL, "host")], PROFILE)
    acc = next(o for o in outcomes if o.requirement is Requirement.ACCESS)
    assert v is Verdict.UNKNOWN and acc.undecided and acc.status is Status.ERROR
    assert acc.to_json()["status"] == "error"
    assert acc.reason.en == ("No offered access method passed; could not be checked: "
                             "anyconnect (anyconnect.split_tunnel); failed: teamviewer "
                             "(teamviewer.host).")
    assert acc.reason.sv == ("Ingen erbjuden åtkomstmetod godkändes; kunde inte "
                             "kontrolleras: anyconnect (anyconnect.split_tunnel); "
                             "misslyckades: teamviewer (teamviewer.host).")
    # a failed login elsewhere still makes its own requirement a failure
    login = r("account.login", Status.ERROR, "sync01", Requirement.ACCOUNT)
    _, outcomes = decide([access("teamviewer", Status.PASS), login,
                          r("account.status", Status.FAIL, "sync01", Requirement.ACCOUNT)],
                         PROFILE)
    account = next(o for o in outcomes if o.requirement is Requirement.ACCOUNT)
    assert account.undecided and account.status is Status.ERROR


def skipped(method: str, check: str, reason: str) -> Result:
    return Result(f"{method}.{check}", "t", Status.SKIP, t("s", "s"), {"reason": reason},
                  requirement=Requirement.ACCESS, method=method)


def test_a_method_with_a_check_left_out_by_design_is_only_partly_checked() -> None:
    """A self-check never has the password, so teamviewer.host is skipped: TeamViewer
    passed only its network check, and the reason must say so rather than claim it
    usable outright."""
    v, outcomes = decide([access("teamviewer", Status.PASS, "network"),
                          skipped("teamviewer", "host", "no_password")], PROFILE)
    acc = next(o for o in outcomes if o.requirement is Requirement.ACCESS)
    assert v is Verdict.READY and not acc.blocking and not acc.undecided
    assert "Usable access method" not in acc.reason.en
    assert acc.reason.en == ("Partly checked from here: teamviewer passed teamviewer.network; "
                             "not checked: teamviewer.host.")
    assert acc.reason.sv == ("Delvis kontrollerad härifrån: teamviewer godkändes i "
                             "teamviewer.network; ej kontrollerat: teamviewer.host.")
    # a fully checked method is named usable, the partly checked one apart
    _, outcomes = decide([access("teamviewer", Status.PASS, "network"),
                          skipped("teamviewer", "host", "vantage"),
                          access("anyconnect", Status.PASS)], PROFILE)
    acc = next(o for o in outcomes if o.requirement is Requirement.ACCESS)
    assert acc.reason.en.startswith("Usable access method: anyconnect. Partly checked")
    # a check left out on request (--only/--skip) is no part of the method's claim
    _, outcomes = decide([access("teamviewer", Status.PASS, "network"),
                          skipped("teamviewer", "host", "filtered")], PROFILE)
    acc = next(o for o in outcomes if o.requirement is Requirement.ACCESS)
    assert acc.reason.en == "Usable access method: teamviewer."
