"""Each customer's full reports beside an audit (``--reports-dir``): written as runs end,
named in the profiles' order, linked from the overview."""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from accessready.agent.app.render_worker import (
    RenderProcess,
    Writes,
    prepare,
    render_pair,
    wait_for,
)
from accessready.agent.core.audit_types import AuditEntry, AuditReport
from accessready.agent.core.model import Run
from accessready.agent.core.safefile import OutputError
from accessready.agent.core.textsafe import UniqueNames

log = logging.getLogger("accessready.audit")

HELP_FROM = 16  # reports still queued at the end that this process helps to render


class Details:
    """Each customer's full HTML report and JSON result in ``folder`` (``--reports-dir``),
    written with ``write(path, data, private=...)``.

    Pass :meth:`early` as :func:`run_audit`'s ``on_run`` and :meth:`release` as its
    ``on_started``: one writer thread renders and writes the customers' reports of the
    runs that ended, once every profile's checks have started, while the slow ones wait
    on the network, instead of all of them after the last check. Not before: the CPU goes
    first to starting every check (a silent host's deadline runs from its start, so a
    check started late ends the audit late). One thread, not the profile workers: a
    worker that renders starts its next profile late.
    File names follow the profiles' order whatever order the runs end in: a customer
    whose name another took already waits for :meth:`finish`, which writes every file
    that order names otherwise. The folder is made by the first write, so an audit
    refused by its lock leaves none.

    ``offload``: render and write in a process of its own
    (:mod:`~accessready.agent.app.render_worker`, on another core), as runs end once
    :meth:`release` says every profile has started (each run withholds its password
    variable from the programs we start when it starts; the report process is one) — the
    same bytes through the same safe writer; what it could not do is done here. Then
    ``write`` is used only for what is rendered here (it may be called from several
    threads at once, for different files). At :meth:`finish` the runs that ended last
    (the slow ones, together) are still queued, and this process has nothing else to do:
    with :data:`HELP_FROM` or more queued, it renders from the back of the queue while
    the writer hands the front to the report process, so the two cores share the backlog
    that ends the audit.
    """

    def __init__(self, folder: Path, lang: str, write: Callable[..., None],
                 link_from: Path | None = None, offload: bool = False) -> None:
        self.folder, self.lang, self.write, self.link_from = folder, lang, write, link_from
        self._offload = offload
        self._process: RenderProcess | None = None
        self._sent: dict[int, tuple[str, Run]] = {}  # job number -> (stem, run)
        self._early: dict[int, str] = {}  # entry index -> the stem written for it
        self._taken: set[str] = set()
        self._last: dict[str, int | None] = {}  # stem -> who wrote it last: a job, or here
        self._todo: deque[tuple[int, str, Run]] = deque()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._queued = threading.Condition(self._lock)
        self._closed = False
        self._error: Exception | None = None
        self._go = threading.Event()

    def release(self) -> None:
        """Every profile has started: the writer may render what :meth:`early` queued."""
        self._go.set()

    def early(self, index: int, entry: AuditEntry) -> None:
        """Have ``entry``'s files written now unless another customer took its name. Any
        thread; never raises (:meth:`finish` raises the first failure)."""
        if entry.run is None:
            return
        with self._lock:
            if self._closed:
                return
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_early, daemon=True,
                                                name="accessready-reports")
                self._writer.start()
            self._todo.append((index, _entry_stem(entry), entry.run))
            self._queued.notify()

    def _write_early(self) -> None:
        # Rendering here takes the CPU the checks need to start; and the report process
        # gets our environment without the password variables (child_environment) only
        # once every run has started and withheld its own (in each audit process: they
        # tell us theirs before they say they started).
        self._go.wait()
        while (item := self._next(last=False)) is not None:
            index, stem, run = item
            self._write_one(index, stem, functools.partial(self._write, stem, run))

    def _next(self, last: bool) -> tuple[int, str, Run] | None:
        """The next queued report to write (the first, or the ``last``), its name taken;
        None once :meth:`finish` closed the queue and it is empty (or a write failed)."""
        with self._lock:
            while True:
                while not self._todo and not self._closed:
                    self._queued.wait()
                if not self._todo or self._error is not None:
                    return None
                index, stem, run = self._todo.pop() if last else self._todo.popleft()
                if stem not in self._taken:
                    self._taken.add(stem)
                    return index, stem, run

    def _write_one(self, index: int, stem: str, write: Callable[[], None]) -> None:
        try:
            write()
        except Exception as exc:  # a full disk, no rights: said once, after the audit
            self._failed(exc)
            return
        with self._lock:
            self._early[index] = stem

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self._error = self._error or exc

    def _backlog(self) -> None:
        """Render the queue's last reports here, written by threads (:class:`Writes`).
        Offloading, only a long queue is worth it: this process's first report costs a
        tenth of a second (compiling templates), in which the report process writes ~40."""
        if self._offload:
            if len(self._todo) < HELP_FROM:
                return  # the writer hands them all over
            try:
                prepare()
            except Exception:  # rendered all the same below, or said as a failure
                log.debug("could not prepare the report renderer", exc_info=True)
        with Writes() as writes:
            while (item := self._next(last=True)) is not None:
                index, stem, run = item
                try:
                    html, result = render_pair(run, self.lang)
                except Exception as exc:
                    self._failed(exc)
                    continue
                write = functools.partial(self._write_rendered, stem, html, result)
                writes.submit(self._paths(stem),
                              functools.partial(self._write_one, index, stem, write))

    def finish(self, report: AuditReport) -> AuditReport:
        """Write what :meth:`early` did not; ``report`` with links to every customer's
        report (relative to ``link_from``, the overview's folder)."""

        with self._lock:  # runs still in flight after Ctrl-C queue nothing more
            self._closed = True
            writer = self._writer
            self._queued.notify_all()
        if writer is not None:  # what is queued is written (finish would write it anyway)
            self._go.set()
            if self._todo:
                try:
                    self.folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:  # said after the writer ends, as a write's failure
                    self._failed(exc)
            self._backlog()
            wait_for(writer)
        try:
            if self._error is not None:
                raise self._error
            self.folder.mkdir(parents=True, exist_ok=True)  # there even when no run ended
            unique = UniqueNames()
            entries = []
            for index, entry in enumerate(report.entries):
                if entry.run is None:
                    entries.append(entry)
                    continue
                stem = unique(_entry_stem(entry))
                if self._early.get(index) != stem:
                    self._write(stem, entry.run)
                html = self.folder / f"{stem}.html"
                entries.append(replace(entry, report_href=_link(html, self.link_from)))
        finally:
            self._collect()
        return replace(report, entries=tuple(entries))

    def _paths(self, stem: str) -> tuple[str, str]:
        return str(self.folder / f"{stem}.html"), str(self.folder / f"{stem}.json")

    def _write(self, stem: str, run: Run) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        html, result = self._paths(stem)
        if self._offload and self._process is None:
            self._process = RenderProcess.start()
            self._offload = self._process is not None
        if self._process is not None:
            number = self._process.submit(html, result, run, self.lang)
            if number is not None:
                self._sent[number] = (stem, run)
                with self._lock:
                    self._last[stem] = number
                return
        self._write_here(stem, run)

    def _write_here(self, stem: str, run: Run) -> None:
        self._write_rendered(stem, *render_pair(run, self.lang))

    def _write_rendered(self, stem: str, html: bytes, result: bytes) -> None:
        with self._lock:
            self._last[stem] = None
        html_path, json_path = self._paths(stem)
        self.write(html_path, html)
        self.write(json_path, result, private=True)

    def _collect(self) -> None:
        """Wait for the report process; write here what it did not; raise its first
        failure (a full disk, no rights) as this module's writes would."""
        process, self._process = self._process, None
        if process is None:
            return
        answers = process.close()
        for number, (stem, run) in self._sent.items():
            # the process ended before it: write it here, unless the name went to another
            # customer since (a later write of the same files, which this would undo)
            if number not in answers and self._last.get(stem) == number:
                self._write_here(stem, run)
        self._sent.clear()
        failed = next((error for error in answers.values() if error), None)
        if failed is not None:
            raise OutputError(failed)


def _link(target: Path, base: Path | None) -> str:
    """``target`` as the overview links it: relative to ``base`` (the overview's folder).
    On Windows a reports folder on another drive than the overview has no relative path
    (``relpath`` raises): then its absolute ``file:`` URI."""
    if base is None:
        return target.as_posix()
    try:
        return Path(os.path.relpath(target, base)).as_posix()
    except ValueError:
        return target.resolve().as_uri()


def write_details(report: AuditReport, folder: Path, lang: str,
                  write: Callable[..., None], link_from: Path | None = None,
                  ) -> AuditReport:
    """Write each customer's full HTML report and JSON result into ``folder`` with
    ``write(path, data, private=...)``; return the report with links to them (relative to
    ``link_from``, the overview's folder)."""
    return Details(folder, lang, write, link_from).finish(report)


# Names Windows reserves for devices, whatever the extension: "con.html" opens the console
_WINDOWS_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)),
                              *(f"lpt{n}" for n in range(10))})


def _entry_stem(entry: AuditEntry) -> str:
    """The stem of a customer's report files, before :class:`UniqueNames` sees it."""
    return _file_stem(f"{entry.customer}-{Path(entry.profile).stem}")


def _file_stem(text: str) -> str:
    """A file name stem safe on every OS: lower-case ASCII letters, digits and inner
    dashes (Swedish letters folded), at most 60 characters, never a Windows device name."""
    folded = text.lower().translate(str.maketrans("åäöéü", "aaoeu"))
    base = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:60].strip("-") or "customer"
    return f"customer-{base}" if base in _WINDOWS_DEVICES else base

