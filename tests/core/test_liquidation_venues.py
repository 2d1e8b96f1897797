"""Maintenance margin and liquidation price per venue.

Published examples used (each cited at its test):
- Binance FAQ "How to Calculate Liquidation Price of COIN-M Futures Contracts",
  https://www.binance.com/en/support/faq/ceccfcfb4e3a45e3b48b0b1bb1a8ae46
  (formula; 300 BTC -> 12.5 % and maintenance amount 11.605 BTC; 100 contracts at mark
  25,000 -> notional 0.4 BTC, maintenance margin 0.0016 BTC).
- Binance developer forum, "Coin-Margined Futures Liquidation Price Calculation Help",
  https://dev.binance.vision/t/coin-margined-futures-liquidation-price-calculation-help-cm-variable/6292
  (wallet 101 BTC, long 100,000 BTCUSD contracts at 45,000: Binance's calculator says
  33,599.40).
- Bybit help centre, "Liquidation Price Calculation under Isolated Mode (Unified Trading
  Account)", https://www.kbybit.com/en/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account
  (inverse formulas; the page's numeric example was not readable, so the formula itself is
  evaluated independently below).
- Deribit support "11 January 2022", https://support.deribit.com/hc/en-us/articles/25944826427293-11-January-2022
  (BTC MM 1 % + 0.005 % per BTC, ETH MM 1 % + 0.0004 % per ETH).
- OKX help "Calculation of contract's profit and loss" / liquidation FAQ (isolated
  coin-margined margin ratio = (margin + PnL) / (face·|n|/mark·(mmr + fee)), liquidation at
  100 %).
Where no worked example was found, the independent check is the definition itself: at the
liquidation price, equity equals the maintenance margin, and one step further is below it.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core import inverse
from core.instruments import BUILTIN_SPECS, lookup
from core.liquidation import liquidation_price, maintenance_margin_coin, tier_for

BINANCE_BTC = lookup("binance", "BTCUSD_PERP")


def test_binance_faq_tier_at_300_btc():
    tier = tier_for(BINANCE_BTC.tiers, 300.0)
    assert tier.mmr == 0.125
    assert tier.mm_amount_coin == pytest.approx(11.605, abs=1e-9)


def test_binance_faq_maintenance_margin_example():
    # 100 contracts (100 USD each) at mark 25,000: 0.4 BTC notional, level 1, 0.4 % - 0.
    assert maintenance_margin_coin(BINANCE_BTC, 100 * 100, 25_000) == pytest.approx(0.0016)


def test_binance_dev_forum_cross_long_example():
    # Binance's calculator: 33,599.40 (shown truncated to the 0.1 tick).
    liq = liquidation_price(BINANCE_BTC, "long", 10_000_000, 45_000, 101.0, mode="cross")
    assert liq is not None
    assert math.floor(liq * 10) / 10 == pytest.approx(33_599.4)
    # the bracket used is the one holding the notional at the liquidation price
    assert 200 < 10_000_000 / liq <= 400


def _binance_faq_formula(*, side: int, q: float, p0: float, wb: float, mmr: float, cum: float):
    """The FAQ's one-way formula for one isolated position (TMM = UPNL = 0), written out
    independently, with the size as USD face value (contracts × contract size):
    LP = (Q·MMR + side·Q) / (WB + cum + side·Q/EP), side = +1 long, −1 short."""
    return (q * mmr + side * q) / (wb + cum + side * q / p0)


@pytest.mark.parametrize(
    ("side", "q", "p0", "wb"),
    [
        ("short", 1_000_000, 40_000, 5.0),  # 25 BTC at entry
        ("short", 20_000_000, 50_000, 100.0),  # 400 BTC: crosses brackets
        ("long", 2_000_000, 30_000, 10.0),
        ("long", 500, 60_000, 0.0005),  # tiny, level 1
    ],
)
def test_binance_matches_faq_formula_in_the_bracket_at_liq(side, q, p0, wb):
    liq = liquidation_price(BINANCE_BTC, side, q, p0, wb)
    assert liq is not None
    tier = tier_for(BINANCE_BTC.tiers, q / liq)
    s = 1 if side == "long" else -1
    expected = _binance_faq_formula(
        side=s, q=q, p0=p0, wb=wb, mmr=tier.mmr, cum=tier.mm_amount_coin
    )
    assert liq == pytest.approx(expected, rel=1e-12)


def test_bybit_uta_inverse_formulas():
    # LP_long = Q(1 + MMR) / (Q/P0 + Q/P0/L + extra + deduction); short with minus signs.
    spec = lookup("bybit", "BTCUSD")  # base MMR 0.5 %
    q, p0, lev, extra = 60_000.0, 50_000.0, 10.0, 0.01
    im = q / p0 / lev
    long_expected = q * (1 + 0.005) / (q / p0 + im + extra)
    short_expected = q * (1 - 0.005) / (q / p0 - im - extra)
    assert liquidation_price(spec, "long", q, p0, im + extra) == pytest.approx(long_expected)
    assert liquidation_price(spec, "short", q, p0, im + extra) == pytest.approx(short_expected)
    # cross: the wallet balance is the margin (one position per coin wallet)
    assert liquidation_price(spec, "short", q, p0, 0.3, mode="cross") == pytest.approx(
        q * 0.995 / (q / p0 - 0.3)
    )


def test_okx_ratio_includes_taker_fee():
    spec = lookup("okx", "BTC-USD-SWAP")
    q, p0, m = 100 * 100.0, 40_000.0, 0.05  # 100 contracts, 0.05 BTC isolated margin
    liq = liquidation_price(spec, "short", q, p0, m)
    assert liq is not None
    rate = spec.tiers[0].mmr + 0.0005
    ratio = (m + inverse.pnl_coin("short", q, p0, liq)) / (q / liq * rate)
    assert ratio == pytest.approx(1.0)


def test_deribit_maintenance_grows_with_size():
    btc, eth = lookup("deribit", "BTC-PERPETUAL"), lookup("deribit", "ETH-PERPETUAL")
    # 200 BTC position: 1 % + 200 * 0.005 % = 2 % -> 4 BTC
    assert maintenance_margin_coin(btc, 200 * 50_000, 50_000) == pytest.approx(4.0)
    # 10,000 ETH position: 1 % + 10,000 * 0.0004 % = 5 % -> 500 ETH
    assert maintenance_margin_coin(eth, 10_000 * 3_000, 3_000) == pytest.approx(500.0)


def test_overrides_replace_the_table():
    spec = lookup("binance", "BTCUSD")
    mm = maintenance_margin_coin(spec, 1_000_000, 50_000, mmr=0.02, mm_amount_coin=0.1)
    assert mm == pytest.approx(20 * 0.02 - 0.1)
    liq = liquidation_price(spec, "long", 1_000_000, 50_000, 2.0, mmr=0.02, mm_amount_coin=0.1)
    assert liq == pytest.approx(1_000_000 * 1.02 / (2.0 + 20 + 0.1))


def test_bad_arguments_raise_value_error():
    spec = lookup("bybit", "BTCUSD")
    with pytest.raises(ValueError, match="side"):
        liquidation_price(spec, "flat", 1, 1, 1)
    with pytest.raises(ValueError, match="mode"):
        liquidation_price(spec, "short", 1, 1, 1, mode="portfolio")
    with pytest.raises(ValueError, match="size_usd"):
        liquidation_price(spec, "short", 0, 1, 1)


# --- properties ----------------------------------------------------------------------------

specs = st.sampled_from(BUILTIN_SPECS)
prices = st.floats(min_value=0.05, max_value=200_000, allow_nan=False)
sizes = st.floats(min_value=10.0, max_value=5e7, allow_nan=False)
leverages = st.floats(min_value=1.0, max_value=50.0, allow_nan=False)


def _gap(spec, side, q, p0, m, *, price):
    """equity − maintenance margin at ``price``."""
    return inverse.equity_coin(m, side, q, p0, price) - maintenance_margin_coin(spec, q, price)


@settings(max_examples=150, deadline=None)
@given(spec=specs, side=st.sampled_from(["short", "long"]), q=sizes, p0=prices, lev=leverages)
def test_equity_equals_maintenance_at_liq_and_adverse_side_is_below(spec, side, q, p0, lev):
    m = q / p0 / lev
    assume(m > maintenance_margin_coin(spec, q, p0) * 1.0001)  # opens above maintenance
    liq = liquidation_price(spec, side, q, p0, m)
    if liq is None:
        assert side == "short"
        return
    scale = max(m, q / p0, q / liq)  # the largest term of the equation, in coin
    assert _gap(spec, side, q, p0, m, price=liq) == pytest.approx(0.0, abs=1e-9 * scale)
    worse = liq * (1.001 if side == "short" else 0.999)
    better = liq * (0.999 if side == "short" else 1.001)
    assert _gap(spec, side, q, p0, m, price=worse) < 0
    assert _gap(spec, side, q, p0, m, price=better) > 0


@settings(max_examples=150, deadline=None)
@given(spec=specs, q=sizes, p0=prices, extra=st.floats(min_value=0, max_value=10))
def test_one_x_same_coin_short_is_never_liquidated(spec, q, p0, extra):
    assert liquidation_price(spec, "short", q, p0, q / p0 * (1 + extra)) is None


@settings(max_examples=150, deadline=None)
@given(
    spec=specs,
    side=st.sampled_from(["short", "long"]),
    q=sizes,
    p0=prices,
    lev=st.floats(min_value=1.05, max_value=50.0),
    more=st.floats(min_value=1.01, max_value=3.0),
)
def test_more_margin_moves_liq_price_away(spec, side, q, p0, lev, more):  # noqa: PLR0917
    m = q / p0 / lev
    assume(m > maintenance_margin_coin(spec, q, p0) * 1.0001)  # opens above maintenance
    before = liquidation_price(spec, side, q, p0, m)
    after = liquidation_price(spec, side, q, p0, m * more)
    assume(before is not None)
    if side == "short":
        assert after is None or after > before
    else:
        assert after is not None
        assert after < before


@settings(max_examples=200, deadline=None)
@given(spec=specs, q=sizes, p0=prices, lev=st.floats(min_value=1.05, max_value=50.0))
def test_leveraged_positions_liquidate_before_bankruptcy(spec, q, p0, lev):
    """Short liq below the bankruptcy price (equity 0), long liq above it, for positions
    that open above maintenance (the venue would refuse the others)."""
    m = q / p0 / lev
    assume(m > maintenance_margin_coin(spec, q, p0) * 1.0001)
    short = liquidation_price(spec, "short", q, p0, m)
    assert short is not None
    bankrupt_short = q / (q / p0 - m)  # M + Q/P − Q/P0 = 0
    assert p0 < short < bankrupt_short
    long = liquidation_price(spec, "long", q, p0, m)
    bankrupt_long = q / (q / p0 + m)
    assert long is not None
    assert bankrupt_long < long < p0
