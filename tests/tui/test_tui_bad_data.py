"""The dashboard headless fed bad numbers (issue 8.1): a NaN, an infinite, a negative or an
absurd mark must not reach the screen (no "nan"/"inf" anywhere) and must not crash the app,
and the basis sparkline must survive a NaN sample."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Sparkline
from tui_fakes import T0, EngineSource, FakeTrader, ScriptedSource, portfolio

from core.demo import start_prices
from core.events import Kind, Quote
from core.snapshot import PortfolioSnapshot
from tui.app import HedgetopApp

ROOT = Path(__file__).resolve().parents[2]
NOT_A_NUMBER = re.compile(r"(?i)\b(nan|inf|infinity)\b")


def screen_text(app: HedgetopApp) -> str:
    return "\n".join(s.text for s in app.screen._compositor.render_strips())


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -5.0, 0.0])
async def test_a_bad_mark_never_reaches_the_screen(tmp_path: Path, bad: float) -> None:
    source = EngineSource(now_ms=T0)
    source.quote_all(start_prices())
    source.tick()
    app = HedgetopApp(
        source,
        trader=source,
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
    )
    async with app.run_test(size=(200, 50)) as pilot:
        app.tick()
        await pilot.pause()
        good = screen_text(app)
        for (venue, socket), symbols in source.engine.subscriptions().items():
            for symbol in symbols:
                kind = Kind.SPOT if socket == "spot" else Kind.INVERSE_PERP
                source.engine.on_quote(
                    Quote(
                        venue=venue,
                        symbol=symbol,
                        kind=kind,
                        mark=bad,
                        index=bad,
                        last=bad,
                        bid=bad,
                        ask=bad,
                        funding_rate=bad if kind is Kind.INVERSE_PERP else None,
                        received_ms=source.now,
                    )
                )
        for _ in range(3):
            source.now += 1_000
            source.tick()
            app.tick()
            await pilot.pause()
            text = screen_text(app)
            assert NOT_A_NUMBER.search(text) is None, text
        snap = source.latest
        assert snap is not None
        numbers = [snap.total_value_usd, snap.net_delta_usd]
        assert all(x is None or math.isfinite(x) for x in numbers)
        assert all(h.mark is None or (math.isfinite(h.mark) and h.mark > 0) for h in snap.hedges)
        assert good  # the screen was drawn before, too
    assert app.return_code in (None, 0)


def with_basis(snap: PortfolioSnapshot, basis: float) -> PortfolioSnapshot:
    first = replace(snap.hedges[0], basis_pct=basis)
    return replace(snap, hedges=(first, *snap.hedges[1:]))


async def test_the_basis_sparkline_survives_nan(tmp_path: Path) -> None:
    # The app's own refresh timer may render the source's first snapshot before the loop
    # below replaces it; the samples are kept one per snapshot second, so that first
    # snapshot must carry the first sample or the timer's timing decides what is kept.
    source = ScriptedSource([with_basis(portfolio(), 0.05)])
    app = HedgetopApp(
        source,
        trader=FakeTrader(source),
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
        refresh_hz=4,
    )
    async with app.run_test(size=(200, 50)) as pilot:
        for n, basis in enumerate([0.05, math.nan, 0.06, math.inf, 0.04]):
            source.latest = with_basis(portfolio(now_ms=T0 + n * 1_000), basis)
            app.tick()
            await pilot.pause()
        chart = app.screen.query_one("#basis-chart", Sparkline)
        assert list(chart.data or []) == [0.05, 0.06, 0.04]  # the bad samples are skipped
    assert app.return_code in (None, 0)
