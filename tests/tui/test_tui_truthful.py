"""Unknown never looks safe (issue 13): with no price, or no margin model, the liquidation
reads "—" in the stale colour in the table, the detail pane and the header; "never" only when
the maths says so with prices known; an absurdly far liquidation reads "none in range"."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tui_fakes import FakeTrader, ScriptedSource, hedge, portfolio, unpriced_portfolio

from core.events import FeedHealth, FeedState
from tui.app import HedgetopApp
from tui.widgets import format as fmt
from tui.widgets.panes import header_markup, liquidation_markup, nearest_liquidation
from tui.widgets.rows import build_rows, feed_cell, liq_state


def _no_price(h):  # type: ignore[no-untyped-def]
    return replace(
        h,
        mark=None,
        index=None,
        pnl_coin=None,
        pnl_usd=None,
        liq_price=None,
        liq_distance_pct=None,
        margin_model=None,
        equity_coin=None,
        stale=True,
    )


def test_no_price_is_unknown_not_never() -> None:
    h = _no_price(hedge(liq_price=None))
    assert liq_state(h) == "unknown"
    snap = portfolio()
    snap = replace(snap, hedges=(h, *snap.hedges[1:]))
    row = build_rows(snap)[0]
    assert row.cells["liq"] == ("—", "unknown")
    assert row.cells["liq_dist"] == ("—", "unknown")
    pane = liquidation_markup(h)
    assert "never" not in pane
    assert "none" not in pane
    assert "—" in pane
    assert "$stale" in pane
    head = nearest_liquidation(snap)
    assert "—" in head
    assert "$stale" in head
    assert "never" not in head


def test_never_needs_a_price_and_a_model() -> None:
    priced = hedge(liq_price=None)  # a 1x short the model clears at this mark
    assert liq_state(priced) == "never"
    assert liq_state(replace(priced, margin_model=None)) == "unknown"
    assert liq_state(replace(priced, mark=None)) == "unknown"
    row = build_rows(replace(portfolio(), hedges=(priced, *portfolio().hedges[1:])))[0]
    assert row.cells["liq_dist"] == ("never", "gain")


def test_absurd_liquidation_is_none_in_range() -> None:
    far = hedge(liq_price=2_874_764_526.32, mark=90_000.0)
    assert liq_state(far) == "far"
    snap = replace(portfolio(), hedges=(far, *portfolio().hedges[1:]))
    cells = build_rows(snap)[0].cells
    assert "2,874" not in cells["liq"][0]
    assert cells["liq"][0] == "> 10× mark"
    assert cells["liq_dist"] == ("far", "gain")
    pane = liquidation_markup(far)
    assert "2,874,764,526" not in pane
    assert "none in range" in pane


def test_flat_is_a_dash_not_safe() -> None:
    assert liq_state(hedge(contracts=0)) == "flat"
    assert fmt.liq_state(contracts=0, mark=None, liq_price=None, model_known=False) == "flat"


def test_feed_column_agrees_with_the_status_bar() -> None:
    feeds = (
        FeedHealth(venue="bybit", url="ws://a", state=FeedState.LIVE),
        FeedHealth(venue="bybit", url="ws://b", state=FeedState.RECONNECTING, reconnects=1),
    )
    assert feed_cell("bybit", False, feeds) == ("recon", "warn")
    assert feed_cell("okx", False, feeds) == ("live", "muted")
    assert feed_cell("bybit", True, feeds[:1]) == ("STALE", "stale")
    stopped = (FeedHealth(venue="okx", url="ws://c", state=FeedState.STOPPED),)
    assert feed_cell("okx", False, stopped)[0] == "down"


def test_header_says_paper_live_or_read_only() -> None:
    snap = portfolio()
    assert "PAPER" in header_markup(snap, paused=False, read_only=False, source="x")
    assert "READ-ONLY" in header_markup(snap, paused=False, read_only=True, source="x")
    live = header_markup(snap, paused=False, read_only=False, source="x", live=True)
    assert "LIVE TRADING" in live
    assert "PAPER" not in live
    # the nearest liquidation is in the header: the ETH hedge, 3,300 against 3,100
    assert "+6.5%" in header_markup(snap, paused=False, read_only=False, source="x")


async def test_no_price_screen_never_says_never_at_any_size(tmp_path: Path) -> None:
    for size in ((80, 24), (100, 30), (200, 50)):
        source = ScriptedSource([unpriced_portfolio()])
        app = HedgetopApp(
            source,
            trader=FakeTrader(source),
            theme_dirs=[Path(__file__).resolve().parents[2] / "themes"],
            state_path=tmp_path / "state.json",
        )
        async with app.run_test(size=size) as pilot:
            app.tick()
            await pilot.pause()
            shown = "\n".join(s.text for s in app.screen._compositor.render_strips())
            assert "never" not in shown
            assert "none" not in shown.replace("none this session", "")
            assert "liq —" in shown


def test_alerts_say_live_values_and_which_socket_without_rule_names() -> None:
    from core.events import AlertEvent, AlertState
    from tui.widgets.panes import alert_message

    snap = portfolio()  # ETH: liquidation 3,300 against a mark of 3,100: +6.5 %
    frozen = AlertEvent(
        ts_ms=0, key="k", rule="liq_distance", subject="binance:ETHUSD_PERP",
        state=AlertState.RAISED, message="ETHUSD_PERP liquidation 2.0% away", value=2.0,
    )  # fmt: skip
    text = alert_message(frozen, snap)
    assert "+6.5%" in text
    assert "2.0" not in text
    assert "liq_distance" not in text
    cleared = AlertEvent(
        ts_ms=0, key="k", rule="hedge_ratio", subject="BTC", state=AlertState.CLEARED,
        message="BTC: hedge_ratio cleared (recovered)", value=None,
    )  # fmt: skip
    text = alert_message(cleared, snap)
    assert "hedge_ratio" not in text
    assert "back to normal" in text
    assert "83.3%" in text
    feed = AlertEvent(
        ts_ms=0, key="k", rule="feed_stale", subject="binance:ws://y",
        state=AlertState.RAISED, message="binance feed state reconnecting", value=None,
    )  # fmt: skip
    assert alert_message(feed, snap, lambda f: f"{f.venue} inverse").startswith(
        "binance inverse feed reconnecting"
    )
