"""Maintenance margin and liquidation price of inverse perpetuals, per venue (stub)."""

from __future__ import annotations

from core.instruments import ContractSpec


def maintenance_margin_coin(
    spec: ContractSpec,
    size_usd: float,
    price: float,
    *,
    mmr: float | None = None,
    mm_amount_coin: float | None = None,
) -> float:
    """Maintenance margin in coin of ``size_usd`` face value at ``price``."""
    rate = 0.005 if mmr is None else mmr
    return max(0.0, rate * size_usd / price - (mm_amount_coin or 0.0))


def liquidation_price(
    spec: ContractSpec,
    side: str,
    size_usd: float,
    entry: float,
    margin_coin: float,
    *,
    mode: str = "isolated",
    mmr: float | None = None,
    mm_amount_coin: float | None = None,
) -> float | None:
    """Mark price at which equity falls to maintenance margin; None: never."""
    rate = 0.005 if mmr is None else mmr
    amount = mm_amount_coin or 0.0
    if side == "short":
        den = size_usd / entry - margin_coin - amount
        return None if den <= 0 else size_usd * (1 - rate) / den
    return size_usd * (1 + rate) / (margin_coin + size_usd / entry + amount)
