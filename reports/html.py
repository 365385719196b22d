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
* An audit renders hundreds of reports in one process, so what does not change between
  them is made once: templates, translations, badges, check titles, and the HTML of a
  check (or a whole section) that prints exactly the same as in an earlier report, kept
  by a ``{% cache %}`` tag under a key holding every value it prints
  (:func:`fragment_keys`). The template still escapes each of those values.

Jinja2 is imported inside :func:`render_html` so that ``accessready --help`` stays fast.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from accessready.agent.core.findings import Finding, findings, overruled, run_day, urgency
from accessready.agent.core.model import (
    OWNERS,
    SEVERITIES,
    Requirement,
    Result,
    Run,
    Status,
    Text,
    Vantage,
    Verdict,
    insecure_notes,
)
from accessready.agent.core.textsafe import EVIDENCE_LIMIT, UniqueNames, clean, evidence_json
from accessready.reports.counts import WAIVED, count_keys
from accessready.reports.html_fragments import fragment_cache_tag, fragment_keys
from accessready.reports.html_views import (
    ActionView,
    Badge,
    CheckView,
    OwnerSection,
    RequirementView,
    ResultView,
)
from accessready.reports.i18n import (
    Translator,
    check_description,
    check_title,
    normalise_lang,
)
from accessready.reports.json_report import SCHEMA_ID

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
COUNT_ORDER = (*STATUS_ORDER, WAIVED)  # a waived finding counts apart (reports.counts)

# The tab icon: a dot in the verdict's colour, inline (CSP allows data: images only).
# Without it a browser asks the server the report came from for /favicon.ico.
_DOT = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
        "%3Ccircle cx='8' cy='8' r='7' fill='%23{}'/%3E%3C/svg%3E")
FAVICONS = {"ready": _DOT.format("116329"), "ready_with_warnings": _DOT.format("f2b01e"),
            "not_ready": _DOT.format("b3131f"), "unknown": _DOT.format("5e2fa3")}
_ACTION_RANK = {"fail": 0, "error": 1, "warn": 2}
_SLUG = re.compile(r"[^a-z0-9]+")


class _Anchors:
    """Unique, safe fragment ids, whatever the check ids and targets contain."""

    def __init__(self) -> None:
        self._unique = UniqueNames()

    def make(self, prefix: str, raw: str) -> str:
        """``prefix-slug``, or ``prefix-slug-N`` with the first free N (linear even when
        thousands of ids slug alike)."""
        return self._unique(_slug(prefix, raw))


@functools.lru_cache(maxsize=4096)
def _slug(prefix: str, raw: str) -> str:
    """``prefix-slug`` (every report repeats the same check ids)."""
    return f"{prefix}-{_SLUG.sub('-', raw.lower()).strip('-')[:48] or 'x'}"


def _badge(status: Status | str, tr: Translator) -> Badge:
    return _badges(tr.lang)[Status(status).value]


@functools.lru_cache(maxsize=8)
def _translator(lang: str) -> Translator:
    """One :class:`Translator` per language for the process: it only reads ``ui.toml``."""
    return Translator(lang)


@functools.lru_cache(maxsize=8)
def _badges(lang: str) -> dict[str, Badge]:
    """Every status's badge in ``lang``, made once (a report shows thousands)."""
    tr = _translator(lang)
    return {s.value: Badge(s.value, tr.status(s)) for s in Status}


@functools.lru_cache(maxsize=4096)
def _seconds(lang: str, value: float) -> str:
    """A result's duration as the page prints it; runs repeat the same few values."""
    return _translator(lang).seconds(max(0.0, value))


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
    """Pills in :data:`COUNT_ORDER`; ``waived`` only when there is one, whatever
    ``keep_zero`` says (most runs waive nothing)."""
    counter = Counter(statuses)
    return [(s, tr.count(s, counter.get(s, 0))) for s in COUNT_ORDER
            if counter.get(s) or (keep_zero and s != WAIVED)]


def _result_view(result: Result, tr: Translator, blocks: bool = False) -> ResultView:
    evidence, truncated = evidence_json(result.details)
    remediation = ""
    if result.status is not Status.PASS and result.remediation is not None:
        remediation = clean(tr.text(result.remediation), PARAGRAPH, multiline=True)
    return ResultView(
        anchor="",  # set only when the to-do list links here: 5,000 ids cost bytes
        badge=_badges(tr.lang)[result.status],
        target=clean(result.target, SHORT),
        summary=clean(tr.text(result.summary), LINE),
        remediation=remediation,
        evidence=evidence,
        truncated=truncated,
        duration=_seconds(tr.lang, result.duration_s),
        vantage=(tr("checks.seen_from", vantage=", ".join(
            vantage_words(v.strip(), tr) for v in result.vantage.split(",")))
            if result.vantage else ""),
        waiver=waiver_words(result, tr, blocks) if result.waiver else "",
    )


_CHECK_WORDS: dict[tuple[str, str], tuple[Any, tuple[str, str, str]]] = {}
_CHECK_WORDS_MOST = 4096


def _check_words(catalogue: Mapping[str, Any], check_id: str, lang: str
                 ) -> tuple[str, str, str]:
    """A check's id, title and description as the page prints them. Kept per language and
    check, and reused while the run's catalogue entry for it is equal to the one they were
    made from (each run has its own catalogue; an audit's all say the same)."""
    entry = catalogue.get(check_id)
    kept = _CHECK_WORDS.get((lang, check_id))
    if kept is not None and type(entry) is dict and kept[0] == entry:
        return kept[1]
    words = (clean(check_id, SHORT), clean(check_title(catalogue, check_id, lang), SHORT),
             clean(check_description(catalogue, check_id, lang), LINE))
    if type(entry) is dict and len(_CHECK_WORDS) < _CHECK_WORDS_MOST:
        # a copy: the words must not follow a later change to the run's own dict
        _CHECK_WORDS[(lang, check_id)] = (copy.deepcopy(entry), words)
    return words


def waiver_words(result: Result, tr: Translator, blocks: bool = False) -> str:
    """What a result's waiver says, for people; "" without one. ``blocks``: the failure
    still blocks support (:func:`~accessready.agent.core.findings.overruled`)."""
    if not result.waiver or result.status not in (Status.WARN, Status.FAIL):
        return ""
    reason = clean(str(result.waiver.get("reason", "")), LINE)
    until = clean(str(result.waiver.get("until", "")), SHORT)
    key = "actions.waiver_expired" if result.waiver.get("expired") else \
        "actions.waiver_blocks" if blocks else "actions.waived_until"
    return tr(key, until=until, reason=reason)


def vantage_words(label: str, tr: Translator) -> str:
    """A vantage label for people: the known ones translated, a user's own label as is."""
    return tr.vantage(clean(label, SHORT))


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
    tr = _translator(normalise_lang(lang or run.lang))
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
    actions: dict[tuple[str, str, str, bool], tuple[ActionView, int, str]] = {}
    found = {f.index: f for f in findings(run)}
    blocked = overruled(found.values())
    keys = count_keys(run, found.values())
    day = run_day(run)
    for index, result in enumerate(run.results):
        req = result.requirement.value
        view = _result_view(result, tr, index in blocked)
        statuses[req].append(keys[index])
        group = checks.get((req, result.check_id))
        if group is None:
            cid, title, description = _check_words(catalogue, result.check_id, tr.lang)
            group = CheckView(anchor=anchors.make("check", cid), id=cid, title=title,
                              description=description, badge=view.badge)
            checks[(req, result.check_id)] = group
            sections[req].checks.append(group)
        group.results.append(view)
        if index in found:
            _collect_action(actions, found[index], view, group, sections[req], anchors, tr,
                            day)

    for group in checks.values():
        group.badge = min((r.badge for r in group.results), key=_worst_badge)
    for key, section in sections.items():
        section.counts = _counts(statuses[key], tr, keep_zero=False)
    fragment_keys(sections.values(), tr.lang)

    ranked = _sorted_actions(actions)
    started_iso, started = _when(run.started_at, tr.lang)
    host = run.host or {}
    customer = clean(run.customer, SHORT) or tr("report.unknown")
    verdict = Verdict(run.verdict).value
    blocking = [(s.title, s.reason) for s in sections.values() if s.blocking]
    undecided = [(sections[o.requirement.value].title, clean(tr.text(o.reason), LINE),
                  clean(tr.text(o.decides), LINE)) for o in run.requirements if o.undecided]
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
        "insecure": [{"check": clean(n["check"], SHORT), "target": clean(n["target"], SHORT),
                      "text": clean(Text.from_json(n["text"]).get(tr.lang), 1000)}
                     for n in insecure_notes(run.results)],
        "vantage": " + ".join(vantage_words(v, tr) for v in run.vantage.split("+") if v),
        "self_check": run.self_check,
        "sources": _sources(run, tr),
        "verdict": verdict,
        "verdict_words": tr.verdict(verdict),
        "favicon": FAVICONS[verdict],
        "verdict_glyph": {"ready": "✓", "ready_with_warnings": "!", "not_ready": "✕"}
        .get(verdict, "?"),
        "verdict_explain": _explain(run, tr, [title for title, _, _ in undecided]),
        "blocking": blocking,
        # why an unknown verdict is unknown: the rule that could not decide, and what would
        "undecided": undecided if run.verdict is Verdict.UNKNOWN else [],
        "audit": run.vantage_kind is Vantage.AUDIT,
        "counts": _counts(keys, tr, keep_zero=True),
        "requirements": list(sections.values()),
        "actions": [a for a in ranked if not a.waived],
        "owner_sections": _owner_sections(ranked, tr, anchors),
        "waived": [a for a in ranked if a.waived],
        "waived_note": _waived_note(found.values(), tr),
        "evidence_limit": f"{EVIDENCE_LIMIT:,}".replace(",", "\u202f"),
    }


def _explain(run: Run, tr: Translator, undecided: list[str]) -> str:
    """The sentence under the verdict. For unknown it says why: an interrupted run or one
    where nothing ran, else the requirements that could not be decided."""
    if run.verdict is Verdict.UNKNOWN and undecided and not run.interrupted:
        return tr("verdict.explain.undecided", names=", ".join(undecided))
    return tr(f"verdict.explain.{run.verdict.value}")


_RANK = {status: rank for rank, status in enumerate(STATUS_ORDER)}


def _worst_badge(badge: Badge) -> int:
    return _RANK[badge.status]


def _collect_action(actions: dict[tuple[str, str, str, bool], tuple[ActionView, int, str]],
                    finding: Finding, view: ResultView, group: CheckView,
                    section: RequirementView, anchors: _Anchors, tr: Translator,
                    day: dt.date) -> None:
    """Fold a finding into its owner's to-do list: one item per check and remedy."""
    status = view.badge.status
    index = finding.index

    def link() -> str:
        if not view.anchor:
            view.anchor = anchors.make("r", str(index))
        return view.anchor

    text = view.remediation or view.summary
    key = (finding.owner, finding.result.check_id, text, finding.waived)
    known = actions.get(key)
    if known is None:
        item = ActionView(badge=view.badge, blocking=section.blocking, text=text,
                          check_title=group.title, check_id=group.id, targets=[], more=0,
                          anchor=link(), owner=finding.owner, severity=finding.severity,
                          waiver=view.waiver, waived=finding.waived)
        actions[key] = (item, index, section.key)
    else:
        item = known[0]
        if _ACTION_RANK[status] < _ACTION_RANK[item.badge.status]:
            item.badge, item.anchor = view.badge, link()
        if SEVERITIES.index(finding.severity) < SEVERITIES.index(item.severity):
            item.severity = finding.severity
        item.waiver = item.waiver or view.waiver
    if finding.due and (not item.due or finding.due < item.due):
        item.due = clean(finding.due, SHORT)
    item.severity_label = tr(f"severity.{item.severity}")
    if item.due:
        overdue = item.due < day.isoformat()
        item.due_words = tr("actions.overdue" if overdue else "actions.due", date=item.due)
    if view.target in item.targets:
        return
    if len(item.targets) < ACTION_TARGETS:
        item.targets.append(view.target)
    else:
        item.more += 1


def _sorted_actions(actions: Mapping[tuple[str, str, str, bool], tuple[ActionView, int, str]],
                    ) -> list[ActionView]:
    """Most severe first, then the earliest due date, then fail, error, warn; ties in
    report order."""
    order = {r.value: i for i, r in enumerate(Requirement)}
    ranked = sorted(actions.values(), key=lambda a: (
        *urgency(a[0].severity, a[0].due or None, 0)[:2], _ACTION_RANK[a[0].badge.status],
        order.get(a[2], 99), a[1]))
    return [item for item, _, _ in ranked]


def _waived_note(found: Iterable[Finding], tr: Translator) -> str:
    """Under the verdict: how many findings a waiver keeps out of it, if any."""
    n = sum(1 for f in found if f.waived)
    return tr(f"verdict.waived.{'one' if n == 1 else 'other'}", n=n) if n else ""


def _owner_sections(ranked: list[ActionView], tr: Translator,
                    anchors: _Anchors) -> list[OwnerSection]:
    """The customer's section always (it is what the report is for), then the supplier's
    and the engineer's when they have something to do; waived findings are listed apart."""
    sections = []
    anything = any(not a.waived for a in ranked)
    for owner in OWNERS:
        mine = [a for a in ranked if a.owner == owner and not a.waived]
        if owner == "customer" or mine:
            sections.append(OwnerSection(
                owner=owner, anchor=anchors.make("do", owner),
                heading=tr(f"actions.heading_{owner}"),
                empty=tr("actions.none_customer") if anything else tr("actions.none"),
                actions=mine))
    return sections


@functools.lru_cache(maxsize=8)
def _environment(template_dir: str | None) -> Any:
    """The Jinja environment: the user's folder (if any) before the package's templates.

    The package's templates are compiled once per process and not checked for changes on
    disk again (a report includes ten partials, an audit renders hundreds of reports); a
    user's folder is, so that an edit there shows in the next report.
    """
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
        auto_reload=bool(template_dir),
        extensions=[fragment_cache_tag()],
    )


def prepare(template_dir: str | Path | None = None) -> None:
    """Compile the report's templates now rather than in the first report (about 0.05 s):
    a process about to render many reports can pay it while it has nothing else to do.
    (The audit overview's, a third of the work, are compiled when it is written.)"""
    env = _environment(str(template_dir) if template_dir else None)
    for name in env.list_templates():
        if not name.startswith("overview."):
            env.get_template(name)


def render_html(run: Run, lang: str | None = None,
                template_dir: str | Path | None = None) -> str:
    """The report as text; ``template_dir`` may override any template or ``report.css``."""
    env = _environment(str(template_dir) if template_dir else None)
    return env.get_template("base.html").render(**build_context(run, lang))


def render(run: Run, lang: str | None = None) -> bytes:
    """The HTML report's bytes (UTF-8)."""
    # textsafe replaced every lone surrogate, so strict encoding cannot fail on data
    return render_html(run, lang).encode("utf-8")

