"""``SqliteLedger``: the durable ``core.ledger.Ledger``.

It has its own connection to the history database (``synchronous=FULL``: the WAL is synced on
every commit), so ``append_fill`` returns only once the fill is on disk, and it is safe beside a
``Recorder`` writing the same file from its thread (SQLite serialises the two writers; a
``busy_timeout`` makes the ledger wait out a recorder batch). Calls may come from any thread.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from core.events import Fill, FundingEvent, MarginTransfer
from storage import migrations, schema
from storage.events import FILLS, FUNDING, MARGIN, insert_fills, insert_funding, insert_margin
from storage.recorder import StorageError


class SqliteLedger:
    """Fills, funding settlements and margin transfers (``fills``, ``funding``,
    ``margin_transfers``), oldest first."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        try:
            self._conn = migrations.connect(
                self.db_path, synchronous="FULL", check_same_thread=False
            )
        except (sqlite3.Error, schema.SchemaError, OSError) as exc:
            raise StorageError(f"cannot open ledger database {self.db_path}: {exc}") from exc
        self._lock = threading.Lock()

    def load(self) -> list[Fill]:
        with self._lock:
            rows = self._conn.execute(f"{FILLS.select_sql} ORDER BY ts_ms, id").fetchall()
        return [FILLS.decode(r) for r in rows]

    def load_funding(self) -> list[FundingEvent]:
        with self._lock:
            rows = self._conn.execute(f"{FUNDING.select_sql} ORDER BY ts_ms, id").fetchall()
        return [FUNDING.decode(r) for r in rows]

    def append_fill(self, fill: Fill) -> None:
        """Commit ``fill`` (synced) before returning; a storage error propagates, since the
        engine must not book a fill it could not record."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                insert_fills(self._conn, [fill])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def append_funding(self, event: FundingEvent) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                insert_funding(self._conn, [event])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def load_margin(self) -> list[MarginTransfer]:
        with self._lock:
            rows = self._conn.execute(f"{MARGIN.select_sql} ORDER BY ts_ms, id").fetchall()
        return [MARGIN.decode(r) for r in rows]

    def append_margin(self, transfer: MarginTransfer) -> None:
        """Committed (synced) before returning, as ``append_fill``."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                insert_margin(self._conn, [transfer])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
