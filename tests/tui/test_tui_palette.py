"""The command palette (ctrl+p) offers hedgetop's own commands, each running the same action
as its key; the read-only toggle never lifts a lock; a built-in Textual theme chosen from the
palette is remembered like a house theme."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.command import CommandPalette
from tui_fakes import FakeTrader, ScriptedSource, portfolio

from tui.app import HedgetopApp
from tui.palette import commands
from tui.screens.history import HistoryScreen
from tui.screens.preview import PreviewScreen

ROOT = Path(__file__).resolve().parents[2]


def make_app(tmp_path: Path, **kw: Any) -> HedgetopApp:
    source = kw.pop("source", None) or ScriptedSource([portfolio()])
    kw.setdefault("trader", FakeTrader(source))
    return HedgetopApp(
        source,
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
        refresh_hz=4,
        **kw,
    )


async def _palette(pilot: Any, query: str) -> None:
    """Open the palette, type ``query`` and run the first match."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press(*query)
    # the palette searches in a worker: wait until it lists a match
    await pilot.app.screen.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def test_palette_lists_hedgetop_commands(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        app.tick()
        await pilot.pause()
        names = [c.name for c in commands(app)]
        for wanted in (
            "Resize: hedge ratio up",
            "Resize: back to target",
            "Close the selected hedge",
            "History of the selected holding",
            "Export the selected holding's history (CSV)",
            "Theme: house themes",
            "Pause the screen",
            "Read-only: on (disable resizing)",
        ):
            assert wanted in names


async def test_palette_to_target_opens_the_same_preview_as_the_key(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source)
    app = make_app(tmp_path, source=source, trader=trader)
    async with app.run_test(size=(120, 40)) as pilot:
        app.tick()
        await pilot.pause()
        await _palette(pilot, "back to target")
        assert isinstance(app.screen, PreviewScreen)
        assert trader.plans
        assert trader.plans[-1]["target_ratio"] is not None
        await pilot.press("escape")
        await pilot.pause()
        assert not trader.executed  # only enter on the preview executes


async def test_palette_pause_and_read_only_toggle(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        app.tick()
        await pilot.pause()
        await _palette(pilot, "pause the screen")
        assert app.paused
        await _palette(pilot, "read-only: on")
        assert app.read_only
        assert "Read-only: off (allow resizing)" in [c.name for c in commands(app)]
        await pilot.press("t")  # the resize key is refused now
        await pilot.pause()
        assert not isinstance(app.screen, PreviewScreen)
        await _palette(pilot, "read-only: off")
        assert not app.read_only


async def test_read_only_without_a_broker_cannot_be_lifted(tmp_path: Path) -> None:
    app = make_app(tmp_path, trader=None, no_trader_reason="served read-only")
    async with app.run_test(size=(120, 40)) as pilot:
        app.tick()
        await pilot.pause()
        assert app.read_only
        assert app.read_only_locked
        app.action_toggle_read_only()
        await pilot.pause()
        assert app.read_only
        assert app.read_only_reason == "served read-only"


async def test_history_commands_are_not_offered_over_history(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    app = make_app(tmp_path, history_db=db)
    async with app.run_test(size=(120, 40)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        names = [c.name for c in commands(app)]
        assert "History of the selected holding" not in names
        assert not any(n.startswith("Resize") for n in names)
        assert "Theme: house themes" in names


async def test_builtin_textual_theme_from_the_palette_is_remembered(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.theme == "dark"
        assert "nord" in app.available_themes  # one of Textual's own
        app.search_themes()  # what the palette's "Theme" command opens
        await pilot.pause()
        await pilot.press(*"nord")
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "nord"
    assert json.loads((tmp_path / "state.json").read_text())["theme"] == "nord"
    assert make_app(tmp_path).theme == "nord"


async def test_house_picker_preview_is_not_saved_until_chosen(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("T", "down")
        await pilot.pause()
        assert app.theme != "dark"  # previewed live
        assert not (tmp_path / "state.json").exists()
        await pilot.press("escape")
        await pilot.pause()
        assert app.theme == "dark"
    assert not (tmp_path / "state.json").exists()
