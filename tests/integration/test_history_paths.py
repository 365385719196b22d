"""A history path that is no database file — a planted link, a device, a FIFO, a folder
that does not exist — through the real CLI.

Nothing is opened or created there: ``history`` refuses it in one line (never advising
``mv /dev/null …``), and an ``audit`` still runs, writes its overview and Nagios line, and
reports that the history could not be kept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from .conftest import REPO, accessready, account_profile, one_line_error

AUDIT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "audit.schema.json").read_text())


def _profile(folder: Path) -> Path:
    return account_profile(folder / "a.toml", "Kund A",
                           '[checks]\nonly = ["admin.agreement", "admin.dpa"]\n')


def _audit_without_history(tmp_path: Path, history: Path, words: str) -> None:
    overview = tmp_path / "o.json"
    out = accessready("audit", str(_profile(tmp_path)), "--history", str(history), "--nagios",
                      "--json", str(overview), "--reports-dir", str(tmp_path / "reports"),
                      timeout=60)
    assert out.returncode == 0, out.stderr  # the customer is ready; the history is reported
    assert out.stdout.startswith("ACCESSREADY OK - 1 customer"), out.stdout
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
    [warning] = [line for line in out.stderr.splitlines() if str(history) in line]
    assert warning.startswith("accessready: warning: ") and words in warning, warning
    assert " mv " not in out.stderr
    data = json.loads(overview.read_text("utf-8"))
    jsonschema.validate(data, AUDIT_SCHEMA)
    assert words in data["history_error"]
    assert [c["verdict"] for c in data["customers"]] == ["ready"]


def test_a_planted_link_is_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "x"
    elsewhere.mkdir()
    planted = tmp_path / "planted.db"
    planted.symlink_to(elsewhere / "stolen.db")
    _audit_without_history(tmp_path, planted, "is a symbolic link")
    assert not (elsewhere / "stolen.db").exists() and not list(elsewhere.iterdir())
    out = accessready("history", "--history", str(planted))
    one_line_error(out, str(planted), "is a symbolic link", "remove the link")


def test_a_link_beside_the_database_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "stolen-wal"
    db = tmp_path / "h.db"
    Path(f"{db}-wal").symlink_to(target)
    _audit_without_history(tmp_path, db, "is a symbolic link")
    assert not target.exists() and not db.exists()


def test_a_fifo_is_no_history_and_nothing_is_made_beside_it(tmp_path: Path) -> None:
    fifo = tmp_path / "n"
    os.mkfifo(fifo)
    _audit_without_history(tmp_path, fifo, "FIFO")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.toml", "n", "o.json", "reports"]  # no n-journal, no n.lock
    out = accessready("history", "--history", str(fifo), timeout=60)
    one_line_error(out, str(fifo), "FIFO", "not a history database")
    assert "mv " not in out.stderr


def test_a_character_device_is_no_history(tmp_path: Path) -> None:
    out = accessready("history", "--history", "/dev/null")
    one_line_error(out, "/dev/null", "character device", "not a history database")
    assert "mv " not in out.stderr and ".damaged" not in out.stderr
    _audit_without_history(tmp_path, Path("/dev/null"), "character device")
    assert not Path("/dev/null.lock").exists()


def test_a_missing_folder_is_refused_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "x"
    out = accessready("audit", str(_profile(tmp_path)), "--history", str(missing / "a.db"),
                      "--json", str(tmp_path / "o.json"))
    one_line_error(out, str(missing), "no such folder", "create the folder first")
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_the_database_and_its_companions_are_private(tmp_path: Path, suffix: str) -> None:
    from accessready.agent.app.history import History

    previous = os.umask(0o022)
    try:
        with History(tmp_path / "h.db") as db:
            db.db.execute("CREATE TABLE IF NOT EXISTS probe (x)")
            db.db.execute("INSERT INTO probe VALUES (1)")
            mode = os.stat(f"{tmp_path / 'h.db'}{suffix}").st_mode & 0o777
    finally:
        os.umask(previous)
    assert mode == 0o600, oct(mode)
