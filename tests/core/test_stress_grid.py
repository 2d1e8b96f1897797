"""The stress grid's identities: move 0 is the live snapshot; a 1x same-coin hedge keeps its
USD value at every move; the liquidation move found solves equity = maintenance margin to the
tick (each venue's model, ``core.liquidation``); proxies move through their beta.

The 1x identity is DESIGN.md §5's: spot + wallet + short is worth ``(S + M − Q/P0)·P + Q``,
so with S = 0 and M = Q/P0 the value is Q at every price (Binance and OKX value the
maintenance margin at the mark, so such a short never liquidates)."""

from __future__ import annotations

import math

import pytest

from core import liquidation
from core.config import parse_config
from core.demo import demo_config, start_prices
from core.offline import engine_at_prices, snapshot_at_prices
from core.stress import (
    DEFAULT_MOVES_PCT,
    parse_moves,
    scenario_for_move,
    scenario_from_coin_moves,
    stress_grid,
    stress_row,
)

NOW = 1_767_225_600_000


def _demo():  # type: ignore[no-untyped-def]
    cfg = demo_config()
    prices = {c: p * 1.03 for c, p in start_prices().items()}  # off entry: PnL is not zero
    engine = engine_at_prices(cfg, prices, NOW)
    return engine.snapshot(NOW), engine.specs()


def test_move_zero_is_the_live_snapshot() -> None:
    snap, specs = _demo()
    grid = stress_grid(snap, specs)
    row = grid.row(0.0)
    assert row is not None
    assert row.value_usd == pytest.approx(snap.total_value_usd, rel=1e-12)
    assert row.unhedged_value_usd == pytest.approx(snap.unhedged_value_usd, rel=1e-12)
    assert row.liquidated == ()
    for ho in snap.holdings:
        cell = row.holding(ho.coin)
        assert cell is not None
        assert cell.price_usd == ho.price_usd
        assert cell.value_usd == pytest.approx(ho.value_usd, rel=1e-12)
        assert cell.unhedged_value_usd == pytest.approx(ho.unhedged_value_usd, rel=1e-12)
        assert cell.hedge_ratio == pytest.approx(ho.hedge_ratio, rel=1e-12)
        assert cell.net_delta_usd == pytest.approx(ho.net_delta_usd, rel=1e-12, abs=1e-9)
    for h in snap.hedges:
        cell = row.hedge(h.hedge_id)
        assert cell is not None
        assert cell.mark == h.mark
        assert cell.pnl_coin == pytest.approx(h.pnl_coin, rel=1e-12)
        assert cell.equity_coin == pytest.approx(h.equity_coin, rel=1e-12)
        assert cell.maintenance_coin == pytest.approx(h.maintenance_margin_coin, rel=1e-12)
        assert cell.liq_distance_pct == pytest.approx(h.liq_distance_pct, rel=1e-12)


def _one_x(venue: str, symbol: str, price: float) -> str:
    return f"""
[[holdings]]
coin = "BTC"
amount = 0

[[hedges]]
id = "h"
venue = "{venue}"
symbol = "{symbol}"
contracts = 1000
entry = {price}
leverage = 1
"""


@pytest.mark.parametrize(
    ("venue", "symbol"),
    [("binance", "BTCUSD_PERP"), ("okx", "BTC-USD-SWAP"), ("bybit", "BTCUSD")],
)
def test_a_1x_same_coin_hedge_keeps_its_usd_value_at_every_move(venue: str, symbol: str) -> None:
    cfg = parse_config(_one_x(venue, symbol, 80_000.0))
    engine = engine_at_prices(cfg, {"BTC": 80_000.0}, NOW)
    snap = engine.snapshot(NOW)
    size = snap.hedges[0].size_usd
    grid = stress_grid(snap, engine.specs(), (*DEFAULT_MOVES_PCT, -90.0, 500.0))
    for row in grid.rows:
        assert row.value_usd == pytest.approx(size, rel=1e-12), row.scenario.label
        assert row.unhedged_value_usd is not None
        assert row.liquidated == ()
    # the unhedged coins, by contrast, move with the price
    down = grid.row(-50.0)
    assert down is not None
    assert down.unhedged_value_usd == pytest.approx(size / 2, rel=1e-12)


def _short(venue: str, symbol: str, mode: str, leverage: float) -> str:
    return f"""
[[holdings]]
coin = "BTC"
amount = 2

[[hedges]]
id = "h"
venue = "{venue}"
symbol = "{symbol}"
contracts = {2000 if venue in ("binance", "okx") else 200000}
entry = 80000
leverage = {leverage}
margin_mode = "{mode}"
"""


CASES = [
    ("binance", "BTCUSD_PERP", "isolated", 3.0),
    ("binance", "BTCUSD_PERP", "cross", 5.0),
    ("bybit", "BTCUSD", "isolated", 3.0),
    ("bybit", "BTCUSD", "cross", 10.0),
    ("okx", "BTC-USD-SWAP", "isolated", 4.0),
    ("deribit", "BTC-PERPETUAL", "isolated", 2.0),
]


@pytest.mark.parametrize(("venue", "symbol", "mode", "leverage"), CASES)
def test_the_liquidation_move_solves_equity_equals_maintenance_to_the_tick(
    venue: str, symbol: str, mode: str, leverage: float
) -> None:
    cfg = parse_config(_short(venue, symbol, mode, leverage))
    engine = engine_at_prices(cfg, {"BTC": 81_000.0}, NOW)
    snap, specs = engine.snapshot(NOW), engine.specs()
    grid = stress_grid(snap, specs)
    (point,) = grid.liquidations
    h, spec = snap.hedges[0], specs["h"]
    assert h.entry is not None
    assert grid.first is point
    assert grid.first_up is point
    assert point.move_pct == pytest.approx((point.price / 81_000.0 - 1) * 100, rel=1e-12)
    # at the price found, equity meets the venue's threshold
    assert point.equity_coin == pytest.approx(point.maintenance_coin, rel=1e-9, abs=1e-12)
    # to the tick: the venue's own test says "not yet" one tick before, "liquidated" at it
    below = point.tick_price - spec.tick_size
    assert abs(point.tick_price - point.price) < spec.tick_size * (1 + 1e-9)

    def under(mark: float) -> bool:
        assert h.entry is not None
        return liquidation.assess(
            spec, h.side, h.size_usd, h.entry, h.margin_coin, mode=mode, mark=mark
        ).under_maintenance

    assert under(point.tick_price)
    assert not under(below)
    # what is lost: the position's margin (isolated) or the wallet (cross)
    assert point.lost_coin == pytest.approx(h.margin_coin)
    assert point.lost_what == ("cross wallet" if mode == "cross" else "isolated margin")
    assert point.lost_usd == pytest.approx(h.margin_coin * point.price)
    # the rows on either side of the cliff
    just_before = stress_row(snap, specs, scenario_for_move({"BTC": 1.0}, point.move_pct - 1e-6))
    just_after = stress_row(snap, specs, scenario_for_move({"BTC": 1.0}, point.move_pct + 1e-6))
    assert just_before.liquidated == ()
    assert just_after.liquidated == ("h",)
    cell = just_before.hedge("h")
    assert cell is not None
    assert cell.margin_ratio_pct == pytest.approx(100.0, abs=1e-3)
    gone = just_after.hedge("h")
    assert gone is not None
    assert gone.equity_coin == 0.0
    assert gone.pnl_coin == pytest.approx(-h.margin_coin)
    after = just_after.holding("BTC")
    assert after is not None
    assert after.hedge_ratio == 0.0
    assert after.price_usd is not None
    assert after.value_usd == pytest.approx(2.0 * after.price_usd, rel=1e-9)


def test_proxy_holdings_follow_their_coin_through_the_beta_and_the_ratio_drifts() -> None:
    snap, specs = _demo()
    grid = stress_grid(snap, specs)
    assert grid.multipliers["SOL"] == 1.5  # the demo's SOL is hedged by a BTC short, beta 1.5
    assert grid.multipliers["BTC"] == 1.0
    sol0 = next(h for h in snap.holdings if h.coin == "SOL")
    btc0 = next(h for h in snap.holdings if h.coin == "BTC")
    row = grid.row(-20.0)
    assert row is not None
    sol, btc = row.holding("SOL"), row.holding("BTC")
    assert sol is not None
    assert btc is not None
    assert sol0.price_usd is not None
    assert btc0.price_usd is not None
    assert sol.price_usd == pytest.approx(sol0.price_usd * 0.70)
    assert btc.price_usd == pytest.approx(btc0.price_usd * 0.80)
    # hedged SOL = (Q/P0)·P_btc/(beta·P_sol): BTC fell less than SOL, so the ratio rose
    assert sol0.hedge_ratio is not None
    assert sol.hedge_ratio == pytest.approx(sol0.hedge_ratio * 0.80 / 0.70, rel=1e-12)


def test_every_coin_by_its_own_figure() -> None:
    snap, specs = _demo()
    scenario = scenario_from_coin_moves({"SOL": -30.0, "BTC": -20.0})
    grid = stress_grid(snap, specs, (0.0,), extra=(scenario,))
    custom = grid.rows[-1]
    assert custom.scenario.label == "SOL -30 % BTC -20 %"
    prices = {h.coin: h.price_usd for h in snap.holdings}
    for coin, factor in (("SOL", 0.7), ("BTC", 0.8), ("ADA", 1.0), ("XRP", 1.0)):
        cell = custom.holding(coin)
        assert cell is not None
        assert cell.price_usd == pytest.approx(prices[coin] * factor)  # type: ignore[operator]


def test_moves_below_minus_100_are_clamped_and_unknown_prices_stay_unknown() -> None:
    cfg = demo_config()
    prices = dict(start_prices())
    del prices["XRP"]
    engine = engine_at_prices(cfg, prices, NOW)
    snap = engine.snapshot(NOW)
    row = stress_row(snap, engine.specs(), scenario_for_move({"BTC": 1.0, "SOL": 1.5}, -80.0))
    assert row.value_usd is None  # XRP has no price: the total is not known
    xrp = row.holding("XRP")
    assert xrp is not None
    assert xrp.value_usd is None
    sol = row.holding("SOL")
    assert sol is not None
    assert sol.price_usd is not None
    assert sol.price_usd > 0  # −120 % is clamped, not a negative price
    assert math.isfinite(sol.price_usd)


def test_parse_moves() -> None:
    assert parse_moves("-50, -20%,0,+30") == (-50.0, -20.0, 0.0, 30.0)
    with pytest.raises(ValueError, match="'abc' is not a percentage"):
        parse_moves("-10,abc")
    with pytest.raises(ValueError, match="from -100"):
        parse_moves("-150")
    with pytest.raises(ValueError, match="names no move"):
        parse_moves(" , ")


def test_snapshot_at_prices_is_the_engine_at_those_prices() -> None:
    snap = snapshot_at_prices(demo_config(), start_prices(), NOW)
    assert snap.total_value_usd is not None
    # entries are the simulator's start prices: the session opens flat
    assert all(h.pnl_coin == pytest.approx(0.0, abs=1e-12) for h in snap.hedges)
