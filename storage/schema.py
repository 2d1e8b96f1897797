"""The history database: tables, rollup layout, pragmas and migrations.

Layout (one file, SQLite in WAL mode):

- ``sessions``: one row per engine session (keyed by the snapshot's ``session_start_ms``).
- ``subjects``: the things that have a time series: ``portfolio`` (one row, key ``""``),
  ``holding`` (key = coin) and ``hedge`` (key = hedge_id). Every series row refers to its
  subject by a small integer ``sid`` instead of repeating strings.
- ``<kind>_recent``: where each batch writes its one-second rows: ``WITHOUT ROWID``, primary
  key ``(ts_ms, sid)``, so a batch appends at the right edge of the B-tree and its commit
  writes a handful of pages whatever the number of subjects. It holds only the last few minutes.
- ``<kind>_tick``: the one-second detail, primary key ``(sid, ts_ms)`` so that one subject's
  range is one contiguous B-tree scan (time-major, a 4-hour chart of one of 10 hedges scanned
  all ten: ~150 ms; subject-major keys written every second dirtied a page per subject per
  commit: ~2.6 ms per tick for 40 subjects). Kept for ``RAW_RETENTION_MS`` (7 days).
- ``<kind>_1m`` / ``<kind>_1h``: rollups, primary key ``(sid, bucket_ms)`` (a 30-day chart reads
  ~720 hourly rows of its subject, never 2.6 M one-second ones).
- Compaction (the recorder, every ``COMPACT_MS`` of data time, inside a batch's transaction):
  rows of ``<kind>_recent`` older than the boundary are folded into the rollups (SQL upserts
  that merge with a partial hour already there) and moved to ``<kind>_tick``; ``meta``
  ``compacted_until_ms`` records the boundary. Readers take rollups and ``_tick`` below it and
  ``_recent`` from it on, in one read transaction, so they never count a sample twice.
  Each rolled-up series stores only the aggregates that fit it: ``_last`` (value at the latest
  sample of the bucket), ``_min``, ``_max``, ``_sum`` + ``_cnt`` (an exact average over the
  non-null samples, combinable across buckets); ``n`` counts samples.
- ``fills``, ``funding``, ``alerts``: events, with natural unique keys so that the same fact
  written twice (by the ledger and the recorder) is stored once.

Column names carry their unit (``_usd``, ``_coin``, ``_pct``, ``_ms``); ``funding_rate`` and
``hedge_ratio``/``target_ratio`` are plain fractions. A change to the layout is a new entry in
``MIGRATIONS``, never an edit of an applied one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot

SCHEMA_VERSION = 3
PAGE_SIZE = 4096
RAW_RETENTION_MS = 7 * 86_400_000
COMPACT_MS = 5 * 60_000
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
RESOLUTIONS: tuple[tuple[str, int], ...] = (("1m", MINUTE_MS), ("1h", HOUR_MS))
AGGS = ("last", "min", "max", "avg", "sum")


class SchemaError(Exception):
    """The file is not a hedgetop database this version understands (message says why)."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # column in the <kind>_tick table, unit in the name
    sql_type: str  # "REAL" | "INTEGER"


@dataclass(frozen=True, slots=True)
class Rolled:
    """A series kept in the rollups, with the aggregates that fit it.

    ``primary`` is the aggregate returned under the plain series name by history queries;
    the others are returned as ``<name>.<agg>``.
    """

    name: str
    aggs: tuple[str, ...]
    primary: str

    def rollup_columns(self) -> list[tuple[str, str]]:
        cols: list[tuple[str, str]] = []
        for agg in self.aggs:
            if agg == "avg":
                cols += [(f"{self.name}_sum", "REAL"), (f"{self.name}_cnt", "INTEGER")]
            elif agg == "sum":
                cols.append((f"{self.name}_sum", "INTEGER"))
            else:
                cols.append((f"{self.name}_{agg}", "REAL"))
        return cols


@dataclass(frozen=True, slots=True)
class KindSpec:
    kind: str  # "portfolio" | "holding" | "hedge"
    columns: tuple[Column, ...]
    rolled: tuple[Rolled, ...]

    @property
    def raw_table(self) -> str:
        return f"{self.kind}_tick"

    @property
    def recent_table(self) -> str:
        return f"{self.kind}_recent"

    def rollup_table(self, res: str) -> str:
        return f"{self.kind}_{res}"

    def rollup_columns(self) -> list[tuple[str, str]]:
        cols: list[tuple[str, str]] = [("n", "INTEGER")]
        for r in self.rolled:
            cols += r.rollup_columns()
        return cols

    def column_index(self, name: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.name == name)


def _r(name: str) -> Column:
    return Column(name, "REAL")


def _i(name: str) -> Column:
    return Column(name, "INTEGER")


PORTFOLIO = KindSpec(
    "portfolio",
    (
        _r("value_usd"),
        _r("unhedged_value_usd"),
        _r("net_delta_usd"),
        _r("session_change_usd"),
        _r("unhedged_session_change_usd"),
        _r("pnl_usd"),
        _r("funding_accrued_usd"),
        _i("stale"),
    ),
    (
        Rolled("value_usd", ("avg", "min", "max"), "avg"),
        Rolled("unhedged_value_usd", ("avg", "min", "max"), "avg"),
        Rolled("net_delta_usd", ("avg",), "avg"),
        Rolled("session_change_usd", ("last",), "last"),
        Rolled("pnl_usd", ("avg",), "avg"),
        Rolled("funding_accrued_usd", ("last",), "last"),
        Rolled("stale", ("sum",), "sum"),
    ),
)

HOLDING = KindSpec(
    "holding",
    (
        _r("amount_coin"),
        _r("margin_coin"),
        _r("price_usd"),
        _r("value_usd"),
        _r("unhedged_value_usd"),
        _r("net_delta_coin"),
        _r("net_delta_usd"),
        _r("hedge_ratio"),
        _r("target_ratio"),
        _i("stale"),
    ),
    (
        Rolled("price_usd", ("last", "min", "max"), "last"),
        Rolled("value_usd", ("avg",), "avg"),
        Rolled("unhedged_value_usd", ("avg",), "avg"),
        Rolled("net_delta_coin", ("avg",), "avg"),
        Rolled("net_delta_usd", ("avg",), "avg"),
        Rolled("hedge_ratio", ("avg", "min", "max"), "avg"),
        Rolled("target_ratio", ("last",), "last"),
        Rolled("stale", ("sum",), "sum"),
    ),
)

HEDGE = KindSpec(
    "hedge",
    (
        _i("contracts"),
        _r("size_usd"),
        _r("entry_usd"),
        _r("margin_coin"),
        _r("mark_usd"),
        _r("index_usd"),
        _r("pnl_coin"),
        _r("pnl_usd"),
        _r("realized_pnl_coin"),
        _r("equity_coin"),
        _r("liq_price_usd"),
        _r("liq_distance_pct"),
        _r("basis_pct"),
        _r("funding_rate"),
        _r("funding_accrued_coin"),
        _i("stale"),
    ),
    (
        Rolled("mark_usd", ("last", "min", "max"), "last"),
        Rolled("pnl_coin", ("avg",), "avg"),
        Rolled("pnl_usd", ("avg",), "avg"),
        Rolled("basis_pct", ("avg", "min", "max"), "avg"),
        Rolled("funding_rate", ("last",), "last"),
        Rolled("funding_accrued_coin", ("last",), "last"),
        Rolled("liq_distance_pct", ("min",), "min"),
        Rolled("equity_coin", ("last",), "last"),
        Rolled("size_usd", ("last",), "last"),
        Rolled("margin_coin", ("last",), "last"),
        Rolled("stale", ("sum",), "sum"),
    ),
)

KINDS: dict[str, KindSpec] = {k.kind: k for k in (PORTFOLIO, HOLDING, HEDGE)}


# --- rows from snapshots --------------------------------------------------------------------


def portfolio_row(s: PortfolioSnapshot) -> tuple[Any, ...]:
    pnl = [h.pnl_usd for h in s.hedges if h.pnl_usd is not None]
    acc = [h.funding_accrued_usd for h in s.hedges if h.funding_accrued_usd is not None]
    return (
        s.total_value_usd,
        s.unhedged_value_usd,
        s.net_delta_usd,
        s.session_change_usd,
        s.unhedged_session_change_usd,
        sum(pnl) if pnl else None,
        sum(acc) if acc else None,
        int(s.stale),
    )


def holding_row(h: HoldingSnapshot) -> tuple[Any, ...]:
    return (
        h.amount_coin,
        h.margin_coin,
        h.price_usd,
        h.value_usd,
        h.unhedged_value_usd,
        h.net_delta_coin,
        h.net_delta_usd,
        h.hedge_ratio,
        h.target_ratio,
        int(h.stale),
    )


def hedge_row(h: HedgeSnapshot) -> tuple[Any, ...]:
    return (
        h.contracts,
        h.size_usd,
        h.entry,
        h.margin_coin,
        h.mark,
        h.index,
        h.pnl_coin,
        h.pnl_usd,
        h.realized_pnl_coin,
        h.equity_coin,
        h.liq_price,
        h.liq_distance_pct,
        h.basis_pct,
        h.funding_rate,
        h.funding_accrued_coin,
        int(h.stale),
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


def _v2(conn: sqlite3.Connection) -> None:
    """Recent rows, minute and hour rollups (back-filled from the detail already stored)."""
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)")
    for spec in KINDS.values():
        conn.execute(_recent_ddl(spec))
        for res, _ms in RESOLUTIONS:
            conn.execute(_rollup_ddl(spec, res))
    from storage.rollup import rebuild_rollups  # rollup imports this module

    rebuild_rollups(conn)


def _v3(conn: sqlite3.Connection) -> None:
    """``fills.mark_usd``: the mark when the order filled, so that the hedge review can
    measure each fill's slippage against it (NULL for fills recorded before)."""
    if "mark_usd" not in table_columns(conn, "fills"):
        conn.execute("ALTER TABLE fills ADD COLUMN mark_usd REAL")


Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: tuple[Migration, ...] = (_v1, _v2, _v3)  # MIGRATIONS[i] brings the file to version i+1


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


def user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


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


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def subject_key(kind: str, key: str) -> str:
    return f"{kind}:{key}"


def ensure_subjects(
    conn: sqlite3.Connection, rows: Sequence[tuple[str, str, dict[str, Any]]]
) -> dict[tuple[str, str], int]:
    """Insert missing subjects ``(kind, key, attrs)``; return ``{(kind, key): sid}``."""
    for kind, key, attrs in rows:
        conn.execute(
            "INSERT OR IGNORE INTO subjects (kind, key, venue, symbol, coin, hedged_coin, label)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                key,
                attrs.get("venue"),
                attrs.get("symbol"),
                attrs.get("coin"),
                attrs.get("hedged_coin"),
                attrs.get("label"),
            ),
        )
    return {(k, key): sid for sid, k, key in conn.execute("SELECT sid, kind, key FROM subjects")}
