"""The report's colours: WCAG AA contrast in light and dark schemes, status never by colour
alone, print styles present. Parses the shipped ``report.css`` itself."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

STATUSES = ("pass", "warn", "fail", "error", "skip")
VERDICTS = ("ready", "ready_with_warnings", "not_ready", "unknown")
AA = 4.5


def css_text() -> str:
    return files("accessready.reports").joinpath("templates/report.css").read_text("utf-8")


def schemes() -> dict[str, dict[str, str]]:
    """The custom properties of the light ``:root`` and of the dark-scheme ``:root``."""
    css = css_text()
    light_block = re.search(r"^:root\s*\{(.*?)\n\}", css, re.S | re.M)
    dark_media = re.search(r"@media[^{]*prefers-color-scheme:\s*dark[^{]*\{\s*:root\s*\{(.*?)\}",
                           css, re.S)
    assert light_block and dark_media, "report.css lost its light or dark :root block"
    out = {}
    for name, block in (("light", light_block.group(1)), ("dark", dark_media.group(1))):
        out[name] = dict(re.findall(r"(--[\w-]+)\s*:\s*(#[0-9a-fA-F]{6})", block))
    return out


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def pairs() -> list[tuple[str, str]]:
    """Every foreground/background pair the stylesheet puts text on."""
    out = [("--fg", "--bg"), ("--muted", "--bg"), ("--link", "--bg"), ("--fg", "--panel"),
           ("--muted", "--panel"), ("--link", "--panel"), ("--fg", "--code-bg"),
           ("--muted", "--code-bg")]
    for s in STATUSES:
        out += [(f"--{s}-fg", f"--{s}-bg"), (f"--{s}-fg", "--bg")]
    out += [(f"--{v}-fg", f"--{v}-bg") for v in VERDICTS]
    # the count chips sit on the verdict banner: their own background carries the text
    return out


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("fg", "bg"), pairs())
def test_text_colours_reach_wcag_aa(scheme: str, fg: str, bg: str) -> None:
    colours = schemes()[scheme]
    assert fg in colours and bg in colours, f"{scheme}: {fg} or {bg} is not defined"
    ratio = contrast(colours[fg], colours[bg])
    assert ratio >= AA, f"{scheme}: {fg} on {bg} has contrast {ratio:.2f} < {AA}"


def test_contrast_formula_is_right() -> None:
    """Pins the helper itself against WCAG's known values, so the checks above can fail."""
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_dark_scheme_defines_every_colour_of_the_light_one() -> None:
    light, dark = schemes()["light"], schemes()["dark"]
    assert set(light) == set(dark)


def test_print_styles_force_a4_and_light_colours() -> None:
    css = css_text()
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", css)
    assert "@media print" in css
    # the dark palette must not reach paper: it is guarded by `screen`
    assert re.search(r"@media screen and \(prefers-color-scheme: dark\)", css)


def test_css_loads_nothing() -> None:
    """No url(), @import or font download: the report is self-contained."""
    css = css_text()
    assert "url(" not in css
    assert "@import" not in css
    assert "@font-face" not in css
