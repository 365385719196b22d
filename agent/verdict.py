"""The verdict rules of design §5, in one place.

``access``, ``account`` and ``remote`` can make a customer *not ready*; every other
requirement only warns. A requirement none of whose checks ran neither blocks nor passes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from accessready.agent.model import (
    Requirement,
    RequirementOutcome,
    Result,
    Status,
    Text,
    Verdict,
    t,
    worst,
)
from accessready.agent.profile_types import Profile

_OK = (Status.PASS, Status.WARN)


def _access(results: list[Result], profile: Profile) -> tuple[bool, Text]:
    by_method: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        if r.method:
            by_method[r.method].append(r)
    evaluated, passing, broken = [], [], []
    for method in profile.access.methods:
        ran = [r for r in by_method.get(method, []) if r.status is not Status.SKIP]
        if not ran:
            continue
        evaluated.append(method)
        bad = [r for r in ran if r.status not in _OK]
        if bad:
            broken.append(f"{method} ({', '.join(sorted({r.check_id for r in bad}))})")
        else:
            passing.append(method)
    if not evaluated:
        return False, t("No access method was checked.", "Ingen åtkomstmetod kontrollerades.")
    if passing:
        names = ", ".join(passing)
        return False, t(f"Usable access method: {names}.", f"Användbar åtkomstmetod: {names}.")
    names = "; ".join(broken)
    return True, t(f"No offered access method works: {names}.",
                   f"Ingen erbjuden åtkomstmetod fungerar: {names}.")


def _account(results: list[Result]) -> tuple[bool, Text]:
    failed = sorted({r.target for r in results
                     if r.check_id == "account.login" and r.status is Status.FAIL})
    if failed:
        names = ", ".join(failed)
        return True, t(f"The support account cannot log in on: {names}.",
                       f"Supportkontot kan inte logga in på: {names}.")
    return False, t("No failed login.", "Ingen misslyckad inloggning.")


def _remote(results: list[Result], profile: Profile) -> tuple[bool, Text]:
    unreachable = []
    for server in profile.servers:
        if not {"adfs", "wap"} & set(server.roles):
            continue
        ran = [r for r in results if r.target == server.name and r.status is not Status.SKIP]
        if ran and not any(r.status in _OK for r in ran):
            unreachable.append(server.name)
    if unreachable:
        names = ", ".join(unreachable)
        return True, t(f"AD FS/WAP servers unreachable by every remote method: {names}.",
                       f"AD FS/WAP-servrar som inte nås med någon fjärrmetod: {names}.")
    return False, t("Every checked AD FS/WAP server is reachable.",
                    "Alla kontrollerade AD FS/WAP-servrar går att nå.")


def _plain(status: Status) -> Text:
    return {
        Status.PASS: t("All checks passed.", "Alla kontroller godkända."),
        Status.SKIP: t("Not checked.", "Ej kontrollerat."),
        Status.WARN: t("Warnings to look at.", "Varningar att titta på."),
        Status.ERROR: t("Some checks could not decide.", "Vissa kontroller kunde inte avgöra."),
        Status.FAIL: t("Problems found.", "Problem hittades."),
    }[status]


def decide(results: Sequence[Result], profile: Profile,
           interrupted: bool = False) -> tuple[Verdict, tuple[RequirementOutcome, ...]]:
    """The verdict and one outcome per requirement, from ``results``."""
    grouped: dict[Requirement, list[Result]] = defaultdict(list)
    for r in results:
        grouped[r.requirement].append(r)
    outcomes = []
    for req in Requirement:
        mine = grouped.get(req, [])
        status = worst([r.status for r in mine]) if mine else Status.SKIP
        blocking, reason = False, _plain(status)
        if status is not Status.SKIP:
            if req is Requirement.ACCESS:
                blocking, reason = _access(mine, profile)
                if not blocking and status is not Status.PASS:
                    # one usable method makes access work; the rest is only a warning
                    status = Status.WARN
            elif req is Requirement.ACCOUNT:
                blocking, why = _account(mine)
                reason = why if blocking else reason
            elif req is Requirement.REMOTE:
                blocking, why = _remote(mine, profile)
                reason = why if blocking else reason
        outcomes.append(RequirementOutcome(req, status, blocking, reason))
    if interrupted or all(r.status is Status.SKIP for r in results):
        verdict = Verdict.UNKNOWN
    elif any(o.blocking for o in outcomes):
        verdict = Verdict.NOT_READY
    elif any(r.status in (Status.WARN, Status.FAIL, Status.ERROR) for r in results):
        verdict = Verdict.READY_WITH_WARNINGS
    else:
        verdict = Verdict.READY
    return verdict, tuple(outcomes)
