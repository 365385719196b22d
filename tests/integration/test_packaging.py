"""The package installs two ways into fresh virtual environments, and both work.

A wheel must carry everything (templates, schemas, recordings); an editable install must
map the three source folders into the one ``accessready`` package.

Offline and out of the source tree, on purpose:

* the wheel is built from a clean copy of the sources (tracked files plus untracked ones
  git does not ignore: the working tree as it would be committed), so nothing stale in a
  ``build/`` folder can slip into it and the source tree gets no ``build/`` or
  ``*.egg-info``;
* nothing is downloaded: the fresh venv (no system site packages, no pip of its own) gets
  one ``.pth`` line per site-packages folder of the interpreter running the tests, so the
  dependencies — and pip and setuptools — are importable, and pip installs with
  ``--no-deps --no-index``. A plain path line in a ``.pth`` file only adds the folder; the
  ``.pth`` files inside it are not run, so this environment's own editable install of
  accessready stays inactive there. Its metadata is still visible, but the venv's own
  site-packages comes first on ``sys.path`` and entry points are de-duplicated by
  distribution name, first wins — which ``test_*`` check below.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO, accessready

_NOT_SOURCES = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__",
                                      ".venv", ".pytest_cache", ".ruff_cache", ".hypothesis",
                                      ".benchmarks")


def source_copy(dest: Path) -> Path:
    """Copy the working tree's sources (``git ls-files -co --exclude-standard``) to
    ``dest``; without git (an unpacked sdist), everything but build leftovers and caches."""
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"],
                                cwd=REPO, capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(REPO, dest, ignore=_NOT_SOURCES)
        return dest
    for name in filter(None, listed.decode("utf-8", "surrogateescape").split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is listed too
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def _site_dirs() -> list[str]:
    """Where this interpreter finds installed distributions: its purelib/platlib and any
    other site-packages on ``sys.path`` (a venv with system site packages, Debian's
    dist-packages)."""
    found = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    found += [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    return [p for i, p in enumerate(found) if p not in found[:i] and Path(p).is_dir()]


def offline_venv(path: Path) -> Path:
    """A fresh venv that imports this environment's packages (see the module docstring)."""
    venv.EnvBuilder(with_pip=False, clear=True, system_site_packages=False).create(path)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, timeout=60).stdout
    (Path(purelib.strip()) / "accessready-test-deps.pth").write_text(
        "".join(f"{d}\n" for d in _site_dirs()), encoding="utf-8")
    return python


def pip_install(python: Path, *args: str) -> None:
    """``pip install`` with no index and no dependency resolution: nothing is downloaded."""
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index",
                           "--no-deps", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def module_files(python: Path, cwd: Path, *modules: str) -> list[str]:
    """Where ``python`` imports each of ``modules`` from."""
    code = "import importlib, sys\nfor m in sys.argv[1:]: print(importlib.import_module(m)." \
           "__file__)"
    return subprocess.run([str(python), "-c", code, *modules], capture_output=True, text=True,
                          check=True, cwd=cwd, timeout=60).stdout.split()


def assert_each_check_listed_once(python: Path) -> None:
    """``accessready checks`` sees every built-in check exactly once: the venv's
    distribution, not also the test environment's (whose metadata is on sys.path)."""
    out = accessready("checks", python=str(python))
    assert out.returncode == 0, out.stderr
    ids = [line.split()[0] for line in out.stdout.splitlines() if line.strip()]
    assert "admin.agreement" in ids and "account.login" in ids
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of the sources, shared by both installs."""
    return source_copy(tmp_path_factory.mktemp("src") / "accessready")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, sources: Path) -> Path:
    """The wheel, built offline (``--no-isolation``) from a scratch copy of ``sources``."""
    scratch = source_copy(tmp_path_factory.mktemp("wheel-src") / "accessready")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                           "--outdir", str(out), str(scratch)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [built] = out.glob("accessready-*.whl")
    return built


def test_sources_copy_has_no_build_leftovers(tmp_path: Path) -> None:
    copy = source_copy(tmp_path / "accessready")
    assert (copy / "pyproject.toml").is_file() and (copy / "agent" / "cli" / "main.py").is_file()
    assert not (copy / "build").exists() and not list(copy.glob("*.egg-info"))
    assert not (copy / ".git").exists()


# Wheel folders → source folders, as [tool.setuptools.package-dir] maps them.
_PACKAGE_DIRS = {"accessready/agent/": "agent/", "accessready/checks/": "checks/",
                 "accessready/reports/": "reports/", "accessready/": "src/accessready/"}


def test_wheel_holds_only_current_sources(wheel: Path, sources: Path) -> None:
    """Every file in the wheel's package comes from the sources as they are now (nothing
    stale from an old ``build/lib``), and every source module is in it."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.startswith("accessready/")]
    origins = []
    for name in names:
        prefix = next(p for p in _PACKAGE_DIRS if name.startswith(p))
        origins.append(_PACKAGE_DIRS[prefix] + name[len(prefix):])
    assert [o for o in origins if not (sources / o).is_file()] == []
    modules = {str(p.relative_to(sources)) for folder in ("agent", "checks", "reports")
               for p in (sources / folder).rglob("*.py")}
    assert modules - set(origins) == set()


def test_wheel_in_fresh_venv_runs_the_demo(tmp_path: Path, wheel: Path) -> None:
    python = offline_venv(tmp_path / "venv")
    pip_install(python, str(wheel))
    [where] = module_files(python, tmp_path, "accessready.agent.cli.main")
    assert where.startswith(str(tmp_path / "venv"))  # the wheel, not the source tree
    assert_each_check_listed_once(python)
    work = tmp_path / "work"
    work.mkdir()
    out = accessready("demo", python=str(python), cwd=work, timeout=180)
    assert out.returncode == 0, out.stderr
    assert (work / "report.html").stat().st_size > 1000
    assert (work / "demo-result.json").exists()
    schema = accessready("schema", "result", python=str(python))
    assert '"accessready.result/1"' in schema.stdout


def test_editable_install_in_fresh_venv(tmp_path: Path, sources: Path) -> None:
    python = offline_venv(tmp_path / "venv")
    pip_install(python, "--no-build-isolation", "-e", str(sources))
    assert module_files(python, tmp_path, "accessready.agent.cli.main",
                        "accessready.checks.admin.checks", "accessready.reports") == [
        str(sources / "agent" / "cli" / "main.py"),
        str(sources / "checks" / "admin" / "checks.py"),
        str(sources / "reports" / "__init__.py")]
    assert_each_check_listed_once(python)


def test_new_builtin_family_needs_no_reinstall(tmp_path: Path) -> None:
    """A check family added to a source checkout after an editable install is listed at
    once: built-ins are found by scanning ``checks/``, not through installed metadata."""
    tree = source_copy(tmp_path / "accessready")
    python = offline_venv(tmp_path / "venv")
    pip_install(python, "--no-build-isolation", "-e", str(tree))
    family = tree / "checks" / "zz_example"
    family.mkdir()
    (family / "__init__.py").write_text(
        "from accessready.agent.core.model import Requirement, t\n"
        "from accessready.agent.plugin.checkapi import Check\n\n\n"
        "class Example(Check):\n"
        "    id = 'zz_example.hello'\n"
        "    title = t('Example', 'Exempel')\n"
        "    requirement = Requirement.ADMIN\n\n\n"
        "CHECKS = [Example]\n", encoding="utf-8")
    out = accessready("checks", python=str(python))
    assert out.returncode == 0, out.stderr
    assert "zz_example.hello" in out.stdout.split()
