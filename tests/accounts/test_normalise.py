"""What ccxt gets wrong or leaves venue-shaped for inverse contracts, fixed in
``core.accounts.normalise``: one test per quirk, each saying why. Binance and OKX positions go
through ccxt's own parsers over markets built from the recorded exchange answers in
``shared/fixtures/rest``; Bybit and Deribit rows are written in the shape ccxt returns (their
instrument answers are not recorded there)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import ccxt
import pytest

from core.accounts.model import MarginMode, WalletKind
from core.accounts.normalise import (
    normalise_balance,
    normalise_bybit_settlement,
    normalise_funding,
    normalise_position,
    normalise_trade,
)
from core.events import Kind, OrderSide, Side, Venue

SHARED = Path(os.environ.get("HEDGETOP_SHARED", Path(__file__).resolve().parents[3] / "shared"))
REST = SHARED / "fixtures" / "rest"


@pytest.fixture(scope="module")
def coinm() -> Any:
    ex = ccxt.binancecoinm()
    info = json.loads((REST / "binance-coinm-exchangeinfo.json").read_text())
    ex.set_markets([ex.parse_market(s) for s in info["symbols"]])
    return ex


@pytest.fixture(scope="module")
def okx() -> Any:
    ex = ccxt.okx()
    info = json.loads((REST / "okx-instruments-swap.json").read_text())
    ex.set_markets([ex.parse_market(s) for s in info["data"]])
    return ex


def _risk(**over: Any) -> dict[str, Any]:
    row = {
        "symbol": "BTCUSD_PERP",
        "positionAmt": "-3",
        "entryPrice": "40000",
        "markPrice": "41000",
        "unRealizedProfit": "-0.0000055",
        "liquidationPrice": "0",
        "leverage": "20",
        "maxQty": "100",
        "marginType": "cross",
        "isolatedMargin": "0",
        "isAutoAddMargin": "false",
        "positionSide": "BOTH",
        "notionalValue": "-0.00731707",
        "isolatedWallet": "0",
        "updateTime": 1626000000000,
    }
    row.update(over)
    return row


def _bybit_position(**over: Any) -> dict[str, Any]:
    info = {
        "symbol": "BTCUSD",
        "side": "Sell",
        "size": "135000",
        "positionIdx": 0,
        "avgPrice": "90000",
        "markPrice": "91000",
        "leverage": "1",
        "liqPrice": "",
        "tradeMode": 1,
        "positionIM": "1.5",
        "positionMM": "0.0075",
        "positionBalance": "1.5",
        "positionValue": "1.5",
    }
    info.update(over)
    return {
        "symbol": "BTC/USD:BTC",
        "contracts": float(info["size"]),
        "contractSize": 1.0,
        "side": "short" if info["side"] == "Sell" else "long",
        # what ccxt computes for inverse: size * contractSize / markPrice (coin, not USD) —
        # and, without a category on the instrument, positionValue: the margin-sized figure
        "notional": 1.5,
        "entryPrice": float(info["avgPrice"]),
        "markPrice": float(info["markPrice"]),
        "liquidationPrice": None,
        "leverage": float(info["leverage"]),
        "marginMode": None,  # ccxt: tradeMode is deprecated, so it says nothing
        "hedged": False,
        "info": info,
    }


BYBIT_BTC = {"id": "BTCUSD", "settle": "BTC", "base": "BTC", "type": "swap", "contractSize": 1.0}


# --- the unit of contracts --------------------------------------------------------------


def test_bybit_contracts_are_usd_and_notional_is_ignored() -> None:
    """Bybit inverse qty is USD: 135,000 contracts is $135,000. ccxt's ``notional`` (here the
    1.5 BTC that is also the initial margin of a 1x short) is not a size and is not used."""
    pos = normalise_position(Venue.BYBIT, _bybit_position(), BYBIT_BTC)
    assert pos is not None
    assert pos.contracts == 135_000
    assert pos.size_usd == 135_000
    assert pos.symbol == "BTCUSD"
    assert pos.side is Side.SHORT
    assert pos.liq_price is None  # Bybit's "" beyond maxPrice: the exchange gave none


def test_bybit_size_does_not_scale_with_ccxts_contract_size() -> None:
    """ccxt's Bybit ``contractSize`` is ``minOrderQty``: a market with minOrderQty 10 must not
    make 1,000 USD contracts worth $10,000."""
    pos = normalise_position(
        Venue.BYBIT, _bybit_position(size="1000"), {**BYBIT_BTC, "contractSize": 10.0}
    )
    assert pos is not None
    assert pos.size_usd == 1_000


def test_binance_contracts_count_face_value(coinm: Any) -> None:
    """Binance COIN-M counts contracts: 3 BTCUSD_PERP are 3 x $100 (contractSize from the
    recorded exchangeInfo), ETH/alts are $10 each."""
    btc = coinm.markets["BTC/USD:BTC"]
    pos = normalise_position(Venue.BINANCE, coinm.parse_position_risk(_risk(), btc), btc)
    assert pos is not None
    assert (pos.contracts, pos.size_usd) == (3, 300)
    assert pos.symbol == "BTCUSD_PERP"
    eth = coinm.markets["ETH/USD:ETH"]
    row = _risk(symbol="ETHUSD_PERP", positionAmt="-7", notionalValue="-0.02")
    pos = normalise_position(Venue.BINANCE, coinm.parse_position_risk(row, eth), eth)
    assert pos is not None
    assert pos.size_usd == 70


def test_okx_contracts_count_ct_val(okx: Any) -> None:
    """OKX ``pos`` is contracts of ``ctVal`` USD (100 for BTC-USD-SWAP in the recording)."""
    m = okx.markets["BTC/USD:BTC"]
    row = {
        "instId": "BTC-USD-SWAP",
        "instType": "SWAP",
        "mgnMode": "isolated",
        "pos": "-12",
        "posSide": "net",
        "avgPx": "30000",
        "markPx": "29000",
        "liqPx": "45000",
        "lever": "3",
        "margin": "0.013",
        "notionalUsd": "1200",
        "uTime": "1652400000000",
        "cTime": "1652400000000",
    }
    pos = normalise_position(Venue.OKX, okx.parse_position(row, m), m)
    assert pos is not None
    assert (pos.contracts, pos.size_usd) == (12, 1_200)
    assert pos.margin_mode is MarginMode.ISOLATED
    assert pos.liq_price == 45_000


def test_deribit_size_is_usd_although_contract_size_says_ten() -> None:
    """Deribit's ``size`` is USD while its market ``contractSize`` is 10: multiplying would
    make a $5,000 perpetual short $50,000."""
    row = {
        "symbol": "BTC/USD:BTC",
        "contracts": 5_000.0,
        "contractSize": 10.0,
        "side": "short",
        "entryPrice": 40_000.0,
        "liquidationPrice": 80_000.0,
        "info": {"instrument_name": "BTC-PERPETUAL", "size": "-5000", "kind": "future"},
    }
    market = {"id": "BTC-PERPETUAL", "settle": "BTC", "type": "swap", "contractSize": 10.0}
    pos = normalise_position(Venue.DERIBIT, row, market)
    assert pos is not None
    assert (pos.contracts, pos.size_usd) == (5_000, 5_000)


# --- margin mode, hedge mode, dated futures --------------------------------------------


def test_bybit_margin_mode_from_trade_mode_on_classic_unknown_on_uta() -> None:
    """ccxt leaves Bybit's marginMode None. A classic account's tradeMode 1 is isolated; on a
    UTA tradeMode is deprecated (always 0), so the mode is unknown rather than 'cross'."""
    classic = normalise_position(Venue.BYBIT, _bybit_position(), BYBIT_BTC, unified=False)
    assert classic is not None
    assert classic.margin_mode is MarginMode.ISOLATED
    assert classic.margin_coin == 1.5
    uta = normalise_position(Venue.BYBIT, _bybit_position(tradeMode=0), BYBIT_BTC, unified=True)
    assert uta is not None
    assert uta.margin_mode is None


def test_binance_hedge_mode_keeps_both_sides_and_drops_the_flat_row(coinm: Any) -> None:
    """In hedge mode Binance returns a LONG and a SHORT row per symbol (and a flat BOTH row):
    the side is ``positionSide``, each row stays its own position, the flat one is dropped."""
    m = coinm.markets["BTC/USD:BTC"]
    rows = [
        _risk(positionSide="LONG", positionAmt="2", notionalValue="0.0048"),
        _risk(positionSide="SHORT", positionAmt="-5", notionalValue="-0.0122"),
        _risk(positionSide="BOTH", positionAmt="0", notionalValue="0"),
    ]
    got = [normalise_position(Venue.BINANCE, coinm.parse_position_risk(r, m), m) for r in rows]
    assert got[2] is None
    long_, short = got[0], got[1]
    assert long_ is not None
    assert short is not None
    assert (long_.side, long_.contracts, long_.hedged) == (Side.LONG, 2, True)
    assert (short.side, short.contracts, short.hedged) == (Side.SHORT, 5, True)


def test_binance_one_way_side_is_the_sign_of_position_amt(coinm: Any) -> None:
    """One-way mode (BOTH): the side is the sign of positionAmt, not ccxt's reading of it."""
    m = coinm.markets["BTC/USD:BTC"]
    row = _risk(
        positionAmt="4", notionalValue="0.0097", marginType="isolated", isolatedWallet="0.2"
    )
    pos = normalise_position(Venue.BINANCE, coinm.parse_position_risk(row, m), m)
    assert pos is not None
    assert (pos.side, pos.hedged) == (Side.LONG, False)
    assert pos.margin_mode is MarginMode.ISOLATED
    assert pos.margin_coin == 0.2


def test_dated_future_keeps_its_symbol_and_expiry(coinm: Any) -> None:
    """A quarterly BTCUSD_210924 is not the perpetual: it keeps its own symbol, is an
    INVERSE_FUTURE and carries the expiry (from the recorded exchangeInfo)."""
    m = coinm.markets["BTC/USD:BTC-210924"]
    row = _risk(symbol="BTCUSD_210924", positionAmt="-10", notionalValue="-0.024")
    pos = normalise_position(Venue.BINANCE, coinm.parse_position_risk(row, m), m)
    assert pos is not None
    assert pos.symbol == "BTCUSD_210924"
    assert pos.kind is Kind.INVERSE_FUTURE
    assert pos.expiry_ms == 1_632_470_400_000
    assert pos.size_usd == 1_000


# --- wallets -----------------------------------------------------------------------------


def _bybit_balance(account_type: str) -> dict[str, Any]:
    return {
        "info": {"result": {"list": [{"accountType": account_type, "coin": []}]}},
        "BTC": {"total": 1.6, "free": 0.1},
        "total": {"BTC": 1.6, "XRP": 0.0},
        "free": {"BTC": 0.1, "XRP": 0.0},
    }


def test_bybit_wallet_kind_comes_from_the_answer_not_the_call() -> None:
    """After the unified-account migration the inverse coins sit in the UNIFIED wallet, not in
    CONTRACT: the kind is what Bybit's ``accountType`` says. Zero coins are left out."""
    (uta,) = normalise_balance(Venue.BYBIT, _bybit_balance("UNIFIED"), WalletKind.FUTURES)
    assert (uta.wallet, uta.coin, uta.total, uta.free) == (WalletKind.UNIFIED, "BTC", 1.6, 0.1)
    (classic,) = normalise_balance(Venue.BYBIT, _bybit_balance("CONTRACT"), WalletKind.SPOT)
    assert classic.wallet is WalletKind.FUTURES
    (spot,) = normalise_balance(Venue.BYBIT, _bybit_balance("SPOT"), WalletKind.FUTURES)
    assert spot.wallet is WalletKind.SPOT


def test_binance_wallet_kind_is_the_callers() -> None:
    """Binance's COIN-M and spot accounts are two hosts; the answer does not say which."""
    bal = {"total": {"ADA": 30_000.0}, "free": {"ADA": 17_143.0}, "info": {}}
    (b,) = normalise_balance(Venue.BINANCE, bal, WalletKind.FUTURES)
    assert (b.wallet, b.coin, b.free) == (WalletKind.FUTURES, "ADA", 17_143.0)


# --- funding -----------------------------------------------------------------------------


def test_bybit_funding_history_sign_and_currency_are_fixed() -> None:
    """ccxt's Bybit funding history copies ``execFee`` (> 0 paid) and labels an inverse row
    ``USD``. A short receiving 0.0001 BTC has execFee -0.0001: it is +0.0001 BTC received."""
    row = {
        "symbol": "BTC/USD:BTC",
        "code": "USD",
        "amount": -0.0001,
        "timestamp": 1_764_028_800_000,
        "id": "e-1",
        "info": {"symbol": "BTCUSD", "execType": "Funding", "execFee": "-0.0001", "execId": "e-1"},
    }
    f = normalise_funding(Venue.BYBIT, row, BYBIT_BTC)
    assert f is not None
    assert (f.amount_coin, f.coin, f.exchange_id, f.symbol) == (0.0001, "BTC", "e-1", "BTCUSD")


def test_bybit_transaction_log_settlement_is_already_received_positive() -> None:
    """The transaction log's SETTLEMENT ``funding`` is > 0 received (opposite to execFee);
    other rows (TRADE) are not funding."""
    row = {
        "timestamp": 1_764_028_800_000,
        "info": {
            "id": "t-9",
            "symbol": "BTCUSD",
            "type": "SETTLEMENT",
            "funding": "0.0001",
            "currency": "BTC",
        },
    }
    f = normalise_bybit_settlement(row)
    assert f is not None
    assert (f.amount_coin, f.coin, f.exchange_id) == (0.0001, "BTC", "t-9")
    assert normalise_bybit_settlement({"info": {"type": "TRADE"}, "timestamp": 1}) is None


def test_binance_income_is_received_positive_in_its_asset() -> None:
    """Binance income FUNDING_FEE: ``income`` > 0 received, in ``asset``; other income types
    (COMMISSION, REALIZED_PNL) are not funding."""
    row = {
        "symbol": "ADA/USD:ADA",
        "code": "ADA",
        "amount": -0.5,
        "timestamp": 1_764_028_800_000,
        "info": {
            "symbol": "ADAUSD_PERP",
            "incomeType": "FUNDING_FEE",
            "income": "-0.5",
            "asset": "ADA",
            "tranId": 77,
        },
    }
    f = normalise_funding(Venue.BINANCE, row)
    assert f is not None
    assert (f.amount_coin, f.coin, f.exchange_id, f.symbol) == (-0.5, "ADA", "77", "ADAUSD_PERP")
    other = {**row, "info": {**row["info"], "incomeType": "COMMISSION"}}
    assert normalise_funding(Venue.BINANCE, other) is None


# --- fills -------------------------------------------------------------------------------


def test_bybit_trade_amount_is_usd_and_fee_is_in_the_coin() -> None:
    row = {
        "id": "x1",
        "order": "o1",
        "clientOrderId": "ht1",
        "symbol": "BTC/USD:BTC",
        "side": "sell",
        "amount": 1_000.0,
        "price": 90_000.0,
        "timestamp": 1_764_000_000_000,
        "fee": {"cost": 0.0000061, "currency": "USD"},
        "info": {"execId": "x1"},
    }
    fill = normalise_trade(Venue.BYBIT, row, BYBIT_BTC)
    assert fill is not None
    assert (fill.side, fill.contracts, fill.size_usd) == (OrderSide.SELL, 1_000, 1_000)
    assert (fill.fee_currency, fill.trade_id, fill.client_order_id) == ("BTC", "x1", "ht1")


def test_binance_coinm_wallet_is_wallet_balance_not_margin_balance() -> None:
    """ccxt's COIN-M ``total`` is the margin balance (wallet + unrealised PnL) and it drops
    some assets; the wallet is each asset's ``walletBalance``."""
    bal = {
        "total": {"ADA": 29_900.98},
        "free": {"ADA": 17_143.0},
        "info": {
            "assets": [
                {
                    "asset": "ADA",
                    "walletBalance": "30000",
                    "marginBalance": "29900.98",
                    "availableBalance": "17143",
                },
                {
                    "asset": "BTC",
                    "walletBalance": "0.3",
                    "marginBalance": "0.3",
                    "availableBalance": "0.3",
                },
                {"asset": "DOT", "walletBalance": "0", "availableBalance": "0"},
            ]
        },
    }
    got = normalise_balance(Venue.BINANCE, bal, WalletKind.FUTURES)
    assert [(b.coin, b.total, b.free) for b in got] == [("ADA", 30_000, 17_143), ("BTC", 0.3, 0.3)]
