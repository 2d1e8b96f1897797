"""The market model: deterministic for a seed, correlated with betas, mean-reverting premium,
Bybit's funding formula with its clamp and cap, settlement on the 8 h grid."""

from __future__ import annotations

import math
import statistics
from dataclasses import replace

import pytest

from core.sim.model import (
    COIN_TABLE,
    FUNDING_INTERVAL_MS,
    MarketModel,
    ModelParams,
    Settlement,
    UnknownCoinError,
    bybit_funding_rate,
    next_funding_after,
)

START_MS = 1_764_000_000_000 + 1_234  # an arbitrary instant, not on a funding boundary
MINUTE = 60_000


def _path(seed: int, steps: int = 200) -> list[tuple[float, ...]]:
    m = MarketModel(("BTC", "ETH", "SOL"), seed=seed, start_ms=START_MS)
    out = []
    for _ in range(steps):
        m.advance(MINUTE)
        out.append(
            (
                *tuple(m.price(c) for c in ("BTC", "ETH", "SOL")),
                m.perp("bybit", "BTC").mark,
                m.perp("binance", "SOL").bid,
                m.spot("ETH").last,
            )
        )
    return out


def test_same_seed_same_path_other_seed_other_path() -> None:
    assert _path(7) == _path(7)
    assert _path(7) != _path(8)


def test_unknown_coin_is_named() -> None:
    with pytest.raises(UnknownCoinError, match="'NOPE'"):
        MarketModel(("BTC", "NOPE"), start_ms=START_MS)


def test_altcoin_betas_above_one_are_recovered_from_log_returns() -> None:
    params = ModelParams(market_jump_per_day=0.0, idio_jump_per_day=0.0)
    m = MarketModel(("BTC", "ETH", "SOL", "ADA"), seed=3, start_ms=START_MS, params=params)
    coins = ("BTC", "ETH", "SOL", "ADA")
    prev = {c: math.log(m.price(c)) for c in coins}
    rets: dict[str, list[float]] = {c: [] for c in coins}
    for _ in range(1500):
        m.advance(10 * MINUTE)
        for c in coins:
            x = math.log(m.price(c))
            rets[c].append(x - prev[c])
            prev[c] = x
    btc = rets["BTC"]
    var_btc = statistics.variance(btc)
    for coin in ("ETH", "SOL", "ADA"):
        beta = statistics.covariance(rets[coin], btc) / var_btc
        expected = m.coin(coin).params.beta
        assert expected > 1.0
        assert beta == pytest.approx(expected, abs=0.12), coin
        assert statistics.correlation(rets[coin], btc) > 0.6


def test_jumps_fatten_the_tails() -> None:
    def kurtosis(params: ModelParams) -> float:
        m = MarketModel(("BTC",), seed=5, start_ms=START_MS, params=params)
        prev = math.log(m.price("BTC"))
        r = []
        for _ in range(4000):
            m.advance(MINUTE)
            x = math.log(m.price("BTC"))
            r.append(x - prev)
            prev = x
        mu = statistics.fmean(r)
        var = statistics.fmean([(v - mu) ** 2 for v in r])
        return statistics.fmean([(v - mu) ** 4 for v in r]) / var**2

    calm = kurtosis(ModelParams(market_jump_per_day=0.0, idio_jump_per_day=0.0))
    jumpy = kurtosis(ModelParams(market_jump_per_day=5.0, market_jump_std=0.01))
    assert calm == pytest.approx(3.0, abs=0.3)  # normal returns
    assert jumpy > 6.0


def test_premium_mean_reverts_at_its_half_life() -> None:
    half_life = 20 * MINUTE
    params = ModelParams(premium_half_life_ms=half_life)
    m = MarketModel(("ETH",), seed=11, start_ms=START_MS, params=params)
    perp = m.perp("bybit", "ETH")
    perp.premium = 0.01  # far from the mean: it must decay back
    p = m.coin("ETH").params
    xs = []
    for _ in range(8000):
        m.advance(MINUTE)
        xs.append(perp.premium)
    # Far from the mean, the expected gap halves every half-life.
    assert abs(xs[19] - p.premium_mean) < 0.01 * 0.5 + 4 * p.premium_std
    tail = xs[1000:]
    assert statistics.fmean(tail) == pytest.approx(p.premium_mean, abs=0.3 * p.premium_std)
    assert statistics.stdev(tail) == pytest.approx(p.premium_std, rel=0.15)
    # Lag-one autocorrelation of an OU sampled every dt is exp(-kappa dt).
    a, b = tail[:-1], tail[1:]
    rho = statistics.correlation(a, b)
    assert rho == pytest.approx(math.exp(-math.log(2) * MINUTE / half_life), abs=0.02)


@pytest.mark.parametrize(
    ("premium", "expected"),
    [
        (0.0003, 0.0001),  # within ±0.05 % of the interest rate: the interest rate
        (-0.0003, 0.0001),
        (0.0010, 0.0005),  # above: premium minus the clamp
        (-0.0010, -0.0005),  # below: premium plus the clamp
        (0.0200, 0.0050),  # capped
        (-0.0200, -0.0050),
    ],
)
def test_bybit_funding_formula(premium: float, expected: float) -> None:
    assert bybit_funding_rate(premium) == pytest.approx(expected, abs=1e-12)


def test_settlements_on_the_8h_grid_with_the_average_premium_rate() -> None:
    params = ModelParams(premium_half_life_ms=10 * MINUTE)
    m = MarketModel(("BTC", "SOL"), seed=2, start_ms=START_MS, params=params)
    first = next_funding_after(START_MS)
    assert first % FUNDING_INTERVAL_MS == 0
    assert first > START_MS
    for perp in (m.perp("bybit", "BTC"), m.perp("binance", "SOL")):
        assert perp.next_funding_ms == first
    seen = []
    for _ in range(24 * 60 + 30):
        seen.extend(m.advance(MINUTE))
    times = sorted({s.ts_ms for s in seen})
    assert times == [first + k * FUNDING_INTERVAL_MS for k in range(3)]
    # three funding times, two coins, three venues (Deribit funds continuously: no settlement)
    assert len(seen) == 3 * 2 * 3
    assert {s.venue for s in seen} == {"bybit", "binance", "okx"}
    assert m.perp("bybit", "BTC").next_funding_ms == first + 3 * FUNDING_INTERVAL_MS
    for s in seen:
        assert -0.005 <= s.rate <= 0.005
        assert s.mark > 0
        assert s.index > 0


def test_constant_premium_settles_at_the_formula_rate() -> None:
    # premium_std = 0: the premium stays at its mean, so the interval average is the mean.
    rich = replace(COIN_TABLE["DOT"], premium_mean=0.002, premium_std=0.0)
    m = MarketModel((rich,), seed=1, start_ms=START_MS)
    out: list[Settlement] = []
    while not out:
        out = m.advance(7 * MINUTE)
    assert len(out) == 3  # Bybit, Binance, OKX
    for s in out:
        assert s.rate == pytest.approx(0.002 - 0.0005)
    assert m.perp("bybit", "DOT").funding_rate == pytest.approx(0.0015)


def test_quotes_are_consistent() -> None:
    m = MarketModel(seed=4, start_ms=START_MS)
    for _ in range(300):
        m.advance(MINUTE)
        for coin, cs in m.coins.items():
            for perp in cs.perps.values():
                assert perp.bid < perp.ask, coin
                assert perp.bid <= perp.last <= perp.ask
                assert perp.mark == pytest.approx(cs.index * (1 + perp.premium))
                assert perp.bid <= perp.mark <= perp.ask or abs(perp.mark - perp.bid) < 3 * (
                    cs.params.perp_tick
                )
            assert cs.spot.bid < cs.spot.ask
            assert cs.spot.last == pytest.approx(cs.index, rel=0.001)


def test_realistic_start_prices() -> None:
    m = MarketModel(("BTC", "ETH", "SOL", "ADA", "XRP", "DOT"), seed=1, start_ms=START_MS)
    assert 50_000 < m.price("BTC") < 150_000
    assert 1_000 < m.price("ETH") < 6_000
    assert m.price("ADA") < 5
    assert m.price("XRP") < 10
