"""Target-ratio sizing and proxy hedges.

Independent checks: every result is replayed trade by trade with the primitives of
core.inverse (harmonic entry on adds, realised PnL into the wallet on reduces), and the
rounding is checked by bracketing: one lot less and one lot more land on both sides of the
target.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core import inverse
from core.instruments import BUILTIN_SPECS, ContractSpec, lookup
from core.sizing import hedged_coin, proxy_hedge, ratio_after, size_for_ratio


def _replay_ratio(
    spec: ContractSpec, *, spot: float, margin: float, q: float, p0: float | None, p: float,
    delta_contracts: int,
) -> float | None:  # fmt: skip
    """Hedge ratio after the trade, from core.inverse primitives only."""
    change = delta_contracts * spec.face_value_usd
    if change >= 0:
        entry = inverse.average_entry(q, p0, change, p) if q > 0 and p0 else p
        size, wallet = q + change, margin
    else:
        r = min(-change, q)  # a buy never turns the short into a long
        if r == 0 or p0 is None:
            return inverse.hedge_ratio(spot, margin, 0.0, p)
        wallet = margin + inverse.realized_pnl_coin("short", r, p0, p)
        size, entry = q - r, p0
    if size == 0:
        return 0.0 if spot + wallet > 0 else None
    return inverse.hedge_ratio(spot, wallet, size, entry)


def test_fresh_hedge_of_one_btc_on_bybit():
    spec = lookup("bybit", "BTCUSD")  # 1 USD contracts
    res = size_for_ratio(
        spec, 1.0, spot_coin=1.0, margin_coin=0.0, current_size_usd=0.0, current_entry=None,
        price=50_000.0,
    )  # fmt: skip
    # hedging 1 BTC at 50,000 is 50,000 USD of face value
    assert (res.contracts, res.delta_contracts, res.size_usd) == (50_000, 50_000, 50_000.0)
    assert res.reached_ratio == pytest.approx(1.0)


def test_reduce_counts_realised_pnl_into_the_wallet():
    # Short 55,000 USD at 50,000 (1.1 BTC) against 1 BTC spot + 0.1 BTC margin; price 60,000;
    # target 0.5. Buying back r at 60,000 realises r(1/60000 − 1/50000) (a loss) into M.
    # By hand: r = (1.1 − 0.55) / (0.5/50,000 + 0.5/60,000) = 30,000 -> 300 contracts of 100.
    spec = lookup("binance", "BTCUSD")
    res = size_for_ratio(
        spec, 0.5, spot_coin=1.0, margin_coin=0.1, current_size_usd=55_000.0,
        current_entry=50_000.0, price=60_000.0,
    )  # fmt: skip
    assert res.delta_contracts == -300
    assert res.size_usd == 25_000.0
    assert res.reached_ratio == pytest.approx(0.5)
    replay = _replay_ratio(
        spec, spot=1.0, margin=0.1, q=55_000.0, p0=50_000.0, p=60_000.0, delta_contracts=-300
    )
    assert replay == pytest.approx(0.5)


def test_close_to_zero_never_goes_long():
    spec = lookup("okx", "BTCUSD")
    res = size_for_ratio(
        spec, 0.0, spot_coin=1.0, margin_coin=0.0, current_size_usd=10_000.0,
        current_entry=40_000.0, price=45_000.0,
    )  # fmt: skip
    assert (res.contracts, res.delta_contracts, res.size_usd) == (0, -100, 0.0)
    assert res.reached_ratio == 0.0


def test_bad_inputs_are_value_errors():
    spec = lookup("bybit", "BTCUSD")
    with pytest.raises(ValueError, match="price"):
        size_for_ratio(
            spec, 1, spot_coin=1, margin_coin=0, current_size_usd=0, current_entry=None, price=0
        )
    with pytest.raises(ValueError, match="target_ratio"):
        size_for_ratio(
            spec, -1, spot_coin=1, margin_coin=0, current_size_usd=0, current_entry=None, price=1
        )


specs = st.sampled_from(BUILTIN_SPECS)
prices = st.floats(min_value=0.1, max_value=150_000)


@settings(max_examples=150, deadline=None)
@given(
    spec=specs,
    target=st.floats(min_value=0.0, max_value=1.5),
    spot=st.floats(min_value=0.0, max_value=5_000),
    margin=st.floats(min_value=0.0, max_value=500),
    current_coin=st.floats(min_value=0.0, max_value=5_000),
    p0=prices,
    move=st.floats(min_value=0.5, max_value=2.0),
)
def test_rounding_misses_the_target_by_at_most_one_lot(  # noqa: PLR0917
    spec, target, spot, margin, current_coin, p0, move
):
    assume(spot + margin > 1e-6)
    p = p0 * move
    q = round(current_coin * p0 / spec.face_value_usd) * spec.face_value_usd
    entry = p0 if q > 0 else None
    res = size_for_ratio(
        spec, target, spot_coin=spot, margin_coin=margin, current_size_usd=q,
        current_entry=entry, price=p,
    )  # fmt: skip
    assert res.contracts >= 0
    assert res.contracts == round(q / spec.face_value_usd) + res.delta_contracts
    assert res.size_usd == pytest.approx(res.contracts * spec.face_value_usd)

    def replay(delta: int) -> float | None:
        return _replay_ratio(
            spec, spot=spot, margin=margin, q=q, p0=entry, p=p, delta_contracts=delta
        )

    reached = replay(res.delta_contracts)
    if reached is None:  # the realised loss emptied the wallet: nothing left to hedge
        assert res.reached_ratio is None
        return
    assert res.reached_ratio == pytest.approx(reached, rel=1e-9, abs=1e-12)
    lot = spec.lot_contracts
    tol = 1e-9 * max(1.0, target)
    less, more = replay(res.delta_contracts - lot), replay(res.delta_contracts + lot)
    if res.contracts > 0 and less is not None:  # one lot less: at or below the target
        assert less <= target + tol
    if more is not None:  # one lot more: at or above the target
        assert more >= target - tol


def test_proxy_hedge_reports_the_residual():
    # 101 SOL at 150 USD, beta 1.2 to BTC, hedged with Binance BTCUSD_PERP (100 USD) at
    # 60,000: goal 1.2 × 101 × 150 = 18,180 USD -> 181.8 contracts -> 182 (18,200 USD),
    # which offsets 18,200 / (1.2 × 150) = 101.111 SOL: over-hedged by 0.111 SOL.
    spec = lookup("binance", "BTCUSD")
    res = proxy_hedge(spec, holding_coin=101, holding_price=150, beta=1.2, proxy_price=60_000)
    assert (res.contracts, res.delta_contracts, res.size_usd) == (182, 182, 18_200.0)
    assert res.hedged_coin == pytest.approx(18_200 / 180)
    assert res.residual_coin == pytest.approx(101 - 18_200 / 180)
    assert res.residual_usd == pytest.approx((101 - 18_200 / 180) * 150)
    assert res.reached_ratio == pytest.approx(18_200 / 180 / 101)


def test_proxy_margin_is_counted_in_its_own_coin_not_netted():
    # One proxy convention (core.sizing docstring, as the engine attributes it): a BTC proxy
    # short offsets (Q/P0)·P_btc/(β·P_sol) SOL; its BTC margin is BTC exposure, shown in the
    # BTC holding. So 100 SOL at 150 (β 1) need 15,000 USD of BTC short whatever the margin.
    # (The foundation's proxy_hedge netted the margin here, 18,000 USD; the engine did not.)
    spec = lookup("binance", "BTCUSD")
    res = proxy_hedge(spec, holding_coin=100, holding_price=150, beta=1.0, proxy_price=60_000)
    assert res.size_usd == 15_000
    assert res.residual_coin == pytest.approx(0.0, abs=1e-12)
    assert res.hedged_coin == pytest.approx(
        hedged_coin("short", 15_000, 60_000, proxy=True, contract_price=60_000, holding_price=150)
    )


def test_one_definition_of_a_hedged_amount():
    # direct: s·Q/P0; proxy: s·(Q/P0)·P_c/(β·P_h); unknown prices: None; flat: 0
    assert hedged_coin("short", 50_000, 50_000) == 1.0
    assert hedged_coin("long", 50_000, 50_000) == -1.0
    got = hedged_coin(
        "short", 27_000, 90_000, beta=1.5, proxy=True, contract_price=90_000, holding_price=150
    )
    assert got == pytest.approx(0.3 * 90_000 / (1.5 * 150))
    assert hedged_coin("short", 27_000, 90_000, proxy=True, contract_price=None) is None
    assert hedged_coin("short", 0, None) == 0.0


def test_fee_aware_sizing_lands_on_the_target_after_the_fee():
    # add q at p: H + q/p = T·(S + M − f·q/p): the fee comes out of the same-coin margin
    spec = lookup("bybit", "BTCUSD")
    f, p = 0.00055, 50_000.0
    res = size_for_ratio(
        spec, 1.0, spot_coin=1.0, margin_coin=0.5, current_size_usd=0.0, current_entry=None,
        price=p, fee_rate=f,
    )  # fmt: skip
    q = res.size_usd
    assert q == pytest.approx(1.5 * p / (1 + f), abs=1.0)
    assert (q / p) / (1.5 - f * q / p) == pytest.approx(1.0, abs=1 / p)
    assert res.reached_ratio == pytest.approx((q / p) / (1.5 - f * q / p))


def test_several_hedges_per_holding_share_the_target():
    # 2 BTC held; another hedge already offsets 0.8 BTC: this one adds the remaining 1.2 BTC
    spec = lookup("bybit", "BTCUSD")
    res = size_for_ratio(
        spec, 1.0, spot_coin=2.0, margin_coin=0.0, current_size_usd=0.0, current_entry=None,
        price=40_000.0, other_hedged_coin=0.8,
    )  # fmt: skip
    assert res.delta_contracts == 48_000
    assert res.reached_ratio == pytest.approx(1.0)
    proxy = proxy_hedge(
        spec, holding_coin=10, holding_price=100, beta=1.0, proxy_price=40_000,
        other_hedged_coin=4.0,
    )  # fmt: skip
    assert proxy.size_usd == 600  # the remaining 6 coins × 100 USD
    assert proxy.reached_ratio == pytest.approx(1.0)


@settings(max_examples=200, deadline=None)
@given(
    spec=specs,
    holding=st.floats(min_value=0.0, max_value=1e6),
    pa=st.floats(min_value=0.01, max_value=5_000),
    beta=st.floats(min_value=0.2, max_value=3.0),
    pb=prices,
    current_usd=st.floats(min_value=0.0, max_value=5e6),
    p0_move=st.floats(min_value=0.5, max_value=2.0),
)
def test_proxy_residual_matches_a_replayed_trade(  # noqa: PLR0917
    spec, holding, pa, beta, pb, current_usd, p0_move
):
    """E = Q·Pb/P0, replayed with harmonic entry (add) or the kept entry (reduce); the
    realised PnL lands in B's wallet, B's exposure, not A's (one proxy convention)."""
    q = round(current_usd / spec.face_value_usd) * spec.face_value_usd
    p0 = pb * p0_move
    res = proxy_hedge(
        spec, holding_coin=holding, holding_price=pa, beta=beta, proxy_price=pb,
        current_size_usd=q, current_entry=p0 if q else None,
    )  # fmt: skip
    change = res.delta_contracts * spec.face_value_usd
    if change >= 0:
        entry = inverse.average_entry(q, p0, change, pb) if q else pb
        size = q + change
    else:
        size, entry = q - min(-change, q), p0
    offset = size * pb / entry
    hedged = offset / (beta * pa)
    # float tolerance at the scale of the terms that cancel (in holding coins)
    terms = (q * pb / p0 + abs(change) + beta * holding * pa) / (beta * pa)
    assert res.hedged_coin == pytest.approx(hedged, rel=1e-9, abs=1e-9 * terms)
    assert res.residual_coin == pytest.approx(holding - hedged, rel=1e-9, abs=1e-9 * terms)
    # never more than half a lot (of the proxy) away from the goal, unless clamped at 0; a
    # reduction removes r·Pb/P0 of it per r USD
    goal_usd = beta * holding * pa
    if res.contracts > 0:
        lot_usd = spec.face_value_usd * spec.lot_contracts * max(1.0, pb / p0)
        assert abs(offset - goal_usd) <= 0.5 * lot_usd * (1 + 1e-9) + 1e-6


def test_ratio_after_none_without_exposure():
    ratio = ratio_after(
        spot_coin=0, margin_coin=0, current_size_usd=0, current_entry=None, price=1, delta_usd=10
    )
    assert ratio is None


def test_a_position_without_entry_is_refused():
    spec = lookup("bybit", "BTCUSD")
    with pytest.raises(ValueError, match="current_entry"):
        size_for_ratio(
            spec, 1, spot_coin=1, margin_coin=0, current_size_usd=100, current_entry=None,
            price=1,
        )  # fmt: skip
    with pytest.raises(ValueError, match="current_entry"):
        proxy_hedge(
            spec, holding_coin=1, holding_price=1, beta=1, proxy_price=1, current_size_usd=5
        )
