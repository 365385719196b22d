"""The report's kept fragments (``{% cache %}``): reused only where they print the same.

An audit renders many customers in one process and the same skipped checks print the same
article for each, so the report keeps those fragments. A kept fragment must never show one
customer's text in another's report, nor outlive a template that changed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from accessready.agent.core.model import Run, Status, t
from accessready.reports import html
from accessready.reports.html import _environment, render_html
from accessready.reports.html_fragments import FRAGMENTS

from .test_html_golden import digest, saved_run


def _cold(run: Run, lang: str) -> str:
    """The page from a new environment: nothing kept from earlier renders."""
    _environment.cache_clear()
    try:
        return render_html(run, lang)
    finally:
        _environment.cache_clear()


def _kept() -> int:
    env = _environment(None)
    return sum(len(ext.kept) for ext in env.extensions.values() if hasattr(ext, "kept"))


def _skip_changed(run: Run, n: int, **changes: object) -> Run:
    """``run`` with its n-th skipped result changed."""
    results = list(run.results)
    index = [i for i, r in enumerate(results) if r.status is Status.SKIP][n]
    results[index] = dataclasses.replace(results[index], **changes)
    return dataclasses.replace(run, results=tuple(results))


def test_skipped_checks_are_kept_and_reused() -> None:
    run = saved_run("bench")
    _environment.cache_clear()
    first = render_html(run, "sv")
    kept = _kept()
    assert kept > 30  # the 32 "not selected" checks and the sections holding only them
    assert render_html(run, "sv") == first
    assert _kept() == kept


def test_a_kept_fragment_never_shows_in_a_report_it_does_not_fit() -> None:
    """Each field a result prints, changed in one skipped result: the warm page is the
    cold one, and it shows the change."""
    run = saved_run("bench")
    render_html(run, "en")
    render_html(run, "sv")
    variants = {
        "summary": _skip_changed(run, 3, summary=t("Other customer's words.", "Annat.")),
        "target": _skip_changed(run, 5, target="another-host"),
        "duration": _skip_changed(run, 7, duration_s=1.5),
        "details": _skip_changed(run, 9, details={"reason": "filtered", "x": "<y>"}),
        "vantage": _skip_changed(run, 11, vantage="customer"),
        "catalogue": dataclasses.replace(run, catalogue={**run.catalogue, "admin.agreement": {
            "title": {"en": "Renamed check", "sv": "Omdöpt kontroll"}}}),
    }
    for name, variant in variants.items():
        for lang in ("en", "sv"):
            warm = render_html(variant, lang)
            assert warm == _cold(variant, lang), name
            assert warm != render_html(run, lang), name


def test_the_language_is_part_of_the_key() -> None:
    run = saved_run("bench")
    assert digest(render_html(run, "en")) != digest(render_html(run, "sv"))
    assert render_html(run, "sv") == _cold(run, "sv")
    assert render_html(run, "en") == _cold(run, "en")


def test_long_checks_are_not_kept() -> None:
    """The demo's checks carry kilobytes of evidence each: keeping them would cost memory
    for fragments that do not repeat from one customer to the next."""
    run = saved_run("demo")
    _environment.cache_clear()
    render_html(run, "en")
    assert 0 < _kept() < sum(1 for _ in {r.check_id for r in run.results})


def test_at_most_so_many_fragments_are_kept() -> None:
    run = saved_run("bench")
    _environment.cache_clear()
    for n in range(FRAGMENTS // 30 + 3):
        render_html(dataclasses.replace(run, catalogue={
            cid: {**entry, "title": {"en": f"Check {n}", "sv": f"Kontroll {n}"}}
            for cid, entry in run.catalogue.items()}), "en")
    assert _kept() == FRAGMENTS


def test_a_users_folder_is_never_kept_from(tmp_path: Path) -> None:
    """An edited partial in the user's folder shows in the next report."""
    run = saved_run("bench")
    source = (Path(html.__file__).parent / "templates" / "_checks.html").read_text("utf-8")
    (tmp_path / "_checks.html").write_text(source, encoding="utf-8")
    assert render_html(run, "en", tmp_path) == render_html(run, "en")
    (tmp_path / "_checks.html").write_text(source.replace('class="check"', 'class="chk"'),
                                           encoding="utf-8")
    edited = render_html(run, "en", tmp_path)
    assert 'class="chk"' in edited
    assert 'class="check"' not in edited


def test_a_check_title_follows_its_catalogue_entry() -> None:
    """Check titles are kept per language and check while the run's entry stays equal:
    another title, or the same run's dict changed in place, shows at once."""
    run = saved_run("bench")
    assert "SSH nåbart" in render_html(run, "sv")
    retitled = dataclasses.replace(run, catalogue={**run.catalogue, "remote.ssh": {
        **run.catalogue["remote.ssh"], "title": {"en": "SSH <open>", "sv": "SSH <öppet>"}}})
    assert "SSH &lt;öppet&gt;" in render_html(retitled, "sv")
    retitled.catalogue["remote.ssh"]["title"]["sv"] = "SSH ändrat"
    page = render_html(retitled, "sv")
    assert "SSH ändrat" in page
    assert "öppet" not in page
    assert "SSH nåbart" in render_html(run, "sv")


def test_kept_fragments_stay_small_whatever_the_run() -> None:
    """A 5,000-result run (checks of hundreds of results each) keeps no large fragment."""
    from .test_html_golden import _bench_run

    _environment.cache_clear()
    render_html(_bench_run(), "sv")
    render_html(saved_run("demo"), "sv")
    env = _environment(None)
    kept = [v for ext in env.extensions.values() for v in getattr(ext, "kept", {}).values()]
    assert sum(map(len, kept)) < 2_000_000
    assert max(map(len, kept)) < 100_000
