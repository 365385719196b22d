"""Helpers for tests that run the real ``accessready`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from accessready.agent.demo.simulators.pptp import PptpSimulator

REPO = Path(__file__).resolve().parents[2]


def accessready(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                timeout: float = 60, python: str = sys.executable,
                stdin: str | None = None, text_mode: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m accessready ARGS`` and capture everything (as bytes when not
    ``text_mode``, to see exactly what was written)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ACCESSREADY_")}
    full_env.update(env or {})
    return subprocess.run([python, "-m", "accessready", *args], capture_output=True,
                          text=text_mode,
                          env=full_env, cwd=cwd, timeout=timeout, input=stdin)


def _pip_install(tmp_path_factory: pytest.TempPathFactory, dist: str) -> Path:
    """Pip-install the plugin distribution ``tests/fixtures/DIST`` into its own folder (not
    the venv); put that folder on PYTHONPATH to use it."""
    target = tmp_path_factory.mktemp(f"{dist}-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target),
                    str(REPO / "tests" / "fixtures" / dist)], check=True, timeout=300,
                   capture_output=True)
    return target


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample third-party plugin, installed."""
    return _pip_install(tmp_path_factory, "plugin_dist")


@pytest.fixture(scope="session")
def hostile_plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The misbehaving plugin (``hostile.*`` checks), installed."""
    return _pip_install(tmp_path_factory, "hostile_plugin_dist")


def one_line_error(out: subprocess.CompletedProcess[str], *needles: str) -> None:
    """``out`` failed with exit code 3 and a one-line error naming every needle."""
    assert out.returncode == 3, out
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("accessready: error: "), out
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in out.stderr, out.stderr


def account_profile(path: Path, customer: str, rest: str) -> Path:
    """Write a profile at ``path``: agreement and DPA in force, TeamViewer access, the
    support account (its password from ``$AR_CANARY``), then the TOML ``rest``."""
    path.write_text(f"""
[customer]
name = "{customer}"
agreement = "SA-1"
agreement_valid_until = 2099-12-31
dpa_signed = 2025-01-01
[access]
methods = ["teamviewer"]
[account]
username = "support"
password = {{ env = "AR_CANARY" }}
""" + rest, encoding="utf-8")
    return path


@pytest.fixture
def gateway() -> Iterator[PptpSimulator]:
    """The customer's PPTP gateway: the simulator on loopback (stop it: it went away)."""
    sim = PptpSimulator().start()
    try:
        yield sim
    finally:
        sim.stop()
