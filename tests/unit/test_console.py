"""Windows console behaviour, decided through a fake kernel32 (issue 15, items 2 and 3).

Windows cannot run here; the fake has kernel32's prototypes, so the ctypes calls are the
ones Windows gets.
"""

from __future__ import annotations

import io

import pytest

from accessready.agent.cli.common import pick_lang
from accessready.agent.core.console import ENABLE_VIRTUAL_TERMINAL_PROCESSING, kernel32, ui_language
from accessready.reports.terminal import render_table, use_colour

from .test_terminal import _run
from .winconsole import FakeConsoleStream, FakeKernel32

VT = ENABLE_VIRTUAL_TERMINAL_PROCESSING


@pytest.fixture(autouse=True)
def _colour_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)


# -- item 2: colour on Windows ------------------------------------------------------------

def test_conhost_gets_vt_switched_on_then_colour() -> None:
    k32 = FakeKernel32(mode=0x3)  # conhost's default: processed output, wrap at EOL
    assert use_colour(FakeConsoleStream(1), platform="win32", k32=k32)
    assert ("SetConsoleMode", 0x54, 0x3 | VT) in k32.calls and k32.mode == 0x3 | VT


def test_stderr_console_uses_the_stderr_handle() -> None:
    k32 = FakeKernel32(mode=0x3)
    assert use_colour(FakeConsoleStream(2), platform="win32", k32=k32)
    assert ("SetConsoleMode", 0x58, 0x3 | VT) in k32.calls


def test_windows_terminal_already_has_vt_and_is_left_alone() -> None:
    k32 = FakeKernel32(mode=0x3 | VT)
    assert use_colour(FakeConsoleStream(1), platform="win32", k32=k32)
    assert not any(call[0] == "SetConsoleMode" for call in k32.calls)


def test_console_that_refuses_vt_gets_no_escapes() -> None:
    """Windows before 10 1511: SetConsoleMode fails; the table must be plain text."""
    k32 = FakeKernel32(mode=0x3, accept_vt=False)
    colour = use_colour(FakeConsoleStream(1), platform="win32", k32=k32)
    assert colour is False
    assert "\x1b" not in render_table(_run(), "en", colour=colour)


def test_a_tty_that_is_no_console_gets_no_colour() -> None:
    """The NUL device says isatty() on Windows, but has no console mode."""
    assert not use_colour(FakeConsoleStream(1), platform="win32", k32=FakeKernel32(mode=None))
    # a descriptor that is neither stdout nor stderr has no standard handle to ask
    assert not use_colour(FakeConsoleStream(7), platform="win32", k32=FakeKernel32())


def test_no_color_wins_over_a_vt_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    k32 = FakeKernel32(mode=0x3 | VT)
    assert not use_colour(FakeConsoleStream(1), platform="win32", k32=k32)
    assert k32.calls == []


def test_posix_terminal_needs_no_console_api() -> None:
    k32 = FakeKernel32(mode=None)
    assert use_colour(FakeConsoleStream(1), platform="linux", k32=k32)
    assert not use_colour(io.StringIO(), platform="linux", k32=k32)
    assert k32.calls == []


def test_no_kernel32_off_windows() -> None:
    assert kernel32() is None


# -- item 3: language from the Windows display language ----------------------------------

@pytest.mark.parametrize(("langid", "lang"), [
    (0x041D, "sv"),  # sv-SE
    (0x081D, "sv"),  # sv-FI
    (0x0409, "en"),  # en-US
    (0x0407, "en"),  # de-DE: no German report, English it is
    (0x1400, "en"),  # LOCALE_CUSTOM_UI_DEFAULT (a language interface pack)
    (0, None),       # Windows said nothing
])
def test_ui_language_from_the_langid(langid: int, lang: str | None) -> None:
    assert ui_language(FakeKernel32(langid=langid)) == lang


def test_ui_language_off_windows_is_none() -> None:
    assert ui_language() is None


def test_swedish_windows_without_locale_variables_gets_swedish() -> None:
    windows_sv = FakeKernel32(langid=0x041D)
    assert pick_lang(None, None, environ={}, ui_language=lambda: ui_language(windows_sv)) \
        == "sv"


@pytest.mark.parametrize(("option", "profile", "environ", "expected"), [
    ("en", "sv", {"LANG": "sv_SE.UTF-8"}, "en"),          # --lang first
    (None, "en", {"LANG": "sv_SE.UTF-8"}, "en"),          # then the profile
    (None, None, {"LANG": "en_US.UTF-8"}, "en"),          # then the locale, over Windows
    (None, None, {"LC_ALL": "C"}, "en"),                  # a set variable still counts
    (None, None, {"LC_MESSAGES": "sv_SE"}, "sv"),
    (None, None, {}, "sv"),                               # then the Windows UI language
])
def test_precedence_of_language_sources(option: str | None, profile: str | None,
                                        environ: dict[str, str], expected: str) -> None:
    windows_sv = FakeKernel32(langid=0x041D)
    assert pick_lang(option, profile, environ=environ,
                      ui_language=lambda: ui_language(windows_sv)) == expected


def test_english_when_nothing_says() -> None:
    assert pick_lang(None, None, environ={}, ui_language=lambda: None) == "en"
    assert pick_lang(None, None, environ={"LANG": ""}) == "en"  # Linux: no Windows to ask


# -- item 1: the streams themselves (the CLI is tested end to end in integration) ---------

class _Stubborn(io.TextIOWrapper):
    """A stream that refuses a new encoding, as one that has been read from does."""

    def reconfigure(self, **kwargs: object) -> None:  # type: ignore[override]
        if "encoding" in kwargs:
            raise ValueError("not possible to change the encoding now")
        super().reconfigure(**kwargs)  # type: ignore[arg-type]


def test_utf8_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    from accessready.agent.core.console import utf8_streams

    out = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    err = _Stubborn(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    utf8_streams()
    out.write("Bedömning → Čohkkiras\n")
    err.write("fel → här\n")
    out.flush()
    err.flush()
    assert out.buffer.getvalue().decode("utf-8") == "Bedömning → Čohkkiras\n"
    assert err.buffer.getvalue() == b"fel ? h?r\n"  # its own encoding, but no crash
    monkeypatch.setattr("sys.stdout", None)  # pythonw has no streams at all
    utf8_streams()
