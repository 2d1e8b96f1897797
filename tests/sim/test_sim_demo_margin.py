"""Isolated margin moved from the keyboard (issue 12 §3): the preview's liquidation price after
is the venue's formula on the new margin; on the simulator's accounts the transfer goes through
the unchanged ccxt (Bybit's v5/position/add-margin, Binance COIN-M's dapi positionMargin, not
ccxt's unified add_margin, which rounds a coin amount to whole contracts); on paper it is
recorded in the ledger and replayed after a restart."""

from __future__ import annotations

import pytest

from core.engine import Engine
from core.ledger import MemoryLedger
from core.resize import PlanRefused
from core.session import LiveSession
from core.snapshot import PortfolioSnapshot

WAIT = 30.0  # a guard against a hang, never a synchronisation


def priced(s: PortfolioSnapshot) -> bool:
    return s.total_value_usd is not None and not s.stale


def demo(ledger: MemoryLedger | None = None) -> LiveSession:
    return LiveSession(
        None, ledger=ledger, tick_ms=100, environ={}, account_interval_s=3600.0, notify=False
    )


async def test_adding_margin_on_bybit_moves_the_liquidation_away_on_the_venue_too() -> None:
    s = demo()
    assert s.accounts is not None
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        await s.accounts.read_one("demo-bybit")
        assert s.sim is not None
        before = s.sim.bybit.account.position("XRP").margin
        plan = s.plan_margin("xrp-bybit", 500.0)
        assert plan.ok, plan.refusal
        assert plan.liq_price_before is not None
        assert plan.liq_price_after is not None
        assert plan.liq_price_after > plan.liq_price_before  # a short: liquidation moves up
        assert plan.liq_distance_after_pct is not None
        assert plan.liq_distance_before_pct is not None
        assert plan.liq_distance_after_pct > plan.liq_distance_before_pct
        with pytest.raises(PlanRefused, match="move_margin_live"):
            s.move_margin(plan)  # on the venue, not on paper
        transfer = await s.move_margin_live(plan, confirmed=True)
        assert transfer.amount_coin == 500.0
        assert s.sim.bybit.account.position("XRP").margin == pytest.approx(before + 500.0)
        held = {h.id: h for h in s.engine.held()}
        assert held["xrp-bybit"].margin_coin == pytest.approx(plan.margin_after)
        await s.accounts.read_one("demo-bybit")
        hedge = s.tick().hedge("xrp-bybit")
        assert hedge is not None
        # the venue's own liquidation price, read back, agrees with the preview's
        assert hedge.exchange_liq_price == pytest.approx(plan.liq_price_after, rel=0.005)


async def test_binance_takes_the_coin_amount_not_whole_contracts() -> None:
    s = demo()
    assert s.accounts is not None
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        await s.accounts.read_one("demo-binance")
        assert s.sim is not None
        before = s.sim.binance.account.position("ADA").margin
        plan = s.plan_margin("ada-binance", 12.345)
        assert plan.ok, plan.refusal
        await s.move_margin_live(plan, confirmed=True)
        assert s.sim.binance.account.position("ADA").margin == pytest.approx(before + 12.345)
        out = s.plan_margin("ada-binance", -6.0)
        assert out.ok, out.refusal
        await s.move_margin_live(out, confirmed=True)
        assert s.sim.binance.account.position("ADA").margin == pytest.approx(before + 6.345)


async def test_taking_out_too_much_is_refused_before_anything_is_sent() -> None:
    s = demo()
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        margin = {h.id: h for h in s.engine.held()}["ada-binance"].margin_coin
        empty = s.plan_margin("ada-binance", -margin)
        assert not empty.ok
        assert empty.refusal is not None
        assert "holds" in empty.refusal
        # most of it out: the 3x short would sit past its liquidation price
        deep = s.plan_margin("ada-binance", -0.95 * margin)
        assert not deep.ok
        assert deep.refusal is not None
        assert "liquidation" in deep.refusal
        assert s.plan_margin("ada-binance", 0.0).refusal == "nothing to move"


async def test_a_paper_transfer_is_in_the_ledger_and_survives_a_restart() -> None:
    ledger = MemoryLedger()
    s = demo(ledger)
    async with s:
        await s.wait_for(priced, timeout=WAIT)
        plan = s.plan_margin("btc-okx", 0.05)
        assert plan.ok, plan.refusal
        transfer = s.move_margin(plan)
        assert transfer.broker == "paper"
        assert ledger.load_margin() == [transfer]
        after = {h.id: h for h in s.engine.held()}["btc-okx"].margin_coin
    restarted = Engine(s.config, None, ledger, s.now_ms())
    assert {h.id: h for h in restarted.held()}["btc-okx"].margin_coin == pytest.approx(after)
