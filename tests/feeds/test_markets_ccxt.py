"""Contract specs from ccxt markets, built offline from the recorded REST responses
(ccxt's HTTP layer is replaced by a function that returns the recorded body)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from feedkit import REST_FIXTURES

from core.instruments import QtyUnit, UnknownInstrument
from core.markets import (
    MarketsError,
    cache_file,
    fetch_specs,
    load_specs,
    read_cache,
    write_cache,
)

H8 = 8 * 3600 * 1000


def rest(name: str) -> Any:
    return json.loads((REST_FIXTURES / name).read_text())


def _filters(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["filterType"]: f for f in entry["filters"]}


def test_binance_coinm_specs_from_exchange_info() -> None:
    info = rest("binance-coinm-exchangeinfo.json")
    specs = {s.symbol: s for s in fetch_specs("binance", transport=lambda url: info)}
    perps = [e for e in info["symbols"] if e["contractType"] == "PERPETUAL"]
    assert len(perps) == 18  # per the fixtures README
    assert set(specs) == {e["symbol"] for e in perps}
    for e in perps:
        s = specs[e["symbol"]]
        assert s.coin == e["marginAsset"]
        assert s.face_value_usd == float(e["contractSize"])  # 100 USD for BTC, 10 for others
        assert s.tick_size == float(_filters(e)["PRICE_FILTER"]["tickSize"])
        assert s.lot_contracts == int(float(_filters(e)["LOT_SIZE"]["stepSize"]))
        assert s.qty_unit is QtyUnit.CONTRACTS
        assert s.funding_interval_ms == H8
    assert specs["BTCUSD_PERP"].face_value_usd == 100.0


def test_okx_inverse_swap_specs() -> None:
    body = rest("okx-instruments-swap.json")
    specs = {s.symbol: s for s in fetch_specs("okx", transport=lambda url: body)}
    inverse = [e for e in body["data"] if e["ctType"] == "inverse"]
    assert len(inverse) == 40  # per the fixtures README
    assert set(specs) == {e["instId"] for e in inverse}
    for e in inverse:
        s = specs[e["instId"]]
        assert e["ctValCcy"] == "USD"
        assert s.face_value_usd == float(e["ctVal"])
        assert s.tick_size == float(e["tickSz"])
        assert s.lot_contracts == int(float(e["lotSz"]))
        assert s.qty_unit is QtyUnit.CONTRACTS
        assert s.coin == e["settleCcy"]


def _deribit_today(url: str) -> Any:
    """Both recorded get_instruments answers as one; the 2021 records lack the
    ``counter_currency``/``settlement_currency`` that today's API sends and ccxt needs, so they
    are added as today's API states them (USD, and the base coin for inverse instruments)."""
    btc, eth = rest("deribit-get-instruments-btc.json"), rest("deribit-get-instruments-eth.json")
    rows = btc["result"] + eth["result"]
    for r in rows:
        r.setdefault("counter_currency", "USD")
        r.setdefault("settlement_currency", r["base_currency"])
    return {**btc, "result": rows}


def test_deribit_sizes_are_usd_in_contract_size_steps() -> None:
    specs = {s.symbol: s for s in fetch_specs("deribit", transport=_deribit_today)}
    assert set(specs) == {"BTC-PERPETUAL", "ETH-PERPETUAL"}
    raw = {r["instrument_name"]: r for r in _deribit_today("")["result"]}
    for name, s in specs.items():
        assert s.qty_unit is QtyUnit.USD
        assert s.face_value_usd == raw[name]["contract_size"]  # 10 USD (BTC), 1 USD (ETH)
        assert s.lot_contracts * s.face_value_usd == raw[name]["min_trade_amount"]
        assert s.tick_size == raw[name]["tick_size"]
        assert s.funding_interval_ms is None  # continuous funding


def _bybit_inverse_entry(linear: dict[str, Any], min_qty: str) -> dict[str, Any]:
    """An inverse entry derived from a recorded linear one as the fixtures README describes
    (contractType, quoteCoin USD, settleCoin = base, empty minNotionalValue); the lot filter
    is in USD as on the inverse category."""
    e = copy.deepcopy(linear)
    e.update(
        symbol=e["baseCoin"] + "USD",
        contractType="InversePerpetual",
        quoteCoin="USD",
        settleCoin=e["baseCoin"],
    )
    e["lotSizeFilter"] = {"maxOrderQty": "1000000", "minOrderQty": min_qty, "qtyStep": "1"}
    e["lotSizeFilter"]["minNotionalValue"] = ""
    return e


def test_bybit_inverse_face_value_is_one_usd_whatever_ccxt_says() -> None:
    recorded = rest("bybit-linear-instruments-info.json")
    btc = next(e for e in recorded["result"]["list"] if e["symbol"] == "BTCUSDT")
    inverse = copy.deepcopy(recorded)
    inverse["result"] = {
        "category": "inverse",
        "list": [_bybit_inverse_entry(btc, min_qty="100")],
        "nextPageCursor": "",
    }

    def transport(url: str) -> Any:
        assert "category=inverse" in url
        if "PreLaunch" in url:
            return {**inverse, "result": {"category": "inverse", "list": []}}
        return inverse

    from core.markets import fetch_markets

    markets = fetch_markets("bybit", transport=transport)
    assert markets[0]["contractSize"] == 100.0  # ccxt: the minimum order, not a face value
    (spec,) = fetch_specs("bybit", transport=transport)
    assert spec.symbol == "BTCUSD"
    assert spec.face_value_usd == 1.0
    assert spec.qty_unit is QtyUnit.USD
    assert spec.tick_size == float(btc["priceFilter"]["tickSize"])
    assert spec.funding_interval_ms == int(btc["fundingInterval"]) * 60_000


def test_linear_markets_give_no_inverse_spec() -> None:
    recorded = rest("bybit-linear-instruments-info.json")
    assert fetch_specs("bybit", transport=lambda url: recorded) == []


def test_load_specs_caches_and_falls_back(tmp_path: Path) -> None:
    body = rest("okx-instruments-swap.json")
    calls: list[str] = []

    def transport(url: str) -> Any:
        calls.append(url)
        return body

    def offline(url: str) -> Any:
        raise OSError("network unreachable")

    errors: list[str] = []
    got = load_specs(
        "okx", ["BTC-USD-SWAP", "SOLUSD"], now_ms=1_000, cache_dir=tmp_path, transport=transport
    )
    assert got["BTC-USD-SWAP"].source.startswith("ccxt okx")
    assert got["SOLUSD"].symbol == "SOL-USD-SWAP"  # generic spelling resolved by coin
    assert len(calls) == 1
    cached = read_cache(cache_file(tmp_path, "okx"))
    assert cached is not None
    assert cached[0] == 1_000

    # Fresh cache: no request at all.
    again = load_specs(
        "okx",
        ["BTC-USD-SWAP"],
        now_ms=2_000,
        cache_dir=tmp_path,
        transport=offline,
        on_error=errors.append,
    )
    assert again["BTC-USD-SWAP"].face_value_usd == got["BTC-USD-SWAP"].face_value_usd
    assert "cached" in again["BTC-USD-SWAP"].source
    assert errors == []

    # Stale cache and the network down: the stale cache still beats the built-in table.
    late = 1_000 + 2 * 24 * 3600 * 1000
    stale = load_specs(
        "okx",
        ["BTC-USD-SWAP"],
        now_ms=late,
        cache_dir=tmp_path,
        transport=offline,
        on_error=errors.append,
    )
    assert "cached" in stale["BTC-USD-SWAP"].source
    assert len(errors) == 1
    assert "okx" in errors[0]


def test_offline_without_cache_uses_builtin_table(tmp_path: Path) -> None:
    def offline(url: str) -> Any:
        raise OSError("no network")

    errors: list[str] = []
    got = load_specs(
        "binance",
        ["BTCUSD_PERP"],
        now_ms=0,
        cache_dir=tmp_path,
        transport=offline,
        on_error=errors.append,
    )
    assert not got["BTCUSD_PERP"].source.startswith("ccxt")
    assert got["BTCUSD_PERP"].face_value_usd == 100.0
    assert errors
    with pytest.raises(UnknownInstrument):
        load_specs("binance", ["NOPEUSD_PERP"], now_ms=0, online=False)


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    path = cache_file(tmp_path, "okx")
    path.write_text("{not json")
    assert read_cache(path) is None
    write_cache(path, [], fetched_ms=5)
    assert read_cache(path) == (5, [])


def test_markets_error_names_the_venue() -> None:
    def broken(url: str) -> Any:
        raise OSError("refused")

    with pytest.raises(MarketsError, match="okx"):
        fetch_specs("okx", transport=broken)


def test_load_specs_for_pairs_one_call_per_venue(tmp_path: Path) -> None:
    bodies = {
        "okx.com": rest("okx-instruments-swap.json"),
        "binance.com": rest("binance-coinm-exchangeinfo.json"),
    }
    calls: list[str] = []

    def transport(url: str) -> Any:
        calls.append(url)
        return next(body for host, body in bodies.items() if host in url)

    from core.markets import load_specs_for

    pairs = [("okx", "BTC-USD-SWAP"), ("okx", "ETH-USD-SWAP"), ("binance", "BTCUSD_PERP")]
    specs = load_specs_for(pairs, now_ms=0, cache_dir=tmp_path, transport=transport)
    assert set(specs) == set(pairs)
    assert specs[("okx", "ETH-USD-SWAP")].face_value_usd == 10.0
    assert specs[("binance", "BTCUSD_PERP")].face_value_usd == 100.0
    assert len(calls) == 2
