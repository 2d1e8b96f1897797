"""The layouts of issue 13 at 80x24, 100x30, 120x35 and 200x50, and what the detail pane
and the status bar add (margin ratio per wallet, funding a day, dated fills, spot price,
bad-message counts); the typed target."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tui_fakes import T0, FakeTrader, ScriptedSource, portfolio

from core.config import AlertConfig
from core.events import FeedHealth, FeedState, Fill, OrderSide
from tui.app import HedgetopApp
from tui.screens.preview import PreviewScreen
from tui.screens.typed import Typed, TypedTarget, parse_target
from tui.widgets.panes import feed_markup, fills_markup, wallet_margin_ratio
from tui.widgets.rows import build_rows, fit_columns, funding_per_day

ROOT = Path(__file__).resolve().parents[2]
KEEP = {"coin", "hedge", "pnl_coin", "pnl_usd", "liq_dist", "ratio", "feed"}
SIZES = [(80, 24), (100, 30), (120, 35), (200, 50)]


def make_app(tmp_path: Path, **kw: Any) -> HedgetopApp:
    source = kw.pop("source", None) or ScriptedSource([portfolio()])
    kw.setdefault("trader", FakeTrader(source))
    return HedgetopApp(
        source, theme_dirs=[ROOT / "themes"], state_path=tmp_path / "s.json", refresh_hz=1, **kw
    )


def text(app: HedgetopApp) -> str:
    return "\n".join(s.text for s in app.screen._compositor.render_strips())


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_layout_keeps_the_columns_a_hedger_needs(width: int, height: int) -> None:
    cols = fit_columns(width - 2)  # the table's margins
    keys = {c.key for c in cols}
    assert keys >= KEEP
    assert sum(c.width for c in cols) + len(cols) - 1 <= width - 2
    assert ("liq" in keys) == (width >= 100)  # the liquidation price where it fits
    if width >= 200:
        assert {"spot", "mark", "funding", "fund_day", "apr", "basis"} <= keys


@pytest.mark.parametrize(("width", "height"), SIZES)
async def test_footer_and_columns_fit_at_every_size(
    tmp_path: Path, width: int, height: int
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(width, height)) as pilot:
        app.tick()
        await pilot.pause()
        lines = text(app).splitlines()
        footer = lines[-1]
        for word in ("Help", "Pause", "Quit", "Ratio+", "Target", "Close"):
            assert word in footer, (width, footer)
        assert "PnL coin" in text(app)
        assert "Feed" in text(app)
        assert " recon " in text(app) or "recon" in text(app)  # never "liv" or "rec"
        assert "PAPER" in lines[0]


async def test_read_only_footer_hides_the_acting_keys_and_still_says_why(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source)
    app = make_app(tmp_path, source=source, trader=trader, read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        footer = text(app).splitlines()[-1]
        assert "Pause" in footer
        assert "Quit" in footer
        for word in ("Ratio+", "Ratio−", "Target", "Close"):
            assert word not in footer
        await pilot.press("plus")
        assert trader.plans == []
        assert any("read-only" in n.message for n in app._notifications)


async def test_help_box_keeps_its_border_at_80x24(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.tick()
        await pilot.press("question_mark")
        await pilot.pause()
        lines = text(app).splitlines()
        assert any(line.lstrip().startswith("╭") and line.rstrip().endswith("╮") for line in lines)
        assert any(line.lstrip().startswith("╰") and line.rstrip().endswith("╯") for line in lines)


def test_funding_a_day_scales_the_next_payment() -> None:
    h = portfolio().hedges[0]
    day_coin, day_usd = funding_per_day(h)
    assert h.funding_next_coin is not None
    assert h.mark is not None
    assert day_coin == pytest.approx(h.funding_next_coin * 3)  # 8 h funding, 3 a day
    assert day_usd == pytest.approx(h.funding_next_coin * 3 * h.mark)
    assert funding_per_day(replace(h, funding_next_coin=None)) == (None, None)


def test_wallet_margin_ratio_is_maintenance_over_equity() -> None:
    snap = portfolio()
    h = snap.hedges[0]
    assert h.maintenance_margin_coin is not None
    assert h.equity_coin is not None
    ratio = wallet_margin_ratio(snap, "bybit", "BTC")
    assert ratio == pytest.approx(h.maintenance_margin_coin / h.equity_coin)
    unpriced = replace(snap, hedges=(replace(h, equity_coin=None), *snap.hedges[1:]))
    assert wallet_margin_ratio(unpriced, "bybit", "BTC") is None


def test_fills_carry_their_date_and_the_status_bar_counts_bad_messages() -> None:
    fill = Fill(
        ts_ms=T0, hedge_id="bybit-btc", venue="bybit", symbol="BTCUSD", side=OrderSide.SELL,
        contracts=100, size_usd=100.0, price=95_000.5, fee_coin=0.000001,
        realized_pnl_coin=0.0, contracts_after=100, entry_after=95_000.5,
    )  # fmt: skip
    assert "2025-11-25 19:46" in fills_markup([fill], "bybit-btc", {"bybit-btc": "BTC"})
    feeds = [FeedHealth(venue="okx", url="u", state=FeedState.LIVE, parse_errors=97)]
    assert "97 bad msgs" in feed_markup(feeds, T0)
    clean = [FeedHealth(venue="okx", url="u", state=FeedState.LIVE)]
    assert "bad" not in feed_markup(clean, T0)


async def test_detail_pane_shows_spot_price_margin_ratio_and_funding_a_day(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        app.tick()
        await pilot.pause()
        shown = text(app)
        assert "price  95,000.0 USD" in shown
        assert "m.rat. 0.50% wallet 0.50%" in shown
        assert "a day  +0.000158 BTC" in shown


def test_parse_target() -> None:
    assert parse_target("65") == Typed(ratio=0.65)
    assert parse_target(" 65.5 % ") == Typed(ratio=0.655)
    assert parse_target("12,000ct") == Typed(contracts=12_000)
    assert isinstance(parse_target("lots"), str)
    assert isinstance(parse_target("1000"), str)  # 1000 % is no hedge ratio
    assert isinstance(parse_target("nan"), str)
    assert isinstance(parse_target(""), str)


async def test_equals_types_a_ratio_and_opens_the_same_preview(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])
    trader = FakeTrader(source)
    app = make_app(tmp_path, source=source, trader=trader)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        await pilot.press("equals_sign")
        assert isinstance(app.screen, TypedTarget)
        await pilot.press("6", "5", "enter")
        assert isinstance(app.screen, PreviewScreen)
        assert trader.plans[-1]["target_ratio"] == pytest.approx(0.65)
        assert "65.0%" in text(app)  # title and body say the same ratio
        await pilot.press("escape")
        assert trader.executed == []


def test_rows_never_say_live_beside_a_reconnecting_socket() -> None:
    snap = portfolio()
    feed = {r.hedge_id: r.cells["feed"][0] for r in build_rows(snap) if r.hedge_id}
    assert feed["binance-eth"] == "recon"
    assert feed["bybit-btc"] == "live"


async def test_start_up_warns_of_a_position_already_inside_the_band(tmp_path: Path) -> None:
    source = ScriptedSource([portfolio()])  # the fake ETH hedge sits 6.5 % from liquidation
    source.alert_rules = AlertConfig(liq_distance_pct=10.0)  # the session's rule sets the band
    app = make_app(tmp_path, source=source)
    async with app.run_test(size=(100, 30)) as pilot:
        app.tick()
        await pilot.pause()
        warned = [n.message for n in app._notifications if "already" in n.message]
        assert warned == [
            "ETHUSD_PERP on binance is already +6.5% from liquidation (alert band 10%)"
        ]
        app.source.latest = portfolio(btc_mark=96_000.0)  # type: ignore[attr-defined]
        app.tick()
        await pilot.pause()
        assert len([n for n in app._notifications if "already" in n.message]) == 1  # once
