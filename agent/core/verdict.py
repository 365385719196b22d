"""The verdict rules of design §5, in one place.

``access``, ``account`` and ``remote`` can make a customer *not ready*, and so can
``admin`` through two of its checks: without a valid support agreement or a signed
data-processing agreement support may not start at all (the seed's general requirements;
without a DPA the supplier may not process the customer's personal data). Contacts and
the maintenance contact only warn, as does every other requirement. A requirement none of
whose checks ran neither blocks nor passes. Where a gating rule meets only errors (the
check could not decide) and no failure, the verdict is *unknown* — as monitoring systems
read it: "could not check", not "down" — and the outcome names the one action that would
decide it (the remedy of the first check that could not). A waiver never lifts a gating
rule: it only keeps an accepted finding from making the run "with warnings".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from accessready.agent.core.findings import GATING_CHECKS, counted
from accessready.agent.core.model import (
    Requirement,
    RequirementOutcome,
    Result,
    Status,
    Text,
    Verdict,
    t,
    worst,
)
from accessready.agent.core.profile_types import Profile

_OK = (Status.PASS, Status.WARN)


# A gating rule's answer: it blocks (a real failure), it could not decide (only errors
# where a failure would block: "could not check" is UNKNOWN, not NOT READY), or it holds.
BLOCKS, UNDECIDED, HOLDS = "blocks", "undecided", "holds"
# Each rule answers (answer, reason, the results that could not decide).
Rule = tuple[str, Text, list[Result]]


_PARTLY = ("no_password", "vantage")
"""Skip reasons by design of the run (a self-check never uses the password; a check that
does not apply from this vantage): the method was only partly checked, not unchecked."""


def _access(results: list[Result], profile: Profile) -> Rule:
    by_method: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        if r.method:
            by_method[r.method].append(r)
    evaluated, passing, partly, failing, erring = [], [], [], [], []
    unsure: list[Result] = []
    for method in profile.access.methods:
        ran = [r for r in by_method.get(method, []) if r.status is not Status.SKIP]
        if not ran:
            continue
        evaluated.append(method)
        bad = [r for r in ran if r.status not in _OK]
        label = f"{method} ({', '.join(sorted({r.check_id for r in bad}))})"
        left_out = sorted({r.check_id for r in by_method[method] if r.status is Status.SKIP
                           and r.details.get("reason") in _PARTLY} - {r.check_id for r in ran})
        if not bad and left_out:
            # passed only what could be checked from here: say which checks stand behind it
            partly.append((method, ", ".join(sorted({r.check_id for r in ran})),
                           ", ".join(left_out)))
        elif not bad:
            passing.append(method)
        elif any(r.status is Status.FAIL for r in bad):
            failing.append(label)
        else:
            erring.append(label)
            unsure.extend(bad)
    if not evaluated:
        return HOLDS, t("No access method was checked.",
                        "Ingen åtkomstmetod kontrollerades."), []
    if passing or partly:
        en, sv = [], []
        if passing:
            names = ", ".join(passing)
            en.append(f"Usable access method: {names}.")
            sv.append(f"Användbar åtkomstmetod: {names}.")
        for method, checked, left in partly:
            en.append(f"Partly checked from here: {method} passed {checked}; not checked: "
                      f"{left}.")
            sv.append(f"Delvis kontrollerad härifrån: {method} godkändes i {checked}; ej "
                      f"kontrollerat: {left}.")
        return HOLDS, t(" ".join(en), " ".join(sv)), []
    if erring:
        names = "; ".join(erring)
        en = f"No offered access method passed; could not be checked: {names}"
        sv = f"Ingen erbjuden åtkomstmetod godkändes; kunde inte kontrolleras: {names}"
        if failing:
            en += f"; failed: {'; '.join(failing)}"
            sv += f"; misslyckades: {'; '.join(failing)}"
        return UNDECIDED, t(f"{en}.", f"{sv}."), unsure
    names = "; ".join(failing)
    return BLOCKS, t(f"No offered access method works: {names}.",
                     f"Ingen erbjuden åtkomstmetod fungerar: {names}."), []


def _account(results: list[Result]) -> Rule:
    logins = [r for r in results if r.check_id == "account.login"]
    failed = sorted({r.target for r in logins if r.status is Status.FAIL})
    if failed:
        names = ", ".join(failed)
        return BLOCKS, t(f"The support account cannot log in on: {names}.",
                         f"Supportkontot kan inte logga in på: {names}."), []
    unsure = [r for r in logins if r.status is Status.ERROR]
    if unsure:
        names = ", ".join(sorted({r.target for r in unsure}))
        return UNDECIDED, t(f"The support account's login could not be tested on: {names}.",
                            f"Supportkontots inloggning kunde inte testas på: {names}."), unsure
    return HOLDS, t("No failed login.", "Ingen misslyckad inloggning."), []


def _remote(results: list[Result], profile: Profile) -> Rule:
    unreachable, unknown = [], []
    unsure: list[Result] = []
    for server in profile.servers:
        if not {"adfs", "wap"} & set(server.roles):
            continue
        ran = [r for r in results if r.target == server.name and r.status is not Status.SKIP]
        if not ran or any(r.status in _OK for r in ran):
            continue
        if any(r.status is Status.FAIL for r in ran):
            unreachable.append(server.name)
        else:
            unknown.append(server.name)
            unsure.extend(r for r in ran if r.status is Status.ERROR)
    if unreachable:
        names = ", ".join(unreachable)
        return BLOCKS, t(f"AD FS/WAP servers unreachable by every remote method: {names}.",
                         f"AD FS/WAP-servrar som inte nås med någon fjärrmetod: {names}."), []
    if unknown:
        names = ", ".join(unknown)
        return UNDECIDED, t(f"Could not tell whether these AD FS/WAP servers are reachable: "
                            f"{names}.", f"Kunde inte avgöra om dessa AD FS/WAP-servrar går att "
                            f"nå: {names}."), unsure
    return HOLDS, t("Every checked AD FS/WAP server is reachable.",
                    "Alla kontrollerade AD FS/WAP-servrar går att nå."), []


def _admin(results: list[Result]) -> Rule:
    gates = [r for r in results if r.check_id in GATING_CHECKS]
    failed = [r for r in gates if r.status is Status.FAIL]
    if failed:
        said_en = " ".join(r.summary.en for r in failed)
        said_sv = " ".join(r.summary.sv for r in failed)
        return BLOCKS, t(f"Support cannot start without a valid support agreement and a "
                         f"signed data-processing agreement: {said_en}",
                         f"Supporten kan inte starta utan ett giltigt supportavtal och ett "
                         f"undertecknat personuppgiftsbiträdesavtal: {said_sv}"), []
    unsure = [r for r in gates if r.status is Status.ERROR]
    if unsure:
        names = ", ".join(dict.fromkeys(r.check_id for r in unsure))
        return UNDECIDED, t(f"Could not tell whether the agreements are in place ({names}).",
                            f"Kunde inte avgöra om avtalen finns ({names})."), unsure
    return HOLDS, t("", ""), []


def _decides(unsure: list[Result]) -> Text | None:
    """The one action that would decide an undecided rule: the first unsure result's
    remedy (what its check says to do), else what it said."""
    for r in unsure:
        if r.remediation is not None:
            return r.remediation
    return unsure[0].summary if unsure else None


def _plain(status: Status) -> Text:
    return {
        Status.PASS: t("All checks passed.", "Alla kontroller godkända."),
        Status.SKIP: t("Not checked.", "Ej kontrollerat."),
        Status.WARN: t("Warnings to look at.", "Varningar att titta på."),
        Status.ERROR: t("Some checks could not decide.", "Vissa kontroller kunde inte avgöra."),
        Status.FAIL: t("Problems found.", "Problem hittades."),
    }[status]


_GATING = {Requirement.ADMIN: lambda results, _profile: _admin(results),
           Requirement.ACCOUNT: lambda results, _profile: _account(results),
           Requirement.REMOTE: _remote}


def decide(results: Sequence[Result], profile: Profile,
           interrupted: bool = False) -> tuple[Verdict, tuple[RequirementOutcome, ...]]:
    """The verdict and one outcome per requirement, from ``results``.

    A gating rule reads the results as they are: a waiver never lifts a condition of
    support. A finding an unexpired waiver accepts (:func:`~accessready.agent.core.findings.
    counted`) only no longer makes the run "with warnings".
    """
    accepted = counted(results)
    grouped: dict[Requirement, list[Result]] = defaultdict(list)
    as_counted: dict[Requirement, list[Result]] = defaultdict(list)
    for r, c in zip(results, accepted, strict=True):
        grouped[r.requirement].append(r)
        as_counted[r.requirement].append(c)
    outcomes = []
    undecided = False
    for req in Requirement:
        mine = grouped.get(req, [])
        status = worst([r.status for r in as_counted[req]]) if mine else Status.SKIP
        answer, reason, unsure = HOLDS, _plain(status), []
        if status is not Status.SKIP:
            if req is Requirement.ACCESS:
                answer, reason, unsure = _access(mine, profile)
                if answer == HOLDS and status is not Status.PASS:
                    # one usable method makes access work; the rest is only a warning
                    status = Status.WARN
            elif req in _GATING:
                answer, why, unsure = _GATING[req](mine, profile)
                reason = why if answer != HOLDS else reason
        if answer == BLOCKS:
            status = Status.FAIL  # even where a waiver accepted the failure
        elif answer == UNDECIDED:
            undecided = True
            status = Status.ERROR  # could not decide, whatever else failed
        outcomes.append(RequirementOutcome(
            req, status, answer == BLOCKS, reason, undecided=answer == UNDECIDED,
            decides=_decides(unsure) if answer == UNDECIDED else None))
    if interrupted or all(r.status is Status.SKIP for r in accepted):
        verdict = Verdict.UNKNOWN
    elif any(o.blocking for o in outcomes):
        verdict = Verdict.NOT_READY
    elif undecided:
        verdict = Verdict.UNKNOWN
    elif any(r.status in (Status.WARN, Status.FAIL, Status.ERROR) for r in accepted):
        verdict = Verdict.READY_WITH_WARNINGS
    else:
        verdict = Verdict.READY
    return verdict, tuple(outcomes)
