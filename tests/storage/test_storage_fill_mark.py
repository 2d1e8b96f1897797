"""Schema v3: a fill keeps the mark it filled against (the hedge review's slippage needs it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import storage_factories as fx

from storage import migrations, schema
from storage.ledger import SqliteLedger


def test_a_fill_keeps_its_mark_through_the_ledger(tmp_path: Path) -> None:
    fill = msgspec.structs.replace(fx.fill(), mark=100_012.5)
    with SqliteLedger(tmp_path / "h.db") as ledger:
        ledger.append_fill(fill)
        ledger.append_fill(fx.fill(fx.T0 + 1000))  # mark unknown
        loaded = ledger.load()
    assert [f.mark for f in loaded] == [100_012.5, None]
    assert loaded[0] == fill


def test_upgrade_from_v2_adds_the_column_and_keeps_old_fills(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = migrations.connect(path, target=2)
    assert "mark_usd" not in schema.table_columns(conn, "fills")
    conn.execute(
        "INSERT INTO fills (ts_ms, hedge_id, venue, symbol, side, contracts, size_usd, "
        "price_usd, fee_coin, realized_pnl_coin, contracts_after, entry_after_usd, broker) "
        "VALUES (1, 'h', 'bybit', 'BTCUSD', 'sell', 10, 10.0, 100.0, 0.0, 0.0, 10, 100.0, 'paper')"
    )
    conn.close()
    with SqliteLedger(path) as ledger:  # migrates
        (old,) = ledger.load()
    assert old.mark is None
    assert old.price == 100.0
    check = sqlite3.connect(path)
    assert "mark_usd" in schema.table_columns(check, "fills")
    assert schema.user_version(check) == schema.SCHEMA_VERSION
    check.close()
