"""An exchange fill says what it was in the venue's own words (``ExchangeFill.exec_kind``): Bybit
``execType``, Binance's client order ids for its own orders, OKX's liquidation / ADL codes,
Deribit's ``liquidation``; a venue that says nothing leaves it None, never "trade". The kind is
stored with the fill (schema v6) and a file from before it reads back None."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core.accounts.model import ExchangeFill, ExecKind
from core.accounts.normalise import exec_kind_of, normalise_trade
from core.events import OrderSide, Venue
from storage import account_log, migrations, schema

TS = 1_764_000_000_000
BYBIT_BTC = {"id": "BTCUSD", "settle": "BTC", "base": "BTC", "type": "swap", "contractSize": 1.0}


def bybit_row(exec_type: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {"execId": "x1", "symbol": "BTCUSD"}
    if exec_type is not None:
        info["execType"] = exec_type
    return {
        "id": "x1",
        "order": "o1",
        "symbol": "BTC/USD:BTC",
        "side": "buy",
        "amount": 31_000.0,
        "price": 3_200.0,
        "timestamp": TS,
        "fee": {"cost": 0.0001, "currency": "USD"},
        "info": info,
    }


@pytest.mark.parametrize(
    ("exec_type", "kind"),
    [
        ("Trade", ExecKind.TRADE),
        ("BustTrade", ExecKind.LIQUIDATION),
        ("AdlTrade", ExecKind.ADL),
        ("Settle", ExecKind.SETTLEMENT),
        ("Delivery", ExecKind.SETTLEMENT),
        ("BlockTrade", ExecKind.BLOCK_TRADE),
        ("MovePosition", ExecKind.MOVE_POSITION),
        ("SomethingNew", None),
        (None, None),
    ],
)
def test_bybit_exec_type_is_the_fills_kind(exec_type: str | None, kind: ExecKind | None) -> None:
    fill = normalise_trade(Venue.BYBIT, bybit_row(exec_type), BYBIT_BTC)
    assert fill is not None
    assert fill.exec_kind is kind


def test_bybit_funding_rows_are_not_fills() -> None:
    assert normalise_trade(Venue.BYBIT, bybit_row("Funding"), BYBIT_BTC) is None


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        # REST userTrades: no flag at all
        ({"clientOrderId": None, "info": {"id": 1, "orderId": 2, "buyer": True}}, None),
        ({"clientOrderId": "autoclose-1596107620040000020", "info": {}}, ExecKind.LIQUIDATION),
        ({"clientOrderId": "adl_autoclose", "info": {}}, ExecKind.ADL),
        ({"clientOrderId": "settlement_autoclose-123", "info": {}}, ExecKind.SETTLEMENT),
        # the user stream's ORDER_TRADE_UPDATE order: "c" and "o"
        ({"info": {"c": "autoclose-9", "o": "LIQUIDATION", "x": "TRADE"}}, ExecKind.LIQUIDATION),
        ({"info": {"c": "x-1", "o": "LIQUIDATION"}}, ExecKind.LIQUIDATION),
        ({"clientOrderId": "web_abc", "info": {"c": "web_abc", "o": "MARKET"}}, None),
    ],
)
def test_binance_system_orders_say_their_kind(row: dict[str, Any], kind: ExecKind | None) -> None:
    assert exec_kind_of(Venue.BINANCE, row) is kind


@pytest.mark.parametrize(
    ("sub_type", "kind"),
    [
        ("1", None),
        ("104", ExecKind.LIQUIDATION),
        ("100", ExecKind.LIQUIDATION),
        ("126", ExecKind.ADL),
    ],
)
def test_okx_sub_type_liquidation_and_adl(sub_type: str, kind: ExecKind | None) -> None:
    row = {"info": {"tradeId": "1", "execType": "T", "subType": sub_type}}
    assert exec_kind_of(Venue.OKX, row) is kind


@pytest.mark.parametrize(
    ("info", "kind"),
    [
        ({"trade_id": "1", "liquidity": "T"}, ExecKind.TRADE),
        ({"trade_id": "1", "liquidity": "T", "liquidation": "T"}, ExecKind.LIQUIDATION),
        ({"trade_id": "1", "liquidity": "M", "liquidation": "MT"}, ExecKind.LIQUIDATION),
        ({"trade_id": "1", "liquidity": "M", "liquidation": "T"}, ExecKind.TRADE),
    ],
)
def test_deribit_liquidation_names_this_accounts_side(
    info: dict[str, Any], kind: ExecKind | None
) -> None:
    assert exec_kind_of(Venue.DERIBIT, {"info": info}) is kind


def _fill(tid: str, kind: ExecKind | None) -> ExchangeFill:
    return ExchangeFill(
        venue=Venue.BYBIT,
        symbol="ETHUSD",
        ts_ms=TS,
        side=OrderSide.BUY,
        contracts=31_000,
        size_usd=31_000,
        price=3_200.0,
        fee_coin=None,
        fee_currency=None,
        trade_id=tid,
        order_id=None,
        client_order_id=None,
        exec_kind=kind,
    )


def test_the_kind_is_stored_with_the_fill(tmp_path: Path) -> None:
    conn = migrations.connect(tmp_path / "h.db")
    fills = [_fill("a", ExecKind.LIQUIDATION), _fill("b", None)]
    assert account_log.record_fills(conn, "demo", fills) == 2
    assert account_log.load_fills(conn) == [("demo", f) for f in fills]
    stored = conn.execute("SELECT trade_id, exec_kind FROM exchange_fills ORDER BY id").fetchall()
    assert stored == [("a", "liquidation"), ("b", None)]
    conn.close()


def test_a_v5_file_gains_the_column_and_its_fills_read_back_unsaid(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    conn = migrations.connect(path, target=5)
    cols = [c for c in account_log.FILL_COLS if c != "exec_kind"]
    row = account_log.fill_row("demo", _fill("old", None))[:-1]
    conn.execute(
        f"INSERT INTO exchange_fills ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        row,
    )
    conn.commit()
    conn.close()
    conn = migrations.connect(path)
    assert schema.user_version(conn) == schema.SCHEMA_VERSION
    assert account_log.load_fills(conn) == [("demo", _fill("old", None))]
    conn.close()


def test_an_unknown_stored_word_reads_as_unsaid(tmp_path: Path) -> None:
    conn: sqlite3.Connection = migrations.connect(tmp_path / "h.db")
    account_log.record_fills(conn, "demo", [_fill("a", ExecKind.ADL)])
    conn.execute("UPDATE exchange_fills SET exec_kind = 'from_the_future'")
    conn.commit()
    assert account_log.load_fills(conn)[0][1].exec_kind is None
    conn.close()
