"""Fills, funding settlements and alerts: rows in and out.

Each table has a natural unique key, and inserts are ``INSERT OR IGNORE``: the same fact
submitted twice (e.g. by the ledger and by the recorder) is stored once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from core.events import AlertEvent, AlertState, Fill, FundingEvent, MarginTransfer, OrderSide

FILL_COLS = (
    "ts_ms",
    "hedge_id",
    "venue",
    "symbol",
    "side",
    "contracts",
    "size_usd",
    "price_usd",
    "fee_coin",
    "realized_pnl_coin",
    "contracts_after",
    "entry_after_usd",
    "broker",
    "mark_usd",
)
FUNDING_COLS = (
    "ts_ms",
    "hedge_id",
    "venue",
    "symbol",
    "rate",
    "mark_usd",
    "size_usd",
    "amount_coin",
)
MARGIN_COLS = (
    "ts_ms",
    "hedge_id",
    "venue",
    "symbol",
    "amount_coin",
    "margin_after_coin",
    "broker",
)
ALERT_COLS = ("ts_ms", "key", "rule", "subject", "state", "message", "value")


def _insert(conn: sqlite3.Connection, table: str, cols: Sequence[str], rows: list[Any]) -> int:
    if not rows:
        return 0
    sql = f"INSERT OR IGNORE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    before = conn.total_changes
    conn.executemany(sql, rows)
    return conn.total_changes - before


def fill_row(f: Fill) -> tuple[Any, ...]:
    return (
        f.ts_ms,
        f.hedge_id,
        f.venue,
        f.symbol,
        str(f.side),
        f.contracts,
        f.size_usd,
        f.price,
        f.fee_coin,
        f.realized_pnl_coin,
        f.contracts_after,
        f.entry_after,
        f.broker,
        f.mark,
    )


def fill_from_row(r: Sequence[Any]) -> Fill:
    return Fill(
        ts_ms=int(r[0]),
        hedge_id=r[1],
        venue=r[2],
        symbol=r[3],
        side=OrderSide(r[4]),
        contracts=int(r[5]),
        size_usd=float(r[6]),
        price=float(r[7]),
        fee_coin=float(r[8]),
        realized_pnl_coin=float(r[9]),
        contracts_after=int(r[10]),
        entry_after=None if r[11] is None else float(r[11]),
        broker=r[12],
        mark=None if r[13] is None else float(r[13]),
    )


def funding_row(e: FundingEvent) -> tuple[Any, ...]:
    return (e.ts_ms, e.hedge_id, e.venue, e.symbol, e.rate, e.mark, e.size_usd, e.amount_coin)


def funding_from_row(r: Sequence[Any]) -> FundingEvent:
    return FundingEvent(
        ts_ms=int(r[0]),
        hedge_id=r[1],
        venue=r[2],
        symbol=r[3],
        rate=float(r[4]),
        mark=float(r[5]),
        size_usd=float(r[6]),
        amount_coin=float(r[7]),
    )


def alert_row(e: AlertEvent) -> tuple[Any, ...]:
    return (e.ts_ms, e.key, e.rule, e.subject, str(e.state), e.message, e.value)


def alert_from_row(r: Sequence[Any]) -> AlertEvent:
    return AlertEvent(
        ts_ms=int(r[0]),
        key=r[1],
        rule=r[2],
        subject=r[3],
        state=AlertState(r[4]),
        message=r[5],
        value=None if r[6] is None else float(r[6]),
    )


def insert_fills(conn: sqlite3.Connection, fills: Sequence[Fill]) -> int:
    return _insert(conn, "fills", FILL_COLS, [fill_row(f) for f in fills])


def insert_funding(conn: sqlite3.Connection, events: Sequence[FundingEvent]) -> int:
    return _insert(conn, "funding", FUNDING_COLS, [funding_row(e) for e in events])


def margin_row(t: MarginTransfer) -> tuple[Any, ...]:
    return (t.ts_ms, t.hedge_id, t.venue, t.symbol, t.amount_coin, t.margin_after_coin, t.broker)


def margin_from_row(r: Sequence[Any]) -> MarginTransfer:
    return MarginTransfer(
        ts_ms=int(r[0]),
        hedge_id=r[1],
        venue=r[2],
        symbol=r[3],
        amount_coin=float(r[4]),
        margin_after_coin=float(r[5]),
        broker=r[6] or "paper",
    )


def insert_margin(conn: sqlite3.Connection, transfers: Sequence[MarginTransfer]) -> int:
    return _insert(conn, "margin_transfers", MARGIN_COLS, [margin_row(t) for t in transfers])


def insert_alerts(conn: sqlite3.Connection, events: Sequence[AlertEvent]) -> int:
    return _insert(conn, "alerts", ALERT_COLS, [alert_row(e) for e in events])
