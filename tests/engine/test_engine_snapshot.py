"""Engine snapshots against the math for scripted quote sequences: figures, attribution of a
proxy hedge, staleness, the session baseline and funding settlements."""

from __future__ import annotations

import pytest

from core import inverse, liquidation
from core.config import Config, parse_config
from core.engine import Engine
from core.events import FeedHealth, FeedState, FundingEvent, Kind, Quote
from core.instruments import lookup
from core.ledger import MemoryLedger

H8 = 8 * 3600 * 1000

ONE = """
[[holdings]]
coin = "BTC"
amount = 1.0

[[hedges]]
id = "b"
venue = "bybit"
symbol = "BTCUSD"
contracts = 60000
entry = 60000
margin = 0.5

[targets]
BTC = { ratio = 0.8, band = 0.05 }
"""


def perp(
    venue: str,
    symbol: str,
    mark: float,
    *,
    index: float | None = None,
    rate: float | None = 0.0001,
    next_ms: int | None = None,
    received_ms: int = 0,
) -> Quote:
    return Quote(
        venue=venue,
        symbol=symbol,
        kind=Kind.INVERSE_PERP,
        mark=mark,
        index=mark if index is None else index,
        funding_rate=rate,
        next_funding_ms=next_ms,
        received_ms=received_ms,
    )


def spot(venue: str, symbol: str, price: float, received_ms: int = 0) -> Quote:
    return Quote(
        venue=venue,
        symbol=symbol,
        kind=Kind.SPOT,
        bid=price - 1e-6 * price,
        ask=price + 1e-6 * price,
        last=price,
        received_ms=received_ms,
    )


def engine(text: str, ledger: MemoryLedger | None = None) -> tuple[Config, Engine]:
    cfg = parse_config(text)
    return cfg, Engine(cfg, None, ledger or MemoryLedger(), 0)


def test_direct_hedge_figures_match_the_math() -> None:
    _, e = engine(ONE)
    e.on_quote(perp("bybit", "BTCUSD", 50_000.0, index=49_900.0, next_ms=H8))
    e.on_quote(spot("bybit", "BTCUSDT", 49_950.0))
    s = e.snapshot(1000)
    h = s.hedge("b")
    assert h is not None
    q, p0, m, mark = 60_000.0, 60_000.0, 0.5, 50_000.0
    assert h.size_usd == q
    assert h.position_value_coin == pytest.approx(q / mark)
    assert h.pnl_coin == pytest.approx(q * (1 / mark - 1 / p0))  # short gains as price falls
    assert h.pnl_usd == pytest.approx(q * (1 - mark / p0))
    assert h.equity_coin == pytest.approx(m + q * (1 / mark - 1 / p0))
    spec = lookup("bybit", "BTCUSD")
    assert h.liq_price == pytest.approx(
        liquidation.liquidation_price(spec, "short", q, p0, m, mode="isolated")
    )
    assert h.liq_distance_pct == pytest.approx(inverse.liq_distance_pct(h.liq_price, mark))
    assert h.basis_usd == pytest.approx(100.0)
    assert h.basis_pct == pytest.approx(100.0 / 49_900.0 * 100)
    assert h.funding_countdown_ms == H8 - 1000
    assert h.funding_apr_pct == pytest.approx(0.0001 * 3 * 365 * 100)  # short earns positive
    assert h.funding_next_coin == pytest.approx(q / mark * 0.0001)
    assert not h.stale
    ho = s.holdings[0]
    price = 49_950.0  # spot mid prices the holding
    assert ho.price_usd == pytest.approx(price)
    assert ho.margin_coin == pytest.approx(m)
    assert ho.net_delta_coin == pytest.approx(1.0 + m - q / p0)
    assert ho.hedge_ratio == pytest.approx((q / p0) / (1.0 + m))
    assert ho.drift == pytest.approx((q / p0) / 1.5 - 0.8)
    # value of spot + wallet + short: (S + M)·P + PnL_coin·P, and the unhedged (S + M)·P
    assert ho.value_usd == pytest.approx((1.0 + m) * price + h.pnl_coin * price)
    assert ho.unhedged_value_usd == pytest.approx(1.5 * price)
    assert s.total_value_usd == pytest.approx(ho.value_usd)
    assert s.net_delta_usd == pytest.approx((1.0 + m - q / p0) * price)
    assert not s.stale


def test_one_x_short_is_never_liquidated() -> None:
    # Binance COIN-M: maintenance on the mark value, a 1x same-coin short has no price
    binance = (
        ONE.replace("margin = 0.5", "margin = 1.0")
        .replace('venue = "bybit"', 'venue = "binance"')
        .replace('symbol = "BTCUSD"', 'symbol = "BTCUSD_PERP"')
        .replace("contracts = 60000", "contracts = 600")
    )
    _, e = engine(binance)
    for mark in (30_000.0, 60_000.0, 250_000.0):
        e.on_quote(perp("binance", "BTCUSD_PERP", mark))
        h = e.snapshot(0).hedge("b")
        assert h is not None
        assert h.liq_price is None
        assert h.liq_distance_pct is None
        assert h.margin_model == "binance_coinm_isolated"
    # Bybit fixes it on the entry value (the foundation asserted None here too: wrong for
    # Bybit): equity Q/P meets Q/P0·0.5 % at P0/0.5 % = 12,000,000, beyond 10x the mark
    _, e = engine(ONE.replace("margin = 0.5", "margin = 1.0"))
    for mark in (30_000.0, 60_000.0, 250_000.0):
        e.on_quote(perp("bybit", "BTCUSD", mark))
        h = e.snapshot(0).hedge("b")
        assert h is not None
        assert h.liq_price == pytest.approx(60_000.0 / 0.005)
        assert h.liq_beyond_10x
        assert h.bankruptcy_price is None
        assert h.maintenance_margin_coin == pytest.approx(1.0 * 0.005)
        # hedged at ratio 1 on the margin coins: value in USD stays Q = 60000 whatever P does
    _cfg, e = engine(
        ONE.replace("amount = 1.0", "amount = 0.0").replace("margin = 0.5", "margin = 1.0")
    )
    values = []
    for mark in (30_000.0, 60_000.0, 90_000.0):
        e.on_quote(perp("bybit", "BTCUSD", mark))
        values.append(e.snapshot(0).total_value_usd)
    assert values == pytest.approx([60_000.0] * 3)


def test_proxy_hedge_is_attributed_and_converted_by_beta() -> None:
    text = """
[[holdings]]
coin = "SOL"
amount = 1000
[[holdings]]
coin = "BTC"
amount = 0.2
[[hedges]]
id = "px"
venue = "binance"
symbol = "BTCUSD_PERP"
contracts = 300
entry = 100000
margin = 0.1
hedges = "SOL"
beta = 1.5
"""
    _, e = engine(text)
    e.on_quote(perp("binance", "BTCUSD_PERP", 90_000.0))
    e.on_quote(spot("binance", "BTCUSDT", 90_000.0))
    e.on_quote(spot("binance", "SOLUSDT", 150.0))
    s = e.snapshot(0)
    sol = next(h for h in s.holdings if h.coin == "SOL")
    btc = next(h for h in s.holdings if h.coin == "BTC")
    q, p0 = 30_000.0, 100_000.0
    hedged_sol = (q / p0) * 90_000.0 / (1.5 * 150.0)  # 0.3 BTC of delta = 27000 USD / beta
    assert sol.hedge_ids == ("px",)
    assert sol.margin_coin == 0.0
    assert sol.hedge_ratio == pytest.approx(hedged_sol / 1000)
    assert sol.net_delta_coin == pytest.approx(1000 - hedged_sol)
    pnl_btc = q * (1 / 90_000.0 - 1 / p0)
    assert sol.value_usd == pytest.approx(1000 * 150.0 + pnl_btc * 90_000.0)
    # the proxy's BTC margin is BTC exposure: counted once, in the BTC holding
    assert btc.margin_coin == pytest.approx(0.1)
    assert btc.hedge_ratio == 0.0
    assert btc.value_usd == pytest.approx(0.3 * 90_000.0)
    assert s.total_value_usd == pytest.approx(sol.value_usd + btc.value_usd)


def test_staleness_is_decided_once_from_the_receive_times() -> None:
    _, e = engine(ONE)
    s = e.snapshot(0)
    assert s.stale
    assert s.hedges[0].stale
    assert s.hedges[0].mark is None
    assert s.total_value_usd is None
    e.on_quote(perp("bybit", "BTCUSD", 50_000.0, received_ms=1_000))
    e.on_quote(spot("bybit", "BTCUSDT", 50_000.0, received_ms=1_000))
    assert not e.snapshot(0, wall_ms=2_000).stale
    health = FeedHealth(
        venue="bybit", url="ws://x", state=FeedState.LIVE, stale_symbols=("BTCUSD",)
    )
    # with the wall clock the receive times decide, once: the feed's list (the same rule on
    # the same times, a moment apart) only rides along in its health
    s = e.snapshot(0, feeds=[health], wall_ms=2_000)
    assert not s.stale
    assert s.feeds == (health,)
    # age: older than feeds.stale_after_ms (default 10 s) by the wall clock
    s = e.snapshot(0, feeds=[health], wall_ms=1_000 + 10_001)
    h = s.hedges[0]
    assert h.stale
    assert h.mark == 50_000.0  # the last price stays on screen, marked stale
    assert s.holdings[0].stale
    assert s.stale
    # a caller without a wall clock takes the feeds' lists
    s = e.snapshot(0, feeds=[health])
    assert s.hedges[0].stale


def test_stale_spot_falls_back_to_fresh_index() -> None:
    _, e = engine(ONE)
    e.on_quote(spot("bybit", "BTCUSDT", 40_000.0, received_ms=0))
    e.on_quote(perp("bybit", "BTCUSD", 50_100.0, index=50_000.0, received_ms=20_000))
    ho = e.snapshot(0, wall_ms=21_000).holdings[0]
    assert ho.price_usd == 50_000.0
    assert not ho.stale


def test_session_change_from_first_full_snapshot() -> None:
    _, e = engine(ONE)
    e.snapshot(0)  # incomplete: not the baseline
    e.on_quote(perp("bybit", "BTCUSD", 50_000.0))
    first = e.snapshot(1)
    assert first.session_change_usd == 0.0
    e.on_quote(perp("bybit", "BTCUSD", 55_000.0))
    later = e.snapshot(2)
    assert later.session_change_usd == pytest.approx(later.total_value_usd - first.total_value_usd)
    assert later.unhedged_session_change_usd == pytest.approx(1.5 * 5_000.0)


def test_funding_settles_once_at_the_rate_in_force() -> None:
    ledger = MemoryLedger()
    _, e = engine(ONE, ledger)
    t1 = 10 * H8
    e.on_quote(perp("bybit", "BTCUSD", 50_000.0, rate=0.0002, next_ms=t1))
    assert e.advance(t1 - 5_000) == []
    e.on_quote(perp("bybit", "BTCUSD", 51_000.0, rate=0.0003, next_ms=t1))  # rate changes
    assert e.advance(t1 - 1_000) == []
    # the venue rolls over: the rate in force before (0.0003 at mark 51000) is settled at t1
    e.on_quote(perp("bybit", "BTCUSD", 51_000.0, rate=-0.0005, next_ms=t1 + H8))
    events = e.advance(t1 + 10)
    expected = 60_000.0 / 51_000.0 * 0.0003  # short receives a positive rate
    assert len(events) == 1
    ev = events[0]
    assert (ev.ts_ms, ev.hedge_id, ev.rate) == (t1, "b", 0.0003)
    assert ev.amount_coin == pytest.approx(expected)
    assert ledger.funding == events
    assert e.advance(t1 + 20) == []  # never twice
    h = e.snapshot(t1 + 20).hedge("b")
    assert h is not None
    assert h.margin_coin == pytest.approx(0.5 + expected)
    assert h.funding_accrued_coin == pytest.approx(expected)
    # next interval: our clock passes t2 before the venue rolls: settle from the quote itself
    t2 = t1 + H8
    events = e.advance(t2 + 1)
    assert len(events) == 1
    assert events[0].ts_ms == t2
    assert events[0].amount_coin == pytest.approx(-60_000.0 / 51_000.0 * 0.0005)  # short pays
    e.on_quote(perp("bybit", "BTCUSD", 51_000.0, rate=0.0001, next_ms=t2 + H8))
    assert e.advance(t2 + 2) == []  # the roll-over of an already settled time adds nothing
    # a restart replays the ledger's funding and does not settle t2 again
    _, e2 = engine(ONE, ledger)
    e2.on_quote(perp("bybit", "BTCUSD", 51_000.0, rate=0.0001, next_ms=t2))
    assert e2.advance(t2 + 5) == []
    h2 = e2.snapshot(t2 + 5).hedge("b")
    assert h2 is not None
    assert h2.funding_accrued_coin == pytest.approx(sum(f.amount_coin for f in ledger.funding))


def test_deribit_funding_accrues_continuously() -> None:
    text = """
[[hedges]]
id = "d"
venue = "deribit"
symbol = "BTC-PERPETUAL"
contracts = 1000
entry = 50000
"""
    _, e = engine(text)
    q = perp("deribit", "BTC-PERPETUAL", 50_000.0, rate=0.0008, next_ms=None)
    e.on_quote(q)
    t0 = 5 * 3_600_000 + 100
    assert e.advance(t0) == []  # starts the clock
    assert e.advance(t0 + 1_800_000) == []  # half an hour, still inside the hour: not booked
    events = e.advance(t0 + 3_600_000)  # crosses the hour: one event with all the accrual
    per_8h = 10_000.0 / 50_000.0 * 0.0008
    assert len(events) == 1
    assert events[0].amount_coin == pytest.approx(per_8h / 8)
    h = e.snapshot(t0 + 3_600_000).hedge("d")
    assert h is not None
    assert h.next_funding_ms is None
    assert h.funding_countdown_ms is None
    assert h.funding_interval_ms == H8
    assert h.funding_accrued_coin == pytest.approx(per_8h / 8)


def test_no_funding_for_a_flat_hedge_and_ignored_ledger_rows() -> None:
    ledger = MemoryLedger(
        funding=[
            FundingEvent(
                ts_ms=1,
                hedge_id="gone",
                venue="bybit",
                symbol="BTCUSD",
                rate=0.1,
                mark=1.0,
                size_usd=1.0,
                amount_coin=5.0,
            )
        ]
    )
    _, e = engine(ONE.replace("contracts = 60000", "contracts = 0"), ledger)
    assert e.ignored_ledger_rows == 1
    e.on_quote(perp("bybit", "BTCUSD", 50_000.0, next_ms=H8))
    e.advance(1)
    e.on_quote(perp("bybit", "BTCUSD", 50_000.0, next_ms=2 * H8))
    assert e.advance(H8 + 1) == []
    h = e.snapshot(H8 + 1).hedge("b")
    assert h is not None
    assert h.entry is None
    assert h.liq_price is None
    assert h.pnl_coin == 0.0


def test_subscriptions_cover_hedges_and_spot() -> None:
    _, e = engine(ONE)
    assert e.subscriptions() == {
        ("bybit", "inverse"): ("BTCUSD",),
        ("bybit", "spot"): ("BTCUSDT",),
    }
