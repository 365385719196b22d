"""A profile or result "file" that is a FIFO nobody writes to (``mkfifo p.toml``): the
command ends with one line instead of waiting forever; a pipe that does deliver
(``validate /dev/stdin``, ``<(…)``) is read as before."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import accessready, one_line_error

PROFILE = '[customer]\nname = "X"\n[access]\nmethods = ["teamviewer"]\n'


@pytest.mark.parametrize("args", [["validate"], ["report", "--json", "out.json"]],
                         ids=["validate", "report"])
def test_a_fifo_without_a_writer_is_refused_not_waited_on(tmp_path: Path,
                                                          args: list[str]) -> None:
    fifo = tmp_path / "p.toml"
    os.mkfifo(fifo)
    # the bound only turns a hang into a failure: the command gives up after 10 s
    out = accessready(args[0], str(fifo), *args[1:], cwd=tmp_path, timeout=90)
    one_line_error(out, str(fifo), "nothing wrote")


def test_a_pipe_that_delivers_is_read() -> None:
    out = accessready("validate", "/dev/stdin", stdin=PROFILE)
    assert out.returncode == 0 and "valid" in out.stdout, out.stderr
