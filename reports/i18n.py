"""The reports' own words in English and Swedish.

UI strings live in ``translations/ui.toml`` (one table per string id, ``en`` and ``sv``
beside each other, so a missing translation shows in review). Check titles and
remediation come with each check; this module only finds the right language of them.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from accessready.agent.core.model import LANGUAGES, Requirement, Status, Text, Verdict

DEFAULT_LANG = "en"


def normalise_lang(lang: str | None, fallback: str = DEFAULT_LANG) -> str:
    """``lang`` if it is one the reports speak, else ``fallback``."""
    if lang in LANGUAGES:
        return lang  # type: ignore[return-value]
    return fallback if fallback in LANGUAGES else DEFAULT_LANG


def _flatten(table: Mapping[str, Any], prefix: str, out: dict[str, dict[str, str]]) -> None:
    if any(lang in table and isinstance(table[lang], str) for lang in LANGUAGES):
        out[prefix] = {lang: table.get(lang, "") for lang in LANGUAGES}
    for key, value in table.items():
        if isinstance(value, Mapping):
            _flatten(value, f"{prefix}.{key}" if prefix else key, out)


@functools.cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every UI string id → ``{"en": ..., "sv": ...}``, read once from ``ui.toml``."""
    raw = files("accessready.reports").joinpath("translations/ui.toml").read_text("utf-8")
    out: dict[str, dict[str, str]] = {}
    _flatten(tomllib.loads(raw), "", out)
    return out


class Translator:
    """The UI strings of one language: ``tr("status.pass")``, ``tr("count.fail", n=3)``.

    A missing id is a KeyError on purpose: a typo in a template must fail the tests, not
    print an empty label.
    """

    def __init__(self, lang: str | None) -> None:
        self.lang = normalise_lang(lang)
        self._strings = {key: texts[self.lang] for key, texts in catalogue().items()}

    def __call__(self, key: str, **values: object) -> str:
        text = self._strings[key]
        return text.format(**values) if values else text

    def text(self, value: Text | None) -> str:
        """A :class:`Text` in this language (English if that one is empty); "" for None.

        Built-in checks always have both (a meta-test sees to it); a third-party plugin's
        result, or an old saved result, may not, and then English beats a blank line.
        """
        if value is None:
            return ""
        return value.get(self.lang) or value.en

    def status(self, status: Status | str) -> str:
        """The word for a status, e.g. "Underkänd"."""
        return self(f"status.{Status(status).value}")

    def verdict(self, verdict: Verdict | str) -> str:
        """The verdict's words, e.g. "Ready with warnings"."""
        return self(f"verdict.{Verdict(verdict).value}")

    def requirement(self, requirement: Requirement | str) -> str:
        """A requirement's title; its id when the reports have no title for it."""
        name = requirement.value if isinstance(requirement, Requirement) else str(requirement)
        return self._strings.get(f"requirement.{name}", name)

    def vantage(self, label: str) -> str:
        """A vantage label for people: the known kinds translated, a user's own as is."""
        return self(f"vantage.{label}") if label in ("engineer", "customer", "audit") \
            else label

    def count(self, status: Status | str, n: int) -> str:
        """"3 warnings", "1 varning": a status count with the right plural form; the
        bucket may also be ``"waived"`` (:mod:`accessready.reports.counts`)."""
        form = "one" if n == 1 else "other"
        key = "waived" if status == "waived" else Status(status).value
        return self(f"count.{key}.{form}", n=n)

    def seconds(self, value: float) -> str:
        """A duration in seconds, with the language's decimal sign."""
        if value >= 100:
            number = f"{value:.0f}"
        elif value >= 10:
            number = f"{value:.1f}"
        else:
            number = f"{value:.2f}"
        if self.lang == "sv":
            number = number.replace(".", ",")
        return self("checks.seconds", s=number)


def check_title(catalogue_entries: Mapping[str, Any], check_id: str, lang: str) -> str:
    """A check's title from the run's catalogue; the id itself when the run has none."""
    entry = catalogue_entries.get(check_id)
    if isinstance(entry, Mapping) and entry.get("title"):
        title = Text.from_json(entry["title"]).get(lang)
        if title:
            return title
    return check_id


def check_description(catalogue_entries: Mapping[str, Any], check_id: str, lang: str) -> str:
    """A check's one-sentence description from the run's catalogue, or empty."""
    entry = catalogue_entries.get(check_id)
    if isinstance(entry, Mapping) and entry.get("description"):
        return Text.from_json(entry["description"]).get(lang)
    return ""
