"""A dated hedge end to end on loopback (issue 14 §5): the in-process simulator lists each
venue's quarterlies, the session subscribes the hedge, its perpetual and the next quarterly
through hedgetop's own adapters, and the engine's row carries the days left, the basis locked
and the perpetual's funding beside it. Every wait is bounded and waits on state."""

from __future__ import annotations

import pytest

from core.clock import wall_ms
from core.config import parse_config
from core.events import Kind
from core.instruments import dated_symbol
from core.session import LiveSession
from core.sim.model import quarterly_expiries
from core.snapshot import PortfolioSnapshot


@pytest.mark.parametrize("venue", ["binance", "deribit"])
async def test_a_quarterly_hedge_on_the_simulator(venue: str) -> None:
    near, far = quarterly_expiries(wall_ms())
    symbol = dated_symbol(venue, "BTC", near)
    text = f"""
[[holdings]]
coin = "BTC"
amount = 1.0
[[hedges]]
id = "q"
venue = "{venue}"
symbol = "{symbol}"
contracts = 10
entry = 90000
[simulator]
enabled = true
seed = 5
"""
    session = LiveSession(parse_config(text, now_ms=wall_ms()), tick_ms=50)

    def ready(s: PortfolioSnapshot) -> bool:
        h = s.hedge("q")
        roll_target = session.engine.quote(venue, dated_symbol(venue, "BTC", far))
        return (
            h is not None
            and h.basis_locked_apr_pct is not None
            and h.perp_funding_apr_pct is not None
            and roll_target is not None
        )

    await session.start()
    try:
        snap = await session.wait_for(ready, timeout=15)
        h = snap.hedge("q")
        assert h is not None
        assert h.symbol == symbol
        assert h.expiry_ms == near
        assert h.days_to_expiry == pytest.approx((near - snap.ts_ms) / 86_400_000)
        assert h.funding_rate is None
        assert h.funding_accrued_coin == 0.0
        assert h.basis_pct is not None
        assert h.basis_locked_apr_pct == pytest.approx(h.basis_pct * 365 / h.days_to_expiry)
        futures = {q.symbol for q in session.engine.quotes_of_kind(Kind.INVERSE_FUTURE)}
        assert dated_symbol(venue, "BTC", far) in futures  # the roll target streams too
    finally:
        await session.stop()
