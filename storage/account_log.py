"""What an exchange account reported, in the history database (issue 12): its own executions
(``exchange_fills``), its funding bookings (``exchange_funding``) and the reconciliation events
(``reconcile_events``, both values kept).

Every insert is ``INSERT OR IGNORE`` on the exchange's ids (an execution by its trade id, a
funding booking by its id, an event by its time, account, kind and subject), and each
``record_*`` returns how many rows were new: the session re-reads the last days on every start
and records the whole read, and only what the file did not hold yet is added.

The functions take an open connection (``storage.migrations.connect``) and write in one
transaction of their own, or in the caller's when one is open; ``AccountLog`` is the same over
its own connection, synced on every commit like the ledger's.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from core.accounts.model import ExchangeFill, ExecKind, FundingPayment, WalletKind
from core.accounts.reconcile import ReconcileEvent, ReconcileKind
from core.events import OrderSide, Side, Venue
from storage import migrations, schema
from storage.recorder import StorageError
from storage.rows import Column, Table, optional

T = TypeVar("T")


def _transaction(conn: sqlite3.Connection, work: Callable[[], T]) -> T:
    """``work`` inside the caller's transaction, or in one of its own."""
    if conn.in_transaction:
        return work()
    conn.execute("BEGIN IMMEDIATE")
    try:
        out = work()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return out


def _insert(conn: sqlite3.Connection, table: Table[Any, Any], rows: list[tuple[Any, ...]]) -> int:
    if not rows:
        return 0

    def work() -> int:
        before = conn.total_changes
        conn.executemany(table.insert_sql, rows)
        return conn.total_changes - before

    return _transaction(conn, work)


def _where(
    account: str | None, since_ms: int | None, until_ms: int | None
) -> tuple[str, list[Any]]:
    """A WHERE clause: ``account`` if given, ``since_ms <= ts_ms < until_ms``."""
    terms: list[str] = []
    args: list[Any] = []
    if account is not None:
        terms.append("account = ?")
        args.append(account)
    if since_ms is not None:
        terms.append("ts_ms >= ?")
        args.append(since_ms)
    if until_ms is not None:
        terms.append("ts_ms < ?")
        args.append(until_ms)
    return (" WHERE " + " AND ".join(terms) if terms else ""), args


# --- exchange fills ----------------------------------------------------------------------------


_EXEC_KINDS = {k.value: k for k in ExecKind}


def _value(v: Any) -> Any:
    """An enum's stored word (None stays NULL)."""
    return None if v is None else v.value


def _side_or_none(v: Any) -> Side | None:
    return Side(v) if v else None


EXCHANGE_FILLS: Table[ExchangeFill, ExchangeFill] = Table(
    "exchange_fills",
    (
        Column("venue", "venue", dump=_value, load=Venue),
        Column("trade_id", "trade_id", load=str),
        Column("symbol", "symbol", load=str),
        Column("ts_ms", "ts_ms", load=int),
        Column("side", "side", dump=_value, load=OrderSide),
        Column("contracts", "contracts", load=float),
        Column("size_usd", "size_usd", load=float),
        Column("price_usd", "price", load=optional(float)),
        Column("fee_coin", "fee_coin", load=optional(float)),
        Column("fee_currency", "fee_currency"),
        Column("order_id", "order_id"),
        Column("client_order_id", "client_order_id"),
        # NULL (or a word this version lacks): not said
        Column("exec_kind", "exec_kind", dump=_value, load=_EXEC_KINDS.get),
    ),
    ExchangeFill,
    lead=("account",),
)
FILL_COLS = (*EXCHANGE_FILLS.lead, *EXCHANGE_FILLS.names)


def fill_row(account: str, f: ExchangeFill) -> tuple[Any, ...]:
    return (account, *EXCHANGE_FILLS.row(f))


def record_fills(conn: sqlite3.Connection, account: str, fills: Sequence[ExchangeFill]) -> int:
    """Store the executions not stored yet (by account, venue and trade id); how many were."""
    return _insert(conn, EXCHANGE_FILLS, [fill_row(account, f) for f in fills])


def load_fills(
    conn: sqlite3.Connection,
    *,
    account: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> list[tuple[str, ExchangeFill]]:
    """(account, fill) oldest first."""
    where, args = _where(account, since_ms, until_ms)
    rows = conn.execute(f"{EXCHANGE_FILLS.select_sql}{where} ORDER BY ts_ms, id", args).fetchall()
    return [(str(r[0]), EXCHANGE_FILLS.decode(r)) for r in rows]  # r[0]: the lead, account


def recorded_trade_ids(conn: sqlite3.Connection, account: str, venue: Venue) -> frozenset[str]:
    """The trade ids of ``account`` on ``venue`` already stored."""
    rows = conn.execute(
        "SELECT trade_id FROM exchange_fills WHERE account = ? AND venue = ?",
        (account, venue.value),
    ).fetchall()
    return frozenset(str(r[0]) for r in rows)


# --- exchange funding --------------------------------------------------------------------------


EXCHANGE_FUNDING: Table[FundingPayment, FundingPayment] = Table(
    "exchange_funding",
    (
        Column("venue", "venue", dump=_value, load=Venue),
        Column("exchange_id", "exchange_id", load=str),
        Column("symbol", "symbol", load=lambda v: str(v or "")),
        Column("ts_ms", "ts_ms", load=int),
        Column("amount_coin", "amount_coin", load=float),
        Column("coin", "coin", load=str),
    ),
    FundingPayment,
    lead=("account",),
)


def record_funding(
    conn: sqlite3.Connection, account: str, payments: Sequence[FundingPayment]
) -> int:
    """Store the funding bookings not stored yet (by account, venue and exchange id)."""
    rows = [(account, *EXCHANGE_FUNDING.row(f)) for f in payments]
    return _insert(conn, EXCHANGE_FUNDING, rows)


def load_funding(
    conn: sqlite3.Connection,
    *,
    account: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> list[tuple[str, FundingPayment]]:
    """(account, payment) oldest first."""
    where, args = _where(account, since_ms, until_ms)
    sql = f"{EXCHANGE_FUNDING.select_sql}{where} ORDER BY ts_ms, id"
    rows = conn.execute(sql, args).fetchall()
    return [(str(r[0]), EXCHANGE_FUNDING.decode(r)) for r in rows]  # r[0]: the lead, account


# --- reconciliation events ---------------------------------------------------------------------


def _wallet_word(w: WalletKind | None) -> str:
    return "" if w is None else w.value  # "": a position (NULLs never collide in the key)


RECONCILE_EVENTS: Table[ReconcileEvent, ReconcileEvent] = Table(
    "reconcile_events",
    (
        Column("ts_ms", "ts_ms", load=int),
        Column("account", "account", load=str),
        Column("venue", "venue", dump=_value, load=Venue),
        Column("kind", "kind", dump=_value, load=ReconcileKind),
        Column("symbol", "symbol", load=str),
        Column("coin", "coin", load=str),
        Column("wallet", "wallet", dump=_wallet_word, load=lambda v: WalletKind(v) if v else None),
        Column("expected_side", "expected_side", dump=_value, load=_side_or_none),
        Column("exchange_side", "exchange_side", dump=_value, load=_side_or_none),
        Column("expected", "expected", load=float),
        Column("exchange", "exchange", load=float),
        Column("difference", "difference", load=float),
        Column("unit", "unit", load=lambda v: str(v or "")),
        Column(
            "explained_by",
            "explained_by",
            dump=",".join,
            load=lambda v: tuple(str(v).split(",")) if v else (),
        ),
        Column("text", "text", load=str),
    ),
    ReconcileEvent,
)


def record_events(conn: sqlite3.Connection, events: Sequence[ReconcileEvent]) -> int:
    """Store the events not stored yet; how many were."""
    return _insert(conn, RECONCILE_EVENTS, [RECONCILE_EVENTS.row(e) for e in events])


def load_events(
    conn: sqlite3.Connection,
    *,
    account: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> list[ReconcileEvent]:
    """Reconciliation events oldest first."""
    where, args = _where(account, since_ms, until_ms)
    sql = f"{RECONCILE_EVENTS.select_sql}{where} ORDER BY ts_ms, id"
    return [RECONCILE_EVENTS.decode(r) for r in conn.execute(sql, args).fetchall()]


# --- its own connection ------------------------------------------------------------------------


class AccountLog:
    """The functions above over a connection of its own (``synchronous=FULL``, as the
    ledger: a recorded fill is on disk when the call returns), safe from any thread."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        try:
            self._conn = migrations.connect(
                self.db_path, synchronous="FULL", check_same_thread=False
            )
        except (sqlite3.Error, schema.SchemaError, OSError) as exc:
            raise StorageError(f"cannot open account log database {self.db_path}: {exc}") from exc
        self._lock = threading.Lock()

    def record_fills(self, account: str, fills: Sequence[ExchangeFill]) -> int:
        with self._lock:
            return record_fills(self._conn, account, fills)

    def record_funding(self, account: str, payments: Sequence[FundingPayment]) -> int:
        with self._lock:
            return record_funding(self._conn, account, payments)

    def record_events(self, events: Sequence[ReconcileEvent]) -> int:
        with self._lock:
            return record_events(self._conn, events)

    def fills(self, account: str | None = None) -> list[tuple[str, ExchangeFill]]:
        with self._lock:
            return load_fills(self._conn, account=account)

    def funding(self, account: str | None = None) -> list[tuple[str, FundingPayment]]:
        with self._lock:
            return load_funding(self._conn, account=account)

    def events(self, account: str | None = None) -> list[ReconcileEvent]:
        with self._lock:
            return load_events(self._conn, account=account)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> AccountLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
