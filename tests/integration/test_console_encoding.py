"""Output never crashes on an encoding (issue 15, item 1).

On Windows a redirected stdout (a file, Task Scheduler, NSClient++) is encoded in the ANSI
code page, cp1252, which has no "→"; a POSIX C locale without UTF-8 mode is ASCII. The real
command runs here with such streams and must write UTF-8 and its usual exit code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import accessready, account_profile

# A Sámi place name: "Č" is in neither cp1252 nor ASCII, "å" is not ASCII.
CUSTOMER = "Čohkkiras skolområde"

STREAMS = {
    "cp1252": {"PYTHONIOENCODING": "cp1252"},
    "ascii": {"PYTHONIOENCODING": "ascii"},
    # PEP 538/540 would turn the C locale into UTF-8; switched off, it is plain ASCII.
    "c-locale": {"LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "", "PYTHONUTF8": "0",
                 "PYTHONCOERCECLOCALE": "0"},
}


def _encoding_of(env: dict[str, str]) -> str:
    full = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", "import sys; print(sys.stdout.encoding)"],
                          capture_output=True, text=True, env=full, check=True).stdout.strip()


def _cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run the command with bytes captured; both streams must be valid UTF-8."""
    out = accessready(*args, env={**env, "NO_COLOR": "1"}, cwd=cwd, timeout=180,
                      text_mode=False)
    stdout, stderr = out.stdout.decode("utf-8"), out.stderr.decode("utf-8")
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr
    return out.returncode, stdout, stderr


@pytest.fixture(scope="module")
def demo_result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo, itself run with a cp1252 stdout; its result holds "→" in evidence."""
    folder = tmp_path_factory.mktemp("demo")
    code, stdout, _ = _cli(STREAMS["cp1252"], "demo", "--lang", "sv", cwd=folder)
    assert code == 0 and "Bedömning" in stdout
    return folder / "demo-result.json"


@pytest.mark.parametrize("name", list(STREAMS))
def test_every_command_writes_utf8_to_a_narrow_stream(name: str, tmp_path: Path,
                                                        demo_result: Path) -> None:
    env = STREAMS[name]
    assert _encoding_of(env).lower().replace("-", "") != "utf8", \
        "the environment must give Python a non-UTF-8 stdout, or this test proves nothing"
    profile = account_profile(tmp_path / "p.toml", CUSTOMER, """[checks]
only = ["admin.agreement", "admin.dpa"]
""")

    code, stdout, _ = _cli(env, "validate", str(profile))
    assert code == 0 and CUSTOMER in stdout

    code, stdout, _ = _cli(env, "run", str(profile), "--lang", "sv", "--json",
                           str(tmp_path / "r.json"))
    assert code == 0 and CUSTOMER in stdout and "Bedömning: REDO" in stdout

    code, stdout, _ = _cli(env, "report", str(demo_result))
    assert code == 1 and "→" in stdout and "Bedömning" in stdout
    code, stdout, _ = _cli(env, "report", str(demo_result), "--nagios", "--lang", "sv")
    assert code == 1 and stdout.startswith("ACCESSREADY WARNING - Redo med varningar")

    db = str(tmp_path / "h.db")
    code, stdout, _ = _cli(env, "audit", str(profile), "--history", db, "--nagios",
                           "--lang", "sv")
    assert code == 0 and stdout.startswith("ACCESSREADY OK"), stdout
    code, stdout, _ = _cli(env, "history", "--history", db, "--lang", "sv")
    assert code == 0 and CUSTOMER in stdout and "Redo" in stdout
    # (an argument, not output: ASCII, since a C locale turns "Č" in argv into surrogates)
    code, stdout, _ = _cli(env, "history", "ohkkiras", "--history", db, "--format", "json")
    assert code == 0 and json.loads(stdout)["customer"] == CUSTOMER

    # errors go to stderr, one line, also when they quote a non-ASCII file name (which a
    # C locale hands over as undecodable bytes: they are replaced, never a crash)
    code, _, stderr = _cli(env, "validate", str(tmp_path / "saknas-Č.toml"))
    assert code == 3 and stderr.count("\n") == 1
    shown = r"(\?\?|\ufffd\ufffd)" if name == "c-locale" else "Č"
    assert re.search(rf"saknas-{shown}\.toml: no such file", stderr), stderr
