"""A dated hedge on the dashboard (issue 14 §5): the row's label carries the days left and
its funding cell says "dated" (no countdown); the detail pane shows the expiry, the days left,
the basis locked a year and the perpetual's funding APR beside it; the L view compares it with
the perpetual and names the next quarterly as the roll."""

from __future__ import annotations

import re

import pytest

from core.config import parse_config
from core.engine import Engine
from core.events import Kind, Quote
from core.ledger import MemoryLedger
from tui.widgets.panes import margin_markup
from tui.widgets.risk_pane import dated_for, risk_markup
from tui.widgets.rows import build_rows, days_left_text

DAY = 86_400_000
DEC25 = 1_798_185_600_000  # 2026-12-25 08:00 UTC
NOW = DEC25 - 24 * DAY - 3_600_000  # 24 days and an hour before
CONFIG = """
[[holdings]]
coin = "BTC"
amount = 2.0
[[hedges]]
id = "q"
venue = "binance"
symbol = "BTCUSD_261225"
contracts = 900
entry = 90000
[[hedges]]
id = "p"
venue = "binance"
symbol = "BTCUSD_PERP"
contracts = 900
entry = 90000
"""


def q(symbol: str, mark: float, *, kind: Kind = Kind.INVERSE_FUTURE) -> Quote:
    return Quote(
        venue="binance",
        symbol=symbol,
        kind=kind,
        mark=mark,
        index=90_000.0,
        funding_rate=0.0001 if kind is Kind.INVERSE_PERP else None,
        next_funding_ms=NOW + 3_600_000 if kind is Kind.INVERSE_PERP else None,
        received_ms=NOW,
    )


def engine() -> Engine:
    e = Engine(parse_config(CONFIG, now_ms=NOW), None, MemoryLedger(), NOW)
    e.on_quote(q("BTCUSD_261225", 91_050.0))
    e.on_quote(q("BTCUSD_270326", 92_800.0))
    e.on_quote(q("BTCUSD_PERP", 90_010.0, kind=Kind.INVERSE_PERP))
    return e


def plain(markup: str) -> str:
    return re.sub(r"\[/?[^\]]*\]", "", markup)


def test_the_row_label_and_funding_cell() -> None:
    rows = {r.hedge_id: r for r in build_rows(engine().snapshot(NOW))}
    assert rows["q"].cells["hedge"][0] == "BTCUSD_261225 24d"
    assert rows["q"].cells["funding"][0] == "dated"
    assert rows["q"].cells["fund_day"][0] == "—"
    assert rows["p"].cells["hedge"][0] == "binance BTCUSD_PERP"
    assert "1h" in rows["p"].cells["funding"][0]  # the perpetual keeps its countdown
    assert [days_left_text(d) for d in (None, 0.0, 0.5, 1.0, 24.9)] == [
        "—",
        "exp.",
        "<1d",
        "1d",
        "24d",
    ]


def test_the_detail_pane_shows_expiry_days_locked_and_perp() -> None:
    h = engine().snapshot(NOW).hedge("q")
    assert h is not None
    text = plain(margin_markup(h))
    assert "expiry 2026-12-25 24.0d" in text
    locked = (91_050 / 90_000 - 1) * 100 * 365 / h.days_to_expiry  # type: ignore[operator]
    assert f"locked +{locked:.2f}%/y" in text
    assert f"perp   +{0.0001 * 3 * 365 * 100:.2f}%/y" in text
    assert "fund." not in text  # no funding line, no countdown
    assert " in " not in text
    p = engine().snapshot(NOW).hedge("p")
    assert p is not None
    assert "fund." in plain(margin_markup(p))


def test_the_l_view_rolls_to_the_next_quarterly() -> None:
    e = engine()
    h = e.snapshot(NOW).hedge("q")
    assert h is not None
    vs = dated_for(h, e.quotes_of_kind(Kind.INVERSE_FUTURE), NOW)
    assert vs is not None
    assert vs.dated.symbol == "BTCUSD_261225"
    assert vs.perp_rate == 0.0001
    assert vs.next_contract is not None
    assert vs.next_contract.symbol == "BTCUSD_270326"
    assert vs.next_contract.basis_pct == pytest.approx((92_800 / 90_000 - 1) * 100)
    text = plain(risk_markup(h, dated=vs))
    assert "BTCUSD_261225 24 d: locks" in text
    # 7 days before the 25 December settlement: the date the roll alert fires on
    assert "roll 2026-12-18, next BTCUSD_270326" in text
    sooner = dated_for(h, e.quotes_of_kind(Kind.INVERSE_FUTURE), NOW, roll_days=3)
    assert sooner is not None
    assert "roll 2026-12-22," in plain(risk_markup(h, dated=sooner))
