"""``accessready history`` on the terminal: a customer's stored runs with what changed
each time, every customer's latest verdict, and what a prune would delete."""

from __future__ import annotations

from typing import Any

from accessready.agent.core.textsafe import clean
from accessready.reports.html import LINE, _when
from accessready.reports.i18n import Translator
from accessready.reports.overview_rank import change_words


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
