"""The demo on the real path (issue 12 §4): with no config the session reads the demo's
accounts through ccxt from the built-in simulator and sends the resizes of their hedges there
through the same ccxt broker a live session uses (the simulator's keys); hedges on venues
whose accounts the simulator does not keep (OKX, Deribit) stay on the paper broker."""

from __future__ import annotations

import pytest

from core.events import OrderRoute
from core.instruments import size_usd_from_contracts
from core.resize import PlanRefused, ResizePlan
from core.session import LiveSession
from core.snapshot import PortfolioSnapshot

WAIT = 30.0  # a guard against a hang, never a synchronisation
SECRET = "the-users-real-secret-5d1e"


def priced(s: PortfolioSnapshot) -> bool:
    return s.total_value_usd is not None and not s.stale


def demo() -> LiveSession:
    # the user's real keys are in the environment: they must never reach the simulator
    env = {"HEDGETOP_BYBIT_API_KEY": "real-key", "HEDGETOP_BYBIT_API_SECRET": SECRET}
    return LiveSession(None, tick_ms=100, environ=env, account_interval_s=3600.0, notify=False)


async def test_demo_resizes_go_through_ccxt_to_the_simulators_account() -> None:
    s = demo()
    assert s.accounts is not None
    assert s.order_route("btc-bybit") is OrderRoute.SIMULATOR
    assert s.order_route("ada-binance") is OrderRoute.SIMULATOR
    assert s.order_route("btc-okx") is OrderRoute.PAPER
    assert not s.live_trading  # no real venue is traded: no LIVE TRADING header
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        first = await s.accounts.read_one("demo-bybit")
        assert first.problem is None, first.problem
        assert first.events == ()  # the simulator was seeded from the demo
        assert s.sim is not None
        venue_pos = s.sim.bybit.account.position("BTC")
        before = venue_pos.size
        plan = s.plan_resize("btc-bybit", target_ratio=0.6)  # a 1x short: no room to grow
        assert plan.ok, plan.refusal
        with pytest.raises(PlanRefused, match="ccxt"):
            s.execute(plan)  # not the paper broker: the account would disagree at once
        outcome = await s.execute_live(plan, confirmed=True)
        assert not outcome.problem, outcome.message
        assert outcome.fill is not None
        assert outcome.fill.contracts == plan.contracts
        moved = s.sim.bybit.account.position("BTC").size - before
        sign = 1 if plan.side is not None and plan.side.value == "buy" else -1
        assert moved == sign * plan.size_usd  # Bybit counts inverse size in USD
        held = {h.id: h for h in s.engine.held()}
        assert held["btc-bybit"].contracts == plan.contracts_after
        again = await s.accounts.read_one("demo-bybit")
        # hedgetop's own order is expected: no "trade made elsewhere" is reported
        assert [e for e in again.events if e.symbol == "BTCUSD"] == []


async def test_a_binance_demo_resize_is_counted_in_contracts_there() -> None:
    s = demo()
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        assert s.accounts is not None
        await s.accounts.read_one("demo-binance")  # an order needs the position known
        assert s.sim is not None
        before = s.sim.binance.account.position("ADA").size
        plan = s.plan_resize("ada-binance", delta_contracts=-50)  # a smaller short
        assert plan.ok, plan.refusal
        outcome = await s.execute_live(plan, confirmed=True)
        assert not outcome.problem, outcome.message
        assert outcome.fill is not None
        spec = s.engine.specs()["ada-binance"]
        after = s.sim.binance.account.position("ADA").size
        assert after - before == size_usd_from_contracts(spec, 50)  # a buy of 50 x 10 USD
        # the next read agrees with the engine: the position, and the wallet too (the fee
        # and the PnL the reduction realised are both explained)
        again = await s.accounts.read_one("demo-binance")
        assert again.events == (), [e.text for e in again.events]


async def test_a_paper_hedge_of_the_demo_fills_on_the_paper_broker() -> None:
    s = demo()
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        plan = s.plan_resize("btc-okx", target_ratio=0.8)
        assert plan.ok, plan.refusal
        fill = s.execute(plan)
        assert fill.broker == "paper"
    assert all(SECRET not in n for n in s.account_notes)


async def test_a_restart_finds_the_simulators_account_where_the_ledger_left_it() -> None:
    """The demo's ledger outlives a session, the in-process simulator does not: it is seeded
    from the replayed positions, so the next session's first read reports no difference."""
    from core.ledger import MemoryLedger

    ledger = MemoryLedger()
    first = LiveSession(None, ledger=ledger, tick_ms=100, environ={}, notify=False)
    async with first:
        await first.wait_for(priced, timeout=WAIT)
        assert first.accounts is not None
        await first.accounts.read_one("demo-bybit")
        plan = first.plan_resize("btc-bybit", delta_contracts=-5_000)
        outcome = await first.execute_live(plan, confirmed=True)
        assert outcome.fill is not None, outcome.message
    second = LiveSession(
        None, ledger=ledger, tick_ms=100, environ={}, account_interval_s=3600.0, notify=False
    )
    async with second:
        assert second.accounts is not None
        read = await second.accounts.read_one("demo-bybit")
        assert read.problem is None, read.problem
        assert read.events == ()
        assert second.sim is not None
        assert second.sim.bybit.account.position("BTC").size == -plan.contracts_after


def test_config_check_says_which_hedges_trade_on_the_simulators_accounts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from tui.cli import main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no user config: the demo
    monkeypatch.chdir(str(tmp_path))
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if "on the simulator:" in ln]
    assert "btc-bybit (account demo-bybit)" in line
    assert "ada-binance (account demo-binance)" in line
    assert "btc-okx" not in line  # OKX: the simulator keeps no account there, paper


def ada_ratio(s: LiveSession) -> float:
    (ada,) = [h for h in s.tick().holdings if h.coin == "ADA"]
    assert ada.hedge_ratio is not None
    return ada.hedge_ratio


async def send_and_check_liquidation(s: LiveSession, plan: ResizePlan) -> None:
    """Send ``plan`` to the demo's Binance account, read it back: the position's liquidation
    price is the one the preview said."""
    assert s.accounts is not None
    outcome = await s.execute_live(plan, confirmed=True)
    assert not outcome.problem, outcome.message
    await s.accounts.read_one("demo-binance")
    hedge = s.tick().hedge("ada-binance")
    assert hedge is not None
    assert plan.liq_price_after is not None
    assert hedge.liq_price == pytest.approx(plan.liq_price_after, rel=0.003)


async def test_a_demo_resize_reaches_the_ratio_its_preview_said() -> None:
    """The coins of a futures wallet that back no position are exposure as much as the
    margin is: counted, an order that moves some into the position's margin leaves the
    exposure where it was, and the ratio reached is the preview's (left out, it read 93.4 %
    after a preview of 95 %)."""
    s = demo()
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        assert s.accounts is not None
        configured = ada_ratio(s)
        first = await s.accounts.read_one("demo-binance")
        assert first.problem is None, first.problem
        # the read's wallet is the configured margin, a third of it free: the same exposure
        assert ada_ratio(s) == pytest.approx(configured, abs=0.002)
        plan = s.plan_resize("ada-binance", target_ratio=0.95)
        assert plan.ok, plan.refusal
        assert plan.ratio_after == pytest.approx(0.95, abs=0.002)
        # the venue moved the new part's initial margin out of the free coins: the preview
        # said so, and its liquidation price is the one the position now has
        await send_and_check_liquidation(s, plan)
        assert ada_ratio(s) == pytest.approx(plan.ratio_after, abs=0.003)


async def test_a_demo_reduction_releases_the_closed_share_of_the_margin() -> None:
    s = demo()
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        assert s.accounts is not None
        await s.accounts.read_one("demo-binance")
        back = s.plan_resize("ada-binance", target_ratio=0.85)
        assert back.ok, back.refusal
        await send_and_check_liquidation(s, back)
        assert ada_ratio(s) == pytest.approx(0.85, abs=0.003)


async def test_a_demo_margin_transfer_moves_free_coins_and_keeps_the_ratio() -> None:
    s = demo()
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        assert s.accounts is not None
        await s.accounts.read_one("demo-binance")
        before = ada_ratio(s)
        plan = s.plan_margin("ada-binance", 100.0)
        assert plan.ok, plan.refusal
        assert plan.ratio_after == pytest.approx(before, abs=0.001)  # no coin came in
        too_much = s.plan_margin("ada-binance", 1e6)
        assert too_much.refusal is not None
        assert "futures wallet holds" in too_much.refusal


async def test_a_1x_short_with_no_free_coins_cannot_grow_and_the_preview_says_why() -> None:
    s = demo()
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        assert s.accounts is not None
        await s.accounts.read_one("demo-bybit")
        plan = s.plan_resize("btc-bybit", target_ratio=0.8)
        assert not plan.ok
        assert plan.refusal is not None
        assert "initial margin" in plan.refusal
        assert "bybit futures wallet" in plan.refusal
