"""FeedRunner against scripted websocket servers on 127.0.0.1: reconnect with backoff,
resubscribe with state reset, staleness raised and cleared, garbage counted, heartbeats."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from feedkit import Conn, ScriptedServer, fixture_json, fixture_lines, hold_open, until

from core.events import FeedState, Quote
from core.feeds import Heartbeat, make_adapter
from core.feeds.runner import FeedRunner

BYBIT = fixture_lines("bybit-inverse-tickers.jsonl")  # snapshot, delta (BTCUSD), ...


class Clock:
    def __init__(self, ms: int = 1_000_000) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


async def stop_runner(runner: FeedRunner, task: asyncio.Task[None]) -> None:
    runner.stop()
    async with asyncio.timeout(3):
        await task
    assert runner.state is FeedState.STOPPED


def start(runner: FeedRunner) -> asyncio.Task[None]:
    return asyncio.create_task(runner.run())


async def test_quotes_flow_and_subscription_is_sent() -> None:
    async def handler(conn: Conn) -> None:
        await conn.next_frame()  # the subscription
        for line in BYBIT[:2]:
            await conn.send(line)
        await hold_open(conn)

    quotes: list[Quote] = []
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(make_adapter("bybit"), srv.url, ["btcusd"], quotes.append)
        task = start(runner)
        await until(lambda: len(quotes) == 2, what="two quotes")
        sub = json.loads(srv.received[0][1])
        assert sub == {"op": "subscribe", "args": ["tickers.BTCUSD"]}
        h = runner.health(runner.last_message_ms or 0)
        assert (h.state, h.messages, h.quotes, h.parse_errors) == (FeedState.LIVE, 2, 2, 0)
        # The dated future in the recording is not subscribed: filtered out.
        await stop_runner(runner, task)


async def test_reconnect_with_capped_exponential_backoff() -> None:
    async def handler(conn: Conn) -> None:
        await conn.next_frame()  # subscription, then drop without sending anything

    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"),
            srv.url,
            ["BTCUSD"],
            lambda q: None,
            backoff_initial_s=0.01,
            backoff_factor=2.0,
            backoff_max_s=0.04,
            jitter=0.5,
            rng=random.Random(3),
        )
        task = start(runner)
        await until(lambda: runner.counters.reconnects >= 5, what="5 reconnects")
        await stop_runner(runner, task)
    delays = list(runner.delays)[:5]
    for n, d in enumerate(delays):
        cap = min(0.04, 0.01 * 2**n)
        assert cap * 0.5 <= d <= cap, (n, d)
    assert max(delays) <= 0.04
    # Every connection subscribed again.
    subs = [i for i, frame in srv.received if "subscribe" in str(frame)]
    assert len(set(subs)) >= 5


async def test_backoff_resets_after_a_connection_that_delivered() -> None:
    async def handler(conn: Conn) -> None:
        await conn.next_frame()
        await conn.send(BYBIT[0])  # one quote, then drop

    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"),
            srv.url,
            ["BTCUSD"],
            lambda q: None,
            backoff_initial_s=0.01,
            backoff_max_s=10.0,
            jitter=0.0,
        )
        task = start(runner)
        await until(lambda: runner.counters.reconnects >= 4, what="4 reconnects")
        await stop_runner(runner, task)
    assert list(runner.delays)[:4] == [0.01] * 4


async def test_reconnect_resets_bybit_merge_state() -> None:
    snapshot, delta = fixture_json("bybit-inverse-tickers.jsonl")[:2]

    async def handler(conn: Conn) -> None:
        await conn.next_frame()
        if conn.index == 0:
            await conn.send(snapshot)
            return  # drop
        # New connection: a stray delta before the snapshot must not merge into old state.
        await conn.send(delta)
        fresh = json.loads(json.dumps(snapshot))
        fresh["data"]["markPrice"] = "30000.00"
        fresh["data"]["lastPrice"] = ""
        await conn.send(fresh)
        await hold_open(conn)

    quotes: list[Quote] = []
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"), srv.url, ["BTCUSD"], quotes.append, backoff_initial_s=0.01
        )
        task = start(runner)
        await until(lambda: len(quotes) == 2, what="quotes from both connections")
        await stop_runner(runner, task)
    assert runner.counters.reconnects == 1
    assert runner.counters.ignored == 1  # the orphan delta
    assert quotes[0].mark == float(snapshot["data"]["markPrice"])
    assert quotes[1].mark == 30000.0
    assert quotes[1].last is None  # not carried over from the first connection


async def test_stale_raised_and_cleared() -> None:
    clock = Clock()
    events: list[tuple[str, bool, int]] = []
    send_again = asyncio.Event()

    async def handler(conn: Conn) -> None:
        await conn.next_frame()
        await conn.send(BYBIT[0])
        await send_again.wait()
        await conn.send(BYBIT[1])
        await hold_open(conn)

    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"),
            srv.url,
            ["BTCUSD"],
            lambda q: None,
            stale_after_ms=5_000,
            now_ms=clock,
            stale_check_s=0.005,
            on_stale=lambda s, stale, ms: events.append((s, stale, ms)),
        )
        task = start(runner)
        await until(lambda: runner.counters.quotes == 1, what="first quote")
        assert not runner.is_stale("BTCUSD", clock.ms)
        clock.ms += 5_001
        await until(lambda: len(events) == 1, what="stale flag")
        assert events[0] == ("BTCUSD", True, clock.ms)
        assert runner.is_stale("BTCUSD", clock.ms)
        assert runner.health(clock.ms).stale_symbols == ("BTCUSD",)
        send_again.set()
        await until(lambda: len(events) == 2, what="stale cleared")
        assert events[1] == ("BTCUSD", False, clock.ms)
        assert runner.health(clock.ms).stale_symbols == ()
        assert runner.counters.stale_periods == 1
        await stop_runner(runner, task)


async def test_never_seen_symbol_goes_stale() -> None:
    clock = Clock()
    async with ScriptedServer(hold_open).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"), srv.url, ["ETHUSD"], lambda q: None, now_ms=clock
        )
        task = start(runner)
        await until(lambda: runner.state is FeedState.LIVE, what="connected")
        assert not runner.is_stale("ETHUSD", clock.ms)
        runner.check_stale(clock.ms + runner.stale_after_ms + 1)
        assert runner.counters.stale_periods == 1
        runner.check_stale(clock.ms + runner.stale_after_ms + 2)  # still the same period
        assert runner.counters.stale_periods == 1
        await stop_runner(runner, task)


async def test_garbage_is_counted_and_the_feed_goes_on() -> None:
    async def handler(conn: Conn) -> None:
        await conn.next_frame()
        await conn.send("not json at all")
        await conn.ws.send(b"\xff\xfe binary junk")
        await conn.send('{"topic":"tickers.BTCUSD","type":"snapshot","data":[1,2]}')
        await conn.send('{"topic":"tickers.BTCUSD","type":"snapshot","data":{"markPrice":[5]}}')
        await conn.send({"success": True, "op": "subscribe"})
        await conn.send(BYBIT[0])
        await hold_open(conn)

    quotes: list[Quote] = []
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(make_adapter("bybit"), srv.url, ["BTCUSD"], quotes.append)
        task = start(runner)
        await until(lambda: len(quotes) == 1, what="the good quote")
        c = runner.counters
        assert (c.messages, c.parse_errors, c.ignored, c.reconnects) == (6, 3, 2, 0)
        assert runner.state is FeedState.LIVE
        await stop_runner(runner, task)


async def test_consumer_error_does_not_kill_the_feed() -> None:
    async def handler(conn: Conn) -> None:
        await conn.next_frame()
        await conn.send(BYBIT[0])
        await conn.send(BYBIT[1])
        await hold_open(conn)

    def boom(q: Quote) -> None:
        raise RuntimeError("consumer bug")

    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(make_adapter("bybit"), srv.url, ["BTCUSD"], boom)
        task = start(runner)
        await until(lambda: runner.counters.quotes == 2, what="both quotes")
        assert runner.callback_errors == 2
        assert runner.counters.parse_errors == 0
        await stop_runner(runner, task)


async def test_deribit_test_request_is_answered() -> None:
    async def handler(conn: Conn) -> None:
        first = json.loads(await conn.next_frame())
        assert first["method"] == "public/set_heartbeat"
        second = json.loads(await conn.next_frame())
        assert second["params"]["channels"] == ["ticker.BTC-PERPETUAL.100ms"]
        await conn.send({"jsonrpc": "2.0", "id": second["id"], "result": ["x"]})
        await conn.send(
            {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
        )
        await hold_open(conn)

    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(make_adapter("deribit"), srv.url, ["BTC-PERPETUAL"], lambda q: None)
        task = start(runner)
        await until(
            lambda: any('"public/test"' in str(f) for _, f in srv.received), what="public/test"
        )
        assert runner.counters.ignored == 2
        await stop_runner(runner, task)


async def test_bybit_ping_is_sent_periodically() -> None:
    async def handler(conn: Conn) -> None:
        await conn.next_frame()
        while True:  # keep the connection busy: Bybit pings regardless
            await conn.send(BYBIT[1])
            frame = await conn.next_frame()
            if frame == '{"op":"ping"}':
                await conn.send({"success": True, "ret_msg": "pong", "op": "ping"})
                await hold_open(conn)
                return

    adapter = make_adapter("bybit")
    adapter.heartbeat = Heartbeat('{"op":"ping"}', 0.02)
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(adapter, srv.url, ["BTCUSD"], lambda q: None)
        task = start(runner)
        await until(lambda: any(f == '{"op":"ping"}' for _, f in srv.received), what="ping")
        await stop_runner(runner, task)


async def test_okx_pings_only_when_idle_and_pong_is_ignored() -> None:
    async def handler(conn: Conn) -> None:
        await conn.next_frame()  # subscribe
        frame = await conn.next_frame()
        assert frame == "ping"
        await conn.send("pong")
        await hold_open(conn)

    adapter = make_adapter("okx")
    adapter.heartbeat = Heartbeat("ping", 0.02, only_when_idle=True)
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(adapter, srv.url, ["BTC-USD-SWAP"], lambda q: None)
        task = start(runner)
        await until(lambda: runner.counters.messages == 1, what="pong")
        assert runner.counters.ignored == 1
        assert runner.counters.parse_errors == 0
        await stop_runner(runner, task)


async def test_silent_connection_is_replaced() -> None:
    async def handler(conn: Conn) -> None:
        await conn.next_frame()
        if conn.index > 0:
            await conn.send(BYBIT[0])
        await hold_open(conn)  # the first connection stalls: accepts, sends nothing

    quotes: list[Quote] = []
    adapter = make_adapter("bybit")
    adapter.heartbeat = None
    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            adapter,
            srv.url,
            ["BTCUSD"],
            quotes.append,
            silence_timeout_s=0.05,
            backoff_initial_s=0.01,
        )
        task = start(runner)
        await until(lambda: len(quotes) == 1, what="a quote from the second connection")
        assert runner.counters.reconnects == 1
        assert runner.last_error is not None
        assert "no message" in runner.last_error
        await stop_runner(runner, task)


async def test_unreachable_server_keeps_retrying_and_stops_promptly() -> None:
    async with ScriptedServer(hold_open).running() as srv:
        url = srv.url  # the port is closed once the server has gone
    runner = FeedRunner(
        make_adapter("bybit"),
        url,
        ["BTCUSD"],
        lambda q: None,
        backoff_initial_s=0.005,
        backoff_max_s=0.01,
    )
    task = start(runner)
    await until(lambda: runner.counters.reconnects >= 3, what="retries")
    assert runner.state is FeedState.RECONNECTING
    assert runner.last_error is not None
    await stop_runner(runner, task)


async def test_invalid_url_is_an_error() -> None:
    runner = FeedRunner(make_adapter("bybit"), "http:/nowhere", ["BTCUSD"], lambda q: None)
    with pytest.raises(ValueError, match="invalid feed URL"):
        async with asyncio.timeout(3):
            await runner.run()


async def test_one_bad_feed_does_not_stop_another() -> None:
    async def bad(conn: Conn) -> None:
        await conn.next_frame()
        for _ in range(50):
            await conn.send("}{ garbage")
        # and then drop

    async def good(conn: Conn) -> None:
        await conn.next_frame()
        for line in fixture_lines("bybit-linear-tickers.jsonl")[:50]:
            await conn.send(line)
        await hold_open(conn)

    quotes: list[Quote] = []
    async with ScriptedServer(bad).running() as s1, ScriptedServer(good).running() as s2:
        r1 = FeedRunner(
            make_adapter("bybit"), s1.url, ["BTCUSDT"], quotes.append, backoff_initial_s=0.01
        )
        r2 = FeedRunner(make_adapter("bybit"), s2.url, ["BTCUSDT", "ETHUSDT"], quotes.append)
        t1, t2 = start(r1), start(r2)
        await until(lambda: r2.counters.messages == 50, what="the good feed's messages")
        await until(lambda: r1.counters.parse_errors >= 50, what="the bad feed's garbage")
        assert r2.counters.parse_errors == 0
        assert r2.state is FeedState.LIVE
        assert all(q.symbol in ("BTCUSDT", "ETHUSDT") for q in quotes)
        await stop_runner(r1, t1)
        await stop_runner(r2, t2)


async def test_failing_on_stale_does_not_stop_stale_tracking() -> None:
    clock = Clock()

    def bad(symbol: str, stale: bool, now_ms: int) -> None:
        raise RuntimeError("consumer bug")

    async with ScriptedServer(hold_open).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"),
            srv.url,
            ["BTCUSD", "ETHUSD"],
            lambda q: None,
            now_ms=clock,
            stale_after_ms=1_000,
            stale_check_s=0.005,
            on_stale=bad,
        )
        task = start(runner)
        await until(lambda: runner.state is FeedState.LIVE, what="connected")
        clock.ms += 1_001
        await until(lambda: runner.counters.stale_periods == 2, what="both symbols stale")
        assert runner.callback_errors == 2
        assert not task.done()
        await stop_runner(runner, task)


async def test_routine_cut_after_a_healthy_session_reconnects_at_once() -> None:
    async def handler(conn: Conn) -> None:
        await conn.next_frame()
        if conn.index == 0:
            await conn.send(BYBIT[0])  # a healthy session, then a routine close
        # later connections: dropped without data

    async with ScriptedServer(handler).running() as srv:
        runner = FeedRunner(
            make_adapter("bybit"),
            srv.url,
            ["BTCUSD"],
            lambda q: None,
            backoff_initial_s=0.01,
            jitter=0.0,
            healthy_session_s=0.0,
        )
        task = start(runner)
        await until(lambda: len(runner.delays) >= 3, what="three reconnects")
        await stop_runner(runner, task)
    assert list(runner.delays)[:3] == [0.0, 0.01, 0.02]
