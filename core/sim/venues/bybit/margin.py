"""Bybit inverse margin, fees and risk limits, from Bybit's help centre:

- "Maintenance Margin (Inverse Contract)" and "Liquidation Price Calculation under Isolated Mode
  (Unified Trading Account)": position value ``PV = Qty / AvgEntry`` (coin, **at the entry
  price**), initial margin ``PV / leverage``, maintenance margin ``PV · MMR − MM deduction``;
  liquidation price short ``Qty / [PV − (IM − MM)]``, long ``Qty / [PV + (IM − MM)]``, where IM is
  the position's margin (extra margin included). So even a 1x short has a liquidation price,
  ``AvgEntry / MMR``. Cross margin: the same with the coin's wallet balance as the margin.
- Risk limit tiers (``/v5/market/risk-limit``): ``riskLimitValue`` in coin of position value,
  ``maintenanceMargin`` and ``initialMargin`` in percent, ``mmDeduction`` the amount that keeps
  the MM continuous at a tier boundary. The tiers below are the simulator's (shaped like Bybit's:
  BTC 0.5 % / 100x first, others 1 % / 50x), not a copy of today's live table.
- Fees: derivatives VIP 0, taker 0.055 %, maker 0.02 %, on the order's coin value.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.sim.accounts import Position
from core.sim.model import COIN_TABLE

TAKER_FEE = 0.00055
MAKER_FEE = 0.0002


@dataclass(frozen=True, slots=True)
class RiskTier:
    id: int
    limit: float  # riskLimitValue: the largest position value (coin) in this tier
    mmr: float  # ratio (Bybit prints it in percent)
    imr: float
    max_leverage: float
    deduction: float  # coin


def _tiers(first_limit: float, mmr0: float, imr0: float, count: int = 5) -> tuple[RiskTier, ...]:
    out: list[RiskTier] = []
    deduction = 0.0
    prev_mmr = mmr0
    for k in range(count):
        mmr = mmr0 + 0.005 * k
        imr = imr0 + 0.005 * k
        if k:
            deduction += out[-1].limit * (mmr - prev_mmr)
        out.append(RiskTier(k + 1, first_limit * (k + 1), mmr, imr, round(1.0 / imr, 2), deduction))
        prev_mmr = mmr
    return tuple(out)


def risk_tiers(coin: str) -> tuple[RiskTier, ...]:
    if coin == "BTC":
        return _tiers(150.0, 0.005, 0.01)
    if coin == "ETH":
        return _tiers(3_000.0, 0.01, 0.02)
    price = COIN_TABLE[coin].start_price if coin in COIN_TABLE else 1.0
    return _tiers(round(10_000_000.0 / price, 0), 0.01, 0.02)


def tier_for(coin: str, value: float) -> RiskTier:
    tiers = risk_tiers(coin)
    for t in tiers:
        if value <= t.limit:
            return t
    return tiers[-1]


class BybitMargin:
    taker_fee = TAKER_FEE
    maker_fee = MAKER_FEE

    def default_leverage(self, coin: str) -> float:
        return 10.0

    def initial_margin(self, coin: str, qty: int, price: float, leverage: float) -> float:
        return qty / price / leverage

    def maintenance_margin(self, pos: Position, mark: float) -> float:
        """On the position value at the **entry** price, whatever the mark."""
        pv = pos.value_at_entry()
        t = tier_for(pos.coin, pv)
        return max(0.0, pv * t.mmr - t.deduction)

    def liquidation_price(self, pos: Position, collateral: float) -> float | None:
        if not pos.size or not pos.entry:
            return None
        pv = pos.value_at_entry()
        mm = self.maintenance_margin(pos, pos.entry)
        denom = pv - (collateral - mm) if pos.size < 0 else pv + (collateral - mm)
        return pos.qty / denom if denom > 0 else None
