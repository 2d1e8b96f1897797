"""REST faults and rate limits as a client meets them: HTTP 500 (nothing done), a lost reply
(done: the retry with the same client order id is refused, so the order is never doubled),
slow replies, and the venues' own rate-limit answers with their headers."""

from __future__ import annotations

import time
from typing import Any

import ccxt.async_support as ccxt
import pytest
from sim_ccxt_clients import binance_config, bybit_config

from core.sim import parse_chaos


async def test_http500_does_nothing_and_says_exchange_not_available(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim(chaos=parse_chaos("http500=1"))
    c = clients(ccxt.bybit, bybit_config(ex))
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await c.create_order("XRP/USD:XRP", "market", "sell", 100)
    assert ex.bybit.account.orders == {}
    assert ex.stats.http_500 >= 1


@pytest.mark.parametrize("venue", ["bybit", "binance"])
async def test_a_lost_reply_leaves_the_order_placed_and_a_retry_is_refused(
    account_sim: Any, clients: Any, venue: str
) -> None:
    ex = await account_sim()
    if venue == "bybit":
        c = clients(ccxt.bybit, bybit_config(ex))
        acct = ex.bybit.account
        symbol, amount = "XRP/USD:XRP", 100
    else:
        c = clients(ccxt.binancecoinm, binance_config(ex))
        acct = ex.binance.account
        symbol, amount = "ADA/USD:ADA", 10
    ex.hub.chaos = parse_chaos("")
    await c.load_markets()  # markets first, then lose every reply
    ex.hub.chaos = parse_chaos("drop-response=1")
    before = acct.positions[symbol[:3]].size if symbol[:3] in acct.positions else 0
    with pytest.raises(ccxt.NetworkError):
        await c.create_order(symbol, "market", "sell", amount, None, {"clientOrderId": "once"})
    assert ex.stats.dropped_responses >= 1
    after = acct.positions[symbol[:3]].size
    assert after < before  # the order was placed although the client never heard of it
    ex.hub.chaos = parse_chaos("")
    with pytest.raises(ccxt.ExchangeError, match=r"110072|-4116"):
        await c.create_order(symbol, "market", "sell", amount, None, {"clientOrderId": "once"})
    assert acct.positions[symbol[:3]].size == after


async def test_slow_answers_late(account_sim: Any, clients: Any) -> None:
    ex = await account_sim(chaos=parse_chaos("slow=150"))
    c = clients(ccxt.bybit, bybit_config(ex))
    t0 = time.perf_counter()
    await c.fetch_time()
    assert time.perf_counter() - t0 >= 0.15  # a lower bound only: a loaded machine is slower


async def test_ratelimit_fault_answers_as_each_venue_does(account_sim: Any, clients: Any) -> None:
    ex = await account_sim(chaos=parse_chaos("ratelimit=1"))
    b = clients(ccxt.bybit, bybit_config(ex))
    with pytest.raises(ccxt.RateLimitExceeded, match="10006"):
        await b.fetch_positions()
    n = clients(ccxt.binancecoinm, binance_config(ex))
    with pytest.raises(ccxt.DDoSProtection):  # HTTP 429: ccxt's parent of RateLimitExceeded
        await n.fetch_time()
    assert 1 <= int(n.last_response_headers["Retry-After"]) <= 60


async def test_bybit_per_endpoint_limit_and_headers(account_sim: Any, clients: Any) -> None:
    frozen = time.time_ns() // 1_000_000
    ex = await account_sim(limit_clock_ms=lambda: frozen)  # one rolling second for all
    c = clients(ccxt.bybit, bybit_config(ex))
    await c.load_markets()
    for k in range(10):  # order/create: 10 per second per UID
        await c.create_order("XRP/USD:XRP", "market", "sell", 10)
        assert c.last_response_headers["X-Bapi-Limit"] == "10"
        assert c.last_response_headers["X-Bapi-Limit-Status"] == str(9 - k)
    with pytest.raises(ccxt.RateLimitExceeded, match="10006"):
        await c.create_order("XRP/USD:XRP", "market", "sell", 10)
    assert int(c.last_response_headers["X-Bapi-Limit-Reset-Timestamp"]) == frozen + 1000
    await c.fetch_positions()  # another endpoint has its own window


async def test_binance_weight_limit_429_then_ban_418(account_sim: Any, clients: Any) -> None:
    frozen = time.time_ns() // 1_000_000
    ex = await account_sim(limit_clock_ms=lambda: frozen)
    c = clients(ccxt.binancecoinm, binance_config(ex))
    limits = ex.binance.rest._limits["dapi"]
    limits.weight.limit = 12  # a small budget, so the test sends few requests
    for _ in range(12):
        await c.fetch_time()
    assert c.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "12"
    codes = []
    for _ in range(7):
        with pytest.raises(ccxt.DDoSProtection) as e:
            await c.fetch_time()
        codes.append(str(e.value).split()[1])
    assert codes[0] == "429"
    assert codes[-1] == "418"
    assert int(c.last_response_headers["Retry-After"]) == 120
