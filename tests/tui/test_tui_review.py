"""The review on the history screen (v): one screen that says whether the hedge earned its
keep over the range, with the variance cut and the cost decomposed (``core.review``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_fakes import ScriptedSource

from core.demo import demo_config, start_prices
from core.offline import engine_at_prices
from storage.history import open_history
from storage.recorder import Recorder
from storage.review_queries import hedge_review
from tui.app import HedgetopApp
from tui.screens.history import HistoryScreen
from tui.screens.review import ReviewScreen

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600_000


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "h.db"
    base = start_prices()
    cfg = demo_config()
    with Recorder(path, batch_interval_ms=60_000) as rec:
        for k in range(120):
            f = 1.0 + 0.03 * ((k % 30) - 15) / 15
            engine = engine_at_prices(cfg, {c: p * f for c, p in base.items()}, T0 + k * 1000)
            rec.submit_snapshot(engine.snapshot(T0 + k * 1000))
    return path


async def test_v_opens_the_review_of_the_range(tmp_path: Path, db: Path) -> None:
    with open_history(db) as hist:
        expected = hedge_review(hist, T0, T0 + 119_000)
    assert expected.variance_cut_pct is not None
    source = ScriptedSource([engine_at_prices(demo_config(), start_prices(), T0).snapshot(T0)])
    app = HedgetopApp(
        source, theme_dirs=[ROOT / "themes"], state_path=tmp_path / "s.json", history_db=db
    )
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("h")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert screen.review is not None
        assert screen.review.variance_cut_pct == pytest.approx(expected.variance_cut_pct)
        text = str(screen.query_one("#review-body").render())
        assert f"removed {expected.variance_cut_pct:.0f} % of the variance" in text
        assert "slippage against mark" in text
        assert "upside given away in rallies" in text
        await pilot.press("r")  # 24h -> 7d: still everything recorded
        assert screen.review.points == expected.points
        await pilot.press("escape")
        assert isinstance(app.screen, HistoryScreen)
