"""Opening a history database and bringing it to the current layout (``storage.schema``):
pragmas, then one migration per schema version, each in its own transaction. A change to the
layout is a new entry in ``MIGRATIONS``, never an edit of an applied one."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from storage.rollup import fold_sql, rebuild_rollups
from storage.schema import (
    HOUR_MS,
    KINDS,
    MINUTE_MS,
    PAGE_SIZE,
    SCHEMA_VERSION,
    KindSpec,
    SchemaError,
    table_columns,
    user_version,
)

# --- DDL -------------------------------------------------------------------------------------


def _columns_ddl(spec: KindSpec) -> str:
    return ",\n  ".join(f"{c.name} {c.sql_type}" for c in spec.columns)


def _raw_ddl(spec: KindSpec) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {spec.raw_table} (\n  sid INTEGER NOT NULL,\n"
        f"  ts_ms INTEGER NOT NULL,\n  {_columns_ddl(spec)},\n  PRIMARY KEY (sid, ts_ms)\n"
        ") WITHOUT ROWID"
    )


def _recent_ddl(spec: KindSpec) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {spec.recent_table} (\n  sid INTEGER NOT NULL,\n"
        f"  ts_ms INTEGER NOT NULL,\n  {_columns_ddl(spec)},\n  PRIMARY KEY (ts_ms, sid)\n"
        ") WITHOUT ROWID"
    )


def _rollup_ddl(spec: KindSpec, res: str) -> str:
    cols = ",\n  ".join(f"{n} {t}" for n, t in spec.rollup_columns())
    return (
        f"CREATE TABLE IF NOT EXISTS {spec.rollup_table(res)} (\n  sid INTEGER NOT NULL,\n"
        f"  bucket_ms INTEGER NOT NULL,\n  {cols},\n  PRIMARY KEY (sid, bucket_ms)\n"
        ") WITHOUT ROWID"
    )


def _v1(conn: sqlite3.Connection) -> None:
    """Sessions, subjects, one-second detail and the event tables."""
    db = sqlite_utils.Database(conn)
    db.table("sessions").create(
        {"id": int, "start_ms": int, "end_ms": int, "ticks": int},
        pk="id",
        not_null={"start_ms"},
        if_not_exists=True,
    )
    db.table("sessions").create_index(["start_ms"], unique=True, if_not_exists=True)
    db.table("subjects").create(
        {
            "sid": int,
            "kind": str,
            "key": str,
            "venue": str,
            "symbol": str,
            "coin": str,
            "hedged_coin": str,
            "label": str,
        },
        pk="sid",
        not_null={"kind", "key"},
        if_not_exists=True,
    )
    db.table("subjects").create_index(["kind", "key"], unique=True, if_not_exists=True)
    for spec in KINDS.values():
        conn.execute(_raw_ddl(spec))
    db.table("fills").create(
        {
            "id": int,
            "ts_ms": int,
            "hedge_id": str,
            "venue": str,
            "symbol": str,
            "side": str,
            "contracts": int,
            "size_usd": float,
            "price_usd": float,
            "fee_coin": float,
            "realized_pnl_coin": float,
            "contracts_after": int,
            "entry_after_usd": float,
            "broker": str,
        },
        pk="id",
        not_null={"ts_ms", "hedge_id", "side", "contracts", "contracts_after"},
        if_not_exists=True,
    )
    db.table("fills").create_index(
        ["ts_ms", "hedge_id", "side", "contracts", "contracts_after"],
        index_name="fills_natural",
        unique=True,
        if_not_exists=True,
    )
    db.table("funding").create(
        {
            "id": int,
            "ts_ms": int,
            "hedge_id": str,
            "venue": str,
            "symbol": str,
            "rate": float,
            "mark_usd": float,
            "size_usd": float,
            "amount_coin": float,
        },
        pk="id",
        not_null={"ts_ms", "hedge_id"},
        if_not_exists=True,
    )
    db.table("funding").create_index(
        ["ts_ms", "hedge_id"], index_name="funding_natural", unique=True, if_not_exists=True
    )
    db.table("alerts").create(
        {
            "id": int,
            "ts_ms": int,
            "key": str,
            "rule": str,
            "subject": str,
            "state": str,
            "message": str,
            "value": float,
        },
        pk="id",
        not_null={"ts_ms", "key", "state"},
        if_not_exists=True,
    )
    db.table("alerts").create_index(
        ["ts_ms", "key", "state"], index_name="alerts_natural", unique=True, if_not_exists=True
    )


_V2_RESOLUTIONS = (("1m", MINUTE_MS), ("1h", HOUR_MS))


def _v2(conn: sqlite3.Connection) -> None:
    """Recent rows, minute and hour rollups (back-filled from the detail already stored)."""
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)")
    for spec in KINDS.values():
        conn.execute(_recent_ddl(spec))
        for res, _ms in _V2_RESOLUTIONS:
            conn.execute(_rollup_ddl(spec, res))
    rebuild_rollups(conn, _V2_RESOLUTIONS)


def _v3(conn: sqlite3.Connection) -> None:
    """``fills.mark_usd``: the mark when the order filled, so that the hedge review can
    measure each fill's slippage against it (NULL for fills recorded before)."""
    if "mark_usd" not in table_columns(conn, "fills"):
        conn.execute("ALTER TABLE fills ADD COLUMN mark_usd REAL")


def _v4(conn: sqlite3.Connection) -> None:
    """A ten-minute rollup tier between the minute and the hour (a 10-day chart read 14,400
    minute rows: 22 ms), back-filled from the minute rollup, which holds every compacted
    minute since recording began."""
    for spec in KINDS.values():
        conn.execute(_rollup_ddl(spec, "10m"))
        conn.execute(f"DELETE FROM {spec.rollup_table('10m')}")
        conn.execute(fold_sql(spec, "10m", spec.rollup_table("1m"), from_rollup=True), (0, 2**62))


def _v5(conn: sqlite3.Connection) -> None:
    """What an exchange account reported (issue 12): its own executions and funding bookings,
    each stored once by the exchange's id (a restart re-reads the last days without doubling
    anything), and the reconciliation events with both values (``storage.account_log``).

    Funding is unique by (account, venue, exchange id): every ``FundingPayment`` has one, the
    normaliser naming a booking the venue gave no id ``<venue>:<ts>:<coin>``, so such a venue's
    rows are unique by their time and coin."""
    db = sqlite_utils.Database(conn)
    db.table("exchange_fills").create(
        {
            "id": int,
            "account": str,
            "venue": str,
            "trade_id": str,
            "symbol": str,
            "ts_ms": int,
            "side": str,
            "contracts": float,
            "size_usd": float,
            "price_usd": float,
            "fee_coin": float,
            "fee_currency": str,
            "order_id": str,
            "client_order_id": str,
        },
        pk="id",
        not_null={"account", "venue", "trade_id", "symbol", "ts_ms", "side", "contracts"},
        if_not_exists=True,
    )
    db.table("exchange_fills").create_index(
        ["account", "venue", "trade_id"],
        index_name="exchange_fills_natural",
        unique=True,
        if_not_exists=True,
    )
    db.table("exchange_fills").create_index(
        ["account", "ts_ms"], index_name="exchange_fills_time", if_not_exists=True
    )
    db.table("exchange_funding").create(
        {
            "id": int,
            "account": str,
            "venue": str,
            "exchange_id": str,
            "symbol": str,
            "ts_ms": int,
            "amount_coin": float,
            "coin": str,
        },
        pk="id",
        not_null={"account", "venue", "exchange_id", "ts_ms", "amount_coin", "coin"},
        if_not_exists=True,
    )
    db.table("exchange_funding").create_index(
        ["account", "venue", "exchange_id"],
        index_name="exchange_funding_natural",
        unique=True,
        if_not_exists=True,
    )
    db.table("exchange_funding").create_index(
        ["account", "ts_ms"], index_name="exchange_funding_time", if_not_exists=True
    )
    db.table("reconcile_events").create(
        {
            "id": int,
            "ts_ms": int,
            "account": str,
            "venue": str,
            "kind": str,
            "symbol": str,
            "coin": str,
            "wallet": str,
            "expected_side": str,
            "exchange_side": str,
            "expected": float,
            "exchange": float,
            "difference": float,
            "unit": str,
            "explained_by": str,
            "text": str,
        },
        pk="id",
        not_null={
            "ts_ms",
            "account",
            "venue",
            "kind",
            "symbol",
            "coin",
            "wallet",
            "expected",
            "exchange",
            "difference",
            "text",
        },
        if_not_exists=True,
    )
    db.table("reconcile_events").create_index(
        ["ts_ms", "account", "venue", "kind", "symbol", "coin", "wallet"],
        index_name="reconcile_events_natural",
        unique=True,
        if_not_exists=True,
    )


def _v6(conn: sqlite3.Connection) -> None:
    """An exchange fill's execution type as the venue said it (``ExchangeFill.exec_kind``:
    trade, liquidation, adl, settlement, …), NULL where the venue did not say, and for the
    fills stored before this version."""
    if "exec_kind" not in table_columns(conn, "exchange_fills"):
        conn.execute("ALTER TABLE exchange_fills ADD COLUMN exec_kind TEXT")


def _v7(conn: sqlite3.Connection) -> None:
    """Isolated margin moved into or out of a hedge's position (issue 12 §3): the ledger
    replays these beside its fills and funding, so a moved liquidation survives a restart."""
    db = sqlite_utils.Database(conn)
    db.table("margin_transfers").create(
        {
            "id": int,
            "ts_ms": int,
            "hedge_id": str,
            "venue": str,
            "symbol": str,
            "amount_coin": float,
            "margin_after_coin": float,
            "broker": str,
        },
        pk="id",
        not_null={"ts_ms", "hedge_id", "venue", "symbol", "amount_coin", "margin_after_coin"},
        if_not_exists=True,
    )


Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: tuple[Migration, ...] = (
    _v1,
    _v2,
    _v3,
    _v4,
    _v5,
    _v6,
    _v7,
)  # MIGRATIONS[i] brings the file to version i+1


# --- opening ---------------------------------------------------------------------------------


def _pragmas(conn: sqlite3.Connection, *, synchronous: str) -> None:
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = OFF")
    if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise SchemaError(f"cannot switch database to WAL mode (got {mode})")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA cache_size = -16000")  # 16 MB


def migrate(conn: sqlite3.Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Bring the file up to ``target``, one migration per transaction; returns the version.

    Safe when two connections (recorder and ledger) open the same new file at once: each step
    runs under ``BEGIN IMMEDIATE`` and re-reads the version inside the transaction.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = user_version(conn)
            if version > len(MIGRATIONS):
                raise SchemaError(
                    f"database schema version {version} is newer than this hedgetop "
                    f"understands ({len(MIGRATIONS)})"
                )
            if version >= target:
                conn.execute("COMMIT")
                return version
            MIGRATIONS[version](conn)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def connect(
    path: str | Path,
    *,
    synchronous: str = "NORMAL",
    check_same_thread: bool = True,
    target: int = SCHEMA_VERSION,
) -> sqlite3.Connection:
    """Open (creating if needed) a read-write connection, set pragmas, migrate.

    Autocommit mode (``isolation_level=None``): callers manage their transactions.
    """
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=check_same_thread, timeout=5.0
    )
    try:
        _pragmas(conn, synchronous=synchronous)
        migrate(conn, target=target)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError):
            raise
        raise SchemaError(f"{path}: not a hedgetop database ({exc})") from exc
    except BaseException:
        conn.close()
        raise
    return conn
