"""The console script's last step: the objects a run kept are frozen out of the
interpreter's final garbage collection (at 1,000 targets it walked them for 0.1-0.2 s
only to free them all), at exit; a caller's process (a test's, an embedding one's) is
left as it was."""

from __future__ import annotations

import atexit
import gc
import sys

import pytest

from accessready.agent.cli.main import main


@pytest.mark.parametrize("argv, registered", [(None, [gc.freeze]), (["--version"], [])],
                         ids=["console script", "caller's argv"])
def test_only_the_console_script_freezes_what_the_run_kept_at_exit(
        monkeypatch, capsys, argv, registered) -> None:
    seen: list[object] = []
    monkeypatch.setattr(atexit, "register", seen.append)
    monkeypatch.setattr(sys, "argv", ["accessready", "--version"])
    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == 0 and "accessready" in capsys.readouterr().out
    assert seen == registered
    assert gc.get_freeze_count() == 0  # not now: this process goes on


def test_a_failing_command_freezes_too(monkeypatch, capsys) -> None:
    seen: list[object] = []
    monkeypatch.setattr(atexit, "register", seen.append)
    monkeypatch.setattr(sys, "argv", ["accessready", "validate", "/no/such/profile.toml"])
    with pytest.raises(SystemExit) as ended:
        main()
    assert ended.value.code == 3 and capsys.readouterr().err.count("\n") == 1
    assert seen == [gc.freeze]
