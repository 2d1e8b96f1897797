"""Clients written by others use the simulator unchanged: ccxt.pro's Bybit and Binance
websocket clients, pointed at the loopback URLs (markets handed in offline, no REST), and its
OKX and Deribit clients, which load their markets from the simulator's own public REST
(OKX ``/api/v5/public/instruments``, Deribit ``/api/v2/public/get_instruments``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

TIMEOUT = 5.0


def _market(mid: str, base: str, quote: str, *, spot: bool) -> dict[str, Any]:
    settle = None if spot else base
    return {
        "id": mid,
        "lowercaseId": mid.lower(),
        "symbol": f"{base}/{quote}" if spot else f"{base}/{quote}:{settle}",
        "base": base,
        "quote": quote,
        "settle": settle,
        "baseId": base,
        "quoteId": quote,
        "settleId": settle,
        "type": "spot" if spot else "swap",
        "subType": None if spot else "inverse",
        "spot": spot,
        "margin": False,
        "swap": not spot,
        "future": False,
        "option": False,
        "active": True,
        "contract": not spot,
        "linear": None if spot else False,
        "inverse": None if spot else True,
        "contractSize": None if spot else 1.0,
        "expiry": None,
        "expiryDatetime": None,
        "strike": None,
        "optionType": None,
        "precision": {"amount": 1.0, "price": 0.5},
        "limits": {"amount": {"min": 1, "max": None}, "price": {}, "cost": {}, "leverage": {}},
        "info": {"category": "spot" if spot else "inverse"},
        "taker": 0.0005,
        "maker": 0.0002,
        "percentage": True,
        "tierBased": False,
        "feeSide": "get",
        "created": None,
    }


async def test_ccxt_pro_bybit_watch_ticker(make_sim: Any) -> None:
    import ccxt.pro as ccxtpro

    ex, urls = await make_sim()
    client = ccxtpro.bybit()
    try:
        client.set_markets(
            [
                _market("BTCUSD", "BTC", "USD", spot=False),
                _market("ETHUSDT", "ETH", "USDT", spot=True),
            ]
        )
        client.urls["api"]["ws"]["public"]["inverse"] = urls[("bybit", "inverse")]
        client.urls["api"]["ws"]["public"]["spot"] = urls[("bybit", "spot")]
        seen = []
        for _ in range(3):  # the snapshot, then merged deltas
            t = await asyncio.wait_for(client.watch_ticker("BTC/USD:BTC"), TIMEOUT)
            seen.append(t)
        for t in seen:
            assert t["symbol"] == "BTC/USD:BTC"
            assert t["bid"] < t["ask"]
            assert t["markPrice"] == pytest.approx(ex.price("BTC"), rel=0.01)
            assert t["indexPrice"] > 0
        assert seen[-1]["timestamp"] > seen[0]["timestamp"]
        spot = await asyncio.wait_for(client.watch_ticker("ETH/USDT"), TIMEOUT)
        assert spot["last"] == pytest.approx(ex.price("ETH"), rel=0.01)
    finally:
        await client.close()


async def test_ccxt_pro_binance_coinm_bids_asks_and_mark_price(make_sim: Any) -> None:
    import ccxt.pro as ccxtpro

    ex, urls = await make_sim()
    client = ccxtpro.binance({"options": {"defaultType": "delivery"}})
    try:
        client.set_markets([_market("BTCUSD_PERP", "BTC", "USD", spot=False)])
        client.urls["api"]["ws"]["inverse"] = urls[("binance", "inverse")].replace("/stream", "/ws")
        book = await asyncio.wait_for(client.watch_bids_asks(["BTC/USD:BTC"]), TIMEOUT)
        t = book["BTC/USD:BTC"]
        assert t["bid"] < t["ask"]
        assert t["bidVolume"] > 0
        mark = await asyncio.wait_for(client.watch_mark_price("BTC/USD:BTC"), TIMEOUT)
        assert mark["markPrice"] == pytest.approx(ex.price("BTC"), rel=0.01)
        assert mark["indexPrice"] == pytest.approx(ex.price("BTC"), rel=0.001)
    finally:
        await client.close()


async def test_ccxt_pro_okx_tickers_funding_and_mark_from_the_simulator(make_sim: Any) -> None:
    import ccxt.pro as ccxtpro

    ex, urls = await make_sim(coins=("BTC", "SOL"))
    client = ccxtpro.okx(
        # no options market: ccxt would ask for its underlyings first
        {
            "enableRateLimit": False,
            "options": {"fetchMarkets": {"types": ["spot", "future", "swap"]}},
        }
    )
    try:
        client.urls["api"]["rest"] = ex.endpoint("okx", "rest")
        client.urls["api"]["ws"] = urls[("okx", "inverse")].removesuffix("/public")
        await asyncio.wait_for(client.load_markets(), TIMEOUT)
        assert client.markets["BTC/USD:BTC"]["inverse"] is True
        assert client.markets["BTC/USD:BTC"]["contractSize"] == 100
        assert client.markets["SOL/USD:SOL"]["contractSize"] == 10
        dated = sorted(s for s, m in client.markets.items() if m["future"] and m["base"] == "BTC")
        assert len(dated) == 2
        t = await asyncio.wait_for(client.watch_ticker("BTC/USD:BTC"), TIMEOUT)
        assert t["symbol"] == "BTC/USD:BTC"
        assert t["bid"] < t["ask"]
        assert t["last"] == pytest.approx(ex.price("BTC"), rel=0.01)
        spot = await asyncio.wait_for(client.watch_ticker("SOL/USDT"), TIMEOUT)
        assert spot["last"] == pytest.approx(ex.price("SOL"), rel=0.01)
        fut = await asyncio.wait_for(client.watch_ticker(dated[0]), TIMEOUT)
        assert fut["last"] > t["last"]  # the quarterly's basis
        fr = await asyncio.wait_for(client.watch_funding_rate("BTC/USD:BTC"), TIMEOUT)
        assert fr["fundingRate"] == pytest.approx(ex.model.perp("okx", "BTC").funding_rate)
        assert fr["fundingTimestamp"] == ex.model.perp("okx", "BTC").next_funding_ms
        assert fr["interval"] == "8h"
        mark = await asyncio.wait_for(client.watch_mark_price("BTC/USD:BTC"), TIMEOUT)
        assert mark["markPrice"] == pytest.approx(ex.price("BTC"), rel=0.01)
    finally:
        await client.close()


async def test_ccxt_pro_deribit_tickers_from_the_simulator(make_sim: Any) -> None:
    import ccxt.pro as ccxtpro

    ex, urls = await make_sim(coins=("BTC", "ETH"))
    client = ccxtpro.deribit({"enableRateLimit": False})
    try:
        client.urls["api"]["rest"] = ex.endpoint("deribit", "rest")
        client.urls["api"]["ws"] = urls[("deribit", "inverse")]
        await asyncio.wait_for(client.load_markets(), TIMEOUT)
        assert client.markets["BTC/USD:BTC"]["contractSize"] == 10
        assert client.markets["ETH/USD:ETH"]["contractSize"] == 1
        dated = sorted(s for s, m in client.markets.items() if m["future"] and m["base"] == "BTC")
        assert len(dated) == 2
        t = await asyncio.wait_for(client.watch_ticker("BTC/USD:BTC"), TIMEOUT)
        assert t["symbol"] == "BTC/USD:BTC"
        assert t["bid"] < t["ask"]
        assert t["markPrice"] == pytest.approx(ex.price("BTC"), rel=0.01)
        assert t["indexPrice"] == pytest.approx(ex.price("BTC"), rel=0.001)
        eth = await asyncio.wait_for(client.watch_ticker("ETH/USD:ETH"), TIMEOUT)
        assert eth["last"] == pytest.approx(ex.price("ETH"), rel=0.01)
        fut = await asyncio.wait_for(client.watch_ticker(dated[0]), TIMEOUT)
        assert fut["markPrice"] > t["markPrice"]
    finally:
        await client.close()
