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

This module holds the HTML and JSON outputs and :data:`RENDERERS`; Prometheus, Nagios and
the terminal table are in :mod:`.overview_text`, ``accessready history``'s text in
:mod:`.history_text`, and the ranking they all share in :mod:`.overview_rank`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accessready.agent.core.audit_types import AuditEntry, AuditReport
from accessready.agent.core.model import (
    Result,
    Run,
    Vantage,
    Verdict,
    insecure_notes,
)
from accessready.agent.core.textsafe import clean, pretty_json
from accessready.reports.counts import status_counts, waived_count
from accessready.reports.history_text import render_history, render_prune_plan
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
from accessready.reports.overview_rank import (
    GLYPHS,
    VERDICT_ORDER,
    change_words,
    changes_summary,
    customer_labels,
    findings,
    insecure_count,
    ranked_findings,
    sorted_entries,
    why_unknown,
    worst_customers,
)
from accessready.reports.overview_text import (
    render_nagios,
    render_nagios_text,
    render_prometheus,
    render_prometheus_text,
    render_table,
)

# The text outputs and the ranking live beside this module; their names stay importable
# from here, the one place the audit's outputs are looked up.
__all__ = ["RENDERERS", "SCHEMA_ID", "build_context", "change_words", "findings",
           "ranked_findings", "render_history", "render_html", "render_json",
           "render_nagios", "render_nagios_text", "render_prometheus",
           "render_prometheus_text", "render_prune_plan", "render_table", "to_dict",
           "why_unknown"]

SCHEMA_ID = "accessready.audit/1"
WORST_FINDINGS = 3
TOP_CHANGES = 4


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
        changes_summary=changes_summary(entry, tr),
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
                           for v in sorted(Verdict, key=lambda v: VERDICT_ORDER[v])],
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
    labels = customer_labels(report)
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
    return (pretty_json(to_dict(report)) + "\n").encode("utf-8")


RENDERERS = {"html": lambda report, lang: render_html(report, lang).encode("utf-8"),
             "json": render_json, "prometheus": render_prometheus, "nagios": render_nagios}
"""Format name → ``render(report, lang) -> bytes`` for the audit's outputs."""
