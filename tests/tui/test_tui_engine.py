"""The dashboard over the real engine (demo portfolio) fed by a scripted feed that goes quiet:
table cells against the engine's snapshot, a resize end to end, stale data flagged."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_fakes import T0, EngineSource

from core.demo import start_prices
from tui.app import HedgetopApp
from tui.screens.preview import PreviewScreen
from tui.widgets.table import HedgeTable

ROOT = Path(__file__).resolve().parents[2]


def number(text: str) -> float:
    """Parse a table cell back into a number ("1.2k", "+46.1%", "90,090.0")."""
    t = text.replace(",", "").replace("%", "").split()[0]
    scale = {"k": 1e3, "M": 1e6, "B": 1e9}.get(t[-1], 1.0)
    return float(t.rstrip("kMB")) * scale


def make(tmp_path: Path) -> tuple[HedgetopApp, EngineSource]:
    source = EngineSource(now_ms=T0)
    source.quote_all(start_prices())
    source.tick()
    app = HedgetopApp(
        source,
        trader=source,
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
    )
    return app, source


def rows(app: HedgetopApp) -> dict[str, dict[str, str]]:
    table = app.screen.query_one(HedgeTable)
    return {r.key: {k: v[0] for k, v in r.cells.items()} for r in table.rows}


async def test_cells_match_the_engine_snapshot(tmp_path: Path) -> None:
    app, source = make(tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        app.tick()
        await pilot.pause()
        snap = source.latest
        assert snap is not None
        shown = rows(app)
        assert len(shown) == len(snap.hedges)
        for h in snap.hedges:
            cells = shown[h.hedge_id]
            assert h.mark is not None
            assert number(cells["mark"]) == pytest.approx(h.mark, rel=1e-4)
            assert number(cells["contracts"]) == h.contracts
            assert h.pnl_usd is not None
            assert number(cells["pnl_usd"]) == pytest.approx(
                h.pnl_usd, abs=0.01 + 0.001 * abs(h.pnl_usd)
            )
            if h.liq_price is None:
                assert cells["liq_dist"] == "never"
            elif h.liq_beyond_10x or not h.mark / 10 < h.liq_price < h.mark * 10:
                assert cells["liq_dist"] == "far"  # none in range, not a 9-digit price
            else:
                assert h.liq_distance_pct is not None
                assert number(cells["liq_dist"]) == pytest.approx(h.liq_distance_pct, abs=0.06)
            assert cells["feed"] == "live"
        for hold in snap.holdings:
            first = shown[hold.hedge_ids[0]]
            assert hold.hedge_ratio is not None
            assert number(first["ratio"].split("/")[0]) == pytest.approx(
                hold.hedge_ratio * 100, abs=0.06
            )


async def test_resize_end_to_end_through_the_engine(tmp_path: Path) -> None:
    app, source = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        app.tick()
        await pilot.pause()
        before = source.latest
        assert before is not None
        hedge_id = app.screen.query_one(HedgeTable).rows[0].hedge_id
        assert hedge_id is not None
        await pilot.press("t")  # back to target: the demo BTC hedge sits below it
        assert isinstance(app.screen, PreviewScreen)
        plan = app.screen.plan
        assert plan.ok
        assert plan.hedge_id == hedge_id
        await pilot.press("enter")
        assert len(source.fills) == 1
        assert source.fills[0].contracts_after == plan.contracts_after
        source.tick()
        app.tick()
        await pilot.pause()
        assert number(rows(app)[hedge_id]["contracts"]) == plan.contracts_after
        after = source.latest
        assert after is not None
        assert after.recent_fills[-1].hedge_id == hedge_id


async def test_quiet_feed_turns_rows_stale(tmp_path: Path) -> None:
    app, source = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        app.tick()
        await pilot.pause()
        assert {c["feed"] for c in rows(app).values()} == {"live"}
        source.now += source.config.feeds.stale_after_ms + 1_000  # the feed went quiet
        source.tick()
        app.tick()
        await pilot.pause()
        assert {c["feed"] for c in rows(app).values()} == {"STALE"}
        await pilot.press("plus")  # the engine refuses to size on stale prices
        assert isinstance(app.screen, PreviewScreen)
        assert not app.screen.plan.ok
        await pilot.press("enter")
        assert source.fills == []
