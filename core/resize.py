"""A resize: the previewed order on one hedge (``ResizePlan``), and the refusal of one that
cannot run. Brokers act on plans; the engine makes them (sizing them with ``core.sizing``)."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import OrderSide
from core.snapshot import HedgeSnapshot, HoldingSnapshot


class PlanRefused(ValueError):  # noqa: N818 (reads better at the call site)
    """``execute`` was handed a plan that cannot run (refused, or the position moved)."""


@dataclass(frozen=True, slots=True)
class ResizePlan:
    """A previewed order on one hedge, and the portfolio as it would be after it.

    ``refusal`` is None when ``execute`` may run it; otherwise it says why not (would flip the
    hedge, exceeds the per-action maximum, no price, nothing to do...).
    """

    hedge_id: str
    venue: str
    symbol: str
    created_ms: int
    side: OrderSide | None  # None: no order
    contracts: int  # >= 0, a multiple of the lot
    size_usd: float
    mark: float | None
    expected_price: float | None
    fee_coin: float | None
    coin: str
    contracts_before: int
    contracts_after: int
    ratio_before: float | None
    ratio_after: float | None
    target_ratio: float | None
    net_delta_after_coin: float | None
    net_delta_after_usd: float | None
    liq_price_after: float | None
    hedge_after: HedgeSnapshot | None
    holding_after: HoldingSnapshot | None
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None and self.contracts > 0 and self.side is not None


@dataclass(frozen=True, slots=True)
class MarginPlan:
    """A previewed isolated-margin transfer on one hedge (``amount_coin`` > 0 adds, < 0
    removes) and that hedge and its holding as they would be after it: the liquidation price
    moves, the contracts do not. ``refusal`` as for ``ResizePlan``."""

    hedge_id: str
    venue: str
    symbol: str
    coin: str
    created_ms: int
    amount_coin: float
    margin_before: float
    margin_after: float
    contracts: int
    mark: float | None
    liq_price_before: float | None
    liq_price_after: float | None
    liq_distance_before_pct: float | None
    liq_distance_after_pct: float | None
    ratio_before: float | None
    ratio_after: float | None
    hedge_after: HedgeSnapshot | None
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None and self.amount_coin != 0
