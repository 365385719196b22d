"""The HTML report's structure and content, without a browser (that is test_browser.py)."""

from __future__ import annotations

import dataclasses
import itertools
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from accessready.agent.core.model import Requirement, Result, Run, Status, Verdict, t
from accessready.agent.core.textsafe import EVIDENCE_LIMIT
from accessready.reports import RENDERERS
from accessready.reports.html import CSP, build_context, render, render_html
from accessready.reports.i18n import Translator

from .sample import full_run


@dataclasses.dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""


class Outline(HTMLParser):
    """Every element with its attributes, the heading outline and all visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[Node] = []
        self.headings: list[tuple[int, str]] = []
        self.text: list[str] = []
        self._heading: int | None = None
        self._heading_text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.nodes.append(Node(tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading, self._heading_text = int(tag[1]), []
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if self._heading and tag == f"h{self._heading}":
            self.headings.append((self._heading, " ".join("".join(self._heading_text).split())))
            self._heading = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._heading:
            self._heading_text.append(data)
        if not self._in_style:
            self.text.append(data)

    def tags(self, name: str) -> list[Node]:
        return [n for n in self.nodes if n.tag == name]

    def visible(self) -> str:
        return " ".join("".join(self.text).split())


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    parser.close()
    return parser


def test_renderer_is_registered_and_returns_utf8(sample_run: Run) -> None:
    data = RENDERERS["html"](sample_run, "en")
    assert isinstance(data, bytes)
    assert data.decode("utf-8").startswith("<!DOCTYPE html>")


def test_csp_meta_comes_first_and_forbids_scripts_and_remote_loads(sample_run: Run) -> None:
    html = render_html(sample_run, "en")
    doc = outline(html)
    head = [n for n in doc.nodes[: doc.nodes.index(doc.tags("body")[0])]]
    assert [n.tag for n in head[:4]] == ["html", "head", "meta", "meta"]
    assert head[2].attrs == {"charset": "utf-8"}
    assert head[3].attrs["http-equiv"] == "Content-Security-Policy"
    policy = head[3].attrs["content"]
    assert policy == CSP
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives  # default-src 'none' covers every script
    assert directives["style-src"] == "'unsafe-inline'"
    assert directives["img-src"] == "data:"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'none'"


def test_self_contained_no_script_no_remote_reference(sample_run: Run) -> None:
    html = render_html(sample_run, "en")
    doc = outline(html)
    for banned in ("script", "iframe", "img", "object", "embed", "form", "base"):
        assert not doc.tags(banned), f"<{banned}> in the report"
    [icon] = doc.tags("link")  # the only link: an inline tab icon, so nothing asks for one
    assert icon.attrs["rel"] == "icon" and icon.attrs["href"].startswith("data:image/svg+xml,")
    for node in doc.nodes:
        for name, value in node.attrs.items():
            assert not name.startswith("on"), f"event handler {name} on <{node.tag}>"
            if name in ("href", "src", "action", "srcset", "poster", "data") and node is not icon:
                assert value and value.startswith("#"), f"{name}={value!r} leaves the page"
    assert len(doc.tags("style")) == 1
    assert "url(" not in html and "@import" not in html


def test_header_shows_customer_time_who_and_where_never_argv(sample_run: Run) -> None:
    run = dataclasses.replace(sample_run, profile_path="/secret/dir/exempel.toml")
    doc = outline(render_html(run, "en"))
    text = doc.visible()
    assert doc.headings[0] == (1, "Exempel kommun")
    for expected in ("2026-11-25 09:14:03", "anna.tekniker", "LAPTOP-ENG07", "Windows 10",
                     "exempel.toml", "11.4 s"):
        assert expected in text
    assert "/secret/dir" not in text  # the profile's name, not where it lives
    assert "--html" not in text.split("Re-render it with")[0]  # no command line


def test_verdict_is_large_coloured_and_first_in_main(sample_run: Run) -> None:
    doc = outline(render_html(sample_run, "en"))
    verdict = [n for n in doc.nodes if n.attrs.get("id") == "verdict"]
    assert verdict and "v-not_ready" in (verdict[0].attrs["class"] or "")
    assert doc.headings[1] == (2, "Verdict")
    assert "✕ Not ready" in doc.visible()  # the verdict's glyph is in the page itself


@pytest.mark.parametrize(("verdict", "words"), [
    (Verdict.READY, "Ready"), (Verdict.READY_WITH_WARNINGS, "Ready with warnings"),
    (Verdict.NOT_READY, "Not ready"), (Verdict.UNKNOWN, "Unknown")])
def test_every_verdict_renders(sample_run: Run, verdict: Verdict, words: str) -> None:
    html = render_html(dataclasses.replace(sample_run, verdict=verdict), "en")
    assert f'class="verdict v-{verdict.value}"' in html
    assert f"</span> {words}</p>" in html


def test_one_line_per_requirement_in_order_with_status_word(sample_run: Run) -> None:
    doc = outline(render_html(sample_run, "en"))
    lines = [n for n in doc.nodes if n.tag == "li" and "data-requirement" in n.attrs]
    assert [n.attrs["data-requirement"] for n in lines] == [r.value for r in Requirement]
    text = doc.visible()
    for title, status in (("Agreements and contacts", "Pass"),  # badge word, then title
                          ("Remote-access method", "Fail"), ("Support account", "Fail")):
        assert f"{status} {title}" in text
    assert text.count("Blocks support") >= 2


def test_headings_form_an_outline_without_skipped_levels(sample_run: Run) -> None:
    doc = outline(render_html(sample_run, "en"))
    levels = [level for level, _ in doc.headings]
    assert levels.count(1) == 1 and levels[0] == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, f"heading jumps from h{before} to h{after}"
    h2 = [text for level, text in doc.headings if level == 2]
    assert h2 == ["Verdict", "Requirements", "What the customer must do",
                  "What the engineer must do", "Checks in detail"]


def test_status_is_never_told_by_colour_alone(sample_run: Run) -> None:
    html = render_html(sample_run, "en")
    badges = re.findall(r'<span class="b s-(\w+)">([^<]+)</span>', html)
    assert len(badges) > len(sample_run.results)
    words = {"pass": "Pass", "warn": "Warning", "fail": "Fail", "error": "Error",
             "skip": "Skipped"}
    for status, word in badges:
        assert word == words[status]
    # and a glyph before each word, from the stylesheet
    for status in words:
        assert re.search(rf'\.b\.s-{status}::before {{ content: "[^"\s]+', html), status


def test_actions_list_blocking_first_deduplicated_with_targets(sample_run: Run) -> None:
    ctx = build_context(sample_run, "en")
    actions = ctx["actions"]
    # the error is medium: access was decided (it blocks), so it decided nothing; among
    # the medium ones the certificate comes first, having a due date
    assert [a.badge.status for a in actions] == ["fail", "fail", "warn", "error", "warn"]
    assert [a.blocking for a in actions] == [True, True, False, True, False]
    login = [a for a in actions if a.check_id == "account.login"]
    assert len(login) == 1 and login[0].targets == ["adfs01", "wap01"]
    assert login[0].text.startswith("Unlock the support account")
    # no action for pass or skip
    assert not [a for a in actions if a.badge.status in ("pass", "skip")]


def test_actions_cap_the_target_list(sample_run: Run) -> None:
    fail = next(r for r in sample_run.results if r.check_id == "account.login")
    many = tuple(dataclasses.replace(fail, target=f"srv{i:02}") for i in range(20))
    ctx = build_context(dataclasses.replace(sample_run, results=many), "en")
    [action] = ctx["actions"]
    assert len(action.targets) == 6 and action.more == 14
    assert "and 14 more" in render_html(dataclasses.replace(sample_run, results=many), "en")


def test_nothing_to_do_when_everything_passed(sample_run: Run) -> None:
    passing = tuple(dataclasses.replace(r, status=Status.PASS, remediation=None)
                    for r in sample_run.results)
    html = render_html(dataclasses.replace(sample_run, results=passing,
                                           verdict=Verdict.READY), "en")
    assert "Nothing: every check passed." in html


def test_every_result_has_status_target_summary_evidence_and_remediation(
        sample_run: Run) -> None:
    html = render_html(sample_run, "en")
    doc = outline(html)
    results = [n for n in doc.nodes if n.tag == "li" and n.attrs.get("class") == "r"]
    assert len(results) == len(sample_run.results)
    assert len(doc.tags("details")) == len(sample_run.results)
    text = doc.visible()
    for r in sample_run.results:
        assert r.summary.en in text
        assert r.target in text
        if r.remediation and r.status is not Status.PASS:
            assert r.remediation.en in text
    # evidence is pretty JSON, escaped
    assert "&#34;received&#34;: {" in html
    assert "X-Aggregate-Auth: 1" in html


def test_checks_grouped_under_their_requirement_with_title_and_id(sample_run: Run) -> None:
    doc = outline(render_html(sample_run, "en"))
    h3 = [text for level, text in doc.headings if level == 3]
    assert len(h3) == len(Requirement)
    h4 = [text for level, text in doc.headings if level == 4]
    assert "Fail Support account login account.login" in " | ".join(h4)


def test_unknown_check_ids_and_missing_catalogue_fall_back_to_the_id(sample_run: Run) -> None:
    extra = Result(check_id="thirdparty.thing", target="x", status=Status.WARN,
                   summary=t("Odd.", "Konstigt."), requirement=Requirement.SERVERS)
    run = dataclasses.replace(sample_run, results=(*sample_run.results, extra), catalogue={})
    html = render_html(run, "sv")
    assert "thirdparty.thing" in html and "Konstigt." in html


def test_evidence_is_cut_per_result(sample_run: Run) -> None:
    big = Result(check_id="adfs.metadata", target="sts", status=Status.FAIL,
                 summary=t("Huge.", "Stor."), details={"body": "x" * 5_000_000},
                 requirement=Requirement.ADFS)
    html = render_html(dataclasses.replace(sample_run, results=(big,)), "en")
    assert len(html) < EVIDENCE_LIMIT + 40_000
    assert "Evidence cut at 20\u202f000 characters" in html


def test_unserialisable_or_deep_evidence_does_not_break_the_report(sample_run: Run) -> None:
    deep: list = []
    node = deep
    for _ in range(5_000):
        node.append([])
        node = node[0]
    odd = Result(check_id="x.y", target="t", status=Status.ERROR, summary=t("a", "b"),
                 details={"deep": deep, "obj": object(), "raw": b"\xff\xfe"},
                 requirement=Requirement.ADMIN)
    html = render_html(dataclasses.replace(sample_run, results=(odd,)), "en")
    assert "Error" in html


def test_swedish_report_has_no_english_ui_text(sample_run: Run) -> None:
    sv = render_html(full_run("sv"), "sv")
    en = render_html(sample_run, "en")
    assert '<html lang="sv">' in sv and '<html lang="en">' in en
    for english in ("What the customer must do", "Checks in detail", "Requirements",
                    "Blocks support", "What to do", "Evidence", "Not ready", "Run by"):
        assert english not in sv
        assert english in en
    for swedish in ("Det här behöver kunden göra", "Inte redo", "Hindrar supporten",
                    "Åtgärd", "Underlag", "11,4 s", "Lås upp supportkontot"):
        assert swedish in sv


def test_lang_argument_wins_over_the_runs_language(sample_run: Run) -> None:
    assert '<html lang="sv">' in render_html(sample_run, "sv")
    assert '<html lang="en">' in render_html(full_run("sv"), "en")
    assert '<html lang="sv">' in render_html(full_run("sv"), None)
    assert '<html lang="en">' in render_html(sample_run, "de")  # unknown: English


def test_interrupted_run_says_so(sample_run: Run) -> None:
    html = render_html(dataclasses.replace(sample_run, interrupted=True), "en")
    assert "The run was interrupted" in html


def test_no_results_at_all(sample_run: Run) -> None:
    run = dataclasses.replace(sample_run, results=(), verdict=Verdict.UNKNOWN)
    doc = outline(render_html(run, "en"))
    assert "No checks ran for this requirement." in doc.visible()


def test_templates_are_autoescaped_and_strict(sample_run: Run, tmp_path: Path) -> None:
    """A user partial overrides the package's (ChoiceLoader), is autoescaped and strict."""
    (tmp_path / "_footer.html").write_text("<footer>{{ customer }}|OVERRIDDEN</footer>")
    run = dataclasses.replace(sample_run, customer="<b>Kund & Co</b>")
    html = render_html(run, "en", template_dir=tmp_path)
    assert "<footer>&lt;b&gt;Kund &amp; Co&lt;/b&gt;|OVERRIDDEN</footer>" in html
    (tmp_path / "_footer.html").write_text("<footer>{{ no_such_value }}</footer>")
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        render_html(run, "en", template_dir=tmp_path)


def test_translator_rejects_unknown_ids() -> None:
    with pytest.raises(KeyError):
        Translator("en")("no.such.string")


def test_jinja_is_imported_only_when_rendering() -> None:
    code = ("import sys, accessready.agent.cli.main, accessready.reports, "
            "accessready.reports.html\n"
            "assert 'jinja2' not in sys.modules, 'jinja2 imported eagerly'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_render_is_deterministic(sample_run: Run) -> None:
    assert render(sample_run, "en") == render(sample_run, "en")


def test_demo_report_shows_every_requirement(demo_run: Run) -> None:
    doc = outline(render_html(demo_run, "en"))
    text = doc.visible()
    assert Translator("en").verdict(demo_run.verdict) in text
    for req in Requirement:
        assert Translator("en").requirement(req) in text
    assert "admin.contacts" in text
