"""The terminal view: a live progress line while checks run, then a compact table.

Colour only on a terminal and never when ``NO_COLOR`` is set (https://no-color.org); on
Windows only once the console has accepted VT processing.
Plain text otherwise, so logs and pipes stay readable.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import Counter
from typing import Any, TextIO

from accessready.agent.core.console import enable_vt, is_windows, kernel32
from accessready.agent.core.findings import findings, overruled
from accessready.agent.core.model import OWNERS, Result, Run, Status, Text, Verdict, insecure_notes
from accessready.agent.core.textsafe import clean
from accessready.agent.plugin.runner import Progress
from accessready.reports.i18n import Translator

_COLOURS = {
    Status.PASS: "32", Status.SKIP: "90", Status.WARN: "33", Status.ERROR: "35",
    Status.FAIL: "31",
}
_VERDICT_COLOURS = {Verdict.READY: "32", Verdict.READY_WITH_WARNINGS: "33",
                    Verdict.NOT_READY: "31", Verdict.UNKNOWN: "35"}
VERDICT_WORDS = {
    "en": {Verdict.READY: "READY", Verdict.READY_WITH_WARNINGS: "READY WITH WARNINGS",
           Verdict.NOT_READY: "NOT READY", Verdict.UNKNOWN: "UNKNOWN"},
    "sv": {Verdict.READY: "REDO", Verdict.READY_WITH_WARNINGS: "REDO MED VARNINGAR",
           Verdict.NOT_READY: "INTE REDO", Verdict.UNKNOWN: "OKÄNT"},
}


def use_colour(stream: TextIO, platform: str | None = None, k32: Any = None) -> bool:
    """Colour when ``stream`` is a terminal, ``NO_COLOR`` is unset or empty, and — on
    Windows (``platform``, default this machine's) — the console has switched on VT
    processing (``k32``: the kernel32 function table, default the real one). A console
    that refuses gets no colour rather than raw escapes."""
    if os.environ.get("NO_COLOR") or not (hasattr(stream, "isatty") and stream.isatty()):
        return False
    if not is_windows(platform):
        return True
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return enable_vt(fd, k32 if k32 is not None else kernel32())


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def _one_line(text: str) -> str:
    """One line of plain text: control characters (terminal escapes from a hostile banner or
    result file) are replaced before anything reaches the terminal."""
    return " ".join(clean(text).split())


class LiveLine:
    """Redraws one status line on a terminal; silent when the stream is not one."""

    def __init__(self, stream: TextIO = sys.stderr, min_interval: float = 0.1) -> None:
        self.stream = stream
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.min_interval = min_interval
        self._last = 0.0
        self._shown = False

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < self.min_interval
                                and progress.done < progress.total):
            return
        self._last = now
        width = shutil.get_terminal_size((80, 20)).columns
        running = ", ".join(progress.running[:3])
        line = f"[{progress.done}/{progress.total}] {running}"
        self.stream.write("\r" + _one_line(line)[: width - 1].ljust(width - 1))
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        """Erase the line before the table is printed."""
        if self.enabled and self._shown:
            width = shutil.get_terminal_size((80, 20)).columns
            self.stream.write("\r" + " " * (width - 1) + "\r")
            self.stream.flush()


def _waiver_line(result: Result, lang: str, blocks: bool = False) -> str:
    """A waived finding (or one whose waiver ran out, or one it cannot lift: ``blocks``),
    with the waiver's reason."""
    waiver = result.waiver or {}
    until, reason = _one_line(str(waiver.get("until", ""))), _one_line(str(waiver.get(
        "reason", "")))
    if waiver.get("expired"):
        words = (f"WAIVER RAN OUT {until} (counts again): {reason}" if lang != "sv" else
                 f"UNDANTAGET GÄLLDE TILL {until} (räknas igen): {reason}")
    elif blocks:
        words = (f"WAIVED until {until} ({reason}), BUT IT STILL BLOCKS SUPPORT" if lang != "sv"
                 else f"UNDANTAGET till och med {until} ({reason}), MEN BLOCKERAR ÄNDÅ "
                 "SUPPORTEN")
    else:
        words = (f"WAIVED until {until}: {reason}" if lang != "sv" else
                 f"UNDANTAGET till och med {until}: {reason}")
    return f"      {_one_line(result.check_id)} {_one_line(result.target)}: {words}"


_OWNER_WORDS = {"en": {"customer": "customer", "supplier": "supplier", "engineer": "engineer"},
                "sv": {"customer": "kunden", "supplier": "leverantören", "engineer": "teknikern"}}


def _todo_line(run: Run, lang: str) -> str:
    """Who must act on how many findings (the HTML report lists them): "" for none."""
    counts = Counter(f.owner for f in findings(run) if not f.waived)
    if not counts:
        return ""
    words = _OWNER_WORDS["sv" if lang == "sv" else "en"]
    parts = ", ".join(f"{words[o]} {counts[o]}" for o in OWNERS if counts.get(o))
    return f"(To do: {parts})" if lang != "sv" else f"(Att göra: {parts})"


def render_table(run: Run, lang: str = "en", colour: bool = False, width: int = 100,
                 show_skipped: bool = False) -> str:
    """The compact table: one row per result, then requirements and the verdict."""
    rows = [r for r in run.results if show_skipped or r.status is not Status.SKIP]
    id_w = max([len(r.check_id) for r in rows] + [5])
    tgt_w = min(max([len(r.target) for r in rows] + [6]), 24)
    summary_w = max(20, width - id_w - tgt_w - 10)
    out = []
    notes = insecure_notes(run.results)
    if notes:  # first, before anything else (model.INSECURE)
        head = ("INSECURE: the profile turned security settings off" if lang == "en" else
                "OSÄKERT: profilen stängde av säkerhetsinställningar")
        out.append(_paint(f"!! {head}", _COLOURS[Status.FAIL], colour))
        out += [f"!! {_one_line(n['check'])} {_one_line(n['target'])}: "
                f"{_one_line(Text.from_json(n['text']).get(lang))}" for n in notes]
        out.append("")
    for r in rows:
        status = _paint(f"{r.status.value.upper():5}", _COLOURS[r.status], colour)
        summary = _one_line(r.summary.get(lang))
        if len(summary) > summary_w:
            summary = summary[: summary_w - 1] + "…"
        target = _one_line(r.target)
        target = target if len(target) <= tgt_w else target[: tgt_w - 1] + "…"
        out.append(f"{status} {_one_line(r.check_id):<{id_w}} {target:<{tgt_w}} {summary}")

    blocked = {id(run.results[i]) for i in overruled(findings(run))}
    for r in rows:
        if r.waiver and r.status in (Status.WARN, Status.FAIL):
            out.append(_waiver_line(r, lang, id(r) in blocked))
    todo = _todo_line(run, lang)
    if todo:
        out.append(todo)
    skipped = sum(1 for r in run.results if r.status is Status.SKIP)
    if skipped and not show_skipped:
        out.append(f"({skipped} skipped)" if lang == "en" else f"({skipped} överhoppade)")
    out.append("")
    for o in run.requirements:
        mark = _paint(f"{o.status.value.upper():5}", _COLOURS[o.status], colour)
        block = (" BLOCKS" if lang == "en" else " BLOCKERAR") if o.blocking else ""
        out.append(f"{mark} {o.requirement.value:<12}{block} {_one_line(o.reason.get(lang))}")
    verdict = VERDICT_WORDS.get(lang, VERDICT_WORDS["en"])[run.verdict]
    tr = Translator(lang)
    label = "Verdict" if lang == "en" else "Bedömning"
    seen = " + ".join(tr.vantage(v) for v in run.vantage.split("+") if v)
    out.append("")
    out.append(f"{label}: {_paint(verdict, _VERDICT_COLOURS[run.verdict], colour)} "
               f"({_one_line(run.customer)}, {tr('report.vantage').lower()} "
               f"{_one_line(seen)}, {run.duration_s:.1f} s)")
    if run.verdict is Verdict.UNKNOWN:
        # why there is no verdict: each rule that could not decide, and what decides it
        out.extend(f"  {_one_line(line)}" for line in undecided_lines(run, tr))
    return "\n".join(out) + "\n"


def undecided_lines(run: Run, tr: Translator) -> list[str]:
    """Why ``run`` has no verdict: one line per requirement that could not be decided,
    with the action that decides it — the terminal's lines, which the audit repeats."""
    lines = []
    for o in run.requirements:
        if o.undecided:
            line = tr("verdict.undecided_line", requirement=tr.requirement(o.requirement),
                      reason=tr.text(o.reason))
            if o.decides is not None:
                line += f" {tr('verdict.decides')}: {tr.text(o.decides)}"
            lines.append(line)
    return lines
