"""``run_command``: output is capped, a timeout kills the whole process tree, and a pipe
held open by a leftover grandchild cannot make it hang.

The programs are this interpreter running small scripts; nothing touches the network.
Every wait here is bounded; no test asserts how fast anything was.
"""

from __future__ import annotations

import contextlib
import sys

import psutil
import pytest

from accessready.agent.io.localsys import LocalShell, run_command
from accessready.agent.io.transports.base import TransportError, powershell_json

# A child that starts a grandchild sharing its stdout, prints the grandchild's PID, and
# then (argv[1] == "stay") sleeps or (argv[1] == "leave") exits at once.
_PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
if sys.argv[1] == "stay":
    time.sleep(60)
"""


def _gone(pid: int, within: float = 10.0) -> bool:
    """True when ``pid`` ends (or is only a zombie left for init) within ``within`` s."""
    try:
        proc = psutil.Process(pid)
        proc.wait(timeout=within)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        with contextlib.suppress(psutil.Error):
            return proc.status() == psutil.STATUS_ZOMBIE
        return True
    return True


def _kill(pid: int) -> None:
    """Clean up a grandchild this test started (by its PID, nothing broader)."""
    with contextlib.suppress(psutil.Error):
        psutil.Process(pid).kill()


def test_output_is_captured_whole_below_the_cap() -> None:
    script = "import sys; sys.stdout.write('o' * 300000); sys.stderr.write('e' * 300000)"
    done = run_command([sys.executable, "-c", script], 30)
    assert done.ok, done.problem()
    assert done.stdout == "o" * 300000 and done.stderr == "e" * 300000


def test_output_beyond_the_cap_stops_the_program() -> None:
    script = "import sys\nwhile True: sys.stdout.write('x' * 65536)"
    done = run_command([sys.executable, "-c", script], 30, max_output=100_000)
    assert not done.ok and done.returncode is None
    assert "wrote more than 100000 bytes" in done.error
    assert done.stdout == "x" * 100_000


def test_timeout_kills_the_whole_tree() -> None:
    done = run_command([sys.executable, "-c", _PARENT, "stay"], 2.0)
    assert "did not finish within 2.0 s" in done.error and done.returncode is None
    grandchild = int(done.stdout.split()[0])
    try:
        assert _gone(grandchild), "the grandchild outlived the timeout"
    finally:
        _kill(grandchild)


def test_a_grandchild_holding_the_pipe_cannot_hang_the_call() -> None:
    """The Windows ``subprocess.run`` hang: the program exits, a process it started keeps
    stdout open. We return at the deadline with what we read, as an error."""
    done = run_command([sys.executable, "-c", _PARENT, "leave"], 2.0)
    grandchild = int(done.stdout.split()[0])
    _kill(grandchild)
    assert done.returncode == 0
    assert "kept its output open" in done.error and not done.ok


def test_a_missing_program_is_one_line() -> None:
    done = run_command(["/nonexistent/accessready-no-such-program"], 5)
    assert done.returncode is None and done.error.startswith("cannot run ")


@pytest.mark.parametrize("code", [0, 3])
def test_exit_code_is_kept(code: int) -> None:
    done = run_command([sys.executable, "-c", f"raise SystemExit({code})"], 30)
    assert done.returncode == code and not done.error


def test_the_local_shell_is_a_transport() -> None:
    """``LocalShell`` answers as SSH and WinRM do: an exit code is a result, a program that
    could not run is a TransportError, and a script's JSON is read by ``powershell_json``."""
    shell = LocalShell()
    assert shell.method == "local"
    done = shell.run([sys.executable, "-c", "import sys; print('ok'); sys.exit(3)"], 30)
    assert done.exit_code == 3 and done.stdout.strip() == "ok"
    with pytest.raises(TransportError, match="cannot run"):
        shell.run(["/nonexistent/accessready-no-such-program"], 5)
    # a stand-in "powershell.exe" that prints the JSON a script would have written
    fake_ps = LocalShell(lambda argv, timeout: run_command(
        [sys.executable, "-c", "print('\\ufeff{\"Name\": \"Exempel VPN\"}')"], timeout))
    assert powershell_json(fake_ps, "Get-Thing", 30) == {"Name": "Exempel VPN"}
