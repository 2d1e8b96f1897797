"""Issue 8 item 2 on screen: a closed live-trading gate says why in the header (e.g. orders to
the real venue priced by a simulator's feed), not only when a resize key is pressed."""

from __future__ import annotations

from pathlib import Path

from tui_fakes import FakeTrader, ScriptedSource, portfolio

from tui.app import HedgetopApp

ROOT = Path(__file__).resolve().parents[2]
# The header is one line per fact and cuts at the screen's edge: the markup check ([sic]) sits
# where a 200-column header still shows it.
WHY = (
    "live trading is off: bybit orders would go to the real bybit but its inverse feed "
    "(127.0.0.1) is a simulator [sic] (not a venue's host); the preview would be priced by "
    "other prices than the order's"
)


def _text(app: HedgetopApp) -> str:
    return "\n".join(s.text for s in app.screen._compositor.render_strips())


async def test_the_header_shows_why_live_trading_is_off(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    gated = FakeTrader(source)
    gated.trading_refusal = WHY  # type: ignore[attr-defined]
    app = HedgetopApp(
        source,
        trader=gated,
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
        refresh_hz=4,
    )
    async with app.run_test(size=(200, 40)) as pilot:
        app.tick()
        await pilot.pause()
        text = _text(app)
        assert "LIVE TRADING OFF: live trading is off: bybit orders" in text
        assert "(127.0.0.1) is a simulator [sic]" in text
        assert "[sic]" in text  # brackets shown, not taken for markup
        assert "READ-ONLY" in text


async def test_no_gate_line_without_a_refusal(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    app = HedgetopApp(
        source,
        trader=FakeTrader(source),
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
        refresh_hz=4,
    )
    async with app.run_test(size=(200, 40)) as pilot:
        app.tick()
        await pilot.pause()
        assert "LIVE TRADING OFF" not in _text(app)
