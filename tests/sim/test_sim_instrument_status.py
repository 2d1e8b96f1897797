"""A delisting read through the unchanged ccxt from the simulator's instrument lists (issue 12
§2): Bybit instruments-info ``status``/``deliveryTime`` and Binance exchangeInfo
``contractStatus``/``deliveryDate`` as a seed says, parsed by ``core.markets``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import ccxt.async_support as ccxt
from sim_ccxt_clients import START_MS, binance_config, bybit_config, seed

from core.events import InstrumentStatus
from core.markets import specs_from_markets
from core.sim.seed import AccountSeed, ListingSeed

DAY = 86_400_000
DELIST = START_MS + 16 * DAY


def listing_seed() -> AccountSeed:
    base = seed()
    venues = dict(base.venues)
    venues["bybit"] = replace(
        venues["bybit"],
        listings={"ETH": ListingSeed(delivery_ms=DELIST), "XRP": ListingSeed(status="Closed")},
    )
    venues["binance"] = replace(
        venues["binance"],
        listings={"ADA": ListingSeed(status="SETTLING"), "ETH": ListingSeed(delivery_ms=DELIST)},
    )
    return replace(base, venues=venues)


async def test_bybit_delisting_is_read_from_instruments_info(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim(accounts=listing_seed())
    c = clients(ccxt.bybit, bybit_config(ex))
    specs = {s.coin: s for s in specs_from_markets("bybit", await c.fetch_markets())}
    assert (specs["ETH"].status, specs["ETH"].delist_ms) == (InstrumentStatus.DELISTING, DELIST)
    assert (specs["BTC"].status, specs["BTC"].delist_ms) == (InstrumentStatus.TRADING, None)
    # Bybit lists Trading instruments unless asked for another status: a closed one is absent
    assert "XRP" not in specs
    raw = await c.publicGetV5MarketInstrumentsInfo({"category": "inverse", "status": "Closed"})
    assert [r["symbol"] for r in raw["result"]["list"]] == ["XRPUSD"]


async def test_binance_settling_and_delisting_are_read_from_exchange_info(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim(accounts=listing_seed())
    c = clients(ccxt.binancecoinm, binance_config(ex))
    specs = {s.coin: s for s in specs_from_markets("binance", await c.fetch_markets())}
    assert (specs["ETH"].status, specs["ETH"].delist_ms) == (InstrumentStatus.DELISTING, DELIST)
    assert specs["ADA"].status is InstrumentStatus.SETTLING
    assert (specs["BTC"].status, specs["BTC"].delist_ms) == (InstrumentStatus.TRADING, None)


async def test_without_a_listing_seed_every_coin_trades(account_sim: Any, clients: Any) -> None:
    ex = await account_sim()
    c = clients(ccxt.bybit, bybit_config(ex))
    specs = specs_from_markets("bybit", await c.fetch_markets())
    assert {s.status for s in specs} == {InstrumentStatus.TRADING}
    assert all(s.delist_ms is None for s in specs)
