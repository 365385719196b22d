"""The history's SQLite file: its schema and migrations, the checks on its path before
SQLite opens it, how it is opened (WAL, ``synchronous=FULL``, ``secure_delete``), and the
one-line errors a database failure becomes.

:mod:`accessready.agent.app.history` reads and writes runs in it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import sqlite3
import stat
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from accessready.agent.core.safefile import create_private

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

_SCHEMA_V1 = """
CREATE TABLE audits (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,                    -- NULL: still running, or killed
    status      TEXT NOT NULL,           -- running | finished | interrupted
    host        TEXT NOT NULL DEFAULT '',
    pid         INTEGER,
    profiles    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE catalogues (
    id     INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    data   BLOB NOT NULL                 -- zlib(JSON): the checks' catalogue entries
);
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    audit_id     INTEGER REFERENCES audits(id) ON DELETE SET NULL,
    customer     TEXT NOT NULL,
    customer_key TEXT NOT NULL,          -- casefolded, spaces collapsed: for lookups
    profile      TEXT NOT NULL DEFAULT '',
    vantage      TEXT NOT NULL DEFAULT 'engineer',
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL,
    duration_s   REAL NOT NULL DEFAULT 0,
    verdict      TEXT NOT NULL,
    exit_code    INTEGER NOT NULL,
    n_pass       INTEGER NOT NULL DEFAULT 0,
    n_warn       INTEGER NOT NULL DEFAULT 0,
    n_fail       INTEGER NOT NULL DEFAULT 0,
    n_error      INTEGER NOT NULL DEFAULT 0,
    n_skip       INTEGER NOT NULL DEFAULT 0,
    error        TEXT,                   -- the one-line reason when no run was possible
    changes      TEXT NOT NULL DEFAULT '[]',
    catalogue_id INTEGER REFERENCES catalogues(id),
    result       BLOB                    -- zlib(JSON result without its catalogue)
);
CREATE INDEX runs_by_customer ON runs(customer_key, finished_at);
CREATE INDEX runs_by_time ON runs(finished_at);
CREATE INDEX runs_by_audit ON runs(audit_id);
CREATE TABLE results (
    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    check_id TEXT NOT NULL,
    target   TEXT NOT NULL,
    status   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""

MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1,)
"""``MIGRATIONS[n]`` takes the schema from version n to n + 1."""


class HistoryError(Exception):
    """A history database that cannot be used; the text is one line with the fix."""


class HistoryDamaged(HistoryError):
    """The history file is damaged (a bad page, a bad header): moving it aside fixes it.

    An audit goes on without its history then, and says so; it does not stop.
    """


class HistoryUnusable(HistoryError):
    """The history path cannot hold a database (a link, a device, a FIFO): nothing is
    opened there. An audit goes on without its history then, and says so."""


# SQLite opens these by name beside the database: a link planted at any of them would be
# followed, and a device or FIFO there would be written to or block
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISDIR, "folder")):
        if test(mode):
            return kind
    return "special file"


def check_path(path: str | Path) -> None:
    """Raise :class:`HistoryError` unless ``path`` (and its -wal, -shm, -journal) is a
    regular file or absent, not a link, in a folder that exists.

    Checked before anything opens it: SQLite would follow a link (writing support data
    where the link's planter chose) and write beside a device (``/dev/null-journal``), and
    "move it aside" is wrong advice for ``/dev/null``. A missing folder is refused rather
    than created: it is most likely a typing error.
    """
    path = Path(path)
    for suffix in _COMPANIONS:
        name = Path(f"{path}{suffix}")
        try:
            mode = os.lstat(name).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise HistoryUnusable(f"{name}: cannot look at the history database: "
                                  f"{exc.strerror} — check the path") from None
        if stat.S_ISLNK(mode):
            raise HistoryUnusable(f"{name}: is a symbolic link, and a history database must "
                                  "be a plain file — remove the link or pass --history PATH")
        if not stat.S_ISREG(mode):
            raise HistoryUnusable(f"{name}: is a {_file_kind(mode)}, not a history database "
                                  "— pass --history naming a file (it is created if absent)")
    folder = path.parent
    if not folder.is_dir():
        raise HistoryError(f"{folder}: no such folder for the history database "
                           f"{path.name} — create the folder first, or pass --history naming "
                           "a file in an existing folder")


def _damaged(exc: BaseException) -> bool:
    name = str(getattr(exc, "sqlite_errorname", ""))
    # zlib/JSON/UTF-8 errors: a stored result whose bytes SQLite did not notice were bad
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or isinstance(
        exc, zlib.error | ValueError)


def _failure(path: Path, exc: BaseException) -> HistoryError:
    """The one-line error for ``exc``, raised while using the history at ``path``."""
    detail = " ".join(str(exc).split())
    if _damaged(exc):
        return HistoryDamaged(
            f"{path}: the history database is damaged ({detail}) — move it aside with its "
            f"-wal and -shm files (e.g. mv {shlex.quote(str(path))} "
            f"{shlex.quote(str(path) + '.damaged')}) and the next audit starts "
            "a new history; restore it from a backup to keep the old runs")
    return HistoryError(f"{path}: the history database failed ({detail}) — check that the "
                        "disk has room and the file is writable, then run again")


_F = TypeVar("_F", bound=Callable[..., Any])


@contextlib.contextmanager
def history_errors(path: Path) -> Iterator[None]:
    """Every database error inside turned into a one-line :class:`HistoryError` about
    ``path``."""
    try:
        yield
    except (sqlite3.DatabaseError, zlib.error, ValueError) as exc:
        raise _failure(path, exc) from None


def guarded(method: _F) -> _F:
    """``method`` (of an object with a ``path``) with every database error turned into a
    one-line :class:`HistoryError`."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with history_errors(self.path):
            return method(self, *args, **kwargs)
    return wrapper  # type: ignore[return-value]


def connect(path: Path, *, create: bool, busy_timeout_ms: int) -> sqlite3.Connection:
    """The history database at ``path``, opened and migrated to :data:`SCHEMA_VERSION`
    (created, owner-only, when ``create``); :class:`HistoryError` when it cannot be."""
    if not create and not os.path.lexists(path):
        raise HistoryError(f"{path}: no such history database — audits write it "
                           f"with `accessready audit PROFILE... --history {path}`")
    check_path(path)
    try:
        if create:
            # support data: owner only (SQLite gives its -wal/-shm files this mode too)
            create_private(path)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT)
        db = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
    except (sqlite3.Error, OSError) as exc:
        raise HistoryError(f"{path}: cannot open the history database: {exc} — "
                           "check the path and that its folder is writable") from None
    try:
        _setup(db, path, busy_timeout_ms)
    except HistoryError:
        db.close()
        raise
    except sqlite3.DatabaseError as exc:
        db.close()
        error = HistoryDamaged if _damaged(exc) else HistoryError
        raise error(f"{path}: not a usable accessready history database ({exc}) — "
                    "pass the file written by `accessready audit --history`, or a new "
                    "file name; if it is that file, it is damaged: move it aside (e.g. "
                    f"mv {shlex.quote(str(path))} "
                    f"{shlex.quote(str(path) + '.damaged')})") from None
    return db


def _setup(db: sqlite3.Connection, path: Path, busy_timeout_ms: int) -> None:
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.DatabaseError(f"cannot switch to WAL (journal mode is {mode})")
    db.execute("PRAGMA synchronous = FULL")  # a committed run survives a power cut too
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA secure_delete = ON")  # pruned support data is overwritten
    with transaction(db):
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(f"{path}: written by a newer accessready (schema "
                               f"{version}; this one knows {SCHEMA_VERSION}) — upgrade "
                               "accessready")
        if version == 0 and db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]:
            raise HistoryError(f"{path}: an SQLite file, but not an accessready "
                               "history database — pass another --history file")
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    db.execute(statement)
        if version != SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken at once (no deadlock between two writers)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        # SQLite may have rolled back already (a damaged page): keep the first error
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
