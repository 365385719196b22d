"""The audit as text: one Prometheus textfile-collector file (every customer's per-run
series merged family by family, plus audit series), the Nagios status with a long-output
line per customer that needs a look, and the terminal table."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

from accessready.agent.core.audit_types import AuditReport
from accessready.agent.core.model import ExitCode, Verdict
from accessready.agent.core.textsafe import clean
from accessready.reports.i18n import Translator
from accessready.reports.nagios import STATE
from accessready.reports.overview_rank import (
    VERDICT_ORDER,
    change_words,
    changes_summary,
    customer_labels,
    findings,
    insecure_count,
    sorted_entries,
    why_unknown,
    worst_customers,
)
from accessready.reports.prometheus import VERDICT_HELP, _epoch, _Family, render_text

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
    labels = customer_labels(report)
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
    order = sorted(Verdict, key=lambda v: VERDICT_ORDER[v])
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
            note = changes_summary(entry, tr)
            if entry.run is not None and (top := findings(entry.run)):
                note += f"; {top[0].check_id}: {tr.text(top[0].summary)}"
        line = f"{words:<20} {name:<{name_w}} {' '.join(note.split())}"
        out.append(clean(line[: width - 1] + "…" if len(line) > width else line, 1000))
    out.append("")
    out.append(render_nagios_text(report, lang).splitlines()[0])
    return "\n".join(out) + "\n"
