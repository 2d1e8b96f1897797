"""hedgetop's own OKX and Deribit adapters (and runner) read the simulator end to end on
127.0.0.1, and every venue's quarterly future reaches its adapter as a dated Quote
(``Kind.INVERSE_FUTURE``) priced with a basis over the index, its expiry read back from the
symbol by ``core.dated``. Every wait is bounded; none synchronises."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sim_ccxt_clients import until

from core.dated import expiry_ms
from core.events import FeedState, Kind, Quote
from core.feeds import make_adapter
from core.feeds.runner import FeedRunner
from core.sim import SimExchange, parse_chaos
from core.sim.model import FUNDING_INTERVAL_MS

TIMEOUT = 8.0
MONTH_CODES = "FGHJKMNQUVXZ"


class Feed:
    def __init__(
        self, ex: SimExchange, key: tuple[str, str], symbols: Sequence[str], **kw: Any
    ) -> None:
        self.quotes: list[Quote] = []
        self.stale: list[tuple[str, bool]] = []
        self.runner = FeedRunner(
            make_adapter(*key),
            ex.urls[key],
            list(symbols),
            self.quotes.append,
            now_ms=ex.now_ms,
            on_stale=lambda s, stale, _now: self.stale.append((s, stale)),
            rng=random.Random(5),
            backoff_initial_s=0.05,
            backoff_max_s=0.4,
            stale_check_s=0.02,
            **kw,
        )
        self.task: asyncio.Task[None] | None = None

    def last(self, symbol: str) -> Quote:
        return [q for q in self.quotes if q.symbol == symbol][-1]

    def full(self, symbol: str, *fields: str) -> bool:
        """Whether a quote of ``symbol`` with every one of ``fields`` set has arrived."""
        return any(
            q.symbol == symbol and all(getattr(q, f) is not None for f in fields)
            for q in self.quotes
        )


@pytest.fixture
async def feeds() -> AsyncIterator[Callable[..., Feed]]:
    made: list[Feed] = []

    def start(ex: SimExchange, key: tuple[str, str], symbols: Sequence[str], **kw: Any) -> Feed:
        f = Feed(ex, key, symbols, **kw)
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


def _date(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def dated_symbols(expiry: int, coin: str = "BTC") -> dict[str, str]:
    """Each venue's name of ``coin``'s quarterly delivering at ``expiry``."""
    d = _date(expiry)
    return {
        "binance": f"{coin}USD_{d:%y%m%d}",
        "bybit": f"{coin}USD{MONTH_CODES[d.month - 1]}{d:%y}",
        "okx": f"{coin}-USD-{d:%y%m%d}",
        "deribit": f"{coin}-{d.day}{d.strftime('%b').upper()}{d:%y}",
    }


async def test_okx_adapter_reads_swaps_futures_spot_and_index(make_sim: Any, feeds: Any) -> None:
    ex, _ = await make_sim(coins=("BTC", "SOL"))
    fut = dated_symbols(ex.model.expiries[0])["okx"]
    symbols = ["BTC-USD-SWAP", "SOL-USD-SWAP", fut]
    f = feeds(ex, ("okx", "inverse"), symbols)
    spot = feeds(ex, ("okx", "spot"), ["BTC-USDT", "SOL-USDT"])
    fields = ("mark", "index", "last", "bid", "ask", "funding_rate", "next_funding_ms")
    for sym in symbols[:2]:
        await until(lambda sym=sym: f.full(sym, *fields), f"a full {sym} quote")
    await until(lambda: f.full(fut, "mark", "index", "last", "bid", "ask"), "the quarterly")
    await until(lambda: spot.full("SOL-USDT", "last", "bid", "ask"), "spot")
    btc = f.last("BTC-USD-SWAP")
    assert btc.kind is Kind.INVERSE_PERP
    assert btc.index == pytest.approx(ex.price("BTC"), rel=0.01)
    assert btc.funding_interval_ms == FUNDING_INTERVAL_MS
    assert btc.next_funding_ms is not None
    assert btc.next_funding_ms > ex.now_ms() - FUNDING_INTERVAL_MS
    assert spot.last("SOL-USDT").kind is Kind.SPOT
    for feed in (f, spot):
        h = feed.runner.health(ex.now_ms())
        assert h.parse_errors == 0
        assert h.reconnects == 0
        assert h.state == FeedState.LIVE
    assert f.runner.adapter.last_error is None


async def test_okx_refused_instrument_is_reported_and_goes_stale_alone(
    make_sim: Any, feeds: Any
) -> None:
    ex, _ = await make_sim(coins=("BTC", "SOL"), chaos=parse_chaos("refuse=SOL"))
    f = feeds(ex, ("okx", "inverse"), ["BTC-USD-SWAP", "SOL-USD-SWAP"], stale_after_ms=200)
    await until(lambda: ("SOL-USD-SWAP", True) in f.stale, "SOL stale")
    assert "60018" in (f.runner.adapter.last_error or "")
    assert f.runner.health(ex.now_ms()).stale_symbols == ("SOL-USD-SWAP",)


async def test_deribit_adapter_reads_perpetual_and_future_and_keeps_the_heartbeat(
    make_sim: Any, feeds: Any
) -> None:
    ex, _ = await make_sim(coins=("BTC", "ETH"))
    ex.deribit.min_heartbeat_s = 0.01
    fut = dated_symbols(ex.model.expiries[0])["deribit"]
    symbols = ["BTC-PERPETUAL", "ETH-PERPETUAL", fut]
    f = feeds(ex, ("deribit", "inverse"), symbols)
    f.runner.adapter.heartbeat_interval_s = 0.05  # type: ignore[attr-defined]
    for sym in symbols[:2]:
        await until(
            lambda sym=sym: f.full(sym, "mark", "index", "last", "bid", "ask", "funding_rate"),
            f"a full {sym} quote",
        )
    await until(lambda: f.full(fut, "mark", "index", "last", "bid", "ask"), "the future")
    perp = f.last("BTC-PERPETUAL")
    assert perp.kind is Kind.INVERSE_PERP
    assert perp.funding_interval_ms == FUNDING_INTERVAL_MS
    assert perp.next_funding_ms is None  # continuous funding
    assert perp.index == pytest.approx(ex.price("BTC"), rel=0.01)
    # the server's test_requests are answered by the adapter: the connection lives on
    conns = [c for c in ex.hub.conns if hasattr(c, "heartbeats_sent")]
    assert len(conns) == 1
    await until(lambda: conns[0].heartbeats_sent >= 4, "four heartbeats")  # type: ignore[attr-defined]
    h = f.runner.health(ex.now_ms())
    assert h.reconnects == 0
    assert h.parse_errors == 0
    assert f.runner.adapter.last_error is None


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx", "deribit"])
async def test_each_venues_quarterly_reaches_its_adapter_as_a_dated_quote(
    venue: str, make_sim: Any, feeds: Any
) -> None:
    ex, _ = await make_sim(coins=("BTC",))
    near, far = ex.model.expiries
    syms = [dated_symbols(near)[venue], dated_symbols(far)[venue]]
    f = feeds(ex, (venue, "inverse"), syms)
    for sym in syms:
        await until(lambda sym=sym: f.full(sym, "mark", "index", "bid", "ask"), f"{venue} {sym}")
    for sym, exp in zip(syms, (near, far), strict=True):
        q = f.last(sym)
        assert q.kind is Kind.INVERSE_FUTURE
        assert q.funding_rate is None
        assert expiry_ms(sym) == exp  # hedgetop reads the expiry the simulator listed
        assert q.mark is not None
        assert q.index == pytest.approx(ex.price("BTC"), rel=0.01)
        years = (exp - ex.now_ms()) / (365 * 24 * 3600 * 1000)
        # priced at the model's basis over the index (8 % a year), give or take the premium
        assert q.mark / ex.price("BTC") - 1 == pytest.approx(0.08 * years, abs=0.004)
    near_q, far_q = f.last(syms[0]), f.last(syms[1])
    assert near_q.mark is not None
    assert far_q.mark is not None
    assert far_q.mark > near_q.mark  # the longer contract carries the larger basis
    assert f.runner.counters.parse_errors == 0
