"""Hedge sizing for inverse perpetuals: target ratio and proxy (beta) hedges (stub)."""

from __future__ import annotations

from dataclasses import dataclass

from core.instruments import ContractSpec, contracts_from_size_usd, size_usd_from_contracts


@dataclass(frozen=True, slots=True)
class SizingResult:
    size_usd: float  # total short face value after the trade
    contracts: int  # total contracts after the trade
    delta_contracts: int  # contracts to add (> 0, sell) or remove (< 0, buy)
    reached_ratio: float | None  # hedge ratio the rounded size actually reaches


def size_for_ratio(
    spec: ContractSpec,
    target_ratio: float,
    *,
    spot_coin: float,
    margin_coin: float,
    current_size_usd: float,
    current_entry: float | None,
    price: float,
) -> SizingResult:
    """Short size reaching ``target_ratio``: adding q USD at p adds q/p hedged coin."""
    hedged = current_size_usd / current_entry if current_entry and current_size_usd else 0.0
    q = price * (target_ratio * (spot_coin + margin_coin) - hedged)
    cur = contracts_from_size_usd(spec, current_size_usd)
    delta = contracts_from_size_usd(spec, q)
    total = max(0, cur + delta)
    size = size_usd_from_contracts(spec, total)
    exposure = spot_coin + margin_coin
    reached = None if exposure <= 0 else (hedged + (size - current_size_usd) / price) / exposure
    return SizingResult(size, total, total - cur, reached)


@dataclass(frozen=True, slots=True)
class ProxyHedgeResult:
    size_usd: float  # total short face value of the proxy contract after the trade
    contracts: int
    delta_contracts: int
    hedged_coin: float  # holding-coin amount the short offsets (beta-adjusted)
    residual_coin: float  # holding coins left unhedged (> 0: still long)
    residual_usd: float  # residual_coin at the holding's price
    reached_ratio: float | None  # hedged_coin / holding_coin


def proxy_hedge(
    spec: ContractSpec,
    *,
    holding_coin: float,
    holding_price: float,
    beta: float,
    proxy_price: float,
    target_ratio: float = 1.0,
    margin_coin: float = 0.0,
    current_size_usd: float = 0.0,
    current_entry: float | None = None,
) -> ProxyHedgeResult:
    """Short of another coin's inverse contract sized by ``beta`` (stub)."""
    exposure = current_size_usd * proxy_price / current_entry if current_entry else 0.0
    q = target_ratio * beta * holding_coin * holding_price + margin_coin * proxy_price - exposure
    cur = contracts_from_size_usd(spec, current_size_usd)
    total = max(0, cur + contracts_from_size_usd(spec, q))
    size = size_usd_from_contracts(spec, total)
    new_exposure = exposure + (size - current_size_usd) - margin_coin * proxy_price
    hedged = new_exposure / (beta * holding_price)
    residual = holding_coin - hedged
    ratio = None if holding_coin <= 0 else hedged / holding_coin
    return ProxyHedgeResult(
        size, total, total - cur, hedged, residual, residual * holding_price, ratio
    )
