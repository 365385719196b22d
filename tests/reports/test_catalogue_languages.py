"""Meta-test: every registered check speaks Swedish and English.

Loads the real registry (built-in and installed plugins) and fails when a check's title
or description, or any of its remediation entries, lacks a non-empty English or Swedish
text, or when the two are identical for a long text (a sign the translation is missing).
The generic remediation the check API falls back on is held to the same rule.
"""

from __future__ import annotations

import pytest

from accessready.agent.core.model import Text
from accessready.agent.plugin.checkapi import GENERIC_REMEDIATION, Check
from accessready.agent.plugin.registry import load_registry

LONG = 24  # below this, "WinRM" / "TeamViewer" may rightly read the same in both


def _registry_checks() -> list[Check]:
    registry = load_registry()
    assert not registry.problems, f"plugins failed to load: {registry.problems}"
    assert registry.checks, "the registry found no checks at all"
    return list(registry.checks)


def _problems(where: str, text: object, required: bool = True) -> list[str]:
    if not isinstance(text, Text):
        return [f"{where}: not a Text (got {type(text).__name__})"]
    out = []
    if required or text.en or text.sv:
        if not text.en.strip():
            out.append(f"{where}: English text is empty")
        if not text.sv.strip():
            out.append(f"{where}: Swedish text is empty")
    if len(text.en) >= LONG and text.en.strip() == text.sv.strip():
        out.append(f"{where}: Swedish is identical to English ({text.en[:40]!r}…)")
    return out


def check_languages(check: Check) -> list[str]:
    """Every language problem of one check."""
    out = _problems(f"{check.id} title", check.title)
    out += _problems(f"{check.id} description", check.description)
    for key, text in (check.remediation or {}).items():
        out += _problems(f"{check.id} remediation[{key!r}]", text)
    return out


@pytest.mark.parametrize("check", _registry_checks(), ids=lambda c: c.id)
def test_check_has_both_languages(check: Check) -> None:
    problems = check_languages(check)
    assert not problems, "\n".join(problems)


def test_generic_remediation_has_both_languages() -> None:
    problems = [p for key, text in GENERIC_REMEDIATION.items()
                for p in _problems(f"generic remediation[{key!r}]", text)]
    assert not problems, "\n".join(problems)


def test_the_meta_test_can_fail() -> None:
    """A check missing Swedish, or with Swedish copied from English, is caught."""
    from accessready.agent.core.model import Requirement, t

    class Broken(Check):
        id = "broken.check"
        title = t("A title", "")
        description = t("Checks something rather important here.",
                        "Checks something rather important here.")
        requirement = Requirement.ADMIN
        remediation = {"default": t("", "Gör något.")}

    problems = check_languages(Broken())
    assert any("title: Swedish text is empty" in p for p in problems)
    assert any("description: Swedish is identical" in p for p in problems)
    assert any("remediation['default']: English text is empty" in p for p in problems)
