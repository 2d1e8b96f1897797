"""The start-up heap leaves the collector's full passes at the first complete frame (a pass
over it took a frame's worth of time every few seconds) and comes back when the app exits."""

from __future__ import annotations

import gc
from pathlib import Path

from tui_fakes import FakeTrader, ScriptedSource, portfolio

from tui.app import HedgetopApp

ROOT = Path(__file__).resolve().parents[2]


async def test_heap_frozen_after_the_first_frame_and_thawed_at_exit(tmp_path: Path) -> None:
    assert gc.get_freeze_count() == 0
    source = ScriptedSource()  # no snapshot yet
    app = HedgetopApp(
        source,
        trader=FakeTrader(source),
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.first_frame_ms is None
        assert gc.get_freeze_count() == 0  # no frame with every hedge priced yet
        source.latest = portfolio()
        app.tick()
        await pilot.pause()
        assert app.first_frame_ms is not None
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
