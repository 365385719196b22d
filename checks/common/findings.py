"""Findings: what a check noticed, one at a time, and the one result they add up to.

A check that looks at many things (a TLS handshake, a certificate store, a farm's health)
collects :class:`Finding` s and lets :func:`conclude` decide: the worst status wins, the
summary lists every finding that is not a pass, worst first, and the result's ``due`` is
the earliest expiry among them (:func:`earliest_due`). Shared by the HTTP and the WinRM
checks of ``adfs`` and ``wap``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from accessready.agent.core.model import Status, Text, t, worst


@dataclass
class Finding:
    """One thing a check noticed: its status, bilingual text and remediation key."""

    status: Status
    en: str
    sv: str
    fix: str | None = None
    due: dt.date | dt.datetime | None = None  # an expiry this finding is about


def earliest_due(findings: list[Finding]) -> dt.date | None:
    """The earliest expiry among the non-pass findings (the result's ``due``), or None."""
    days = [f.due.date() if isinstance(f.due, dt.datetime) else f.due
            for f in findings if f.status is not Status.PASS and f.due is not None]
    return min(days) if days else None


def conclude(findings: list[Finding], ok_en: str, ok_sv: str) -> tuple[Status, Text, str | None]:
    """The worst finding decides; the summary lists every non-pass finding, worst first."""
    bad = sorted((f for f in findings if f.status is not Status.PASS),
                 key=lambda f: -f.status.rank)
    if not bad:
        notes = [f for f in findings if f.en]
        en = " ".join([ok_en, *(f.en for f in notes)])
        sv = " ".join([ok_sv, *(f.sv for f in notes)])
        return Status.PASS, t(en, sv), None
    status = worst([f.status for f in bad])
    return status, t(" ".join(f.en for f in bad), " ".join(f.sv for f in bad)), bad[0].fix
