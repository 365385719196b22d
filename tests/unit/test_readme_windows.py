"""The README's Windows section (issue 15 items 7 and 9) and the two-command quick start.

The section must cover installing per user (online and offline), running as a standard
user, a Task Scheduler audit and where results go; its PowerShell must parse (the
tree-sitter grammar, as for the scripts accessready sends); and what it names must exist
(the wheelhouse script, the installer it writes, the zip's name).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.test_powershell_parse import problems

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_quick_start_is_two_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", section("Quick start"), re.S)
    assert len(blocks) == 1
    assert len([line for line in blocks[0].splitlines() if line.strip()]) == 2


def test_windows_section_covers_install_standard_user_scheduler_results() -> None:
    text = section("Windows")
    for words in ("--scope user", "pipx install", "uv tool install", "Install offline",
                  "standard user", "Register-ScheduledTask", "Where results go",
                  "%LOCALAPPDATA%\\accessready\\venv"):
        assert words in text, words
    assert "Run as administrator" not in text and "elevated" not in text.split(
        "A task that runs whether")[0]


def test_windows_section_names_what_exists() -> None:
    text = section("Windows")
    script = (ROOT / "scripts" / "build-wheelhouse").read_text(encoding="utf-8")
    assert "scripts/build-wheelhouse" in text
    assert "install.ps1" in text and '"install.ps1"' in script
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(),
                        re.M).group(1)
    assert f"dist/accessready-{version}-win_amd64.zip" in text


def test_windows_powershell_blocks_parse() -> None:
    blocks = re.findall(r"```powershell\n(.*?)```", section("Windows"), re.S)
    assert len(blocks) >= 3
    for block in blocks:
        assert problems(block) == [], block
