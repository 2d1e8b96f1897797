"""The paper broker: fills at mark with a configurable slippage and taker fee, in coin.

Inverse contracts charge the fee in the settlement coin on the notional's coin value:
``fee = size_usd / price · fee_rate``.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.events import OrderSide


@dataclass(frozen=True, slots=True)
class PaperBroker:
    fee_rate: float = 0.0005  # taker fee, fraction of the notional
    slippage_bps: float = 2.0  # basis points against us

    name = "paper"

    def fill_price(self, side: OrderSide, mark: float) -> float:
        """Mark moved against the order by the slippage: buys pay more, sells get less."""
        slip = self.slippage_bps / 10_000.0
        return mark * (1.0 + slip) if side is OrderSide.BUY else mark * (1.0 - slip)

    def fee_coin(self, size_usd: float, price: float) -> float:
        """Taker fee in coin for ``size_usd`` face value filled at ``price``."""
        return size_usd / price * self.fee_rate
