"""Real orders on the dashboard: a live preview says REAL ORDER, ignores enter and sends only on
``Y``; outcomes are reported; a closed gate or --read-only disables it all; paper unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.widgets import Static
from tui_fakes import FakeTrader, ScriptedSource, portfolio

from core.brokers.ccxt_live import OrderFailed, OrderResult
from core.engine import ResizePlan
from core.session import LiveOrder
from tui.app import HedgetopApp
from tui.screens.preview import PreviewScreen
from tui.widgets.panes import TextPane

ROOT = Path(__file__).resolve().parents[2]


class FakeLiveTrader(FakeTrader):
    """A trader that sends 'real' orders: ``execute_live`` fills ``fill_ratio`` of the plan
    through the scripted trader, or raises ``fail``; the paper ``execute`` must never run."""

    live_trading = True

    def __init__(
        self, source: ScriptedSource, *, fill_ratio: float = 1.0, fail: str | None = None
    ) -> None:
        super().__init__(source)
        self.fill_ratio = fill_ratio
        self.fail = fail
        self.live_calls: list[tuple[ResizePlan, bool]] = []
        self.paper_calls = 0
        self.answered = asyncio.Event()
        self.sent = asyncio.Event()
        self.hold: asyncio.Event | None = None  # set: the venue answers

    def execute(self, plan: ResizePlan) -> Any:
        self.paper_calls += 1
        raise AssertionError("paper execute in a live session")

    async def execute_live(self, plan: ResizePlan, *, confirmed: bool) -> LiveOrder:
        self.live_calls.append((plan, confirmed))
        self.sent.set()
        if self.hold is not None:
            await self.hold.wait()
        try:
            if self.fail:
                raise OrderFailed(self.fail)
            filled = int(plan.contracts * self.fill_ratio)
            status = "filled" if filled == plan.contracts else "partial"
            msg = f"order {status} on {plan.venue}: {filled:,} of {plan.contracts:,} contracts"
            fill = None
            if filled:
                part = ResizePlan(
                    **{
                        **{f: getattr(plan, f) for f in ResizePlan.__dataclass_fields__},
                        "contracts": filled,
                        "contracts_after": plan.contracts_before
                        + (filled if plan.contracts_after > plan.contracts_before else -filled),
                    }
                )
                fill = FakeTrader.execute(self, part)
            result = OrderResult(
                venue=plan.venue,
                symbol=f"{plan.coin}/USD:{plan.coin}",
                client_order_id="ht1",
                order_id="o1",
                status=status,
                requested_contracts=plan.contracts,
                filled_contracts=filled,
                average_price=plan.expected_price,
                fee_coin=None,
                message=msg,
            )
            return LiveOrder(result=result, fill=fill, message=msg, problem=status != "filled")
        finally:
            self.answered.set()


def make_app(tmp_path: Path, source: ScriptedSource, trader: Any, **kw: Any) -> HedgetopApp:
    return HedgetopApp(
        source,
        trader=trader,
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
        refresh_hz=4,
        **kw,
    )


def screen_text(app: HedgetopApp) -> str:
    return "\n".join(s.text for s in app.screen._compositor.render_strips())


def messages(app: HedgetopApp) -> list[str]:
    return [n.message for n in app._notifications]


async def settle(app: HedgetopApp, trader: FakeLiveTrader) -> None:
    await asyncio.wait_for(trader.answered.wait(), 5.0)
    await app.workers.wait_for_complete()


async def test_live_preview_needs_the_distinct_key(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeLiveTrader(source)
    app = make_app(tmp_path, source, trader)
    fills = trader.fills  # what the trader filled (and recorded: the session's listeners)
    async with app.run_test(size=(110, 32)) as pilot:
        app.tick()
        await pilot.pause()
        assert "LIVE TRADING" in screen_text(app)
        await pilot.press("plus")
        assert isinstance(app.screen, PreviewScreen)
        warning = str(app.screen.query_one("#preview-live", Static).render())
        assert "REAL ORDER on bybit" in warning
        assert "REAL ORDER on bybit" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PreviewScreen)  # enter alone sends nothing
        assert trader.live_calls == []
        assert any("enter does not send a REAL order" in m for m in messages(app))
        await pilot.press("Y")
        await settle(app, trader)
        assert not isinstance(app.screen, PreviewScreen)
        assert len(trader.live_calls) == 1
        plan, confirmed = trader.live_calls[0]
        assert confirmed is True
        assert plan.contracts == 3_000
        assert trader.paper_calls == 0
        assert fills[0].contracts_after == 53_000
        assert not app.order_in_flight
        assert app.order_note is None
        assert any("order filled" in m for m in messages(app))


async def test_escape_cancels_a_live_preview(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeLiveTrader(source)
    app = make_app(tmp_path, source, trader)
    async with app.run_test(size=(110, 32)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("question_mark")
        assert "resizes send REAL orders" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("0")
        assert isinstance(app.screen, PreviewScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PreviewScreen)
        await pilot.press("Y")  # outside the preview: nothing
        await pilot.pause()
        assert trader.live_calls == []
        assert any("nothing was sent" in m for m in messages(app))


async def test_partial_fill_and_failure_reach_the_alerts_area(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeLiveTrader(source, fill_ratio=0.4)
    app = make_app(tmp_path, source, trader)
    async with app.run_test(size=(110, 32)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("plus")
        await pilot.press("Y")
        await settle(app, trader)
        alerts = app.screen.query_one("#alerts", TextPane).text
        assert "1,200 of 3,000" in alerts
        trader.fail = "insufficient margin on bybit for sell 3000 BTC/USD:BTC on bybit"
        trader.answered.clear()
        await pilot.press("minus")
        assert isinstance(app.screen, PreviewScreen)
        await pilot.press("Y")
        await settle(app, trader)
        assert not isinstance(app.screen, PreviewScreen)
        await pilot.pause()
        alerts = app.screen.query_one("#alerts", TextPane).text
        assert "order failed: insufficient margin on bybit" in alerts
        assert "order failed: insufficient margin" in screen_text(app)
        assert len(trader.live_calls) == 2


async def test_read_only_and_closed_gates_disable_live_trading(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeLiveTrader(source)
    app = make_app(tmp_path, source, trader, read_only=True)
    async with app.run_test(size=(110, 32)) as pilot:
        app.tick()
        await pilot.pause()
        assert not app.live_trading
        assert "LIVE TRADING" not in screen_text(app)
        await pilot.press("plus")
        assert not isinstance(app.screen, PreviewScreen)
    gated = FakeTrader(source)
    gated.trading_refusal = "live trading needs [broker] trading_enabled = true in the config"  # type: ignore[attr-defined]
    app2 = make_app(tmp_path, source, gated)
    async with app2.run_test(size=(110, 32)) as pilot:
        app2.tick()
        await pilot.pause()
        assert app2.read_only
        await pilot.press("plus")
        assert not isinstance(app2.screen, PreviewScreen)
        assert gated.plans == []
        assert any("trading_enabled = true" in m for m in messages(app2))


async def test_paper_preview_ignores_the_live_key(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source)
    app = make_app(tmp_path, source, trader)
    async with app.run_test(size=(110, 32)) as pilot:
        app.tick()
        await pilot.pause()
        assert "LIVE TRADING" not in screen_text(app)
        await pilot.press("plus")
        assert isinstance(app.screen, PreviewScreen)
        assert "REAL ORDER" not in screen_text(app)
        await pilot.press("Y")
        await pilot.pause()
        assert isinstance(app.screen, PreviewScreen)
        assert trader.executed == []
        await pilot.press("enter")
        assert len(trader.executed) == 1


async def test_one_order_at_a_time_and_quit_warns_while_it_is_out(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeLiveTrader(source)
    trader.hold = asyncio.Event()
    app = make_app(tmp_path, source, trader)
    async with app.run_test(size=(110, 32)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("plus")
        await pilot.press("Y")
        await asyncio.wait_for(trader.sent.wait(), 5.0)
        assert app.order_in_flight
        await pilot.press("minus")  # no second order while the first is out
        assert not isinstance(app.screen, PreviewScreen)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running  # warned, not quit
        assert any("REAL order is on its way" in m for m in messages(app))
        trader.hold.set()
        await settle(app, trader)
        assert not app.order_in_flight
        assert len(trader.live_calls) == 1
