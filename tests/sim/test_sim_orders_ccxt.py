"""Real orders end to end: ``CcxtLiveBroker`` through the unchanged ccxt classes against the
simulator's Bybit v5 and Binance COIN-M on 127.0.0.1 (its demo keys), on a stepped clock (the
broker's ``sleep`` moves time, nothing waits): market fills, limits that rest and are
cancelled, partial fills, reduce-only reductions, a lost reply that never doubles an order,
the day caps and the rate limit, and one ccxt client per venue for the broker's life."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import ccxt.async_support as ccxt
import pytest
from sim_ccxt_clients import KEY, SECRET, binance_config, bybit_config

from core.brokers.ccxt_live import DAY_MS, CcxtLiveBroker, OrderRefused
from core.config import BrokerConfig, parse_config
from core.events import Kind, OrderSide, Quote
from core.instruments import lookup, size_usd_from_contracts
from core.resize import ResizePlan
from core.session import LiveSession
from core.sim import SimExchange, parse_chaos
from core.sim.book import Level

NOW = 1_764_100_000_000
ENV = {
    "HEDGETOP_BYBIT_API_KEY": KEY,
    "HEDGETOP_BYBIT_API_SECRET": SECRET,
    "HEDGETOP_BINANCE_API_KEY": KEY,
    "HEDGETOP_BINANCE_API_SECRET": SECRET,
}
LIVE = BrokerConfig(kind="ccxt", trading_enabled=True)
#: (venue, venue symbol, coin) an order enlarges from nothing (Bybit) or from the seeded short
#: (Binance ADA: 3,857 contracts of 10 USD)
VENUES = {
    "bybit": ("XRPUSD", "XRP", 0, 100),
    "binance": ("ADAUSD_PERP", "ADA", 3_857, 10),
}


class Factory:
    """Builds the real ccxt class of each venue, pointed at the simulator; counts them."""

    def __init__(self, ex: SimExchange) -> None:
        self.ex = ex
        self.made: list[Any] = []

    def __call__(self, ccxt_id: str, params: dict[str, Any]) -> Any:
        base = bybit_config(self.ex) if ccxt_id == "bybit" else binance_config(self.ex)
        client = getattr(ccxt, ccxt_id)({**base, **params})
        self.made.append(client)
        return client


class Stepped:
    """The broker's clock and sleep; ``on_sleep`` runs at each pause (a fault ends...)."""

    def __init__(self) -> None:
        self.now = 5_000.0
        self.slept: list[float] = []
        self.on_sleep: Callable[[], None] | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()


def broker(ex: SimExchange, **config: Any) -> tuple[CcxtLiveBroker, Factory, Stepped]:
    factory = Factory(ex)
    t = Stepped()
    b = CcxtLiveBroker(
        dataclasses.replace(LIVE, **config),
        environ=ENV,
        exchange_factory=factory,
        sleep=t.sleep,
        clock=t.clock,
    )
    return b, factory, t


def plan(
    venue: str, symbol: str, *, side: OrderSide, contracts: int, before: int, mark: float
) -> ResizePlan:
    """A previewed resize of a short hedge: selling enlarges it, buying reduces it."""
    spec = lookup(venue, symbol)
    after = before + contracts if side is OrderSide.SELL else before - contracts
    return ResizePlan(
        hedge_id=f"{spec.coin.lower()}-{venue}",
        venue=venue,
        symbol=symbol,
        created_ms=NOW,
        side=side,
        contracts=contracts,
        size_usd=size_usd_from_contracts(spec, contracts),
        mark=mark,
        expected_price=mark,
        fee_coin=None,
        coin=spec.coin,
        contracts_before=before,
        contracts_after=after,
        ratio_before=None,
        ratio_after=None,
        target_ratio=None,
        net_delta_after_coin=None,
        net_delta_after_usd=None,
        liq_price_after=None,
        hedge_after=None,
        holding_after=None,
    )


def account(ex: SimExchange, venue: str) -> Any:
    return ex.bybit.account if venue == "bybit" else ex.binance.account


def book(ex: SimExchange, venue: str, coin: str) -> Any:
    return (ex.bybit if venue == "bybit" else ex.binance).books[coin]


def enlarge(ex: SimExchange, venue: str, contracts: int | None = None) -> ResizePlan:
    symbol, coin, before, n = VENUES[venue]
    return plan(
        venue,
        symbol,
        side=OrderSide.SELL,
        contracts=contracts or n,
        before=before,
        mark=book(ex, venue, coin).mark(),
    )


@pytest.mark.parametrize("venue", ["bybit", "binance"])
async def test_market_order_fills_and_says_what_filled(account_sim: Any, venue: str) -> None:
    ex = await account_sim()
    b, _factory, _t = broker(ex)
    p = enlarge(ex, venue)
    coin = p.coin
    before = account(ex, venue).position(coin).size
    top = book(ex, venue, coin).bids[0].price
    try:
        r = await b.place(p, confirmed=True, now_ms=NOW)
    finally:
        await b.close()
    assert r.status == "filled", r.message
    assert r.filled_contracts == p.contracts
    assert r.average_price == pytest.approx(top)
    if venue == "bybit":  # Binance's order carries no fee (its trades do): the rate is used
        assert r.fee_coin is not None
        assert r.fee_coin > 0
    orders = list(account(ex, venue).orders.values())
    assert [o.client_id for o in orders] == [r.client_order_id]
    assert orders[0].id == r.order_id
    assert not orders[0].reduce_only
    assert account(ex, venue).position(coin).size == before - p.size_usd


@pytest.mark.parametrize("venue", ["bybit", "binance"])
async def test_a_reduction_is_reduce_only(account_sim: Any, venue: str) -> None:
    ex = await account_sim()
    b, _factory, _t = broker(ex)
    symbol, coin, n = ("BTCUSD", "BTC", 1_000) if venue == "bybit" else ("ADAUSD_PERP", "ADA", 5)
    held = account(ex, venue).position(coin).size
    spec = lookup(venue, symbol)
    p = plan(
        venue,
        symbol,
        side=OrderSide.BUY,
        contracts=n,
        before=-held // int(spec.face_value_usd),
        mark=book(ex, venue, coin).mark(),
    )
    try:
        r = await b.place(p, confirmed=True, now_ms=NOW)
    finally:
        await b.close()
    assert r.status == "filled", r.message
    (order,) = account(ex, venue).orders.values()
    assert order.reduce_only
    assert account(ex, venue).position(coin).size == held + p.size_usd


@pytest.mark.parametrize("venue", ["bybit", "binance"])
async def test_a_limit_that_rests_is_cancelled_after_the_timeout(
    account_sim: Any, venue: str
) -> None:
    ex = await account_sim()
    b, _factory, t = broker(ex, order_type="limit", limit_tolerance_bps=0.0, limit_timeout_s=5.0)
    p = enlarge(ex, venue)
    bk = book(ex, venue, p.coin)
    above = bk.asks[0].price + 10 * bk.tick  # a sell there rests: nobody bids that high
    before = account(ex, venue).position(p.coin).size
    try:
        r = await b.place(p, confirmed=True, now_ms=NOW, mark=above)
    finally:
        await b.close()
    assert r.status == "cancelled", r.message
    assert r.filled_contracts == 0
    assert "not filled within 5 s" in r.message
    assert r.limit_price == pytest.approx(above)
    (order,) = account(ex, venue).orders.values()
    assert order.price == pytest.approx(above)
    assert order.status.value == "canceled"
    assert account(ex, venue).position(p.coin).size == before
    assert sum(t.slept) >= 5.0  # the stepped clock, not the wall clock, timed it out


@pytest.mark.parametrize("venue", ["bybit", "binance"])
async def test_a_limit_partly_filled_reports_the_part_and_cancels_the_rest(
    account_sim: Any, venue: str
) -> None:
    ex = await account_sim()
    b, _factory, _t = broker(ex, order_type="limit", limit_tolerance_bps=0.0, limit_timeout_s=3.0)
    p = enlarge(ex, venue)
    bk = book(ex, venue, p.coin)
    top = bk.bids[0].price
    part = int(p.size_usd * 0.4)  # USD: 40 of 100 (Bybit), 4 of 10 contracts (Binance)
    bk.bids[0] = Level(top, part)
    before = account(ex, venue).position(p.coin).size
    try:
        r = await b.place(p, confirmed=True, now_ms=NOW, mark=top)  # the limit is the top bid
    finally:
        await b.close()
    spec = lookup(venue, p.symbol)
    assert r.status == "partial", r.message
    assert r.filled_contracts == part // int(spec.face_value_usd)
    assert r.average_price == pytest.approx(top)
    assert "the rest cancelled" in r.message
    (order,) = account(ex, venue).orders.values()
    assert order.filled == part
    assert order.status.value == "partially_filled_canceled"
    assert account(ex, venue).position(p.coin).size == before - part


@pytest.mark.parametrize("fault", ["drop-response=1", "http500=1"])
@pytest.mark.parametrize("venue", ["bybit", "binance"])
async def test_a_lost_reply_leaves_one_order_recorded_once(
    account_sim: Any, venue: str, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    """drop-response: placed, reply lost, found by its client id and followed. http500:
    not placed, not found, sent again with the same id. Either way one order, one fill."""
    ex = await account_sim()
    symbol, coin, before, n = VENUES[venue]
    text = f"""
[[holdings]]
coin = "{coin}"
amount = 100000
[[hedges]]
id = "h"
venue = "{venue}"
symbol = "{symbol}"
contracts = {before}
{f"entry = {book(ex, venue, coin).mark()}" if before else ""}
margin = 1000
[broker]
kind = "ccxt"
trading_enabled = true
"""
    factory = Factory(ex)
    s = LiveSession(
        parse_config(text), wall_clock=lambda: NOW, environ=ENV, exchange_factory=factory
    )
    mark = book(ex, venue, coin).mark()
    s.engine.on_quote(
        Quote(
            venue=venue,
            symbol=symbol,
            kind=Kind.INVERSE_PERP,
            mark=mark,
            index=mark,
            received_ms=NOW,
        )
    )
    assert s.live_broker is not None
    t = Stepped()
    s.live_broker.sleep, s.live_broker.clock = t.sleep, t.clock

    def heal() -> None:
        ex.hub.chaos = parse_chaos("")

    t.on_sleep = heal
    caplog.set_level(logging.DEBUG)
    try:
        await s.live_broker.prepare(venue)  # markets loaded before the fault
        ex.hub.chaos = parse_chaos(fault)
        out = await s.execute_live(s.plan_resize("h", delta_contracts=n), confirmed=True)
    finally:
        await s.stop()
    assert out.result.status == "filled", out.message
    orders = list(account(ex, venue).orders.values())
    assert len(orders) == 1
    assert orders[0].client_id == out.result.client_order_id
    assert out.fill is not None
    assert orders[0].filled == out.fill.size_usd
    if fault.startswith("drop"):
        assert ex.stats.dropped_responses == 1
    else:
        assert ex.stats.http_500 == 1
    assert [f.contracts for f in s.ledger.load()] == [n]
    assert len(factory.made) == 1
    said = [r.getMessage() for r in caplog.records]
    assert any("though no reply came" in m or "sending it again" in m for m in said)
    assert not any(SECRET in m for m in [*said, out.message, repr(s.live_broker)])


async def test_day_caps_and_the_rate_limit_refuse_before_sending(account_sim: Any) -> None:
    ex = await account_sim()
    b, _factory, t = broker(ex, max_contracts_per_day=150, max_usd_per_day=10_000.0)
    acct = account(ex, "bybit")
    try:
        first = await b.place(enlarge(ex, "bybit", 100), confirmed=True, now_ms=NOW)
        assert first.status == "filled"
        with pytest.raises(OrderRefused, match=r"wait 2\.0 s.*min_order_interval_s"):
            await b.place(enlarge(ex, "bybit", 10), confirmed=True, now_ms=NOW)
        t.now += 2.0
        await b.place(enlarge(ex, "bybit", 10), confirmed=True, now_ms=NOW)
        t.now += 2.0
        with pytest.raises(OrderRefused, match=r"max_contracts_per_day = 150 \(110 filled"):
            await b.place(enlarge(ex, "bybit", 50), confirmed=True, now_ms=NOW)
        assert len(acct.orders) == 2  # the refused ones never reached the venue
        assert b.filled_today(NOW) == (110, 110.0)
        tomorrow = (NOW // DAY_MS + 1) * DAY_MS
        assert b.filled_today(tomorrow) == (0, 0.0)
        nxt = await b.place(enlarge(ex, "bybit", 50), confirmed=True, now_ms=tomorrow)
        assert nxt.status == "filled"
        t.now += 2.0
        usd = dataclasses.replace(LIVE, max_usd_per_day=100.0)
        b.config = usd
        with pytest.raises(OrderRefused, match=r"max_usd_per_day = 100 USD \(50 USD filled"):
            await b.place(enlarge(ex, "bybit", 60), confirmed=True, now_ms=tomorrow)
    finally:
        await b.close()
    assert len(acct.orders) == 3


async def test_a_side_flip_is_refused(account_sim: Any) -> None:
    ex = await account_sim()
    b, factory, _t = broker(ex)
    flip = plan("bybit", "XRPUSD", side=OrderSide.BUY, contracts=150, before=100, mark=2.2)
    flip = dataclasses.replace(flip, contracts_after=0)  # a plan that hides the flip
    with pytest.raises(OrderRefused, match="through zero to the other side"):
        await b.place(flip, confirmed=True, now_ms=NOW)
    assert factory.made == []
    assert account(ex, "bybit").orders == {}


async def test_one_client_per_venue_for_the_broker_life(account_sim: Any) -> None:
    ex = await account_sim()
    b, factory, t = broker(ex)
    try:
        for _ in range(2):
            await b.place(enlarge(ex, "bybit", 10), confirmed=True, now_ms=NOW)
            await b.place(enlarge(ex, "binance", 1), confirmed=True, now_ms=NOW)
            t.now += 2.0
        assert [type(c).__name__ for c in factory.made] == ["bybit", "binancecoinm"]
        assert len(account(ex, "bybit").orders) == 2
        assert len(account(ex, "binance").orders) == 2
    finally:
        await b.close()
    assert all(c.session is None or c.session.closed for c in factory.made)
    await b.close()  # twice is fine


@pytest.mark.parametrize("venue", ["bybit", "binance"])
async def test_a_market_order_beyond_the_book_reports_the_part_filled(
    account_sim: Any, venue: str
) -> None:
    ex = await account_sim()
    b, _factory, _t = broker(ex)
    p = enlarge(ex, venue)
    bk = book(ex, venue, p.coin)
    part = int(p.size_usd * 0.3)
    bk.bids = [Level(bk.bids[0].price, part)]  # all the depth there is
    try:
        r = await b.place(p, confirmed=True, now_ms=NOW)
    finally:
        await b.close()
    spec = lookup(venue, p.symbol)
    assert r.status == "partial", r.message
    assert r.filled_contracts == part // int(spec.face_value_usd)
    assert f"{r.filled_contracts:,} of {p.contracts:,} contracts" in r.message
    assert "the rest cancelled" not in r.message  # the venue cancelled it, not a timeout
    (order,) = account(ex, venue).orders.values()
    assert order.filled == part
