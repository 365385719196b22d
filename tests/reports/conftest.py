"""Fixtures for the report tests: sample runs, the real demo run, external tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from accessready.agent.core.model import Run
from tests.ci import unavailable

from .sample import full_run


def need_tool(name: str, package: str) -> str:
    """The path of ``name``; fail in CI, skip elsewhere, when it is not installed."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} not found (Debian package '{package}'; ./scripts/test-all "
                    "installs it)")
    return path


@pytest.fixture
def sample_run() -> Run:
    """A full not-ready run: every requirement, every status."""
    return full_run("en")


@pytest.fixture(scope="session")
def demo_run() -> Run:
    """The real ``accessready demo`` run (simulators on loopback, the real checks)."""
    from accessready.agent.demo.environment import run_demo

    return run_demo(lang="en")


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests leave screenshots/PDFs; ACCESSREADY_SHOTS keeps them for a human."""
    keep = os.environ.get("ACCESSREADY_SHOTS")
    if keep:
        path = Path(keep)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("shots")
