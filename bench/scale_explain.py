"""``accessready audit``, timed from inside: where an audit's wall time goes (issue 13).

    python bench/scale_explain.py AUDIT-ARGUMENTS...

Runs the real CLI in this process with two watches added: when each check started and ended
(by kind: its check id, or ``silent`` for a target in ``bench_scale``'s silent network), and
when every profile had been planned and started (``profiles_started``), when the audit's
runs were all done (before the last reports and the overview are written), when the audit
began to wait for the report process and when that had written every report; ``exit_s`` is
the end. At exit it prints one line,
``EXPLAIN {json}``, to stderr: this process's CPU (the report process's is the rest of what
``wait4`` counts), the quantiles of the checks' start and end times, and the CPU of the
thread that ran each (``time.thread_time``, by kind) and of the thread that planned each
profile (loading it, planning and starting its checks), and every thread's CPU by its name
(the worker pools', the connector's, the main thread's: where the CPU that is no check's
and no planning's goes). ``bench_scale --explain`` runs it in place of
``python -m accessready`` and prints the line as a row.

Instrumentation for a benchmark only: it wraps six functions, changes nothing they do.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from typing import Any

SILENT_PREFIX = "198.51.100."  # bench_scale.SILENT_NET
STARTED = time.perf_counter()
_records: list[tuple[float, float, str]] = []
_marks: dict[str, float] = {}
# thread CPU (``time.thread_time``: user and system, GIL waits excluded) by check kind, and
# of planning (loading a profile, planning and starting its checks); planning's count
_cpu: dict[str, float] = {}
_counts: dict[str, int] = {}
_lock = threading.Lock()
# CPU of every thread by its name, digits dropped ("accessready-audit-3" -> "accessready-
# audit-"): of those that ended, at their end; of the rest, when the line is printed
_threads: dict[str, list[float]] = {}
_ended: set[int] = set()


def _thread_name(name: str) -> str:
    return re.sub(r"\d+", "", name)


def _count_thread(name: str, cpu: float) -> None:
    with _lock:
        seen = _threads.setdefault(_thread_name(name), [0, 0.0])
        seen[0] += 1
        seen[1] += cpu


def _watch_threads() -> None:
    run = threading.Thread.run

    def counted(self: threading.Thread) -> None:
        try:
            run(self)
        finally:
            _count_thread(self.name, time.thread_time())
            _ended.add(id(self))

    threading.Thread.run = counted  # type: ignore[method-assign]


def _since() -> float:
    return round(time.perf_counter() - STARTED, 3)


def _quantiles(values: list[float]) -> list[float]:
    ordered = sorted(values)
    return [round(ordered[int(q * (len(ordered) - 1))], 2) for q in (0, 0.1, 0.5, 0.9, 1)]


def _watch() -> None:
    from accessready.agent.app import audit, audit_local
    from accessready.agent.plugin import runner

    run_job, run_audit = runner.run_job, audit.run_audit

    def timed_job(job: Any, *args: Any, **kwargs: Any) -> Any:
        begun = time.perf_counter() - STARTED
        cpu = time.thread_time()
        try:
            return run_job(job, *args, **kwargs)
        finally:
            cpu = time.thread_time() - cpu
            data = job.target.data  # a Server, or a check's own (adfs.tls: node + port)
            address = str(getattr(getattr(data, "server", data), "address", ""))
            kind = "silent" if address.startswith(SILENT_PREFIX) else job.check.id
            with _lock:
                _records.append((begun, time.perf_counter() - STARTED, kind))
                _cpu[kind] = _cpu.get(kind, 0.0) + cpu

    start_one = audit_local.start_one

    def timed_start(*args: Any, **kwargs: Any) -> Any:
        cpu = time.thread_time()
        try:
            return start_one(*args, **kwargs)
        finally:
            cpu = time.thread_time() - cpu
            with _lock:
                _cpu["planning"] = _cpu.get("planning", 0.0) + cpu
                _counts["planning"] = _counts.get("planning", 0) + 1

    def timed_audit(*args: Any, **kwargs: Any) -> Any:
        _marks["audit_started"] = _since()
        told = kwargs.get("on_started")

        def started() -> None:
            _marks["profiles_started"] = _since()
            if told is not None:
                told()

        kwargs["on_started"] = started
        try:
            return run_audit(*args, **kwargs)
        finally:
            _marks["checks_and_runs_done"] = _since()

    from accessready.agent.app import audit_reports

    collect = audit_reports.Details._collect

    def timed_collect(self: Any) -> None:
        _marks["reports_wait_started"] = _since()
        try:
            collect(self)
        finally:
            _marks["reports_written"] = _since()

    finish = audit_reports.Details.finish

    def timed_finish(self: Any, report: Any) -> Any:
        _marks["reports_queued_at_end"] = len(self._todo)  # not yet handed over
        return finish(self, report)

    audit_reports.Details.finish = timed_finish
    _watch_threads()
    runner.run_job = timed_job
    audit_local.start_one = timed_start
    audit.run_audit = timed_audit
    audit_reports.Details._collect = timed_collect


def _report() -> None:
    kinds: dict[str, Any] = {}
    for kind in sorted({k for _, _, k in _records}):
        starts = [s for s, _, k in _records if k == kind]
        ends = [e for _, e, k in _records if k == kind]
        kinds[kind] = {"n": len(starts), "start": _quantiles(starts), "end": _quantiles(ends),
                       "cpu_ms": round(_cpu.get(kind, 0.0) / len(starts) * 1000, 2)}
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    for thread in threading.enumerate():
        if id(thread) in _ended or thread.ident is None:
            continue
        if thread is threading.current_thread():
            _count_thread("main", time.thread_time())
            continue
        try:
            clock = time.pthread_getcpuclockid(thread.ident)
            _count_thread(thread.name, time.clock_gettime(clock))
        except (AttributeError, OSError):  # ended meanwhile, or no such clock here
            continue
    sys.stderr.write("EXPLAIN " + json.dumps({
        "cpu_s": round(time.process_time(), 2), "user_s": round(usage.ru_utime, 2),
        "sys_s": round(usage.ru_stime, 2), "switches": [usage.ru_nvcsw, usage.ru_nivcsw],
        "exit_s": _since(), "clock_started": STARTED, "clock_exit": time.perf_counter(),
        **_marks,
        "planning_cpu_ms": round(_cpu.get("planning", 0.0) / max(1, _counts.get("planning", 0))
                                 * 1000, 2),
        "kinds": kinds,
        "threads": {name: [n, round(cpu, 2)] for name, (n, cpu) in
                    sorted(_threads.items(), key=lambda item: -item[1][1])}}) + "\n")


def main() -> None:
    _watch()
    from accessready.agent.cli.main import main as cli

    try:
        cli()  # as the console script: the arguments from sys.argv
    finally:
        _report()


if __name__ == "__main__":
    main()
