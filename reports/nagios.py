"""One Nagios/Icinga status line with perfdata, for ``--nagios``.

``ACCESSREADY CRITICAL - Not ready: 3 fail, 2 warn, 1 error, 5 pass, 1 skip; blocking:
access, account | pass=5;;;; warn=2;;;; fail=3;;;; error=1;;;; skip=1;;;; waived=0;;;;
duration=11.4s;;;;``

A finding a profile waives counts as ``waived``, not under its status
(:mod:`accessready.reports.counts`).

The state word follows the exit code (ready → OK 0, warnings → WARNING 1, not ready →
CRITICAL 2, unknown → UNKNOWN 3), which the CLI returns as the plugin's exit status.
The state word and perfdata labels are fixed (monitoring parses them); the words in
between follow ``--lang``. ``|`` is perfdata's separator, so it never appears in text.
"""

from __future__ import annotations

from accessready.agent.core.model import ExitCode, Run, insecure_notes
from accessready.agent.core.textsafe import clean
from accessready.reports.counts import status_counts
from accessready.reports.i18n import Translator

STATE = {ExitCode.READY: "OK", ExitCode.WARNINGS: "WARNING",
         ExitCode.NOT_READY: "CRITICAL", ExitCode.UNKNOWN: "UNKNOWN"}
PERF_ORDER = ("pass", "warn", "fail", "error", "skip", "waived")


def _text(value: str) -> str:
    return clean(value, 300).replace("|", "/")


def render_line(run: Run, lang: str | None = None) -> str:
    """The status line, without the newline."""
    tr = Translator(lang or run.lang)
    code = ExitCode.for_verdict(run.verdict)
    n = status_counts(run)
    text = f"{tr.verdict(run.verdict)}: " + tr(
        "nagios.counts", fail=n["fail"], warn=n["warn"], error=n["error"], pass_=n["pass"],
        skip=n["skip"])
    if n["waived"]:  # waived findings count apart: the verdict does not count them
        text += ", " + tr("nagios.waived", n=n["waived"])
    blocking = [o.requirement.value for o in run.requirements if o.blocking]
    if blocking:
        text += "; " + tr("nagios.blocking", names=", ".join(blocking))
    insecure = len(insecure_notes(run.results))
    if insecure:
        text += "; " + tr("nagios.insecure", n=insecure)
    perf = " ".join(f"{s}={n[s]};;;;" for s in PERF_ORDER)
    perf += f" duration={max(0.0, run.duration_s):.3f}s;;;;"
    return f"ACCESSREADY {STATE[code]} - {_text(text)} | {perf}"


def render(run: Run, lang: str | None = None) -> bytes:
    """The status line and a newline, as bytes."""
    return (render_line(run, lang) + "\n").encode("utf-8")
