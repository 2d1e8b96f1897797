"""SqliteLedger: the durable core.ledger.Ledger."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import storage_factories as fx

from core.events import MarginTransfer
from core.ledger import Ledger
from storage.ledger import SqliteLedger
from storage.recorder import StorageError


def test_is_a_ledger_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = [fx.fill(fx.T0 + 10), fx.fill(fx.T0 + 5, hedge_id="okx-sol", contracts=3)]
    funding = [fx.funding(fx.T0 + 8 * 3_600_000), fx.funding(fx.T0)]
    with SqliteLedger(path) as ledger:
        assert isinstance(ledger, Ledger)
        assert ledger.load() == []
        assert ledger.load_funding() == []
        for f in first:
            ledger.append_fill(f)
        for e in funding:
            ledger.append_funding(e)
    with SqliteLedger(path) as ledger:
        assert ledger.load() == sorted(first, key=lambda f: f.ts_ms)  # oldest first
        assert ledger.load_funding() == sorted(funding, key=lambda e: e.ts_ms)
        ledger.append_fill(first[0])  # the same fact twice is one fill
        assert len(ledger.load()) == 2


def test_fill_is_synced_when_append_returns(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SqliteLedger(path)
    assert ledger._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    ledger.append_fill(fx.fill())
    # no close: a second process-like reader sees the committed fill
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT hedge_id, contracts FROM fills").fetchall() == [
        ("bybit-btc", 100)
    ]
    reader.close()
    ledger.close()


def test_storage_error_propagates_to_the_engine(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SqliteLedger(path)
    ledger._conn.execute("PRAGMA query_only = 1")
    with pytest.raises(sqlite3.OperationalError):
        ledger.append_fill(fx.fill())
    ledger._conn.execute("PRAGMA query_only = 0")
    ledger.append_fill(fx.fill())  # and the connection is still usable
    assert len(ledger.load()) == 1
    ledger.close()


def test_unopenable_path(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="nowhere"):
        SqliteLedger(tmp_path / "nowhere" / "x.db")


def test_margin_transfers_survive_a_restart_oldest_first(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    moves = [
        MarginTransfer(
            ts_ms=fx.T0 + 20,
            hedge_id="okx-sol",
            venue="okx",
            symbol="SOL-USD-SWAP",
            amount_coin=-0.25,
            margin_after_coin=1.75,
            broker="ccxt",
        ),
        MarginTransfer(
            ts_ms=fx.T0 + 10,
            hedge_id="okx-sol",
            venue="okx",
            symbol="SOL-USD-SWAP",
            amount_coin=1.0,
            margin_after_coin=2.0,
        ),
    ]
    with SqliteLedger(path) as ledger:
        assert ledger.load_margin() == []
        for m in moves:
            ledger.append_margin(m)
    with SqliteLedger(path) as ledger:
        assert ledger.load_margin() == [moves[1], moves[0]]
