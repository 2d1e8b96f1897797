"""Hedge sizing for inverse perpetuals: reach a target hedge ratio on a holding, with a short
on its own coin's contract or on another coin's (proxy, by beta). Pure functions; whole
contracts, rounded to the lot. The engine, ``hedgetop calc`` and the resize preview all size
through here, and all count a hedge's hedged amount with ``hedged_coin``.

Notation as in ``core.inverse``: Q, P0 a hedge's position (USD face value, harmonic entry),
p the price the trade fills at, S spot coins, M coins in the futures wallet(s) of the
holding's own coin, E = S + M the holding's exposure, H the coins all its hedges offset,
ratio ``h = H / E``, T the target, f the taker fee rate.

**One proxy convention.** A short of Q USD at P0 on coin c hedges ``(Q/P0)·P_c/(β·P_h)``
coins of holding h: its USD delta ``−(Q/P0)·P_c`` is worth ``1/β`` of the same USD of h. Its
margin (and the fees and PnL that land in it) is c's coin, so it is counted where c's coins
are, in the holding of c: never netted against h. A BTC proxy's margin is BTC exposure whether
or not the user holds BTC, and it shows there.

Why the sizes are exact for a direct hedge (sign s = +1 short, −1 long):

* Enlarging by q USD at p adds ``s·q/p`` to H (the new entry is the harmonic mean, so
  ``(Q + q)/P0' = Q/P0 + q/p``) and takes the fee ``f·q/p`` out of M:
  ``H + s·q/p = T·(E − f·q/p)`` gives ``q = p·d / (s + T·f)`` with ``d = T·E − H``.
* Reducing by r USD at p keeps P0, removes ``s·r/P0`` from H, and realises
  ``s·r·(1/p − 1/P0)`` coin less the fee ``f·r/p`` into M, which is exposure too:
  ``r = −d / (s·(1 − T)/P0 + T·(s − f)/p)``.

A proxy hedge's fee and PnL land in another coin: enlarging adds ``q/p`` contract coins,
reducing removes ``r/P0``.
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


def _sign(side: str) -> float:
    if side == "short":
        return 1.0
    if side == "long":
        return -1.0
    raise ValueError(f"side must be 'short' or 'long', not {side!r}")


def hedged_coin(
    side: str,
    size_usd: float,
    entry: float | None,
    *,
    beta: float = 1.0,
    proxy: bool = False,
    contract_price: float | None = None,
    holding_price: float | None = None,
) -> float | None:
    """Coins of the protected holding a hedge offsets (short > 0, long < 0).

    Direct: ``s·Q/P0``. Proxy: ``s·(Q/P0)·P_c / (β·P_h)`` (module docstring); None when a
    proxy's prices are unknown. A flat position offsets nothing."""
    if entry is None or size_usd <= 0:
        return 0.0
    coins = _sign(side) * size_usd / entry
    if not proxy:
        return coins
    if contract_price is None or holding_price is None or contract_price <= 0 or holding_price <= 0:
        return None
    return coins * contract_price / (beta * holding_price)


def size_change_usd(
    target_ratio: float,
    *,
    exposure_coin: float,
    hedged_coin_total: float,
    side: str,
    size_usd: float,
    entry: float | None,
    add_price: float,
    reduce_price: float,
    fee_rate: float = 0.0,
    proxy: bool = False,
    beta: float = 1.0,
    contract_price: float | None = None,
    holding_price: float | None = None,
) -> float:
    """Signed USD face change of one hedge (> 0 enlarges the position, < 0 reduces it) that
    brings its holding's ratio ``H / E`` to ``target_ratio``; exact before rounding.

    ``hedged_coin_total`` is H over all the holding's hedges (this one included, as
    ``hedged_coin`` counts it); ``add_price``/``reduce_price`` the fill prices of an order
    that enlarges / reduces this position. A proxy needs both prices (``contract_price`` =
    this contract's mark). A reduction never exceeds the position."""
    s = _sign(side)
    d = target_ratio * exposure_coin - hedged_coin_total  # holding coins to add to H
    if proxy:
        if contract_price is None or holding_price is None:
            raise ValueError("a proxy hedge is sized with its contract's and holding's prices")
        d = d * beta * holding_price / contract_price  # in contract coins
    enlarge = s * d >= 0
    if enlarge:
        p = add_price
        den = s + (0.0 if proxy else target_ratio * fee_rate * s * s)
        q = d * p / den if den != 0 else abs(d) * p
        return abs(q)
    q0 = size_usd if entry else 0.0
    p0 = entry or reduce_price
    p = reduce_price
    den = 0.0 if proxy else s * (1.0 - target_ratio) / p0 + target_ratio * (s - fee_rate) / p
    # den of the wrong sign or near 0 only for a target above 1 on a deep loss: reducing
    # cannot reach it; then remove what is asked at the entry (r/P0 coins per r USD)
    r = -d / den if abs(den) > 0.01 / p0 and -d / den > 0 else abs(d) * p0
    return -min(r, q0)


def round_to_lots(spec: ContractSpec, change_usd: float) -> int:
    """Signed whole contracts for a USD face change, to the nearest lot."""
    lots = round(change_usd / spec.face_value_usd / spec.lot_contracts)
    return int(lots) * spec.lot_contracts


def ratio_after(
    *,
    spot_coin: float,
    margin_coin: float,
    current_size_usd: float,
    current_entry: float | None,
    price: float,
    delta_usd: float,
    fee_rate: float = 0.0,
    other_hedged_coin: float = 0.0,
) -> float | None:
    """Hedge ratio after changing a direct short by ``delta_usd`` at ``price`` (< 0: reduce).

    Add q: ``(H + q/p) / (S + M − f·q/p)``; reduce by r:
    ``(H − r/P0) / (S + M + r·(1/p − 1/P0) − f·r/p)``, H including ``other_hedged_coin``."""
    q0 = current_size_usd if current_entry else 0.0
    hedged = (q0 / current_entry if current_entry else 0.0) + other_hedged_coin
    exposure = spot_coin + margin_coin
    if delta_usd >= 0:
        hedged += delta_usd / price
        exposure -= fee_rate * delta_usd / price
    else:
        r = min(-delta_usd, q0)
        if r > 0 and current_entry:
            hedged -= r / current_entry
            exposure += r * (1.0 / price - 1.0 / current_entry) - fee_rate * r / price
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
    fee_rate: float = 0.0,
    other_hedged_coin: float = 0.0,
) -> SizingResult:
    """Whole contracts of a direct short that bring the ratio ``H / (S + M)`` nearest to
    ``target_ratio``; ``other_hedged_coin`` is what the holding's other hedges offset.

    The exact USD change (module docstring) is rounded to the nearest lot; the ratio that
    rounded size reaches is reported, not the target. A reduction never goes below zero.
    """
    _non_negative("target_ratio", target_ratio)
    _non_negative("spot_coin", spot_coin)
    _non_negative("margin_coin", margin_coin)
    _non_negative("current_size_usd", current_size_usd)
    _positive("price", price)
    _non_negative("fee_rate", fee_rate)
    _check_entry(current_size_usd, current_entry)
    q0 = current_size_usd if current_entry else 0.0
    hedged = hedged_coin("short", q0, current_entry) or 0.0
    change = size_change_usd(
        target_ratio,
        exposure_coin=spot_coin + margin_coin,
        hedged_coin_total=hedged + other_hedged_coin,
        side="short",
        size_usd=q0,
        entry=current_entry,
        add_price=price,
        reduce_price=price,
        fee_rate=fee_rate,
    )
    current = round(q0 / spec.face_value_usd)
    delta = max(round_to_lots(spec, change), -current)
    change_usd = delta * spec.face_value_usd
    size_after = max(0.0, q0 + change_usd)
    reached = ratio_after(
        spot_coin=spot_coin,
        margin_coin=margin_coin,
        current_size_usd=q0,
        current_entry=current_entry,
        price=price,
        delta_usd=max(change_usd, -q0),
        fee_rate=fee_rate,
        other_hedged_coin=other_hedged_coin,
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
    current_size_usd: float = 0.0,
    current_entry: float | None = None,
    other_hedged_coin: float = 0.0,
) -> ProxyHedgeResult:
    """Hedge ``holding_coin`` coins of A (price Pa) with a short on coin B's inverse contract.

    Model: A's USD returns ≈ beta × B's returns. The short offsets ``hedged_coin`` A coins
    (module docstring); its B margin is B exposure, counted in B's holding, not here.
    Enlarging by q at Pb adds ``q/(β·Pa)`` A coins; reducing by r removes
    ``r·Pb/P0/(β·Pa)``. Rounded to the lot.

    Reported, not hidden: what the short actually offsets in A coins and the residual
    ``A − that − other hedges``. The idiosyncratic (non-beta) risk of A is not hedged at all.
    """
    _non_negative("holding_coin", holding_coin)
    _positive("holding_price", holding_price)
    _positive("beta", beta)
    _positive("proxy_price", proxy_price)
    _non_negative("target_ratio", target_ratio)
    _non_negative("current_size_usd", current_size_usd)
    _check_entry(current_size_usd, current_entry)
    q0 = current_size_usd if current_entry else 0.0

    def offset(size: float, entry: float | None) -> float:
        coins = hedged_coin(
            "short", size, entry, beta=beta, proxy=True, contract_price=proxy_price,
            holding_price=holding_price,
        )  # fmt: skip
        return coins or 0.0

    change = size_change_usd(
        target_ratio,
        exposure_coin=holding_coin,
        hedged_coin_total=offset(q0, current_entry) + other_hedged_coin,
        side="short",
        size_usd=q0,
        entry=current_entry,
        add_price=proxy_price,
        reduce_price=proxy_price,
        proxy=True,
        beta=beta,
        contract_price=proxy_price,
        holding_price=holding_price,
    )
    current = round(q0 / spec.face_value_usd)
    delta = max(round_to_lots(spec, change), -current)
    change_usd = max(delta * spec.face_value_usd, -q0)
    if change_usd >= 0:
        coins = q0 / current_entry if current_entry else 0.0
        size_after = q0 + change_usd
        # harmonic entry: (Q + q)/P0' = Q/P0 + q/Pb
        entry_after = size_after / (coins + change_usd / proxy_price) if size_after else None
    else:
        size_after, entry_after = q0 + change_usd, current_entry
    hedged = offset(size_after, entry_after)
    residual = holding_coin - hedged - other_hedged_coin
    ratio = (hedged + other_hedged_coin) / holding_coin if holding_coin > 0 else None
    return ProxyHedgeResult(
        size_usd=max(0.0, size_after),
        contracts=current + delta,
        delta_contracts=delta,
        hedged_coin=hedged,
        residual_coin=residual,
        residual_usd=residual * holding_price,
        reached_ratio=ratio,
    )
