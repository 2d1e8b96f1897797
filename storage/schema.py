"""The history database's layout: tables, columns, rollup tiers (opening a file and
migrating it to this layout: ``storage.migrations``).

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
- ``<kind>_1m`` / ``<kind>_10m`` / ``<kind>_1h``: rollups, primary key ``(sid, bucket_ms)`` (a
  30-day chart reads ~720 hourly rows of its subject, never 2.6 M one-second ones; a 10-day one
  ~1,440 ten-minute rows rather than 14,400 minute ones).
- Compaction (the recorder, every ``COMPACT_MS`` of data time, right after a batch's commit, in
  one-minute steps of one transaction each so that no step holds the file for long): rows of
  ``<kind>_recent`` older than the step's end are folded into the minute rollup, those complete
  minutes into the coarser tiers (SQL upserts that merge with a partial bucket already there),
  and moved to ``<kind>_tick``; ``meta`` ``compacted_until_ms`` records the boundary. Readers
  take rollups and ``_tick`` below it and ``_recent`` from it on, in one read transaction, so
  they never count a sample twice.
  Each rolled-up series stores only the aggregates that fit it: ``_last`` (value at the latest
  sample of the bucket), ``_min``, ``_max``, ``_sum`` + ``_cnt`` (an exact average over the
  non-null samples, combinable across buckets); ``n`` counts samples.
- ``fills``, ``funding``, ``alerts``: events, with natural unique keys so that the same fact
  written twice (by the ledger and the recorder) is stored once.
- ``exchange_fills``, ``exchange_funding``, ``reconcile_events``: what an exchange account
  reported, unique by the exchange's ids, and each difference from what hedgetop expected with
  both values (``storage.account_log``).

Column names carry their unit (``_usd``, ``_coin``, ``_pct``, ``_ms``); ``funding_rate`` and
``hedge_ratio``/``target_ratio`` are plain fractions. A change to the layout is a new entry in
``storage.migrations.MIGRATIONS``, never an edit of an applied one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot
from storage.rows import Column, Convert, Table, finite

SCHEMA_VERSION = 7
PAGE_SIZE = 4096
RAW_RETENTION_MS = 7 * 86_400_000
COMPACT_MS = 5 * 60_000
MINUTE_MS = 60_000
TEN_MINUTES_MS = 600_000
HOUR_MS = 3_600_000
#: rollup tiers, finest first: the first is folded from the one-second rows, the others from it
RESOLUTIONS: tuple[tuple[str, int], ...] = (
    ("1m", MINUTE_MS),
    ("10m", TEN_MINUTES_MS),
    ("1h", HOUR_MS),
)
AGGS = ("last", "min", "max", "avg", "sum")


class SchemaError(Exception):
    """The file is not a hedgetop database this version understands (message says why)."""


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
    """A kind of subject: its one-second columns (from its part of the snapshot) and what the
    rollups keep of them. ``rows`` is derived: the row of one subject at one instant, appended
    to ``<kind>_recent`` after ``ts_ms`` and ``sid``."""

    kind: str  # "portfolio" | "holding" | "hedge"
    columns: tuple[Column, ...]
    rolled: tuple[Rolled, ...]
    rows: Table[Any, None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table: Table[Any, None] = Table(
            self.recent_table,
            self.columns,
            lead=("ts_ms", "sid"),
            finite_values=True,
            verb="INSERT",
        )
        object.__setattr__(self, "rows", table)

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

    def row(self, obj: Any) -> tuple[Any, ...]:
        return self.rows.row(obj)


def _r(name: str, attr: str | None = None, dump: Convert | None = None) -> Column:
    return Column(name, attr or name, "REAL", dump)


def _i(name: str, attr: str | None = None, dump: Convert | None = None) -> Column:
    return Column(name, attr or name, "INTEGER", dump)


def _sum_pnl(hedges: Sequence[HedgeSnapshot]) -> float | None:
    pnl = [h.pnl_usd for h in hedges if h.pnl_usd is not None]
    return sum(pnl) if pnl else None


def _sum_funding(hedges: Sequence[HedgeSnapshot]) -> float | None:
    acc = [h.funding_accrued_usd for h in hedges if h.funding_accrued_usd is not None]
    return sum(acc) if acc else None


PORTFOLIO = KindSpec(
    "portfolio",
    (
        _r("value_usd", "total_value_usd"),
        _r("unhedged_value_usd"),
        _r("net_delta_usd"),
        _r("session_change_usd"),
        _r("unhedged_session_change_usd"),
        _r("pnl_usd", "hedges", _sum_pnl),
        _r("funding_accrued_usd", "hedges", _sum_funding),
        _i("stale", dump=int),
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
        _i("stale", dump=int),
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
        _r("entry_usd", "entry"),
        _r("margin_coin"),
        _r("mark_usd", "mark"),
        _r("index_usd", "index"),
        _r("pnl_coin"),
        _r("pnl_usd"),
        _r("realized_pnl_coin"),
        _r("equity_coin"),
        _r("liq_price_usd", "liq_price"),
        _r("liq_distance_pct"),
        _r("basis_pct"),
        _r("funding_rate"),
        _r("funding_accrued_coin"),
        _i("stale", dump=int),
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


def _real(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row SQLite may hold as data (see ``storage.rows.finite``)."""
    return tuple(finite(v) for v in row)


def portfolio_row(s: PortfolioSnapshot) -> tuple[Any, ...]:
    return PORTFOLIO.rows.row(s)


def holding_row(h: HoldingSnapshot) -> tuple[Any, ...]:
    return HOLDING.rows.row(h)


def hedge_row(h: HedgeSnapshot) -> tuple[Any, ...]:
    return HEDGE.rows.row(h)


def user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


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
