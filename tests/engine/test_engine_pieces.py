"""The engine's pieces on their own: funding settlement steps read the position and say how it
changes (the book applies them), the portfolio's totals carry the session baseline in and out,
and a resize plan leaves the book as it was."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest

from core import inverse, planning, portfolio, settlement
from core.book import Book
from core.brokers.paper import PaperBroker
from core.config import parse_config
from core.events import Kind, Quote
from core.position import Position

H8 = 8 * 3600 * 1000
HOUR = 3600 * 1000

CONFIG = """
[[holdings]]
coin = "BTC"
amount = 1.0

[[hedges]]
id = "b"
venue = "bybit"
symbol = "BTCUSD"
contracts = 30000
entry = 60000
margin = 0.5

[[hedges]]
id = "d"
venue = "deribit"
symbol = "BTC-PERPETUAL"
contracts = 3000
entry = 60000
margin = 0.1
"""


def perp(venue: str, symbol: str, mark: float, *, rate: float, next_ms: int | None) -> Quote:
    return Quote(
        venue=venue,
        symbol=symbol,
        kind=Kind.INVERSE_PERP,
        mark=mark,
        index=mark,
        funding_rate=rate,
        next_funding_ms=next_ms,
        received_ms=0,
    )


def book() -> Book:
    return Book(parse_config(CONFIG).hedges, None)


def state(p: Position) -> Position:
    return dataclasses.replace(p, settled_ms=set(p.settled_ms))


def test_an_interval_step_reads_the_position_and_settles_the_rate_in_force() -> None:
    pos = book().positions["b"]
    before = state(pos)
    watch, settled, ev = settlement.settle_interval(
        pos, perp("bybit", "BTCUSD", 60_000.0, rate=0.0001, next_ms=H8), 1_000
    )
    assert (watch, settled, ev) == ((H8, 0.0001, 60_000.0), None, None)
    assert pos == before  # only read
    pos.pending_ms, pos.pending_rate, pos.pending_mark = watch
    # the venue rolls on to the next time: the rate seen before it is settled at its mark
    watch, settled, ev = settlement.settle_interval(
        pos, perp("bybit", "BTCUSD", 61_000.0, rate=0.0003, next_ms=2 * H8), H8 + 5
    )
    assert watch == (2 * H8, 0.0003, 61_000.0)
    assert settled == H8
    assert ev is not None
    assert ev.ts_ms == H8
    assert ev.rate == 0.0001
    assert ev.mark == 60_000.0
    assert ev.amount_coin == pytest.approx(
        inverse.funding_coin("short", pos.size_usd, 60_000.0, 0.0001)
    )
    assert pos.margin_coin == before.margin_coin  # the caller applies it


def test_a_continuous_step_accrues_each_tick_and_books_once_an_hour() -> None:
    pos = book().positions["d"]
    q = perp("deribit", "BTC-PERPETUAL", 60_000.0, rate=0.0008, next_ms=None)
    accrual, amount, ev = settlement.accrue_continuous(pos, q, 10)
    assert (accrual, amount, ev) == ((10, 0, 0.0), 0.0, None)
    pos.cont_last_ms, pos.cont_hour, pos.cont_unbooked_coin = accrual
    per_8h = inverse.funding_coin("short", pos.size_usd, 60_000.0, 0.0008)
    accrual, amount, ev = settlement.accrue_continuous(pos, q, HOUR // 2)
    assert amount == pytest.approx(per_8h * (HOUR // 2 - 10) / H8)
    assert accrual == (HOUR // 2, 0, pytest.approx(amount))
    assert ev is None
    pos.cont_last_ms, pos.cont_hour, pos.cont_unbooked_coin = accrual
    accrual, more, ev = settlement.accrue_continuous(pos, q, HOUR + 10)
    assert accrual == (HOUR + 10, 1, 0.0)
    assert ev is not None
    assert ev.ts_ms == HOUR + 10
    assert ev.amount_coin == pytest.approx(amount + more)
    assert ev.amount_coin == pytest.approx(per_8h * HOUR / H8)


def test_the_book_applies_the_steps_and_records_each_event() -> None:
    b = book()
    b.on_quote(perp("bybit", "BTCUSD", 60_000.0, rate=0.0001, next_ms=H8))
    recorded: list[object] = []
    assert b.settle(1_000, recorded.append) == []
    margin = b.positions["b"].margin_coin
    events = b.settle(H8, recorded.append)
    assert [e.hedge_id for e in events] == ["b"]
    assert recorded == events
    assert b.positions["b"].margin_coin == pytest.approx(margin + events[0].amount_coin)
    assert b.positions["b"].settled_ms == {H8}
    assert b.settle(H8 + 1, recorded.append) == []  # settled once


def test_the_totals_take_the_baseline_in_and_give_it_back() -> None:
    cfg = parse_config(CONFIG)
    b = Book(cfg.hedges, None)
    memo = portfolio.Memo()
    amounts, labels = portfolio.holding_amounts(cfg), portfolio.holding_labels(cfg)

    def at(price: float) -> portfolio.Computed:
        b.on_quote(perp("bybit", "BTCUSD", price, rate=0.0001, next_ms=H8))
        b.on_quote(perp("deribit", "BTC-PERPETUAL", price, rate=0.0001, next_ms=None))
        return portfolio.compute(
            b.positions, b.quotes, set(), 0, cfg, None, amounts, labels, {}, memo
        )

    snap, baseline = portfolio.snapshot(*at(60_000.0), 0, 0, (), (), None)
    assert snap.total_value_usd is not None
    assert baseline == (snap.total_value_usd, snap.unhedged_value_usd)
    assert snap.session_change_usd == 0.0
    later, kept = portfolio.snapshot(*at(66_000.0), 1, 0, (), (), baseline)
    assert kept == baseline
    assert later.total_value_usd is not None
    assert later.session_change_usd == pytest.approx(later.total_value_usd - baseline[0])
    assert later.session_change_usd != 0.0


def test_a_resize_plan_leaves_the_book_as_it_was() -> None:
    cfg = parse_config(CONFIG)
    b = Book(cfg.hedges, None)
    b.on_quote(perp("bybit", "BTCUSD", 60_000.0, rate=0.0001, next_ms=H8))
    b.on_quote(perp("deribit", "BTC-PERPETUAL", 60_000.0, rate=0.0001, next_ms=None))
    memo = portfolio.Memo()
    amounts, labels = portfolio.holding_amounts(cfg), portfolio.holding_labels(cfg)
    before = {k: state(p) for k, p in b.positions.items()}

    def compute(
        positions: Mapping[str, Position], wallets: planning.Wallets | None = None
    ) -> portfolio.Computed:
        return portfolio.compute(
            positions, b.quotes, set(), 0, cfg, None, amounts, labels, wallets or {}, memo
        )

    plan = planning.plan_resize(
        b.positions, "b", target_ratio=0.9, now_ms=0, compute=compute,
        broker=PaperBroker(), config=cfg, wallets={},
    )  # fmt: skip
    assert plan.ok
    assert plan.contracts_before == 30_000
    assert plan.ratio_after == pytest.approx(0.9, abs=0.01)
    assert b.positions == before
