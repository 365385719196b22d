"""The runner: concurrency, deadlines, filters, crash handling, stable order, interrupts."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from accessready.agent.core.model import Requirement, Status
from accessready.agent.core.profile import parse_profile
from accessready.agent.plugin.runner import (
    ContextFactory,
    Interrupted,
    RunOptions,
    execute,
    overdue_patience,
    plan,
)

from .fakes import make_check

PROFILE = parse_profile('[customer]\nname = "X"\n[access]\nmethods = ["teamviewer"]\n')


def _run(checks, **opts):
    options = RunOptions(**opts)
    return execute(plan(checks, PROFILE, options), ContextFactory(PROFILE, {}), options)


def test_results_come_in_plan_order_whatever_finishes_first() -> None:
    checks = [make_check(f"fam.c{i}", sleep=0.05 * (5 - i)) for i in range(5)]
    results = _run(checks, concurrency=5)
    assert [r.check_id for r in results] == [f"fam.c{i}" for i in range(5)]


def test_stuck_check_is_an_error_at_its_deadline_and_the_run_goes_on() -> None:
    gate = threading.Event()
    try:
        checks = [make_check("fam.stuck", block=gate), make_check("fam.fine")]
        started = time.monotonic()
        results = _run(checks, timeout=0.3, concurrency=1)
        elapsed = time.monotonic() - started
    finally:
        gate.set()
    by_id = {r.check_id: r for r in results}
    assert by_id["fam.stuck"].status is Status.ERROR
    assert by_id["fam.stuck"].details["reason"] == "deadline"
    assert by_id["fam.fine"].status is Status.PASS  # its slot was freed at the deadline
    assert elapsed < 0.3 + overdue_patience(0.3) + 3  # given up on, not waited for


def test_a_late_check_that_ends_while_the_run_waits_keeps_its_own_result() -> None:
    """Past its deadline a check loses its worker to the next one, but what it returns
    before the runner gives up on it counts: on a busy machine a check that timed out on
    time and then waited for the CPU reports the target, not "did not finish"."""
    gate = threading.Event()
    late = make_check("fam.late", block=gate, status=Status.FAIL)
    fine = make_check("fam.fine")
    original = fine.run

    def run(ctx, target):  # type: ignore[no-untyped-def]
        gate.set()  # runs only once the late check's worker was given to it
        return original(ctx, target)
    fine.run = run  # type: ignore[method-assign]
    by_id = {r.check_id: r for r in _run([late, fine], timeout=0.3, concurrency=1)}
    assert by_id["fam.late"].status is Status.FAIL and "reason" not in by_id["fam.late"].details
    assert by_id["fam.fine"].status is Status.PASS


def test_time_spent_waiting_for_a_worker_is_not_the_checks() -> None:
    """One worker, three checks of 0.75 s with a 2 s deadline: each starts with its whole
    deadline ahead of it (the clock starts when a worker takes it, not when it was
    queued), so the third does not inherit the first two's time (0.5 s at most)."""
    seen: list[float] = []
    checks = []
    for i in range(3):
        check = make_check(f"fam.q{i}", sleep=0.75)
        original = check.run

        def run(ctx, target, original=original):  # type: ignore[no-untyped-def]
            seen.append(ctx.remaining())
            return original(ctx, target)
        check.run = run  # type: ignore[method-assign]
        checks.append(check)
    results = _run(checks, concurrency=1, timeout=2.0)
    assert all(r.status is Status.PASS for r in results)
    # inherited: 0.5 s at most; whole: 2 s less our own delays (a busy machine's)
    assert len(seen) == 3 and min(seen) > 1.0, seen


def test_concurrency_bounds_parallel_work() -> None:
    """Checks meet at a barrier of 3: with concurrency 3 the peak is exactly 3."""
    live, peak, lock = [0], [0], threading.Lock()
    barrier = threading.Barrier(3)
    checks = []
    for i in range(12):
        check = make_check(f"fam.p{i}")
        original = check.run

        def run(ctx, target, original=original):
            with lock:
                live[0] += 1
                peak[0] = max(peak[0], live[0])
            barrier.wait(timeout=10)
            with lock:
                live[0] -= 1
            return original(ctx, target)
        check.run = run  # type: ignore[method-assign]
        checks.append(check)
    results = _run(checks, concurrency=3, timeout=20)
    assert peak[0] == 3 and all(r.status is Status.PASS for r in results)


def test_crash_becomes_error_without_traceback() -> None:
    [result] = _run([make_check("fam.boom", boom=True)])
    assert result.status is Status.ERROR
    assert "ValueError: kaboom" in result.summary.en
    assert result.remediation is not None


def test_only_and_skip_globs() -> None:
    checks = [make_check("a.one"), make_check("a.two"), make_check("b.one")]
    results = _run(checks, only=("a.*",), skip=("a.two",))
    status = {r.check_id: (r.status, r.details.get("reason")) for r in results}
    assert status["a.one"] == (Status.PASS, None)
    assert status["a.two"] == (Status.SKIP, "filtered")
    assert status["b.one"] == (Status.SKIP, "filtered")


def test_not_offered_method_is_skipped() -> None:
    [result] = _run([make_check("anyconnect.gateway", Requirement.ACCESS,
                                method="anyconnect")])
    assert result.status is Status.SKIP and result.details["reason"] == "not_applicable"


def test_password_checks_without_a_configured_password() -> None:
    """An untested login is an error in an engineer's run, a skip only in a self-check."""
    check = make_check("account.x", Requirement.ACCOUNT)
    type(check).needs = ("password",)
    [result] = _run([check])
    assert result.status is Status.ERROR and result.details["reason"] == "no_password"
    options = RunOptions()
    [skipped] = execute(plan([check], PROFILE, options),
                        ContextFactory(PROFILE, {}, self_check=True), options)
    assert skipped.status is Status.SKIP and skipped.details["self_check"] is True


def test_broken_plugins_become_errors_at_once() -> None:
    """A check that returns junk or cannot even list its targets: error, no wait."""
    junk = make_check("fam.junk")
    junk.run = lambda ctx, target: [None]  # type: ignore[method-assign]
    unplannable = make_check("fam.unplannable")

    def targets(profile):
        raise RuntimeError("no targets for you")

    unplannable.targets = targets  # type: ignore[method-assign]
    results = {r.check_id: r for r in _run([junk, unplannable], timeout=30)}
    assert results["fam.junk"].status is Status.ERROR
    assert results["fam.junk"].duration_s < 5  # reported at once, not at its 30 s deadline
    assert results["fam.unplannable"].status is Status.ERROR
    assert "no targets for you" in results["fam.unplannable"].summary.en


def test_interrupt_returns_what_finished() -> None:
    gate = threading.Event()
    checks = [make_check("fam.fast"), make_check("fam.slow", block=gate)]
    options = RunOptions(timeout=5, concurrency=2)

    def ctrl_c_once_something_finished(progress) -> None:  # as a real Ctrl-C would arrive
        if progress.done >= 1:
            raise KeyboardInterrupt

    try:
        with pytest.raises(Interrupted) as caught:
            execute(plan(checks, PROFILE, options), ContextFactory(PROFILE, {}), options,
                    ctrl_c_once_something_finished)
    finally:
        gate.set()
    statuses = {r.check_id: r.status for r in caught.value.results}
    assert statuses == {"fam.fast": Status.PASS, "fam.slow": Status.SKIP}


def test_target_needs_decides_per_target() -> None:
    """Only the target that needs the password is skipped in a password-less run."""
    check = make_check("fam.mixed", targets=("local", "remote"))

    def target_needs(target):
        return ("password",) if target.name == "remote" else ()

    check.target_needs = target_needs  # type: ignore[method-assign]
    results = {r.target: r for r in _run([check])}
    assert results["local"].status is Status.PASS
    assert results["remote"].status is Status.ERROR
    assert results["remote"].details["reason"] == "no_password"


def test_a_check_skips_where_its_vantage_does_not_apply() -> None:
    """Each check declares where it applies; elsewhere it is a skip saying why, in both
    languages, and never runs."""
    from accessready.agent.core.model import Vantage
    from accessready.agent.plugin.registry import load_registry

    engineer_only = make_check("fam.laptop", boom=True)  # would crash if it ran
    type(engineer_only).vantages = frozenset({Vantage.ENGINEER})
    everywhere = make_check("fam.gateway")
    for vantage in (Vantage.CUSTOMER, Vantage.AUDIT):
        skipped, ran = _run([engineer_only, everywhere], vantage=vantage)
        assert skipped.status is Status.SKIP and skipped.details == {
            "reason": "vantage", "vantage": vantage.value, "applies_from": ["engineer"]}
        assert "is not checked from" in skipped.summary.en
        assert "kontrolleras inte från" in skipped.summary.sv
        assert ran.status is Status.PASS
    crashed, _ = _run([engineer_only, everywhere], vantage=Vantage.ENGINEER)
    assert crashed.status is Status.ERROR  # it applies there, so it ran
    # the built-in checks say where they apply (design §2); the catalogue shows it
    where = {c.id: c.vantages for c in load_registry().checks}
    engineer = frozenset({Vantage.ENGINEER})
    for check_id in ("workstation.os", "workstation.no_admin", "workstation.clients",
                     "anyconnect.split_tunnel", "checkpoint.split_tunnel",
                     "winvpn.split_tunnel", "winvpn.connection"):
        assert where[check_id] == engineer, check_id
    assert where["teamviewer.network"] == {Vantage.ENGINEER, Vantage.CUSTOMER}
    for check_id in ("teamviewer.host", "admin.agreement", "anyconnect.gateway",
                     "winvpn.pptp", "account.login", "remote.rdp", "adfs.tls"):
        assert where[check_id] == frozenset(Vantage), check_id
    for check in load_registry().checks:
        for vantage in Vantage:
            why = check.not_from(vantage)
            assert (why is None) == (vantage in check.vantages)
            if why is not None:
                assert why.en and why.sv and why.en != why.sv, check.id


def test_concurrent_checks_each_capture_their_own_prints() -> None:
    """Two checks print at the same time, interleaved; each gets exactly its own lines,
    and nothing reaches the real stdout."""
    import io
    import sys

    barrier = threading.Barrier(2)
    checks = []
    for name in ("left", "right"):
        check = make_check(f"fam.{name}")
        original = check.run

        def run(ctx, target, original=original, name=name):
            for i in range(50):
                print(f"{name}-{i}")
                if i == 0:
                    barrier.wait(timeout=10)  # both are printing now
            print(f"{name}-err", file=sys.stderr)
            return original(ctx, target)
        check.run = run  # type: ignore[method-assign]
        checks.append(check)
    real = io.StringIO()
    saved = sys.stdout
    sys.stdout = real
    try:
        results = _run(checks, concurrency=2, timeout=20)
    finally:
        sys.stdout = saved
    for result in results:
        name = result.check_id.split(".")[1]
        assert result.details["printed"]["stdout"].split() == [f"{name}-{i}" for i in range(50)]
        assert result.details["printed"]["stderr"].split() == [f"{name}-err"]
    assert real.getvalue() == ""


@pytest.mark.parametrize("raised", [SystemExit(0), KeyboardInterrupt()])
@pytest.mark.parametrize("stage", ["applies", "targets", "target_needs", "run"])
def test_exit_or_interrupt_from_plugin_code_is_that_checks_error(stage: str,
                                                                 raised: BaseException) -> None:
    check = make_check("fam.stopper")

    def stop(*args):
        raise raised

    setattr(check, stage, stop)
    results = _run([check, make_check("fam.fine")])
    by_id = {r.check_id: r for r in results}
    assert by_id["fam.stopper"].status is Status.ERROR
    assert "tried to stop the program" in by_id["fam.stopper"].summary.en
    assert by_id["fam.fine"].status is Status.PASS


def test_a_hang_while_planning_meets_the_deadline() -> None:
    gate = threading.Event()
    check = make_check("fam.hangs")
    check.targets = lambda profile: [gate.wait(30)]  # type: ignore[method-assign]
    try:
        results = {r.check_id: r for r in _run([check, make_check("fam.fine")], timeout=0.3)}
    finally:
        gate.set()
    assert results["fam.hangs"].status is Status.ERROR
    assert results["fam.hangs"].details["reason"] == "deadline"
    assert results["fam.fine"].status is Status.PASS


@pytest.mark.parametrize(("details", "words"), [
    ({"a": {"b": [1, float("nan")]}}, "'a.b[1]' is nan"),
    ({"when": float("-inf")}, "'when' is -inf"),
    ({"x": {1, 2}}, "'x' is a set"),
    ({(1, 2): "tuple key"}, "key of type tuple"),
])
def test_evidence_json_cannot_hold_is_an_error_naming_it(details: dict, words: str) -> None:
    check = make_check("fam.odd")
    check.run = lambda ctx, target: check.result(  # type: ignore[method-assign]
        target, Status.PASS, check.title, details)
    [result] = _run([check])
    assert result.status is Status.ERROR and result.details["reason"] == "bad_result"
    assert words in result.summary.en


def test_plain_evidence_is_kept_as_it_was() -> None:
    """Tuples become lists and int keys text, as the JSON file would have them anyway."""
    check = make_check("fam.plain")
    evidence = {"n": 1, "f": 0.5, "ok": True, "none": None, "list": (1, "a"), 7: "seven"}
    check.run = lambda ctx, target: check.result(  # type: ignore[method-assign]
        target, Status.WARN, check.title, evidence)
    [result] = _run([check])
    assert result.status is Status.WARN
    assert result.details == {"n": 1, "f": 0.5, "ok": True, "none": None, "list": [1, "a"],
                              "7": "seven"}


def test_what_a_check_prints_is_kept_only_up_to_a_bound() -> None:
    from accessready.agent.plugin.capture import MAX_CHARS

    check = make_check("fam.flood")
    original = check.run

    def run(ctx, target):
        for _ in range(1000):
            print("x" * 1000)
        return original(ctx, target)

    check.run = run  # type: ignore[method-assign]
    [result] = _run([check])
    kept = result.details["printed"]["stdout"]
    assert kept.startswith(("x" * 1000 + "\n") * 8) and len(kept) < MAX_CHARS + 100
    assert kept.endswith(f"[… {1001 * 1000 - MAX_CHARS} more characters not kept]")


def test_owner_and_due_survive_the_rebuild_and_bad_ones_are_an_error() -> None:
    """The runner rebuilds every result from plain data; a finding's owner and due date
    (issue 14) are part of it, and a plugin's made-up owner or date is that check's error."""
    check = make_check("fam.due")
    check.run = lambda ctx, target: dataclasses.replace(  # type: ignore[method-assign]
        check.result(target, Status.WARN, check.title), owner="customer", due="2027-01-31")
    [kept] = _run([check])
    assert (kept.status, kept.owner, kept.due) == (Status.WARN, "customer", "2027-01-31")
    for bad in ({"owner": "nobody"}, {"due": "31/01/2027"}, {"due": 20270131}):
        odd = make_check("fam.odd")
        odd.run = lambda ctx, target, bad=bad, odd=odd: dataclasses.replace(  # type: ignore
            odd.result(target, Status.WARN, odd.title), **bad)
        [result] = _run([odd])
        assert result.status is Status.ERROR and result.details["reason"] == "bad_result", bad


def test_own_checks_plan_on_the_callers_thread_and_plugins_on_workers() -> None:
    """accessready's own checks decide from the profile at once (no thread per check per
    profile); a plugin's applies/targets run contained, on a worker under the deadline."""
    from accessready.checks.admin import CHECKS as OWN

    seen: dict[str, str] = {}
    own = OWN[0]()
    plugin = make_check("fam.plugin")
    for check, name in ((own, "own"), (plugin, "plugin")):
        original = check.targets

        def targets(profile, original=original, name=name):  # type: ignore[no-untyped-def]
            seen[name] = threading.current_thread().name
            return original(profile)
        check.targets = targets  # type: ignore[method-assign]
    plan([own, plugin], PROFILE, RunOptions())
    assert seen["own"] == threading.current_thread().name
    assert seen["plugin"] != threading.current_thread().name
