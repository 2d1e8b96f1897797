"""Margin tiers through ccxt, offline: ccxt's own parsers (``fetch_market_leverage_tiers``,
``fetch_leverage_tiers``) run against responses written from the venues' API docs, handed to
ccxt's HTTP layer by a transport function; then ``core.markets.tiers_from_ccxt`` fixes what
ccxt leaves venue-shaped for inverse markets. One test per quirk, each first showing what
ccxt itself returns (so the test fails if ccxt ever changes), then what we make of it.

Responses:
- Bybit ``GET /v5/market/risk-limit?category=inverse&symbol=BTCUSD``: tier 1 is the example of
  bybit-exchange/docs docs/v5/market/risk-limit.mdx verbatim (``riskLimitValue`` "150",
  ``maintenanceMargin`` "0.5", ``initialMargin`` "1", ``maxLeverage`` "100.00",
  ``mmDeduction`` ""); tier 2 follows Bybit's "Maintenance Margin (Inverse Contract)" (1 % at
  300 BTC) with the deduction by Bybit's formula.
- OKX ``GET /api/v5/public/position-tiers`` (https://www.okx.com/docs-v5/en/#public-data-rest-api-get-position-tiers):
  the documented fields; the page has no inverse example, so the numbers are illustrative.
- Binance ``GET /dapi/v2/leverageBracket`` ("Notional Bracket for Symbol",
  https://developers.binance.com/docs/derivatives/coin-margined-futures/account/rest-api/Notional-Bracket-for-Symbol):
  bracket 1 is the doc's example verbatim, floor spelled ``qtylFloor`` as there.
- Instruments: the recorded fixtures (Bybit's inverse entry derived from the linear one as the
  fixtures README describes; OKX's 2022 recording gains the ``instFamily`` today's API sends
  and ccxt needs, as ``uly``).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from feedkit import REST_FIXTURES

from core.config import parse_config
from core.engine import Engine
from core.events import Kind, Quote
from core.instruments import TierOrigin, lookup
from core.ledger import MemoryLedger
from core.liquidation import maintenance_margin_coin, tier_for
from core.markets import (
    cache_file,
    ccxt_exchange,
    fetch_specs,
    load_specs,
    read_cache,
    tiers_from_ccxt,
)

NOW = 1_767_225_600_000  # 2026-01-01 00:00 UTC
KEYS = {"apiKey": "test-key", "secret": "test-secret"}


def rest(name: str) -> Any:
    return json.loads((REST_FIXTURES / name).read_text())


# --- responses -----------------------------------------------------------------------------


def bybit_instruments() -> dict[str, Any]:
    recorded = rest("bybit-linear-instruments-info.json")
    btc = next(e for e in recorded["result"]["list"] if e["symbol"] == "BTCUSDT")
    e = copy.deepcopy(btc)
    e.update(symbol="BTCUSD", contractType="InversePerpetual", quoteCoin="USD", settleCoin="BTC")
    e["lotSizeFilter"] = {
        "maxOrderQty": "1000000", "minOrderQty": "1", "qtyStep": "1", "minNotionalValue": "",
    }  # fmt: skip
    return {"retCode": 0, "retMsg": "OK", "result": {"category": "inverse", "list": [e]}}


def bybit_risk_limit(*, percent: bool = True, deduction: str = "0.75") -> dict[str, Any]:
    scale = 1.0 if percent else 0.01

    def rate(x: float) -> str:
        return f"{x * scale:g}"

    rows = [
        {"id": 1, "symbol": "BTCUSD", "riskLimitValue": "150", "maintenanceMargin": rate(0.5),
         "initialMargin": rate(1), "isLowestRisk": 1, "maxLeverage": "100.00",
         "mmDeduction": ""},
        {"id": 2, "symbol": "BTCUSD", "riskLimitValue": "300", "maintenanceMargin": rate(1),
         "initialMargin": rate(1.5), "isLowestRisk": 0, "maxLeverage": "66.67",
         "mmDeduction": deduction},
    ]  # fmt: skip
    return {"retCode": 0, "retMsg": "OK", "result": {"category": "inverse", "list": rows}}


def bybit_transport(risk: dict[str, Any], calls: list[str] | None = None) -> Any:
    inst = bybit_instruments()

    def transport(url: str) -> Any:
        if calls is not None:
            calls.append(url)
        if "risk-limit" in url:
            assert "category=inverse" in url
            return risk
        if "PreLaunch" in url:
            return {**inst, "result": {"category": "inverse", "list": []}}
        return inst

    return transport


def okx_transport(calls: list[str] | None = None) -> Any:
    instruments = rest("okx-instruments-swap.json")
    for d in instruments["data"]:
        d.setdefault("instFamily", d.get("uly", ""))
    tiers = {
        "code": "0",
        "msg": "",
        "data": [
            {"uly": "BTC-USD", "instFamily": "BTC-USD", "instId": "", "tier": "1", "minSz": "0",
             "maxSz": "20000", "mmr": "0.004", "imr": "0.008", "maxLever": "125",
             "optMgnFactor": "0", "quoteMaxLoan": "", "baseMaxLoan": ""},
            {"uly": "BTC-USD", "instFamily": "BTC-USD", "instId": "", "tier": "2",
             "minSz": "20001", "maxSz": "40000", "mmr": "0.006", "imr": "0.01",
             "maxLever": "100", "optMgnFactor": "0", "quoteMaxLoan": "", "baseMaxLoan": ""},
        ],
    }  # fmt: skip

    def transport(url: str) -> Any:
        if calls is not None:
            calls.append(url)
        return tiers if "position-tiers" in url else instruments

    return transport


def binance_transport(calls: list[str] | None = None) -> Any:
    info = rest("binance-coinm-exchangeinfo.json")
    brackets = [
        {
            "symbol": "BTCUSD_PERP",
            "brackets": [
                {"bracket": 1, "initialLeverage": 125, "qtyCap": 50, "qtylFloor": 0,
                 "maintMarginRatio": 0.004, "cum": 0.0},
                {"bracket": 2, "initialLeverage": 100, "qtyCap": 100, "qtylFloor": 50,
                 "maintMarginRatio": 0.005, "cum": 0.05},
            ],
        }
    ]  # fmt: skip

    def transport(url: str) -> Any:
        if calls is not None:
            calls.append(url)
        if "leverageBracket" in url:
            assert "signature=" in url  # a signed request: keys only
            return brackets
        return info

    return transport


def raw_ccxt_tiers(venue: str, transport: Any, symbol: str, **kw: Any) -> list[dict[str, Any]]:
    """What ccxt itself returns, before our normalisation."""
    ex = ccxt_exchange(venue, transport=transport, **kw)
    ex.set_markets(ex.fetch_markets())
    if venue == "binance":
        return list(ex.fetch_leverage_tiers([symbol], {"subType": "inverse"})[symbol])
    return list(ex.fetch_market_leverage_tiers(symbol))


# --- one test per quirk --------------------------------------------------------------------


def test_binance_coinm_bounds_are_coin_although_ccxt_labels_them_usd():
    raw = raw_ccxt_tiers("binance", binance_transport(), "BTC/USD:BTC", credentials=KEYS)
    # ccxt: currency = the quote, USD; qtyCap copied as maxNotional; the doc's "qtylFloor"
    # is not read; cum only in info
    assert raw[0]["currency"] == "USD"
    assert raw[0]["maxNotional"] == 50
    assert raw[1]["minNotional"] is None
    assert "cum" not in raw[1]
    spec = lookup("binance", "BTCUSD_PERP")
    tiers = tiers_from_ccxt("binance", spec, raw)
    # "upper edge of base asset quantity": 50 BTC of notional at the mark, not 50 USD
    assert [(t.cap, t.mmr, t.mm_amount_coin) for t in tiers] == [
        (50.0, 0.004, 0.0),
        (math.inf, 0.005, 0.05),
    ]
    with_venue = replace(spec, tiers=tiers)
    # 60 BTC notional at the mark falls in bracket 2: 60 × 0.5 % − 0.05
    assert maintenance_margin_coin(with_venue, 60 * 50_000, 50_000) == pytest.approx(0.25)


def test_okx_bounds_are_contracts_not_notional():
    raw = raw_ccxt_tiers("okx", okx_transport(), "BTC/USD:BTC")
    assert raw[0]["maxNotional"] == 20_000  # ccxt: maxSz as a "notional"; it is contracts
    spec = lookup("okx", "BTC-USD-SWAP")
    tiers = tiers_from_ccxt("okx", spec, raw)
    assert tiers[0].cap == 20_000 * 100.0  # contracts × 100 USD face = 2,000,000 USD face
    with_venue = replace(spec, tiers=tiers)
    # 25,000 contracts are tier 2 whatever the price (the tier does not move with it)
    for price in (30_000.0, 300_000.0):
        mm = maintenance_margin_coin(with_venue, 25_000 * 100.0, price)
        assert mm == pytest.approx(2_500_000 / price * (0.006 + 0.0005))


def test_bybit_rates_in_percent_and_deduction_only_in_info():
    raw = raw_ccxt_tiers("bybit", bybit_transport(bybit_risk_limit()), "BTC/USD:BTC")
    assert raw[0]["maintenanceMarginRate"] == 0.5  # ccxt copies "0.5" (percent) as a rate
    assert "mmDeduction" not in raw[1]  # and keeps the deduction in info only
    assert raw[1]["info"]["mmDeduction"] == "0.75"
    spec = lookup("bybit", "BTCUSD")
    tiers = tiers_from_ccxt("bybit", spec, raw)
    assert [(t.cap, t.mmr, t.mm_amount_coin) for t in tiers] == [
        (150.0, 0.005, 0.0),
        (math.inf, 0.01, 0.75),
    ]


def test_bybit_ratio_form_and_missing_deduction_give_the_same_tiers():
    raw = raw_ccxt_tiers(
        "bybit", bybit_transport(bybit_risk_limit(percent=False, deduction="")), "BTC/USD:BTC"
    )
    assert raw[0]["maintenanceMarginRate"] == 0.005  # a ratio this time
    tiers = tiers_from_ccxt("bybit", lookup("bybit", "BTCUSD"), raw)
    # the deduction by Bybit's formula: 150 × (1 % − 0.5 %) = 0.75 BTC
    assert [(t.mmr, t.mm_amount_coin) for t in tiers] == [(0.005, 0.0), (0.01, pytest.approx(0.75))]


def test_an_unusable_answer_keeps_the_builtin_tiers_and_says_why():
    bad = bybit_risk_limit()
    bad["result"]["list"][1]["maintenanceMargin"] = "250"  # 250 % is no maintenance rate
    errors: list[str] = []
    (spec,) = fetch_specs(
        "bybit", transport=bybit_transport(bad), tier_symbols=["BTCUSD"], now_ms=NOW,
        on_error=errors.append,
    )  # fmt: skip
    assert spec.tier_source.origin is TierOrigin.BUILTIN
    assert spec.tiers == lookup("bybit", "BTCUSD").tiers
    assert len(errors) == 1
    assert "bybit BTCUSD: margin tiers not fetched" in errors[0]


def test_binance_tiers_need_keys_and_are_not_asked_without():
    calls: list[str] = []
    specs = fetch_specs(
        "binance", transport=binance_transport(calls), tier_symbols=["BTCUSD_PERP"], now_ms=NOW
    )
    assert not any("leverageBracket" in c for c in calls)
    btc = next(s for s in specs if s.coin == "BTC")
    assert btc.tier_source.origin is TierOrigin.BUILTIN


# --- load, cache, engine -------------------------------------------------------------------


def test_tiers_are_cached_beside_the_specs_with_their_date(tmp_path: Path):
    calls: list[str] = []
    got = load_specs(
        "okx", ["BTC-USD-SWAP"], now_ms=NOW, cache_dir=tmp_path, transport=okx_transport(calls),
        tiers=True,
    )  # fmt: skip
    spec = got["BTC-USD-SWAP"]
    assert spec.tier_source.origin is TierOrigin.VENUE
    assert spec.tier_source.describe() == "venue now (2026-01-01 00:00 UTC)"
    assert tier_for(spec.tiers, 30_000 * 100.0).mmr == 0.006
    assert sum("position-tiers" in c for c in calls) == 1
    cached = read_cache(cache_file(tmp_path, "okx"))
    assert cached is not None
    again = load_specs(
        "okx", ["BTC-USD-SWAP"], now_ms=NOW + 3_600_000, cache_dir=tmp_path,
        transport=okx_transport(calls), tiers=True,
    )["BTC-USD-SWAP"]  # fmt: skip
    assert len(calls) == 2  # the fresh cache served: no new request
    assert again.tier_source.origin is TierOrigin.CACHE
    assert again.tier_source.describe() == "cache of 2026-01-01 00:00 UTC"
    assert again.tiers == spec.tiers
    # other coins of the venue keep the built-in tiers (only the configured ones are asked)
    eth = load_specs("okx", ["ETH-USD-SWAP"], now_ms=NOW, cache_dir=tmp_path, online=False)
    assert eth["ETH-USD-SWAP"].tier_source.origin is TierOrigin.BUILTIN


def test_a_fresh_cache_without_tiers_is_refreshed_when_tiers_are_asked(tmp_path: Path):
    calls: list[str] = []
    load_specs("okx", ["BTC-USD-SWAP"], now_ms=NOW, cache_dir=tmp_path, transport=okx_transport())
    got = load_specs(
        "okx", ["BTC-USD-SWAP"], now_ms=NOW + 1, cache_dir=tmp_path,
        transport=okx_transport(calls), tiers=True,
    )  # fmt: skip
    assert got["BTC-USD-SWAP"].tier_source.origin is TierOrigin.VENUE
    assert any("position-tiers" in c for c in calls)


def test_the_engine_shows_which_source_served(tmp_path: Path):
    specs = load_specs(
        "bybit", ["BTCUSD"], now_ms=NOW, cache_dir=tmp_path,
        transport=bybit_transport(bybit_risk_limit()), tiers=True,
    )  # fmt: skip
    cfg = parse_config(
        '[[holdings]]\ncoin = "BTC"\namount = 1.0\n[[hedges]]\nid = "b"\nvenue = "bybit"\n'
        'symbol = "BTCUSD"\ncontracts = 10000000\nentry = 50000\nmargin = 50.0\n'
    )
    e = Engine(cfg, {("bybit", "BTCUSD"): specs["BTCUSD"]}, MemoryLedger(), 0)
    e.on_quote(Quote(venue="bybit", symbol="BTCUSD", kind=Kind.INVERSE_PERP, mark=50_000.0))
    h = e.snapshot(1).hedge("b")
    assert h is not None
    assert h.tier_source == "venue now (2026-01-01 00:00 UTC)"
    # 200 BTC at entry: the venue's tier 2 and its deduction, 200 × 1 % − 0.75
    assert h.maintenance_margin_coin == pytest.approx(2.0 - 0.75)
    assert h.margin_model == "bybit_inverse_isolated"
    assert not h.tier_estimate
    builtin = Engine(cfg, None, MemoryLedger(), 0)
    builtin.on_quote(Quote(venue="bybit", symbol="BTCUSD", kind=Kind.INVERSE_PERP, mark=50_000.0))
    hb = builtin.snapshot(1).hedge("b")
    assert hb is not None
    assert hb.tier_source == "built-in"
