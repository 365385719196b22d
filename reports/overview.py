"""The audit's outputs: one overview across customers, as HTML, JSON, Prometheus, Nagios
and a terminal table.

* **HTML**: the same look as the readiness report (its stylesheet, its i18n, autoescape,
  ``StrictUndefined``, the same Content-Security-Policy: no script, no remote load). A row
  per customer, worst first: verdict, trend, what changed since the last run, the worst
  findings, and a link to the customer's section below (and to the full report when the
  audit wrote one).
* **JSON** (``accessready.audit/1``, schema in ``schemas/audit.schema.json``).
* **Prometheus**: every customer's per-run series (the ``--prometheus`` families of a
  single run, merged family by family as the exposition format requires) plus audit
  series. One file for node_exporter's textfile collector.
* **Nagios**: one status line for the worst customer, perfdata per verdict, and a long
  output line per customer that is not ready.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accessready.agent.core.audit_types import VERDICT_SEVERITY, AuditEntry, AuditReport
from accessready.agent.core.changes import Change
from accessready.agent.core.findings import Finding, urgency
from accessready.agent.core.findings import findings as all_findings
from accessready.agent.core.model import (
    ExitCode,
    Requirement,
    Result,
    Run,
    Status,
    Vantage,
    Verdict,
    insecure_notes,
)
from accessready.agent.core.textsafe import clean
from accessready.reports.counts import status_counts, waived_count
from accessready.reports.html import (
    CSP,
    FAVICONS,
    LINE,
    SHORT,
    Badge,
    _Anchors,
    _badge,
    _environment,
    _when,
)
from accessready.reports.i18n import Translator, check_title
from accessready.reports.nagios import STATE
from accessready.reports.terminal import undecided_lines

SCHEMA_ID = "accessready.audit/1"
WORST_FINDINGS = 3
TOP_CHANGES = 4
GLYPHS = {"ready": "✓", "ready_with_warnings": "!", "not_ready": "✕", "unknown": "?"}
_PROBLEM_RANK = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2}
# worst first, in the order the exit code ranks them (not ready > unknown > warnings)
_VERDICT_ORDER = {v: -n for v, n in VERDICT_SEVERITY.items()}


# -- shared helpers --------------------------------------------------------------------

def ranked_findings(run: Run) -> list[Finding]:
    """The run's warn/error/fail findings that count (a waived one does not): most severe
    first, then fail, error, warn, then the earliest due date; ties in report order.

    Status comes before the due date here (unlike a report's to-do list, which is ordered
    for acting): in a column of the worst few, a warning due soon must not push a failure
    of the same severity out of sight."""
    order = {r: i for i, r in enumerate(Requirement)}
    return sorted(
        (f for f in all_findings(run) if not f.waived),
        key=lambda f: (urgency(f.severity, f.due, 0)[0], _PROBLEM_RANK[f.result.status],
                       urgency(f.severity, f.due, 0)[1],
                       order.get(f.result.requirement, 99), f.index))


def findings(run: Run) -> list[Result]:
    """The results of :func:`ranked_findings`, in its order."""
    return [f.result for f in ranked_findings(run)]


def why_unknown(entry: AuditEntry, tr: Translator) -> str:
    """Why a customer has no verdict, in one line: why no run was possible, else the
    requirements its run could not decide and what decides them (as the terminal says
    it); "" for a customer with a verdict."""
    if entry.error:
        return entry.error
    if entry.run is None or entry.verdict is not Verdict.UNKNOWN:
        return ""
    if entry.run.interrupted:
        return tr("overview.interrupted_run")
    return "; ".join(undecided_lines(entry.run, tr))


def insecure_count(entry: AuditEntry) -> int:
    """How many security settings the customer's profile turned off in this run."""
    return len(insecure_notes(entry.run.results)) if entry.run is not None else 0


def sorted_entries(report: AuditReport) -> list[AuditEntry]:
    """Worst customers first (not ready, unknown, warnings, ready), then by name."""
    return sorted(report.entries, key=lambda e: (_VERDICT_ORDER[e.verdict],
                                                 e.customer.casefold(), e.profile))


def worst_customers(report: AuditReport) -> tuple[Verdict, list[AuditEntry]]:
    """The worst verdict of the audit (unknown when interrupted or empty) and the customers
    that have it — what the Nagios line's "worst:", the JSON's ``worst`` and the HTML
    title all say."""
    ranked = sorted_entries(report)
    verdict = Verdict.UNKNOWN if report.interrupted or not ranked else ranked[0].verdict
    return verdict, [e for e in ranked if e.verdict is verdict]


def change_words(change: Change, tr: Translator,
                 catalogue: dict[str, Any] | None = None) -> str:
    """One change as a line: "New failure: AnyConnect gateway · vpn.x (pass → fail)"."""
    if change.kind == "verdict":
        return (f"{tr('change.verdict')}: {tr.verdict(change.before or 'unknown')} → "
                f"{tr.verdict(change.after or 'unknown')}")
    key = f"change.{change.kind}"
    if change.kind.startswith("expiry_"):
        key += f".{change.subject or 'other'}"
    try:
        kind = tr(key)
    except KeyError:  # a kind from a newer accessready in an old history: show it raw
        kind = change.kind
    title = check_title(catalogue or {}, change.check_id, tr.lang)
    before = tr.status(change.before) if change.before else "—"
    after = tr.status(change.after) if change.after else "—"
    target = f" · {change.target}" if change.target and change.target != "-" else ""
    return clean(f"{kind}: {title}{target} ({before} → {after})", LINE)


def _changes_summary(entry: AuditEntry, tr: Translator) -> str:
    if entry.first_run:
        return tr("overview.first_run")
    worse = sum(1 for c in entry.changes if c.worse and c.kind != "verdict")
    better = sum(1 for c in entry.changes if not c.worse and c.kind != "verdict")
    parts = []
    if worse:
        parts.append(tr(f"overview.worse.{'one' if worse == 1 else 'other'}", n=worse))
    if better:
        parts.append(tr(f"overview.better.{'one' if better == 1 else 'other'}", n=better))
    return ", ".join(parts) or tr("overview.no_changes")


def _customer_labels(report: AuditReport) -> dict[int, str]:
    """The customer label per entry, unique: the name as a Prometheus label shows it
    (cleaned and bounded), or "name (file.toml)" where two profiles' names show alike,
    then "#2", "#3" where even that collides — each customer's series stay its own."""
    from accessready.reports.prometheus import LABEL_LIMIT, unique_labels

    shown = [clean(e.customer, LABEL_LIMIT) for e in report.entries]
    names = Counter(shown)
    unique = unique_labels()
    return {i: unique(name if names[name] == 1 else
                      clean(f"{name} ({Path(e.profile).name})", LABEL_LIMIT))
            for i, (name, e) in enumerate(zip(shown, report.entries, strict=True))}


# -- HTML ------------------------------------------------------------------------------

@dataclass(slots=True)
class FindingView:
    """One warn/error/fail result as the overview lists it."""

    badge: Badge
    check: str
    target: str
    summary: str


@dataclass(slots=True)
class RowView:
    """One customer."""

    anchor: str
    customer: str
    profile: str
    verdict: str
    verdict_words: str
    glyph: str
    trend: list[tuple[str, str, str, str]]  # (verdict, glyph, when, words)
    changes_summary: str
    changes: list[tuple[bool, str]]  # (for the worse, text)
    more_changes: int
    worst: list[FindingView]
    findings: list[FindingView] = field(default_factory=list)
    error: str = ""
    report_href: str = ""
    started: str = ""
    started_iso: str = ""
    why_unknown: str = ""  # a run without a verdict: what could not be decided, what decides
    insecure: str = ""  # "INSECURE: n security settings turned off", or ""
    waived: str = ""  # "n waived", or ""


def _finding(result: Result, run: Run, tr: Translator) -> FindingView:
    return FindingView(
        badge=_badge(result.status, tr),
        check=clean(check_title(run.catalogue, result.check_id, tr.lang), SHORT),
        target=clean(result.target if result.target != "-" else "", SHORT),
        summary=clean(tr.text(result.summary), LINE))


def _safe_href(href: str | None) -> str:
    """Only relative links to the audit's own files (no scheme, no escaping the page)."""
    if not href or ":" in href or href.startswith(("/", "\\")):
        return ""
    return href


def _row(entry: AuditEntry, tr: Translator, anchors: _Anchors) -> RowView:
    verdict = entry.verdict.value
    insecure, waived = insecure_count(entry), waived_count(entry.run)
    catalogue = entry.run.catalogue if entry.run is not None else {}
    all_findings = ([_finding(r, entry.run, tr) for r in findings(entry.run)]
                    if entry.run is not None else [])
    # the table leaves out the verdict change: the badge and the trend already show it
    changes = [(c.worse, change_words(c, tr, catalogue)) for c in entry.changes
               if c.kind != "verdict"]
    started_iso, started = (_when(entry.run.started_at, tr.lang) if entry.run is not None
                            else ("", ""))
    return RowView(
        anchor=anchors.make("c", f"{entry.customer}-{Path(entry.profile).stem}"),
        customer=clean(entry.customer, SHORT) or tr("report.unknown"),
        profile=clean(Path(entry.profile).name, SHORT),
        verdict=verdict, verdict_words=tr.verdict(verdict), glyph=GLYPHS[verdict],
        trend=[(v.value, GLYPHS[v.value], _when(when, tr.lang)[1], tr.verdict(v))
               for when, v in entry.trend],
        changes_summary=_changes_summary(entry, tr),
        changes=changes[:TOP_CHANGES], more_changes=max(0, len(changes) - TOP_CHANGES),
        worst=all_findings[:WORST_FINDINGS], findings=all_findings,
        error=clean(entry.error, LINE) if entry.error else "",
        report_href=_safe_href(entry.report_href),
        started=started, started_iso=started_iso,
        why_unknown=clean(why_unknown(entry, tr), LINE) if not entry.error else "",
        insecure=tr("nagios.insecure", n=insecure) if insecure else "",
        waived=tr.count("waived", waived) if waived else "")


def build_context(report: AuditReport, lang: str | None = None) -> dict[str, Any]:
    """Everything the overview template prints, cleaned; the template only lays it out."""
    tr = Translator(lang or report.lang)
    anchors = _Anchors()
    rows = [_row(entry, tr, anchors) for entry in sorted_entries(report)]
    # the detail list of changes is complete; the table shows the top few
    details = []
    for entry, row in zip(sorted_entries(report), rows, strict=True):
        catalogue = entry.run.catalogue if entry.run is not None else {}
        details.append((row, [(c.worse, change_words(c, tr, catalogue))
                              for c in entry.changes]))
    worst, _ = worst_customers(report)
    counts = report.counts()
    started_iso, started = _when(report.started_at, tr.lang)
    host = report.host or {}
    trend_n = max((len(e.trend) for e in report.entries), default=0)
    return {
        "lang": tr.lang, "tr": tr, "csp": CSP, "schema": SCHEMA_ID,
        "version": clean(report.tool_version, SHORT) or "?",
        "page_title": f"{tr('overview.title')} — {tr.verdict(worst)}",
        "favicon": FAVICONS[worst.value],
        "started": started, "started_iso": started_iso,
        "duration": tr.seconds(max(0.0, report.duration_s)),
        "run_from": clean(host.get("hostname"), SHORT) or tr("report.unknown"),
        "history": clean(Path(report.history).name, SHORT) if report.history else "",
        "verdict_counts": [(v.value, tr.verdict(v), counts[v.value])
                           for v in sorted(Verdict, key=lambda v: _VERDICT_ORDER[v])],
        "total": len(report.entries),
        "interrupted": report.interrupted,
        "history_error": (tr("overview.history_failed", error=clean(report.history_error, LINE))
                          if report.history_error else ""),
        "pruned": (tr("overview.pruned_one" if report.pruned.get("runs") == 1
                      else "overview.pruned", runs=report.pruned.get("runs", 0),
                      before=_when(str(report.pruned.get("before", "")), tr.lang)[1])
                   if report.pruned else ""),
        "rows": rows,
        "details": details,
        # what an audit leaves out, when the runs looked from the audit host
        "audit_vantage": any(e.run is not None and e.run.vantage_kind is Vantage.AUDIT
                             for e in report.entries),
        "trend_label": tr("overview.trend_label_one") if trend_n == 1
        else tr("overview.trend_label", n=trend_n),
    }


def render_html(report: AuditReport, lang: str | None = None,
                template_dir: str | Path | None = None) -> str:
    """The overview page as text (``template_dir`` may override any template)."""
    env = _environment(str(template_dir) if template_dir else None)
    return env.get_template("overview.html").render(**build_context(report, lang))


# -- JSON ------------------------------------------------------------------------------

def _entry_json(entry: AuditEntry, label: str) -> dict[str, Any]:
    run = entry.run
    counts = status_counts(run)
    return {
        "customer": entry.customer,
        "label": label,
        "profile": entry.profile,
        "verdict": entry.verdict.value,
        "exit_code": int(entry.exit_code),
        "error": entry.error,
        "run_id": entry.run_id,
        "vantage": run.vantage if run is not None else None,
        "started_at": run.started_at if run is not None else None,
        "finished_at": run.finished_at if run is not None else None,
        "duration_s": round(run.duration_s, 3) if run is not None else None,
        "interrupted": run.interrupted if run is not None else False,
        "counts": counts,
        "insecure": insecure_notes(run.results) if run is not None else [],
        "undecided": [{"requirement": o.requirement.value, "reason": o.reason.to_json(),
                       "decides": o.decides.to_json() if o.decides else None}
                      for o in (run.requirements if run is not None else ()) if o.undecided]
        if entry.verdict is Verdict.UNKNOWN else [],
        "blocking": [o.requirement.value for o in run.requirements if o.blocking]
        if run is not None else [],
        "first_run": entry.first_run,
        "previous_verdict": entry.previous_verdict.value if entry.previous_verdict else None,
        "changes": [c.to_json() for c in entry.changes],
        "trend": [{"finished_at": when, "verdict": v.value} for when, v in entry.trend],
        "findings": [{"check": f.result.check_id, "requirement": f.result.requirement.value,
                      "target": f.result.target, "status": f.result.status.value,
                      "summary": f.result.summary.to_json(), "owner": f.owner,
                      "severity": f.severity, **({"due": f.due} if f.due else {})}
                     for f in (ranked_findings(run) if run is not None else [])],
        "report": entry.report_href,
    }


def to_dict(report: AuditReport) -> dict[str, Any]:
    """The audit as the JSON document's data."""
    labels = _customer_labels(report)
    worst, named = worst_customers(report)
    position = {id(e): i for i, e in enumerate(report.entries)}
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "accessready", "version": report.tool_version},
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "duration_s": round(report.duration_s, 3),
        "host": report.host or {},
        "interrupted": report.interrupted,
        "history": report.history,
        "audit_id": report.audit_id,
        "exit_code": int(report.exit_code),
        "verdicts": report.counts(),
        "worst": {"verdict": worst.value,
                  "customers": [labels[position[id(e)]] for e in named]},
        "pruned": report.pruned,
        "history_error": report.history_error,
        "customers": [_entry_json(e, labels[i]) for i, e in enumerate(report.entries)],
    }


def render_json(report: AuditReport, lang: str | None = None) -> bytes:
    """The ``accessready.audit/1`` document (``lang`` unused: texts carry both)."""
    return (json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# -- Prometheus -----------------------------------------------------------------------

def _families(text: str, into: dict[str, list[str]], meta: dict[str, list[str]]) -> None:
    """Sort one run's exposition lines into families (HELP/TYPE once, samples together)."""
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            name = line.split(" ", 3)[2]
            meta.setdefault(name, [])
            if len(meta[name]) < 2:
                meta[name].append(line)
            into.setdefault(name, [])
        elif line and not line.startswith("#"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            into.setdefault(name, []).append(line)


def render_prometheus_text(report: AuditReport) -> str:
    """The audit as one textfile-collector file."""
    from accessready.reports.prometheus import VERDICT_HELP, _Family, render_text

    labels = _customer_labels(report)
    samples: dict[str, list[str]] = {}
    meta: dict[str, list[str]] = {}

    audit_fams = [
        _Family("accessready_audit_customers", "Customers per verdict in the last audit."),
        _Family("accessready_audit_exit_code",
                "The worst customer's exit code: 0=ready 1=ready_with_warnings "
                "2=not_ready 3=unknown."),
        _Family("accessready_audit_duration_seconds", "Wall-clock time of the last audit."),
        _Family("accessready_audit_timestamp_seconds",
                "Unix time the last audit finished (for staleness alerts)."),
        _Family("accessready_audit_interrupted", "1 when the last audit was interrupted."),
    ]
    counts = report.counts()
    for v in Verdict:
        audit_fams[0].add([("verdict", v.value)], counts[v.value])
    audit_fams[1].add([], int(report.exit_code))
    audit_fams[2].add([], max(0.0, report.duration_s))
    from accessready.reports.prometheus import _epoch

    finished = _epoch(report.finished_at)
    if finished is not None:
        audit_fams[3].add([], finished)
    audit_fams[4].add([], int(report.interrupted))
    changes = _Family("accessready_changes",
                      "Changes since the customer's previous run, by kind.")
    errors = _Family("accessready_profile_error",
                     "1 when the customer's profile could not be run (verdict unknown).")
    unknown = _Family("accessready_verdict", VERDICT_HELP)
    for i, entry in enumerate(report.entries):
        customer = ("customer", labels[i])
        if entry.run is not None:
            run = dataclasses.replace(entry.run, customer=labels[i])
            _families(render_text(run), samples, meta)
        else:
            unknown.add([customer], int(ExitCode.UNKNOWN))
        errors.add([customer, ("profile", Path(entry.profile).name)], int(entry.error is not None
                                                                          and entry.run is None))
        kinds = Counter(c.kind for c in entry.changes)
        for kind, n in sorted(kinds.items()):
            changes.add([customer, ("kind", kind)], n)
    # customers without a run still get their accessready_verdict sample
    _families("\n".join(unknown.lines()), samples, meta)
    lines: list[str] = []
    for family in audit_fams:  # label-less samples: "name 2", not "name{} 2"
        lines.extend(line.replace("{} ", " ", 1) for line in family.lines())
    for name, rows in samples.items():
        if rows:
            lines.extend(meta.get(name, []))
            lines.extend(rows)
    for family in (errors, changes):
        lines.extend(family.lines())
    return "\n".join(lines) + "\n"


def render_prometheus(report: AuditReport, lang: str | None = None) -> bytes:
    """The ``.prom`` file's bytes."""
    return render_prometheus_text(report).encode("utf-8")


# -- Nagios ----------------------------------------------------------------------------

def _nagios_text(value: str) -> str:
    return clean(value, 300).replace("|", "/")


def render_nagios_text(report: AuditReport, lang: str | None = None) -> str:
    """The status line (worst customer's state), perfdata, then one line per customer
    that is not ready, unknown, has warnings or turned a security setting off (Nagios'
    long output)."""
    tr = Translator(lang or report.lang)
    counts = report.counts()
    state = STATE[report.exit_code]
    order = sorted(Verdict, key=lambda v: _VERDICT_ORDER[v])
    key = "overview.nagios_one" if len(report.entries) == 1 else "overview.nagios"
    text = tr(key, total=len(report.entries), counts=", ".join(
        f"{tr.verdict(v)} {counts[v.value]}" for v in order if counts[v.value]))
    # a ready customer whose profile turned a security setting off gets its line too:
    # that notice is loud in every report, so it is not dropped here
    bad = [e for e in sorted_entries(report)
           if e.verdict is not Verdict.READY or insecure_count(e)]
    worst, named = worst_customers(report)
    if named and worst in (Verdict.NOT_READY, Verdict.UNKNOWN):
        names = [e.customer for e in named][:5]
        text += "; " + tr("overview.nagios_worst", names=", ".join(names))
    if report.interrupted:
        text += "; " + tr("overview.interrupted")
    perf = " ".join(f"{v.value}={counts[v.value]};;;;" for v in Verdict)
    perf += f" duration={max(0.0, report.duration_s):.3f}s;;;;"
    lines = [f"ACCESSREADY {state} - {_nagios_text(text)} | {perf}"]
    for entry in bad:
        why = why_unknown(entry, tr) or "; ".join(
            change_words(c, tr, entry.run.catalogue if entry.run else {})
            for c in entry.changes[:2])
        line = f"{STATE[entry.exit_code]}: {entry.customer} — {tr.verdict(entry.verdict)}"
        if insecure_count(entry):
            line += "; " + tr("nagios.insecure", n=insecure_count(entry))
        lines.append(_nagios_text(f"{line}{': ' + why if why else ''}"))
    return "\n".join(lines) + "\n"


def render_nagios(report: AuditReport, lang: str | None = None) -> bytes:
    """The Nagios output as bytes."""
    return render_nagios_text(report, lang).encode("utf-8")


# -- terminal --------------------------------------------------------------------------

def render_table(report: AuditReport, lang: str | None = None, width: int = 100) -> str:
    """One line per customer, worst first, then the worst state."""
    tr = Translator(lang or report.lang)
    rows = sorted_entries(report)
    name_w = min(max([len(e.customer) for e in rows] + [8]), 32)
    out = []
    for entry in rows:
        words = tr.verdict(entry.verdict)
        name = entry.customer if len(entry.customer) <= name_w else \
            entry.customer[: name_w - 1] + "…"
        if entry.error:
            note = tr("overview.could_not_run", error=entry.error)
        elif why := why_unknown(entry, tr):
            note = why
        else:
            note = _changes_summary(entry, tr)
            if entry.run is not None and (top := findings(entry.run)):
                note += f"; {top[0].check_id}: {tr.text(top[0].summary)}"
        line = f"{words:<20} {name:<{name_w}} {' '.join(note.split())}"
        out.append(clean(line[: width - 1] + "…" if len(line) > width else line, 1000))
    out.append("")
    out.append(render_nagios_text(report, lang).splitlines()[0])
    return "\n".join(out) + "\n"


RENDERERS = {"html": lambda report, lang: render_html(report, lang).encode("utf-8"),
             "json": render_json, "prometheus": render_prometheus, "nagios": render_nagios}
"""Format name → ``render(report, lang) -> bytes`` for the audit's outputs."""


# -- accessready history ------------------------------------------------------------

def _short_time(iso: str) -> str:
    text = _when(iso, "en")[1]
    return text[:16] + text[19:] if len(text) >= 19 else text  # drop the seconds


def render_history(customer: str | None, rows: Any, lang: str | None = None) -> str:
    """``accessready history``: a customer's runs (``RunRow`` list, newest first) with what
    changed each time, or, for ``customer=None``, every customer's latest verdict."""
    tr = Translator(lang)
    if not rows:
        return tr("history.empty") + "\n"
    out = []
    if customer is None:
        name_w = min(max(len(r["customer"]) for r in rows), 40)
        out.append(f"{tr('report.customer'):<{name_w}}  {tr('history.runs'):>9}  "
                   f"{tr('history.last_run'):<21}  {tr('verdict.heading')}")
        for r in rows:
            out.append(clean(f"{r['customer'][:name_w]:<{name_w}}  {r['runs']:>9}  "
                             f"{_short_time(r['last_finished_at']):<21}  "
                             f"{tr.verdict(r['last_verdict'])}", 1000))
        return "\n".join(out) + "\n"
    out.append(clean(tr("history.heading_one", customer=customer) if len(rows) == 1
                     else tr("history.heading", customer=customer, n=len(rows)), LINE))
    for row in rows:
        if row.error:
            what = tr("overview.could_not_run", error=row.error)
        else:
            what = ", ".join(tr.count(s, row.counts[s]) for s in ("fail", "error", "warn",
                                                                  "pass")
                             if row.counts.get(s))
        out.append(clean(f"{_short_time(row.finished_at):<21}  "
                         f"{tr.verdict(row.verdict):<20}  {what}  #{row.id}", 1000))
        for change in row.changes[:6]:
            out.append("    " + change_words(change, tr))
        if len(row.changes) > 6:
            out.append("    " + tr("overview.more", n=len(row.changes) - 6))
    return "\n".join(out) + "\n"


def render_prune_plan(plan: Any, lang: str | None = None) -> str:
    """``history --prune``: what would be deleted (a ``PrunePlan``), per customer, before
    anything is."""
    tr = Translator(lang)
    before = _short_time(plan.before)
    if not plan.runs:
        return clean(tr("prune.nothing", before=before), LINE) + "\n"
    out = [clean(tr("prune.would", runs=plan.runs, results=plan.results, before=before,
                    remaining=plan.remaining), LINE)]
    for row in plan.per_customer:
        out.append(clean(f"  {row['customer'][:60]}: " + tr(
            "prune.customer", runs=row["runs"], oldest=_short_time(row["oldest"]),
            newest=_short_time(row["newest"])), 1000))
    return "\n".join(out) + "\n"
