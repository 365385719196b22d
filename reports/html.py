"""The HTML readiness report: one self-contained file a customer can act on.

Design rules, each pinned by a test under ``tests/reports``:

* Jinja2 with autoescape on and ``StrictUndefined``; no data is ever marked safe. The only
  unescaped text in the page is the package's own CSS, inlined with ``{% include %}``
  (template source, not a value).
* Every string that came from the network or the profile passes :mod:`textsafe` first:
  control, bidi-override and lone-surrogate characters are replaced, lengths are bounded,
  evidence is cut at :data:`textsafe.EVIDENCE_LIMIT` characters per result.
* The page needs no script and may load nothing: a Content-Security-Policy meta tag
  (:data:`CSP`) forbids scripts and every remote load, so even a mistake in escaping
  could not run code or phone home.
* Templates are ``base.html`` plus partials, found through a ``ChoiceLoader``: a folder of
  the user's goes first and may override any one partial (or ``report.css``).

Jinja2 is imported inside :func:`render_html` so that ``accessready --help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from accessready.agent.model import Requirement, Result, Run, Status, Verdict
from accessready.reports.i18n import Translator, check_description, check_title
from accessready.reports.json_report import SCHEMA_ID
from accessready.reports.textsafe import EVIDENCE_LIMIT, UniqueNames, clean, evidence_json

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'")
"""No ``script-src`` at all: with ``default-src 'none'`` no script of any kind may run."""

# Bounds for one-line fields: generous for real data, small enough that a hostile
# megabyte-long "hostname" costs nothing.
SHORT = 200
LINE = 2_000
PARAGRAPH = 8_000
ACTION_TARGETS = 6

STATUS_ORDER = ("fail", "error", "warn", "pass", "skip")

# The tab icon: a dot in the verdict's colour, inline (CSP allows data: images only).
# Without it a browser asks the server the report came from for /favicon.ico.
_DOT = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
        "%3Ccircle cx='8' cy='8' r='7' fill='%23{}'/%3E%3C/svg%3E")
FAVICONS = {"ready": _DOT.format("116329"), "ready_with_warnings": _DOT.format("f2b01e"),
            "not_ready": _DOT.format("b3131f"), "unknown": _DOT.format("5e2fa3")}
_ACTION_RANK = {"fail": 0, "error": 1, "warn": 2}
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(slots=True)
class Badge:
    """A status as the page shows it: CSS key and word.

    Status is never told by colour alone: every badge carries its word, and the stylesheet
    adds a glyph (✓ ! ✕ ? –) before it.
    """

    status: str
    label: str


@dataclass(slots=True)
class ResultView:
    """One result, ready to print."""

    anchor: str
    badge: Badge
    target: str
    summary: str
    remediation: str
    evidence: str
    truncated: bool
    duration: str
    vantage: str = ""  # merged runs: "seen from …"


@dataclass(slots=True)
class CheckView:
    """One check's results within a requirement."""

    anchor: str
    id: str
    title: str
    description: str
    badge: Badge
    results: list[ResultView] = field(default_factory=list)


@dataclass(slots=True)
class RequirementView:
    """One requirement: its line at the top and its section of checks."""

    key: str
    anchor: str
    title: str
    badge: Badge
    blocking: bool
    reason: str
    counts: list[tuple[str, str]]
    checks: list[CheckView] = field(default_factory=list)


@dataclass(slots=True)
class ActionView:
    """One thing the customer must do, with the results that call for it."""

    badge: Badge
    blocking: bool
    text: str
    check_title: str
    check_id: str
    targets: list[str]
    more: int
    anchor: str


class _Anchors:
    """Unique, safe fragment ids, whatever the check ids and targets contain."""

    def __init__(self) -> None:
        self._unique = UniqueNames()

    def make(self, prefix: str, raw: str) -> str:
        """``prefix-slug``, or ``prefix-slug-N`` with the first free N (linear even when
        thousands of ids slug alike)."""
        return self._unique(f"{prefix}-{_SLUG.sub('-', raw.lower()).strip('-')[:48] or 'x'}")


def _badge(status: Status | str, tr: Translator) -> Badge:
    key = Status(status).value
    return Badge(key, tr.status(key))


def _when(iso: str, lang: str) -> tuple[str, str]:
    """(machine-readable, human-readable) forms of an ISO timestamp from the result."""
    text = clean(iso, SHORT)
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return "", text
    shown = stamp.strftime("%Y-%m-%d %H:%M:%S")
    if stamp.utcoffset() is not None:
        offset = stamp.strftime("%z")
        shown += " UTC" if offset == "+0000" else f" (UTC{offset[:3]}:{offset[3:]})"
    return stamp.isoformat(), shown


def _counts(statuses: Iterable[str], tr: Translator, keep_zero: bool) -> list[tuple[str, str]]:
    counter = Counter(statuses)
    return [(s, tr.count(s, counter.get(s, 0))) for s in STATUS_ORDER
            if keep_zero or counter.get(s)]


def _result_view(result: Result, tr: Translator) -> ResultView:
    evidence, truncated = evidence_json(result.details)
    remediation = ""
    if result.status is not Status.PASS and result.remediation is not None:
        remediation = clean(tr.text(result.remediation), PARAGRAPH, multiline=True)
    return ResultView(
        anchor="",  # set only when the to-do list links here: 5,000 ids cost bytes
        badge=_badge(result.status, tr),
        target=clean(result.target, SHORT),
        summary=clean(tr.text(result.summary), LINE),
        remediation=remediation,
        evidence=evidence,
        truncated=truncated,
        duration=tr.seconds(max(0.0, result.duration_s)),
        vantage=(tr("checks.seen_from", vantage=", ".join(
            vantage_words(v.strip(), tr) for v in result.vantage.split(",")))
            if result.vantage else ""),
    )


def vantage_words(label: str, tr: Translator) -> str:
    """A vantage label for people: the known ones translated, a user's own label as is."""
    label = clean(label, SHORT)
    if label in ("engineer", "customer"):
        return tr(f"vantage.{label}")
    return label


def _sources(run: Run, tr: Translator) -> list[dict[str, str]]:
    """The merged run's inputs, for the header: where from, when, what they said."""
    out = []
    for source in run.sources:
        iso, shown = _when(str(source.get("finished_at", "")), tr.lang)
        verdict = str(source.get("verdict", ""))
        out.append({
            "vantage": vantage_words(str(source.get("vantage", "")), tr),
            "self_check": tr("report.self_check_short") if source.get("self_check") else "",
            "when_iso": iso, "when": shown,
            "verdict": tr.verdict(verdict) if verdict in {v.value for v in Verdict} else "",
            "file": clean(Path(str(source.get("file", ""))).name, SHORT),
        })
    return out


def _requirement_order(run: Run) -> list[str]:
    """The run's requirements in report order, then any that only results mention."""
    order = [o.requirement.value for o in run.requirements]
    for req in Requirement:
        if req.value not in order:
            order.append(req.value)
    return order


def build_context(run: Run, lang: str | None = None) -> dict[str, Any]:
    """Everything the templates print, already cleaned; the templates only escape and lay out.

    Kept apart from rendering so tests can check the content without parsing HTML.
    """
    tr = Translator(lang or run.lang)
    anchors = _Anchors()
    outcomes = {o.requirement.value: o for o in run.requirements}
    catalogue: Mapping[str, Any] = run.catalogue or {}

    sections: dict[str, RequirementView] = {}
    for key in _requirement_order(run):
        outcome = outcomes.get(key)
        sections[key] = RequirementView(
            key=key, anchor=anchors.make("req", key), title=clean(tr.requirement(key), SHORT),
            badge=_badge(outcome.status if outcome else Status.SKIP, tr),
            blocking=bool(outcome and outcome.blocking),
            reason=clean(tr.text(outcome.reason), LINE) if outcome else "", counts=[])

    checks: dict[tuple[str, str], CheckView] = {}
    statuses: dict[str, list[str]] = {key: [] for key in sections}
    actions: dict[tuple[str, str], tuple[ActionView, int, str]] = {}
    for index, result in enumerate(run.results):
        req = result.requirement.value
        view = _result_view(result, tr)
        statuses[req].append(view.badge.status)
        group = checks.get((req, result.check_id))
        if group is None:
            cid = clean(result.check_id, SHORT)
            group = CheckView(
                anchor=anchors.make("check", cid), id=cid,
                title=clean(check_title(catalogue, result.check_id, tr.lang), SHORT),
                description=clean(check_description(catalogue, result.check_id, tr.lang), LINE),
                badge=view.badge)
            checks[(req, result.check_id)] = group
            sections[req].checks.append(group)
        group.results.append(view)
        _collect_action(actions, result, view, group, sections[req], index, anchors)

    for group in checks.values():
        worst_status = min((r.badge.status for r in group.results), key=_worst_key)
        group.badge = _badge(worst_status, tr)
    for key, section in sections.items():
        section.counts = _counts(statuses[key], tr, keep_zero=False)

    started_iso, started = _when(run.started_at, tr.lang)
    host = run.host or {}
    customer = clean(run.customer, SHORT) or tr("report.unknown")
    verdict = Verdict(run.verdict).value
    blocking = [(s.title, s.reason) for s in sections.values() if s.blocking]
    return {
        "lang": tr.lang,
        "tr": tr,
        "csp": CSP,
        "schema": SCHEMA_ID,
        "version": clean(run.tool_version, SHORT) or "?",
        "page_title": f"{customer} — {tr('report.title')} — {tr.verdict(verdict)}",
        "customer": customer,
        "started_iso": started_iso,
        "started": started,
        "duration": tr.seconds(max(0.0, run.duration_s)),
        "run_by": clean(host.get("user"), SHORT) or tr("report.unknown"),
        "run_from": clean(host.get("hostname"), SHORT) or tr("report.unknown"),
        "platform": clean(host.get("platform"), SHORT) or tr("report.unknown"),
        # the profile's file name only: its folder says nothing the customer needs
        "profile": clean(Path(str(run.profile_path)).name, SHORT) if run.profile_path else "",
        "interrupted": run.interrupted,
        "vantage": " + ".join(vantage_words(v, tr) for v in run.vantage.split("+") if v),
        "self_check": run.self_check,
        "sources": _sources(run, tr),
        "verdict": verdict,
        "verdict_words": tr.verdict(verdict),
        "favicon": FAVICONS[verdict],
        "verdict_glyph": {"ready": "✓", "ready_with_warnings": "!", "not_ready": "✕"}
        .get(verdict, "?"),
        "verdict_explain": tr(f"verdict.explain.{verdict}"),
        "blocking": blocking,
        "counts": _counts((r.status.value for r in run.results), tr, keep_zero=True),
        "requirements": list(sections.values()),
        "actions": _sorted_actions(actions),
        "evidence_limit": f"{EVIDENCE_LIMIT:,}".replace(",", "\u202f"),
    }


def _worst_key(status: str) -> int:
    return STATUS_ORDER.index(status)


def _collect_action(actions: dict[tuple[str, str], tuple[ActionView, int, str]],
                    result: Result, view: ResultView, group: CheckView,
                    section: RequirementView, index: int, anchors: _Anchors) -> None:
    """Fold a warn/fail/error into the to-do list: one item per check and remedy."""
    status = view.badge.status
    if status not in _ACTION_RANK:
        return

    def link() -> str:
        if not view.anchor:
            view.anchor = anchors.make("r", str(index))
        return view.anchor

    text = view.remediation or view.summary
    key = (result.check_id, text)
    known = actions.get(key)
    if known is None:
        item = ActionView(badge=view.badge, blocking=section.blocking, text=text,
                          check_title=group.title, check_id=group.id, targets=[], more=0,
                          anchor=link())
        actions[key] = (item, index, section.key)
    else:
        item = known[0]
        if _ACTION_RANK[status] < _ACTION_RANK[item.badge.status]:
            item.badge, item.anchor = view.badge, link()
    if view.target in item.targets:
        return
    if len(item.targets) < ACTION_TARGETS:
        item.targets.append(view.target)
    else:
        item.more += 1


def _sorted_actions(actions: Mapping[tuple[str, str], tuple[ActionView, int, str]],
                    ) -> list[ActionView]:
    """Blocking problems first, then fail, error, warn; ties in report order."""
    order = {r.value: i for i, r in enumerate(Requirement)}
    ranked = sorted(actions.values(), key=lambda a: (
        not a[0].blocking, _ACTION_RANK[a[0].badge.status], order.get(a[2], 99), a[1]))
    return [item for item, _, _ in ranked]


@functools.lru_cache(maxsize=8)
def _environment(template_dir: str | None) -> Any:
    """The Jinja environment: the user's folder (if any) before the package's templates."""
    import jinja2

    package_dir = str(files("accessready.reports").joinpath("templates"))
    loaders: list[jinja2.BaseLoader] = []
    if template_dir:
        loaders.append(jinja2.FileSystemLoader(template_dir))
    loaders.append(jinja2.FileSystemLoader(package_dir))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(run: Run, lang: str | None = None,
                template_dir: str | Path | None = None) -> str:
    """The report as text; ``template_dir`` may override any template or ``report.css``."""
    env = _environment(str(template_dir) if template_dir else None)
    return env.get_template("base.html").render(**build_context(run, lang))


def render(run: Run, lang: str | None = None) -> bytes:
    """The HTML report's bytes (UTF-8)."""
    # textsafe replaced every lone surrogate, so strict encoding cannot fail on data
    return render_html(run, lang).encode("utf-8")

