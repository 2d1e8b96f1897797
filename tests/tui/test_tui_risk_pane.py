"""The detail pane's second view (L): the linear twin of the selected hedge, its funding
forecast and a dated future when the feed carries one; L again brings the liquidation back."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_fakes import T0, EngineSource

from core.demo import start_prices
from core.events import Kind, Quote
from tui.app import HedgetopApp
from tui.widgets.risk_pane import DayOpen, dated_for, risk_markup

ROOT = Path(__file__).resolve().parents[2]


def test_day_open_is_the_first_mark_of_the_utc_day() -> None:
    source = EngineSource()
    source.quote_all(dict(start_prices()))
    snap = source.tick()
    days = DayOpen()
    days.observe(snap.ts_ms, snap.hedges)
    first = days.of(snap.hedges[0].hedge_id)
    assert first is not None
    assert first == (snap.ts_ms, snap.hedges[0].mark)
    days.observe(snap.ts_ms + 1000, [])  # later the same day: kept
    assert days.of(snap.hedges[0].hedge_id) == first
    days.observe(snap.ts_ms + 86_400_000, [])  # the next day: forgotten until seen again
    assert days.of(snap.hedges[0].hedge_id) is None


def test_dated_line_from_a_quarterly_quote() -> None:
    source = EngineSource()
    source.quote_all(dict(start_prices()))
    h = next(x for x in source.tick().hedges if x.hedge_id == "ada-binance")
    assert h.index is not None
    q = Quote(venue="binance", symbol="ADAUSD_260327", kind=Kind.INVERSE_FUTURE,
              mark=h.index * 1.01, received_ms=T0)  # fmt: skip
    vs = dated_for(h, [q], T0)
    assert vs is not None
    assert vs.dated.basis_pct == pytest.approx(1.0)
    text = risk_markup(h, dated=vs)
    assert "ADAUSD_260327" in text
    assert "a year =" in text
    assert dated_for(h, [], T0) is None
    assert "no dated future" in risk_markup(h)


async def test_l_toggles_the_detail_pane(tmp_path: Path) -> None:
    source = EngineSource()
    source.quote_all(dict(start_prices()))
    source.tick()
    app = HedgetopApp(source, theme_dirs=[ROOT / "themes"], state_path=tmp_path / "s.json")
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        liq = app.screen.query_one("#detail-liq")
        assert "Liquidation" in str(liq.render())
        await pilot.press("L")
        text = str(liq.render())
        assert "Linear" in text
        assert "USDT margin" in text
        assert "Funding at the rate now" in text
        assert "today (" in text
        await pilot.press("L")
        assert "Liquidation" in str(liq.render())
