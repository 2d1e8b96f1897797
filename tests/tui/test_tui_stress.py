"""The stress screen (S): the grid of the live book at move 0 is the snapshot shown on the
main screen, the exact liquidation move is a row of its own, the forecast is rate × payments,
and a price the snapshot lacks stays "—"."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable
from tui_fakes import T0, EngineSource, ScriptedSource

from core.demo import demo_config, start_prices
from core.offline import snapshot_at_prices
from tui.app import HedgetopApp
from tui.screens.stress import StressScreen
from tui.widgets import format as fmt

ROOT = Path(__file__).resolve().parents[2]


def make_app(tmp_path: Path, source: EngineSource | ScriptedSource) -> HedgetopApp:
    return HedgetopApp(source, theme_dirs=[ROOT / "themes"], state_path=tmp_path / "state.json")


async def test_stress_screen_shows_grid_liquidation_and_forecast(tmp_path: Path) -> None:
    source = EngineSource()
    prices = dict(start_prices())
    source.quote_all(prices)
    snap = source.tick()
    app = make_app(tmp_path, source)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("S")
        screen = app.screen
        assert isinstance(screen, StressScreen)
        table = screen.query_one("#stress-grid", DataTable)
        labels = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert labels[0] == "-50 %"
        now = next(i for i, label in enumerate(labels) if label.endswith("now"))
        assert str(table.get_row_at(now)[1]) == fmt.num(snap.total_value_usd, 0)
        cliff = [label for label in labels if label.endswith("liq")]
        assert screen.grid is not None
        first = screen.grid.first
        assert first is not None
        assert cliff == [f"▲{first.move_pct:+.2f} % liq"]
        liq = str(screen.query_one("#stress-liq").render())
        assert f"{first.hedge_id} at {first.move_pct:+.2f} %" in liq
        assert "no move liquidates a hedge" in liq  # shorts only: nothing on a fall
        funding = str(screen.query_one("#stress-funding").render())
        h = snap.hedges[0]
        assert h.funding_rate == pytest.approx(0.0001)
        assert fmt.compact_usd(h.size_usd * 0.0001 * 90, sign=True) in funding  # 30 d x 3
        # s: the next subject (the first holding), with its own columns
        await pilot.press("s")
        assert screen.subject == ("holding", snap.holdings[0].coin)
        assert "ratio" in [str(c.label) for c in table.columns.values()]
        await pilot.press("escape")
        assert not isinstance(app.screen, StressScreen)


async def test_unknown_prices_stay_unknown(tmp_path: Path) -> None:
    prices = dict(start_prices())
    del prices["XRP"]
    source = ScriptedSource([snapshot_at_prices(demo_config(), prices, T0)])
    app = HedgetopApp(source, theme_dirs=[ROOT / "themes"], state_path=tmp_path / "s.json")
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("S")
        table = app.screen.query_one("#stress-grid", DataTable)
        assert str(table.get_row_at(0)[1]) == fmt.DASH
