"""Helpers for tests that run the real ``accessready`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def accessready(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                timeout: float = 60, python: str = sys.executable,
                stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m accessready ARGS`` and capture everything."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ACCESSREADY_")}
    full_env.update(env or {})
    return subprocess.run([python, "-m", "accessready", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout, input=stdin)


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample third-party plugin, pip-installed into its own folder (not the venv)."""
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target),
                    str(REPO / "tests" / "fixtures" / "plugin_dist")], check=True, timeout=300,
                   capture_output=True)
    return target
