"""Hostile strings through every field of a run: escaped in the HTML, and — opened in real
headless Chromium from a recording loopback server — nothing executes, nothing is fetched,
the layout holds. Run once as shipped (CSP on) and once with the CSP removed, so escaping
is proven on its own and not only hidden behind the policy."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from accessready.reports.html import CSP, render_html

from .browser import Browser, recording_server
from .conftest import need_tool
from .hostile import LONG_WORD, hostile_run, payloads
from .test_html import outline

DANGEROUS = ("script", "iframe", "img", "svg", "object", "embed", "link:not([rel=icon])",
             "base", "form",
             "input", "video", "audio", "textarea", "button", "frame", "frameset")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'


def strip_csp(html: str) -> str:
    assert html.count(CSP_META.replace("'", "&#39;")) == 1
    return html.replace(CSP_META.replace("'", "&#39;"), "")


# -- without a browser -------------------------------------------------------------------

def test_hostile_run_renders_escaped() -> None:
    html = render_html(hostile_run("http://127.0.0.1:9"), "en")
    doc = outline(html)
    for tag in DANGEROUS:
        assert not doc.tags(tag.split(":")[0]) or tag.startswith("link"), f"<{tag}> in the DOM"
    assert len(doc.tags("link")) == 1 and doc.tags("link")[0].attrs["rel"] == "icon"
    assert len(doc.tags("style")) == 1
    assert len([n for n in doc.tags("meta") if "http-equiv" in n.attrs]) == 1
    for node in doc.nodes:
        for name, value in node.attrs.items():
            assert not name.startswith("on"), f"{name} on <{node.tag}>"
            if name == "href" and node.tag == "a":
                assert value and re.fullmatch(r"#[a-z0-9-]+", value), value
            if name in ("id", "class", "data-requirement"):
                assert value and re.fullmatch(r"[\w .-]+", value), f"{name}={value!r}"
    text = doc.visible()
    assert "<script>fetch(" in text  # shown as text, not dropped
    assert "{{ 7*7 }}" in text and "{% raw %}" in text  # data is never a template
    assert "javascript:fetch(" in text


def test_hostile_characters_are_neutralised() -> None:
    html = render_html(hostile_run("http://127.0.0.1:9"), "en")
    html.encode("utf-8")  # no lone surrogate survived
    for bad in ("\x00", "\x1b", "\x7f", "\x9b", "\u202e", "\u2066", "\ufffe", "\uffff"):
        assert bad not in html, f"{bad!r} reached the report"
    assert "\ufffd" in html


def test_hostile_sizes_are_bounded() -> None:
    html = render_html(hostile_run("http://127.0.0.1:9"), "en")
    assert LONG_WORD not in html
    assert len(html.encode()) < 3_000_000


# -- in a real browser --------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    need_tool("chromium", "chromium")
    b = Browser()
    try:
        yield b
    finally:
        b.close()


def _inspect(b: Browser) -> dict:
    return b.evaluate("""(() => {
      const all = [...document.querySelectorAll('*')];
      return {
        title: document.title,
        pwned: document.body.dataset.pwned || null,
        dangerous: document.querySelectorAll(DANGEROUS_SELECTOR).length,
        styles: document.querySelectorAll('style').length,
        handlers: all.filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
        jsLinks: [...document.querySelectorAll('a[href]')]
                   .filter(e => !e.getAttribute('href').startsWith('#')).length,
        text: document.body.innerText,
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        verdictVisible: (() => { const r = document.getElementById('verdict')
                                  .getBoundingClientRect();
                                 return r.width > 0 && r.height > 0 && r.right <= innerWidth; })(),
      };
    })()""".replace("DANGEROUS_SELECTOR", repr(",".join(DANGEROUS))))


@pytest.mark.browser
@pytest.mark.parametrize("with_csp", [True, False], ids=["as-shipped", "csp-removed"])
@pytest.mark.parametrize("width", [1280, 390])
def test_nothing_executes_nothing_is_fetched_layout_holds(chromium: Browser, with_csp: bool,
                                                          width: int) -> None:
    pages: dict[str, bytes] = {}
    with recording_server(pages) as (base, seen):
        html = render_html(hostile_run(base), "en")
        if not with_csp:
            html = strip_csp(html)
        pages["/report.html"] = html.encode("utf-8")
        chromium.viewport(width, 900, mobile=width < 600)
        chromium.events.clear()
        chromium.open(f"{base}/report.html")
        chromium.settle(1.5)  # time for any timer, refresh or late fetch to fire
        state = _inspect(chromium)
        requested = chromium.requests()
    assert seen == ["/report.html"], f"the page fetched: {seen}"
    assert requested == [f"{base}/report.html"], requested
    assert state["title"] != "PWNED" and state["title"].startswith("<script>")
    assert state["pwned"] is None
    assert state["dangerous"] == 0 and state["handlers"] == 0 and state["jsLinks"] == 0
    assert state["styles"] == 1
    assert "<script>fetch(" in state["text"]
    assert state["scrollWidth"] <= state["innerWidth"], "the page overflows sideways"
    assert state["verdictVisible"]


@pytest.mark.browser
def test_the_harness_sees_a_script_that_does_run(chromium: Browser) -> None:
    """Control: without CSP an injected script runs and is caught — the checks above can fail."""
    pages: dict[str, bytes] = {}
    with recording_server(pages) as (base, seen):
        js = f"fetch('{base}/leak-control');document.title='PWNED'"
        html = strip_csp(render_html(hostile_run(base), "en"))
        pages["/report.html"] = html.replace("</body>", f"<script>{js}</script></body>").encode()
        chromium.open(f"{base}/report.html")
        chromium.settle(1.5)
        title = chromium.evaluate("document.title")
    assert "/leak-control" in seen
    assert title == "PWNED"


@pytest.mark.browser
def test_the_csp_alone_stops_an_injected_script(chromium: Browser) -> None:
    """Defence in depth: were escaping ever broken, the shipped CSP still blocks the script."""
    pages: dict[str, bytes] = {}
    with recording_server(pages) as (base, seen):
        js = f"fetch('{base}/leak-csp');document.title='PWNED'"
        html = render_html(hostile_run(base), "en")
        injected = html.replace("</body>", f"<script>{js}</script><img src='{base}/leak-img'>"
                                           "</body>")
        pages["/report.html"] = injected.encode()
        chromium.open(f"{base}/report.html")
        chromium.settle(1.5)
        title = chromium.evaluate("document.title")
    assert seen == ["/report.html"], seen
    assert title != "PWNED"


def test_payloads_cover_the_named_attack_kinds() -> None:
    corpus = "\n".join(payloads("http://h"))
    for kind in ("<script>", "onerror=", "javascript:", "</style>", "url(", "\ud800",
                 "\u202e", "@import"):
        assert kind in corpus
    assert any(len(p) > 100_000 for p in payloads("http://h"))
