"""The unchanged ``ccxt.async_support.binancecoinm``, ``binance`` (spot balance) and
``ccxt.pro.binancecoinm`` against the simulator's Binance REST hosts and COIN-M user data stream
on loopback. The simulator's clock is stepped by the test."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest
from sim_ccxt_clients import WAIT, binance_config, binance_spot_config, until
from websockets.asyncio.client import connect

HOUR_MS = 3_600_000


def pro(clients: Any, ex: Any) -> Any:
    c = clients(ccxtpro.binancecoinm, binance_config(ex))
    c.urls["api"]["ws"]["inverse"] = ex.endpoint("binance", "user-stream")
    return c


async def test_markets_balances_and_positions_read(account_sim: Any, clients: Any) -> None:
    ex = await account_sim()
    c = clients(ccxt.binancecoinm, binance_config(ex))
    await c.load_markets()
    m = c.markets["BTC/USD:BTC"]
    assert m["inverse"] is True
    assert m["contractSize"] == 100
    assert c.markets["ADA/USD:ADA"]["contractSize"] == 10
    bal = await c.fetch_balance()
    assert bal["ADA"]["free"] == pytest.approx(30_000 - 12_857)
    pos = (await c.fetch_positions(["ADA/USD:ADA"]))[0]
    assert pos["side"] == "short"
    assert pos["contracts"] == 3_857
    assert pos["marginMode"] == "isolated"
    mark = ex.model.perp("binance", "ADA").mark
    # Binance's MM is on the mark value: 0.4 % of 38,570/mark ADA (bracket 1, cum 0)
    assert float(pos["info"]["notionalValue"]) == pytest.approx(-38_570 / mark, rel=1e-6)
    q, wb = 38_570.0, 12_857.0
    assert pos["liquidationPrice"] == pytest.approx(q * (0.004 - 1) / (wb - q / 0.42), rel=1e-6)
    spot = clients(ccxt.binance, binance_spot_config(ex))
    assert (await spot.fetch_balance())["SOL"]["total"] == pytest.approx(400.0)


async def test_an_order_moves_position_and_balance_by_fill_and_fee(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim()
    c = clients(ccxt.binancecoinm, binance_config(ex))
    await c.load_markets()
    wallet = float((await c.fetch_balance())["info"]["assets"][0]["walletBalance"])
    sent = await c.create_order("ADA/USD:ADA", "market", "sell", 10, None, {"clientOrderId": "h1"})
    assert sent["status"] == "closed"  # ccxt asks for newOrderRespType RESULT
    assert sent["filled"] == 10
    trades = await c.fetch_my_trades("ADA/USD:ADA")
    assert len(trades) == 1
    fee = trades[0]["fee"]["cost"]
    assert fee == pytest.approx(100 / trades[0]["price"] * 0.0005, rel=1e-6)
    assets = {a["asset"]: a for a in (await c.fetch_balance())["info"]["assets"]}
    assert float(assets["ADA"]["walletBalance"]) == pytest.approx(wallet - fee, abs=1e-8)
    pos = (await c.fetch_positions(["ADA/USD:ADA"]))[0]
    assert pos["contracts"] == 3_867
    with pytest.raises(ccxt.ExchangeError, match="-4116"):  # (see the reduce-only test)
        await c.create_order("ADA/USD:ADA", "market", "sell", 10, None, {"clientOrderId": "h1"})
    assert (await c.fetch_positions(["ADA/USD:ADA"]))[0]["contracts"] == 3_867
    income = await c.fetch_ledger("ADA") if c.has.get("fetchLedger") else []
    assert any(e["info"]["incomeType"] == "COMMISSION" for e in income)


async def test_reduce_only_that_would_increase_is_refused(account_sim: Any, clients: Any) -> None:
    ex = await account_sim()
    c = clients(ccxt.binancecoinm, binance_config(ex))
    # ccxt picks its COIN-M error table by the URL's host (https://dapi.binance.com/…), so on any
    # other URL -2022 arrives as a plain ExchangeError carrying Binance's code ...
    with pytest.raises(ccxt.ExchangeError, match="-2022"):
        await c.create_order("BTC/USD:BTC", "market", "buy", 1, None, {"reduceOnly": True})
    # ... and with that table merged in (as the README shows) as ccxt's InvalidOrder.
    c.exceptions["exact"].update(c.exceptions["inverse"]["exact"])
    with pytest.raises(ccxt.InvalidOrder, match="-2022"):
        await c.create_order("BTC/USD:BTC", "market", "buy", 1, None, {"reduceOnly": True})
    with pytest.raises(ccxt.InsufficientFunds, match="-2019"):
        await c.create_order("BTC/USD:BTC", "market", "sell", 50_000)


async def test_bad_secret_and_stale_timestamp_are_refused(account_sim: Any, clients: Any) -> None:
    ex = await account_sim()
    bad = clients(ccxt.binancecoinm, binance_config(ex, secret="wrong"))
    await bad.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        await bad.fetch_balance()
    stale = clients(ccxt.binancecoinm, binance_config(ex))
    await stale.load_markets()
    stale.options["timeDifference"] = 60_000
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        await stale.fetch_balance()
    unknown = clients(ccxt.binancecoinm, {**binance_config(ex), "apiKey": "nobody"})
    await unknown.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        await unknown.fetch_balance()


async def test_funding_lands_in_wallet_income_and_user_stream(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim()
    c = pro(clients, ex)
    await c.load_markets()
    watch = asyncio.ensure_future(c.watch_balance())
    await until(lambda: bool(ex.binance.users.conns), "the user stream open")
    frames: list[dict[str, Any]] = []
    conn = next(iter(ex.binance.users.conns))
    sent = conn.queue.put_nowait

    def spy(frame: Any) -> None:
        if frame is not None:
            frames.append(json.loads(frame))
        sent(frame)

    conn.queue.put_nowait = spy  # type: ignore[method-assign]
    await ex.advance(8 * HOUR_MS)
    balance = await asyncio.wait_for(watch, WAIT)
    st = [s for s in ex.model.settlements if s.venue == "binance" and s.coin == "ADA"]
    assert len(st) == 1
    got = 38_570 / st[0].mark * st[0].rate
    update = next(f for f in frames if f["e"] == "ACCOUNT_UPDATE" and f["a"]["B"][0]["a"] == "ADA")
    assert update["a"]["m"] == "FUNDING_FEE"
    assert float(update["a"]["B"][0]["bc"]) == pytest.approx(got, abs=1e-8)
    assert balance["ADA"]["total"] == pytest.approx(30_000 + got, abs=1e-6)
    history = await c.fetch_funding_history("ADA/USD:ADA")
    assert len(history) == 1
    assert history[0]["amount"] == pytest.approx(got, abs=1e-8)  # income: > 0 received
    assert history[0]["timestamp"] == st[0].ts_ms


async def test_watchers_see_orders_fills_positions(account_sim: Any, clients: Any) -> None:
    ex = await account_sim()
    c = pro(clients, ex)
    await c.load_markets()
    first = asyncio.ensure_future(c.watch_orders())
    await until(lambda: bool(ex.binance.users.conns), "the user stream open")
    watches = [
        first,
        asyncio.ensure_future(c.watch_my_trades()),
        asyncio.ensure_future(c.watch_positions()),
    ]
    await c.create_order("ADA/USD:ADA", "market", "buy", 10, None, {"reduceOnly": True})
    orders, trades, positions = await asyncio.wait_for(asyncio.gather(*watches), WAIT)
    assert orders[-1]["symbol"] == "ADA/USD:ADA"
    assert trades[-1]["amount"] == 10
    assert any(p["symbol"] == "ADA/USD:ADA" and p["contracts"] == 3_847 for p in positions)


async def test_a_leveraged_short_is_liquidated_pushed_and_listed(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim()
    c = pro(clients, ex)
    await c.load_markets()
    lp = (await c.fetch_positions(["ETH/USD:ETH"]))[0]["liquidationPrice"]
    watch = asyncio.ensure_future(c.watch_orders("ETH/USD:ETH"))
    await until(lambda: bool(ex.binance.users.conns), "the user stream open")
    mark = ex.model.perp("binance", "ETH").mark
    await ex.shock("ETH", lp / mark - 1 + 0.002)
    orders = await asyncio.wait_for(watch, WAIT)
    assert orders[-1]["info"]["o"] == "LIQUIDATION"
    assert orders[-1]["clientOrderId"].startswith("autoclose-")
    assert await c.fetch_positions(["ETH/USD:ETH"]) == []  # ccxt drops flat rows
    raw = await c.dapiPrivateGetPositionRisk({"pair": "ETHUSD"})
    assert raw[0]["positionAmt"] == "0"
    pnl = [i for i in await c.fetch_ledger("ETH") if i["info"]["incomeType"] == "REALIZED_PNL"]
    assert len(pnl) == 1
    assert float(pnl[0]["info"]["income"]) == pytest.approx(-0.4, abs=1e-9)


async def test_margin_call_then_listen_key_expiry(account_sim: Any, clients: Any) -> None:
    skew = {"ms": 0}
    ex = await account_sim(api_clock_ms=lambda: time.time_ns() // 1_000_000 + skew["ms"])
    c = clients(ccxt.binancecoinm, binance_config(ex))
    key = (await c.dapiPrivatePostListenKey())["listenKey"]
    async with connect(ex.endpoint("binance", "user-stream") + "/" + key) as ws:
        await until(lambda: bool(ex.binance.users.conns), "the user stream open")
        lp = ex.binance.account.liquidation_price("ETH")
        assert lp is not None
        mark = ex.model.perp("binance", "ETH").mark
        await ex.shock("ETH", (lp / mark - 1) * 0.995)  # close to, not at, the liquidation
        call = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert call["e"] == "MARGIN_CALL"
        assert call["p"][0]["s"] == "ETHUSD_PERP"
        skew["ms"] = 61 * 60 * 1000  # the key's hour passes without a keep-alive
        await ex.advance(1)
        expired = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert expired == {"e": "listenKeyExpired", "E": ex.now_ms(), "listenKey": key}
        await asyncio.wait_for(ws.wait_closed(), WAIT)
