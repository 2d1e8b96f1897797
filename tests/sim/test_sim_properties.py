"""Properties of the simulator's pure pieces, over generated inputs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.sim.fmt import fmt_trim, tick_decimals
from core.sim.model import (
    FUNDING_CAP,
    FUNDING_INTERVAL_MS,
    INTEREST_RATE,
    PREMIUM_CLAMP,
    bybit_funding_rate,
    next_funding_after,
)
from core.sim.venues.bybit.public import delta as bybit_delta

premiums = st.floats(min_value=-0.05, max_value=0.05, allow_nan=False)


@given(premiums)
def test_funding_rate_is_premium_plus_clamped_interest_gap(p: float) -> None:
    f = bybit_funding_rate(p)
    assert -FUNDING_CAP <= f <= FUNDING_CAP
    if abs(INTEREST_RATE - p) <= PREMIUM_CLAMP:
        assert abs(f - INTEREST_RATE) < 1e-15
    elif abs(p) < FUNDING_CAP - PREMIUM_CLAMP:
        assert abs(abs(f - p) - PREMIUM_CLAMP) < 1e-12


@given(premiums, premiums)
def test_funding_rate_is_monotonic_in_the_premium(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert bybit_funding_rate(lo) <= bybit_funding_rate(hi)


@given(st.integers(min_value=0, max_value=4_000_000_000_000))
def test_next_funding_time_is_the_next_8h_boundary(t: int) -> None:
    n = next_funding_after(t)
    assert n % FUNDING_INTERVAL_MS == 0
    assert t < n <= t + FUNDING_INTERVAL_MS


fields = st.dictionaries(
    st.sampled_from(["lastPrice", "markPrice", "bid1Price", "ask1Size", "fundingRate"]),
    st.text(alphabet="0123456789.", min_size=1, max_size=6),
)


@given(fields, fields)
def test_a_delta_merged_onto_the_previous_view_gives_the_current_one(
    prev: dict[str, str], cur: dict[str, str]
) -> None:
    prev = {"symbol": "BTCUSD", **prev}
    full = {**prev, **cur, "symbol": "BTCUSD"}  # a ticker never loses fields
    delta = bybit_delta(prev, full)
    if delta is None:
        assert full == prev
        return
    assert delta["symbol"] == "BTCUSD"
    assert {**prev, **delta} == full
    assert all(prev.get(k) != v for k, v in delta.items() if k != "symbol")


@given(st.sampled_from([0.5, 0.05, 0.01, 0.001, 0.0001, 0.00001, 1.0]), st.integers(1, 10**7))
def test_prices_on_the_tick_print_exactly(tick: float, n: int) -> None:
    d = tick_decimals(tick)
    price = round(n * tick, 10)
    assert float(f"{price:.{d}f}") == price
    assert float(fmt_trim(price, d)) == price
