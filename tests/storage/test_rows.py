"""The table declarations (``storage.rows``) match the database exactly, rows round-trip through
them, and the events read back are worded (by the TUI, not storage) as before issue 10."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
import storage_factories as fx

from core.events import AlertEvent, AlertState, Fill, FundingEvent, OrderSide
from storage import account_log, events, migrations, schema
from storage.history import open_history
from storage.recorder import Recorder
from storage.rows import Column, Table
from tui.event_text import event_text

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


def _fill(**kw: object) -> Fill:
    base: dict[str, object] = {
        "ts_ms": fx.T0 + 1000,
        "hedge_id": "bybit-btc",
        "venue": "bybit",
        "symbol": "BTCUSD",
        "side": OrderSide.SELL,
        "contracts": 1500,
        "size_usd": 1500.0,
        "price": 64123.456,
        "fee_coin": 0.0000117,
        "realized_pnl_coin": 0.0,
        "contracts_after": 1500,
        "entry_after": 64123.456,
    }
    return Fill(**{**base, **kw})  # type: ignore[arg-type]


def test_recorded_events_are_worded_as_the_screen_always_showed_them(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    eth = _fill(
        ts_ms=fx.T0 + 2000,
        hedge_id="okx-eth",
        venue="okx",
        symbol="ETH-USD-SWAP",
        side=OrderSide.BUY,
        contracts=7,
        size_usd=70.0,
        price=3012.5,
        fee_coin=0.00001,
        realized_pnl_coin=-0.000321,
        contracts_after=93,
        entry_after=None,
    )
    odd = _fill(
        ts_ms=fx.T0 + 3000,
        hedge_id="x",
        venue="deribit",
        symbol="PERPETUAL",
        side=OrderSide.BUY,
        contracts=12345,
        size_usd=123450.0,
        price=1234567.0,
        fee_coin=0.5,
        realized_pnl_coin=0.25,
        contracts_after=0,
        entry_after=None,
    )
    paid = FundingEvent(
        ts_ms=fx.T0 + 5000,
        hedge_id="okx-sol",
        venue="okx",
        symbol="SOL-USD-SWAP",
        rate=-0.00025,
        mark=150.25,
        size_usd=2000.0,
        amount_coin=-0.0033,
    )
    got = FundingEvent(
        ts_ms=fx.T0 + 4000,
        hedge_id="bybit-btc",
        venue="bybit",
        symbol="BTCUSD",
        rate=0.0001,
        mark=64000.5,
        size_usd=150000.0,
        amount_coin=0.000234,
    )
    alert = AlertEvent(
        ts_ms=fx.T0 + 6000,
        key="liq:bybit:BTCUSD",
        rule="liq",
        subject="bybit-btc",
        state=AlertState.RAISED,
        message="liquidation 18 % away",
        value=18.0,
    )
    with Recorder(path) as rec:
        rec.submit_snapshot(fx.snapshot(fx.T0, (fx.hedge(),), (fx.holding(),)))  # coin "BTC"
        for e in (_fill(), eth, odd):
            rec.submit_fill(e)
        rec.submit_funding(got)
        rec.submit_funding(paid)
        rec.submit_alert(alert)
        assert rec.flush()
    with open_history(path) as hist:
        evs = hist.events(fx.T0, fx.T0 + 10_000)
    assert [e.event for e in evs] == [_fill(), eth, odd, got, paid, alert]
    assert [e.coin for e in evs] == ["BTC", None, None, "BTC", None, None]
    assert [event_text(e) for e in evs] == [
        "sell 1500 contracts bybit BTCUSD (1,500 USD) at 64,123.46 USD, fee 0.00001170 BTC, "
        "now 1500 contracts",
        "buy 7 contracts okx ETH-USD-SWAP (70 USD) at 3,012.50 USD, fee 0.00001000 ETH, "
        "realised -0.00032100 ETH, now 93 contracts",
        "buy 12345 contracts deribit PERPETUAL (123,450 USD) at 1,234,567.00 USD, fee "
        "0.50000000 coin, realised +0.25000000 coin, now 0 contracts",
        "funding received 0.00023400 BTC (bybit BTCUSD, rate +0.0100 %, 150,000 USD at "
        "64,000.50 USD)",
        "funding paid 0.00330000 SOL (okx SOL-USD-SWAP, rate -0.0250 %, 2,000 USD at 150.25 USD)",
        "alert raised: liquidation 18 % away",
    ]
