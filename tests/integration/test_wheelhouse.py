"""``scripts/build-wheelhouse``: the offline Windows installer zip (issue 15 item 7).

Offline and deterministic: the dependency wheels are stand-ins made from
``tests/fixtures/wheelhouse/win_amd64.json`` (the file names and Requires-Dist of a real
run's wheels; METADATA only), passed with ``--wheels``. accessready's own wheel is built
from this checkout, as in the field. The closure is checked against the real dependency
list in ``pyproject.toml``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

SCRIPT = REPO / "scripts" / "build-wheelhouse"
FIXTURE = REPO / "tests" / "fixtures" / "wheelhouse" / "win_amd64.json"
PYTHONS = ("3.11", "3.12", "3.13")
# Dependencies with compiled code: they must come as win_amd64 wheels, not pure ones.
COMPILED = {"cryptography", "cffi", "psutil", "bcrypt", "pynacl", "markupsafe",
            "charset-normalizer", "sspilib"}


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def make_wheels(folder: Path, drop: str = "", add: tuple[dict, ...] = ()) -> Path:
    """Stand-in wheels from the fixture (METADATA only); ``drop`` leaves one file out."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in [*json.loads(FIXTURE.read_text("utf-8"))["wheels"], *add]:
        if item["file"] == drop:
            continue
        stem = item["file"].split("-")[0]
        meta = ["Metadata-Version: 2.1", f"Name: {item['name']}",
                f"Version: {item['version']}", *(f"Requires-Dist: {r}"
                                                 for r in item["requires"])]
        with zipfile.ZipFile(folder / item["file"], "w") as wheel:
            info = zipfile.ZipInfo(f"{stem}-{item['version']}.dist-info/METADATA",
                                   (2026, 1, 1, 0, 0, 0))
            wheel.writestr(info, "\n".join(meta) + "\n")
    return folder


def build(tmp_path: Path, wheels: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--wheels", str(wheels),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[zipfile.ZipFile, list[str]]:
    tmp_path = tmp_path_factory.mktemp("wheelhouse")
    done = build(tmp_path, make_wheels(tmp_path / "wheels"))
    assert done.returncode == 0, done.stderr
    target = Path(done.stdout.strip())
    assert target.name == "accessready-0.1.0-win_amd64.zip" and target.is_file()
    archive = zipfile.ZipFile(target)
    return archive, archive.namelist()


def test_zip_layout(built) -> None:
    _, names = built
    folder = "accessready-0.1.0-win_amd64/"
    assert all(n.startswith(folder) for n in names)
    assert {folder + "install.ps1", folder + "README.txt"} <= set(names)
    own = [n for n in names if n.startswith(folder + "wheels/accessready-")]
    assert len(own) == 1 and own[0].endswith("-py3-none-any.whl")


def test_accessready_wheel_is_the_real_package(built) -> None:
    archive, names = built
    own = next(n for n in names if "/wheels/accessready-" in n)
    inner = zipfile.ZipFile(archive.open(own))
    assert "accessready/agent/cli/main.py" in inner.namelist()
    assert any(n.endswith("entry_points.txt") for n in inner.namelist())


def test_every_dependency_in_pyproject_has_a_windows_wheel(built) -> None:
    """Against the real dependency list: each direct dependency (and the keyring extra the
    installer asks for) is there, and every compiled one as win_amd64 for every Python."""
    _, names = built
    wheels = [n.rsplit("/", 1)[1] for n in names if "/wheels/" in n]
    by_name: dict[str, list[str]] = {}
    for wheel in wheels:
        by_name.setdefault(_canonical(wheel.split("-")[0]), []).append(wheel)
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    direct = [*project["dependencies"], *project["optional-dependencies"]["keyring"]]
    for requirement in direct:
        name = _canonical(requirement.split(">")[0].split("=")[0].split("<")[0].strip())
        assert name in by_name, f"{name} has no wheel in the zip"
    for name in COMPILED:
        files = by_name.get(name, [])
        assert files, f"compiled dependency {name} is missing"
        assert all(f.endswith("-win_amd64.whl") for f in files), files
        for python in PYTHONS:
            tag = f"cp{python.replace('.', '')}"
            assert any(f"-{tag}-{tag}-" in f or "-abi3-" in f for f in files), (name, python)
    # the markers were evaluated as on Windows: Windows-only needs in, Linux-only out
    assert "pywin32-ctypes" in by_name and "sspilib" in by_name
    assert "secretstorage" not in by_name and "jeepney" not in by_name


def test_installer_is_per_user_offline_powershell(built) -> None:
    archive, names = built
    script = archive.read(next(n for n in names if n.endswith("install.ps1")))
    assert script.startswith(b"\xef\xbb\xbf") and b"\r\n" in script
    text = script.decode("utf-8-sig")
    assert "--no-index --find-links $wheels" in text
    assert "$env:LOCALAPPDATA" in text and "RunAs" not in text
    from tests.unit.test_powershell_parse import problems

    assert problems(text) == []  # the tree-sitter grammar, as for the scripts we send
    # a 64-bit Python the wheels are for, newest first, never whatever 'py' defaults to
    assert "foreach ($v in @('3.13', '3.12', '3.11'))" in text
    assert '& py "-$v-64"' in text and "@@" not in text
    assert "in ((3, 11), (3, 12), (3, 13),)" in text


def test_same_inputs_same_zip(tmp_path: Path, built) -> None:
    archive, names = built
    again = build(tmp_path, make_wheels(tmp_path / "wheels"))
    assert again.returncode == 0, again.stderr
    other = zipfile.ZipFile(Path(again.stdout.strip()))
    assert other.namelist() == names
    for name in names:
        if "/wheels/accessready-" not in name:  # our own wheel carries build times
            assert other.read(name) == archive.read(name), name


def test_a_compiled_dependency_without_a_windows_wheel_is_one_line_exit_3(
        tmp_path: Path) -> None:
    linux = {"file": "cryptography-50.0.2-cp311-abi3-manylinux_2_34_x86_64.whl",
             "name": "cryptography", "version": "50.0.2", "requires": []}
    wheels = make_wheels(tmp_path / "wheels", drop="cryptography-50.0.2-cp311-abi3-win_amd64.whl",
                         add=(linux,))
    done = build(tmp_path, wheels)
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "no Windows wheel for cryptography" in done.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.zip"))


def test_a_python_without_its_wheel_is_named(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path / "wheels", drop="markupsafe-3.0.4-cp313-cp313-win_amd64.whl")
    done = build(tmp_path, wheels)
    assert done.returncode == 3 and "(Python 3.13)" in done.stderr
    assert "markupsafe" in done.stderr.lower()
