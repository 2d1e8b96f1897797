"""The table declarations (``storage.rows``) match the database exactly, rows round-trip through
them (issue 10)."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
import storage_factories as fx

from storage import account_log, events, migrations, schema
from storage.rows import Column, Table

EVENT_TABLES: list[Table[object, object]] = [
    events.FILLS,  # type: ignore[list-item]
    events.FUNDING,  # type: ignore[list-item]
    events.MARGIN,  # type: ignore[list-item]
    events.ALERTS,  # type: ignore[list-item]
    account_log.EXCHANGE_FILLS,  # type: ignore[list-item]
    account_log.EXCHANGE_FUNDING,  # type: ignore[list-item]
    account_log.RECONCILE_EVENTS,  # type: ignore[list-item]
]


def _stored(conn: sqlite3.Connection, table: str) -> list[str]:
    return [c for c in schema.table_columns(conn, table) if c != "id"]


@pytest.mark.parametrize("table", EVENT_TABLES, ids=lambda t: t.name)
def test_each_declaration_names_the_stored_columns_in_order(
    tmp_path: Path, table: Table[object, object]
) -> None:
    conn = migrations.connect(tmp_path / "h.db")
    assert [*table.lead, *table.names] == _stored(conn, table.name)
    conn.close()


def test_snapshot_kinds_match_their_tables(tmp_path: Path) -> None:
    conn = migrations.connect(tmp_path / "h.db")
    for spec in schema.KINDS.values():
        names = [c.name for c in spec.columns]
        assert schema.table_columns(conn, spec.recent_table) == ["sid", "ts_ms", *names]
        assert schema.table_columns(conn, spec.raw_table) == ["sid", "ts_ms", *names]
        types = {r[1]: r[2] for r in conn.execute(f"PRAGMA table_info({spec.raw_table})")}
        assert [types[c.name] for c in spec.columns] == [c.sql_type for c in spec.columns]
        assert spec.rows.insert_sql.startswith(
            f"INSERT INTO {spec.recent_table} (ts_ms, sid, {names[0]}, "
        )
    conn.close()


def test_a_row_holds_the_declared_attributes_and_no_number_that_is_not_finite() -> None:
    h = fx.hedge(mark=math.nan, liq_distance_pct=math.inf, stale=True)
    row = schema.hedge_row(h)
    by_name = dict(zip((c.name for c in schema.HEDGE.columns), row, strict=True))
    assert by_name["mark_usd"] is None
    assert by_name["liq_distance_pct"] is None
    assert by_name["entry_usd"] == h.entry
    assert by_name["contracts"] == h.contracts
    assert by_name["stale"] == 1
    assert type(by_name["stale"]) is int
    snap = fx.snapshot(fx.T0, (fx.hedge(), fx.hedge("bybit-eth", coin="ETH")), (fx.holding(),))
    p = dict(
        zip((c.name for c in schema.PORTFOLIO.columns), schema.portfolio_row(snap), strict=True)
    )
    assert p["value_usd"] == snap.total_value_usd
    assert p["pnl_usd"] == pytest.approx(sum(g.pnl_usd or 0.0 for g in snap.hedges))


def test_lead_columns_come_from_the_caller_and_decode_skips_them() -> None:
    class Pair:
        def __init__(self, a: int, b: str) -> None:
            self.a, self.b = a, b

    t: Table[Pair, tuple[int, str]] = Table(
        "pairs",
        (Column("a_n", "a", "INTEGER", load=int), Column("b_word", "b", "TEXT", dump=str.upper)),
        lambda a, b: (a, b),
        lead=("owner",),
    )
    assert t.insert_sql == "INSERT OR IGNORE INTO pairs (owner, a_n, b_word) VALUES (?, ?, ?)"
    assert t.select_sql == "SELECT owner, a_n, b_word FROM pairs"
    assert t.row(Pair(3, "x")) == (3, "X")
    assert t.decode(("me", "4", "Y")) == (4, "Y")
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE pairs (owner TEXT, a_n INTEGER, b_word TEXT, UNIQUE (owner, a_n))")
    assert t.insert(conn, [Pair(1, "p"), Pair(1, "q"), Pair(2, "r")], "me") == 2
    assert [t.decode(r) for r in conn.execute(t.select_sql)] == [(1, "P"), (2, "R")]
