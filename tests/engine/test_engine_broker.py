"""Resize plans, paper fills and the ledger across a restart (memory and SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import inverse
from core.brokers.paper import PaperBroker
from core.config import parse_config
from core.engine import Engine, PlanRefused
from core.events import FeedHealth, FeedState, Fill, Kind, OrderSide, Quote
from core.ledger import MemoryLedger

CFG = """
[[holdings]]
coin = "BTC"
amount = 1.0

[[hedges]]
id = "b"
venue = "binance"
symbol = "BTCUSD_PERP"
contracts = 500
entry = 100000
margin = 0.5

[targets]
BTC = { ratio = 0.5, band = 0.05 }

[broker]
fee_rate = 0.0005
slippage_bps = 10
max_contracts_per_action = 400
"""


def perp(mark: float, symbol: str = "BTCUSD_PERP", venue: str = "binance") -> Quote:
    return Quote(venue=venue, symbol=symbol, kind=Kind.INVERSE_PERP, mark=mark, index=mark)


def make(ledger: MemoryLedger | None = None, text: str = CFG) -> Engine:
    e = Engine(parse_config(text), None, ledger or MemoryLedger(), 0)
    e.on_quote(perp(80_000.0))
    return e


def test_paper_broker_slippage_and_fee() -> None:
    b = PaperBroker(fee_rate=0.0006, slippage_bps=5)
    assert b.fill_price(OrderSide.BUY, 100.0) == pytest.approx(100.05)
    assert b.fill_price(OrderSide.SELL, 100.0) == pytest.approx(99.95)
    assert b.fee_coin(1000.0, 50.0) == pytest.approx(1000.0 / 50.0 * 0.0006)


def test_increase_fills_at_mark_with_slippage_and_averages_harmonically() -> None:
    ledger = MemoryLedger()
    e = make(ledger)
    plan = e.plan_resize("b", delta_contracts=100, now_ms=5)
    assert plan.ok
    assert plan.side is OrderSide.SELL  # enlarging a short sells
    assert plan.contracts == 100
    assert plan.size_usd == 10_000.0
    price = 80_000.0 * (1 - 10 / 10_000)
    assert plan.expected_price == pytest.approx(price)
    assert plan.fee_coin == pytest.approx(10_000.0 / price * 0.0005)
    fill = e.execute(plan, 6)
    assert ledger.fills == [fill]
    assert fill.price == pytest.approx(price)
    assert fill.mark == 80_000.0  # the mark it filled against: the review's slippage base
    assert fill.realized_pnl_coin == 0.0
    assert fill.contracts_after == 600
    # harmonic: (Q + q) / (Q/P0 + q/p)
    assert fill.entry_after == pytest.approx(60_000.0 / (50_000.0 / 100_000.0 + 10_000.0 / price))
    h = e.snapshot(7).hedge("b")
    assert h is not None
    assert h.contracts == 600
    assert h.entry == pytest.approx(fill.entry_after)
    assert h.margin_coin == pytest.approx(0.5 - fill.fee_coin)
    assert h.realized_pnl_coin == pytest.approx(-fill.fee_coin)
    assert e.snapshot(7).recent_fills == (fill,)


def test_reduce_realises_pnl_and_keeps_entry() -> None:
    e = make()
    plan = e.plan_resize("b", delta_contracts=-200, now_ms=1)
    assert plan.side is OrderSide.BUY
    fill = e.execute(plan, 2)
    price = 80_000.0 * (1 + 10 / 10_000)
    expected = 20_000.0 * (1 / price - 1 / 100_000.0)  # short closed below entry: a gain
    assert fill.realized_pnl_coin == pytest.approx(expected)
    assert fill.entry_after == 100_000.0
    h = e.snapshot(3).hedge("b")
    assert h is not None
    assert h.contracts == 300
    assert h.margin_coin == pytest.approx(0.5 + expected - fill.fee_coin)


def test_target_ratio_is_reached_within_one_lot() -> None:
    e = make()
    before = e.snapshot(0).holdings[0]
    assert before.hedge_ratio == pytest.approx((50_000 / 100_000) / 1.5)
    for target in (0.5, 0.3, 0.4):
        plan = e.plan_resize("b", target_ratio=target, now_ms=1)
        assert plan.ok, plan.refusal
        assert plan.ratio_after is not None
        # one contract = 100 USD: its hedged coins relative to the exposure bound the error
        one_lot = 100.0 / 80_000.0 / 1.5
        assert abs(plan.ratio_after - target) <= one_lot
        fill = e.execute(plan, 2)
        ratio = e.snapshot(3).holdings[0].hedge_ratio
        assert ratio == pytest.approx(plan.ratio_after)
        assert fill.contracts == plan.contracts


def test_what_if_matches_the_snapshot_after_the_fill() -> None:
    e = make()
    plan = e.plan_resize("b", delta_contracts=300, now_ms=1)
    assert plan.hedge_after is not None
    assert plan.holding_after is not None
    e.execute(plan, 1)
    after = e.snapshot(1)
    assert after.hedge("b") == plan.hedge_after
    assert after.holdings[0] == plan.holding_after
    assert plan.net_delta_after_coin == after.holdings[0].net_delta_coin
    assert plan.liq_price_after == after.hedges[0].liq_price


def test_refusals() -> None:
    e = make()
    flip = e.plan_resize("b", delta_contracts=-501, now_ms=1)
    assert not flip.ok
    assert "flip" in (flip.refusal or "")
    big = e.plan_resize("b", delta_contracts=401, now_ms=1)
    assert "max_contracts_per_action" in (big.refusal or "")
    nothing = e.plan_resize("b", delta_contracts=0, now_ms=1)
    assert "nothing to do" in (nothing.refusal or "")
    with pytest.raises(PlanRefused):
        e.execute(flip, 2)
    # a target needing more than the maximum is refused, not silently capped
    assert "maximum" in (e.plan_resize("b", target_ratio=1.0, now_ms=1).refusal or "")
    close = e.plan_resize("b", close=True, now_ms=1)
    assert close.refusal is not None  # 500 > 400 per action
    with pytest.raises(ValueError, match="exactly one"):
        e.plan_resize("b", close=True, delta_contracts=1, now_ms=1)
    with pytest.raises(KeyError):
        e.plan_resize("zz", close=True, now_ms=1)


def test_usd_cap_refuses() -> None:
    e = make(text=CFG + "max_usd_per_action = 5000\n")
    assert "max_usd_per_action" in (e.plan_resize("b", delta_contracts=51, now_ms=1).refusal or "")
    assert e.plan_resize("b", delta_contracts=50, now_ms=1).ok


def test_no_price_or_stale_price_refuses() -> None:
    e = Engine(parse_config(CFG), None, MemoryLedger(), 0)
    assert "no mark" in (e.plan_resize("b", delta_contracts=1, now_ms=1).refusal or "")
    e.on_quote(perp(80_000.0))
    stale = FeedHealth(
        venue="binance", url="ws://x", state=FeedState.LIVE, stale_symbols=("BTCUSD_PERP",)
    )
    plan = e.plan_resize("b", delta_contracts=1, now_ms=1, feeds=[stale])
    assert "stale" in (plan.refusal or "")


def test_close_then_reopen() -> None:
    e = make(text=CFG.replace("contracts = 500", "contracts = 300"))
    fill = e.execute(e.plan_resize("b", close=True, now_ms=1), 1)
    assert fill.contracts_after == 0
    assert fill.entry_after is None
    h = e.snapshot(1).hedge("b")
    assert h is not None
    assert h.entry is None
    assert h.liq_price is None
    assert e.snapshot(1).holdings[0].hedge_ratio == 0.0
    reopen = e.execute(e.plan_resize("b", delta_contracts=10, now_ms=2), 2)
    assert reopen.entry_after == pytest.approx(reopen.price)


def test_outdated_plan_is_refused() -> None:
    e = make()
    p1 = e.plan_resize("b", delta_contracts=10, now_ms=1)
    p2 = e.plan_resize("b", delta_contracts=10, now_ms=1)
    e.execute(p1, 2)
    with pytest.raises(PlanRefused, match="changed"):
        e.execute(p2, 3)


class FailingLedger(MemoryLedger):
    def append_fill(self, fill: Fill) -> None:
        raise OSError("disk full")


def test_ledger_failure_leaves_the_position_unchanged() -> None:
    e = make(FailingLedger())
    before = e.snapshot(1)
    with pytest.raises(OSError, match="disk full"):
        e.execute(e.plan_resize("b", delta_contracts=10, now_ms=1), 2)
    assert e.snapshot(1) == before


def _trade_a_little(e: Engine) -> None:
    e.execute(e.plan_resize("b", delta_contracts=120, now_ms=1), 1)
    e.on_quote(perp(90_000.0))
    e.execute(e.plan_resize("b", delta_contracts=-250, now_ms=2), 2)
    e.on_quote(perp(70_000.0))
    e.execute(e.plan_resize("b", target_ratio=0.45, now_ms=3), 3)


def test_restart_replays_the_ledger() -> None:
    ledger = MemoryLedger()
    e = make(ledger)
    _trade_a_little(e)
    assert len(ledger.fills) == 3
    before = e.snapshot(10)
    e2 = make(ledger)
    e2.on_quote(perp(70_000.0))
    after = e2.snapshot(10)
    assert after.hedges == before.hedges
    assert after.holdings == before.holdings
    assert after.recent_fills == before.recent_fills
    # a fresh engine without the ledger is back at the config's position
    fresh = make()
    fresh.on_quote(perp(70_000.0))
    h = fresh.snapshot(10).hedge("b")
    assert h is not None
    assert h.contracts == 500


def test_restart_with_sqlite_ledger(tmp_path: Path) -> None:
    from storage.ledger import SqliteLedger

    db = tmp_path / "h.db"
    with SqliteLedger(db) as ledger:
        e = Engine(parse_config(CFG), None, ledger, 0)
        e.on_quote(perp(80_000.0))
        _trade_a_little(e)
        before = e.snapshot(10)
    with SqliteLedger(db) as ledger2:
        e2 = Engine(parse_config(CFG), None, ledger2, 0)
        e2.on_quote(perp(70_000.0))
        after = e2.snapshot(10)
    assert after.hedges == before.hedges
    assert after.holdings == before.holdings
    assert len(after.recent_fills) == 3


def test_proxy_target_sizing() -> None:
    text = """
[[holdings]]
coin = "SOL"
amount = 1000
[[hedges]]
id = "px"
venue = "bybit"
symbol = "BTCUSD"
contracts = 0
hedges = "SOL"
beta = 1.5
[[holdings]]
coin = "BTC"
amount = 0
"""
    e = Engine(parse_config(text), None, MemoryLedger(), 0)
    e.on_quote(perp(100_000.0, "BTCUSD", "bybit"))
    e.on_quote(Quote(venue="bybit", symbol="SOLUSDT", kind=Kind.SPOT, last=200.0))
    plan = e.plan_resize("px", target_ratio=0.5, now_ms=1)
    assert plan.ok, plan.refusal
    # 500 SOL of delta = 100000 USD, times beta 1.5 = 150000 USD of BTC short (1 USD contracts)
    assert plan.contracts == pytest.approx(150_000, abs=200)
    assert plan.ratio_after == pytest.approx(0.5, abs=0.002)
    fill = e.execute(plan, 2)
    pvc = inverse.position_value_coin(fill.size_usd, fill.price)
    sol = next(h for h in e.snapshot(3).holdings if h.coin == "SOL")
    assert sol.hedge_ratio == pytest.approx(pvc * 100_000.0 / (1.5 * 200.0) / 1000)


def test_target_without_exposure_or_price_is_refused() -> None:
    text = """
[[holdings]]
coin = "SOL"
amount = 0
[[hedges]]
id = "px"
venue = "bybit"
symbol = "BTCUSD"
contracts = 1000
entry = 100000
margin = 0.01
hedges = "SOL"
beta = 1.5
"""
    e = Engine(parse_config(text), None, MemoryLedger(), 0)
    e.on_quote(perp(100_000.0, "BTCUSD", "bybit"))
    plan = e.plan_resize("px", target_ratio=0.5, now_ms=1)
    assert "no SOL exposure" in (plan.refusal or "")
    e2 = Engine(parse_config(text.replace("amount = 0", "amount = 10")), None, MemoryLedger(), 0)
    e2.on_quote(perp(100_000.0, "BTCUSD", "bybit"))  # no SOL price: the proxy is unknown
    assert "price is missing" in (e2.plan_resize("px", target_ratio=0.5, now_ms=1).refusal or "")
    assert e2.plan_resize("px", delta_contracts=10, now_ms=1).ok  # a plain delta still works


def test_several_hedges_on_one_holding_size_through_core_sizing() -> None:
    """A direct BTC short and a proxy both on SOL; then a second direct short on BTC: each
    plan counts what the holding's other hedges already offset, and the fee-aware direct
    sizing lands on the target after the fee (core.sizing, the one sizing)."""
    from core.sizing import size_for_ratio

    text = """
[[holdings]]
coin = "BTC"
amount = 2.0
[[hedges]]
id = "b1"
venue = "bybit"
symbol = "BTCUSD"
contracts = 40000
entry = 40000
margin = 0.1
[[hedges]]
id = "b2"
venue = "binance"
symbol = "BTCUSD_PERP"
contracts = 0
[broker]
fee_rate = 0.0005
slippage_bps = 0
max_contracts_per_action = 100000
"""
    e = Engine(parse_config(text), None, MemoryLedger(), 0)
    e.on_quote(perp(40_000.0, "BTCUSD", "bybit"))
    e.on_quote(perp(40_000.0))
    plan = e.plan_resize("b2", target_ratio=1.0, now_ms=1)
    assert plan.ok, plan.refusal
    # b1 offsets 1 BTC of the 2.1 BTC exposure; b2 adds the rest, less what its fee takes
    ref = size_for_ratio(
        e.specs()["b2"], 1.0, spot_coin=2.0, margin_coin=0.1, current_size_usd=0.0,
        current_entry=None, price=40_000.0, fee_rate=0.0005, other_hedged_coin=1.0,
    )  # fmt: skip
    assert plan.contracts == ref.delta_contracts == 440
    assert plan.ratio_after == pytest.approx(1.0, abs=100 / 40_000 / 2.1)
