"""Property test: the incremental snapshot (per-hedge pieces reused while their inputs are
unchanged) equals a full recompute after any sequence of quotes, fills, feed-health changes
and clock steps (a dated hedge among them, expiring within the steps' reach)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import parse_config
from core.engine import Engine
from core.events import FeedHealth, FeedState, Kind, Quote
from core.ledger import MemoryLedger

CONFIG = """
[[holdings]]
coin = "BTC"
amount = 2.0
[[holdings]]
coin = "ETH"
amount = 20.0
[[hedges]]
id = "by"
venue = "bybit"
symbol = "BTCUSD"
contracts = 60000
entry = 60000
leverage = 2
[[hedges]]
id = "bn"
venue = "binance"
symbol = "BTCUSD_PERP"
contracts = 300
entry = 61000
leverage = 3
[[hedges]]
id = "dr"
venue = "deribit"
symbol = "BTC-PERPETUAL"
contracts = 100
entry = 59000
leverage = 2
[[hedges]]
id = "q"
venue = "deribit"
symbol = "BTC-2JAN70"
contracts = 100
entry = 60000
leverage = 2
[[hedges]]
id = "eth"
venue = "okx"
symbol = "ETH-USD-SWAP"
contracts = 100
entry = 3000
leverage = 2
[feeds]
stale_after_ms = 5000
[broker]
max_contracts_per_action = 100000000
"""

INSTRUMENTS = [
    ("bybit", "BTCUSD", 60_000.0),
    ("binance", "BTCUSD_PERP", 60_000.0),
    ("deribit", "BTC-PERPETUAL", 60_000.0),
    ("okx", "ETH-USD-SWAP", 3_000.0),
    ("deribit", "BTC-2JAN70", 60_000.0),  # dated: its days to expiry move with the clock
]
HEDGES = ["by", "bn", "dr", "eth", "q"]

step = st.one_of(
    st.tuples(
        st.just("quote"),
        st.integers(0, len(INSTRUMENTS) - 1),
        st.floats(0.7, 1.3),
        st.sampled_from([None, 0.0001, -0.0003]),
    ),
    st.tuples(st.just("fill"), st.integers(0, len(HEDGES) - 1), st.integers(-50, 50)),
    st.tuples(st.just("time"), st.integers(0, 9 * 3_600_000)),
    st.tuples(st.just("health"), st.integers(0, len(INSTRUMENTS) - 1), st.booleans()),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=40))
def test_incremental_snapshot_equals_a_full_recompute(steps: list[tuple[object, ...]]) -> None:
    engine = Engine(parse_config(CONFIG), None, MemoryLedger(), 0)
    now = 0
    stale_listed: set[tuple[str, str]] = set()
    for s in steps:
        if s[0] == "quote":
            venue, symbol, p = INSTRUMENTS[int(s[1])]
            mark = p * float(s[2])
            rate = s[3]
            engine.on_quote(
                Quote(venue=venue, symbol=symbol, kind=Kind.INVERSE_PERP, mark=mark, index=p,
                      funding_rate=rate, next_funding_ms=(now // 3_600_000 + 1) * 3_600_000,
                      received_ms=now)
            )  # fmt: skip
        elif s[0] == "fill":
            hedge = HEDGES[int(s[1])]
            delta = int(s[2])
            if delta != 0:
                plan = engine.plan_resize(hedge, delta_contracts=delta, now_ms=now)
                if plan.ok:
                    engine.execute(plan, now)
        elif s[0] == "time":
            now += int(s[1])
            engine.advance(now)
        else:
            venue, symbol, _ = INSTRUMENTS[int(s[1])]
            (stale_listed.add if s[2] else stale_listed.discard)((venue, symbol))
        feeds = tuple(
            FeedHealth(
                venue=v,
                url="ws://test",
                state=FeedState.LIVE,
                stale_symbols=tuple(sorted(sym for vv, sym in stale_listed if vv == v)),
            )
            for v in sorted({i[0] for i in INSTRUMENTS})
        )
        incremental = engine.snapshot(now, feeds=feeds, wall_ms=now)
        engine.memo.clear()
        full = engine.snapshot(now, feeds=feeds, wall_ms=now)
        assert incremental == full
