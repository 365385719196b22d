"""The check plugin API.

A check is a small class: metadata (id, title, requirement, what it needs, remediation in
Swedish and English) beside a ``run`` method that gets its inputs and a deadline and returns
results. It never prints, never reads files on its own, never starts threads: the runner
owns concurrency and deadlines, the context hands over everything from outside.

Third-party checks register exactly like the built-in ones, through the entry-point group
``accessready.checks``; the entry point names a list of check classes (or one class)::

    [project.entry-points."accessready.checks"]
    mine = "my_package.checks:CHECKS"
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from accessready.agent.core.model import Requirement, Result, Status, Text, Vantage, t
from accessready.agent.core.profile_types import Profile


@dataclass(frozen=True)
class Target:
    """What one run of a check looks at: a name for the report and the check's input."""

    name: str
    data: Any = None
    needs: tuple[str, ...] | None = None  # overrides the check's needs for this target


@dataclass(frozen=True)
class Contact:
    """The first TCP connection a check's ``run`` opens to its target (through
    :func:`accessready.agent.io.net.connect`): the runner opens it ahead, while the check
    waits without a thread, and the check's own connect then takes it. ``within`` is the
    check's own cap on that connect, in seconds (None: its whole deadline). ``via`` names
    the service that makes the connection, when the check does not: it is opened ahead
    only if that service says it connects through ``net.connect``
    (``connects_with_net``; a test's fake does not, and must not cause traffic).

    ``shared``: the connection is the first of something the run opens once for every
    check that names it (the session to a server, which every check reading that server
    uses): one attempt per host and port for the whole run, which each of those checks
    waits for without a thread. The first check planned gets the socket; the others get
    its outcome without one: the failure, or that it connected (they connect themselves,
    if the session is not open by then)."""

    host: str
    port: int
    within: float | None = None
    via: str | None = None
    shared: bool = False


GENERIC_REMEDIATION: dict[str, Text] = {
    "error": t(
        "The check could not decide. Read the evidence, make sure this machine can reach the "
        "target, and run again (a larger --timeout helps on slow links).",
        "Kontrollen kunde inte avgöra. Läs underlaget, se till att den här datorn når målet "
        "och kör igen (ett större --timeout hjälper på långsamma förbindelser)."),
    "password": t(
        "Make the support account's password available as the profile says (environment "
        "variable, keyring or prompt) and run again.",
        "Gör supportkontots lösenord tillgängligt så som profilen anger (miljövariabel, "
        "nyckelring eller fråga) och kör igen."),
}


def password_unavailable(problem: Text | None) -> Text:
    """The summary of a result that needs the support account's password and cannot have
    it; ``problem`` (from the secret source) says why and how to fix it."""
    why = problem or t("the password is not available", "lösenordet är inte tillgängligt")
    return t(f"Cannot get the support account's password: {why.en}",
             f"Kan inte hämta supportkontots lösenord: {why.sv}")


ALL_VANTAGES = frozenset(Vantage)

# Where each vantage looks from, for "… is not checked from <place>".
_FROM = {Vantage.ENGINEER: t("the engineer's machine", "teknikerns dator"),
         Vantage.CUSTOMER: t("inside the customer's network (self-check)",
                             "kundens nätverk (egenkontroll)"),
         Vantage.AUDIT: t("an audit host", "en granskningsserver")}


def vantage_place(vantage: Vantage) -> Text:
    """Where ``vantage`` looks from, in words ("an audit host")."""
    return _FROM[vantage]


GENERIC_OWNERS: dict[str, str] = {"error": "engineer", "password": "engineer"}
"""Who acts on the generic remediation: whoever runs the checks (look, reach, run again)."""


class DeadlineExceeded(Exception):
    """Raised by :meth:`CheckContext.timeout` when no time is left."""


@dataclass
class CheckContext:
    """What a check gets from outside: the profile, its deadline, shared services.

    ``services`` holds named helpers the agent provides (DNS resolvers, transports, the
    local system facts); tests replace them with fakes.
    """

    profile: Profile
    deadline: float
    services: dict[str, Any] = field(default_factory=dict)
    password: Any = None
    password_problem: Text | None = None  # why ``password`` is None, in both languages
    vantage: Vantage = Vantage.ENGINEER
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def timeout(self, cap: float | None = None, margin: float = 0.05) -> float:
        """A network timeout that ends before the deadline, at most ``cap`` seconds."""
        left = self.remaining() - margin
        if left <= 0:
            raise DeadlineExceeded("no time left before the check's deadline")
        return min(left, cap) if cap is not None else left

    def service(self, name: str) -> Any:
        """The shared service ``name``; a clear error when the agent did not provide it."""
        try:
            return self.services[name]
        except KeyError:
            raise RuntimeError(f"service '{name}' is not available in this run") from None


BUDGET_FLOOR_S = 0.3
"""The least time a probe is given when its share of what is left would be smaller: under
it a connect or a DNS query is not a fair try, so it is not worth making (the deadline
still caps it)."""


@dataclass
class Budget:
    """Divides a check's remaining time among ``parts`` probes, each capped at ``cap``.

    The last probes get what the first ones left over; each share is at least
    :data:`BUDGET_FLOOR_S` and never runs past the deadline. ``timeout()`` raises
    :class:`DeadlineExceeded` (from the context) when nothing is left.
    """

    ctx: CheckContext
    parts: int
    cap: float

    def timeout(self) -> float:
        """The timeout for the next probe."""
        share = self.ctx.remaining() / max(self.parts, 1)
        self.parts = max(self.parts - 1, 1)
        return self.ctx.timeout(min(self.cap, max(share, BUDGET_FLOOR_S)))


class Check:
    """Base class of every check. Subclasses set the class attributes and ``run``.

    ``remediation`` maps a key to advice; results name the key (``fix="expired"``). The
    key ``"default"`` is used for a warn/fail/error that names none.

    ``owner`` says who acts on this check's findings — ``"customer"`` (its IT: servers,
    certificates, accounts, gateways), ``"supplier"`` (the profile, the agreements) or
    ``"engineer"`` (the machine the checks run on, its VPN connection, the run itself);
    ``owners`` overrides it per remediation key.
    """

    id: ClassVar[str]
    title: ClassVar[Text]
    requirement: ClassVar[Requirement]
    description: ClassVar[Text] = t("", "")
    method: ClassVar[str | None] = None
    needs: ClassVar[tuple[str, ...]] = ()
    remediation: ClassVar[dict[str, Text]] = {}
    # Where the check means something (design §2): elsewhere it is skipped with
    # :meth:`not_from`'s reason. Checks of the engineer's own machine, and of the tunnel
    # it has up, apply only from the engineer's vantage.
    vantages: ClassVar[frozenset[Vantage]] = ALL_VANTAGES
    # What the check looks at, for that reason: "the engineer's workstation".
    looks_at: ClassVar[Text | None] = None

    def not_from(self, vantage: Vantage) -> Text | None:
        """None when the check applies from ``vantage``; otherwise why not (a skip)."""
        if vantage in self.vantages:
            return None
        place = vantage_place(vantage)
        if self.looks_at is None:
            return t(f"{self.id} is not checked from {place.en}.",
                     f"{self.id} kontrolleras inte från {place.sv}.")
        what = self.looks_at
        return t(f"{what.en[:1].upper()}{what.en[1:]} is not checked from {place.en}.",
                 f"{what.sv[:1].upper()}{what.sv[1:]} kontrolleras inte från {place.sv}.")
    owner: ClassVar[str] = "customer"
    owners: ClassVar[dict[str, str]] = {}

    def applies(self, profile: Profile) -> Text | None:
        """None when the check applies to ``profile``; otherwise why not (a skip)."""
        if self.method is not None and self.method not in profile.access.methods:
            return t(f"The customer does not offer {self.method}.",
                     f"Kunden erbjuder inte {self.method}.")
        return None

    def targets(self, profile: Profile) -> list[Target]:
        """What to run on; one result (at least) per target. Default: the customer."""
        return [Target(profile.customer.name)]

    def target_needs(self, target: Target) -> tuple[str, ...]:
        """What this check needs for ``target`` (default: :attr:`needs`).

        Override when one target needs more than another — e.g. the support account's
        password only when a remote server is examined; the runner reads this to fetch the
        password or to skip the target in a self-check.
        """
        return target.needs if target.needs is not None else self.needs

    def first_contact(self, target: Target) -> Contact | tuple[Contact, ...] | None:
        """The connection ``run`` opens first for ``target``, when it opens one (default:
        None). Naming it lets a silent target wait on the runner's one selector instead
        of on a thread; ``run`` must then open exactly that host and port first.

        A check that goes to several servers in turn (the nodes of a farm) names the
        first connection to each, as a tuple: they are opened at once, and the check
        gets a thread when every one is up or has failed. Each connects once, to its
        own host and port; a later connection to the same place connects itself."""
        return None

    def run(self, ctx: CheckContext, target: Target) -> Result | Iterable[Result]:
        """Look at ``target`` and return what was found, before ``ctx.deadline``."""
        raise NotImplementedError

    def result(self, target: Target | str, status: Status, summary: Text,
               details: dict[str, Any] | None = None, fix: str | None = None,
               due: dt.date | dt.datetime | None = None) -> Result:
        """Build a :class:`Result` of this check, with remediation for warn/fail/error,
        who must act on it and, when the check knows one, the date it is ``due``."""
        remedy = owner = None
        if status in (Status.WARN, Status.FAIL, Status.ERROR):
            key = fix or "default"
            remedy = (self.remediation.get(key) or GENERIC_REMEDIATION.get(key)
                      or self.remediation.get("default"))
            owner = self.owner_of(key)
        elif fix:
            remedy = self.remediation.get(fix)
        if isinstance(due, dt.datetime):
            due = due.astimezone(dt.UTC).date() if due.tzinfo else due.date()
        return Result(
            check_id=self.id, target=target.name if isinstance(target, Target) else target,
            status=status, summary=summary, details=details or {}, remediation=remedy,
            requirement=self.requirement, method=self.method, owner=owner,
            due=due.isoformat() if due is not None and owner is not None else None)

    def owner_of(self, key: str) -> str:
        """Who acts on the remediation ``key`` (found the way :meth:`result` finds it)."""
        if key in self.owners:
            return self.owners[key]
        if key in GENERIC_OWNERS:
            return GENERIC_OWNERS[key]
        if key not in self.remediation:
            return self.owners.get("default", self.owner)
        return self.owner

    @classmethod
    def catalogue_entry(cls) -> dict[str, Any]:
        """The check's metadata as the catalogue and the JSON result show it."""
        return {
            "id": cls.id,
            "title": cls.title.to_json(),
            "requirement": cls.requirement.value,
            "method": cls.method,
            "needs": list(cls.needs),
            "vantages": [v.value for v in Vantage if v in cls.vantages],
            "description": cls.description.to_json(),
            "owner": cls.owner,
        }
