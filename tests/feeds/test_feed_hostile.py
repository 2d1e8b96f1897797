"""A hostile websocket server against the unchanged FeedRunner (issue 8): bad numbers,
a flood of them, silence after subscribing, a refused subscription, reordered and repeated
messages, an oversize frame. Time is stepped (an injected clock), never waited for."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest
from feedkit import Conn, ScriptedServer, hold_open, until

from core.events import FeedState, Quote
from core.feeds import make_adapter
from core.feeds.runner import FeedRunner

BAD = ["1e999", "NaN", "-inf", "0", "-5", "1e-7"]


class Clock:
    def __init__(self, ms: int = 1_000_000) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def snapshot(symbol: str = "BTCUSD", cs: int = 100, **fields: str) -> dict[str, Any]:
    data = {
        "symbol": symbol,
        "markPrice": "30000.00",
        "indexPrice": "30001.00",
        "lastPrice": "30000.50",
        "bid1Price": "30000.00",
        "ask1Price": "30000.50",
        "fundingRate": "0.0001",
        "nextFundingTime": "1680681600000",
    }
    data.update(fields)
    return {
        "topic": f"tickers.{symbol}",
        "type": "snapshot",
        "data": data,
        "cs": cs,
        "ts": 1_680_000_000_000 + cs,
    }


def delta(cs: int, symbol: str = "BTCUSD", **fields: str) -> dict[str, Any]:
    return {
        "topic": f"tickers.{symbol}",
        "type": "delta",
        "data": {"symbol": symbol, **fields},
        "cs": cs,
        "ts": 1_680_000_000_000 + cs,
    }


def prices(q: Quote) -> list[float]:
    return [x for x in (q.mark, q.index, q.last, q.bid, q.ask, q.funding_rate) if x is not None]


def all_sane(quotes: list[Quote]) -> bool:
    return all(math.isfinite(x) for q in quotes for x in prices(q)) and all(
        x > 1 for q in quotes for x in (q.mark, q.index, q.last, q.bid, q.ask) if x is not None
    )


async def stop(runner: FeedRunner, task: asyncio.Task[None]) -> None:
    runner.stop()
    async with asyncio.timeout(3):
        await task
    assert runner.state is FeedState.STOPPED


async def next_subscribe(conn: Conn) -> str | bytes:
    """The next subscribe frame on ``conn`` (heartbeat pings skipped)."""
    while True:
        frame = await conn.next_frame()
        if "subscribe" in str(frame):
            return frame


@pytest.mark.parametrize("field", ["markPrice", "indexPrice", "bid1Price", "lastPrice"])
async def test_bad_numbers_are_counted_and_dropped(field: str) -> None:
    async def handler(conn: Conn) -> None:
        await next_subscribe(conn)
        await conn.send(snapshot())
        cs = 100
        for value in BAD:
            cs += 1
            await conn.send(delta(cs, **{field: value}))  # refused
            cs += 1
            await conn.send(delta(cs, **{field: "30000.00"}))  # the good value is back
        await conn.send(delta(cs + 1, fundingRate="3.5"))  # 350 % per 8 h: not a rate
        await conn.send(delta(cs + 2, fundingRate="0.0002"))
        await hold_open(conn)

    quotes: list[Quote] = []
    clock = Clock()
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(make_adapter("bybit"), srv.url, ["BTCUSD"], quotes.append, now_ms=clock)
        task = asyncio.create_task(runner.run())
        await until(lambda: len(quotes) == 2 + len(BAD), what="the good quotes")
        await until(lambda: runner.counters.messages == 3 + 2 * len(BAD), what="every message")
        health = runner.health(clock.ms)
        await stop(runner, task)
    assert all_sane(quotes)
    assert health.rejected == len(BAD) + 1
    assert health.last_reject is not None
    assert health.last_reject.startswith("BTCUSD: funding_rate=3.5")
    assert quotes[-1].funding_rate == 0.0002


async def test_a_symbol_fed_only_bad_data_goes_stale() -> None:
    clock = Clock()

    async def handler(conn: Conn) -> None:
        await next_subscribe(conn)
        await conn.send(snapshot("BTCUSD"))
        for n, value in enumerate(BAD):
            await conn.send(snapshot("ETHUSD", cs=200 + n, markPrice=value, indexPrice=value))
        await hold_open(conn)

    quotes: list[Quote] = []
    stale: list[tuple[str, bool]] = []
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"),
            srv.url,
            ["BTCUSD", "ETHUSD"],
            quotes.append,
            now_ms=clock,
            stale_after_ms=5_000,
            stale_check_s=3600,  # checked by hand below
            on_stale=lambda s, is_stale, ms: stale.append((s, is_stale)),
        )
        task = asyncio.create_task(runner.run())
        await until(lambda: runner.counters.messages == 1 + len(BAD), what="every message")
        clock.ms += 5_001
        # BTCUSD has a good quote 5001 ms old too: refresh it so that only ETHUSD is stale.
        runner.check_stale(clock.ms)
        health = runner.health(clock.ms)
        await stop(runner, task)
    assert [q.symbol for q in quotes] == ["BTCUSD"]
    assert ("ETHUSD", True) in stale
    assert "ETHUSD" in health.stale_symbols
    assert health.rejected == len(BAD)


async def test_a_flood_of_bad_frames_is_counted_and_the_feed_goes_on() -> None:
    flood = 3_000

    async def handler(conn: Conn) -> None:
        await next_subscribe(conn)
        await conn.send(snapshot())
        for n in range(flood):
            await conn.send(delta(101 + n, markPrice=BAD[n % len(BAD)]))
        await conn.send(delta(101 + flood, markPrice="30010.00"))
        await hold_open(conn)

    quotes: list[Quote] = []
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(make_adapter("bybit"), srv.url, ["BTCUSD"], quotes.append)
        task = asyncio.create_task(runner.run())
        await until(lambda: len(quotes) == 2, timeout=30, what="the quote after the flood")
        await stop(runner, task)
    assert all_sane(quotes)
    assert quotes[-1].mark == 30010.0
    assert runner.counters.rejected == flood
    assert runner.counters.reconnects == 0


async def test_deribit_bad_numbers_and_funding_cap() -> None:
    def ticker(ts: int, **fields: float) -> dict[str, Any]:
        data = {
            "instrument_name": "BTC-PERPETUAL",
            "timestamp": ts,
            "mark_price": 30000.0,
            "index_price": 30001.0,
            "last_price": 30000.5,
            "best_bid_price": 30000.0,
            "best_ask_price": 30000.5,
            "funding_8h": 0.0001,
        }
        data.update(fields)
        return {
            "jsonrpc": "2.0",
            "method": "subscription",
            "params": {"channel": "ticker.BTC-PERPETUAL.100ms", "data": data},
        }

    async def handler(conn: Conn) -> None:
        await next_subscribe(conn)
        await conn.send(ticker(1))
        await conn.send(ticker(2, mark_price=-5.0))
        await conn.send(ticker(3, mark_price=0.0))
        await conn.send(ticker(4, index_price=1e-7))
        await conn.send(ticker(5, funding_8h=2.0))
        await conn.send(
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":'
            '"ticker.BTC-PERPETUAL.100ms","data":{"instrument_name":'
            '"BTC-PERPETUAL","timestamp":6,"mark_price":1e999}}}'
        )
        await conn.send(ticker(7, mark_price=30002.0))
        await hold_open(conn)

    quotes: list[Quote] = []
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(make_adapter("deribit"), srv.url, ["BTC-PERPETUAL"], quotes.append)
        task = asyncio.create_task(runner.run())
        await until(lambda: len(quotes) == 2, what="the good quotes")
        await until(lambda: runner.counters.messages >= 7, what="every message")
        await stop(runner, task)
    assert [q.mark for q in quotes] == [30000.0, 30002.0]
    assert runner.counters.rejected + runner.counters.parse_errors == 5


async def test_silence_after_subscribe_resubscribes_on_the_same_connection() -> None:
    clock = Clock()
    swallowed = asyncio.Event()

    async def handler(conn: Conn) -> None:
        await next_subscribe(conn)  # swallowed: the server is stalled
        swallowed.set()
        await next_subscribe(conn)  # sent again: now it answers
        await conn.send(snapshot())
        await hold_open(conn)

    quotes: list[Quote] = []
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"),
            srv.url,
            ["BTCUSD"],
            quotes.append,
            now_ms=clock,
            stale_check_s=0.005,
            subscribe_deadline_ms=10_000,
        )
        task = asyncio.create_task(runner.run())
        await swallowed.wait()
        await until(lambda: runner.state is FeedState.LIVE, what="connected")
        clock.ms += 10_000
        await until(lambda: len(quotes) == 1, what="data after subscribing again")
        await stop(runner, task)
    assert runner.counters.resubscribes == 1
    assert runner.counters.reconnects == 0
    assert srv.connections == 1


async def test_silence_after_resubscribe_recycles_the_socket() -> None:
    clock = Clock()
    resent = asyncio.Event()

    async def handler(conn: Conn) -> None:
        await next_subscribe(conn)
        if conn.index == 0:  # stalled: swallows both, keeps answering pings
            await next_subscribe(conn)
            resent.set()
            await hold_open(conn)
            return
        await conn.send(snapshot())
        await hold_open(conn)

    quotes: list[Quote] = []
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"),
            srv.url,
            ["BTCUSD"],
            quotes.append,
            now_ms=clock,
            stale_check_s=0.005,
            subscribe_deadline_ms=10_000,
            backoff_initial_s=0.01,
        )
        task = asyncio.create_task(runner.run())
        await until(lambda: runner.state is FeedState.LIVE, what="connected")
        clock.ms += 10_000
        await resent.wait()
        clock.ms += 10_000
        await until(lambda: len(quotes) == 1, what="data on a new connection")
        await stop(runner, task)
    assert runner.counters.resubscribes == 1
    assert runner.counters.reconnects == 1
    assert srv.connections == 2
    assert runner.last_error is not None
    assert "no data for BTCUSD" in runner.last_error
    assert "closed by us" in runner.last_error


async def test_refused_subscription_is_counted_and_not_waited_for() -> None:
    clock = Clock()

    async def handler(conn: Conn) -> None:
        await next_subscribe(conn)
        await conn.send(
            {
                "success": False,
                "ret_msg": "Invalid symbol :[tickers.BTCUSDX]",
                "conn_id": "c1",
                "op": "subscribe",
            }
        )
        await hold_open(conn)

    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"),
            srv.url,
            ["BTCUSDX"],
            lambda q: None,
            now_ms=clock,
            stale_check_s=3600,  # the watchdog is stepped by hand
        )
        task = asyncio.create_task(runner.run())
        await until(lambda: runner.counters.messages == 1, what="the refusal")
        for _ in range(3):
            clock.ms += 10_000
            await runner.watch_subscriptions(clock.ms)
        health = runner.health(clock.ms)
        await stop(runner, task)
    assert health.sub_errors == 1
    assert health.resubscribes == 0
    assert runner.counters.reconnects == 0
    assert runner.counters.ignored == 0  # counted as an error reply, not as noise
    assert "Invalid symbol" in (runner.adapter.last_error or "")


async def test_reordered_and_repeated_messages_are_dropped_before_merging() -> None:
    async def handler(conn: Conn) -> None:
        await next_subscribe(conn)
        await conn.send(snapshot(cs=100))
        await conn.send(delta(102, markPrice="30010.00"))
        await conn.send(delta(101, markPrice="30005.00"))  # older: must not overwrite
        await conn.send(delta(102, markPrice="30010.00"))  # exact repeat
        await conn.send(delta(103, bid1Price="30009.00"))
        await hold_open(conn)

    quotes: list[Quote] = []
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(make_adapter("bybit"), srv.url, ["BTCUSD"], quotes.append)
        task = asyncio.create_task(runner.run())
        await until(lambda: len(quotes) == 3, what="three quotes")
        await until(lambda: runner.counters.messages == 5, what="every message")
        health = runner.health(0)
        await stop(runner, task)
    assert [q.mark for q in quotes] == [30000.0, 30010.0, 30010.0]
    assert quotes[-1].bid == 30009.0
    stamps = [q.exchange_ms or 0 for q in quotes]
    assert stamps == sorted(stamps)
    assert (health.out_of_order, health.duplicates, health.ignored) == (1, 1, 0)


async def test_deribit_out_of_order_by_exchange_time() -> None:
    def ticker(ts: int, mark: float) -> str:
        return json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "subscription",
                "params": {
                    "channel": "ticker.BTC-PERPETUAL.100ms",
                    "data": {
                        "instrument_name": "BTC-PERPETUAL",
                        "timestamp": ts,
                        "mark_price": mark,
                    },
                },
            }
        )

    async def handler(conn: Conn) -> None:
        await next_subscribe(conn)
        for ts, mark in ((1000, 30000.0), (1200, 30002.0), (1100, 30001.0), (1200, 30002.0)):
            await conn.send(ticker(ts, mark))
        await conn.send(ticker(1300, 30003.0))
        await hold_open(conn)

    quotes: list[Quote] = []
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(make_adapter("deribit"), srv.url, ["BTC-PERPETUAL"], quotes.append)
        task = asyncio.create_task(runner.run())
        await until(lambda: len(quotes) == 3, what="three quotes")
        health = runner.health(0)
        await stop(runner, task)
    assert [q.exchange_ms for q in quotes] == [1000, 1200, 1300]
    assert (health.out_of_order, health.duplicates) == (1, 1)


async def test_oversize_frame_is_reported_as_closed_by_us() -> None:
    async def handler(conn: Conn) -> None:
        await next_subscribe(conn)
        if conn.index == 0:
            await conn.send('{"topic":"x","pad":"' + "x" * (9 * 2**20) + '"}')
        await hold_open(conn)

    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"), srv.url, ["BTCUSD"], lambda q: None, backoff_initial_s=0.01
        )
        task = asyncio.create_task(runner.run())
        await until(lambda: runner.counters.reconnects >= 1, timeout=10, what="the cut")
        error = runner.last_error
        await stop(runner, task)
    assert error == "frame over the 8 MB limit, closed by us"
    assert runner.counters.oversize == 1
