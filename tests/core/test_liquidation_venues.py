"""Maintenance margin, liquidation and bankruptcy prices per venue.

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
  Account)", 2024-09-10 copy,
  https://bybit.nl/nl-NL/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account
  (short 60,000 USD at 50,000, 10x, mmr 0.5 %: PV 1.2 BTC, IM 0.12 BTC; the liquidation
  price 55,248.62 is the page's as quoted in issue 9 — the stored copy stops before it).
- Bybit help, "How to calculate Liquidation Price (Inverse Contract)",
  https://help.bybit.com/hc/en-us/articles/360039261334-How-to-calculate-Liquidation-Price-Inverse-Contract-
  (cross: 0.5 BTC, long 10,000 at 8,000, mmr 0.5 %, fee 0.075 %: bankruptcy 5,718.57,
  liquidation 5,739.50).
- Deribit support "11 January 2022", https://support.deribit.com/hc/en-us/articles/25944826427293-11-January-2022
  (BTC MM 1 % + 0.005 % per BTC, ETH MM 1 % + 0.0004 % per ETH); the linear-perpetual page's
  "1% + 25 * 0.005% = 1.125%" (research/exchanges.md D3).
- OKX "Tiered Maintenance Margin Ratio System",
  https://support.okexcn.com/hc/en-us/articles/360040581412-Tiered-Maintenance-Margin-Ratio-System
  (margin ratio = (margin + UPL) / position value, liquidation below mmr + fee rate). No OKX
  worked example is in the stored copies: the check is the page's definition itself.
Where no worked example was found, the independent check is the definition itself: at the
liquidation price, equity equals the venue's threshold, and one step further is below it.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core import inverse
from core.instruments import BUILTIN_SPECS, lookup
from core.liquidation import (
    MarginModel,
    assess,
    bankruptcy_price,
    liquidation_price,
    maintenance_margin_coin,
    margin_model,
    tier_for,
)

BINANCE_BTC = lookup("binance", "BTCUSD_PERP")
BYBIT_BTC = lookup("bybit", "BTCUSD")


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
    result = assess(BINANCE_BTC, "long", 10_000_000, 45_000, 101.0, mode="cross")
    assert result.model is MarginModel.BINANCE_CROSS
    assert result.tier.mmr == 0.125


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


# --- Bybit ---------------------------------------------------------------------------------


def test_bybit_isolated_worked_example_2024_page():
    # Bybit UTA isolated (2024-09-10 copy): 60,000 USD short at 50,000, 10x, mmr 0.5 %.
    q, p0 = 60_000.0, 50_000.0
    pv = q / p0
    im = pv / 10
    assert (pv, im) == pytest.approx((1.2, 0.12))  # the page's own lines
    r = assess(BYBIT_BTC, "short", q, p0, im, mark=p0)
    assert r.model is MarginModel.BYBIT_ISOLATED
    assert maintenance_margin_coin(BYBIT_BTC, q, 57_000, entry=p0) == pytest.approx(0.006)
    assert r.price is not None
    assert round(r.price, 2) == 55_248.62  # Q / (PV − (IM − MM)) = 60,000 / 1.086
    assert r.bankruptcy_price == pytest.approx(q / (pv - im))  # 0 % margin: 55,555.56
    assert r.close_fee_coin == 0.0  # the page leaves the fee to close out
    # the old code (and the page's 2026 copy) put MM on the value at the mark: 55,277.78
    mark_value = q * (1 - 0.005) / (pv - im)
    assert round(mark_value, 2) == 55_277.78
    assert abs(r.price - mark_value) > 25


def test_bybit_cross_worked_example_legacy_page():
    # Legacy Bybit cross: 0.5 BTC, long 10,000 at 8,000, mmr 0.5 %, taker 0.075 %; the page
    # prints BP 5,718.57 and LP 5,739.50 (Bybit rounds a long's price up to its 0.5 tick).
    r = assess(BYBIT_BTC, "long", 10_000, 8_000, 0.5, mode="cross", mmr=0.005, fee_rate=0.00075)
    assert r.model is MarginModel.BYBIT_CROSS
    assert r.bankruptcy_price is not None
    assert r.price is not None
    assert round(r.bankruptcy_price, 2) == 5_718.57
    assert math.ceil(r.price / BYBIT_BTC.tick_size) * BYBIT_BTC.tick_size == 5_739.50
    assert r.close_fee_coin == pytest.approx(10_000 * 0.00075 / r.bankruptcy_price)
    # MM on the value at the mark would print 5,747.50: the page values it at the entry
    mark_value = 10_000 * (1 + 0.005) / (0.5 + 10_000 / 8_000 - r.close_fee_coin)
    assert math.ceil(mark_value / 0.5) * 0.5 == 5_747.50


def test_bybit_one_x_short_has_a_far_but_finite_liquidation_price():
    # 1x: M = Q/P0; equity Q/P falls to the fixed MM = Q/P0·mmr at P = P0/mmr (200x).
    q, p0 = 40_000.0, 40_000.0
    for mode in ("isolated", "cross"):
        r = assess(BYBIT_BTC, "short", q, p0, q / p0, mode=mode, mark=p0)
        assert r.price == pytest.approx(p0 / 0.005)
        assert r.beyond_far
        assert r.bankruptcy_price is None  # the wallet backs the short at every price
    # what does stop it being liquidated: a wallet above Q/P0 + MM
    assert liquidation_price(BYBIT_BTC, "short", q, p0, q / p0 * 1.006) is None


def test_bybit_risk_limit_deduction_is_used_in_tier_two():
    # 200 BTC of entry value: tier 2 (1 %), deduction 150 × (1 % − 0.5 %) = 0.75 BTC.
    q, p0 = 200 * 50_000.0, 50_000.0
    tier = tier_for(BYBIT_BTC.tiers, q / p0)
    assert (tier.mmr, tier.mm_amount_coin) == (0.01, pytest.approx(0.75))
    assert maintenance_margin_coin(BYBIT_BTC, q, 70_000, entry=p0) == pytest.approx(2 - 0.75)
    r = assess(BYBIT_BTC, "short", q, p0, 50.0)
    assert r.price == pytest.approx(q / (200 - 50 + 1.25))


def test_bybit_tiers_above_300_btc_are_marked_estimates():
    assert not tier_for(BYBIT_BTC.tiers, 150).estimate
    assert not tier_for(BYBIT_BTC.tiers, 300).estimate
    assert tier_for(BYBIT_BTC.tiers, 301).estimate
    assert "estimated" in BYBIT_BTC.tier_source.note


# --- OKX -----------------------------------------------------------------------------------


def test_okx_ratio_includes_taker_fee():
    spec = lookup("okx", "BTC-USD-SWAP")
    q, p0, m = 100 * 100.0, 40_000.0, 0.05  # 100 contracts, 0.05 BTC isolated margin
    liq = liquidation_price(spec, "short", q, p0, m)
    assert liq is not None
    rate = spec.tiers[0].mmr + 0.0005
    ratio = (m + inverse.pnl_coin("short", q, p0, liq)) / (q / liq * rate)
    assert ratio == pytest.approx(1.0)


def test_okx_cross_uses_the_cross_balance_with_the_same_ratio():
    spec = lookup("okx", "BTC-USD-SWAP")
    q, p0, balance = 100 * 100.0, 40_000.0, 0.08
    cross = assess(spec, "short", q, p0, balance, mode="cross")
    assert cross.model is MarginModel.OKX_CROSS
    assert cross.price is not None
    # cross margin ratio (balance + UPL) / position value = mmr + fee at the liquidation price
    rate = spec.tiers[0].mmr + spec.taker_fee_rate
    assert (balance + inverse.pnl_coin("short", q, p0, cross.price)) / (
        q / cross.price
    ) == pytest.approx(rate)
    iso = assess(spec, "short", q, p0, balance, mode="isolated")
    assert iso.model is MarginModel.OKX_ISOLATED
    assert iso.price == pytest.approx(cross.price)  # one position: the same equation


def test_okx_tier_is_chosen_by_contracts_not_price():
    spec = replace(
        lookup("okx", "BTC-USD-SWAP"),
        tiers=(
            replace(lookup("okx", "BTC-USD-SWAP").tiers[0], cap=2_000_000.0),
            replace(lookup("okx", "BTC-USD-SWAP").tiers[0], cap=math.inf, mmr=0.01),
        ),
    )
    # 30,000 contracts = 3,000,000 USD face: tier 2 at every price
    for price in (20_000.0, 60_000.0, 200_000.0):
        mm = maintenance_margin_coin(spec, 3_000_000.0, price)
        assert mm == pytest.approx(3_000_000.0 / price * (0.01 + 0.0005))


# --- Deribit -------------------------------------------------------------------------------


def test_deribit_maintenance_grows_with_size():
    btc, eth = lookup("deribit", "BTC-PERPETUAL"), lookup("deribit", "ETH-PERPETUAL")
    # 25 BTC: 1 % + 25 × 0.005 % = 1.125 % -> 0.28125 BTC (research D3)
    assert maintenance_margin_coin(btc, 25 * 40_000, 40_000) == pytest.approx(0.28125)
    # 200 BTC position: 1 % + 200 * 0.005 % = 2 % -> 4 BTC
    assert maintenance_margin_coin(btc, 200 * 50_000, 50_000) == pytest.approx(4.0)
    # 10,000 ETH position: 1 % + 10,000 * 0.0004 % = 5 % -> 500 ETH
    assert maintenance_margin_coin(eth, 10_000 * 3_000, 3_000) == pytest.approx(500.0)
    assert margin_model(btc, "isolated") is margin_model(btc, "cross") is MarginModel.DERIBIT


# --- common --------------------------------------------------------------------------------


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


def test_bankruptcy_price_is_zero_equity():
    q, p0, m = 60_000.0, 50_000.0, 0.12
    short = bankruptcy_price("short", q, p0, m)
    long = bankruptcy_price("long", q, p0, m)
    assert short is not None
    assert inverse.equity_coin(m, "short", q, p0, short) == pytest.approx(0.0, abs=1e-12)
    assert inverse.equity_coin(m, "long", q, p0, long) == pytest.approx(0.0, abs=1e-12)
    assert bankruptcy_price("short", q, p0, q / p0) is None


def test_under_maintenance_at_the_mark_is_reported():
    # 500x on Binance BTC: the 0.4 % maintenance already exceeds the 0.2 % margin
    r = assess(BINANCE_BTC, "short", 100_000, 50_000, 100_000 / 50_000 / 500, mark=50_000)
    assert r.under_maintenance
    assert r.price is not None
    assert r.price < 50_000
    ok = assess(BINANCE_BTC, "short", 100_000, 50_000, 100_000 / 50_000 / 20, mark=50_000)
    assert not ok.under_maintenance


# --- properties ----------------------------------------------------------------------------

specs = st.sampled_from(BUILTIN_SPECS)
modes = st.sampled_from(["isolated", "cross"])
sides = st.sampled_from(["short", "long"])
prices = st.floats(min_value=0.05, max_value=200_000, allow_nan=False)
sizes = st.floats(min_value=10.0, max_value=5e7, allow_nan=False)
leverages = st.floats(min_value=1.0, max_value=50.0, allow_nan=False)
NO_TIER_SHRINK = ("binance", "okx", "deribit")  # MM on the mark value


def _gap(spec, side, q, p0, m, *, price, mode):
    """equity − the venue's threshold at ``price`` (MM, plus Bybit cross's fee to close)."""
    r = assess(spec, side, q, p0, m, mode=mode, mark=price)
    assert r.maintenance_coin is not None
    return inverse.equity_coin(m, side, q, p0, price) - r.maintenance_coin


def _opens_above_maintenance(spec, side, q, p0, m, mode) -> bool:  # noqa: PLR0917
    return not assess(spec, side, q, p0, m, mode=mode, mark=p0).under_maintenance


@settings(max_examples=200, deadline=None)
@given(spec=specs, side=sides, mode=modes, q=sizes, p0=prices, lev=leverages)
def test_equity_equals_the_threshold_at_liq_and_adverse_side_is_below(  # noqa: PLR0917
    spec, side, mode, q, p0, lev
):
    m = q / p0 / lev
    assume(_opens_above_maintenance(spec, side, q, p0, m, mode))
    assume(_gap(spec, side, q, p0, m, price=p0, mode=mode) > 1e-4 * q / p0)
    liq = liquidation_price(spec, side, q, p0, m, mode=mode)
    if liq is None:
        assert side == "short"
        return
    scale = max(m, q / p0, q / liq)  # the largest term of the equation, in coin
    assert _gap(spec, side, q, p0, m, price=liq, mode=mode) == pytest.approx(0.0, abs=1e-9 * scale)
    worse = liq * (1.001 if side == "short" else 0.999)
    better = liq * (0.999 if side == "short" else 1.001)
    assert _gap(spec, side, q, p0, m, price=worse, mode=mode) < 0
    assert _gap(spec, side, q, p0, m, price=better, mode=mode) > 0


@settings(max_examples=200, deadline=None)
@given(
    spec=st.sampled_from([s for s in BUILTIN_SPECS if s.venue in NO_TIER_SHRINK]),
    mode=modes,
    q=sizes,
    p0=prices,
    extra=st.floats(min_value=0, max_value=10),
)
def test_binance_okx_deribit_one_x_same_coin_short_never_liquidates(spec, mode, q, p0, extra):
    r = assess(spec, "short", q, p0, q / p0 * (1 + extra), mode=mode)
    assert r.price is None
    assert r.bankruptcy_price is None


@settings(max_examples=200, deadline=None)
@given(
    spec=st.sampled_from([s for s in BUILTIN_SPECS if s.venue == "bybit"]),
    mode=modes,
    q=sizes,
    p0=prices,
)
def test_bybit_one_x_short_liquidates_where_equity_meets_the_entry_value_margin(spec, mode, q, p0):
    m = q / p0  # 1x
    liq = liquidation_price(spec, "short", q, p0, m, mode=mode)
    assert liq is not None
    entry_mm = maintenance_margin_coin(spec, q, liq, entry=p0)
    tier = tier_for(spec.tiers, q / p0)
    assert entry_mm == pytest.approx(q / p0 * tier.mmr - tier.mm_amount_coin)
    # equity Q/P at the liquidation price is that fixed margin (no fee: nothing to go bankrupt)
    assert inverse.equity_coin(m, "short", q, p0, liq) == pytest.approx(entry_mm, rel=1e-9)
    assert liq == pytest.approx(q / entry_mm, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    spec=specs,
    side=sides,
    mode=modes,
    q=sizes,
    p0=prices,
    lev=st.floats(min_value=1.05, max_value=50.0),
    more=st.floats(min_value=1.01, max_value=3.0),
)
def test_more_margin_moves_liq_price_away(spec, side, mode, q, p0, lev, more):  # noqa: PLR0917
    m = q / p0 / lev
    assume(_opens_above_maintenance(spec, side, q, p0, m, mode))
    before = liquidation_price(spec, side, q, p0, m, mode=mode)
    after = liquidation_price(spec, side, q, p0, m * more, mode=mode)
    assume(before is not None)
    if side == "short":
        assert after is None or after > before
    else:
        assert after is not None
        assert after < before


@settings(max_examples=200, deadline=None)
@given(spec=specs, mode=modes, q=sizes, p0=prices, lev=st.floats(min_value=1.05, max_value=50.0))
def test_leveraged_positions_liquidate_before_bankruptcy(spec, mode, q, p0, lev):
    """Short liq below the bankruptcy price, long liq above it, for positions that open
    above maintenance (the venue would refuse the others)."""
    m = q / p0 / lev
    for side in ("short", "long"):
        if not _opens_above_maintenance(spec, side, q, p0, m, mode):
            continue
        r = assess(spec, side, q, p0, m, mode=mode)
        assert r.price is not None
        assert r.bankruptcy_price is not None
        if side == "short":
            assert p0 < r.price < r.bankruptcy_price
        else:
            assert r.bankruptcy_price < r.price < p0
