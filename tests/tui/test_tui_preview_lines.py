"""The resize preview's lines for real engine plans: a refused plan's liquidation is unknown, a
far one says "beyond 10x", a proxy says where its margin is counted."""

from __future__ import annotations

from core.config import parse_config
from core.engine import Engine
from core.events import Kind, Quote
from core.ledger import MemoryLedger
from tui.screens.preview import plan_lines

CFG = """
[[holdings]]
coin = "BTC"
amount = 0.5
[[holdings]]
coin = "SOL"
amount = 100
[[hedges]]
id = "one-x"
venue = "bybit"
symbol = "BTCUSD"
contracts = 90000
entry = 90000
margin = 1.0
[[hedges]]
id = "proxy"
venue = "binance"
symbol = "BTCUSD_PERP"
contracts = 100
entry = 90000
margin = 0.05
hedges = "SOL"
beta = 1.5
[broker]
max_contracts_per_action = 1000000
"""


def engine() -> Engine:
    e = Engine(parse_config(CFG), None, MemoryLedger(), 0)
    e.on_quote(Quote(venue="bybit", symbol="BTCUSD", kind=Kind.INVERSE_PERP, mark=90_000.0))
    e.on_quote(Quote(venue="binance", symbol="BTCUSD_PERP", kind=Kind.INVERSE_PERP, mark=90_000.0))
    e.on_quote(Quote(venue="bybit", symbol="SOLUSDT", kind=Kind.SPOT, last=150.0))
    return e


def test_refused_plan_shows_its_liquidation_as_unknown() -> None:
    plan = engine().plan_resize("one-x", delta_contracts=0, now_ms=1)
    assert plan.refusal is not None
    assert dict(plan_lines(plan))["liquidation after"] == "— (no order)"


def test_far_liquidation_says_beyond_10x() -> None:
    plan = engine().plan_resize("one-x", delta_contracts=1000, now_ms=1)
    assert plan.ok, plan.refusal
    # a Bybit short a little above 1x: equity Q/P meets the entry-value margin at ~62x the mark
    assert dict(plan_lines(plan))["liquidation after"] == "none in range (beyond 10× the mark)"
    # reducing below 1x (the wallet covers Q/P0 + MM): no price liquidates it
    less = engine().plan_resize("one-x", delta_contracts=-1000, now_ms=1)
    assert dict(plan_lines(less))["liquidation after"] == "none (cannot be liquidated)"


def test_proxy_plan_says_where_its_margin_is_counted() -> None:
    plan = engine().plan_resize("proxy", delta_contracts=10, now_ms=1)
    assert plan.ok, plan.refusal
    assert dict(plan_lines(plan))["proxy margin"] == "counted in the BTC holding, not SOL"
