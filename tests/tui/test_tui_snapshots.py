"""Snapshot tests at fixed sizes with a frozen clock and scripted data (update them with
``pytest tests/tui --snapshot-update`` after a deliberate visual change, and review the SVGs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_fakes import T0, FakeTrader, ScriptedSource, alert, portfolio, unpriced_portfolio

from tui.app import HedgetopApp

ROOT = Path(__file__).resolve().parents[2]


def make_app(tmp_path: Path, theme: str = "dark", **kw: Any) -> HedgetopApp:
    source = ScriptedSource([portfolio(alerts=(alert(),))])
    (tmp_path / "state.json").write_text(f'{{"theme": "{theme}"}}')
    return HedgetopApp(
        source,
        trader=FakeTrader(source),
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
        refresh_hz=1,
        **kw,
    )


async def _draw(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, HedgetopApp)
    app.tick()
    await pilot.pause()
    app.clear_notifications()
    await pilot.pause()


def test_main_100x30(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=(100, 30), run_before=_draw)


def test_main_200x50_light(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        make_app(tmp_path, "light"), terminal_size=(200, 50), run_before=_draw, press=["j"]
    )


def test_preview_100x30_high_contrast(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        make_app(tmp_path, "high-contrast"),
        terminal_size=(100, 30),
        run_before=_draw,
        press=["plus"],
    )


def test_help_read_only(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        make_app(tmp_path, read_only=True),
        terminal_size=(100, 30),
        run_before=_draw,
        press=["question_mark"],
    )


def test_demo_portfolio_on_the_engine_100x30(snap_compare: Any, tmp_path: Path) -> None:
    from tui_fakes import EngineSource

    from core.demo import start_prices

    source = EngineSource(now_ms=T0)
    source.quote_all(start_prices())
    source.tick()
    (tmp_path / "state.json").write_text('{"theme": "dark"}')
    app = HedgetopApp(
        source,
        trader=source,
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
        refresh_hz=1,
    )
    assert snap_compare(app, terminal_size=(100, 30), run_before=_draw, press=["down"])


# --- issue 13: the layouts at three sizes, four states each ---------------------------------

SIZES = [(80, 24), (100, 30), (200, 50)]


def _app_with(tmp_path: Path, snap: Any, **kw: Any) -> HedgetopApp:
    source = ScriptedSource([snap])
    (tmp_path / "state.json").write_text('{"theme": "dark"}')
    return HedgetopApp(
        source,
        trader=FakeTrader(source),
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
        refresh_hz=1,
        **kw,
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_layout_healthy(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(_app_with(tmp_path, portfolio()), terminal_size=size, run_before=_draw)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_layout_stale_unknown_looks_unknown(
    snap_compare: Any, tmp_path: Path, size: tuple[int, int]
) -> None:
    assert snap_compare(
        _app_with(tmp_path, unpriced_portfolio()), terminal_size=size, run_before=_draw
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_layout_paused(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = _app_with(tmp_path, portfolio())

    async def paused(pilot: Pilot[Any]) -> None:
        await _draw(pilot)
        await pilot.press("p")
        assert isinstance(app.source, ScriptedSource)
        app.source.latest = portfolio(btc_mark=99_000.0)  # not drawn: the frame is frozen
        app.tick()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=paused)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_layout_preview_open(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(
        _app_with(tmp_path, portfolio()), terminal_size=size, run_before=_draw, press=["plus"]
    )
