"""The unchanged ``ccxt.async_support.bybit`` and ``ccxt.pro.bybit`` against the simulator's Bybit
v5 REST and private stream on loopback. The simulator's clock is stepped by the test."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest
from sim_ccxt_clients import WAIT, bybit_config, until
from websockets.asyncio.client import connect

from core.sim.fmt import dumps

HOUR_MS = 3_600_000


async def test_markets_balances_and_positions_read(account_sim: Any, clients: Any) -> None:
    ex = await account_sim()
    c = clients(ccxt.bybit, bybit_config(ex))
    await c.load_markets()
    m = c.markets["BTC/USD:BTC"]
    assert m["inverse"] is True
    assert m["contractSize"] == 1.0
    assert m["precision"]["price"] == 0.5
    assert "XRP/USDT" in c.markets
    bal = await c.fetch_balance()
    assert bal["BTC"]["total"] == pytest.approx(1.6)
    assert bal["BTC"]["used"] == pytest.approx(1.5)  # the isolated margin of the 1x short
    spot = await c.fetch_balance({"type": "spot"})
    assert spot["XRP"]["total"] == pytest.approx(6_000.0)
    pos = {p["symbol"]: p for p in await c.fetch_positions()}
    btc = pos["BTC/USD:BTC"]
    assert btc["side"] == "short"
    assert btc["contracts"] == 135_000
    assert btc["entryPrice"] == 90_000
    # Bybit's MM is on the entry value: 0.5 % of 1.5 BTC, whatever the mark.
    assert btc["maintenanceMargin"] == pytest.approx(1.5 * 0.005)
    assert btc["liquidationPrice"] is None  # P0/MMR = 18,000,000 lies beyond maxPrice
    assert pos["ETH/USD:ETH"]["liquidationPrice"] == pytest.approx(
        31_000 / (10.0 - (0.4 - 10.0 * 0.01)),
        abs=0.05,  # printed to the 0.05 tick
    )


async def test_unified_account_reads_its_wallet(account_sim: Any, clients: Any) -> None:
    from sim_ccxt_clients import seed

    s = seed()
    venues = dict(s.venues)
    from dataclasses import replace

    venues["bybit"] = replace(venues["bybit"], unified=True)
    ex = await account_sim(accounts=replace(s, venues=venues))
    c = clients(ccxt.bybit, bybit_config(ex, unified=True))
    bal = await c.fetch_balance()
    assert bal["info"]["result"]["list"][0]["accountType"] == "UNIFIED"
    assert bal["XRP"]["total"] == pytest.approx(11_000.0)  # spot and futures in one wallet
    probe = clients(ccxt.bybit, {**bybit_config(ex), "options": {"defaultSubType": "inverse"}})
    assert await probe.is_unified_enabled() == [False, True]  # query-api + account/info


async def test_an_order_moves_position_and_balance_by_fill_and_fee(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim()
    c = clients(ccxt.bybit, bybit_config(ex))
    before = (await c.fetch_balance())["XRP"]["total"]
    sent = await c.create_order(
        "XRP/USD:XRP", "market", "sell", 1_000, None, {"clientOrderId": "h1"}
    )
    assert sent["clientOrderId"] == "h1"
    order = await c.fetch_order(sent["id"], "XRP/USD:XRP")
    assert order["status"] == "closed"
    assert order["filled"] == 1_000
    trades = await c.fetch_my_trades("XRP/USD:XRP")
    assert len(trades) == 1
    fee = trades[0]["fee"]["cost"]
    assert fee == pytest.approx(1_000 / trades[0]["price"] * 0.00055, rel=1e-6)
    assert order["fee"]["cost"] == pytest.approx(fee)
    after = await c.fetch_balance()
    assert after["XRP"]["total"] == pytest.approx(before - fee, abs=1e-8)
    pos = (await c.fetch_positions(["XRP/USD:XRP"]))[0]
    assert pos["side"] == "short"
    assert pos["contracts"] == 1_000
    assert pos["entryPrice"] == pytest.approx(trades[0]["price"])
    # The same client order id again is refused as Bybit refuses it; nothing more is sold.
    with pytest.raises(ccxt.InvalidOrder, match="110072"):
        await c.create_order("XRP/USD:XRP", "market", "sell", 1_000, None, {"clientOrderId": "h1"})
    assert (await c.fetch_positions(["XRP/USD:XRP"]))[0]["contracts"] == 1_000


async def test_reduce_only_that_would_increase_is_refused(account_sim: Any, clients: Any) -> None:
    ex = await account_sim()
    c = clients(ccxt.bybit, bybit_config(ex))
    with pytest.raises(ccxt.InvalidOrder, match="110017"):
        await c.create_order("BTC/USD:BTC", "market", "sell", 100, None, {"reduceOnly": True})
    with pytest.raises(ccxt.InsufficientFunds, match="110007"):
        await c.create_order("XRP/USD:XRP", "market", "sell", 10_000_000)
    pos = (await c.fetch_positions(["BTC/USD:BTC"]))[0]
    assert pos["contracts"] == 135_000


async def test_bad_secret_and_stale_timestamp_are_refused(account_sim: Any, clients: Any) -> None:
    ex = await account_sim()
    bad = clients(ccxt.bybit, bybit_config(ex, secret="wrong"))
    with pytest.raises(ccxt.AuthenticationError, match="10004"):
        await bad.fetch_balance()
    stale = clients(ccxt.bybit, bybit_config(ex))
    stale.options["timeDifference"] = 60_000  # its timestamps lag the server by a minute
    with pytest.raises(ccxt.InvalidNonce, match="10002"):
        await stale.fetch_positions()
    unknown = clients(ccxt.bybit, {**bybit_config(ex), "apiKey": "nobody"})
    with pytest.raises(ccxt.AuthenticationError, match="10003"):
        await unknown.fetch_positions()
    assert ex.stats.auth_failures == 3


async def test_partial_fill_above_the_book_depth(account_sim: Any, clients: Any) -> None:
    ex = await account_sim()
    c = clients(ccxt.bybit, bybit_config(ex))
    depth = ex.bybit.books["SOL"].depth(buy=True)
    sent = await c.create_order("SOL/USD:SOL", "market", "buy", depth + 10_000)
    order = await c.fetch_order(sent["id"], "SOL/USD:SOL")
    assert order["status"] == "closed"  # PartiallyFilledCanceled
    assert order["info"]["orderStatus"] == "PartiallyFilledCanceled"
    assert order["filled"] == depth
    assert order["info"]["leavesQty"] == "0"  # the rest was cancelled, not left resting
    assert (await c.fetch_positions(["SOL/USD:SOL"]))[0]["contracts"] == depth


async def test_resting_limit_fills_when_the_price_crosses(account_sim: Any, clients: Any) -> None:
    ex = await account_sim()
    c = clients(ccxt.bybit, bybit_config(ex))
    ask = ex.bybit.books["XRP"].asks[0].price
    price = round(ask * 1.02, 4)
    sent = await c.create_order("XRP/USD:XRP", "limit", "sell", 500, price)
    assert (await c.fetch_open_order(sent["id"], "XRP/USD:XRP"))["status"] == "open"
    await ex.shock("XRP", 0.05)
    order = await c.fetch_order(sent["id"], "XRP/USD:XRP")
    assert order["status"] == "closed"
    assert order["average"] == pytest.approx(price)
    trade = (await c.fetch_my_trades("XRP/USD:XRP"))[0]
    assert trade["takerOrMaker"] == "maker"


async def test_funding_lands_in_wallet_transaction_log_and_private_stream(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim()
    c = clients(ccxt.bybit, bybit_config(ex))
    before = (await c.fetch_balance())["BTC"]["total"]
    async with connect(ex.endpoint("bybit", "private")) as ws:
        await _auth(ws, ex)
        await ws.send(dumps({"op": "subscribe", "args": ["execution", "wallet"]}))
        assert json.loads(await ws.recv())["success"] is True
        await ex.advance(8 * HOUR_MS)  # at least one funding time passes
        frames = [json.loads(await asyncio.wait_for(ws.recv(), WAIT)) for _ in range(2)]
    st = [s for s in ex.model.settlements if s.venue == "bybit" and s.coin == "BTC"]
    assert len(st) == 1
    got = 135_000 / st[0].mark * st[0].rate  # the short receives when the rate is positive
    after = (await c.fetch_balance())["BTC"]["total"]
    assert after == pytest.approx(before + got, abs=1e-8)
    execution = next(f for f in frames if f["topic"] == "execution")["data"][0]
    assert execution["execType"] == "Funding"
    assert float(execution["execFee"]) == pytest.approx(-got, abs=1e-8)  # > 0 paid
    history = await c.fetch_funding_history("BTC/USD:BTC")
    assert history[0]["amount"] == pytest.approx(-got, abs=1e-8)
    ledger = await c.fetch_ledger("BTC")
    settle = [e for e in ledger if e["info"]["type"] == "SETTLEMENT"]
    assert len(settle) == 1
    assert float(settle[0]["info"]["funding"]) == pytest.approx(got, abs=1e-8)  # > 0 received
    assert settle[0]["timestamp"] == st[0].ts_ms


async def test_watchers_see_orders_fills_positions_and_balance(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim()
    c = clients(ccxtpro.bybit, bybit_config(ex))
    c.urls["api"]["ws"]["private"]["contract"] = ex.endpoint("bybit", "private")
    snapshot = await asyncio.wait_for(c.watch_positions(), WAIT)
    assert {p["symbol"] for p in snapshot} == {"BTC/USD:BTC", "ETH/USD:ETH"}
    watches = [
        asyncio.ensure_future(c.watch_balance()),
        asyncio.ensure_future(c.watch_orders()),
        asyncio.ensure_future(c.watch_my_trades()),
        asyncio.ensure_future(c.watch_positions()),
    ]
    await until(
        lambda: any(
            {"wallet", "order", "execution", "position"} <= conn.topics
            for conn in ex.bybit.private.conns
        ),
        "the four private topics subscribed",
    )
    await c.create_order("XRP/USD:XRP", "market", "sell", 1_000)
    balance, orders, trades, positions = await asyncio.wait_for(asyncio.gather(*watches), WAIT)
    assert balance["XRP"]["total"] < 5_000.0
    assert orders[-1]["symbol"] == "XRP/USD:XRP"
    assert trades[-1]["amount"] == 1_000
    assert trades[-1]["fee"]["currency"] == "XRP"
    assert any(p["symbol"] == "XRP/USD:XRP" and p["contracts"] == 1_000 for p in positions)


async def test_a_leveraged_short_is_liquidated_pushed_and_listed(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim()
    c = clients(ccxtpro.bybit, bybit_config(ex))
    c.urls["api"]["ws"]["private"]["contract"] = ex.endpoint("bybit", "private")
    await asyncio.wait_for(c.watch_positions(), WAIT)
    lp = (await c.fetch_positions(["ETH/USD:ETH"]))[0]["liquidationPrice"]
    watch = asyncio.ensure_future(c.watch_my_trades("ETH/USD:ETH"))
    await until(
        lambda: any("execution" in conn.topics for conn in ex.bybit.private.conns),
        "execution subscribed",
    )
    await ex.shock("ETH", lp / ex.model.perp("bybit", "ETH").mark - 1 + 0.002)
    trades = await asyncio.wait_for(watch, WAIT)
    assert trades[-1]["info"]["execType"] == "BustTrade"
    assert ex.stats.liquidations == 1
    pos = (await c.fetch_positions(["ETH/USD:ETH"]))[0]
    assert pos["contracts"] == 0
    # ccxt's fetch_my_trades asks for execType=Trade; the liquidation is listed under its own
    listed = await c.fetch_my_trades("ETH/USD:ETH", None, None, {"execType": "BustTrade"})
    assert len(listed) == 1
    closed = await c.fetch_closed_orders("ETH/USD:ETH")
    assert closed[0]["info"]["createType"] == "CreateByLiq"
    # the 0.4 ETH of isolated margin is lost, nothing more: 0.2 ETH stay in the wallet
    bal = await c.fetch_balance()
    assert bal["ETH"]["total"] == pytest.approx(0.2, abs=1e-9)


async def _auth(ws: Any, ex: Any) -> None:
    import hashlib
    import hmac

    expires = str(ex.hub.api_clock_ms() + 10_000)
    sig = hmac.new(b"demo-secret", f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    await ws.send(dumps({"op": "auth", "args": ["demo", expires, sig]}))
    reply = json.loads(await ws.recv())
    assert reply["success"] is True, reply


async def test_private_stream_refuses_a_bad_signature_and_unauthenticated_topics(
    account_sim: Any,
) -> None:
    ex = await account_sim()
    async with connect(ex.endpoint("bybit", "private")) as ws:
        await ws.send(dumps({"op": "subscribe", "args": ["position"]}))
        assert json.loads(await ws.recv())["ret_msg"] == "Request not authorized"
        expires = str(ex.hub.api_clock_ms() + 10_000)
        await ws.send(dumps({"op": "auth", "args": ["demo", expires, "00" * 32]}))
        reply = json.loads(await ws.recv())
        assert reply["success"] is False
        assert reply["op"] == "auth"
