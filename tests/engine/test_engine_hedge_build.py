"""The engine's fast HedgeSnapshot building (core.hedge_build): what it makes is a real,
frozen HedgeSnapshot equal to the constructor's, and a drafted copy changes only what is set."""

from __future__ import annotations

import dataclasses

import pytest

from core.config import parse_config
from core.engine import Engine
from core.events import Kind, Quote
from core.hedge_build import HEDGE_FIELDS, draft_of, freeze
from core.ledger import MemoryLedger
from core.snapshot import HedgeSnapshot

CONFIG = """
[[holdings]]
coin = "BTC"
amount = 1.0
[[hedges]]
id = "by"
venue = "bybit"
symbol = "BTCUSD"
contracts = 30000
entry = 60000
leverage = 2
[[hedges]]
id = "dr"
venue = "deribit"
symbol = "BTC-PERPETUAL"
contracts = 100
entry = 59000
leverage = 2
"""


def _snapshot_hedges() -> tuple[HedgeSnapshot, ...]:
    engine = Engine(parse_config(CONFIG), None, MemoryLedger(), 0)
    for venue, symbol in (("bybit", "BTCUSD"), ("deribit", "BTC-PERPETUAL")):
        engine.on_quote(
            Quote(venue=venue, symbol=symbol, kind=Kind.INVERSE_PERP, mark=61000.0,
                  index=60950.0, funding_rate=0.0001, next_funding_ms=8 * 3_600_000,
                  received_ms=0)
        )  # fmt: skip
    engine.snapshot(1_000)
    return engine.snapshot(2_000).hedges  # the second: countdowns patched into copies


def test_engine_hedges_are_frozen_snapshots_equal_to_the_constructors() -> None:
    for h in _snapshot_hedges():
        assert type(h) is HedgeSnapshot
        rebuilt = HedgeSnapshot(**{f: getattr(h, f) for f in HEDGE_FIELDS})
        assert h == rebuilt
        assert hash(h) == hash(rebuilt)
        with pytest.raises(dataclasses.FrozenInstanceError):
            h.mark = 1.0  # type: ignore[misc]
        assert dataclasses.replace(h, mark=1.0).mark == 1.0


def test_a_drafted_copy_changes_only_the_fields_set() -> None:
    h = _snapshot_hedges()[0]
    draft = draft_of(h)
    draft.funding_countdown_ms = 123
    copy = freeze(draft)
    assert type(copy) is HedgeSnapshot
    assert copy.funding_countdown_ms == 123
    assert h.funding_countdown_ms != 123  # the original is untouched
    assert copy == dataclasses.replace(h, funding_countdown_ms=123)
