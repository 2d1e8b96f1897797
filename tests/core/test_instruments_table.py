"""Instrument table, symbol parsing and the one qty-unit conversion.

The table rows are checked against the recorded exchange REST responses in
/work/shared/fixtures/rest (real data, see that folder's README): Binance dapi exchangeInfo,
OKX public/instruments?instType=SWAP, Deribit public/get_instruments.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from core.instruments import (
    BUILTIN_SPECS,
    VENUES,
    QtyUnit,
    UnknownInstrument,
    contracts_from_size_usd,
    lookup,
    native_symbol,
    parse_coin,
    round_price,
    size_usd_from_contracts,
    size_usd_from_venue_qty,
    venue_qty_from_size_usd,
)

# ../shared beside the checkout (as laid out for developers and CI), or HEDGETOP_SHARED
SHARED = Path(os.environ.get("HEDGETOP_SHARED", Path(__file__).resolve().parents[3] / "shared"))
FIXTURES = SHARED / "fixtures" / "rest"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.mark.parametrize(
    ("venue", "symbol", "native", "coin", "face"),
    [
        ("bybit", "BTCUSD", "BTCUSD", "BTC", 1.0),
        ("bybit", "solusd", "SOLUSD", "SOL", 1.0),
        ("binance", "BTCUSD", "BTCUSD_PERP", "BTC", 100.0),
        ("binance", "BTCUSD_PERP", "BTCUSD_PERP", "BTC", 100.0),
        ("binance", "ETHUSD", "ETHUSD_PERP", "ETH", 10.0),
        ("binance", "SOLUSD", "SOLUSD_PERP", "SOL", 10.0),
        ("okx", "BTC-USD-SWAP", "BTC-USD-SWAP", "BTC", 100.0),
        ("okx", "SOLUSD", "SOL-USD-SWAP", "SOL", 10.0),
        ("deribit", "BTC-PERPETUAL", "BTC-PERPETUAL", "BTC", 10.0),
        ("deribit", "ETHUSD", "ETH-PERPETUAL", "ETH", 1.0),
        ("deribit", "BTC/USD:BTC", "BTC-PERPETUAL", "BTC", 10.0),
        ("OKX", " btc ", "BTC-USD-SWAP", "BTC", 100.0),
    ],
)
def test_lookup_accepts_generic_and_native_names(venue, symbol, native, coin, face):
    spec = lookup(venue, symbol)
    assert (spec.symbol, spec.coin, spec.face_value_usd) == (native, coin, face)
    assert native_symbol(spec.venue, coin) == native


def test_unknown_venue_and_symbol_raise_with_the_name():
    with pytest.raises(UnknownInstrument, match="kraken"):
        lookup("kraken", "BTCUSD")
    with pytest.raises(UnknownInstrument, match="FOOUSD"):
        lookup("bybit", "FOOUSD")
    with pytest.raises(UnknownInstrument, match="BTC-USDT"):
        parse_coin("BTC-USDT")
    assert issubclass(UnknownInstrument, ValueError)


def test_every_venue_has_btc_and_every_row_names_its_source():
    for venue in VENUES:
        assert lookup(venue, "BTCUSD").venue == venue
    for spec in BUILTIN_SPECS:
        assert spec.source, spec
        assert spec.tiers, spec
        assert spec.lot_contracts >= 1
        assert lookup(spec.venue, spec.symbol) is spec


def test_qty_units_and_funding_intervals_per_venue():
    for spec in BUILTIN_SPECS:
        expected = QtyUnit.USD if spec.venue in ("bybit", "deribit") else QtyUnit.CONTRACTS
        assert spec.qty_unit is expected
        if spec.venue == "deribit":
            assert spec.funding_interval_ms is None  # continuous funding
        else:
            assert spec.funding_interval_ms == 8 * 3600 * 1000


def test_binance_rows_match_exchangeinfo_fixture():
    data = _load("binance-coinm-exchangeinfo.json")
    seen = 0
    for sym in data["symbols"]:
        if sym["contractType"] != "PERPETUAL":
            continue
        coin = sym["symbol"].removesuffix("USD_PERP")
        try:
            spec = lookup("binance", sym["symbol"])
        except UnknownInstrument:
            continue
        filters = {f["filterType"]: f for f in sym["filters"]}
        assert spec.coin == coin == sym["marginAsset"]
        assert spec.face_value_usd == float(sym["contractSize"])
        assert spec.tick_size == pytest.approx(float(filters["PRICE_FILTER"]["tickSize"]))
        assert spec.lot_contracts == int(float(filters["LOT_SIZE"]["stepSize"]))
        seen += 1
    assert seen >= 8


def test_okx_rows_match_instruments_fixture():
    data = _load("okx-instruments-swap.json")
    inverse = {i["instId"]: i for i in data["data"] if i["ctType"] == "inverse"}
    okx = [s for s in BUILTIN_SPECS if s.venue == "okx"]
    assert okx
    for spec in okx:
        row = inverse[spec.symbol]
        assert row["ctValCcy"] == "USD"
        assert row["settleCcy"] == spec.coin
        assert spec.face_value_usd == float(row["ctVal"])
        assert spec.tick_size == pytest.approx(float(row["tickSz"]))
        assert spec.lot_contracts == int(float(row["lotSz"]))


@pytest.mark.parametrize("coin", ["btc", "eth"])
def test_deribit_rows_match_get_instruments_fixture(coin):
    data = _load(f"deribit-get-instruments-{coin}.json")
    (row,) = [r for r in data["result"] if r["instrument_name"].endswith("-PERPETUAL")]
    spec = lookup("deribit", row["instrument_name"])
    assert spec.face_value_usd == float(row["contract_size"])
    assert spec.tick_size == float(row["tick_size"])
    # min_trade_amount is in USD on Deribit: one lot of contracts.
    assert spec.lot_contracts * spec.face_value_usd == float(row["min_trade_amount"])


def test_venue_qty_conversion_bybit_deribit_usd_binance_okx_contracts():
    bybit, deribit = lookup("bybit", "BTCUSD"), lookup("deribit", "BTCUSD")
    binance, okx = lookup("binance", "ETHUSD"), lookup("okx", "BTCUSD")
    assert size_usd_from_venue_qty(bybit, 1234) == 1234.0
    assert size_usd_from_venue_qty(deribit, 1230) == 1230.0
    assert size_usd_from_venue_qty(binance, 7) == 70.0
    assert size_usd_from_venue_qty(okx, 3) == 300.0
    # the other way, rounded to the lot (nearest)
    assert venue_qty_from_size_usd(bybit, 1234.4) == 1234.0
    assert venue_qty_from_size_usd(deribit, 1236) == 1240.0  # 10 USD contracts
    assert venue_qty_from_size_usd(binance, 74) == 7.0
    assert venue_qty_from_size_usd(okx, 260) == 3.0


def test_contracts_round_to_nearest_lot_and_back():
    okx = lookup("okx", "BTCUSD")
    assert contracts_from_size_usd(okx, 149) == 1
    assert contracts_from_size_usd(okx, 151) == 2
    assert size_usd_from_contracts(okx, 2) == 200.0


def test_round_price_to_tick():
    spec = lookup("deribit", "BTCUSD")  # tick 0.5
    assert round_price(spec, 50000.26) == 50000.5
    assert round_price(spec, 50000.24) == 50000.0
    ada = lookup("binance", "ADAUSD")  # tick 0.00001
    assert math.isclose(round_price(ada, 0.3812349), 0.38123)


@pytest.mark.parametrize("symbol", ["BTCUSDT", "BTC-USDT-SWAP", "BTC/USDT:USDT", "ETHUSDC"])
def test_linear_and_spot_symbols_are_refused_with_a_hint(symbol):
    with pytest.raises(UnknownInstrument, match="linear"):
        lookup("bybit", symbol)


def test_a_spec_without_tiers_gets_the_venue_default():
    from dataclasses import replace

    from core.liquidation import maintenance_margin_coin

    bare = replace(lookup("bybit", "SOLUSD"), tiers=())
    # Bybit's alt base rate, 1 %: 10,000 USD at 100 = 100 SOL -> 1 SOL
    assert maintenance_margin_coin(bare, 10_000, 100) == pytest.approx(1.0)
