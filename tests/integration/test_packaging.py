"""The package installs two ways into fresh virtual environments, and both work.

A wheel must carry everything (templates, schemas, recordings); an editable install must
map the three source folders into the one ``accessready`` package.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from .conftest import REPO, accessready


def _venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin" / "python"


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", *args], check=True, timeout=600,
                   capture_output=True)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                    "--outdir", str(out), str(REPO)], check=True, timeout=600,
                   capture_output=True)
    [built] = out.glob("accessready-*.whl")
    return built


def test_wheel_in_fresh_venv_runs_the_demo(tmp_path: Path, wheel: Path) -> None:
    python = _venv(tmp_path / "venv")
    _pip(python, str(wheel))
    where = subprocess.run([str(python), "-c", "import accessready.agent.cli as m; "
                            "print(m.__file__)"], capture_output=True, text=True, check=True,
                           cwd=tmp_path)
    assert str(tmp_path / "venv") in where.stdout  # the wheel, not the source tree
    work = tmp_path / "work"
    work.mkdir()
    out = accessready("demo", python=str(python), cwd=work, timeout=180)
    assert out.returncode in (0, 1, 2), out.stderr
    assert (work / "report.html").stat().st_size > 1000
    assert (work / "demo-result.json").exists()
    schema = accessready("schema", "result", python=str(python))
    assert '"accessready.result/1"' in schema.stdout


def test_editable_install_in_fresh_venv(tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv")
    _pip(python, "-e", str(REPO))
    where = subprocess.run([str(python), "-c", "import accessready.agent.cli as a, "
                            "accessready.checks.admin as c, accessready.reports as r; "
                            "print(a.__file__); print(c.__file__); print(r.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path)
    assert where.stdout.split() == [str(REPO / "agent" / "cli.py"),
                                    str(REPO / "checks" / "admin.py"),
                                    str(REPO / "reports" / "__init__.py")]
    out = accessready("checks", python=str(python))
    assert out.returncode == 0 and "admin.agreement" in out.stdout
