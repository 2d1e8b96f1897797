"""The main screen, headless, against a scripted snapshot source that goes quiet."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.widgets import Static
from tui_fakes import T0, FakeTrader, ScriptedSource, alert, portfolio

from core.events import OrderSide
from tui.app import HedgetopApp
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.screens.preview import PreviewScreen
from tui.widgets.panes import TextPane
from tui.widgets.table import HedgeTable

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def flush(self) -> None:
        self.calls.append("flush")

    def close(self) -> None:
        self.calls.append("close")

    def health(self) -> Any:
        return None


def make_app(tmp_path: Path, source: ScriptedSource, **kw: Any) -> HedgetopApp:
    kw.setdefault("trader", FakeTrader(source))
    return HedgetopApp(
        source,
        theme_dirs=[ROOT / "themes"],
        state_path=tmp_path / "state.json",
        refresh_hz=4,
        **kw,
    )


def cells(app: HedgetopApp, row: int) -> dict[str, str]:
    table = app.screen.query_one(HedgeTable)
    return {k: v[0] for k, v in table.rows[row].cells.items()}


def screen_text(app: HedgetopApp) -> str:
    return "\n".join(s.text for s in app.screen._compositor.render_strips())


async def test_table_shows_the_snapshot_with_units(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    app = make_app(tmp_path, source)
    async with app.run_test(size=(200, 50)) as pilot:
        app.tick()
        await pilot.pause()
        snap = source.latest
        assert snap is not None
        btc = snap.hedges[0]
        row = cells(app, 0)
        assert row["coin"] == "BTC"
        assert row["mark"] == f"{btc.mark:,.1f}"
        assert row["contracts"] == "50,000"
        assert btc.pnl_coin is not None
        assert row["pnl_coin"] == f"{btc.pnl_coin:+.6f} BTC"
        assert row["liq_dist"] == "never"  # a 1x short has no liquidation price
        eth = cells(app, 1)
        assert eth["liq_dist"] == "+6.5%"
        assert eth["ratio"] == "100.0%/100%"
        assert cells(app, 2)["hedge"] == "unhedged"
        text = screen_text(app)
        assert "Mark USD" in text
        assert "Total 63,000.00 USD" in text
        assert "bybit ● live <1s" in text
        assert "binance ● reconnecting (2) 15s" in text
        # the detail pane explains why a 1x short cannot be liquidated
        assert "no price liquidates it" in text


async def test_stale_row_says_so(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio(stale=True)])
    app = make_app(tmp_path, source)
    async with app.run_test(size=(200, 50)) as pilot:
        app.tick()
        await pilot.pause()
        assert cells(app, 0)["feed"] == "STALE"
        assert cells(app, 1)["feed"] == "recon"  # the status bar: binance reconnecting
        assert "STALE" in screen_text(app)


async def test_redraw_only_on_new_snapshot_and_only_changed_rows(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio(n_extra=10)])
    app = make_app(tmp_path, source)
    async with app.run_test(size=(200, 50)) as pilot:
        app.tick()
        await pilot.pause()
        table = app.screen.query_one(HedgeTable)
        frames, built = app.frames, table.lines_rendered
        app.tick()  # same snapshot object: nothing to do
        await pilot.pause()
        assert app.frames == frames
        assert table.lines_rendered == built
        source.latest = portfolio(n_extra=10, btc_mark=96_000.0)  # only BTC changes
        app.tick()
        await pilot.pause()
        assert app.frames == frames + 1
        assert cells(app, 0)["mark"] == "96,000.0"
        assert table.lines_rendered - built == 1


async def test_table_and_detail_pane_show_the_same_snapshot(tmp_path: Path) -> None:
    """One frame, one snapshot: every new snapshot reaches the detail pane with the table,
    and pausing freezes both on the same one (no pane a tick behind the other)."""
    source = ScriptedSource([portfolio()])
    app = make_app(tmp_path, source)
    async with app.run_test(size=(200, 50)) as pilot:
        app.tick()
        await pilot.pause()
        assert "mark   95,000.0 USD" in screen_text(app)  # detail: mark with its unit
        source.latest = portfolio(btc_mark=96_000.0)
        app.tick()
        await pilot.pause()
        assert cells(app, 0)["mark"] == "96,000.0"
        assert "mark   96,000.0 USD" in screen_text(app)  # the detail follows the same frame
        await pilot.press("p")
        source.latest = portfolio(btc_mark=97_000.0)
        app.tick()
        await pilot.pause()
        await pilot.press("j", "k")  # a new selection while paused: still the frozen frame
        assert cells(app, 0)["mark"] == "96,000.0"
        assert "mark   96,000.0 USD" in screen_text(app)
        assert "97,000" not in screen_text(app)


async def test_plus_previews_and_enter_confirms(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source)
    app = make_app(tmp_path, source, trader=trader, ratio_step=0.05)
    fills = trader.fills  # what the trader filled (and recorded: the session's listeners)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("plus")
        assert isinstance(app.screen, PreviewScreen)
        plan = trader.plans[-1]
        assert plan["hedge_id"] == "bybit-btc"
        snap = portfolio()
        ratio = snap.holdings[0].hedge_ratio
        assert ratio is not None
        assert abs(plan["target_ratio"] - (ratio + 0.05)) < 1e-12
        body = str(app.screen.query_one("#preview-body", Static).render())
        assert "SELL 3,000 contracts" in body
        assert "ratio reached" in body
        assert "estimated fee" in body
        assert trader.executed == []
        await pilot.press("enter")
        assert not isinstance(app.screen, PreviewScreen)
        assert len(trader.executed) == 1
        assert fills[0].contracts_after == 53_000
        app.tick()
        await pilot.pause()
        assert cells(app, 0)["contracts"] == "53,000"
        assert "sell 3,000 ct" in screen_text(app)


async def test_escape_cancels_and_nothing_is_sent(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source)
    app = make_app(tmp_path, source, trader=trader)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        for key in ("minus", "t", "0"):
            await pilot.press(key)
            assert isinstance(app.screen, PreviewScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, PreviewScreen)
        assert trader.executed == []
        minus, target, close = trader.plans
        assert minus["target_ratio"] < portfolio().holdings[0].hedge_ratio  # type: ignore[operator]
        assert target["target_ratio"] == 1.0
        assert close["close"] is True
        assert {p["ts"] for p in trader.plans} == {T0}


async def test_down_selects_next_hedge_and_keys_act_on_it(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source)
    app = make_app(tmp_path, source, trader=trader)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("j")
        assert "binance ETHUSD_PERP short" in screen_text(app)
        await pilot.press("0")
        assert trader.plans[-1]["hedge_id"] == "binance-eth"
        await pilot.press("escape")
        await pilot.press("down", "down")  # the unhedged ADA row: nothing to resize
        await pilot.press("plus")
        assert not isinstance(app.screen, PreviewScreen)
        await pilot.press("k", "up")
        assert app.screen.query_one(HedgeTable).cursor == 0


async def test_refused_plan_cannot_be_confirmed(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source, refuse="exceeds the maximum of 1,000 contracts per action")
    app = make_app(tmp_path, source, trader=trader)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("plus")
        assert "refused: exceeds the maximum" in screen_text(app)
        await pilot.press("enter")
        assert isinstance(app.screen, PreviewScreen)
        assert trader.executed == []


async def test_read_only_refuses_every_acting_key(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source)
    app = make_app(tmp_path, source, trader=trader, read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        assert "READ-ONLY" in screen_text(app)
        for key in ("plus", "minus", "t", "0"):
            await pilot.press(key)
            assert not isinstance(app.screen, PreviewScreen)
        assert trader.plans == []
        messages = [n.message for n in app._notifications]
        assert sum("read-only" in m for m in messages) == 4
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "disabled: read-only" in screen_text(app)


async def test_pause_stops_rendering_and_resume_catches_up(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    app = make_app(tmp_path, source)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        frames = app.frames
        await pilot.press("p")
        assert "PAUSED" in screen_text(app)
        source.latest = portfolio(btc_mark=90_000.0)
        app.tick()
        await pilot.pause()
        assert app.frames == frames
        assert cells(app, 0)["mark"] == "95,000.0"
        await pilot.press("p")
        assert app.frames == frames + 1
        assert cells(app, 0)["mark"] == "90,000.0"
        assert "PAUSED" not in screen_text(app)


async def test_raised_alert_rings_the_bell_once(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    app = make_app(tmp_path, source)
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        assert bells == []
        source.latest = portfolio(alerts=(alert(),))
        app.tick()
        await pilot.pause()
        source.latest = portfolio(alerts=(alert(),), btc_mark=94_000.0)
        app.tick()
        await pilot.pause()
        assert bells == [1]
        assert "1 alert: ETHUSD_PERP liquidation 6.5% away" in screen_text(app)
        source.latest = portfolio()
        app.tick()
        await pilot.pause()
        source.latest = portfolio(alerts=(alert(),))
        app.tick()
        await pilot.pause()
        assert bells == [1, 1]


async def test_an_announcing_source_is_drawn_when_it_says_so_and_never_polled(
    tmp_path: Path,
) -> None:
    """One way in (issue 10 §3): the listener, or the timer, not both."""
    source = ScriptedSource([portfolio()])
    source.announces = True
    app = make_app(tmp_path, source)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert not [t for t in app._timers if t.name == "redraw"]
        assert len(source.on_snapshot) == 1
        drawn = app.frames
        source.latest = portfolio(btc_mark=96_000.0)
        for listener in source.on_snapshot:
            listener(source.latest)
        await pilot.pause()
        assert app.frames == drawn + 1
        assert cells(app, 0)["mark"] == "96,000.0"
    quiet = ScriptedSource([portfolio()])  # one that does not announce is polled
    app = make_app(tmp_path, quiet)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert [t for t in app._timers if t.name == "redraw"]
        assert quiet.on_snapshot == []


async def test_quit_stops_session_and_flushes_recorder(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    recorder = Recorder()
    app = make_app(tmp_path, source, recorder=recorder)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert source.started
        await pilot.press("q")
        await pilot.pause()
    assert source.stopped
    assert recorder.calls == ["flush", "close"]
    assert app.return_value == 0


async def test_keymap_remaps_and_help_lists_it(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source)
    app = make_app(tmp_path, source, trader=trader, keymap={"ratio_up": "u", "help": "f1"})
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("plus")
        assert trader.plans == []
        await pilot.press("u")
        assert isinstance(app.screen, PreviewScreen)
        await pilot.press("escape")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "u  raise the selected hedge's ratio" in text


async def test_no_snapshot_yet_shows_waiting_and_keys_do_not_crash(tmp_path: Path) -> None:
    source = ScriptedSource([])
    trader = FakeTrader(source)
    app = make_app(tmp_path, source, trader=trader)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("plus", "h")
        assert "waiting for prices" in screen_text(app)
        assert trader.plans == []  # nothing to plan on yet
        assert isinstance(app.screen, MainScreen)  # no preview, no history screen
        assert app.frames == 0
        assert app.screen.query_one("#header", TextPane).updates >= 1  # the waiting header


async def test_theme_picker_applies_and_remembers(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    app = make_app(tmp_path, source)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.theme == "dark"
        await pilot.press("T")
        await pilot.press("down")
        await pilot.press("enter")
        chosen = app.theme
        assert chosen != "dark"
    again = make_app(tmp_path, ScriptedSource([portfolio()]))
    assert again.theme == chosen


async def test_bad_user_theme_is_notified_once(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    user.mkdir()
    (user / "broken.toml").write_text('name = "b"\n[colors]\nprimary = "nope"\n')
    source = ScriptedSource([portfolio()])
    app = HedgetopApp(
        source,
        theme_dirs=[ROOT / "themes", user],
        state_path=tmp_path / "state.json",
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert len([m for m in messages if "broken.toml" in m]) == 1
        assert app.theme == "dark"


def test_recent_fill_replaces_snapshot() -> None:
    # the fake trader's snapshot after a fill carries it: guards the fake used above
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source)
    plan = trader.plan_resize("bybit-btc", target_ratio=0.5)
    assert plan.side is OrderSide.BUY
    trader.execute(plan)
    assert source.latest is not None
    assert source.latest.recent_fills[0].hedge_id == "bybit-btc"
    assert replace(source.latest, recent_fills=()).recent_fills == ()


async def test_cursor_scrolls_a_long_table_on_a_small_screen(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio(n_extra=20)])
    app = make_app(tmp_path, source)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        table = app.screen.query_one(HedgeTable)
        assert len(table.rows) == 23
        assert "X19USD" not in screen_text(app)
        for _ in range(22):
            table.action_cursor_down()
        await pilot.pause()
        text = screen_text(app)
        assert "X19USD" in text  # the last row is on screen
        assert "bybit BTCUSD  " not in text.split("\n")[4]  # the first scrolled away
        assert table.selected is not None
        assert table.selected.key == "x19"


async def test_gain_loss_colours_come_from_the_theme_and_follow_a_switch(tmp_path: Path) -> None:
    from rich.color import Color as RichColor

    source = ScriptedSource([portfolio()])
    app = make_app(tmp_path, source)

    def colour_of(text: str) -> RichColor | None:
        table = app.screen.query_one(HedgeTable)
        for y in (1, 2):
            for seg in table.render_line(y)._segments:
                if seg.text.strip() == text and seg.style is not None:
                    return seg.style.color
        raise AssertionError(text)

    async with app.run_test(size=(120, 30)) as pilot:
        app.tick()
        await pilot.pause()
        gain, loss = cells(app, 0)["pnl_usd"], cells(app, 1)["pnl_usd"]
        for theme in ("dark", "light"):
            app.theme = theme
            await pilot.pause()
            variables = app.get_theme(theme).variables  # type: ignore[union-attr]
            assert colour_of(gain) == RichColor.parse(variables["gain"])
            assert colour_of(loss) == RichColor.parse(variables["loss"])


async def test_status_bar_says_when_history_is_not_saved(tmp_path: Path) -> None:
    class Health:
        ok = False
        last_error = "database or disk is full"

    class FailingRecorder(Recorder):
        def health(self) -> Health:
            return Health()

    source = ScriptedSource([portfolio()])
    app = make_app(tmp_path, source, recorder=FailingRecorder())
    async with app.run_test(size=(120, 30)) as pilot:
        app.tick()
        await pilot.pause()
        assert "history NOT SAVED: database or disk is full" in screen_text(app)
        assert cells(app, 0)["mark"] == "95,000.0"  # monitoring goes on


async def test_session_problems_are_shown_once_each(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    source.feed_errors = ["no feed URL for okx inverse"]  # type: ignore[attr-defined]
    app = make_app(tmp_path, source)
    async with app.run_test(size=(120, 40)) as pilot:
        app.tick()
        await pilot.pause()
        source.latest = portfolio(btc_mark=96_000.0)
        app.tick()  # a new snapshot, no new problem: not repeated
        await pilot.pause()
        source.feed_errors.append("contract specs: ccxt bybit: offline")  # type: ignore[attr-defined]
        source.latest = portfolio(btc_mark=97_000.0)
        app.tick()
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert messages.count("no feed URL for okx inverse") == 1
        assert messages.count("contract specs: ccxt bybit: offline") == 1
