"""The engine's fast snapshot building (core.frozen_build): what it makes are real, frozen
HedgeSnapshot / HoldingSnapshot objects equal to the constructor's, a drafted copy changes
only what is set, and a dataclass that needs its constructor is refused."""

from __future__ import annotations

import dataclasses

import pytest

from core.config import parse_config
from core.engine import Engine
from core.events import Kind, Quote
from core.frozen_build import FrozenBuilder
from core.ledger import MemoryLedger
from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot

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


def _snapshot() -> PortfolioSnapshot:
    engine = Engine(parse_config(CONFIG), None, MemoryLedger(), 0)
    for venue, symbol in (("bybit", "BTCUSD"), ("deribit", "BTC-PERPETUAL")):
        engine.on_quote(
            Quote(venue=venue, symbol=symbol, kind=Kind.INVERSE_PERP, mark=61000.0,
                  index=60950.0, funding_rate=0.0001, next_funding_ms=8 * 3_600_000,
                  received_ms=0)
        )  # fmt: skip
    engine.snapshot(1_000)
    return engine.snapshot(2_000)  # the second: countdowns patched into copies


def test_engine_snapshots_are_frozen_and_equal_to_the_constructors() -> None:
    snap = _snapshot()
    objs: list[HedgeSnapshot | HoldingSnapshot] = [*snap.hedges, *snap.holdings]
    assert len(objs) == 3
    for h in objs:
        cls = type(h)
        assert cls in (HedgeSnapshot, HoldingSnapshot)
        rebuilt = cls(**{f.name: getattr(h, f.name) for f in dataclasses.fields(h)})
        assert h == rebuilt
        assert hash(h) == hash(rebuilt)
        with pytest.raises(dataclasses.FrozenInstanceError):
            h.stale = True  # type: ignore[misc]
        assert dataclasses.replace(h, stale=True).stale is True


def test_a_drafted_copy_changes_only_the_fields_set() -> None:
    h = _snapshot().hedges[0]
    builder = FrozenBuilder(HedgeSnapshot)
    draft = builder.copy(h)
    draft.funding_countdown_ms = 123
    copy = builder.freeze(draft)
    assert type(copy) is HedgeSnapshot
    assert copy.funding_countdown_ms == 123
    assert h.funding_countdown_ms != 123  # the original is untouched
    assert copy == dataclasses.replace(h, funding_countdown_ms=123)


@dataclasses.dataclass(frozen=True, slots=True)
class _WithFactory:
    items: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class _NoSlots:
    x: int


def test_a_dataclass_that_needs_its_constructor_is_refused() -> None:
    with pytest.raises(TypeError, match="needs the constructor"):
        FrozenBuilder(_WithFactory)
    with pytest.raises(TypeError, match="slots"):
        FrozenBuilder(_NoSlots)
