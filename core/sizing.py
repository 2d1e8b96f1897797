"""Hedge sizing for inverse perpetuals: reach a target hedge ratio, or hedge a holding with
another coin's contract (proxy) by beta. Pure functions; whole contracts, rounded to the lot.

Notation as in ``core.inverse``: Q, P0 the current short (USD face value, harmonic entry),
p the price the trade fills at, S spot coins, M coins in the futures wallet, ratio
``h = (Q/P0) / (S + M)``.

Why the sizes are exact for inverse contracts:

* Adding q USD of short at p adds ``q/p`` to the hedged coin amount: the new entry is the
  harmonic mean ``(Q + q) / (Q/P0 + q/p)``, so ``(Q + q)/P0' = Q/P0 + q/p``. To reach a target
  T: ``q = p · (T·(S + M) − Q/P0)``.
* Reducing by r USD at p keeps the entry P0 of the rest, ``(Q − r)/P0``, and realises
  ``r·(1/p − 1/P0)`` coin into the wallet, which is exposure too: ``M' = M + r·(1/p − 1/P0)``.
  Solving ``(Q − r)/P0 = T·(S + M')`` gives ``r = (Q/P0 − T·(S + M)) / ((1 − T)/P0 + T/p)``.
  (Fees are left out: they are a venue/broker matter and move M by a few basis points.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.instruments import ContractSpec


@dataclass(frozen=True, slots=True)
class SizingResult:
    size_usd: float  # total short face value after the trade
    contracts: int  # total contracts after the trade
    delta_contracts: int  # contracts to add (> 0: sell more) or remove (< 0: buy back)
    reached_ratio: float | None  # hedge ratio the rounded size actually reaches


def _positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number, not {value!r}")


def _non_negative(name: str, value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be zero or positive, not {value!r}")


def _check_entry(size_usd: float, entry: float | None) -> None:
    if entry is not None:
        _positive("current_entry", entry)
    elif size_usd > 0:
        raise ValueError("current_entry is needed when current_size_usd > 0")


def _round_lots(spec: ContractSpec, contracts: float) -> int:
    """Nearest whole number of lots, in contracts."""
    return round(contracts / spec.lot_contracts) * spec.lot_contracts


def ratio_after(
    *,
    spot_coin: float,
    margin_coin: float,
    current_size_usd: float,
    current_entry: float | None,
    price: float,
    delta_usd: float,
) -> float | None:
    """Hedge ratio after changing the short by ``delta_usd`` at ``price`` (< 0: reduce).

    Add: ``(Q/P0 + q/p) / (S + M)``; reduce by r: ``((Q − r)/P0) / (S + M + r·(1/p − 1/P0))``.
    """
    q0 = current_size_usd if current_entry else 0.0
    hedged = q0 / current_entry if current_entry else 0.0
    exposure = spot_coin + margin_coin
    if delta_usd >= 0:
        hedged += delta_usd / price
    else:
        r = min(-delta_usd, q0)
        if r > 0 and current_entry:
            hedged = (q0 - r) / current_entry
            exposure += r * (1.0 / price - 1.0 / current_entry)
    if exposure <= 0:
        return None
    return hedged / exposure


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
    """Whole contracts that bring the hedge ratio ``(Q/P0)/(S + M)`` nearest to ``target_ratio``.

    The exact USD change (module docstring) is rounded to the nearest lot; the ratio that
    rounded size reaches is reported, not the target. A reduction never goes below zero.
    """
    _non_negative("target_ratio", target_ratio)
    _non_negative("spot_coin", spot_coin)
    _non_negative("margin_coin", margin_coin)
    _non_negative("current_size_usd", current_size_usd)
    _positive("price", price)
    _check_entry(current_size_usd, current_entry)
    q0 = current_size_usd if current_entry else 0.0
    p0 = current_entry or price
    hedged = q0 / p0
    exposure = spot_coin + margin_coin
    goal = target_ratio * exposure
    if goal >= hedged:
        delta_usd = price * (goal - hedged)
    else:
        den = (1.0 - target_ratio) / p0 + target_ratio / price
        r = (hedged - goal) / den if den > 0 else price * (hedged - goal)
        delta_usd = -min(r, q0)
    current = round(q0 / spec.face_value_usd)
    delta = _round_lots(spec, delta_usd / spec.face_value_usd)
    delta = max(delta, -current)
    change_usd = delta * spec.face_value_usd
    size_after = max(0.0, q0 + change_usd)
    reached = ratio_after(
        spot_coin=spot_coin,
        margin_coin=margin_coin,
        current_size_usd=q0,
        current_entry=current_entry,
        price=price,
        delta_usd=max(change_usd, -q0),
    )
    return SizingResult(size_after, current + delta, delta, reached)


@dataclass(frozen=True, slots=True)
class ProxyHedgeResult:
    size_usd: float  # total short face value of the proxy contract after the trade
    contracts: int
    delta_contracts: int
    hedged_coin: float  # holding-coin amount the short offsets, beta-adjusted
    residual_coin: float  # holding coins left unhedged (> 0: still long; < 0: over-hedged)
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
    """Hedge ``holding_coin`` coins of A (price Pa) with a short on coin B's inverse contract.

    Model: A's USD returns ≈ beta × B's returns. In USD per unit of B's relative move, the
    holding is worth ``beta·A·Pa`` of exposure; the futures leg is short ``Q·Pb/P0`` (its USD
    PnL ``Q·(1 − Pb/P0)``) and long its B margin ``M·Pb`` (margin coins are exposure too), so
    it offsets ``E = Q·Pb/P0 − M·Pb``. Trading Δ USD at Pb moves E by exactly Δ (an add adds
    Δ; a reduce removes ``(Q−r)``'s share and realises the rest into M, also −r in total),
    so ``Δ = T·beta·A·Pa − E``, rounded to the lot.

    Reported, not hidden: what the short actually offsets in A coins, ``E'/(beta·Pa)``, and
    the residual ``A − that``. The idiosyncratic (non-beta) risk of A is not hedged at all.
    """
    _non_negative("holding_coin", holding_coin)
    _positive("holding_price", holding_price)
    _positive("beta", beta)
    _positive("proxy_price", proxy_price)
    _non_negative("target_ratio", target_ratio)
    _non_negative("margin_coin", margin_coin)
    _non_negative("current_size_usd", current_size_usd)
    _check_entry(current_size_usd, current_entry)
    q0 = current_size_usd if current_entry else 0.0
    offset = (
        q0 / current_entry if current_entry else 0.0
    ) * proxy_price - margin_coin * proxy_price
    goal = target_ratio * beta * holding_coin * holding_price
    current = round(q0 / spec.face_value_usd)
    delta = _round_lots(spec, (goal - offset) / spec.face_value_usd)
    delta = max(delta, -current)
    change_usd = max(delta * spec.face_value_usd, -q0)
    offset_after = offset + change_usd
    hedged = offset_after / (beta * holding_price)
    residual = holding_coin - hedged
    ratio = hedged / holding_coin if holding_coin > 0 else None
    return ProxyHedgeResult(
        size_usd=max(0.0, q0 + change_usd),
        contracts=current + delta,
        delta_contracts=delta,
        hedged_coin=hedged,
        residual_coin=residual,
        residual_usd=residual * holding_price,
        reached_ratio=ratio,
    )
