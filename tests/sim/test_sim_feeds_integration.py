"""The unchanged feed adapters and runner against the simulator on loopback, one fault at a
time: reconnects happen with backoff, stale is raised and cleared, garbage is counted,
nothing crashes. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from core.events import FeedState, Quote
from core.feeds import make_adapter
from core.feeds.runner import FeedRunner
from core.sim import SimExchange, parse_chaos

TIMEOUT = 8.0

SYMBOLS = {
    ("bybit", "inverse"): ["BTCUSD", "ETHUSD"],
    ("bybit", "spot"): ["BTCUSDT", "ETHUSDT"],
    ("binance", "inverse"): ["BTCUSD_PERP", "ETHUSD_PERP"],
    ("binance", "spot"): ["BTCUSDT", "ETHUSDT"],
}


async def until(pred: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Wait (bounded) for a condition that callbacks of the runner make true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.01)


class Feed:
    """One FeedRunner on one simulated socket, with everything it reported."""

    def __init__(self, ex: SimExchange, url: str, key: tuple[str, str], **kw: Any) -> None:
        self.quotes: list[Quote] = []
        self.stale_events: list[tuple[str, bool]] = []
        kw.setdefault("backoff_initial_s", 0.05)
        kw.setdefault("backoff_max_s", 0.4)
        kw.setdefault("stale_check_s", 0.02)
        self.runner = FeedRunner(
            make_adapter(*key),
            url,
            SYMBOLS[key],
            self.quotes.append,
            now_ms=ex.now_ms,
            on_stale=lambda s, stale, _now: self.stale_events.append((s, stale)),
            rng=random.Random(3),
            **kw,
        )
        self.task: asyncio.Task[None] | None = None

    def symbols_seen(self) -> set[str]:
        return {q.symbol for q in self.quotes}


@pytest.fixture
async def feeds() -> AsyncIterator[Callable[..., Feed]]:
    made: list[Feed] = []

    def start(ex: SimExchange, key: tuple[str, str], url: str | None = None, **kw: Any) -> Feed:
        f = Feed(ex, url or ex.urls[key], key, **kw)
        f.task = asyncio.create_task(f.runner.run())
        made.append(f)
        return f

    yield start
    for f in made:
        f.runner.stop()
    for f in made:
        assert f.task is not None
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(f.task, TIMEOUT)
        assert f.runner.state == FeedState.STOPPED


async def test_all_four_sockets_deliver_full_quotes(make_sim: Any, feeds: Any) -> None:
    ex, _ = await make_sim()
    fs = {key: feeds(ex, key) for key in SYMBOLS}
    for key, f in fs.items():
        await until(lambda f=f, key=key: f.symbols_seen() == set(SYMBOLS[key]), f"quotes {key}")
    for f in fs.values():
        h = f.runner.health(ex.now_ms())
        assert h.parse_errors == 0
        assert h.reconnects == 0
        assert h.state == FeedState.LIVE
    perp = fs[("bybit", "inverse")].quotes[-1]
    for field in ("mark", "index", "last", "bid", "ask", "funding_rate", "next_funding_ms"):
        assert getattr(perp, field) is not None, field
    assert perp.next_funding_ms is not None
    assert perp.next_funding_ms > ex.now_ms()
    coinm = fs[("binance", "inverse")].quotes[-1]
    assert coinm.mark is not None
    assert coinm.index is not None
    assert coinm.funding_rate is not None
    # The quotes carry the simulator's prices.
    btc = [q for q in fs[("bybit", "inverse")].quotes if q.symbol == "BTCUSD"][-1]
    assert btc.index == pytest.approx(ex.price("BTC"), rel=0.01)


async def test_drop_reconnects_with_backoff_and_resumes(make_sim: Any, feeds: Any) -> None:
    ex, _ = await make_sim(chaos=parse_chaos("drop=0.25"))
    bybit = feeds(ex, ("bybit", "inverse"))
    binance = feeds(ex, ("binance", "inverse"))
    for f in (bybit, binance):
        await until(lambda f=f: f.runner.counters.reconnects >= 2, "two reconnects")
        n = len(f.quotes)
        await until(lambda f=f, n=n: len(f.quotes) > n + 4, "quotes after reconnect")
        assert f.runner.counters.parse_errors == 0
        for d in f.runner.delays:  # backoff: jittered, never above the cap
            assert 0.05 * 0.5 <= d <= 0.4
    # After a reconnect the Bybit adapter started from a fresh snapshot: full quotes.
    last = bybit.quotes[-1]
    assert last.mark is not None
    assert last.funding_rate is not None


async def test_backoff_grows_while_the_exchange_is_down_and_recovers(
    make_sim: Any, feeds: Any
) -> None:
    ex, urls = await make_sim()
    url = urls[("bybit", "inverse")]
    f = feeds(ex, ("bybit", "inverse"), url=url, backoff_initial_s=0.02, backoff_max_s=0.16)
    await until(lambda: len(f.quotes) > 2, "first quotes")
    await ex.stop()
    await until(lambda: len(f.runner.delays) >= 5, "five refused reconnects")
    delays = list(f.runner.delays)
    # attempt n waits min(cap, 0.02·2^n), less up to half of it for jitter
    for n, d in enumerate(delays[:5]):
        base = min(0.16, 0.02 * 2**n)
        assert base * 0.5 <= d <= base, (n, d)
    assert f.runner.state == FeedState.RECONNECTING
    # the same exchange reopens on the ports it had (a fresh one would need 8 free neighbours)
    assert (await ex.start())[("bybit", "inverse")] == url
    n = len(f.quotes)
    await until(lambda: len(f.quotes) > n + 2, "quotes after the exchange came back")
    assert f.runner.state == FeedState.LIVE
    assert ex.now_ms() > 0


async def test_a_stopped_exchange_reopens_every_server_on_the_port_it_had(
    make_sim: Any,
) -> None:
    ex, _ = await make_sim()
    before = list(ex.endpoints)
    assert len({url.rsplit(":", 1)[1].split("/")[0] for _, _, url in before}) == ex.port_count()
    await ex.stop()
    await ex.start()
    assert ex.endpoints == before


async def test_stall_raises_stale_and_clears_it_when_data_returns(
    make_sim: Any, feeds: Any
) -> None:
    ex, _ = await make_sim(chaos=parse_chaos("stall=0.3:0.6"))
    f = feeds(ex, ("binance", "inverse"), stale_after_ms=150, silence_timeout_s=None)
    await until(lambda: f.symbols_seen() == set(SYMBOLS[("binance", "inverse")]), "quotes")
    await until(lambda: ("BTCUSD_PERP", True) in f.stale_events, "BTCUSD_PERP stale")
    assert f.runner.is_stale("BTCUSD_PERP", ex.now_ms())
    await until(lambda: ("BTCUSD_PERP", False) in f.stale_events, "BTCUSD_PERP fresh again")
    assert not f.runner.is_stale("BTCUSD_PERP", ex.now_ms())
    h = f.runner.health(ex.now_ms())
    assert h.stale_periods >= 2  # both symbols went stale once
    assert h.reconnects == 0  # the socket stayed open through the stall


async def test_stall_forever_makes_the_runner_reconnect_on_silence(
    make_sim: Any, feeds: Any
) -> None:
    ex, _ = await make_sim(chaos=parse_chaos("stall=0.2"))
    f = feeds(ex, ("bybit", "inverse"), stale_after_ms=100, silence_timeout_s=0.2)
    await until(lambda: len(f.quotes) > 0, "quotes before the stall")
    await until(lambda: f.runner.counters.reconnects >= 2, "reconnects on silence")
    assert set(f.runner.health(ex.now_ms()).stale_symbols) == {"BTCUSD", "ETHUSD"}
    assert "no message" in (f.runner.last_error or "")


async def test_garbage_is_counted_and_dropped(make_sim: Any, feeds: Any) -> None:
    ex, _ = await make_sim(chaos=parse_chaos("garbage=0.2"))
    fs = [feeds(ex, key) for key in SYMBOLS]
    for f in fs:
        await until(
            lambda f=f: f.runner.counters.parse_errors >= 3 and len(f.quotes) >= 10,
            f"garbage counted on {f.runner.url}",
        )
        h = f.runner.health(ex.now_ms())
        assert h.reconnects == 0
        assert h.state == FeedState.LIVE
    assert ex.stats.garbage >= 12


async def test_reordered_and_repeated_frames_do_not_break_the_feed(
    make_sim: Any, feeds: Any
) -> None:
    ex, _ = await make_sim(chaos=parse_chaos("reorder=0.3"))
    bybit = feeds(ex, ("bybit", "inverse"))
    binance = feeds(ex, ("binance", "spot"))
    await until(lambda: ex.stats.repeated >= 3 and ex.stats.swapped >= 3, "reordering")
    for f in (bybit, binance):
        await until(lambda f=f: len(f.quotes) >= 20, "quotes")
        assert f.runner.counters.parse_errors == 0
        assert f.runner.counters.reconnects == 0
    q = bybit.quotes[-1]
    assert q.mark is not None
    assert q.bid is not None
    assert q.ask is not None
    assert q.bid < q.ask


async def test_refused_subscription_goes_stale_alone(make_sim: Any, feeds: Any) -> None:
    ex, _ = await make_sim(chaos=parse_chaos("refuse=ETH"))
    bybit = feeds(ex, ("bybit", "inverse"), stale_after_ms=200)
    binance = feeds(ex, ("binance", "inverse"), stale_after_ms=200)
    for f, eth in ((bybit, "ETHUSD"), (binance, "ETHUSD_PERP")):
        await until(lambda f=f, eth=eth: (eth, True) in f.stale_events, f"{eth} stale")
        assert eth not in f.symbols_seen()
        stale = f.runner.health(ex.now_ms()).stale_symbols
        assert stale == (eth,)
    assert "ETHUSD" in (bybit.runner.adapter.last_error or "")
