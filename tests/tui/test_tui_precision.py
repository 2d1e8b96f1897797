"""Precision (issue 13.4): every price to its instrument's tick, one number format."""

from __future__ import annotations

from tui_fakes import T0, EngineSource

from core.demo import start_prices
from tui.widgets import format as fmt
from tui.widgets.panes import position_markup
from tui.widgets.rows import build_rows


def test_tick_decimals_and_price() -> None:
    assert [fmt.tick_decimals(t) for t in (0.5, 0.01, 0.0001, 5.0, 0.00001)] == [1, 2, 4, 0, 5]
    assert fmt.price(0.61425, 0.0001) == "0.6142"  # not 0.61 as before
    assert fmt.price(95_000.26, 0.5) == "95,000.5"
    assert fmt.usd_price(2.2, 0.0001) == "2.2000 USD"
    assert fmt.price(0.61425) == "0.6142"  # no tick known: by magnitude, never cents
    assert fmt.compact_usd(115.0, sign=True) == "+115.00"  # like +39.24 beside it


def test_table_and_detail_prices_follow_the_contract_tick() -> None:
    source = EngineSource(now_ms=T0)
    source.quote_all(start_prices())
    snap = source.tick()
    specs = source.engine.specs()
    ticks = {hid: s.tick_size for hid, s in specs.items()}
    rows = {r.hedge_id: r for r in build_rows(snap, ticks) if r.hedge_id}
    for h in snap.hedges:
        assert h.mark is not None
        tick = ticks[h.hedge_id]
        d = fmt.tick_decimals(tick)
        text = rows[h.hedge_id].cells["mark"][0]
        assert len(text.split(".")[1]) == d if d else "." not in text
        assert abs(float(text.replace(",", "")) - h.mark) <= tick / 2 + 1e-9
        assert f"mark   [/]{text} USD" in position_markup(h, tick)


def test_a_big_holding_loses_decimals_not_digits_in_the_spot_column() -> None:
    assert fmt.coin_in(0.5, "BTC", 14) == "0.500000 BTC"
    assert fmt.coin_in(400, "SOL", 14) == "400.0000 SOL"
    assert fmt.coin_in(30_000, "ADA", 14) == "30,000.000 ADA"
    assert fmt.coin_in(250_000, "ADA", 14) == "250,000.00 ADA"
    assert fmt.coin_in(12_345_678.9, "XRP", 14) == "12,345,679 XRP"  # wider than 14: whole
    assert fmt.coin_in(None, "ADA", 14) == fmt.DASH
