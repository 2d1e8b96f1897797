"""Issue 8 items 6 and 7: storage fails fast and heals calmly. A page-corrupted or read-only
database is refused at start (one line naming the file, exit 2), a second recorder on the same
file is refused naming the first one's pid, storage problems are reported as they happen, and
a locked database is retried with capped exponential backoff without dropping the batch.
No sleeps: the recorder's clock is frozen and every write attempt is forced by ``flush``."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import storage_factories as fx

from storage.dblock import DatabaseUnfit, lock_path, preflight
from storage.recorder import RETRY_MAX_S, Recorder, StorageError, retry_delay
from tui.cli import main


def _recorded(path: Path, n: int = 3) -> Path:
    with Recorder(path) as rec:
        for i in range(n):
            rec.submit_snapshot(fx.snapshot(fx.T0 + 1000 * i))
        assert rec.flush()
    return path


def _corrupt(path: Path) -> None:
    """Overwrite pages 3-5 (tables, not the header): the file still opens."""
    page = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as f:
        f.seek(page * 2)
        f.write(b"\xa5" * page * 3)


def _one_line(err: str, *needles: str) -> None:
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err


# --- corrupted ------------------------------------------------------------------------------


def test_a_page_corrupted_database_is_refused_at_start(tmp_path: Path) -> None:
    path = _recorded(tmp_path / "h.db")
    _corrupt(path)
    with pytest.raises(StorageError, match="database is damaged") as info:
        Recorder(path)
    assert str(path) in str(info.value)
    assert not lock_path(path).exists() or lock_path(path).read_text() == ""


def test_record_and_history_on_a_corrupted_database_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _recorded(tmp_path / "h.db")
    _corrupt(path)
    assert main(["record", "--db", str(path), "--seconds", "1"]) == 2
    _one_line(capsys.readouterr().err, str(path), "damaged")
    assert main(["history", "--db", str(path)]) == 2
    _one_line(capsys.readouterr().err, str(path), "damaged")


# --- read-only ------------------------------------------------------------------------------


def test_a_read_only_connection_fails_the_write_probe(tmp_path: Path) -> None:
    path = _recorded(tmp_path / "h.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA query_only = 1")  # what a read-only file system gives, as root too
    with pytest.raises(DatabaseUnfit, match="read-only database") as info:
        preflight(conn, path)
    assert str(path) in str(info.value)
    conn.execute("PRAGMA query_only = 0")
    preflight(conn, path)  # writable again: no complaint
    conn.close()


def test_a_read_only_file_is_refused_by_record_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _recorded(tmp_path / "h.db")
    real_access = os.access

    def access(p: object, mode: int, **kw: object) -> bool:  # chmod 444 without root's pass
        if Path(str(p)) == path and mode & os.W_OK:
            return False
        return real_access(p, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    assert main(["record", "--db", str(path), "--seconds", "1"]) == 2
    _one_line(capsys.readouterr().err, str(path), "read-only file")


# --- a second recorder ----------------------------------------------------------------------


def test_a_second_recorder_on_the_same_database_is_refused_naming_the_pid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "h.db"
    first = Recorder(path)
    try:
        with pytest.raises(StorageError, match=rf"pid {os.getpid()}\b") as info:
            Recorder(path)
        assert str(path) in str(info.value)
        assert main(["record", "--db", str(path), "--seconds", "1"]) == 2
        _one_line(capsys.readouterr().err, str(path), f"pid {os.getpid()}", "recording to it")
        assert first.submit_snapshot(fx.snapshot(fx.T0))
        assert first.flush()  # the first one is untouched
    finally:
        first.close()
    with Recorder(path) as again:  # released on close
        assert again.flush()


# --- problems as they happen, locked database retried ----------------------------------------


def test_retry_delay_is_capped_exponential() -> None:
    assert [retry_delay(n) for n in range(8)] == [0, 1, 2, 4, 8, 16, 30, 30]
    assert retry_delay(10_000) == RETRY_MAX_S


def test_a_locked_database_is_retried_with_backoff_and_the_batch_kept(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    problems: list[str] = []
    rec = Recorder(
        path,
        batch_interval_ms=0,
        busy_timeout_ms=0,  # the attempt fails at once; the backoff is the recorder's
        clock=lambda: 0.0,  # frozen: only flush() makes an attempt
        on_problem=problems.append,
    )
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the database
    try:
        waits = []
        for i in range(7):
            assert rec.submit_snapshot(fx.snapshot(fx.T0 + 1000 * i))
            assert not rec.flush()
            h = rec.health()
            waits.append(h.retry_in_s)
            assert h.failures == i + 1
            assert "locked" in (h.last_error or "")
        assert waits == [1, 2, 4, 8, 16, 30, 30]
        assert rec.health().dropped == 0
        assert len(problems) == 7
        assert all(str(path) in p and "database is locked" in p for p in problems)
        assert "7 items kept, retry 8 in 30 s" in problems[-1]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert rec.flush()
    h = rec.health()
    assert (h.ok, h.failures, h.retry_in_s, h.snapshots_written) == (True, 0, 0.0, 7)
    assert "writing again after 7 failed attempts: 7 snapshots" in problems[-1]
    rec.close()


def test_headless_record_prints_a_full_disk_as_it_happens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.commands.record import _storage_problem

    def full(conn: sqlite3.Connection) -> None:
        used = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {used + 1}")

    rec = Recorder(tmp_path / "h.db", on_connect=full, on_problem=_storage_problem)
    try:
        for i in range(200):
            rec.submit_snapshot(fx.snapshot(fx.T0 + 1000 * i))
        assert not rec.flush()  # still running: the message is out before any exit
        err = capsys.readouterr().err
        assert err.startswith("hedgetop record: storage: ")
        assert "full" in err
        assert "retry 2 in" in err
    finally:
        rec.close()


def test_the_dashboard_beside_a_recorder_opens_without_one_and_says_why(tmp_path: Path) -> None:
    from core.config import parse_config
    from tui.commands._session import open_database
    from tui.usage import UsageError

    path = tmp_path / "h.db"
    cfg = parse_config("")
    first = Recorder(path)
    try:
        with pytest.raises(UsageError, match=rf"pid {os.getpid()}"):
            open_database(cfg, str(path))  # `record` twice: refused
        opened = open_database(cfg, str(path), shared_ok=True)  # the dashboard: watches
        try:
            assert opened.recorder is None
            assert f"pid {os.getpid()}" in str(opened.busy)
        finally:
            opened.close()
    finally:
        first.close()
    opened = open_database(cfg, str(path), shared_ok=True)
    assert opened.recorder is not None
    assert opened.busy is None
    opened.close()
