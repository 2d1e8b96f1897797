"""One recorder per database, and a database checked before a session is spent on it (issue 8
item 6).

``RecorderLock`` holds an exclusive ``fcntl.flock`` on ``<db>.lock`` for as long as a recorder
writes the file; the lock file holds the writer's pid, so that a second recorder is refused
with a message naming it. The kernel drops the lock when the process dies (kill -9 too): a
stale lock file never blocks anyone. Where ``fcntl`` does not exist (Windows) no lock is taken.

``preflight`` runs ``PRAGMA quick_check`` and a write probe on an open connection: a
page-corrupted or read-only database is refused at start instead of running a whole session
that saves nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import IO


class DatabaseBusy(Exception):  # noqa: N818 (reads better at the call site)
    """Another recorder holds the database (the message names its pid)."""


class DatabaseUnfit(Exception):  # noqa: N818
    """The database cannot be recorded to (corrupted, read-only): one line, the path named."""


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


class RecorderLock:
    """The exclusive recorder lock of ``db`` (see the module docstring)."""

    def __init__(self, db: Path, *, pid: int | None = None) -> None:
        self.path = lock_path(db)
        self._file: IO[str] | None = None
        self._pid = os.getpid() if pid is None else pid

    def acquire(self) -> None:
        """Take the lock or raise ``DatabaseBusy`` naming the holder's pid."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks here
            return
        f = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 (held while recording)
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read(32).strip() or "unknown"
            f.close()
            raise DatabaseBusy(
                f"another hedgetop (pid {holder}) is recording to it "
                f"(lock {self.path.name}): stop that one or give another --db"
            ) from None
        except OSError:
            f.close()
            raise
        f.seek(0)
        f.truncate()
        f.write(f"{self._pid}\n")
        f.flush()
        self._file = f

    def release(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        with contextlib.suppress(OSError):
            f.seek(0)
            f.truncate()
        f.close()  # closing drops the flock


def preflight(conn: sqlite3.Connection, path: Path) -> None:
    """``DatabaseUnfit`` when ``path`` (open as ``conn``) is damaged or cannot be written."""
    try:
        rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnfit(f"{path}: database is damaged ({exc}): restore a copy") from None
    problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
    if problems:
        first = " ".join(problems[0].split())[:160]
        raise DatabaseUnfit(
            f"{path}: database is damaged (quick_check: {first}): restore a copy or move it away"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise DatabaseUnfit(f"{path}: read-only file: nothing could be recorded")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # a write that changes nothing: refused on a read-only file or file system
            conn.execute("DELETE FROM schema_version WHERE 0")
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            raise DatabaseUnfit(f"{path}: read-only database: nothing could be recorded") from None
        if "locked" in text or "busy" in text:
            return  # another writer for the moment: the recorder retries (with backoff)
        raise DatabaseUnfit(f"{path}: cannot write ({text})") from None
