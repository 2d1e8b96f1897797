"""LiveSession end to end on loopback: the in-process simulator, the real feed adapters and
runners, the engine, funding settlement on the accelerated clock, stale feeds and alerts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec
import pytest

from core import inverse
from core.config import parse_config
from core.events import AlertEvent, AlertState, FeedState, Fill, FundingEvent
from core.ledger import MemoryLedger
from core.session import LiveSession
from core.sim.model import Settlement
from core.snapshot import PortfolioSnapshot


def complete(s: PortfolioSnapshot) -> bool:
    return s.total_value_usd is not None and not s.stale


async def test_demo_session_runs_and_resizes() -> None:
    ledger = MemoryLedger()
    session = LiveSession(None, ledger=ledger, tick_ms=100)
    fills: list[Fill] = []
    snaps: list[PortfolioSnapshot] = []
    session.on_fill.append(fills.append)
    session.on_snapshot.append(snaps.append)
    async with session:
        assert all(url.startswith("ws://127.0.0.1:") for url in session.feed_urls().values())
        snap = await session.wait_for(complete, timeout=15)
        assert {f.state for f in snap.feeds} == {FeedState.LIVE}
        # bybit inverse, binance inverse, okx inverse, deribit inverse, bybit spot: all four
        # venues of the demo read from the simulator
        assert len(snap.feeds) == 5
        assert {f.venue for f in snap.feeds} == {"bybit", "binance", "okx", "deribit"}
        assert session.sim is not None
        for h in snap.hedges:
            assert h.mark is not None
            if h.venue == "deribit":  # continuous funding: no funding time, said so
                assert h.next_funding_ms is None
                continue
            assert h.next_funding_ms is not None
            assert h.next_funding_ms > snap.ts_ms  # on the simulator's clock
            assert h.funding_countdown_ms == h.next_funding_ms - snap.ts_ms
        btc = next(h for h in snap.holdings if h.coin == "BTC")
        assert btc.price_usd == pytest.approx(session.sim.price("BTC"), rel=0.01)
        by_id = {h.hedge_id: h for h in snap.hedges}
        # the 1x short: Bybit's maintenance margin is fixed on the entry value, so it has a
        # liquidation price, P0/mmr, far beyond 10x the mark (not None: it does have one)
        one_x = by_id["btc-bybit"]
        assert one_x.liq_price is not None
        assert one_x.entry is not None
        assert one_x.liq_price == pytest.approx(one_x.entry / 0.005, rel=0.01)
        assert one_x.liq_beyond_10x
        assert by_id["ada-binance"].liq_price is not None  # the 3x short
        # the OKX hedge resizes on the paper broker (the simulator keeps no OKX account; the
        # Bybit and Binance hedges go through ccxt: tests/sim/test_sim_demo_orders.py)
        plan = session.plan_resize("btc-okx", target_ratio=0.8)
        assert plan.ok, plan.refusal
        fill = session.execute(plan)
        assert fills == [fill]
        assert ledger.fills == [fill]
        after = await session.wait_for(lambda s: s.ts_ms >= fill.ts_ms and bool(s.recent_fills), 5)
        h = after.hedge("btc-okx")
        assert h is not None
        assert h.contracts == fill.contracts_after
        assert snaps[-1] is session.latest or snaps[-1].ts_ms <= after.ts_ms
    assert session.runners
    assert all(r.state is FeedState.STOPPED for r in session.runners)
    assert session.listener_errors == 0
    assert session.feed_errors == []


FAST = """
[[holdings]]
coin = "BTC"
amount = 1
[[hedges]]
id = "b"
venue = "bybit"
symbol = "BTCUSD"
contracts = 50000
entry = 90000
[[hedges]]
id = "n"
venue = "binance"
symbol = "BTCUSD_PERP"
contracts = 500
entry = 90000
[simulator]
enabled = true
speed = 20000
seed = 3
[feeds]
stale_after_ms = 2000
"""


async def _until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Wait until ``condition()`` holds (checked as the loop runs), bounded generously: a wait
    on state, never a sleep that paces the test."""

    async def holds() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(holds(), timeout_s)


def _quotes_at(session: LiveSession, ts_ms: int) -> Callable[[], bool]:
    """Every hedge's latest quote is the one the simulator published at ``ts_ms``."""
    keys = [(h.venue, h.symbol) for h in session.config.hedges]

    def arrived() -> bool:
        quotes = [session.engine.quote(*k) for k in keys]
        return all(q is not None and q.exchange_ms == ts_ms for q in quotes)

    return arrived


async def test_funding_is_settled_on_the_simulator_schedule() -> None:
    """Simulated time is stepped (no autostep, no tick of its own): after each step both
    feeds' quotes arrive, then one tick settles what fell due, so a loaded machine sees the
    same steps as an idle one."""
    ledger = MemoryLedger()
    session = LiveSession(
        parse_config(FAST),
        ledger=ledger,
        tick_ms=3_600_000,  # the test ticks; the loop's first tick is the only other one
        sim_interval_ms=50,
        sim_autostep=False,
    )
    sim = session.sim
    assert sim is not None
    settled: list[Settlement] = []
    sim.on_settlement = settled.append
    funding: list[FundingEvent] = []
    session.on_funding.append(funding.append)
    seen: dict[str, set[float]] = {h.id: set() for h in session.config.hedges}
    async with session:
        # every feed's connection is served (Binance pushes only on change: a step before
        # its connection is registered would never reach it)
        await _until(lambda: len(sim.hub.conns) == len(session.runners))
        for _ in range(200):  # 8 h of funding interval is ~29 steps of 1000 s
            await sim.advance(sim.step_ms)
            await _until(_quotes_at(session, sim.now_ms()))
            for h in session.config.hedges:
                q = session.engine.quote(h.venue, h.symbol)
                if q is not None and q.funding_rate is not None:
                    seen[h.id].add(q.funding_rate)
            session.tick()
            if {e.hedge_id for e in funding} == {"b", "n"}:
                break
        snap = session.latest
    assert {e.hedge_id for e in funding} == {"b", "n"}
    assert snap is not None
    assert ledger.funding == funding
    for ev in funding[:2]:
        venue_settled = [s for s in settled if s.venue == ev.venue and s.ts_ms == ev.ts_ms]
        assert len(venue_settled) == 1, "a funding event at a time the venue did not settle"
        st = venue_settled[0]
        # the rate in force before the settlement, as the venue's last quote announced it (the
        # simulator's predicted rate drifts within one 1000 s step, so the venue's settled
        # figure may differ a little: never its sign by much)
        assert ev.rate in seen[ev.hedge_id]
        assert ev.rate == pytest.approx(st.rate, abs=2e-4)
        assert ev.amount_coin == pytest.approx(
            inverse.funding_coin("short", ev.size_usd, ev.mark, ev.rate)
        )
    h = snap.hedge(funding[0].hedge_id)
    assert h is not None
    mine = [e.amount_coin for e in funding if e.hedge_id == h.hedge_id and e.ts_ms <= snap.ts_ms]
    assert h.funding_accrued_coin == pytest.approx(sum(mine))


async def test_stalled_feed_goes_stale_raises_and_clears() -> None:
    text = FAST.replace("speed = 20000", 'speed = 1\nchaos = "stall=0.5:1.5"').replace(
        "stale_after_ms = 2000", "stale_after_ms = 500"
    )
    session = LiveSession(parse_config(text), tick_ms=50, sim_interval_ms=50)
    alerts: list[AlertEvent] = []
    raised = asyncio.Event()
    cleared = asyncio.Event()

    def on_alert(ev: AlertEvent) -> None:
        alerts.append(ev)
        if ev.rule == "feed_stale":
            (raised if ev.state is AlertState.RAISED else cleared).set()

    session.on_alert.append(on_alert)
    async with session:
        await session.wait_for(complete, timeout=10)
        stale = await session.wait_for(lambda s: s.stale and s.hedges[0].mark is not None, 10)
        assert stale.hedges[0].stale
        assert stale.total_value_usd is not None  # the last values are kept, marked stale
        await asyncio.wait_for(raised.wait(), timeout=10)
        await asyncio.wait_for(cleared.wait(), timeout=15)
        await session.wait_for(complete, timeout=10)
    assert any(a.key.startswith("feed_stale:") for a in alerts)


def _shows_quotes_at(session: LiveSession, ts_ms: int) -> Callable[[PortfolioSnapshot], bool]:
    """The snapshot shows, for every hedge, the mark the simulator published at ``ts_ms``."""

    def shows(snap: PortfolioSnapshot) -> bool:
        for h in snap.hedges:
            q = session.engine.quote(h.venue, h.symbol)
            if q is None or q.exchange_ms != ts_ms or h.mark != q.mark:
                return False
        return True

    return shows


async def test_a_quote_brings_the_next_snapshot_and_a_burst_makes_one() -> None:
    """The tick comes on change: with a fixed tick of an hour, the simulator's step still
    reaches a snapshot (the loop's, not the test's), and every quote of that step is in it.
    Quotes arriving together are coalesced: a burst is one snapshot, not one per quote."""
    session = LiveSession(
        parse_config(FAST), tick_ms=3_600_000, sim_interval_ms=50, sim_autostep=False
    )
    sim = session.sim
    assert sim is not None
    async with session:
        await _until(lambda: len(sim.hub.conns) == len(session.runners))
        for _ in range(3):
            await sim.advance(sim.step_ms)
            await _until(_quotes_at(session, sim.now_ms()))
            await session.wait_for(_shows_quotes_at(session, sim.now_ms()), timeout=20)
        hedge = session.config.hedges[0]
        template = session.engine.quote(hedge.venue, hedge.symbol)
        assert template is not None
        assert template.mark is not None
        ticks, quotes = session.ticks, session.quotes
        for i in range(50):  # one burst: no await between the quotes
            session._on_quote(msgspec.structs.replace(template, mark=template.mark + i + 1))
        await _until(lambda: session.ticks > ticks)
        assert session.quotes == quotes + 50
        assert session.ticks == ticks + 1
        snap = session.latest
        assert snap is not None
        shown = snap.hedge(hedge.id)
        assert shown is not None
        assert shown.mark == template.mark + 50  # the burst's last quote is the one shown
