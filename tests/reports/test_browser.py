"""The report looked at, not only parsed: the demo and a full sample opened in headless
Chromium at desktop and phone widths, in light and dark schemes, and printed as A4 PDF.

Screenshots and PDFs land in a temporary folder, or in ``$ACCESSREADY_SHOTS`` for a human
to look at; nothing binary is kept in the repository.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from accessready.agent.core.model import Requirement, Run
from accessready.reports.html import render
from accessready.reports.i18n import Translator

from .browser import Browser, png_size, recording_server
from .conftest import need_tool
from .sample import full_run

pytestmark = pytest.mark.browser

WIDTHS = [(1280, 900, False), (390, 844, True)]

MEASURE = """(() => {
  const box = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return {top: r.top + scrollY, left: r.left, right: r.right, width: r.width,
            height: r.height, visible: s.visibility === 'visible' && s.display !== 'none'
            && parseFloat(s.opacity) > 0, text: el.innerText, color: s.color,
            background: s.backgroundColor, fontSize: parseFloat(s.fontSize)}; };
  const verdict = document.getElementById('verdict');
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: innerWidth, innerHeight: innerHeight,
    verdict: box(verdict),
    word: box(verdict.querySelector('.word')),
    requirements: [...document.querySelectorAll('[data-requirement]')].map(el => ({...box(el),
      glyph: getComputedStyle(el.querySelector('.b'), '::before').content})),
    bodyBackground: getComputedStyle(document.body).backgroundColor,
    bodyColor: getComputedStyle(document.body).color,
    overflowing: [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > innerWidth + 1
                   && !e.closest('pre') && getComputedStyle(e).position !== 'fixed')
      .map(e => e.tagName + '.' + e.className).slice(0, 5),
  };
})()"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    need_tool("chromium", "chromium")
    b = Browser()
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def served(demo_run: Run) -> Iterator[str]:
    pages = {
        "/demo-en.html": render(demo_run, "en"),
        "/demo-sv.html": render(demo_run, "sv"),
        "/full-en.html": render(full_run("en"), "en"),
        "/full-sv.html": render(full_run("sv"), "sv"),
    }
    with recording_server(pages) as (base, seen):
        yield base
        extra = [p for p in seen if p not in pages]
        assert not extra, f"reports fetched {extra}"


def _rgb(css: str) -> tuple[int, int, int]:
    return tuple(int(v) for v in re.findall(r"\d+", css)[:3])  # type: ignore[return-value]


def _lum(css: str) -> float:
    return sum(_rgb(css)) / 3


def _expectations(name: str, lang: str, demo_run: Run) -> tuple[str, list[str]]:
    run = demo_run if name == "demo" else full_run(lang)
    tr = Translator(lang)
    return tr.verdict(run.verdict), [tr.requirement(r) for r in Requirement]


@pytest.mark.parametrize(("width", "height", "mobile"), WIDTHS, ids=["desktop", "phone"])
@pytest.mark.parametrize("page", ["demo-en", "demo-sv", "full-en", "full-sv"])
def test_verdict_and_every_requirement_are_visible(
        chromium: Browser, served: str, demo_run: Run, shots_dir: Path, page: str, width: int,
        height: int, mobile: bool) -> None:
    name, lang = page.split("-")
    verdict_words, titles = _expectations(name, lang, demo_run)
    chromium.color_scheme("light")
    chromium.viewport(width, height, mobile=mobile)
    chromium.open(f"{served}/{page}.html")
    m = chromium.evaluate(MEASURE)

    assert m["scrollWidth"] <= m["innerWidth"], f"sideways overflow: {m['overflowing']}"
    assert not m["overflowing"], m["overflowing"]
    v = m["verdict"]
    assert v["visible"] and v["width"] > 0.8 * min(width, 992) and v["height"] > 60
    assert v["top"] < m["innerHeight"], "the verdict is not on the first screen"
    assert verdict_words in m["word"]["text"]
    assert m["word"]["fontSize"] >= 30, "the verdict is not in large type"
    assert _rgb(v["background"]) != (255, 255, 255), "the verdict has no colour"
    lines = m["requirements"]
    assert len(lines) == len(Requirement)
    for title, line in zip(titles, lines, strict=True):
        assert line["visible"] and line["height"] > 10 and line["right"] <= width
        assert title in line["text"]
        assert line["glyph"].strip('"').strip(), "status glyph missing"

    shot = chromium.screenshot(shots_dir / f"{page}-{width}.png")
    assert png_size(shot) == (width, height)


@pytest.mark.parametrize("page", ["full-en", "demo-en"])
def test_dark_scheme_is_dark_and_readable(chromium: Browser, served: str, shots_dir: Path,
                                          page: str) -> None:
    chromium.viewport(1280, 900)
    chromium.color_scheme("dark")
    try:
        chromium.open(f"{served}/{page}.html")
        m = chromium.evaluate(MEASURE)
        chromium.screenshot(shots_dir / f"{page}-dark.png")
    finally:
        chromium.color_scheme("light")
    assert _lum(m["bodyBackground"]) < 40 and _lum(m["bodyColor"]) > 200
    chromium.open(f"{served}/{page}.html")
    light = chromium.evaluate(MEASURE)
    assert _lum(light["bodyBackground"]) > 240 and _lum(light["bodyColor"]) < 60


@pytest.mark.parametrize("page", ["full-en", "full-sv", "demo-en"])
def test_prints_on_a4_with_verdict_and_every_requirement(
        chromium: Browser, served: str, demo_run: Run, shots_dir: Path, page: str) -> None:
    pdftotext = need_tool("pdftotext", "poppler-utils")
    pdfinfo = need_tool("pdfinfo", "poppler-utils")
    name, lang = page.split("-")
    verdict_words, titles = _expectations(name, lang, demo_run)
    chromium.viewport(1280, 900)
    chromium.color_scheme("dark")  # paper is light whatever the screen prefers
    try:
        chromium.open(f"{served}/{page}.html")
        pdf = chromium.pdf(shots_dir / f"{page}.pdf")
    finally:
        chromium.color_scheme("light")
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, timeout=60,
                          check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2, f"not A4: {width} x {height}"
    first = subprocess.run([pdftotext, "-layout", "-f", "1", "-l", "1", str(pdf), "-"],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert verdict_words in first, "the verdict is not on page 1"
    text = " ".join(subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True,
                                   timeout=60, check=True).stdout.split())
    for title in titles:
        assert title in text, f"{title!r} missing from the PDF"
    assert Translator(lang)("report.print_note") in text
