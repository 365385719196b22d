"""The reports' UI strings: both languages, same placeholders, every id used exists."""

from __future__ import annotations

import re
import string
from importlib.resources import files

import pytest

from accessready.agent.core.model import Requirement, Status, Verdict
from accessready.reports.i18n import Translator, catalogue, normalise_lang

LONG = 12  # shorter strings may rightly be the same in both languages ("WinRM", "{n} fel")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(catalogue()))
def test_every_ui_string_has_both_languages(key: str) -> None:
    texts = catalogue()[key]
    assert texts["en"].strip(), f"{key}: English text is empty"
    assert texts["sv"].strip(), f"{key}: Swedish text is empty"
    assert placeholders(texts["en"]) == placeholders(texts["sv"]), f"{key}: placeholders differ"
    if len(texts["en"]) > LONG and key not in {"report.product"}:
        assert texts["en"] != texts["sv"], f"{key}: Swedish is a copy of the English"


def _used_ids() -> set[str]:
    used: set[str] = set()
    root = files("accessready.reports")
    sources = [root.joinpath("templates").joinpath(name).read_text("utf-8")
               for name in ("base.html", "_header.html", "_verdict.html", "_requirements.html",
                            "_actions.html", "_checks.html", "_footer.html")]
    sources += [root.joinpath(f"{m}.py").read_text("utf-8")
                for m in ("html", "junit", "nagios", "prometheus")]
    for text in sources:
        used |= set(re.findall(r"""\btr\(\s*["']([\w.]+)["']""", text))
    return used


def test_every_id_the_templates_use_exists() -> None:
    used = _used_ids()
    assert used, "found no tr(...) calls: the scan is broken"
    assert not used - set(catalogue())


def test_every_status_verdict_and_requirement_has_words() -> None:
    for lang in ("en", "sv"):
        tr = Translator(lang)
        for s in Status:
            assert tr.status(s)
            assert tr.count(s, 1) and tr.count(s, 2)
        for v in Verdict:
            assert tr.verdict(v)
            assert tr(f"verdict.explain.{v.value}")
        for r in Requirement:
            assert tr.requirement(r) != r.value, f"{lang}: no title for requirement {r}"


def test_plural_forms() -> None:
    assert Translator("en").count("warn", 1) == "1 warning"
    assert Translator("en").count("warn", 3) == "3 warnings"
    assert Translator("sv").count("fail", 1) == "1 underkänd"
    assert Translator("sv").count("fail", 2) == "2 underkända"


def test_seconds_use_the_languages_decimal_sign() -> None:
    assert Translator("en").seconds(1.5) == "1.50 s"
    assert Translator("sv").seconds(1.5) == "1,50 s"
    assert Translator("sv").seconds(123.4) == "123 s"


def test_unknown_language_falls_back_to_english() -> None:
    assert normalise_lang("de") == "en"
    assert normalise_lang(None, "sv") == "sv"
    assert Translator("xx").lang == "en"


def test_a_missing_swedish_text_falls_back_to_english() -> None:
    from accessready.agent.core.model import Text

    assert Translator("sv").text(Text(en="Only English", sv="")) == "Only English"
    assert Translator("sv").text(Text(en="x", sv="Svenska")) == "Svenska"
    assert Translator("sv").text(None) == ""
