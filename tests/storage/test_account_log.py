"""``storage.account_log``: an exchange's fills and funding are stored once each by the
exchange's ids (recording a read twice, or again after a restart, adds nothing), and a
reconciliation event keeps both values."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.accounts.model import ExchangeFill, FundingPayment, WalletKind
from core.accounts.reconcile import ReconcileEvent, ReconcileKind
from core.events import OrderSide, Side, Venue
from storage import account_log, migrations, schema

T0 = 1_764_000_000_000


def fill(tid: str, ts: int = T0, venue: Venue = Venue.BYBIT, **kw: object) -> ExchangeFill:
    return ExchangeFill(
        venue=venue,
        symbol="BTCUSD",
        ts_ms=ts,
        side=OrderSide.SELL,
        contracts=2_000,
        size_usd=2_000,
        price=91_000.5,
        fee_coin=kw.get("fee_coin", 1.2e-6),  # type: ignore[arg-type]
        fee_currency="BTC",
        trade_id=tid,
        order_id=None,
        client_order_id=kw.get("client_order_id", "app1"),  # type: ignore[arg-type]
    )


def pay(ident: str, ts: int = T0, amount: float = 0.0012) -> FundingPayment:
    return FundingPayment(
        venue=Venue.BYBIT,
        symbol="BTCUSD",
        ts_ms=ts,
        amount_coin=amount,
        coin="BTC",
        exchange_id=ident,
    )


def position_event(ts: int = T0) -> ReconcileEvent:
    return ReconcileEvent(
        ts_ms=ts,
        account="main",
        venue=Venue.BYBIT,
        kind=ReconcileKind.POSITION_CHANGED,
        symbol="BTCUSD",
        coin="BTC",
        expected=-135_000,
        exchange=-120_000,
        difference=15_000,
        unit="USD",
        text="bybit BTCUSD: expected short 135,000 USD, exchange short 120,000 USD (\u221215,000)",
        expected_side=Side.SHORT,
        exchange_side=Side.SHORT,
        explained_by=("t1", "t2"),
    )


def balance_event(ts: int = T0) -> ReconcileEvent:
    return ReconcileEvent(
        ts_ms=ts,
        account="main",
        venue=Venue.BYBIT,
        kind=ReconcileKind.BALANCE_CHANGED,
        symbol="",
        coin="BTC",
        expected=1.6,
        exchange=1.4012,
        difference=-0.2,
        unit="BTC",
        text="bybit futures BTC: expected 1.6, exchange 1.4012 (\u22120.1988)",
        wallet=WalletKind.FUTURES,
    )


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = migrations.connect(tmp_path / "h.db")
    yield c
    c.close()


def test_a_fresh_file_has_the_account_tables(conn: sqlite3.Connection) -> None:
    assert schema.user_version(conn) == schema.SCHEMA_VERSION
    assert set(schema.table_columns(conn, "exchange_fills")) >= {"account", "venue", "trade_id"}
    assert set(schema.table_columns(conn, "exchange_funding")) >= {"exchange_id", "amount_coin"}
    assert set(schema.table_columns(conn, "reconcile_events")) >= {"expected", "exchange"}


def test_fills_recorded_twice_are_stored_once(conn: sqlite3.Connection) -> None:
    read = [fill("t1"), fill("t2", T0 + 1)]
    assert account_log.record_fills(conn, "main", read) == 2
    assert account_log.record_fills(conn, "main", read) == 0
    assert account_log.record_fills(conn, "main", [*read, fill("t3", T0 + 2)]) == 1
    assert account_log.load_fills(conn) == [("main", f) for f in (*read, fill("t3", T0 + 2))]
    # the same trade id in another account, or on another venue, is another fill
    assert account_log.record_fills(conn, "other", [fill("t1")]) == 1
    assert account_log.record_fills(conn, "main", [fill("t1", venue=Venue.BINANCE)]) == 1
    assert len(account_log.load_fills(conn, account="main")) == 4
    assert account_log.recorded_trade_ids(conn, "main", Venue.BYBIT) == {"t1", "t2", "t3"}


def test_a_fill_keeps_what_the_exchange_did_not_say_as_none(conn: sqlite3.Connection) -> None:
    f = fill("t9", fee_coin=None, client_order_id=None)
    account_log.record_fills(conn, "main", [f])
    ((_, back),) = account_log.load_fills(conn)
    assert back == f
    assert (back.fee_coin, back.client_order_id, back.order_id) == (None, None, None)


def test_funding_recorded_twice_is_stored_once(conn: sqlite3.Connection) -> None:
    read = [pay("f1"), pay("f2", T0 + 28_800_000, -0.0004)]
    assert account_log.record_funding(conn, "main", read) == 2
    assert account_log.record_funding(conn, "main", read) == 0
    assert account_log.load_funding(conn, account="main") == [("main", p) for p in read]
    window = account_log.load_funding(conn, since_ms=T0 + 1)
    assert [p.exchange_id for _, p in window] == ["f2"]


def test_a_restart_rereading_the_window_doubles_nothing(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    first = ([fill("t1"), fill("t2", T0 + 1)], [pay("f1")])
    with account_log.AccountLog(path) as log:
        assert log.record_fills("main", first[0]) == 2
        assert log.record_funding("main", first[1]) == 1
        assert log.record_events([position_event()]) == 1
    # a new process: the 7-day window read again, with one new fill and one new booking
    with account_log.AccountLog(path) as log:
        assert log.record_fills("main", [*first[0], fill("t3", T0 + 9)]) == 1
        assert log.record_funding("main", [*first[1], pay("f2", T0 + 9)]) == 1
        assert log.record_events([position_event()]) == 0
        assert [f.trade_id for _, f in log.fills()] == ["t1", "t2", "t3"]
        assert [p.exchange_id for _, p in log.funding("main")] == ["f1", "f2"]
        assert len(log.events()) == 1
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM exchange_fills").fetchone()[0] == 3
    assert check.execute("SELECT count(*) FROM exchange_funding").fetchone()[0] == 2
    check.close()


def test_events_keep_both_values(conn: sqlite3.Connection) -> None:
    events = [position_event(), balance_event()]
    assert account_log.record_events(conn, events) == 2
    assert account_log.record_events(conn, events) == 0
    back = account_log.load_events(conn, account="main")
    assert back == events
    pos = back[0]
    assert (pos.expected, pos.exchange, pos.difference) == (-135_000, -120_000, 15_000)
    assert (pos.expected_side, pos.exchange_side, pos.wallet) == (Side.SHORT, Side.SHORT, None)
    assert pos.explained_by == ("t1", "t2")
    assert (back[1].expected, back[1].exchange, back[1].wallet) == (
        1.6,
        1.4012,
        WalletKind.FUTURES,
    )
    # the same difference seen at a later read is a new observation
    assert account_log.record_events(conn, [position_event(T0 + 60_000)]) == 1
    assert len(account_log.load_events(conn, since_ms=T0 + 1)) == 1


def test_writes_join_the_callers_transaction(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    assert account_log.record_fills(conn, "main", [fill("t1")]) == 1
    conn.execute("ROLLBACK")
    assert account_log.load_fills(conn) == []


def test_two_threads_recording_the_same_read_store_it_once(tmp_path: Path) -> None:
    read = [fill(f"t{i}", T0 + i) for i in range(50)]
    counts: list[int] = []
    with account_log.AccountLog(tmp_path / "h.db") as log:
        threads = [
            threading.Thread(target=lambda: counts.append(log.record_fills("main", read)))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(counts) == [0, 50]
        assert len(log.fills()) == 50
