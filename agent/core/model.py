"""The result model every layer shares: statuses, texts in two languages, results, runs.

Checks build :class:`Result` objects; the runner collects them into a :class:`Run`; the
verdict module decides; renderers only read. Everything here is plain data that survives a
round trip through the JSON result file (``accessready.result/1``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

LANGUAGES = ("en", "sv")


class Status(enum.StrEnum):
    """What one check found for one target."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    SKIP = "skip"
    WARN = "warn"
    ERROR = "error"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        """Badness, for worst-state aggregation: pass/skip < warn < error < fail."""
        return _STATUS_RANK[self]


_STATUS_RANK = {Status.PASS: 0, Status.SKIP: 0, Status.WARN: 1, Status.ERROR: 2, Status.FAIL: 3}


def worst(statuses: list[Status] | tuple[Status, ...]) -> Status:
    """The worst of ``statuses``; PASS for none. SKIP only when everything skipped."""
    if not statuses:
        return Status.PASS
    if all(s is Status.SKIP for s in statuses):
        return Status.SKIP
    return max((s for s in statuses if s is not Status.SKIP), key=lambda s: s.rank,
               default=Status.PASS)


OWNERS = ("customer", "supplier", "engineer")
"""Who acts on a finding: the customer's IT, the supplier (its profile, its agreements),
or the engineer who runs the checks (their machine, their VPN, their run)."""

SEVERITIES = ("critical", "high", "medium", "low")
"""How urgent a finding is, most urgent first (the rule: accessready.agent.core.findings)."""


class Requirement(enum.StrEnum):
    """The prerequisites of design §5, in report order."""

    ADMIN = "admin"
    WORKSTATION = "workstation"
    ACCESS = "access"
    ACCOUNT = "account"
    REMOTE = "remote"
    ADFS = "adfs"
    SERVERS = "servers"


class Verdict(enum.StrEnum):
    """The run's overall answer."""

    READY = "ready"
    READY_WITH_WARNINGS = "ready_with_warnings"
    NOT_READY = "not_ready"
    UNKNOWN = "unknown"


class Vantage(enum.StrEnum):
    """Where a run looks from (design §2): which checks apply depends on it."""

    ENGINEER = "engineer"  # the supplier's engineer, through the access method (``run``)
    CUSTOMER = "customer"  # inside the customer's network (``run --self-check``)
    AUDIT = "audit"  # a monitoring host, over every profile (``audit``)


def vantage_of(label: str, self_check: bool = False) -> Vantage:
    """The kind of vantage a run's label stands for.

    A label that names a kind is that kind; a user's own label (``--vantage school-lan``)
    is a customer's view in a self-check and the engineer's otherwise.
    """
    try:
        return Vantage(label)
    except ValueError:
        return Vantage.CUSTOMER if self_check else Vantage.ENGINEER


class ExitCode(enum.IntEnum):
    """Process exit codes, as Nagios and Icinga read them."""

    READY = 0
    WARNINGS = 1
    NOT_READY = 2
    UNKNOWN = 3

    @classmethod
    def for_verdict(cls, verdict: Verdict) -> ExitCode:
        """The exit code that reports ``verdict``."""
        return {
            Verdict.READY: cls.READY,
            Verdict.READY_WITH_WARNINGS: cls.WARNINGS,
            Verdict.NOT_READY: cls.NOT_READY,
            Verdict.UNKNOWN: cls.UNKNOWN,
        }[verdict]


@dataclass(frozen=True)
class Text:
    """A user-facing string in English and Swedish."""

    en: str
    sv: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` (English for an unknown language)."""
        return self.sv if lang == "sv" else self.en

    def to_json(self) -> dict[str, str]:
        """``{"en": ..., "sv": ...}``."""
        return {"en": self.en, "sv": self.sv}

    @classmethod
    def from_json(cls, data: Any) -> Text:
        """Inverse of :meth:`to_json`; a bare string is used for both languages."""
        if isinstance(data, str):
            return cls(data, data)
        return cls(en=str(data.get("en", "")), sv=str(data.get("sv", data.get("en", ""))))


def t(en: str, sv: str) -> Text:
    """Shorthand for :class:`Text`, so checks read ``t("…", "…")``."""
    return Text(en=en, sv=sv)


@dataclass(frozen=True)
class Result:
    """One check's finding for one target.

    ``details`` is the evidence: JSON-able values only (what was sent, what came back, in
    what time). ``remediation`` says what to do about a warn or fail.
    """

    check_id: str
    target: str
    status: Status
    summary: Text
    details: dict[str, Any] = field(default_factory=dict)
    remediation: Text | None = None
    duration_s: float = 0.0
    requirement: Requirement = Requirement.ADMIN
    method: str | None = None
    # Only in merged runs: where this result was seen from ("customer", "engineer", or
    # "customer, engineer" when the views agree). None in an ordinary run.
    vantage: str | None = None
    # Findings (warn/fail/error) only: who must act — "customer" (its IT), "supplier" or
    # "engineer" (see OWNERS) — and by when ("YYYY-MM-DD": a certificate's, password's or
    # agreement's expiry), when the check knows a date.
    owner: str | None = None
    due: str | None = None
    # A profile's waiver that matched this result: {"reason", "until", "expired"}. An
    # unexpired waiver keeps the finding out of the verdict (see accessready.agent.core.findings).
    waiver: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as it appears in the JSON result file."""
        data = {
            "check": self.check_id,
            "requirement": self.requirement.value,
            "method": self.method,
            "target": self.target,
            "status": self.status.value,
            "summary": self.summary.to_json(),
            "details": self.details,
            "remediation": self.remediation.to_json() if self.remediation else None,
            "duration_s": round(self.duration_s, 4),
        }
        if self.vantage is not None:  # absent otherwise: ordinary results stay as they were
            data["vantage"] = self.vantage
        for key in ("owner", "due", "waiver"):  # findings only
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        """Inverse of :meth:`to_json`."""
        rem = data.get("remediation")
        return cls(
            check_id=data["check"],
            target=data["target"],
            status=Status(data["status"]),
            summary=Text.from_json(data["summary"]),
            details=dict(data.get("details") or {}),
            remediation=Text.from_json(rem) if rem else None,
            duration_s=float(data.get("duration_s", 0.0)),
            requirement=Requirement(data["requirement"]),
            method=data.get("method"),
            vantage=data.get("vantage"),
            owner=data.get("owner"),
            due=data.get("due"),
            waiver=data.get("waiver"),
        )


@dataclass(frozen=True)
class RequirementOutcome:
    """How one requirement fared, and why."""

    requirement: Requirement
    status: Status
    blocking: bool
    reason: Text
    # A gating rule that met only "could not decide": the verdict is unknown because of it,
    # and ``decides`` is the one action that would decide it (from the results' remedies).
    undecided: bool = False
    decides: Text | None = None

    def to_json(self) -> dict[str, Any]:
        """The outcome as the JSON result shows it."""
        data: dict[str, Any] = {"requirement": self.requirement.value,
                                "status": self.status.value, "blocking": self.blocking,
                                "reason": self.reason.to_json()}
        if self.undecided:  # absent otherwise: decided outcomes stay as they were
            data["undecided"] = True
            data["decides"] = self.decides.to_json() if self.decides else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RequirementOutcome:
        """Inverse of :meth:`to_json`."""
        decides = data.get("decides")
        return cls(Requirement(data["requirement"]), Status(data["status"]),
                   bool(data["blocking"]), Text.from_json(data["reason"]),
                   bool(data.get("undecided", False)),
                   Text.from_json(decides) if decides else None)


@dataclass(frozen=True)
class Run:
    """A finished (or interrupted) run: what was checked, what was found, the verdict."""

    customer: str
    profile_path: str
    started_at: str
    finished_at: str
    duration_s: float
    results: tuple[Result, ...]
    verdict: Verdict
    requirements: tuple[RequirementOutcome, ...]
    host: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    lang: str = "en"
    tool_version: str = ""
    catalogue: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Where the checks ran from: "engineer" (the supplier's side, the default and what
    # every result before self-checks was), "customer" (a self-check inside the customer's
    # network), "audit" (a monitoring host) or a label of the user's (its kind:
    # :func:`vantage_of`). A merged run joins its sources' labels with "+".
    vantage: str = "engineer"
    # A self-check never uses the support account's password: those checks skipped.
    self_check: bool = False
    # What decide() needs beyond the results, so a saved result can be re-decided (merge)
    # without its profile: {"methods": [...offered], "gating_servers": [...AD FS/WAP]}.
    basis: dict[str, list[str]] = field(default_factory=dict)
    # Only in merged runs: one entry per input run (vantage, self_check, times, host, file).
    sources: tuple[dict[str, Any], ...] = ()

    @property
    def vantage_kind(self) -> Vantage | None:
        """The kind of vantage the checks ran from; None for a merge of several views."""
        if self.sources or "+" in self.vantage:
            return None
        return vantage_of(self.vantage, self.self_check)

INSECURE = "insecure"
"""The ``details`` key of a result whose connection went unverified, or whose credentials
travelled unprotected, because the profile said so (``verify = false``,
``allow_insecure_credentials``). Its value is a :class:`Text` (as JSON); the report's top
repeats every one, so such a setting is never only an evidence key."""


def insecure_notes(results: tuple[Result, ...] | list[Result]) -> list[dict[str, Any]]:
    """Every :data:`INSECURE` note of ``results`` (once per target and text), in order:
    ``{"check", "target", "text": {"en", "sv"}}``. Derived from the results, so a saved
    result file cannot drop the notice while keeping the results that caused it."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    for result in results:
        raw = result.details.get(INSECURE) if isinstance(result.details, dict) else None
        if not isinstance(raw, dict | str):
            continue
        text = Text.from_json(raw)
        if (result.target, text.en) in seen:
            continue
        seen.add((result.target, text.en))
        out.append({"check": result.check_id, "target": result.target,
                    "text": text.to_json()})
    return out
