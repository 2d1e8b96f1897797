"""core.inverse against the exchanges' own worked examples, plus hypothesis properties.

Sources (each cited where used):
- Bybit help centre, "P&L calculations (Inverse Contracts)",
  https://help.bybit.com/hc/en-us/articles/900000404726-P-L-calculations-Inverse-Contracts-
- BitMEX "Inverse Futures Guide", https://www.bitmex.com/app/inverseFuturesGuide
- OKX help, "Calculation of contract's profit and loss",
  https://www.okx.com/help/iii-calculation-of-contract-profit-and-loss
- Bybit help centre, "Funding Fee Calculation" (positive rate: longs pay shorts),
  https://www.bybit.com/en/help-center/article/Funding-fee-calculationDerivatives_Trading_Mechanism_UTA
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import inverse

prices = st.floats(min_value=1.0, max_value=1e6, allow_nan=False, allow_infinity=False)
sizes = st.floats(min_value=1.0, max_value=1e8, allow_nan=False, allow_infinity=False)
coins = st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False)


def test_bybit_long_unrealised_pnl_example():
    # Bybit P&L (Inverse): 1,000 qty long at 5,000, last 5,500 -> "1,000 x 0.00001819 BTC =
    # 0.01819 BTC": the page states the per-contract value in whole satoshis (8 decimals,
    # rounded up), so the product may differ by up to 1 satoshi per contract (1e-5 BTC here).
    assert inverse.pnl_coin("long", 1, 5000, 5500) == pytest.approx(0.00001819, abs=1e-8)
    assert inverse.pnl_coin("long", 1000, 5000, 5500) == pytest.approx(0.01819, abs=1e-5)


def test_bybit_average_entry_example():
    # Bybit P&L (Inverse): 1,000 at 5,000 then 2,000 at 6,000 -> AEP 5,625.00 USD.
    assert inverse.average_entry(1000, 5000, 2000, 6000) == pytest.approx(5625.0, abs=0.005)


def test_bitmex_inverse_futures_example():
    # BitMEX Inverse Futures Guide: long 100,000 contracts (1 USD each) at 10,000, sold at
    # 10,500: profit 100,000 * (1/10000 - 1/10500) = 0.4762 XBT.
    assert inverse.realized_pnl_coin("long", 100_000, 10_000, 10_500) == pytest.approx(
        0.4762, abs=5e-5
    )
    # and its short counterpart loses exactly that
    assert inverse.pnl_coin("short", 100_000, 10_000, 10_500) == pytest.approx(-0.47619, 1e-4)


def test_okx_coin_margined_entry_and_pnl_formulas():
    # OKX: coin-margined entry = (n1 + n2) / (n1/P1 + n2/P2) (face value cancels); a worked
    # example quoted from it: 10 contracts at 100,000 then 5 at 80,000 -> ~92,307 USD.
    face = 100.0
    entry = inverse.average_entry(10 * face, 100_000, 5 * face, 80_000)
    assert entry == pytest.approx(92_307.69, abs=0.01)
    # OKX short P&L = face * |n| * (1/mark - 1/avg open): 15 contracts, mark 90,000.
    expected = face * 15 * (1 / 90_000 - 1 / entry)
    assert inverse.pnl_coin("short", 15 * face, entry, 90_000) == pytest.approx(expected)


def test_short_pnl_in_usd_is_linear_in_price():
    # DESIGN.md §5: short PnL in USD at mark = Q * (1 - P/P0).
    assert inverse.pnl_usd("short", 10_000, 50_000, 40_000) == pytest.approx(2_000.0)
    assert inverse.pnl_usd("short", 10_000, 50_000, 60_000) == pytest.approx(-2_000.0)


def test_funding_sign_and_amount():
    # Bybit funding: fee = position value x rate, position value of an inverse position =
    # qty / mark; positive rate: longs pay shorts.
    assert inverse.funding_coin("short", 50_000, 50_000, 0.0001) == pytest.approx(0.0001)
    assert inverse.funding_coin("long", 50_000, 50_000, 0.0001) == pytest.approx(-0.0001)
    assert inverse.funding_coin("short", 50_000, 50_000, -0.0002) == pytest.approx(-0.0002)
    # 0.01 % every 8 h is 10.95 % a year
    assert inverse.funding_apr_pct(0.0001, 8 * 3600 * 1000) == pytest.approx(10.95)


def test_basis_and_distance():
    assert inverse.basis_usd(50_100, 50_000) == pytest.approx(100)
    assert inverse.basis_pct(50_100, 50_000) == pytest.approx(0.2)
    assert inverse.liq_distance_pct(55_000, 50_000) == pytest.approx(10.0)
    assert inverse.liq_distance_pct(None, 50_000) is None


def test_hedge_ratio_and_net_delta_count_the_margin():
    # 1 BTC spot + 0.5 BTC margin, short 75,000 USD at 50,000 (1.5 BTC): fully hedged.
    assert inverse.hedge_ratio(1.0, 0.5, 75_000, 50_000) == pytest.approx(1.0)
    assert inverse.net_delta_coin(1.0, 0.5, 75_000, 50_000) == pytest.approx(0.0)
    assert inverse.hedge_ratio(0.0, 0.0, 75_000, 50_000) is None


@settings(max_examples=200, deadline=None)
@given(q=sizes, p0=prices, p=prices)
def test_long_and_short_pnl_mirror(q, p0, p):
    assert inverse.pnl_coin("long", q, p0, p) == -inverse.pnl_coin("short", q, p0, p)
    assert inverse.pnl_usd("long", q, p0, p) == -inverse.pnl_usd("short", q, p0, p)


@settings(max_examples=200, deadline=None)
@given(spot=coins, margin=coins, p0=prices, p=prices)
def test_ratio_one_portfolio_keeps_its_usd_value(spot, margin, p0, p):
    """Spot S + wallet M + short Q = (S + M)·P0 (ratio 1) is worth Q at every price."""
    q = (spot + margin) * p0
    value_at_entry = inverse.portfolio_value_usd(spot, margin, q, p0, p0)
    value_now = inverse.portfolio_value_usd(spot, margin, q, p0, p)
    # and the same value built from the parts: spot + wallet equity, both at P
    parts = spot * p + inverse.equity_coin(margin, "short", q, p0, p) * p
    assert value_now == pytest.approx(value_at_entry, rel=1e-9, abs=1e-6)
    assert parts == pytest.approx(value_at_entry, rel=1e-9, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(q=sizes, p0=prices, add=sizes, p=prices)
def test_harmonic_entry_adds_coin_values(q, p0, add, p):
    entry = inverse.average_entry(q, p0, add, p)
    assert (q + add) / entry == pytest.approx(q / p0 + add / p, rel=1e-12)
    assert min(p0, p) * (1 - 1e-12) <= entry <= max(p0, p) * (1 + 1e-12)


def test_funding_usd_is_rate_times_face_value():
    # in USD at the settling mark: Q/P·rate·P = Q·rate
    assert inverse.funding_usd("short", 50_000, 0.0001) == pytest.approx(5.0)
    assert inverse.funding_usd("long", 50_000, 0.0001) == pytest.approx(-5.0)
    assert inverse.funding_coin("short", 50_000, 40_000, 0.0001) * 40_000 == pytest.approx(
        inverse.funding_usd("short", 50_000, 0.0001)
    )


def test_next_funding_on_the_8h_grid_and_continuous_deribit():
    h = 3600 * 1000
    day = 1_700_006_400_000  # 2023-11-15 00:00:00 UTC
    assert day % (24 * h) == 0
    assert inverse.next_funding_ms(day + 1, 8 * h) == day + 8 * h
    assert inverse.next_funding_ms(day + 8 * h, 8 * h) == day + 16 * h  # strictly after
    assert inverse.next_funding_ms(day + 23 * h, 8 * h) == day + 24 * h
    assert inverse.next_funding_ms(day, None) is None  # Deribit: continuous
    assert inverse.funding_countdown_ms(day + 5 * h, day + 8 * h) == 3 * h
    assert inverse.funding_countdown_ms(day + 9 * h, day + 8 * h) == 0
    assert inverse.funding_countdown_ms(day, None) is None
    with pytest.raises(ValueError, match="interval_ms"):
        inverse.next_funding_ms(day, 0)
