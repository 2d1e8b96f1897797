"""Fills, funding settlements, margin transfers and alerts: one table declaration each, from
which rows in and out are derived (``storage.rows``).

Each table has a natural unique key, and inserts are ``INSERT OR IGNORE``: the same fact
submitted twice (e.g. by the ledger and by the recorder) is stored once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from core.events import AlertEvent, AlertState, Fill, FundingEvent, MarginTransfer, OrderSide
from storage.rows import Column, Table, optional

FILLS: Table[Fill, Fill] = Table(
    "fills",
    (
        Column("ts_ms", "ts_ms", load=int),
        Column("hedge_id", "hedge_id"),
        Column("venue", "venue"),
        Column("symbol", "symbol"),
        Column("side", "side", dump=str, load=OrderSide),
        Column("contracts", "contracts", load=int),
        Column("size_usd", "size_usd", load=float),
        Column("price_usd", "price", load=float),
        Column("fee_coin", "fee_coin", load=float),
        Column("realized_pnl_coin", "realized_pnl_coin", load=float),
        Column("contracts_after", "contracts_after", load=int),
        Column("entry_after_usd", "entry_after", load=optional(float)),
        Column("broker", "broker"),
        Column("mark_usd", "mark", load=optional(float)),
    ),
    Fill,
)

FUNDING: Table[FundingEvent, FundingEvent] = Table(
    "funding",
    (
        Column("ts_ms", "ts_ms", load=int),
        Column("hedge_id", "hedge_id"),
        Column("venue", "venue"),
        Column("symbol", "symbol"),
        Column("rate", "rate", load=float),
        Column("mark_usd", "mark", load=float),
        Column("size_usd", "size_usd", load=float),
        Column("amount_coin", "amount_coin", load=float),
    ),
    FundingEvent,
)

MARGIN: Table[MarginTransfer, MarginTransfer] = Table(
    "margin_transfers",
    (
        Column("ts_ms", "ts_ms", load=int),
        Column("hedge_id", "hedge_id"),
        Column("venue", "venue"),
        Column("symbol", "symbol"),
        Column("amount_coin", "amount_coin", load=float),
        Column("margin_after_coin", "margin_after_coin", load=float),
        Column("broker", "broker", load=lambda v: v or "paper"),
    ),
    MarginTransfer,
)

ALERTS: Table[AlertEvent, AlertEvent] = Table(
    "alerts",
    (
        Column("ts_ms", "ts_ms", load=int),
        Column("key", "key"),
        Column("rule", "rule"),
        Column("subject", "subject"),
        Column("state", "state", dump=str, load=AlertState),
        Column("message", "message"),
        Column("value", "value", load=optional(float)),
    ),
    AlertEvent,
)


def insert_fills(conn: sqlite3.Connection, fills: Sequence[Fill]) -> int:
    return FILLS.insert(conn, fills)


def insert_funding(conn: sqlite3.Connection, events: Sequence[FundingEvent]) -> int:
    return FUNDING.insert(conn, events)


def insert_margin(conn: sqlite3.Connection, transfers: Sequence[MarginTransfer]) -> int:
    return MARGIN.insert(conn, transfers)


def insert_alerts(conn: sqlite3.Connection, events: Sequence[AlertEvent]) -> int:
    return ALERTS.insert(conn, events)
