"""The hedge review: risk hedged against unhedged and the cost decomposed, each figure
worked by hand (definitions in ``core.review``)."""

from __future__ import annotations

import pytest

from core.events import Fill, FundingEvent, OrderSide
from core.review import BasisLeg, basis_drag_usd, max_drawdown, review, slippage_usd, variance


def _fill(side: OrderSide, price: float, mark: float | None, *, ts: int = 5) -> Fill:
    return Fill(
        ts_ms=ts, hedge_id="h", venue="binance", symbol="BTCUSD_PERP", side=side,
        contracts=100, size_usd=10_000.0, price=price, fee_coin=0.0001,
        realized_pnl_coin=0.0, contracts_after=100, entry_after=price, mark=mark,
    )  # fmt: skip


def test_variance_and_drawdown_by_hand() -> None:
    assert variance([1.0, 3.0]) == 1.0
    assert variance([2.0]) is None
    dd = max_drawdown([(0, 100.0), (1, 120.0), (2, 90.0), (3, 130.0), (4, 125.0)])
    assert dd is not None
    assert (dd.usd, dd.peak_ms, dd.trough_ms) == (30.0, 1, 2)
    assert dd.pct == pytest.approx(25.0)


def test_slippage_against_the_mark() -> None:
    # a sell of 10,000 USD at 49,950 against mark 50,000: the short holds
    # 10,000/49,950 − 10,000/50,000 coin less than at the mark... valued at the mark
    sell = slippage_usd(_fill(OrderSide.SELL, 49_950.0, 50_000.0))
    assert sell == pytest.approx(10_000.0 * (1 / 50_000 - 1 / 49_950) * 50_000)
    assert sell is not None
    assert sell < 0
    buy = slippage_usd(_fill(OrderSide.BUY, 50_050.0, 50_000.0))
    assert buy is not None
    assert buy < 0
    assert slippage_usd(_fill(OrderSide.SELL, 50_010.0, 50_000.0)) > 0  # type: ignore[operator]
    assert slippage_usd(_fill(OrderSide.SELL, 50_000.0, None)) is None


def test_basis_drag_is_the_premium_earned_as_it_narrows() -> None:
    leg = BasisLeg("h", "short", 100_000.0, 50_000.0, 0.2, 50_000.0, 0.0)
    # P1/P0 = 1, b0 = 0.2 %, b1 = 0: Q·0.002 = 200 USD earned by the short
    assert basis_drag_usd(leg) == pytest.approx(200.0)
    assert basis_drag_usd(BasisLeg("h", "short", 1e5, 5e4, 0.0, 5e4, 0.1)) < 0


def test_review_of_a_perfect_hedge_in_a_rally() -> None:
    # unhedged rises 100 -> 110 -> 105 -> 120; hedged stays 100, 100.5, 100, 100
    pts = [(0, 100.0, 100.0), (1, 100.5, 110.0), (2, 100.0, 105.0), (3, 100.0, 120.0)]
    funding = [
        FundingEvent(ts_ms=1, hedge_id="h", venue="binance", symbol="X", rate=0.0001,
                     mark=50_000.0, size_usd=1e4, amount_coin=0.00002),
        FundingEvent(ts_ms=2, hedge_id="h", venue="binance", symbol="X", rate=-0.0001,
                     mark=50_000.0, size_usd=1e4, amount_coin=-0.00001),
        FundingEvent(ts_ms=99, hedge_id="h", venue="binance", symbol="X", rate=0.0001,
                     mark=50_000.0, size_usd=1e4, amount_coin=1.0),  # outside the range
    ]  # fmt: skip
    fills = [_fill(OrderSide.SELL, 49_950.0, 50_000.0, ts=1), _fill(OrderSide.BUY, 1.0, None)]
    leg = BasisLeg("h", "short", 100_000.0, 50_000.0, 0.2, 50_000.0, 0.0)
    r = review(pts, fills, funding, [leg], start_ms=0, end_ms=10)
    # changes: hedged +0.5, −0.5, 0 (mean 0, var 1/6); unhedged +10, −5, +15 (mean 20/3,
    # squared deviations (100 + 1225 + 625)/9, var 650/9)
    assert r.variance == pytest.approx(1 / 6)
    assert r.unhedged_variance == pytest.approx(650 / 9)
    assert r.variance_cut_pct == pytest.approx((1 - (1 / 6) / (650 / 9)) * 100)
    assert r.change_usd == 0.0
    assert r.unhedged_change_usd == 20.0
    assert r.saved_usd == -20.0
    assert r.unhedged_drawdown is not None
    assert r.unhedged_drawdown.usd == 5.0
    assert r.funding_received_usd == pytest.approx(1.0)
    assert r.funding_paid_usd == pytest.approx(-0.5)
    assert r.settlements == 2
    assert r.fees_usd == pytest.approx(-(0.0001 * 49_950.0 + 0.0001 * 1.0))
    assert r.slippage_unknown_fills == 1
    assert r.slippage_usd == pytest.approx(slippage_usd(fills[0]))  # type: ignore[arg-type]
    assert r.basis_usd == pytest.approx(200.0)
    # upside given away: steps where unhedged rose: (10 − 0.5) + (15 − 0) = 24.5
    assert r.upside_given_usd == pytest.approx(24.5)
    assert r.cost_usd == pytest.approx(1.0 - 0.5 + r.fees_usd + r.slippage_usd + 200.0)


def test_review_of_nothing_says_unknown() -> None:
    r = review([], [], [], None, start_ms=0, end_ms=10)
    assert r.variance is None
    assert r.variance_cut_pct is None
    assert r.basis_usd is None
    assert r.cost_usd is None
    assert r.saved_usd is None
