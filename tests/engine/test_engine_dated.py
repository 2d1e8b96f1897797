"""A dated coin-margined future as a hedge in the engine (issue 14 §5).

Worked example, by hand: a Binance BTCUSD_261225 short (settles 2026-12-25 08:00 UTC) seen at
2026-12-04 08:00 UTC, 21 days before, at mark 91,050 against index 90,000. The basis is
91,050/90,000 − 1 = 1.1667 %; held to expiry it is locked, annualised over the 21 days left:
1.1667 % · 365/21 = 20.2778 % a year. A dated future pays no funding, so nothing accrues over
a funding time (beside a perpetual of the same config, which does settle).
"""

from __future__ import annotations

import dataclasses

import pytest

from core.alerts import AlertEngine
from core.config import AlertConfig, parse_config
from core.engine import Engine
from core.events import AlertState, Kind, Quote
from core.instruments import lookup
from core.ledger import MemoryLedger

DAY = 86_400_000
DEC25 = 1_798_185_600_000  # 2026-12-25 08:00 UTC
DEC04 = DEC25 - 21 * DAY
H8 = 8 * 3_600_000

CONFIG = """
[[holdings]]
coin = "BTC"
amount = 2.0
[[hedges]]
id = "q"
venue = "binance"
symbol = "BTCUSD_261225"
contracts = 900
entry = 90000
[[hedges]]
id = "p"
venue = "binance"
symbol = "BTCUSD_PERP"
contracts = 900
entry = 90000
"""


def quote(symbol: str, mark: float, index: float, *, now: int, next_ms: int | None) -> Quote:
    dated = symbol != "BTCUSD_PERP"
    return Quote(
        venue="binance",
        symbol=symbol,
        kind=Kind.INVERSE_FUTURE if dated else Kind.INVERSE_PERP,
        mark=mark,
        index=index,
        funding_rate=0.0001,  # even if a feed sent one for the future, it is not funding
        next_funding_ms=next_ms,
        received_ms=now,
    )


def make(now: int = DEC04) -> Engine:
    e = Engine(parse_config(CONFIG, now_ms=now), None, MemoryLedger(), now)
    e.on_quote(quote("BTCUSD_261225", 91_050.0, 90_000.0, now=now, next_ms=now + H8))
    e.on_quote(quote("BTCUSD_PERP", 90_010.0, 90_000.0, now=now, next_ms=now + H8))
    return e


def test_the_row_carries_expiry_days_and_the_basis_locked() -> None:
    e = make()
    snap = e.snapshot(DEC04)
    q, p = snap.hedge("q"), snap.hedge("p")
    assert q is not None
    assert p is not None
    assert q.symbol == "BTCUSD_261225"
    assert q.expiry_ms == DEC25
    assert q.days_to_expiry == pytest.approx(21.0)
    assert q.basis_pct == pytest.approx(1.166_666_67, rel=1e-8)
    assert q.basis_locked_apr_pct == pytest.approx(20.277_777_8, rel=1e-8)
    assert q.basis_locked_apr_pct == pytest.approx((91_050 / 90_000 - 1) * 100 * 365 / 21)
    assert q.basis_annual_pct == q.basis_locked_apr_pct  # not over a funding interval
    # no funding: no rate, no countdown, nothing next
    assert (q.funding_rate, q.funding_interval_ms, q.next_funding_ms) == (None, None, None)
    assert q.funding_countdown_ms is None
    assert q.funding_apr_pct is None
    assert q.funding_next_coin == 0.0
    # the perpetual's row has none of it
    assert (p.expiry_ms, p.days_to_expiry, p.basis_locked_apr_pct) == (None, None, None)
    assert p.funding_rate == 0.0001
    # later the same quote locks the same basis over fewer days: a higher rate a year
    later = e.snapshot(DEC04 + 7 * DAY).hedge("q")
    assert later is not None
    assert later.days_to_expiry == pytest.approx(14.0)
    assert later.basis_locked_apr_pct == pytest.approx(1.166_666_67 * 365 / 14, rel=1e-8)
    expired = e.snapshot(DEC25 + 1).hedge("q")
    assert expired is not None
    assert expired.days_to_expiry == 0.0
    assert expired.basis_locked_apr_pct is None


def test_no_funding_accrues_on_a_dated_hedge_over_a_settlement_time() -> None:
    e = make()
    margin_before = e.snapshot(DEC04).hedge("q").margin_coin  # type: ignore[union-attr]
    events = e.advance(DEC04 + 1)
    for t in (DEC04 + H8 + 1, DEC04 + 2 * H8 + 1):
        e.on_quote(quote("BTCUSD_261225", 91_000.0, 90_000.0, now=t, next_ms=t + H8))
        e.on_quote(quote("BTCUSD_PERP", 90_010.0, 90_000.0, now=t, next_ms=t + H8))
        events += e.advance(t)
    assert {ev.hedge_id for ev in events} == {"p"}  # the perpetual settled, the future not
    q = e.snapshot(DEC04 + 2 * H8 + 1).hedge("q")
    assert q is not None
    assert q.funding_accrued_coin == 0.0
    assert q.margin_coin == margin_before


def test_the_cached_row_follows_the_clock() -> None:
    e = make()
    for t in (DEC04, DEC04 + 1, DEC04 + 60_000, DEC04 + 3 * DAY, DEC25 + 5):
        incremental = e.snapshot(t)
        e.memo.clear()
        assert incremental == e.snapshot(t)


def test_a_refreshed_perpetual_spec_keeps_the_hedge_dated() -> None:
    e = make()
    perp = lookup("binance", "BTCUSD_PERP")
    refreshed = dataclasses.replace(perp, tick_size=0.2)
    assert e.update_specs({("binance", "BTCUSD_261225"): refreshed}) == []
    spec = e.specs()["q"]
    assert spec.tick_size == 0.2
    assert (spec.symbol, spec.kind, spec.expiry_ms) == ("BTCUSD_261225", Kind.INVERSE_FUTURE, DEC25)
    assert spec.funding_interval_ms is None


def test_roll_alert_within_the_configured_days() -> None:
    alerts = AlertEngine(AlertConfig())  # default: 7 days
    e = make(DEC25 - 10 * DAY)
    assert not [a for a in alerts.evaluate(e.snapshot(DEC25 - 10 * DAY)) if a.rule == "roll"]
    raised = alerts.evaluate(e.snapshot(DEC25 - 5 * DAY - 3_600_000))
    (roll,) = [a for a in raised if a.rule == "roll"]
    assert roll.state is AlertState.RAISED
    assert roll.message.startswith("roll BTCUSD_261225: expires in 5 days")
    assert roll.subject == "binance:BTCUSD_261225"
    # the basis of a dated future is its carry: no basis alert for 1.17 %
    assert not [a for a in alerts.active if a.rule == "basis"]
    assert alerts.describe(roll.key, e.snapshot(DEC25 + 1)) is not None
    assert "has expired" in (alerts.describe(roll.key, e.snapshot(DEC25 + 1)) or "")
    # configurable: at 3 days, 5 days left is no alert
    short = AlertEngine(AlertConfig(roll_days=3.0))
    assert not [a for a in short.evaluate(e.snapshot(DEC25 - 5 * DAY)) if a.rule == "roll"]


def test_roll_days_from_the_config() -> None:
    cfg = parse_config(CONFIG + "[alerts]\nroll_days = 3\n", now_ms=DEC04)
    assert cfg.alerts.roll_days == 3.0
    assert AlertConfig().roll_days == 7.0


def test_the_perpetuals_funding_beside_the_basis_locked() -> None:
    e = make()
    q = e.snapshot(DEC04).hedge("q")
    assert q is not None
    assert q.perp_funding_rate == 0.0001
    # 0.01 % every 8 h, three times a day, received by the short: 10.95 % a year
    assert q.perp_funding_apr_pct == pytest.approx(0.0001 * 3 * 365 * 100)
    p = e.snapshot(DEC04).hedge("p")
    assert p is not None
    assert (p.perp_funding_rate, p.perp_funding_apr_pct) == (None, None)
    # a new perpetual quote changes the dated row (the cache keys on it)
    e.on_quote(
        Quote(venue="binance", symbol="BTCUSD_PERP", kind=Kind.INVERSE_PERP, mark=90_000.0,
              index=90_000.0, funding_rate=-0.0002, received_ms=DEC04)
    )  # fmt: skip
    q2 = e.snapshot(DEC04).hedge("q")
    assert q2 is not None
    assert q2.perp_funding_apr_pct == pytest.approx(-0.0002 * 3 * 365 * 100)


def test_a_dated_hedge_subscribes_its_perpetual_and_the_next_quarterly() -> None:
    text = """
[[hedges]]
id = "d"
venue = "deribit"
symbol = "BTC-25DEC26"
contracts = 100
entry = 90000
"""
    e = Engine(parse_config(text, now_ms=DEC04), None, MemoryLedger(), DEC04)
    assert e.subscriptions() == {
        ("deribit", "inverse"): ("BTC-25DEC26", "BTC-PERPETUAL", "BTC-26MAR27")
    }


async def test_a_real_order_on_a_dated_hedge_is_refused_before_anything_is_sent() -> None:
    """The live broker's unified symbol names the perpetual: a dated hedge's order must never
    go there."""
    from core.brokers.ccxt_live import CcxtLiveBroker, TradingDisabled
    from core.config import BrokerConfig

    made: list[str] = []

    def factory(ccxt_id: str, params: dict[str, object]) -> object:
        made.append(ccxt_id)
        raise AssertionError("no exchange may be built")

    env = {"HEDGETOP_BINANCE_API_KEY": "k" * 16, "HEDGETOP_BINANCE_API_SECRET": "s" * 16}
    broker = CcxtLiveBroker(
        BrokerConfig(kind="ccxt", trading_enabled=True), environ=env, exchange_factory=factory
    )
    e = make()
    plan = e.plan_resize("q", delta_contracts=10, now_ms=DEC04)
    assert plan.ok
    with pytest.raises(TradingDisabled, match="dated futures"):
        await broker.place(plan, confirmed=True, spec=e.specs()["q"], now_ms=DEC04)
    assert made == []


def test_a_perpetual_spec_given_at_start_keeps_the_hedge_dated() -> None:
    """``core.markets`` answers a dated symbol with its coin's perpetual spec."""
    perp = dataclasses.replace(lookup("binance", "BTCUSD_PERP"), tick_size=0.2)
    e = Engine(
        parse_config(CONFIG, now_ms=DEC04),
        {("binance", "BTCUSD_261225"): perp},
        MemoryLedger(),
        DEC04,
    )
    spec = e.specs()["q"]
    assert (spec.symbol, spec.expiry_ms, spec.tick_size) == ("BTCUSD_261225", DEC25, 0.2)
    assert spec.funding_interval_ms is None
