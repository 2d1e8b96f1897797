"""A hedge's position as the engine holds it (config start, then fills, funding and margin moves),
and what one fill does to it (``core.inverse``'s average entry and realised PnL)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from core import inverse
from core.config import HedgeConfig
from core.events import OrderSide
from core.instruments import ContractSpec, size_usd_from_contracts
from core.snapshot import ExchangeFigures


@dataclass(slots=True)
class Position:
    """One hedge's position; ``copy`` gives an independent one (a what-if or a trial fill)."""

    cfg: HedgeConfig
    spec: ContractSpec
    contracts: int
    entry: float | None
    margin_coin: float
    realized_pnl_coin: float = 0.0  # fills: realised PnL minus fees
    funding_accrued_coin: float = 0.0
    settled_ms: set[int] = field(default_factory=set)  # funding times already settled
    pending_ms: int | None = None  # next funding time being watched
    pending_rate: float | None = None  # the rate in force for it (last seen before it)
    pending_mark: float | None = None
    cont_last_ms: int | None = None  # continuous funding: accrued up to here
    cont_unbooked_coin: float = 0.0
    cont_hour: int | None = None
    exchange: ExchangeFigures | None = None  # the last account read's figures

    @property
    def size_usd(self) -> float:
        return size_usd_from_contracts(self.spec, self.contracts)

    def copy(self) -> Position:
        return dataclasses.replace(self, settled_ms=set(self.settled_ms))


def order_side(position_side: str, increase: bool) -> OrderSide:
    """Increasing a short sells; reducing it buys (and the mirror for a long)."""
    if position_side == "short":
        return OrderSide.SELL if increase else OrderSide.BUY
    return OrderSide.BUY if increase else OrderSide.SELL


def apply_fill(
    pos: Position, increase: bool, contracts: int, price: float, fee: float
) -> tuple[float, float | None]:
    """Apply a fill to ``pos`` in place; returns (realised PnL in coin, entry after)."""
    q = size_usd_from_contracts(pos.spec, contracts)
    realized = 0.0
    if increase:
        if pos.contracts == 0 or pos.entry is None:
            pos.entry = price
        else:
            pos.entry = inverse.average_entry(pos.size_usd, pos.entry, q, price)
        pos.contracts += contracts
    else:
        assert pos.entry is not None
        realized = inverse.realized_pnl_coin(pos.cfg.side, q, pos.entry, price)
        pos.contracts -= contracts
        if pos.contracts == 0:
            pos.entry = None
    pos.margin_coin += realized - fee
    pos.realized_pnl_coin += realized - fee
    return realized, pos.entry
