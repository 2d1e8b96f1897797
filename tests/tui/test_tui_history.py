"""The history screen on a database prepared with the real recorder (fills, funding, alerts),
opened read-only like one copied from another machine."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from textual.widgets import DataTable
from tui_fakes import T0, ScriptedSource, alert, portfolio

from core.events import FundingEvent
from storage.recorder import Recorder
from tui.app import HedgetopApp
from tui.screens.history import HistoryScreen, build_charts
from tui.widgets.table import HedgeTable

ROOT = Path(__file__).resolve().parents[2]
STEP_MS = 60_000
N = 150  # 2.5 hours of one snapshot a minute


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hist") / "history.db"
    rec = Recorder(path, batch_interval_ms=0)
    start = T0 - N * STEP_MS
    for i in range(N):
        rec.submit_snapshot(portfolio(now_ms=start + i * STEP_MS, btc_mark=90_000.0 + 50 * i))
    fill_snap = portfolio(now_ms=start, contracts=50_000)
    from core.events import Fill, OrderSide

    rec.submit_fill(
        Fill(
            ts_ms=T0 - 30 * STEP_MS,
            hedge_id="bybit-btc",
            venue="bybit",
            symbol="BTCUSD",
            side=OrderSide.SELL,
            contracts=1_000,
            size_usd=1_000.0,
            price=96_000.0,
            fee_coin=0.0000052,
            realized_pnl_coin=0.0,
            contracts_after=51_000,
            entry_after=99_900.0,
        )
    )
    rec.submit_funding(
        FundingEvent(
            ts_ms=T0 - 60 * STEP_MS,
            hedge_id="bybit-btc",
            venue="bybit",
            symbol="BTCUSD",
            rate=0.0001,
            mark=95_000.0,
            size_usd=50_000.0,
            amount_coin=0.0000526,
        )
    )
    rec.submit_alert(alert(ts_ms=T0 - 10 * STEP_MS))
    assert fill_snap.hedges
    assert rec.flush()
    rec.close()
    return path


def make_app(tmp_path: Path, db: Path) -> HedgetopApp:
    source = ScriptedSource([portfolio()])
    return HedgetopApp(
        source,
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
        history_db=db,
    )


def test_charts_follow_the_recorded_series(db: Path) -> None:
    from storage.history import open_history

    with open_history(db) as hist:
        sub = hist.subject("holding:BTC")
        charts = build_charts(hist, sub, T0 - 3_600_000, T0)
        by_key = {c.key: c for c in charts}
        assert set(by_key) == {"value", "pnl_usd", "pnl_coin", "basis", "funding", "liq"}
        hedged, unhedged = by_key["value"].lines
        assert hedged.label == "hedged"
        assert len(hedged.points) >= 55
        # the unhedged BTC holding is worth (S + M) * price at each recorded minute
        t, v = unhedged.points[-1]
        assert v is not None
        i = round((t - (T0 - N * STEP_MS)) / STEP_MS)  # bucket start: up to 1 step early
        assert v == pytest.approx(0.6 * (90_000.0 + 50 * i), rel=1e-9)
        (btc_pnl,) = by_key["pnl_usd"].lines
        assert btc_pnl.label == "bybit-btc"
        (funding,) = by_key["funding"].lines
        assert funding.points[-1][1] == pytest.approx(0.01)  # 0.0001 per interval = 0.01 %


async def test_history_screen_shows_range_events_and_steps(tmp_path: Path, db: Path) -> None:
    app = make_app(tmp_path, db)
    async with app.run_test(size=(120, 36)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("h")
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        assert screen.subject.name.endswith("BTC")
        table = screen.query_one(DataTable)
        kinds = {table.get_row_at(i)[1] for i in range(table.row_count)}
        assert kinds == {"fill", "funding"}  # the ETH alert is not BTC's
        title = str(screen.query_one("#history-title").render())
        assert "all" in title  # under a day recorded: all of it
        await pilot.press("s", "s")  # holding -> its hedge -> portfolio
        assert screen.subject.kind == "portfolio"
        kinds = {table.get_row_at(i)[1] for i in range(table.row_count)}
        assert kinds == {"fill", "funding", "alert"}
        await pilot.press("r")  # all -> 1h
        assert "1h" in str(screen.query_one("#history-title").render())
        assert screen.span == (T0 - 3_600_000 - STEP_MS, T0 - STEP_MS)
        await pilot.press("left_square_bracket")
        assert screen.span[1] == T0 - STEP_MS - 3_600_000
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert screen.span[1] == T0 - STEP_MS  # never beyond the last record
        assert screen.step_notice is not None
        assert "already at the latest 1h" in screen.step_notice  # said, not silent
        for _ in range(30):  # to the start of the recording, and one step more
            await pilot.press("left_square_bracket")
        assert screen.step_notice is not None
        assert "already at the earliest 1h" in screen.step_notice
        await pilot.press("right_square_bracket")
        assert screen.step_notice is None  # it moved
        for _ in range(4):  # 1h -> 24h -> 7d -> 30d -> all
            await pilot.press("r")
        await pilot.press("left_square_bracket")
        assert screen.step_notice is not None
        assert "shows everything" in screen.step_notice
        await pilot.press("escape")
        assert not isinstance(app.screen, HistoryScreen)
        assert app.screen.query_one(HedgeTable)


async def test_export_writes_series_and_events_csv(tmp_path: Path, db: Path) -> None:
    app = make_app(tmp_path, db)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = HistoryScreen(db, subject="BTC", export_dir=tmp_path)
        await app.push_screen(screen)
        await pilot.press("e")
        series, events = screen.exported
        rows = list(csv.DictReader(series.open()))
        assert len(rows) >= 100
        assert {"value_usd", "unhedged_value_usd", "hedge_ratio"} <= set(rows[0])
        ev = list(csv.DictReader(events.open()))
        assert [r["kind"] for r in ev] == ["funding", "fill"]


async def test_missing_database_is_reported_not_raised(tmp_path: Path) -> None:
    app = make_app(tmp_path, tmp_path / "none.db")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("h")
        assert isinstance(app.screen, HistoryScreen)
        assert "no history database" in str(app.screen.query_one("#history-title").render())
        await pilot.press("left_square_bracket")
        assert app.screen.step_notice == "no history recorded yet: nothing to step through"
        await pilot.press("e")
        await pilot.press("escape")
        assert not isinstance(app.screen, HistoryScreen)


async def test_open_history_follows_the_recorder(tmp_path: Path, db: Path) -> None:
    import shutil

    live = tmp_path / "live.db"
    shutil.copy(db, live)
    app = make_app(tmp_path, live)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = HistoryScreen(live, subject="BTC")
        await app.push_screen(screen)
        await pilot.pause()
        assert screen.bounds is not None
        last = screen.bounds[1]
        rec = Recorder(live, batch_interval_ms=0)  # the recorder writes while we read
        rec.submit_snapshot(portfolio(now_ms=T0 + 60_000))
        assert rec.flush()
        rec.close()
        screen.follow()
        await pilot.pause()
        assert screen.bounds[1] == T0 + 60_000 > last
        assert screen.span[1] == T0 + 60_000
