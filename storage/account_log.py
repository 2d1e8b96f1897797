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

FILL_COLS = (
    "account",
    "venue",
    "trade_id",
    "symbol",
    "ts_ms",
    "side",
    "contracts",
    "size_usd",
    "price_usd",
    "fee_coin",
    "fee_currency",
    "order_id",
    "client_order_id",
    "exec_kind",
)
FUNDING_COLS = ("account", "venue", "exchange_id", "symbol", "ts_ms", "amount_coin", "coin")
EVENT_COLS = (
    "ts_ms",
    "account",
    "venue",
    "kind",
    "symbol",
    "coin",
    "wallet",
    "expected_side",
    "exchange_side",
    "expected",
    "exchange",
    "difference",
    "unit",
    "explained_by",
    "text",
)

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


def _insert(conn: sqlite3.Connection, table: str, cols: Sequence[str], rows: list[Any]) -> int:
    if not rows:
        return 0
    sql = f"INSERT OR IGNORE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"

    def work() -> int:
        before = conn.total_changes
        conn.executemany(sql, rows)
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


def fill_row(account: str, f: ExchangeFill) -> tuple[Any, ...]:
    return (
        account,
        f.venue.value,
        f.trade_id,
        f.symbol,
        f.ts_ms,
        f.side.value,
        f.contracts,
        f.size_usd,
        f.price,
        f.fee_coin,
        f.fee_currency,
        f.order_id,
        f.client_order_id,
        None if f.exec_kind is None else f.exec_kind.value,
    )


def fill_from_row(r: Sequence[Any]) -> tuple[str, ExchangeFill]:
    return str(r[0]), ExchangeFill(
        venue=Venue(r[1]),
        trade_id=str(r[2]),
        symbol=str(r[3]),
        ts_ms=int(r[4]),
        side=OrderSide(r[5]),
        contracts=float(r[6]),
        size_usd=float(r[7]),
        price=None if r[8] is None else float(r[8]),
        fee_coin=None if r[9] is None else float(r[9]),
        fee_currency=r[10],
        order_id=r[11],
        client_order_id=r[12],
        exec_kind=_EXEC_KINDS.get(r[13]),  # NULL (or a word this version lacks): not said
    )


def record_fills(conn: sqlite3.Connection, account: str, fills: Sequence[ExchangeFill]) -> int:
    """Store the executions not stored yet (by account, venue and trade id); how many were."""
    return _insert(conn, "exchange_fills", FILL_COLS, [fill_row(account, f) for f in fills])


def load_fills(
    conn: sqlite3.Connection,
    *,
    account: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> list[tuple[str, ExchangeFill]]:
    """(account, fill) oldest first."""
    where, args = _where(account, since_ms, until_ms)
    rows = conn.execute(
        f"SELECT {', '.join(FILL_COLS)} FROM exchange_fills{where} ORDER BY ts_ms, id", args
    ).fetchall()
    return [fill_from_row(r) for r in rows]


def recorded_trade_ids(conn: sqlite3.Connection, account: str, venue: Venue) -> frozenset[str]:
    """The trade ids of ``account`` on ``venue`` already stored."""
    rows = conn.execute(
        "SELECT trade_id FROM exchange_fills WHERE account = ? AND venue = ?",
        (account, venue.value),
    ).fetchall()
    return frozenset(str(r[0]) for r in rows)


# --- exchange funding --------------------------------------------------------------------------


def funding_row(account: str, f: FundingPayment) -> tuple[Any, ...]:
    return (account, f.venue.value, f.exchange_id, f.symbol, f.ts_ms, f.amount_coin, f.coin)


def funding_from_row(r: Sequence[Any]) -> tuple[str, FundingPayment]:
    return str(r[0]), FundingPayment(
        venue=Venue(r[1]),
        exchange_id=str(r[2]),
        symbol=str(r[3] or ""),
        ts_ms=int(r[4]),
        amount_coin=float(r[5]),
        coin=str(r[6]),
    )


def record_funding(
    conn: sqlite3.Connection, account: str, payments: Sequence[FundingPayment]
) -> int:
    """Store the funding bookings not stored yet (by account, venue and exchange id)."""
    rows = [funding_row(account, f) for f in payments]
    return _insert(conn, "exchange_funding", FUNDING_COLS, rows)


def load_funding(
    conn: sqlite3.Connection,
    *,
    account: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> list[tuple[str, FundingPayment]]:
    """(account, payment) oldest first."""
    where, args = _where(account, since_ms, until_ms)
    rows = conn.execute(
        f"SELECT {', '.join(FUNDING_COLS)} FROM exchange_funding{where} ORDER BY ts_ms, id", args
    ).fetchall()
    return [funding_from_row(r) for r in rows]


# --- reconciliation events ---------------------------------------------------------------------


def event_row(e: ReconcileEvent) -> tuple[Any, ...]:
    return (
        e.ts_ms,
        e.account,
        e.venue.value,
        e.kind.value,
        e.symbol,
        e.coin,
        e.wallet.value if e.wallet is not None else "",  # "": a position (NULLs never collide)
        e.expected_side.value if e.expected_side is not None else None,
        e.exchange_side.value if e.exchange_side is not None else None,
        e.expected,
        e.exchange,
        e.difference,
        e.unit,
        ",".join(e.explained_by),
        e.text,
    )


def event_from_row(r: Sequence[Any]) -> ReconcileEvent:
    return ReconcileEvent(
        ts_ms=int(r[0]),
        account=str(r[1]),
        venue=Venue(r[2]),
        kind=ReconcileKind(r[3]),
        symbol=str(r[4]),
        coin=str(r[5]),
        wallet=WalletKind(r[6]) if r[6] else None,
        expected_side=Side(r[7]) if r[7] else None,
        exchange_side=Side(r[8]) if r[8] else None,
        expected=float(r[9]),
        exchange=float(r[10]),
        difference=float(r[11]),
        unit=str(r[12] or ""),
        explained_by=tuple(str(r[13]).split(",")) if r[13] else (),
        text=str(r[14]),
    )


def record_events(conn: sqlite3.Connection, events: Sequence[ReconcileEvent]) -> int:
    """Store the events not stored yet; how many were."""
    return _insert(conn, "reconcile_events", EVENT_COLS, [event_row(e) for e in events])


def load_events(
    conn: sqlite3.Connection,
    *,
    account: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> list[ReconcileEvent]:
    """Reconciliation events oldest first."""
    where, args = _where(account, since_ms, until_ms)
    rows = conn.execute(
        f"SELECT {', '.join(EVENT_COLS)} FROM reconcile_events{where} ORDER BY ts_ms, id", args
    ).fetchall()
    return [event_from_row(r) for r in rows]


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
